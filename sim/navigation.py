"""Navigation in a simulator on the robot's own map: a controller that drives the agent with the
simulator's discrete actions along paths planned on robomem's traversability grid, feeding every
new frame into the map and replanning as the map grows.

The simulator decides what motion is possible (its collision check) and reports collisions; its
ground-truth floor plan and path finder are never consulted here."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from robomem.errors import InvalidInputError
from robomem.frame import Frame
from robomem.mapping.paths import PathResult, distance_field, path_from_field, shortest_path
from robomem.mapping.traversability import BandProjection, TraversabilityGrid, TraversabilitySettings, traversability

__all__ = ["NavResult", "MapRobot", "DEFAULT_MARGIN"]

#: Safety margin (m) added to the agent's radius by default. The map's 5 cm cells put an obstacle
#: up to half a cell off, and the embedded simulator inflates its blockers by half a cell and
#: measures clearance from cell centres, which makes its agent effectively ~5 cm wider than
#: ``agent_radius``; 0.10 m keeps the robot's plans clear of both.
DEFAULT_MARGIN = 0.10


@dataclass
class NavResult:
    """Outcome of :meth:`MapRobot.go_to`: ``reached``, ``reason`` when not, steps and metres driven."""

    reached: bool
    reason: str = ""
    steps: int = 0
    distance_m: float = 0.0
    replans: int = 0
    path: Optional[PathResult] = None


@dataclass
class _Counters:
    steps: int = 0
    turns: int = 0
    distance_m: float = 0.0
    collisions: int = 0
    frames: int = 0
    trail: list = field(default_factory=list)
    collision_log: list = field(default_factory=list)  # (position before, yaw, action) of each collision


class MapRobot:
    """A simulated robot that maps and navigates on its own map.

    ``env``: a simulator (``sim.EmbeddedSim`` or any :class:`sim.base.Simulator` with
    ``forward_step`` and ``turn``); ``octree_of``: returns the current ``OccupancyOctree``;
    ``observe``: called with every new frame (e.g. ``stack.observe`` or ``map_memory.insert``);
    ``settings``: the robot's :class:`TraversabilitySettings` (its radius should be at least the
    simulator agent's; the default is the agent's radius with a :data:`DEFAULT_MARGIN` safety
    margin). ``pitch``: camera pitch while driving (looking a little down shows the floor ahead).

    A step the simulator blocks is counted in ``count.collisions`` (every one) and becomes
    evidence: a point just ahead of where the robot's centre was stopped goes into ``bumps`` and
    is an obstacle (inflated like the others) in every later traversability grid, so the robot
    backs off and plans around what its camera did not show."""

    def __init__(self, env, octree_of: Callable[[], object], observe: Callable[[Frame], object],
                 settings: Optional[TraversabilitySettings] = None, pitch: float = -0.5) -> None:
        self.env = env
        self.octree_of = octree_of
        self._observe = observe
        self.settings = settings or TraversabilitySettings(robot_radius=max(0.18, getattr(env, "agent_radius", 0.18)),
                                                           margin=DEFAULT_MARGIN)
        self.count = _Counters()
        self.bumps: list[np.ndarray] = []  # obstacle points learned from collisions (world x, y)
        st = self.settings
        self._projection = BandProjection(st.floor_z + st.step_height, st.floor_z + st.robot_height, st.padding,
                                          st.floor_z + st.free_evidence_z)
        s = env.agent_state()
        if abs(s.pitch - pitch) > 1e-9:
            from sim.base import AgentState
            env.set_agent_state(AgentState(s.position, s.yaw, pitch))
        self.count.trail.append(self.position.copy())
        self.sense(env.observe())

    # ------------------------------------------------------------------ state
    @property
    def position(self) -> np.ndarray:
        return self.env.agent_state().position[:2]

    @property
    def yaw(self) -> float:
        return self.env.agent_state().yaw

    def sense(self, frame: Frame) -> None:
        self._observe(frame)
        self.count.frames += 1

    def grid(self) -> TraversabilityGrid:
        """The traversability grid of the current map (the robot's driven trail counts as free)."""
        return traversability(self.octree_of(), self.settings, driven_xy=np.array(self.count.trail),
                              projection=self._projection,
                              bumped_xy=np.array(self.bumps) if self.bumps else None)

    # ------------------------------------------------------------------ actions
    def act(self, action: str) -> bool:
        """One simulator action; the new frame goes into the map. Returns whether it collided."""
        before = self.position.copy()
        yaw, step = self.yaw, self.env.forward_step
        res = self.env.step(action)
        self.count.steps += 1
        moved = float(np.linalg.norm(self.position - before))
        self.count.distance_m += moved
        if action == "move_forward":
            if moved > 1e-6:
                self.count.trail.append(self.position.copy())
        else:
            self.count.turns += 1
        if res.collided:
            self.count.collisions += 1
            self.count.collision_log.append((before, yaw, action))
            if action == "move_forward":
                self._record_bump(before, yaw, step)
        self.sense(res.frame)
        return bool(res.collided)

    def _record_bump(self, before: np.ndarray, yaw: float, step: float) -> None:
        """The simulator stopped a forward step from ``before``: its centre could not go on past
        the progress it made along the heading, so an obstacle lies about a body radius beyond
        that point. Record it there (never on the robot's own trail)."""
        d = np.array([math.cos(yaw), math.sin(yaw)])
        made = max(0.0, float(np.dot(self.position - before, d)))
        res = self.octree_of().resolution
        ahead = min(made + res / 2, step)
        self.bumps.append(before + (ahead + self.settings.robot_radius + res / 2) * d)

    def look_around(self, degrees: float = 360.0) -> None:
        """Turn in place (left) by about ``degrees``, sensing every step."""
        n = int(round(math.radians(degrees) / self.env.turn))
        for _ in range(n):
            self.act("turn_left")

    def sweep(self, degrees: float) -> None:
        """Look left and right around the current heading, about ``degrees`` in all (half to each
        side), sensing every step; ends turned to the right side."""
        n = int(round(math.radians(degrees) / 2 / self.env.turn))
        for _ in range(n):
            self.act("turn_left")
        for _ in range(2 * n):
            self.act("turn_right")

    def face(self, xy) -> None:
        """Turn in place toward world point ``xy``."""
        for _ in range(int(math.pi / self.env.turn) + 1):
            p = self.position
            err = math.remainder(math.atan2(xy[1] - p[1], xy[0] - p[0]) - self.yaw, 2 * math.pi)
            if abs(err) <= self.env.turn / 2 + 1e-6:
                return
            self.act("turn_left" if err > 0 else "turn_right")

    def go_to(self, goal_xy, *, tolerance: float = 0.15, max_steps: int = 400,
              stop: Optional[Callable[[TraversabilityGrid], bool]] = None) -> NavResult:
        """Drive to ``goal_xy`` on the robot's own map. Before every decision the map's
        traversability grid and the path-length field to the goal (Dijkstra on that grid) are
        recomputed, so the plan follows the growing map; the robot picks the heading (reachable with
        the simulator's discrete turns) whose step lowers the field most, turns to it (turning in
        place cannot collide) and, on a fresh grid, steps forward only when every point of the step
        is traversable on its own map (when it stands in the inflated band, e.g. after a collision,
        only steps that lead away from the obstacle and end on traversable ground). ``stop(grid)``
        may end the trip early (e.g. the frontier it heads for got explored). Ends with a reason
        when the goal is outside the map (:class:`GoalOutsideMapError`), in an obstacle,
        unreachable, when no safe step makes progress, or when ``max_steps`` actions were taken."""
        try:
            goal = np.asarray(goal_xy, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            goal = np.zeros(0)
        if goal.shape not in ((2,), (3,)) or not np.all(np.isfinite(goal)):
            raise InvalidInputError(f"goal_xy must be 2 (or 3) finite numbers, got {goal_xy!r}")
        goal = goal[:2]
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
            raise InvalidInputError(f"max_steps must be a positive integer, got {max_steps!r}")
        s0, d0 = self.count.steps, self.count.distance_m
        turn, full_step = self.env.turn, self.env.forward_step
        n_head = int(round(2 * math.pi / turn))
        plans = stalls = 0
        try:
            while self.count.steps - s0 < max_steps:
                p = self.position
                if float(np.linalg.norm(goal - p)) <= tolerance:
                    return self._result(True, "", s0, d0, plans)
                tg = self.grid()
                if stop is not None and stop(tg):
                    return self._result(False, "stopped", s0, d0, plans)
                field, parent = distance_field(tg, goal, snap_m=0.0)  # raises for a goal off the map
                plans += 1
                here = _field_at(tg, field, p)
                if not np.isfinite(here) and not _near_finite(tg, field, p):
                    gr, gc = tg.world_to_cell(goal)
                    why = path_from_field(tg, parent, field, goal, goal).reason if not tg.traversable[gr, gc] \
                        else "goal is unreachable from the robot on its map"
                    return self._result(False, why or "goal is not traversable", s0, d0, plans)
                step = min(full_step, max(float(np.linalg.norm(goal - p)), 0.05))
                best_k, best = 0, math.inf
                for k in range(-(n_head // 2) + 1, n_head // 2 + 1):
                    yaw = self.yaw + k * turn
                    q = p + step * np.array([math.cos(yaw), math.sin(yaw)])
                    if not _step_safe(tg, p, q):
                        continue
                    c = _field_at(tg, field, q) + 1e-3 * abs(k)
                    if c < best - 1e-9:
                        best_k, best = k, c
                if not np.isfinite(best) or (np.isfinite(here) and best >= here - 1e-6):
                    stalls += 1
                    if stalls > n_head:
                        return self._result(False, "cannot make a safe step", s0, d0, plans)
                    self.act("turn_left")  # look around: the map may open a way
                    continue
                stalls = 0
                if best_k != 0:
                    # Turn to the heading, then decide again on the map the turn has grown.
                    for _ in range(min(abs(best_k), max_steps - (self.count.steps - s0))):
                        self.act("turn_left" if best_k > 0 else "turn_right")
                    continue
                self.env.forward_step = step
                try:
                    self.act("move_forward")
                finally:
                    self.env.forward_step = full_step
            return self._result(False, "step budget exhausted", s0, d0, plans)
        finally:
            self.env.forward_step = full_step

    def plan(self, goal_xy) -> PathResult:
        """The shortest path on the robot's current map from where it stands to ``goal_xy``."""
        return shortest_path(self.grid(), self.position, goal_xy)

    def _result(self, ok: bool, why: str, s0: int, d0: float, plans: int) -> NavResult:
        return NavResult(ok, why, self.count.steps - s0, self.count.distance_m - d0, plans)


def _field_at(tg: TraversabilityGrid, field: np.ndarray, xy) -> float:
    r, c = tg.world_to_cell(np.asarray(xy, dtype=np.float64)[:2])
    return float(field[r, c]) if tg.contains(r, c) else math.inf


def _step_safe(tg: TraversabilityGrid, p: np.ndarray, q: np.ndarray) -> bool:
    """Whether the straight step p -> q is safe on the robot's map: every point along it (every
    half cell) traversable. When p itself is not (the robot stands inside the inflated band, e.g.
    after a collision), the step must end traversable and never come nearer to an obstacle than
    p is."""
    n = max(2, int(math.ceil(float(np.linalg.norm(q - p)) / (tg.resolution / 2))) + 1)
    pts = p[None, :] + np.linspace(0.0, 1.0, n)[1:, None] * (q - p)[None, :]
    ok = tg.is_traversable(pts)
    if ok.all():
        return True
    if not ok[-1] or tg.is_traversable(p)[0]:
        return False
    r, c = tg.world_to_cell(np.vstack([p[None], pts]))
    if not tg.contains(r, c).all():
        return False
    clear = tg.clearance[r, c]
    return bool(np.all(ok | (clear[1:] >= clear[0] - 1e-9)))


def _near_finite(tg: TraversabilityGrid, field: np.ndarray, xy, radius: float = 0.3) -> bool:
    r, c = tg.world_to_cell(np.asarray(xy, dtype=np.float64)[:2])
    n = int(math.ceil(radius / tg.resolution))
    win = field[max(r - n, 0):r + n + 1, max(c - n, 0):c + n + 1]
    return bool(np.isfinite(win).any())
