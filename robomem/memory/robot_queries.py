"""Robot-centred queries over the stored (thinned) trajectory: "where was I at t", "when was I last
in room R", "how long did I stay"."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from robomem.memory.records import query_id, query_stamp
from robomem.memory.trajectory import TrajectoryPoint


@dataclass(frozen=True)
class RobotPosition:
    """Where the robot was at ``stamp_ns``: interpolated between the kept trajectory points around
    it (within the stop radius while stopped; off by at most about the waypoint spacing while
    moving)."""

    stamp_ns: int
    position: np.ndarray
    room_id: Optional[int]
    before: TrajectoryPoint
    after: Optional[TrajectoryPoint]


@dataclass(frozen=True)
class RoomVisit:
    """One stay of the robot in a room: entered at ``t_enter_ns``, left at ``t_exit_ns``."""

    room_id: int
    t_enter_ns: int
    t_exit_ns: Optional[int]   # None: still there (as of the last stored pose)
    last_pose_ns: int           # last stored pose of the visit

    @property
    def duration_ns(self) -> int:
        return (self.t_exit_ns if self.t_exit_ns is not None else self.last_pose_ns) - self.t_enter_ns


class RobotQueries:
    """Trajectory queries of :class:`~robomem.memory.longterm.LongTermMemory` (a mixin)."""

    def _traj_point(self, r) -> TrajectoryPoint:
        return TrajectoryPoint(r[0], (r[1], r[2], r[3]), r[4], r[5], r[6])

    def robot_position_at(self, stamp_ns: int) -> Optional[RobotPosition]:
        """Where the robot was at ``stamp_ns`` ("where was I at 10:00?"), or None outside any stored
        track (before the first pose or after a session's end)."""
        t = query_stamp(stamp_ns, "robot_position_at: stamp_ns")
        cols = "stamp_ns, x, y, z, yaw, room_id, kind, session_id"
        b = self._read(f"SELECT {cols} FROM trajectory WHERE stamp_ns <= ? ORDER BY stamp_ns DESC, id DESC LIMIT 1", (t,))
        if not b:
            return None
        before = self._traj_point(b[0])
        if before.kind == "end" and before.stamp_ns < t:
            return None
        a = self._read(f"SELECT {cols} FROM trajectory WHERE stamp_ns >= ? ORDER BY stamp_ns, id LIMIT 1", (t,))
        after = self._traj_point(a[0]) if a and a[0][7] == b[0][7] else None
        p0 = np.array(before.position)
        if after is None or after.stamp_ns == before.stamp_ns or before.kind == "stop":
            # stopped until the next point ("go"): standing within the stop radius of the stop point
            return RobotPosition(t, p0, before.room_id, before, after)
        w = (t - before.stamp_ns) / (after.stamp_ns - before.stamp_ns)
        pos = p0 + w * (np.array(after.position) - p0)
        room = after.room_id if (before.kind == "exit" and w >= 0.5) else before.room_id
        return RobotPosition(t, pos, room, before, after)

    def room_visits(self, room_id: int, t0_ns: Optional[int] = None, t1_ns: Optional[int] = None) -> list[RoomVisit]:
        """Visits of the robot to ``room_id`` (enter .. exit), oldest first; "how long did I stay"."""
        room_id = query_id(room_id, "room_visits: room_id")
        t0_ns = None if t0_ns is None else query_stamp(t0_ns, "room_visits: t0_ns")
        t1_ns = None if t1_ns is None else query_stamp(t1_ns, "room_visits: t1_ns")
        rows = self._read("SELECT stamp_ns, kind FROM trajectory WHERE room_id = ? ORDER BY stamp_ns, id",
                          (room_id,))
        visits: list[RoomVisit] = []
        start = last = None
        for stamp, kind in rows:
            if start is None:
                start = stamp
            last = stamp
            if kind in ("exit", "end"):
                visits.append(RoomVisit(int(room_id), start, stamp, stamp))
                start = None
        if start is not None:
            visits.append(RoomVisit(int(room_id), start, None, last))
        if t0_ns is not None:
            visits = [v for v in visits if (v.t_exit_ns or v.last_pose_ns) >= t0_ns]
        if t1_ns is not None:
            visits = [v for v in visits if v.t_enter_ns <= t1_ns]
        return visits

    def last_visit(self, room_id: int, before_ns: Optional[int] = None) -> Optional[RoomVisit]:
        """"When was I last in room R?" — the latest visit starting at or before ``before_ns``."""
        v = self.room_visits(room_id, None, before_ns)
        return v[-1] if v else None

    def trajectory(self, t0_ns: Optional[int] = None, t1_ns: Optional[int] = None) -> list[TrajectoryPoint]:
        t0 = 0 if t0_ns is None else query_stamp(t0_ns, "trajectory: t0_ns")
        t1 = 2**62 if t1_ns is None else query_stamp(t1_ns, "trajectory: t1_ns")
        rows = self._read("SELECT stamp_ns, x, y, z, yaw, room_id, kind FROM trajectory WHERE stamp_ns BETWEEN ? AND ? "
                          "ORDER BY stamp_ns, id", (t0, t1))
        return [self._traj_point(r) for r in rows]
