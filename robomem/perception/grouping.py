"""The :class:`Segment` type and how segments are built from world points grouped by id.

Used by both ways of segmenting a frame (:mod:`robomem.perception.segments` with an instance image,
:mod:`robomem.perception.geometric` without one), so it depends on neither of them.

Everything per point is vectorised: points are sorted once by group id and every statistic is a
``reduceat``/``bincount`` over the sorted runs; Python only loops over groups.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np

from robomem.perception.colors import color_names

#: Label given to segments of the geometric fallback (no instance image).
UNLABELLED = "object"


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
