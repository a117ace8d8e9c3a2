"""Path lengths and paths on the robot's own map (the memory's occupancy octree → traversability
grid → Dijkstra distance fields), for :class:`robomem.planning.Agent` and whatever drives the robot.

A goal is reached when the robot stands within ``reach_m`` of it (objects rest on furniture, which is
not traversable): the path length to a goal is the smallest distance-field value over traversable
cells within that radius; None when there is none (unreachable, or not yet mapped). :meth:`plan`
gives the path itself (waypoints on the robot's map to that cell). Distance fields are cached per
start cell and dropped when the map is rebuilt (:meth:`refresh`)."""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from robomem.mapping.paths import GoalOutsideMapError, PathResult, distance_field, path_from_field
from robomem.mapping.traversability import TraversabilitySettings, traversability

__all__ = ["MapPathLength"]


class MapPathLength:
    """``path_length(start, goal) -> metres | None`` on a traversability grid built from
    ``octree()`` (a callable returning the current :class:`OccupancyOctree`, e.g.
    ``lambda: stack.map.octree``). ``driven_xy()``: optional callable giving places the robot stood
    on (counted free); ``bumped_xy()``: optional callable giving obstacle points the robot learned by
    touch (counted occupied). Call :meth:`refresh` after the map changed (the agent's act does)."""

    def __init__(self, octree: Callable, settings: Optional[TraversabilitySettings] = None, *, reach_m: float = 1.0,
                 driven_xy: Optional[Callable] = None, snap_m: float = 0.5,
                 bumped_xy: Optional[Callable] = None) -> None:
        self._octree, self.settings, self.reach_m = octree, settings, float(reach_m)
        self._driven, self._bumped, self.snap_m = driven_xy, bumped_xy, float(snap_m)
        self.grid = None
        self._fields: dict = {}

    @staticmethod
    def _points(fn: Optional[Callable]) -> Optional[np.ndarray]:
        if fn is None:
            return None
        pts = np.asarray(fn(), dtype=np.float64).reshape(-1, 2)
        return pts if len(pts) else None

    def refresh(self) -> None:
        """Rebuild the traversability grid from the current map."""
        self.grid = traversability(self._octree(), self.settings, driven_xy=self._points(self._driven),
                                   bumped_xy=self._points(self._bumped))
        self._fields.clear()

    def _field(self, start_xy) -> Optional[tuple]:
        if self.grid is None:
            self.refresh()
        tg = self.grid
        r, c = tg.world_to_cell(np.asarray(start_xy, dtype=np.float64)[None, :2])
        key = (int(r[0]), int(c[0]))
        if key not in self._fields:
            try:
                dist, parent = distance_field(tg, np.asarray(start_xy, dtype=np.float64)[:2], snap_m=self.snap_m)
            except (GoalOutsideMapError, ValueError):
                dist = parent = None
            self._fields[key] = None if dist is None else (dist, parent)
        return self._fields[key]

    def _goal_cell(self, dist: np.ndarray, goal, reach_m: Optional[float] = None) -> Optional[tuple[int, int, float]]:
        """The traversable cell within ``reach_m`` of ``goal`` nearest along the field, or None."""
        tg = self.grid
        n = int(math.ceil((self.reach_m if reach_m is None else float(reach_m)) / tg.resolution))
        r, c = tg.world_to_cell(np.asarray(goal, dtype=np.float64)[None, :2])
        r, c = int(r[0]), int(c[0])
        H, W = dist.shape
        r0, r1, c0, c1 = max(0, r - n), min(H, r + n + 1), max(0, c - n), min(W, c + n + 1)
        if r0 >= r1 or c0 >= c1:
            return None
        win = dist[r0:r1, c0:c1]
        yy, xx = np.mgrid[r0:r1, c0:c1]
        vals = np.where(((yy - r) ** 2 + (xx - c) ** 2 <= n * n) & np.isfinite(win), win, np.inf)
        k = int(np.argmin(vals))
        if not np.isfinite(vals.flat[k]):
            return None
        return int(yy.flat[k]), int(xx.flat[k]), float(vals.flat[k])

    def __call__(self, start, goal, reach_m: Optional[float] = None) -> Optional[float]:
        """Metres from ``start`` to where ``goal`` is reached (within ``reach_m``, default the
        instance's), or None."""
        f = self._field(start)
        if f is None:
            return None
        cell = self._goal_cell(f[0], goal, reach_m)
        return None if cell is None else cell[2]

    def stand_point(self, start, goal, reach_m: Optional[float] = None) -> Optional[tuple[float, float]]:
        """World (x, y) of the traversable cell within ``reach_m`` of ``goal`` that is nearest to
        ``start`` along the robot's map (where a robot sent to ``goal`` should stop), or None when
        no such cell is reachable."""
        f = self._field(start)
        if f is None:
            return None
        cell = self._goal_cell(f[0], goal, reach_m)
        if cell is None:
            return None
        xy = self.grid.cell_to_world((np.array([cell[0]]), np.array([cell[1]])))[0]
        return float(xy[0]), float(xy[1])

    def plan(self, start, goal, reach_m: Optional[float] = None) -> PathResult:
        """The shortest path on the robot's map from ``start`` to the cell where ``goal`` is
        reached (``found=False`` with the reason when there is none)."""
        f = self._field(start)
        if f is None:
            return PathResult(False, np.zeros((0, 2)), math.inf, "start is not on traversable ground of the robot's map")
        xy = self.stand_point(start, goal, reach_m)
        if xy is None:
            return PathResult(False, np.zeros((0, 2)), math.inf,
                              f"no place within {self.reach_m if reach_m is None else reach_m:g} m of the goal "
                              "is reachable on the robot's map")
        return path_from_field(self.grid, f[1], f[0], np.asarray(start, dtype=np.float64)[:2], np.array(xy))
