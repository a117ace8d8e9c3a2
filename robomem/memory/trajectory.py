"""Thinning of the robot's own trajectory to what matters: room entries and exits, stops, and
sparse waypoints (every ``waypoint_spacing_m`` travelled), so that "where was I at t", "when was I
last in room R" and "how long did I stay" stay answerable from a few rows per minute of motion and
none while standing still."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from robomem.errors import InvalidInputError

KINDS = ("start", "end", "enter", "exit", "stop", "go", "waypoint")


@dataclass(frozen=True)
class TrajectoryPoint:
    """One kept robot pose. ``kind``: start/end (of a session), enter/exit (room), stop/go (the
    robot came to rest / started moving), waypoint (spacing sample)."""

    stamp_ns: int
    position: tuple
    yaw: Optional[float]
    room_id: Optional[int]
    kind: str


class TrajectoryThinner:
    """Feed every robot pose with :meth:`update`; it returns the points worth storing."""

    def __init__(self, waypoint_spacing_m: float = 1.0, stop_radius_m: float = 0.1,
                 stop_min_duration_ns: int = 2 * 10**9) -> None:
        if not (math.isfinite(waypoint_spacing_m) and waypoint_spacing_m > 0):
            raise InvalidInputError(f"waypoint_spacing_m must be > 0, got {waypoint_spacing_m!r}")
        if not (math.isfinite(stop_radius_m) and stop_radius_m >= 0):
            raise InvalidInputError(f"stop_radius_m must be >= 0, got {stop_radius_m!r}")
        self.spacing = float(waypoint_spacing_m)
        # A stop = staying within this radius for stop_min_duration_ns: robust to pose jitter,
        # unlike a per-frame speed threshold.
        self.stop_radius = float(stop_radius_m)
        self.stop_min_ns = int(stop_min_duration_ns)
        self.reset()

    def reset(self) -> None:
        self._prev: Optional[TrajectoryPoint] = None
        self._last_kept: Optional[TrajectoryPoint] = None
        self._still_since: Optional[TrajectoryPoint] = None
        self._stopped = False

    def update(self, stamp_ns: int, position, yaw: Optional[float] = None,
               room_id: Optional[int] = None) -> list[TrajectoryPoint]:
        x, y, z = (float(v) for v in position)
        if not all(math.isfinite(v) for v in (x, y, z)):
            raise InvalidInputError(f"robot position is not finite: {(x, y, z)}")
        if yaw is not None and not math.isfinite(yaw):
            raise InvalidInputError(f"robot yaw is not finite: {yaw!r}")
        cur = TrajectoryPoint(int(stamp_ns), (x, y, z), None if yaw is None else float(yaw),
                              None if room_id is None else int(room_id), "waypoint")
        prev = self._prev
        out: list[TrajectoryPoint] = []
        if prev is None:
            out.append(_as(cur, "start"))
        else:
            if cur.stamp_ns < prev.stamp_ns:
                raise InvalidInputError(f"robot pose at {cur.stamp_ns} is older than the previous one ({prev.stamp_ns})")
            if cur.room_id != prev.room_id:
                out.append(_as(prev, "exit"))
                out.append(_as(cur, "enter"))
            if self._still_since is None:
                self._still_since = prev
            if _dist(cur.position, self._still_since.position) <= self.stop_radius:
                if not self._stopped and cur.stamp_ns - self._still_since.stamp_ns >= self.stop_min_ns:
                    self._stopped = True
                    out.append(_as(self._still_since, "stop"))
            else:
                if self._stopped:
                    out.append(_as(prev, "go"))
                self._stopped = False
                self._still_since = cur
            if not out and self._last_kept is not None and _dist(cur.position, self._last_kept.position) >= self.spacing:
                out.append(cur)
        out.sort(key=lambda p: p.stamp_ns)
        if out:
            self._last_kept = out[-1]
        self._prev = cur
        return out

    def finish(self) -> list[TrajectoryPoint]:
        """Close the current track (session end): emits the last pose as 'end'."""
        out = [] if self._prev is None else [_as(self._prev, "end")]
        self.reset()
        return out


def _as(p: TrajectoryPoint, kind: str) -> TrajectoryPoint:
    return TrajectoryPoint(p.stamp_ns, p.position, p.yaw, p.room_id, kind)


def _dist(a, b) -> float:
    return math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2)
