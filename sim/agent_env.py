"""Drive robomem's planning agent in a simulator: path lengths from the simulator's navigation grid,
acting = walk to the goal and look around, every frame going through the robot's memory.

``SimAgentWorld`` turns an ``Action`` from :mod:`robomem.planning` into motion and frames:
an *explore* action stands at the room's look-out point and turns through ``explore_views``
headings; a *verify* action stands at the nearest free spot to the remembered place and looks
towards it (``verify_views`` headings around that bearing). Each frame is rendered by the simulator
(``EmbeddedSim``; Habitat through the same interface), recorded in the scenario's ground truth
(sightings) and observed into the memory stack (perception → short/long-term memory). Whether the
target was seen is read from the perception's observations of those frames, not from the scene.

Rooms come from the scene's floor plan (the robot's own room segmentation is planned to replace it)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from robomem.planning import Action, Outcome, RoomInfo
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
        clock = self.env.clock_ns + int(d / self.speed * NS)
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


def _restamp(frame, stamp_ns: int):
    from dataclasses import replace
    return replace(frame, stamp_ns=int(stamp_ns))
