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
from robomem.perception.pixels import missing_label_ids, object_pixels

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
    ids_img = frame.instance_ids
    label_ids = np.array(sorted(frame.labels), dtype=np.int64)
    missing = missing_label_ids(ids_img, label_ids)
    if report is not None:
        report["missing_labels"] = missing.tolist()
    if len(missing) and missing_labels == "error":
        raise LabelMismatchError(
            f"instance ids {missing[:10].tolist()} appear in the instance image without a label "
            f"({len(missing)} missing); pass missing_labels='skip' to ignore them")
    frame.intrinsics.check_image(frame.depth, "depth")
    keep_ids = np.array(sorted(i for i, lab in frame.labels.items() if lab not in skip_categories and i != 0),
                        dtype=np.int64)
    if len(keep_ids) == 0:
        return []
    T = frame.T_world_camera
    d = frame.depth if frame.depth.dtype == np.float32 else frame.depth.astype(np.float32)
    pts, ranges, pix, ids = object_pixels(d, ids_img, keep_ids, frame.intrinsics.pixel_rays, int(stride),
                                          np.ascontiguousarray(T[:3, :3], dtype=np.float64),
                                          np.ascontiguousarray(T[:3, 3], dtype=np.float64))
    if len(pix) == 0:
        return []
    rgb = None
    if frame.rgb is not None:
        rgb_img = frame.rgb[::stride, ::stride] if stride > 1 else frame.rgb
        rgb = rgb_img.reshape(-1, 3)[pix]
    labels = {int(i): frame.labels[int(i)] for i in keep_ids}
    return segments_from_groups(pts, ids, ranges, rgb, labels, min_pixels=min_pixels,
                                max_points=max_points)
