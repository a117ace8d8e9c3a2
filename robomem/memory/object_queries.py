"""Object queries on the long-term store: where things are, were, and what happened to them."""
from __future__ import annotations

import json
from typing import Iterable, Optional, Sequence

import numpy as np

from robomem.memory.errors import InvalidObservationError
from robomem.memory.records import (
    ObjectRecord,
    Placement,
    StoredEvent,
    query_id,
    query_kinds,
    query_stamp,
    query_text,
    sql_where,
    stamp_range_terms,
)
from robomem.observations import EventKind

_P_COLS = ("p.id, p.object_id, o.label, p.t_start, p.t_end, p.x, p.y, p.z, p.room_id, p.receptacle_id, "
           "p.n_obs, p.conf_sum, p.closed, p.session_id, o.current_placement")


class ObjectQueries:
    """Object query methods of :class:`~robomem.memory.longterm.LongTermMemory` (a mixin: it uses
    the store's read helpers)."""

    def _placements(self, sql_tail: str, params: Sequence) -> list[Placement]:
        rows = self._read(f"SELECT {_P_COLS} FROM placements p JOIN objects o ON o.id = p.object_id " + sql_tail, params)
        return _placement_list(rows)

    def object(self, object_id: int) -> Optional[ObjectRecord]:
        rows = self._read("SELECT id, label, attributes, first_seen_ns, current_placement FROM objects WHERE id = ?",
                          (query_id(object_id, "object_id"),))
        if not rows:
            return None
        r = rows[0]
        return ObjectRecord(r[0], r[1], json.loads(r[2]), r[3], r[4])

    def objects(self, label: Optional[str] = None) -> list[ObjectRecord]:
        sql = "SELECT id, label, attributes, first_seen_ns, current_placement FROM objects"
        if label is not None:
            label = query_text(label, "objects: label")
        rows = self._read(sql + (" WHERE label = ? ORDER BY id" if label is not None else " ORDER BY id"),
                          (label,) if label is not None else ())
        return [ObjectRecord(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]

    def current_placement(self, object_id: int) -> Optional[Placement]:
        """The object's last known placement (None for an unknown object)."""
        rows = self._read(f"SELECT {_P_COLS} FROM objects o JOIN placements p ON p.id = o.current_placement "
                          "WHERE o.id = ?", (query_id(object_id, "object_id"),))
        return _placement(rows[0]) if rows else None

    def current_placements_without_room(self) -> tuple[np.ndarray, np.ndarray]:
        """Ids (N,) and mean positions (N, 3) of the objects' current placements whose room is
        unknown (used to give them a room once rooms are known)."""
        rows = self._read("SELECT p.id, p.x, p.y, p.z FROM objects o JOIN placements p ON p.id = o.current_placement "
                          "WHERE p.room_id IS NULL ORDER BY p.id")
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 3))
        a = np.array(rows, dtype=np.float64)
        return a[:, 0].astype(np.int64), a[:, 1:4]

    def where_is(self, label: str) -> list[Placement]:
        """Last known placement of every object with ``label``, most recently seen first."""
        rows = self._read(f"SELECT {_P_COLS} FROM objects o JOIN placements p ON p.id = o.current_placement "
                          "WHERE o.label = ? ORDER BY p.t_end DESC", (query_text(label, "where_is: label"),))
        return _placement_list(rows)

    def last_seen(self, object_id: int) -> Optional[int]:
        p = self.current_placement(object_id)
        return None if p is None else p.t_end_ns

    def history(self, object_id: int) -> list[Placement]:
        """All stored placements of an object, oldest first."""
        return self._placements("WHERE p.object_id = ? ORDER BY p.t_start", (query_id(object_id, "object_id"),))

    def placement_at(self, object_id: int, stamp_ns: int) -> Optional[Placement]:
        """Where the object was last known to be at ``stamp_ns``: the latest placement that began at or
        before it (check ``t_end_ns``/``current`` for whether it was observed up to then)."""
        return next(iter(self._placements("WHERE p.object_id = ? AND p.t_start <= ? ORDER BY p.t_start DESC LIMIT 1",
                                          (query_id(object_id, "placement_at: object_id"),
                                           query_stamp(stamp_ns, "placement_at: stamp_ns")))), None)

    def placements_at(self, stamp_ns: int) -> list[Placement]:
        """The world as last known at ``stamp_ns``: for every object seen by then, its latest
        placement begun at or before ``stamp_ns`` (an object is believed to stay where it was last
        seen until it is seen elsewhere). Scans the (object, time) index: O(placements)."""
        return self._placements("JOIN (SELECT object_id AS oid, max(t_start) AS ts FROM placements "
                                "WHERE t_start <= ? GROUP BY object_id) last ON last.oid = p.object_id "
                                "AND last.ts = p.t_start ORDER BY p.object_id",
                                (query_stamp(stamp_ns, "placements_at: stamp_ns"),))

    def objects_in_box(self, lo, hi, t0_ns: int, t1_ns: int, label: Optional[str] = None) -> list[Placement]:
        """Placements whose position lies in the axis-aligned box [lo, hi] (None = everywhere) and whose
        interval overlaps [t0_ns, t1_ns] (current placements extend to the present). Uses the R*Tree."""
        t0_ns, t1_ns = query_stamp(t0_ns, "objects_in_box: t0_ns"), query_stamp(t1_ns, "objects_in_box: t1_ns")
        if label is not None:
            label = query_text(label, "objects_in_box: label")
        if t1_ns < t0_ns:
            raise InvalidObservationError(f"time range is reversed: {t0_ns} > {t1_ns}")
        if not self._load_origin():
            return []
        where = ["r.t0 <= ?", "r.t1 >= ?", "p.t_start <= ?", "(p.closed = 0 OR p.t_end >= ?)"]
        params: list = [self._t(t1_ns), self._t(t0_ns), t1_ns, t0_ns]
        if lo is not None or hi is not None:
            from robomem.memory.records import check_vec3
            lo3 = check_vec3(lo, "box lo")
            hi3 = check_vec3(hi, "box hi")
            for k, ax in enumerate("xyz"):
                where += [f"r.{ax}1 >= ?", f"r.{ax}0 <= ?", f"p.{ax} BETWEEN ? AND ?"]
                params += [lo3[k], hi3[k], lo3[k], hi3[k]]
        if label is not None:
            where.append("o.label = ?")
            params.append(label)
        rows = self._read(f"SELECT {_P_COLS} FROM placement_rtree r JOIN placements p ON p.id = r.id "
                          f"JOIN objects o ON o.id = p.object_id WHERE " + " AND ".join(where) +
                          " ORDER BY p.object_id, p.t_start", params)
        return _placement_list(rows)

    def events(self, object_id: Optional[int] = None, t0_ns: Optional[int] = None, t1_ns: Optional[int] = None,
               kinds: Optional[Iterable] = None) -> list[StoredEvent]:
        """Stored events (appeared / moved / disappeared), oldest first."""
        where, params = sql_where(
            None if object_id is None else ("object_id = ?", [query_id(object_id, "events: object_id")]),
            *stamp_range_terms("stamp_ns", t0_ns, t1_ns, "events: t0_ns", "events: t1_ns"),
            None if kinds is None else _in_term("kind", query_kinds(kinds, "events: kinds")))
        sql = ("SELECT id, kind, object_id, stamp_ns, x, y, z, px, py, pz, room_id, receptacle_id, "
               "prev_receptacle_id, session_id FROM events") + where
        out = []
        for r in self._read(sql + " ORDER BY stamp_ns, id", params):
            out.append(StoredEvent(r[0], EventKind(r[1]), r[2], r[3], np.array(r[4:7], dtype=np.float64),
                                   None if r[7] is None else np.array(r[7:10], dtype=np.float64), r[10], r[11], r[12],
                                   r[13]))
        return out


def _in_term(column: str, values: list) -> tuple:
    return f"{column} IN ({','.join('?' * len(values))})", values


def _placement_list(rows: list) -> list[Placement]:
    if not rows:
        return []
    # one (n, 3) array for all positions: per-row np.array calls dominated large range queries
    pos = np.array([r[5:8] for r in rows], dtype=np.float64)
    pos.setflags(write=False)
    return [Placement(r[0], r[1], r[2], r[3], r[4], pos[i], r[8], r[9], r[10], r[11] / r[10] if r[10] else 0.0,
                      r[14] == r[0] and not r[12], r[13]) for i, r in enumerate(rows)]


def _placement(r) -> Placement:
    n = r[10]
    return Placement(r[0], r[1], r[2], r[3], r[4], np.array((r[5], r[6], r[7])), r[8], r[9], n,
                     r[11] / n if n else 0.0, bool(r[14] == r[0] and not r[12]), r[13])


