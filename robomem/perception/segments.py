"""Per-instance 3D segments from a :class:`robomem.Frame`.

With an instance image (a simulator's semantic sensor or any instance detector) every labelled
instance becomes a :class:`Segment`: its world points (depth outliers removed), centroid, world
axis-aligned box, yaw-oriented box, dominant colour name and label. Structural categories (walls,
floors, ...) are skipped. Without an instance image the geometric fallback in
:mod:`robomem.perception.geometric` is used and segments are labelled ``"object"``.

Everything per pixel is vectorised: points are sorted once by instance id and every statistic is a
``reduceat``/``bincount`` over the sorted runs; Python only loops over instances.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np

from robomem.errors import InvalidInputError
from robomem.frame import Frame
from robomem.perception.colors import color_names

#: Categories that are part of the building, not objects.
STRUCTURAL_CATEGORIES = frozenset({"wall", "floor", "ceiling", "door", "window", "stairs", "background"})

#: Label given to segments of the geometric fallback (no instance image).
UNLABELLED = "object"


class LabelMismatchError(InvalidInputError):
    """The frame's instance image holds ids that have no label (see ``Frame.missing_labels``)."""


@dataclass(eq=False)
class Segment:
    """One object instance as seen in one frame (world frame, metres)."""

    instance_id: int
    label: str
    points: np.ndarray          # (N, 3) float64 world points after outlier removal (possibly subsampled)
    centroid: np.ndarray        # (3,)
    bbox_min: np.ndarray        # (3,) world AABB
    bbox_max: np.ndarray
    obb_center: np.ndarray      # (3,) centre of the yaw-oriented box
    obb_extent: np.ndarray      # (3,) full size along the box's own x, y and world z
    obb_yaw: float              # radians, rotation of the box's x axis about world z
    color: Optional[str] = None
    mean_rgb: Optional[np.ndarray] = None
    num_pixels: int = 0
    attributes: dict = field(default_factory=dict)

    @property
    def extent(self) -> np.ndarray:
        return self.bbox_max - self.bbox_min


def extract_segments(
    frame: Frame,
    *,
    min_pixels: int = 20,
    skip_categories: frozenset = STRUCTURAL_CATEGORIES,
    missing_labels: str = "error",
    max_points: int = 800,
    stride: int = 1,
    geometric_settings: Optional[Mapping] = None,
    report: Optional[dict] = None,
) -> list[Segment]:
    """Segments of the objects in ``frame``.

    - ``missing_labels``: what to do with instance ids that have no label: ``"error"`` raises
      :class:`LabelMismatchError` (nothing else happens), ``"skip"`` drops those instances.
    - ``min_pixels``: instances with fewer valid-depth pixels (after outlier removal) are dropped.
    - ``max_points``: cap on the points kept per segment (uniform subsample) for fusion downstream.
    - ``stride``: use every ``stride``-th pixel in both directions (speed for large images).
    - ``report``: if a dict is given, ``report["missing_labels"]`` is set to the sorted ids
      without a label (so callers need not scan the image again).

    A frame without an instance image is segmented geometrically (unlabelled ``"object"`` segments);
    a frame with no valid depth gives no segments.
    """
    if missing_labels not in ("error", "skip"):
        raise InvalidInputError(f"missing_labels must be 'error' or 'skip', got {missing_labels!r}")
    if frame.instance_ids is None:
        from robomem.perception.geometric import geometric_segments
        return geometric_segments(frame, **dict(geometric_settings or {}))
    present = np.unique(frame.instance_ids)
    missing = set(present.tolist()) - {0} - set(frame.labels)
    if report is not None:
        report["missing_labels"] = sorted(missing)
    if missing and missing_labels == "error":
        raise LabelMismatchError(
            f"instance ids {sorted(missing)[:10]} appear in the instance image without a label "
            f"({len(missing)} missing); pass missing_labels='skip' to ignore them")
    pts_cam, pix = frame.intrinsics.backproject(frame.depth, stride=stride)
    if len(pix) == 0:
        return []
    ids_img = frame.instance_ids[::stride, ::stride] if stride > 1 else frame.instance_ids
    ids = ids_img.reshape(-1)[pix].astype(np.int64)
    keep_ids = np.array(sorted(i for i, lab in frame.labels.items()
                               if lab not in skip_categories and i != 0), dtype=np.int64)
    keep_ids = keep_ids[np.isin(keep_ids, present)]
    sel = np.isin(ids, keep_ids)
    if not sel.any():
        return []
    pts_cam, pix, ids = pts_cam[sel], pix[sel], ids[sel]
    from robomem.pose import transform_points
    pts = transform_points(frame.T_world_camera, pts_cam)
    rgb = None
    if frame.rgb is not None:
        rgb_img = frame.rgb[::stride, ::stride] if stride > 1 else frame.rgb
        rgb = rgb_img.reshape(-1, 3)[pix]
    labels = {int(i): frame.labels[int(i)] for i in keep_ids}
    return segments_from_groups(pts, ids, pts_cam[:, 2], rgb, labels, min_pixels=min_pixels,
                                max_points=max_points)


def segments_from_groups(
    points: np.ndarray,
    groups: np.ndarray,
    ranges: np.ndarray,
    rgb: Optional[np.ndarray],
    labels: Mapping[int, str],
    *,
    min_pixels: int = 20,
    max_points: int = 2000,
    outlier_iqr: float = 1.5,
    outlier_margin: float = 0.05,
) -> list[Segment]:
    """Build segments from world points grouped by integer id (``groups`` (N,)); ``ranges`` (N,)
    is each point's camera depth, used for outlier removal (Tukey fences on depth per group: mask
    edges bleeding onto the background are the typical outliers). Groups missing from ``labels``
    get :data:`UNLABELLED`."""
    order = np.lexsort((ranges, groups))
    g = groups[order]
    z = ranges[order]
    uniq, starts, counts = np.unique(g, return_index=True, return_counts=True)
    # Depth quartiles per group straight from the (group, depth)-sorted order.
    q1 = z[starts + (counts - 1) // 4]
    q3 = z[starts + (3 * (counts - 1)) // 4]
    iqr = q3 - q1
    lo = np.repeat(q1 - outlier_iqr * iqr - outlier_margin, counts)
    hi = np.repeat(q3 + outlier_iqr * iqr + outlier_margin, counts)
    inlier = (z >= lo) & (z <= hi)
    order = order[inlier]
    g = g[inlier]
    P = points[order]
    uniq, starts, counts = np.unique(g, return_index=True, return_counts=True)
    ok = counts >= min_pixels
    if not ok.any():
        return []
    bmin = np.minimum.reduceat(P, starts, axis=0)
    bmax = np.maximum.reduceat(P, starts, axis=0)
    sums = np.add.reduceat(P, starts, axis=0)
    cent = sums / counts[:, None]
    # Yaw of the principal horizontal axis from the per-group xy covariance.
    rel = P[:, :2] - np.repeat(cent[:, :2], counts, axis=0)
    sxx = np.add.reduceat(rel[:, 0] * rel[:, 0], starts)
    syy = np.add.reduceat(rel[:, 1] * rel[:, 1], starts)
    sxy = np.add.reduceat(rel[:, 0] * rel[:, 1], starts)
    yaw = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    c = np.repeat(np.cos(yaw), counts)
    s = np.repeat(np.sin(yaw), counts)
    u = rel[:, 0] * c + rel[:, 1] * s
    v = -rel[:, 0] * s + rel[:, 1] * c
    umin, umax = np.minimum.reduceat(u, starts), np.maximum.reduceat(u, starts)
    vmin, vmax = np.minimum.reduceat(v, starts), np.maximum.reduceat(v, starts)
    # PCA's axis is noisy for partial views of axis-aligned things: keep the smaller footprint.
    use_aabb = (bmax[:, 0] - bmin[:, 0]) * (bmax[:, 1] - bmin[:, 1]) <= (umax - umin) * (vmax - vmin)
    yaw = np.where(use_aabb, 0.0, yaw)
    umin = np.where(use_aabb, bmin[:, 0] - cent[:, 0], umin)
    umax = np.where(use_aabb, bmax[:, 0] - cent[:, 0], umax)
    vmin = np.where(use_aabb, bmin[:, 1] - cent[:, 1], vmin)
    vmax = np.where(use_aabb, bmax[:, 1] - cent[:, 1], vmax)
    names: list[Optional[str]] = [None] * len(uniq)
    mean_rgb = None
    if rgb is not None:
        mean_rgb = np.add.reduceat(rgb[order].astype(np.float64), starts, axis=0) / counts[:, None]
        names = color_names(mean_rgb)
    out = []
    for k in np.flatnonzero(ok):
        uc, vc = 0.5 * (umin[k] + umax[k]), 0.5 * (vmin[k] + vmax[k])
        cy, sy = np.cos(yaw[k]), np.sin(yaw[k])
        obb_c = np.array([cent[k, 0] + uc * cy - vc * sy, cent[k, 1] + uc * sy + vc * cy,
                          0.5 * (bmin[k, 2] + bmax[k, 2])])
        seg_pts = P[starts[k]:starts[k] + counts[k]]
        if len(seg_pts) > max_points:
            step = len(seg_pts) / max_points
            seg_pts = seg_pts[(np.arange(max_points) * step).astype(np.int64)]
        gid = int(uniq[k])
        out.append(Segment(
            instance_id=gid, label=labels.get(gid, UNLABELLED), points=np.array(seg_pts),
            centroid=cent[k].copy(), bbox_min=bmin[k].copy(), bbox_max=bmax[k].copy(),
            obb_center=obb_c, obb_extent=np.array([umax[k] - umin[k], vmax[k] - vmin[k], bmax[k, 2] - bmin[k, 2]]),
            obb_yaw=float(yaw[k]), color=names[k],
            mean_rgb=None if mean_rgb is None else mean_rgb[k].copy(), num_pixels=int(counts[k])))
    return out
