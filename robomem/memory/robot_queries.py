"""Robot-centred queries over the stored trajectory: "where was I at t", "when was I last in room R",
"how long did I stay". Recent times are answered from the kept (thinned) poses, exactly; times older
than the raw horizon from the per-(bucket, room, cell) summaries of
:mod:`robomem.memory.trajectory_summary`, within the documented tolerance."""
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
    moving). For summarised (old) times ``resolution_ns`` is the summary's bucket length, the
    position is the mean of the cell the robot spent most time in around ``stamp_ns`` in that bucket
    (``before.kind == "summary"``, ``after`` None) and ``alternatives`` lists the other cells it was
    in during that bucket around that time, as ``(position, room_id, dwell_ns)``."""

    stamp_ns: int
    position: np.ndarray
    room_id: Optional[int]
    before: TrajectoryPoint
    after: Optional[TrajectoryPoint]
    resolution_ns: int = 0
    alternatives: tuple = ()


@dataclass(frozen=True)
class RoomVisit:
    """One stay of the robot in a room: entered at ``t_enter_ns``, left at ``t_exit_ns``."""

    room_id: int
    t_enter_ns: int
    t_exit_ns: Optional[int]   # None: still there (as of the last stored pose)
    last_pose_ns: int           # last stored pose of the visit
    #: 0: exact (kept poses); else the bucket length of the summaries its older part comes from
    resolution_ns: int = 0
    #: time actually spent in the room between enter and exit (None: all of it, exact visits)
    dwell_ns: Optional[int] = None

    @property
    def duration_ns(self) -> int:
        """Span from entering to leaving (or to the last stored pose)."""
        return (self.t_exit_ns if self.t_exit_ns is not None else self.last_pose_ns) - self.t_enter_ns

    @property
    def stay_ns(self) -> int:
        """How long the robot stayed: ``dwell_ns`` when known (summarised visits: a robot that left
        and came back within one bucket spent less than the span there), else the span."""
        return self.duration_ns if self.dwell_ns is None else self.dwell_ns


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
            return self._summary_position_at(t)
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

    def _summary_position_at(self, t: int) -> Optional[RobotPosition]:
        """Position at a summarised time: the cells the robot was in during the bucket holding ``t``
        whose [first, last) time span contains ``t`` (a cell without dwell: [first, last]); the one
        with most dwell wins."""
        rows = self._read("SELECT t0, t1, room_id, x, y, z, first_ns, last_ns, dwell_ns FROM trajectory_summary "
                          "WHERE t0 <= ? AND t1 > ? AND first_ns <= ? AND (last_ns > ? OR (last_ns = ? AND dwell_ns = 0)) "
                          "ORDER BY dwell_ns DESC, first_ns", (t, t, t, t, t))
        if not rows:
            return None
        best = rows[0]
        pos = np.array(best[3:6], dtype=np.float64)
        before = TrajectoryPoint(int(best[6]), tuple(pos.tolist()), None, best[2], "summary")
        alts = tuple((np.array(r[3:6], dtype=np.float64), r[2], int(r[8])) for r in rows[1:])
        return RobotPosition(t, pos, best[2], before, None, int(best[1] - best[0]), alts)

    def _summary_visits(self, room_id: int) -> list[RoomVisit]:
        """Visits to ``room_id`` in the summarised past: per bucket, first .. last time in the room,
        the dwell summed over its cells; buckets the robot stayed in the room across are joined."""
        rows = self._read("SELECT t0, t1, min(first_ns), max(last_ns), sum(dwell_ns) FROM trajectory_summary "
                          "WHERE room_id = ? GROUP BY t0, t1 ORDER BY t0", (room_id,))
        out: list[RoomVisit] = []
        for t0, t1, first, last, dwell in rows:
            if out and first <= out[-1].t_exit_ns:
                v = out[-1]
                out[-1] = RoomVisit(room_id, v.t_enter_ns, max(last, v.t_exit_ns), max(last, v.t_exit_ns),
                                    max(v.resolution_ns, t1 - t0), v.dwell_ns + int(dwell))
            else:
                out.append(RoomVisit(room_id, int(first), int(last), int(last), int(t1 - t0), int(dwell)))
        return out

    def room_visits(self, room_id: int, t0_ns: Optional[int] = None, t1_ns: Optional[int] = None) -> list[RoomVisit]:
        """Visits of the robot to ``room_id`` (enter .. exit), oldest first; "how long did I stay".
        Visits in the summarised past come per bucket (``resolution_ns`` > 0, ``dwell_ns`` set)."""
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
        old = self._summary_visits(int(room_id))
        if old and visits and visits[0].t_enter_ns <= old[-1].t_exit_ns:
            # the kept poses continue the last summarised visit (the pose kept at the frontier)
            o, v = old.pop(), visits[0]
            visits[0] = RoomVisit(v.room_id, o.t_enter_ns, v.t_exit_ns, v.last_pose_ns, o.resolution_ns,
                                  o.dwell_ns + v.duration_ns)
        visits = old + visits
        if t0_ns is not None:
            visits = [v for v in visits if (v.t_exit_ns or v.last_pose_ns) >= t0_ns]
        if t1_ns is not None:
            visits = [v for v in visits if v.t_enter_ns <= t1_ns]
        return visits

    def last_visit(self, room_id: int, before_ns: Optional[int] = None) -> Optional[RoomVisit]:
        """"When was I last in room R?" — the latest visit starting at or before ``before_ns``."""
        v = self.room_visits(room_id, None, before_ns)
        return v[-1] if v else None

    def trajectory_summary(self, t0_ns: Optional[int] = None, t1_ns: Optional[int] = None) -> list[tuple]:
        """Summaries of the trajectory older than the raw horizon overlapping [t0, t1], oldest first:
        ``(bucket_t0, bucket_t1, room_id, (x, y, z), first_ns, last_ns, dwell_ns)``."""
        t0 = 0 if t0_ns is None else query_stamp(t0_ns, "trajectory_summary: t0_ns")
        t1 = 2**62 if t1_ns is None else query_stamp(t1_ns, "trajectory_summary: t1_ns")
        rows = self._read("SELECT t0, t1, room_id, x, y, z, first_ns, last_ns, dwell_ns FROM trajectory_summary "
                          "WHERE t0 <= ? AND t1 > ? ORDER BY t0, first_ns", (t1, t0))
        return [(r[0], r[1], r[2], (r[3], r[4], r[5]), r[6], r[7], r[8]) for r in rows]

    def trajectory(self, t0_ns: Optional[int] = None, t1_ns: Optional[int] = None) -> list[TrajectoryPoint]:
        """The kept poses (exact part of the trajectory) in [t0, t1]; older times: :meth:`trajectory_summary`."""
        t0 = 0 if t0_ns is None else query_stamp(t0_ns, "trajectory: t0_ns")
        t1 = 2**62 if t1_ns is None else query_stamp(t1_ns, "trajectory: t1_ns")
        rows = self._read("SELECT stamp_ns, x, y, z, yaw, room_id, kind FROM trajectory WHERE stamp_ns BETWEEN ? AND ? "
                          "ORDER BY stamp_ns, id", (t0, t1))
        return [self._traj_point(r) for r in rows]
