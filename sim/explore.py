"""Frontier exploration on the robot's own map in a simulator, until no reachable frontier is left
or a path budget runs out, with a progress bar.

Strategies: ``"gain"`` (robomem's: the frontier with the best utility
``gain * exp(-cost_weight * path)``, where gain is the occlusion-aware unknown area a look from the
frontier could reveal (:func:`visible_unknown_area`) and path the metres to drive there on the
robot's map) and ``"nearest"`` (the greedy baseline: the closest reachable frontier). Both drive
to a free spot within ``view_m`` of the chosen frontier (committed to it until reached or until it
is half explored), and on arrival face the frontier and, if it is still open, sweep the view
``look_on_arrival`` degrees across it; a spot
from which a frontier stayed open (or that could not be reached) is not used again. Scoring against
the simulator's floor plan is :func:`observed_floor_fraction` (used only after the fact, never for
planning)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from scipy import ndimage

from robomem.mapping.frontier_clusters import frontier_clusters, visible_unknown_area
from robomem.mapping.grid2d import GRID_FREE, GRID_UNKNOWN
from robomem.mapping.paths import distance_field
from robomem.mapping.traversability import TraversabilityGrid
from sim.errors import SceneError
from sim.navigation import MapRobot

__all__ = ["ExploreResult", "explore", "observed_floor_fraction"]

STRATEGIES = ("gain", "nearest")


@dataclass
class ExploreResult:
    """How an exploration ended and what it cost."""

    stop_reason: str
    distance_m: float
    steps: int
    frames: int
    collisions: int
    goals: int
    failed_goals: int
    history: list = field(default_factory=list)   # (distance_m, frontier clusters left) per decision
    failures: list = field(default_factory=list)  # reason of each goal not reached


def _still_frontier(tg: TraversabilityGrid, pts: np.ndarray) -> np.ndarray:
    """Per world point: its cell is free with an unknown 4-neighbour on ``tg``'s grid."""
    d = tg.grid.data
    r, c = tg.world_to_cell(pts)
    H, W = d.shape
    out = np.zeros(len(pts), bool)
    inside = (r >= 1) & (r < H - 1) & (c >= 1) & (c < W - 1)
    r, c = r[inside], c[inside]
    unk = (d[r - 1, c] == GRID_UNKNOWN) | (d[r + 1, c] == GRID_UNKNOWN) | (d[r, c - 1] == GRID_UNKNOWN) | \
        (d[r, c + 1] == GRID_UNKNOWN)
    out[inside] = (d[r, c] == GRID_FREE) & unk
    return out


def _candidates(tg: TraversabilityGrid, dist: np.ndarray, fronts: list, view_m: float, tried=(),
                tried_radius: float = 0.5):
    """Per frontier cluster, the cheapest reachable cell within ``view_m`` of it and farther than
    ``tried_radius`` from the spots in ``tried``: (cluster index, cell (r, c), path metres)."""
    lab = np.zeros(tg.shape, np.int32)
    for i, f in enumerate(fronts, start=1):
        lab[f.cells[:, 0], f.cells[:, 1]] = i
    edt, (ir, ic) = ndimage.distance_transform_edt(lab == 0, return_indices=True)
    near = lab[ir, ic]
    ok = np.isfinite(dist) & (edt * tg.resolution <= view_m) & (near > 0)
    rr, cc = np.nonzero(ok)
    if len(rr) and len(tried):
        xy = tg.cell_to_world((rr, cc))
        t = np.asarray(tried)
        far = np.min(np.linalg.norm(xy[:, None, :] - t[None, :, :], axis=2), axis=1) > tried_radius
        rr, cc = rr[far], cc[far]
    if len(rr) == 0:
        return []
    d, lb = dist[rr, cc], near[rr, cc]
    order = np.lexsort((d, lb))
    first = np.ones(len(order), bool)
    first[1:] = lb[order][1:] != lb[order][:-1]
    sel = order[first]
    return [(int(lb[k]) - 1, (int(rr[k]), int(cc[k])), float(d[k])) for k in sel]


def explore(robot: MapRobot, strategy: str = "gain", *, path_budget_m: float = 150.0, max_steps: int = 6000,
            view_m: float = 1.0, sensor_range: float = 2.5, min_cells: int = 4, cost_weight: float = 0.5,
            look_on_arrival: float = 120.0, progress: bool = True, desc: Optional[str] = None,
            on_goal: Optional[Callable[[float], None]] = None) -> ExploreResult:
    """Explore with ``robot`` until no reachable frontier is left, ``path_budget_m`` metres were
    driven or ``max_steps`` actions were taken. See the module doc for the strategies.
    ``on_goal(distance_m)`` is called at the start and after every goal (a benchmark scores coverage
    against path there; it must not steer the robot)."""
    if strategy not in STRATEGIES:
        raise SceneError(f"unknown exploration strategy {strategy!r}; expected one of {STRATEGIES}")
    from tqdm import tqdm

    c = robot.count
    d0, s0 = c.distance_m, c.steps
    goals = failed = 0
    tried: list[np.ndarray] = []   # approach spots from which a frontier stayed open
    history, failures = [], []
    reason = "step budget exhausted"
    robot.look_around(360.0)
    if on_goal is not None:
        on_goal(0.0)
    # No ETA: exploration usually ends (no frontier left) long before the path budget is spent.
    bar = tqdm(total=round(path_budget_m), unit="m", desc=desc or f"explore ({strategy})", disable=not progress,
               leave=False, bar_format="{desc}: {n_fmt} m driven of a {total_fmt} m budget |{bar}| {elapsed}{postfix}")
    try:
        while c.steps - s0 < max_steps:
            if c.distance_m - d0 >= path_budget_m:
                reason = "path budget exhausted"
                break
            tg = robot.grid()
            fronts = frontier_clusters(tg.grid, min_cells=min_cells, sensor_range=sensor_range)
            dist, _ = distance_field(tg, robot.position)
            cands = _candidates(tg, dist, fronts, view_m, tried)
            history.append((c.distance_m - d0, len(fronts)))
            if not cands:
                reason = "no reachable frontier"
                break
            if strategy == "nearest":
                ci, cell, cost = min(cands, key=lambda k: k[2])
            else:
                gains = {k[0]: visible_unknown_area(tg.grid, fronts[k[0]].cells, sensor_range=sensor_range)
                         for k in cands}
                ci, cell, cost = max(cands, key=lambda k: gains[k[0]] * math.exp(-cost_weight * k[2]))
            goal = tg.cell_to_world(cell)
            target_xy = tg.cell_to_world((fronts[ci].cells[:, 0], fronts[ci].cells[:, 1]))

            def explored(g: TraversabilityGrid, pts=target_xy) -> bool:
                return _still_frontier(g, pts).mean() < 0.5

            res = robot.go_to(goal, stop=explored, max_steps=min(600, max_steps - (c.steps - s0)))
            goals += 1
            if res.reached:
                robot.face(fronts[ci].centroid)
                if look_on_arrival > 0 and not explored(robot.grid()):
                    robot.sweep(look_on_arrival)
                if not explored(robot.grid()):
                    tried.append(goal)  # still open after a look from here: approach it from elsewhere
            elif not res.reached and res.reason != "stopped":
                failed += 1
                failures.append(res.reason)
                tried.append(goal)
            if on_goal is not None:
                on_goal(c.distance_m - d0)
            bar.n = min(round(c.distance_m - d0), bar.total)
            bar.set_postfix(frontiers=len(fronts), goals=goals)
            bar.refresh()
    finally:
        bar.close()
    return ExploreResult(reason, c.distance_m - d0, c.steps - s0, c.frames, c.collisions, goals, failed, history, failures)


def observed_floor_fraction(robot_octree, pathfinder, start_xy, z_band=(0.0, 1.5)) -> tuple[float, float]:
    """Scoring only: the share of the floor reachable from ``start_xy`` (the simulator path
    finder's navigable cells connected to the start) whose column the robot's map knows in
    ``z_band``; returns (fraction, reachable area m^2)."""
    nav = pathfinder.navigable
    iy, ix = pathfinder.world_to_cell(np.asarray([*start_xy[:2], 0.0]))
    lab, _ = ndimage.label(nav, structure=np.ones((3, 3), bool))
    comp = lab == lab[iy, ix] if lab[iy, ix] > 0 else nav
    ys, xs = np.nonzero(comp)
    centres = np.stack([pathfinder.cell_to_world(y, x)[:2] for y, x in zip(ys, xs)]) if len(ys) else np.zeros((0, 2))
    grid = robot_octree.project_2d(z_band[0], z_band[1])
    known = grid.value_at(centres) != GRID_UNKNOWN
    area = len(ys) * pathfinder.resolution ** 2
    return (float(known.mean()) if len(known) else 0.0), area
