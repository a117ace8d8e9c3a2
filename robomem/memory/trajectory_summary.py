"""Compaction of the robot's old trajectory into per-place dwell summaries whose time resolution
coarsens with age, so that a robot moving through the same places for weeks keeps a log that grows
with the number of (place, time bucket) pairs, not with the distance travelled.

Schedule (:class:`TrajectoryResolution`, default): kept poses younger than 10 min stay as they are
(exact); older ones become one row per (10-min bucket, room, 1 m cell) holding the first and last
time the robot was in that cell during the bucket, the time it spent there (dwell) and its
dwell-weighted mean position; those rows are merged into 1-h buckets once older than 1 h and into
1-day buckets once older than 1 day. The pure part (poses -> pieces, merging) is here; the SQL runs
in :class:`TrajectoryCompactor`, a mixin of :class:`~robomem.memory.longterm.LongTermMemory`,
inside the ingest transaction (all or nothing, like every write)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from robomem.errors import InvalidInputError

MIN_NS = 60 * 10**9
HOUR_NS = 60 * MIN_NS
DAY_NS = 24 * HOUR_NS

#: one summary row: (first_ns, last_ns, dwell_ns, x, y, z, n)
Piece = tuple


@dataclass(frozen=True)
class TrajectoryResolution:
    """How the stored trajectory coarsens with age (a :class:`LongTermMemory` setting,
    ``trajectory_resolution``; None keeps every pose forever).

    ``tiers``: ``((age_ns, bucket_ns), ...)``: poses older than the first age are summarised per
    first bucket; summaries older than the k-th age are merged into the k-th bucket. Ages and
    buckets strictly increase, each bucket is a whole multiple of the one before, and each age is at
    least the previous age plus the previous bucket (so a coarse bucket is only built from finished
    finer ones). ``cell_m``: side of the position cell summaries are kept per (also per room).
    ``step_ns``: compaction runs when at least this much raw trajectory is due (bounds the raw
    window to [first age, first age + step])."""

    tiers: tuple = ((10 * MIN_NS, 10 * MIN_NS), (HOUR_NS, HOUR_NS), (DAY_NS, DAY_NS))
    cell_m: float = 1.0
    step_ns: int = MIN_NS

    def __post_init__(self) -> None:
        tiers = self.tiers
        if not isinstance(tiers, (tuple, list)) or not tiers:
            raise InvalidInputError(f"trajectory_resolution.tiers must be a non-empty sequence of (age_ns, bucket_ns), "
                                    f"got {tiers!r}")
        clean = []
        for i, t in enumerate(tiers):
            if not isinstance(t, (tuple, list)) or len(t) != 2 or not all(_is_int(v) and v > 0 for v in t):
                raise InvalidInputError(f"trajectory_resolution.tiers[{i}] must be (age_ns, bucket_ns), positive "
                                        f"integers, got {t!r}")
            clean.append((int(t[0]), int(t[1])))
        for i in range(1, len(clean)):
            (a0, b0), (a1, b1) = clean[i - 1], clean[i]
            if b1 <= b0 or b1 % b0:
                raise InvalidInputError(f"trajectory_resolution.tiers[{i}] bucket {b1} must be a larger whole multiple "
                                        f"of the previous bucket {b0}")
            if a1 < a0 + b0:
                raise InvalidInputError(f"trajectory_resolution.tiers[{i}] age {a1} must be >= the previous age plus "
                                        f"its bucket ({a0 + b0})")
        object.__setattr__(self, "tiers", tuple(clean))
        if isinstance(self.cell_m, bool) or not isinstance(self.cell_m, (int, float)) or \
                not (math.isfinite(self.cell_m) and 0.01 <= self.cell_m <= 1000):
            raise InvalidInputError(f"trajectory_resolution.cell_m must be a number of metres in [0.01, 1000], "
                                    f"got {self.cell_m!r}")
        if not _is_int(self.step_ns) or not 0 < self.step_ns <= clean[0][1]:
            raise InvalidInputError(f"trajectory_resolution.step_ns must be an integer in (0, first bucket "
                                    f"{clean[0][1]}], got {self.step_ns!r}")

    @property
    def raw_horizon_ns(self) -> int:
        """Poses younger than this (relative to the newest record) are kept exactly."""
        return self.tiers[0][0]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def cell_of(x: float, y: float, z: float, cell_m: float) -> tuple:
    return (math.floor(x / cell_m), math.floor(y / cell_m), math.floor(z / cell_m))


def merge(a: Piece, b: Piece) -> Piece:
    """Merge two summaries of the same (bucket, room, cell): first = min, last = max, dwell and n
    add up, position = dwell-weighted mean (count-weighted when neither has dwell)."""
    d = a[2] + b[2]
    wa, wb = (a[2], b[2]) if d > 0 else (a[6], b[6])
    w = wa + wb
    if w <= 0:
        wa = wb = w = 1
    pos = [(a[3 + k] * wa + b[3 + k] * wb) / w for k in range(3)]
    return (min(a[0], b[0]), max(a[1], b[1]), d, *pos, a[6] + b[6])


def summarise(rows: list, nxt: Optional[tuple], cutoff: int, bucket_ns: int, cell_m: float,
              open_session: Optional[int]) -> tuple[dict, Optional[tuple]]:
    """Turn kept poses older than ``cutoff`` into pieces keyed by (bucket start, room, cell).

    ``rows``: ``(stamp, x, y, z, yaw, room, kind, session)`` sorted by time, all before ``cutoff``;
    ``nxt``: the first pose at or after ``cutoff`` (or None). The robot is within the waypoint
    spacing of a kept pose until the next one (the thinner keeps a pose once it moved that far), so
    the interval [pose, next pose) counts as dwell in the pose's cell, up to ``cutoff``. After an
    ``end`` pose, or a pose whose next one belongs to another session, there is no dwell; a pose with
    no successor in the still open session ``open_session`` lasts until ``cutoff``.
    Returns (pieces, carry): ``carry`` is the pose to keep at ``cutoff`` when the last interval runs
    past it (the position the kept track interpolates to there, or the stop position; room and
    stop/exit kind of the last pose), else None."""
    pieces: dict = {}

    def add(key, p):
        q = pieces.get(key)
        pieces[key] = p if q is None else merge(q, p)

    carry = None
    for i, r in enumerate(rows):
        s, x, y, z, yaw, room, kind, sess = r
        nx = rows[i + 1] if i + 1 < len(rows) else nxt
        if kind == "end":
            e = s
        elif nx is not None:
            e = min(nx[0], cutoff) if nx[7] == sess else s
        else:
            e = cutoff if sess == open_session else s
        key = (room, *cell_of(x, y, z, cell_m))
        b = (s // bucket_ns) * bucket_ns
        if e <= s:
            add((b, *key), (s, s, 0, x, y, z, 1))
        first = True
        while b < e and e > s:
            lo, hi = max(s, b), min(e, b + bucket_ns)
            add((b, *key), (lo, hi, hi - lo, x, y, z, 1 if first else 0))
            first = False
            b += bucket_ns
        if i == len(rows) - 1 and kind != "end" and e == cutoff and (nx is None or nx[0] > cutoff):
            cx, cy, cz = x, y, z
            if nx is not None and kind != "stop":
                # the pose the kept track interpolates to at the cutoff, so answers after it are unchanged
                w = (cutoff - s) / (nx[0] - s)
                cx, cy, cz = x + w * (nx[1] - x), y + w * (nx[2] - y), z + w * (nx[3] - z)
            carry = (cutoff, cx, cy, cz, yaw, room, kind if kind in ("stop", "exit") else "waypoint", sess)
    return pieces, carry


_COLS = "id, t0, t1, room_id, cx, cy, cz, first_ns, last_ns, dwell_ns, x, y, z, n"


class TrajectoryCompactor:
    """Trajectory compaction of :class:`~robomem.memory.longterm.LongTermMemory` (a mixin): runs
    inside a write transaction; the caller commits and then adopts the returned frontier."""

    trajectory_resolution: Optional[TrajectoryResolution]

    def _compaction_due(self, now_ns: Optional[int], frontier: Optional[int]) -> bool:
        res = self.trajectory_resolution
        if res is None or now_ns is None or frontier is None:
            return False
        return now_ns - res.raw_horizon_ns - frontier >= res.step_ns

    def _compact(self, c, now_ns: int, open_session: Optional[int]) -> int:
        """Summarise kept poses older than the raw horizon and coarsen old summaries (in the open
        transaction ``c``). Returns the new frontier (poses before it are summarised)."""
        res = self.trajectory_resolution
        cutoff = now_ns - res.raw_horizon_ns
        b0 = res.tiers[0][1]
        cols = "stamp_ns, x, y, z, yaw, room_id, kind, session_id"
        rows = c.execute(f"SELECT {cols} FROM trajectory WHERE stamp_ns < ? ORDER BY stamp_ns, id", (cutoff,)).fetchall()
        if rows:
            nxt = c.execute(f"SELECT {cols} FROM trajectory WHERE stamp_ns >= ? ORDER BY stamp_ns, id LIMIT 1",
                            (cutoff,)).fetchone()
            pieces, carry = summarise(rows, nxt, cutoff, b0, res.cell_m, open_session)
            for (t0, room, cx, cy, cz), p in pieces.items():
                self._upsert_summary(c, t0, t0 + b0, room, cx, cy, cz, p)
            c.execute("DELETE FROM trajectory WHERE stamp_ns < ?", (cutoff,))
            if carry is not None:
                c.execute("INSERT INTO trajectory(stamp_ns, x, y, z, yaw, room_id, kind, session_id) "
                          "VALUES (?,?,?,?,?,?,?,?)", carry)
        for k in range(1, len(res.tiers)):
            age, size = res.tiers[k]
            ck = ((now_ns - age) // size) * size
            old = c.execute(f"SELECT {_COLS} FROM trajectory_summary WHERE t1 - t0 < ? AND t1 <= ?",
                            (size, ck)).fetchall()
            if not old:
                continue
            groups: dict = {}
            for r in old:
                key = ((r[1] // size) * size, r[3], r[4], r[5], r[6])
                p = tuple(r[7:14])
                groups[key] = p if key not in groups else merge(groups[key], p)
            c.executemany("DELETE FROM trajectory_summary WHERE id = ?", [(r[0],) for r in old])
            for (t0, room, cx, cy, cz), p in groups.items():
                self._upsert_summary(c, t0, t0 + size, room, cx, cy, cz, p)
        c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('trajectory_frontier_ns', ?)", (str(cutoff),))
        return cutoff

    @staticmethod
    def _upsert_summary(c, t0: int, t1: int, room, cx: int, cy: int, cz: int, p: Piece) -> None:
        row = c.execute("SELECT id, first_ns, last_ns, dwell_ns, x, y, z, n FROM trajectory_summary "
                        "WHERE t0 = ? AND t1 = ? AND room_id IS ? AND cx = ? AND cy = ? AND cz = ?",
                        (t0, t1, room, cx, cy, cz)).fetchone()
        if row is None:
            c.execute("INSERT INTO trajectory_summary(t0, t1, room_id, cx, cy, cz, first_ns, last_ns, dwell_ns, "
                      "x, y, z, n) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", (t0, t1, room, cx, cy, cz, *p))
        else:
            m = merge(tuple(row[1:]), p)
            c.execute("UPDATE trajectory_summary SET first_ns = ?, last_ns = ?, dwell_ns = ?, x = ?, y = ?, z = ?, "
                      "n = ? WHERE id = ?", (*m, row[0]))
