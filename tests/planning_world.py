"""A small real world for the planner tests: a flat as an occupancy grid (shortest paths with
scipy's Dijkstra), a real MemoryStack on a SQLite file holding what the robot saw days ago, and the
objects' true places now. Looking is geometric: a verify sees an object within 1 m of the goal, an
exploration sees everything in the room. What is seen is recorded into the memory."""
from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

import robomem
from robomem.observations import ObjectObservation
from robomem.planning import Outcome
from robomem.planning.recall import RoomInfo

NS = 10**9
DAY = 86400 * NS
RES = 0.1
# room id: (type, x0, y0, x1, y1)
ROOMS = {1: ("living_room", 0, 0, 5, 6), 2: ("kitchen", 5, 0, 10, 3), 3: ("bedroom", 5, 3, 10, 6),
         4: ("storage", 10, 0, 12, 6)}


def build_grid() -> np.ndarray:
    free = np.ones((60, 120), bool)                     # [y, x] cells of 0.1 m
    free[:, 49:51] = False                              # wall x = 5
    free[14:17, 49:51] = True                           # door living -> kitchen at y = 1.5
    free[44:47, 49:51] = True                           # door living -> bedroom at y = 4.5
    free[29:31, 50:100] = False                         # wall y = 3 between kitchen and bedroom
    free[:, 99:101] = False                             # wall x = 10, no door: storage is sealed
    return free


class GridPaths:
    """Shortest path lengths (8-connected) on a boolean free-space grid."""

    def __init__(self, free: np.ndarray, res: float = RES) -> None:
        self.free, self.res = free, res
        h, w = free.shape
        idx = np.arange(h * w).reshape(h, w)
        rows, cols, wts = [], [], []
        for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
            ax = slice(0, w - dx) if dx >= 0 else slice(-dx, w)
            bx = slice(dx, w) if dx >= 0 else slice(0, w + dx)
            a, b = idx[0:h - dy, ax], idx[dy:h, bx]
            ok = free.reshape(-1)[a.reshape(-1)] & free.reshape(-1)[b.reshape(-1)]
            rows.append(a.reshape(-1)[ok]); cols.append(b.reshape(-1)[ok])
            wts.append(np.full(ok.sum(), res * math.hypot(dy, dx)))
        r, c, d = np.concatenate(rows), np.concatenate(cols), np.concatenate(wts)
        self.graph = coo_matrix((np.r_[d, d], (np.r_[r, c], np.r_[c, r])), shape=(h * w, h * w)).tocsr()
        self._cache: dict = {}
        self.queries = 0

    def cell(self, p) -> int:
        h, w = self.free.shape
        iy = min(h - 1, max(0, int(p[1] / self.res)))
        ix = min(w - 1, max(0, int(p[0] / self.res)))
        return iy * w + ix

    def __call__(self, start, goal):
        self.queries += 1
        s = self.cell(start)
        if s not in self._cache:
            self._cache[s] = dijkstra(self.graph, indices=s)
        d = float(self._cache[s][self.cell(goal)])
        return d if math.isfinite(d) else None


def room_of(p) -> int | None:
    for r, (_, x0, y0, x1, y1) in ROOMS.items():
        if x0 <= p[0] < x1 and y0 <= p[1] < y1:
            return r
    return None


def room_infos() -> dict[int, RoomInfo]:
    return {r: RoomInfo(t, ((x0 + x1) / 2, (y0 + y1) / 2, 0.0)) for r, (t, x0, y0, x1, y1) in ROOMS.items()}


def _obs(oid, label, pos, t):
    p = np.asarray(pos, float)
    return ObjectObservation(oid, label, t, p, p - 0.05, p + 0.05, room_id=room_of(p))


class World:
    """Objects seen on day 0 (``remembered``: id → (label, position)), their true places on day 2
    (``truth``: id → (label, position) or absent when out of the house), the memory and the grid."""

    def __init__(self, db_path, remembered: dict, truth: dict) -> None:
        self.stack = robomem.open(db_path, perception=None)
        self.stack.begin_session("day0", 0)
        self.stack.record(DAY // 2, [_obs(o, l, p, DAY // 2) for o, (l, p) in remembered.items()],
                          robot_position=(1.0, 1.0, 0.0))
        self.stack.end_session(DAY // 2 + 60 * NS)
        self.stack.begin_session("day2", 2 * DAY)
        self.now = 2 * DAY
        self.truth = truth
        self.paths = GridPaths(build_grid())
        self.pose = (1.0, 1.0, 0.0)

    def act(self, action) -> Outcome:
        m = self.paths(self.pose, action.goal)
        if m is None:
            return Outcome(0.0, 0.0, self.pose, reached=False)
        self.pose = tuple(action.goal)
        self.now += int((m / 0.5 + 10) * NS)
        room = room_of(action.goal)
        seen = []
        for oid, (label, p) in self.truth.items():
            near = math.dist(p[:2], action.goal[:2]) <= 1.0
            if near or (action.kind == "explore" and room_of(p) == room):
                seen.append(_obs(oid, label, p, self.now))
        self.stack.record(self.now, seen, robot_position=self.pose)
        target = self.target
        for o in seen:
            if o.label == target:
                pos = tuple(float(v) for v in o.position)
                return Outcome(m, m / 0.5 + 10, self.pose, f"obj:{o.object_id}", pos, o.room_id,
                               {"object_id": o.object_id, "position": list(pos), "room_id": o.room_id})
        return Outcome(m, m / 0.5 + 10, self.pose)

    target = None

    def close(self):
        self.stack.close()
