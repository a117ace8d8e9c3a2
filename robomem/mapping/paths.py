"""Shortest paths on a traversability grid: Dijkstra distance fields and A* (8-connected, no
corner cutting, numba), shortened by line-of-sight string pulling; a replanner that keeps a goal
and plans again when the map grows or the path gets blocked.

Bad goals never loop: a goal outside the grid raises :class:`GoalOutsideMapError`; a goal in an
obstacle, in unknown space or in another connected component gives a :class:`PathResult` with
``found=False`` and the reason."""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from numba import njit

from robomem.errors import InvalidInputError
from robomem.mapping.traversability import TraversabilityGrid

__all__ = ["GoalOutsideMapError", "PathResult", "distance_field", "shortest_path", "path_from_field",
           "line_of_sight", "Replanner"]

_SQ2 = math.sqrt(2.0)
_DR = np.array([-1, -1, -1, 0, 0, 1, 1, 1], np.int64)
_DC = np.array([-1, 0, 1, -1, 1, -1, 0, 1], np.int64)


class GoalOutsideMapError(InvalidInputError):
    """A start or goal lies outside the map's grid."""


@dataclass(frozen=True)
class PathResult:
    """``found``; ``waypoints`` (N, 2) world x, y from start to goal (string-pulled); ``length``
    (m, inf when not found); ``reason`` when not found; ``cells`` (M, 2) the grid path."""

    found: bool
    waypoints: np.ndarray
    length: float
    reason: str = ""
    cells: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))


@njit(cache=True)
def _dijkstra(trav, sr, sc, dist, parent):
    H, W = trav.shape
    heap = [(0.0, sr * W + sc)]
    dist[sr, sc] = 0.0
    while len(heap) > 0:
        d, idx = heapq.heappop(heap)
        r, c = idx // W, idx % W
        if d > dist[r, c]:
            continue
        for k in range(8):
            dr, dc = _DR[k], _DC[k]
            nr, nc = r + dr, c + dc
            if nr < 0 or nr >= H or nc < 0 or nc >= W or not trav[nr, nc]:
                continue
            if dr != 0 and dc != 0 and (not trav[r, nc] or not trav[nr, c]):
                continue  # no corner cutting
            nd = d + (_SQ2 if dr != 0 and dc != 0 else 1.0)
            if nd < dist[nr, nc]:
                dist[nr, nc] = nd
                parent[nr, nc] = idx
                heapq.heappush(heap, (nd, nr * W + nc))


@njit(cache=True)
def _astar(trav, sr, sc, gr, gc, parent):
    H, W = trav.shape
    g = np.full((H, W), np.inf)
    g[sr, sc] = 0.0
    heap = [(0.0, sr * W + sc)]
    while len(heap) > 0:
        f, idx = heapq.heappop(heap)
        r, c = idx // W, idx % W
        if r == gr and c == gc:
            return g[r, c]
        gd = g[r, c]
        for k in range(8):
            dr, dc = _DR[k], _DC[k]
            nr, nc = r + dr, c + dc
            if nr < 0 or nr >= H or nc < 0 or nc >= W or not trav[nr, nc]:
                continue
            if dr != 0 and dc != 0 and (not trav[r, nc] or not trav[nr, c]):
                continue
            nd = gd + (_SQ2 if dr != 0 and dc != 0 else 1.0)
            if nd < g[nr, nc]:
                g[nr, nc] = nd
                parent[nr, nc] = idx
                ar, ac = abs(nr - gr), abs(nc - gc)
                h = max(ar, ac) + (_SQ2 - 1.0) * min(ar, ac)  # octile distance: admissible
                heapq.heappush(heap, (nd + h, nr * W + nc))
    return np.inf


@njit(cache=True)
def _line_free(trav, r0, c0, r1, c1):
    """True when every cell touched by the segment between the cell centres is traversable
    (supercover walk)."""
    dr, dc = r1 - r0, c1 - c0
    n = max(abs(dr), abs(dc))
    if n == 0:
        return trav[r0, c0]
    steps = 2 * n
    for i in range(steps + 1):
        t = i / steps
        fr, fc = r0 + t * dr, c0 + t * dc
        for rr in (int(math.floor(fr + 0.5 - 1e-9)), int(math.floor(fr + 0.5 + 1e-9))):
            for cc in (int(math.floor(fc + 0.5 - 1e-9)), int(math.floor(fc + 0.5 + 1e-9))):
                if not trav[rr, cc]:
                    return False
    return True


@njit(cache=True)
def _pull(trav, cells):
    """Indices of the cells kept by greedy line-of-sight string pulling."""
    n = cells.shape[0]
    keep = [0]
    i = 0
    while i < n - 1:
        j = n - 1
        while j > i + 1 and not _line_free(trav, cells[i, 0], cells[i, 1], cells[j, 0], cells[j, 1]):
            j -= 1
        keep.append(j)
        i = j
    return np.array(keep, np.int64)


def _cell_of(tg: TraversabilityGrid, xy, what: str) -> tuple[int, int]:
    p = np.asarray(xy, dtype=np.float64).reshape(-1)
    if p.shape not in ((2,), (3,)) or not np.all(np.isfinite(p)):
        raise InvalidInputError(f"{what} must be 2 (or 3) finite numbers, got {xy!r}")
    r, c = tg.world_to_cell(p[:2])
    if not tg.contains(r, c):
        raise GoalOutsideMapError(f"{what} {p[:2].round(3).tolist()} lies outside the map "
                                  f"(origin {tg.grid.origin}, {tg.shape[1]} x {tg.shape[0]} cells)")
    return int(r), int(c)


def _start_cell(tg: TraversabilityGrid, xy, snap_m: float) -> Optional[tuple[int, int]]:
    """The start's cell, or the nearest traversable cell within ``snap_m`` (the robot may stand a
    little inside the inflated obstacle band)."""
    r, c = _cell_of(tg, xy, "start")
    if tg.traversable[r, c]:
        return r, c
    n = int(math.ceil(snap_m / tg.resolution))
    r0, r1 = max(r - n, 0), min(r + n + 1, tg.shape[0])
    c0, c1 = max(c - n, 0), min(c + n + 1, tg.shape[1])
    rr, cc = np.nonzero(tg.traversable[r0:r1, c0:c1])
    if len(rr) == 0:
        return None
    d = (rr + r0 - r) ** 2 + (cc + c0 - c) ** 2
    k = int(np.argmin(d))
    if d[k] * tg.resolution ** 2 > snap_m ** 2:
        return None
    return int(rr[k] + r0), int(cc[k] + c0)


def distance_field(tg: TraversabilityGrid, start_xy, snap_m: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Dijkstra from ``start_xy``: path length in metres to every cell (inf = unreachable) and the
    parent array (flat index, -1 = none) for :func:`path_from_field`."""
    dist = np.full(tg.shape, np.inf)
    parent = np.full(tg.shape, -1, np.int64)
    s = _start_cell(tg, start_xy, snap_m)
    if s is None:
        return dist, parent
    _dijkstra(tg.traversable, s[0], s[1], dist, parent)
    return dist * tg.resolution, parent


def _trace(parent: np.ndarray, goal: tuple[int, int], W: int) -> np.ndarray:
    out = [goal[0] * W + goal[1]]
    while parent.flat[out[-1]] >= 0:
        out.append(int(parent.flat[out[-1]]))
        if len(out) > parent.size:  # a parent cycle cannot happen; never loop regardless
            raise RuntimeError("corrupt parent array")
    idx = np.array(out[::-1], np.int64)
    return np.stack([idx // W, idx % W], axis=1)


def _result(tg: TraversabilityGrid, cells: np.ndarray, start_xy, goal_xy) -> PathResult:
    keep = _pull(tg.traversable, cells)
    pts = tg.cell_to_world(cells[keep])
    pts[0] = np.asarray(start_xy, dtype=np.float64).reshape(-1)[:2]
    g = np.asarray(goal_xy, dtype=np.float64).reshape(-1)[:2]
    if tg.is_traversable(g)[0]:
        pts[-1] = g
    length = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
    return PathResult(True, pts, length, "", cells)


def path_from_field(tg: TraversabilityGrid, parent: np.ndarray, dist: np.ndarray, start_xy, goal_xy) -> PathResult:
    """The path to ``goal_xy`` from a :func:`distance_field` computed at ``start_xy``."""
    gr, gc = _cell_of(tg, goal_xy, "goal")
    if not np.isfinite(dist[gr, gc]):
        return PathResult(False, np.zeros((0, 2)), math.inf, _why(tg, gr, gc))
    return _result(tg, _trace(parent, (gr, gc), tg.shape[1]), start_xy, goal_xy)


def _why(tg: TraversabilityGrid, r: int, c: int) -> str:
    v = tg.grid.data[r, c]
    if v == 100:
        return "goal is inside an obstacle"
    if v == -1:
        return "goal is in unknown space"
    if not tg.traversable[r, c]:
        return "goal is too close to an obstacle for the robot"
    return "goal is unreachable from the start"


def shortest_path(tg: TraversabilityGrid, start_xy, goal_xy, snap_m: float = 0.3) -> PathResult:
    """A* from ``start_xy`` to ``goal_xy`` (world x, y). Raises :class:`GoalOutsideMapError` for a
    start/goal outside the grid; returns ``found=False`` with a reason otherwise."""
    gr, gc = _cell_of(tg, goal_xy, "goal")
    s = _start_cell(tg, start_xy, snap_m)
    if s is None:
        return PathResult(False, np.zeros((0, 2)), math.inf, "start is not on traversable ground")
    if not tg.traversable[gr, gc]:
        return PathResult(False, np.zeros((0, 2)), math.inf, _why(tg, gr, gc))
    parent = np.full(tg.shape, -1, np.int64)
    d = _astar(tg.traversable, s[0], s[1], gr, gc, parent)
    if not np.isfinite(d):
        return PathResult(False, np.zeros((0, 2)), math.inf, "goal is unreachable from the start")
    return _result(tg, _trace(parent, (gr, gc), tg.shape[1]), start_xy, goal_xy)


def line_of_sight(tg: TraversabilityGrid, a_xy, b_xy) -> bool:
    """True when the straight segment a-b only crosses traversable cells (False off the grid)."""
    ra, ca = tg.world_to_cell(np.asarray(a_xy, dtype=np.float64)[:2])
    rb, cb = tg.world_to_cell(np.asarray(b_xy, dtype=np.float64)[:2])
    if not (tg.contains(ra, ca) and tg.contains(rb, cb)):
        return False
    return bool(_line_free(tg.traversable, int(ra), int(ca), int(rb), int(cb)))


class Replanner:
    """Keeps a goal and a path; :meth:`update` plans again when the grid changed so that the
    remaining path is blocked, or when asked. ``max_replans`` bounds the work per goal."""

    def __init__(self, goal_xy, max_replans: int = 1000) -> None:
        g = np.asarray(goal_xy, dtype=np.float64).reshape(-1)
        if g.shape not in ((2,), (3,)) or not np.all(np.isfinite(g)):
            raise InvalidInputError(f"goal must be 2 (or 3) finite numbers, got {goal_xy!r}")
        self.goal = g[:2]
        self.max_replans = int(max_replans)
        self.replans = 0
        self.path: Optional[PathResult] = None

    def blocked(self, tg: TraversabilityGrid, position_xy) -> bool:
        """Whether the remaining path (from the nearest waypoint on) crosses a non-traversable cell."""
        if self.path is None or not self.path.found:
            return True
        w = self.path.waypoints
        p = np.asarray(position_xy, dtype=np.float64)[:2]
        i = int(np.argmin(np.linalg.norm(w - p, axis=1)))
        pts = w[i:]
        return not all(line_of_sight(tg, a, b) for a, b in zip(pts[:-1], pts[1:]))

    def update(self, tg: TraversabilityGrid, position_xy, force: bool = False) -> PathResult:
        """The current path, replanned on ``tg`` if it is blocked (or ``force``)."""
        if self.path is not None and not force and not self.blocked(tg, position_xy):
            return self.path
        if self.replans >= self.max_replans:
            return PathResult(False, np.zeros((0, 2)), math.inf, "replanning budget exhausted")
        self.replans += 1
        self.path = shortest_path(tg, position_xy, self.goal)
        return self.path
