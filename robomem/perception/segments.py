"""Per-instance 3D segments from a :class:`robomem.Frame`.

With an instance image (a simulator's semantic sensor or any instance detector) every labelled
instance becomes a :class:`Segment`: its world points (depth outliers removed), centroid, world
axis-aligned box, yaw-oriented box, dominant colour name and label. Structural categories (walls,
floors, ...) are skipped. Without an instance image the geometric fallback in
:mod:`robomem.perception.geometric` is used and segments are labelled ``"object"``.

The :class:`Segment` type and ``segments_from_groups`` live in :mod:`robomem.perception.grouping`
(shared with the geometric fallback) and are re-exported here.
"""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

from robomem.errors import InvalidInputError
from robomem.frame import Frame
from robomem.perception.grouping import UNLABELLED, Segment, segments_from_groups

#: Categories that are part of the building, not objects.
STRUCTURAL_CATEGORIES = frozenset({"wall", "floor", "ceiling", "door", "window", "stairs", "background"})

__all__ = ["STRUCTURAL_CATEGORIES", "UNLABELLED", "LabelMismatchError", "Segment", "extract_segments",
           "segments_from_groups"]


class LabelMismatchError(InvalidInputError):
    """The frame's instance image holds ids that have no label (see ``Frame.missing_labels``)."""


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
    K = frame.intrinsics
    K.check_image(frame.depth, "depth")
    keep_ids = np.array(sorted(i for i, lab in frame.labels.items()
                               if lab not in skip_categories and i != 0), dtype=np.int64)
    keep_ids = keep_ids[np.isin(keep_ids, present)]
    if not len(keep_ids):
        return []
    # Select the kept instances' valid pixels first, then back-project only those (the same points,
    # pixel indices and order as back-projecting every valid pixel and selecting afterwards).
    depth = frame.depth[::stride, ::stride] if stride > 1 else frame.depth
    ids_img = frame.instance_ids[::stride, ::stride] if stride > 1 else frame.instance_ids
    ids_flat = ids_img.reshape(-1)
    if present.size and present[0] >= 0 and present[-1] < (1 << 24):    # a lookup table beats isin
        lut = np.zeros(int(present[-1]) + 1, dtype=bool)
        lut[keep_ids] = True
        sel = lut[ids_flat]
    else:
        sel = np.isin(ids_flat, keep_ids)
    d = np.asarray(depth, dtype=np.float32).reshape(-1)
    pix = np.flatnonzero(sel & np.isfinite(d) & (d > 0))
    if len(pix) == 0:
        return []
    rays = K.pixel_rays[::stride, ::stride] if stride > 1 else K.pixel_rays
    pts_cam = rays.reshape(-1, 3)[pix] * d[pix, None]
    ids = ids_flat[pix].astype(np.int64)
    from robomem.pose import transform_points
    pts = transform_points(frame.T_world_camera, pts_cam)
    rgb = None
    if frame.rgb is not None:
        rgb_img = frame.rgb[::stride, ::stride] if stride > 1 else frame.rgb
        rgb = rgb_img.reshape(-1, 3)[pix]
    labels = {int(i): frame.labels[int(i)] for i in keep_ids}
    return segments_from_groups(pts, ids, pts_cam[:, 2], rgb, labels, min_pixels=min_pixels,
                                max_points=max_points)
