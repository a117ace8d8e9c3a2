"""Drive robomem's planning agent in a simulator: path lengths from the simulator's navigation grid,
acting = walk to the goal and look around, every frame going through the robot's memory.

``SimAgentWorld`` turns an ``Action`` from :mod:`robomem.planning` into motion and frames:
an *explore* action stands at the room's look-out point and turns through ``explore_views``
headings; a *verify* action stands at the nearest free spot to the remembered place and looks
towards it (``verify_views`` headings around that bearing). Each frame is rendered by the simulator
(``EmbeddedSim``; Habitat through the same interface), recorded in the scenario's ground truth
(sightings) and observed into the memory stack (perception → short/long-term memory). Whether the
target was seen is read from the perception's observations of those frames, not from the scene.

Rooms come from the scene's floor plan (the robot's own room segmentation is planned to replace it).

``MapAgentWorld`` is the same on the robot's OWN map: path lengths, paths, look-out points and
reachability come from the memory's occupancy map (:class:`robomem.planning.MapPathLength`: the
traversability grid of ``stack.map``, with the places the robot drove counted free and the obstacles
it bumped into counted occupied); the simulator only executes the motion along the planned
waypoints, collision-checked (a blocked step stops the robot, becomes a bump on its map, and the
robot replans from where it stopped). A goal its map cannot reach is reported unreachable (the
agent lists it and never plans it again)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from robomem.mapping.traversability import TraversabilitySettings
from robomem.planning import Action, MapPathLength, Outcome, RoomInfo
from sim.base import AgentState

NS = 1_000_000_000


@dataclass
class LookStats:
    frames: int = 0
    rendered: int = 0


class SimAgentWorld:
    """``path_length`` and ``act`` for :class:`robomem.planning.Agent` over a simulator.

    ``scene``: the simulated house; ``env``: its simulator (``EmbeddedSim``); ``stack``: the robot's
    ``MemoryStack``; ``scenario``: optional, receives sightings; ``speed_mps``: walking speed for the
    clock; ``frame_period_s``: time per look frame; ``render_cache``: optional dict shared by worlds
    over the same scene state (frames depend only on the state and the pose); ``geometry_cache``:
    optional dict shared by worlds over the same house (snapped points and path lengths; furniture
    never moves, so they hold across sessions)."""

    def __init__(self, scene, env, stack, scenario=None, *, speed_mps: float = 0.5, explore_views: int = 6,
                 verify_views: int = 3, pitch: float = -0.35, frame_period_s: float = 2.0,
                 render_cache: Optional[dict] = None, cache_tag=None, geometry_cache: Optional[dict] = None) -> None:
        self.scene, self.env, self.stack, self.scenario = scene, env, stack, scenario
        self.pf = env.pathfinder
        self.speed = float(speed_mps)
        self.explore_views, self.verify_views = int(explore_views), int(verify_views)
        self.pitch, self.period_ns = float(pitch), int(frame_period_s * NS)
        self.cache = render_cache
        self.cache_tag = cache_tag
        self.room_ids = {rid: i + 1 for i, rid in enumerate(sorted(scene.rooms))}
        self.room_names = {i: rid for rid, i in self.room_ids.items()}
        self.pose = None
        self.target: Optional[str] = None
        self.stats = LookStats()
        geo = {} if geometry_cache is None else geometry_cache
        self._snap: dict = geo.setdefault("snap", {})
        self._paths: dict = geo.setdefault("paths", {})

    # -------------------------------------------------------------- geometry
    def snap(self, p) -> Optional[np.ndarray]:
        key = (round(float(p[0]), 3), round(float(p[1]), 3))
        if key not in self._snap:
            try:
                self._snap[key] = self.pf.snap_point(np.array([p[0], p[1], 0.0]))
            except (ValueError, RuntimeError):
                self._snap[key] = None
        return self._snap[key]

    def rooms(self) -> dict[int, RoomInfo]:
        """Room id → RoomInfo(type, look-out point) for every room with a free spot inside it."""
        out = {}
        for rid, i in self.room_ids.items():
            room = self.scene.rooms[rid]
            spot = self.snap(room.centroid)
            if spot is None or self.scene.room_at(spot[:2]) != rid:
                continue
            out[i] = RoomInfo(room.room_type, tuple(float(v) for v in spot))
        return out

    def room_of(self, p) -> Optional[int]:
        rid = self.scene.room_at(np.asarray(p[:2], dtype=float))
        return None if rid is None else self.room_ids.get(rid)

    def path_length(self, start, goal) -> Optional[float]:
        a, b = self.snap(start), self.snap(goal)
        if a is None or b is None:
            return None
        key = (round(float(a[0]), 2), round(float(a[1]), 2), round(float(b[0]), 2), round(float(b[1]), 2))
        if key not in self._paths:
            d = float(self.pf.geodesic_distance(a, b))
            self._paths[key] = d if math.isfinite(d) else None
        return self._paths[key]

    # -------------------------------------------------------------- acting
    def _frame(self, pos, yaw):
        key = None
        if self.cache is not None:
            key = (self.cache_tag, round(float(pos[0]), 2), round(float(pos[1]), 2), round(float(yaw), 3))
            obs = self.cache.get(key)
            if obs is not None:
                return obs
        self.env.set_agent_state(AgentState(np.asarray(pos, float), yaw, self.pitch))
        frame = self.env.observe()
        self.stats.rendered += 1
        if key is not None:
            self.cache[key] = frame
        return frame

    def look(self, pos, yaws, clock_ns: int) -> tuple[list, int]:
        """Render and observe one frame per heading; returns the perceived observations and the
        clock after the look."""
        seen = []
        t = clock_ns
        for yaw in yaws:
            frame = self._frame(pos, yaw)
            frame = frame.with_stamp(t) if hasattr(frame, "with_stamp") else _restamp(frame, t)
            if self.scenario is not None:
                self.scenario.record_frame(frame)
            result = self.stack.observe(frame, room_id=self.room_of(pos))
            seen.extend(result.observations)
            self.stats.frames += 1
            t += self.period_ns
        return seen, t

    def act(self, action: Action) -> Outcome:
        """Walk to the action's goal and look; see the module docstring."""
        start = self.snap(self.pose)
        goal = self.snap(action.goal)
        if start is None or goal is None:
            return Outcome(0.0, 0.0, tuple(self.pose), reached=False)
        d = self.path_length(start, goal)
        if d is None:
            return Outcome(0.0, 0.0, tuple(self.pose), reached=False)
        return self._look_at_goal(action, goal, d, self.env.clock_ns + int(d / self.speed * NS))

    def _look_at_goal(self, action: Action, goal, d: float, clock: int) -> Outcome:
        """Standing at ``goal`` after ``d`` metres (clock ``clock``): look and report."""
        if action.kind == "verify":
            bearing = math.atan2(action.goal[1] - goal[1], action.goal[0] - goal[0])
            if np.hypot(action.goal[0] - goal[0], action.goal[1] - goal[1]) < 0.05:
                bearing = 0.0
            n = self.verify_views
            yaws = [bearing + (k - (n - 1) / 2) * math.radians(35) for k in range(n)]
        else:
            yaws = [2 * math.pi * k / self.explore_views for k in range(self.explore_views)]
        seen, clock_after = self.look(goal, yaws, clock)
        time_s = (clock_after - self.env.clock_ns) / NS
        self.env.clock_ns = clock_after
        self.pose = tuple(float(v) for v in goal)
        hits = [o for o in seen if o.label == self.target]
        if not hits:
            return Outcome(d, time_s, self.pose)
        o = max(hits, key=lambda o: (o.num_points, o.confidence))
        pos = tuple(float(v) for v in np.asarray(o.position)[:3])
        room = self.room_of(pos)
        return Outcome(d, time_s, self.pose, f"obj:{o.object_id}", pos, room,
                       {"object_id": int(o.object_id), "position": list(pos), "room_id": room})


class MapAgentWorld(SimAgentWorld):
    """``path_length`` and ``act`` on the robot's own map (see the module docstring).

    ``trail``: places the robot has driven (x, y), e.g. its day-0 tour; ``bumps``: obstacle points
    learned from collisions (both lists are extended in place, so share them across worlds of the
    same robot); ``settings``: the robot's traversability settings (default: the simulator agent's
    radius with ``sim.navigation.DEFAULT_MARGIN``); ``reach_m``: a goal counts as reached within this
    distance; ``max_replans``: blocked motions replanned per act before the goal counts as
    unreachable. Other arguments as :class:`SimAgentWorld`."""

    def __init__(self, scene, env, stack, scenario=None, *, trail: Optional[list] = None, bumps: Optional[list] = None,
                 settings: Optional[TraversabilitySettings] = None, reach_m: float = 1.0, max_replans: int = 6,
                 **kw) -> None:
        from sim.navigation import DEFAULT_MARGIN
        super().__init__(scene, env, stack, scenario, **kw)
        if stack.map is None:
            raise ValueError("stack: MapAgentWorld needs a MemoryStack with a map (robomem.open(..., map='auto'))")
        self.trail = [] if trail is None else trail
        self.bumps = [] if bumps is None else bumps
        self.settings = settings or TraversabilitySettings(robot_radius=max(0.18, getattr(env, "agent_radius", 0.18)),
                                                           margin=DEFAULT_MARGIN)
        self.max_replans = int(max_replans)
        self.paths = MapPathLength(lambda: stack.map.octree, self.settings, reach_m=reach_m,
                                   driven_xy=lambda: self.trail, bumped_xy=lambda: self.bumps)
        self.legs: list[np.ndarray] = []     # driven polylines (x, y), one per act
        self.collisions = 0
        self._lookouts: set = set()          # the rooms' look-out points: stood on exactly

    def _reach(self, goal) -> Optional[float]:
        return 0.15 if (round(float(goal[0]), 3), round(float(goal[1]), 3)) in self._lookouts else None

    def rooms(self) -> dict[int, RoomInfo]:
        """Room id → RoomInfo(type, look-out point): the cell of the robot's map nearest the room's
        centre that lies in the room, among the largest connected traversable region (not an island
        between furniture); rooms without one are left out."""
        if self.paths.grid is None:
            self.paths.refresh()
        tg = self.paths.grid
        from scipy import ndimage
        lab, n = ndimage.label(tg.traversable, structure=np.ones((3, 3), bool))
        main = np.argmax(np.bincount(lab.ravel())[1:]) + 1 if n else 0
        region = lab == main if n else np.zeros(tg.shape, bool)
        # stand on open floor: a cell (5 cm) more clearance than the robot needs where the room has
        # it, so that a robot put there is clear of obstacles in the simulator's grid too
        need = self.settings.robot_radius + self.settings.margin + 0.05
        open_floor = region & (tg.clearance >= need)
        rr, cc = np.nonzero(region)
        ro, co = np.nonzero(open_floor)
        out = {}
        for rid, i in self.room_ids.items():
            room = self.scene.rooms[rid]
            for r_, c_ in ((ro, co), (rr, cc)):
                spot = self._nearest_in_room(tg, r_, c_, room.centroid, rid)
                if spot is not None:
                    out[i] = RoomInfo(room.room_type, (spot[0], spot[1], 0.0))
                    self._lookouts.add((round(spot[0], 3), round(spot[1], 3)))
                    break
        return out

    def _nearest_in_room(self, tg, rr, cc, centre, rid) -> Optional[tuple]:
        if not len(rr):
            return None
        xy = tg.cell_to_world((rr, cc))
        order = np.argsort(np.hypot(xy[:, 0] - centre[0], xy[:, 1] - centre[1]))
        for k in order[:4000]:
            if self.scene.room_at(xy[k]) == rid:
                return float(xy[k, 0]), float(xy[k, 1])
        return None

    def path_length(self, start, goal) -> Optional[float]:
        return self.paths(start, goal, self._reach(goal))

    def _drive(self, waypoints: np.ndarray, step_m: float = 0.25) -> tuple[np.ndarray, float, bool]:
        """Execute the motion along ``waypoints`` in the simulator, collision-checked step by step
        (``step_m``), sliding along an obstacle like the simulator's own forward step; returns
        (where it stopped, metres driven, blocked: no progress was possible)."""
        pf = self.env.pathfinder
        pos = np.array([waypoints[0][0], waypoints[0][1], 0.0])
        driven, leg = 0.0, [pos[:2].copy()]
        for wp in waypoints[1:]:
            target = np.array([wp[0], wp[1], 0.0])
            stuck = 0
            for _ in range(int(4 * np.hypot(*(target[:2] - pos[:2])) / step_m) + 8):
                gap = float(np.hypot(*(target[:2] - pos[:2])))
                if gap < 1e-3:
                    break
                nxt = pos + (target - pos) * min(1.0, step_m / gap)
                end, blocked = pf.slide(pos, nxt)     # as the simulator's own forward step
                if blocked:
                    self.collisions += 1
                moved = float(np.hypot(*(end[:2] - pos[:2])))
                progress = gap - float(np.hypot(*(target[:2] - end[:2])))
                if moved > 1e-6:
                    self.trail.append([float(end[0]), float(end[1])])
                    leg.append(end[:2].copy())
                driven += moved
                pos = np.array([end[0], end[1], 0.0])
                stuck = stuck + 1 if progress < 0.02 else 0
                if stuck >= 3:
                    d = (target[:2] - pos[:2]) / max(float(np.hypot(*(target[:2] - pos[:2]))), 1e-9)
                    self.bumps.append((pos[:2] + (self.settings.robot_radius + self.paths.grid.resolution) * d).tolist())
                    # look at what stopped it: the frame goes into the memory (and its map)
                    self.look(pos, [math.atan2(d[1], d[0])], self.env.clock_ns)
                    self.legs.append(np.array(leg))
                    return pos, driven, True
        self.legs.append(np.array(leg))
        return pos, driven, False

    def act(self, action: Action) -> Outcome:
        """Plan on the robot's own map, drive (simulator: collision-checked motion), look."""
        pos = np.array([self.pose[0], self.pose[1], 0.0])
        total = 0.0
        for _ in range(self.max_replans + 1):
            plan = self.paths.plan(pos, action.goal, self._reach(action.goal))
            if not plan.found:
                break
            pos, d, blocked = self._drive(plan.waypoints)
            total += d
            if blocked:
                self.paths.refresh()          # the bump is on the map now: replan around it
                continue
            clock = self.env.clock_ns + int(total / self.speed * NS)
            out = self._look_at_goal(action, pos, total, clock)
            self.paths.refresh()              # the map grew on the way and at the look
            return out
        self.pose = (float(pos[0]), float(pos[1]), 0.0)
        self.env.clock_ns += int(total / self.speed * NS)
        self.paths.refresh()
        return Outcome(total, total / self.speed, self.pose, reached=False)


def tour_trail(pathfinder, spots, step_m: float = 0.1) -> list:
    """Where a guided tour through ``spots`` (x, y) drove: the simulator's route between consecutive
    spots, every ``step_m`` metres (the robot's odometry trail of a scripted tour; it counts as free
    ground on the robot's map)."""
    trail: list = []
    for a, b in zip(spots[:-1], spots[1:]):
        try:
            pts, _ = pathfinder.find_path(np.array([a[0], a[1], 0.0]), np.array([b[0], b[1], 0.0]))
        except (ValueError, RuntimeError):
            continue
        pts = np.asarray(pts, dtype=float)[:, :2]
        for p, q in zip(pts[:-1], pts[1:]):
            n = max(1, int(math.ceil(float(np.hypot(*(q - p))) / step_m)))
            trail += [(p + (q - p) * t).tolist() for t in np.linspace(0.0, 1.0, n + 1)]
    return trail


def transit_frames(env, trail, every_m: float = 0.5, pitch: float = -0.35, stamp_ns: Optional[int] = None):
    """Frames a robot driving along ``trail`` (x, y points) takes facing its direction of travel,
    one every ``every_m`` metres (for its map: the doorways and corridors it passes through)."""
    pts = np.asarray(trail, dtype=float).reshape(-1, 2)
    since = every_m
    for p, q in zip(pts[:-1], pts[1:]):
        step = float(np.hypot(*(q - p)))
        if step < 1e-6:
            continue
        since += step
        if since < every_m:
            continue
        since = 0.0
        env.set_agent_state(AgentState(np.array([q[0], q[1], 0.0]), math.atan2(q[1] - p[1], q[0] - p[0]), pitch))
        if stamp_ns is not None:
            env.clock_ns = int(stamp_ns)
        yield env.observe()


def _restamp(frame, stamp_ns: int):
    from dataclasses import replace
    return replace(frame, stamp_ns=int(stamp_ns))
