"""Visibility reasoning: should a known object have been seen in this frame?

An object's stored surface points are projected into the frame. For the samples that land inside
the image the depth reading is compared with the expected depth:

- reading clearly *behind* the expected surface -> the camera saw through where the object was
  (free space): evidence the object is gone;
- reading clearly *in front* -> occluded, no evidence;
- reading about equal -> something is there, no miss.

Samples outside the image, beyond the range limit or without a depth reading give no evidence.
"""
from __future__ import annotations

from enum import Enum

import numpy as np

from robomem.frame import Frame
from robomem.pose import invert_pose, transform_points


def frame_evidence_maps(frame: Frame, other_mask: np.ndarray | None = None, size: int = 3):
    """(``size`` x ``size`` minimum of the depth with invalid readings as +inf, erosion of
    ``other_mask`` by the same window): computed once per frame and shared by all objects checked
    against it. ``size=1`` returns the depth and mask unchanged."""
    from scipy import ndimage
    d = np.where(frame.valid_mask, frame.depth, np.inf).astype(np.float32)
    if size <= 1:
        return d, other_mask
    dmin = ndimage.minimum_filter(d, size=size, mode="nearest")
    other = None
    if other_mask is not None:
        other = ndimage.binary_erosion(other_mask, structure=np.ones((size, size), bool), border_value=1)
    return dmin, other


class Visibility(str, Enum):
    SEEN_THROUGH = "seen_through"   # expected surface in view, depth shows free space there
    CONSISTENT = "consistent"       # something at the expected depth
    OCCLUDED = "occluded"           # depth in front of the object
    NOT_IN_VIEW = "not_in_view"     # out of frustum/range, or too few readings


def check_visibility(
    frame: Frame,
    points: np.ndarray,
    *,
    max_samples: int = 64,
    min_in_view_fraction: float = 0.5,
    min_valid: int = 6,
    seen_through_fraction: float = 0.75,
    margin: float = 0.12,
    margin_per_m: float = 0.02,
    max_range: float = 6.0,
    T_camera_world: np.ndarray | None = None,
    other_mask: np.ndarray | None = None,
    other_margin: float = 0.008,
    depth_min3: np.ndarray | None = None,
    min_projected_area: float = 9.0,
    min_informative_fraction: float = 0.5,
) -> Visibility:
    """Classify how ``frame`` observes an object given by its world surface ``points`` (N, 3).

    ``other_mask`` (H, W) bool marks pixels known to show something else (background, structure,
    or an instance matched to another object). A sample on such a pixel whose reading is behind
    the expected surface by more than ``other_margin`` also counts as seen through: this catches
    small objects lying on a surface, where the depth difference is only the object's thickness.
    (A neighbour at the same height, e.g. a board lying next to a wallet, reads about equal and
    gives no evidence.) Fewer than ``min_informative_fraction`` of the valid samples unoccluded:
    occluded, no evidence. ``depth_min3`` / ``other_mask`` should be the 3x3 minimum of the depth
    (invalid readings as +inf) and the 3x3 erosion of the mask (see :func:`frame_evidence_maps`).
    """
    P = np.asarray(points, dtype=np.float64)
    if len(P) == 0:
        return Visibility.NOT_IN_VIEW
    if len(P) > max_samples:
        P = P[(np.arange(max_samples) * (len(P) / max_samples)).astype(np.int64)]
    if T_camera_world is None:
        T_camera_world = invert_pose(frame.T_world_camera)
    pc = transform_points(T_camera_world, P)
    uv, inside = frame.intrinsics.project(pc)
    inside &= pc[:, 2] <= max_range
    if inside.sum() < max(min_valid, min_in_view_fraction * len(P)):
        return Visibility.NOT_IN_VIEW
    span = uv[inside].max(axis=0) - uv[inside].min(axis=0)
    if (span[0] + 1) * (span[1] + 1) < min_projected_area:
        # Too small in the image: a pixel of pose or rounding error moves it off itself.
        return Visibility.NOT_IN_VIEW
    u = np.clip(np.rint(uv[inside, 0]).astype(np.int64), 0, frame.intrinsics.width - 1)
    v = np.clip(np.rint(uv[inside, 1]).astype(np.int64), 0, frame.intrinsics.height - 1)
    d = frame.depth[v, u].astype(np.float64)
    z = pc[inside, 2]
    valid = np.isfinite(d) & (d > 0)
    if valid.sum() < min_valid:
        return Visibility.NOT_IN_VIEW
    # "Behind" must hold in the whole 3x3 neighbourhood: a sample on a small object's rim lands
    # a pixel off onto whatever lies next to it, which says nothing about the object.
    dmin = depth_min3[v, u][valid] if depth_min3 is not None else d[valid]
    d, z = d[valid], z[valid]
    tol = margin + margin_per_m * z
    behind = dmin > z + tol
    front = d < z - tol
    if other_mask is not None:
        # Pixels of something else: the depth needs no slack for the object's own extent.
        other = other_mask[v, u][valid]
        behind |= other & (dmin >= z + other_margin)
        front = np.where(other, d < z - other_margin, front)
    # Samples hidden behind an occluder say nothing; decide on the others. An object mostly hidden
    # (seen through a door gap, past a wall's edge) gives no evidence: the few samples left are its
    # rim, where a pixel of pose or rounding error reads the space beside it as "behind".
    informative = ~front
    if informative.sum() < max(min_valid, min_informative_fraction * len(d)):
        return Visibility.OCCLUDED if front.sum() >= min_valid else Visibility.NOT_IN_VIEW
    if behind.sum() >= seen_through_fraction * informative.sum():
        return Visibility.SEEN_THROUGH
    return Visibility.CONSISTENT
