"""Path lengths on the robot's own map (the memory's occupancy octree → traversability grid →
Dijkstra distance fields), for :class:`robomem.planning.Agent`.

A goal is reached when the robot stands within ``reach_m`` of it (objects rest on furniture, which is
not traversable): the path length to a goal is the smallest distance-field value over traversable
cells within that radius; None when there is none (unreachable, or not yet mapped). Distance fields
are cached per start cell and dropped when the map is rebuilt (:meth:`refresh`)."""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from robomem.mapping.paths import GoalOutsideMapError, distance_field
from robomem.mapping.traversability import TraversabilitySettings, traversability

__all__ = ["MapPathLength"]


class MapPathLength:
    """``path_length(start, goal) -> metres | None`` on a traversability grid built from
    ``octree()`` (a callable returning the current :class:`OccupancyOctree`, e.g.
    ``lambda: stack.map.octree``). ``driven_xy()``: optional callable giving places the robot stood
    on (counted free). Call :meth:`refresh` after the map changed (the agent's act does)."""

    def __init__(self, octree: Callable, settings: Optional[TraversabilitySettings] = None, *, reach_m: float = 1.0,
                 driven_xy: Optional[Callable] = None, snap_m: float = 0.5) -> None:
        self._octree, self.settings, self.reach_m = octree, settings, float(reach_m)
        self._driven, self.snap_m = driven_xy, float(snap_m)
        self.grid = None
        self._fields: dict = {}

    def refresh(self) -> None:
        """Rebuild the traversability grid from the current map."""
        driven = None if self._driven is None else np.asarray(self._driven(), dtype=np.float64).reshape(-1, 2)
        self.grid = traversability(self._octree(), self.settings, driven_xy=driven)
        self._fields.clear()

    def _field(self, start_xy) -> Optional[np.ndarray]:
        tg = self.grid
        r, c = tg.world_to_cell(np.asarray(start_xy, dtype=np.float64)[None, :2])
        key = (int(r[0]), int(c[0]))
        if key not in self._fields:
            try:
                dist, _ = distance_field(tg, np.asarray(start_xy, dtype=np.float64)[:2], snap_m=self.snap_m)
            except (GoalOutsideMapError, ValueError):
                dist = None
            self._fields[key] = dist
        return self._fields[key]

    def __call__(self, start, goal) -> Optional[float]:
        if self.grid is None:
            self.refresh()
        dist = self._field(start)
        if dist is None:
            return None
        tg = self.grid
        res = tg.resolution
        n = int(math.ceil(self.reach_m / res))
        r, c = tg.world_to_cell(np.asarray(goal, dtype=np.float64)[None, :2])
        r, c = int(r[0]), int(c[0])
        H, W = dist.shape
        r0, r1, c0, c1 = max(0, r - n), min(H, r + n + 1), max(0, c - n), min(W, c + n + 1)
        if r0 >= r1 or c0 >= c1:
            return None
        win = dist[r0:r1, c0:c1]
        yy, xx = np.mgrid[r0:r1, c0:c1]
        near = (yy - r) ** 2 + (xx - c) ** 2 <= n * n
        vals = win[near]
        vals = vals[np.isfinite(vals)]
        return float(vals.min()) if vals.size else None
