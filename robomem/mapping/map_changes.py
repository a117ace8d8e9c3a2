"""Changes between two occupancy maps: the voxels whose state differs, grouped into regions
(connected components) that the memory and a planner can treat as events ("something appeared
here", "this space was vacated")."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy import ndimage

from robomem.errors import InvalidInputError
from robomem.mapping.keys import keys_to_points
from robomem.mapping.octree import FREE, OCCUPIED, UNKNOWN, OccupancyOctree

__all__ = ["ChangeRegion", "MapChanges", "diff_maps"]

#: Largest dense box (cells) used for grouping; bigger boxes group on coarser cells.
_MAX_BOX = 1 << 24


@dataclass(frozen=True)
class ChangeRegion:
    """One connected group of changed voxels."""

    centroid: np.ndarray       # (3,) world
    bbox_min: np.ndarray       # (3,) world, voxel corners
    bbox_max: np.ndarray
    n_vacated: int             # occupied -> free
    n_occupied: int            # free -> occupied
    n_other: int               # to or from unknown (only with include_unknown)

    @property
    def kind(self) -> str:
        """"appeared" (mostly newly occupied), "vacated" (mostly freed) or "moved" (both)."""
        a, v = self.n_occupied, self.n_vacated
        if a and v and min(a, v) >= 0.2 * max(a, v):
            return "moved"
        return "appeared" if a >= v else "vacated"


@dataclass(frozen=True)
class MapChanges:
    """Voxel-level differences between map ``a`` (at ``t1_ns``) and map ``b`` (at ``t2_ns``)."""

    t1_ns: Optional[int]
    t2_ns: Optional[int]
    points: np.ndarray         # (N, 3) centres of changed voxels
    before: np.ndarray         # (N,) int8 state in a (-1 unknown, 0 free, 1 occupied)
    after: np.ndarray          # (N,) int8 state in b
    regions: list = field(default_factory=list)

    @property
    def vacated(self) -> np.ndarray:
        """Centres of voxels that went from occupied to free."""
        return self.points[(self.before == OCCUPIED) & (self.after == FREE)]

    @property
    def newly_occupied(self) -> np.ndarray:
        """Centres of voxels that went from free to occupied."""
        return self.points[(self.before == FREE) & (self.after == OCCUPIED)]

    def __len__(self) -> int:
        return len(self.points)


def _codes(keys: np.ndarray) -> np.ndarray:
    return keys[:, 0] | (keys[:, 1] << 16) | (keys[:, 2] << 32)


def _states(tree: OccupancyOctree) -> tuple[np.ndarray, np.ndarray]:
    keys, vals = tree.leaves()
    st = np.where(vals >= tree.rules.threshold, OCCUPIED, FREE).astype(np.int8)
    return _codes(keys), st


def diff_maps(a: OccupancyOctree, b: OccupancyOctree, t1_ns: Optional[int] = None, t2_ns: Optional[int] = None, *,
              include_unknown: bool = False, min_region_voxels: int = 8, link_m: float = 0.1) -> MapChanges:
    """Voxels whose state differs between ``a`` and ``b`` (same resolution). Only free<->occupied
    flips count unless ``include_unknown`` (then newly seen and forgotten voxels too). Changed
    voxels within ``link_m`` of each other form one :class:`ChangeRegion`; regions smaller than
    ``min_region_voxels`` (sensor noise at surfaces) are left out of ``regions`` (their voxels stay
    in ``points``)."""
    if not isinstance(a, OccupancyOctree) or not isinstance(b, OccupancyOctree):
        raise InvalidInputError("diff_maps needs two OccupancyOctree maps")
    if not np.isclose(a.resolution, b.resolution):
        raise InvalidInputError(f"maps have different resolutions ({a.resolution} vs {b.resolution})")
    ca, sa = _states(a)
    cb, sb = _states(b)
    codes = np.union1d(ca, cb)
    before = np.full(len(codes), UNKNOWN, np.int8)
    after = np.full(len(codes), UNKNOWN, np.int8)
    before[np.searchsorted(codes, ca)] = sa
    after[np.searchsorted(codes, cb)] = sb
    diff = before != after
    if not include_unknown:
        diff &= (before != UNKNOWN) & (after != UNKNOWN)
    codes, before, after = codes[diff], before[diff], after[diff]
    mask = 0xFFFF
    keys = np.stack([codes & mask, (codes >> 16) & mask, (codes >> 32) & mask], axis=1)
    pts = keys_to_points(keys, a.resolution)
    regions = _regions(keys, before, after, a.resolution, min_region_voxels, link_m)
    return MapChanges(t1_ns, t2_ns, pts, before, after, regions)


def _regions(keys, before, after, res, min_voxels, link_m) -> list[ChangeRegion]:
    if len(keys) == 0:
        return []
    # Group on cells of about link_m so that changed voxels closer than that join one region.
    f = max(1, int(round(link_m / res)))
    lo = keys.min(axis=0)
    while True:
        ck = (keys - lo) // f
        dims = ck.max(axis=0) + 1
        if int(np.prod(dims)) <= _MAX_BOX:
            break
        f *= 2
    box = np.zeros(tuple(dims), dtype=bool)
    box[ck[:, 0], ck[:, 1], ck[:, 2]] = True
    lab, n = ndimage.label(box, structure=np.ones((3, 3, 3), bool))
    vl = lab[ck[:, 0], ck[:, 1], ck[:, 2]] - 1
    counts = np.bincount(vl, minlength=n)
    out = []
    pts = keys_to_points(keys, res)
    for r in np.flatnonzero(counts >= min_voxels):
        m = vl == r
        p = pts[m]
        bf, af = before[m], after[m]
        out.append(ChangeRegion(p.mean(axis=0), p.min(axis=0) - res / 2, p.max(axis=0) + res / 2,
                                int(((bf == OCCUPIED) & (af == FREE)).sum()),
                                int(((bf == FREE) & (af == OCCUPIED)).sum()),
                                int(((bf == UNKNOWN) | (af == UNKNOWN)).sum())))
    out.sort(key=lambda g: -(g.n_vacated + g.n_occupied + g.n_other))
    return out
