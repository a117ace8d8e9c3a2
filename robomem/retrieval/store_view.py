"""Read-only access to one open store for the query engine: the store clock, its labels and
rooms, and the few set-at-a-time reads the engine needs that the store's public methods do not
offer (latest placement of many objects at a time, misses, changes in a window).

Every statement here is a SELECT on ``stack.long_term.connection``; nothing writes. Derived data
(labels, rooms, the belief model's rates) is cached per store and dropped when SQLite's
``data_version`` or this connection's change count moves (another process ingested)."""
from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import weakref
from typing import Iterable, Optional

import numpy as np

from robomem.memory.records import Placement
from robomem.memory.state_index import state_in_box
from robomem.retrieval.belief import BeliefModel
from robomem.retrieval.text import label_key

_COLS = ("p.id, p.object_id, o.label, p.t_start, p.t_end, p.x, p.y, p.z, p.room_id, p.receptacle_id, p.n_obs, "
         "p.conf_sum, (o.current_placement = p.id AND p.closed = 0), p.session_id")

ROOM_SYNONYMS = {"lounge": "living_room", "sitting_room": "living_room", "family_room": "living_room",
                 "study": "office", "home_office": "office", "hall": "hallway", "corridor": "hallway",
                 "entryway": "entrance", "foyer": "entrance", "entry": "entrance", "laundry_room": "laundry",
                 "utility_room": "laundry", "restroom": "bathroom", "toilet_room": "bathroom", "washroom": "bathroom",
                 "bed_room": "bedroom", "dining_area": "dining_room"}


def room_key(s: str) -> str:
    k = label_key(s).replace(" ", "_")
    if k.startswith("the_"):
        k = k[4:]
    return ROOM_SYNONYMS.get(k, k)


_PL_FIELDS = tuple(f.name for f in dataclasses.fields(Placement))
#: SQL: an object's (``o``) newest *disappeared* event at or before a bound time (one parameter)
_LAST_MISSED = ("(SELECT max(e.stamp_ns) FROM events e WHERE e.object_id = o.id AND e.kind = 'disappeared' "
                "AND e.stamp_ns <= ?)")


def _placement(r, pos=None) -> Placement:
    # a frozen dataclass built field by field costs more than reading its row: fill its __dict__
    n = int(r[10])
    p = object.__new__(Placement)
    p.__dict__.update(zip(_PL_FIELDS, (r[0], r[1], r[2], r[3], r[4],
                                       np.array(r[5:8], dtype=np.float64) if pos is None else pos,
                                       r[8], r[9], n, float(r[11]) / max(n, 1), bool(r[12]), r[13])))
    return p


def _placements(rows) -> list[Placement]:
    """Rows -> Placements with one (n, 3) array for all positions (per-row arrays dominate)."""
    if not rows:
        return []
    xyz = np.array([r[5:8] for r in rows], dtype=np.float64)
    return [_placement(r, xyz[i]) for i, r in enumerate(rows)]


class StoreView:
    """Cached, read-only view of one :class:`~robomem.stack.MemoryStack` for the engine."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.lt = stack.long_term
        self.belief = BeliefModel(self.lt, clock=self.now_ns)
        self._key = None
        self._lock = threading.Lock()
        self._cache: dict = {}
        self._mark: Optional[tuple] = None
        self._slow_at = time.monotonic()

    # ------------------------------------------------------------------ caching
    #: A full rebuild of the derived data (the belief's pooled prior, labels, room boxes, the rooms
    #: of the newest snapshot) happens at most this often (wall-clock seconds) while another
    #: process keeps writing. In between, a change is folded in incrementally from the rows added
    #: since the last look (placement and event ids only grow): new labels, grown room boxes, the
    #: moves and stays of the objects those rows touch. What only a rebuild picks up: relabelled
    #: objects, placements deleted by forgetting, and the longer stays of objects that were only
    #: re-seen in place (their exposure, in the pooled prior only; per-label rates are exact).
    SLOW_REFRESH_S = 300.0

    def _marks(self) -> tuple:
        """(newest placement id, newest event id, newest snapshot id): O(log n) each."""
        return tuple(self.read(
            "SELECT (SELECT coalesce(max(id), 0) FROM placements), (SELECT coalesce(max(id), 0) FROM events), "
            "(SELECT coalesce(max(id), 0) FROM snapshots)")[0])

    def refresh(self) -> None:
        c = self.lt.connection
        key = (c.execute("PRAGMA data_version").fetchone()[0], c.total_changes)
        with self._lock:
            if key == self._key:
                return
            self._key = key
            marks = self._marks()
            now = time.monotonic()
            old, prev = self._cache, self._mark
            self._mark = marks
            if (prev is None or now - self._slow_at >= self.SLOW_REFRESH_S
                    or any(m < p for m, p in zip(marks, prev))):         # rows deleted: rebuild
                self._cache = {}
                self.belief.reset()
                self._slow_at = now
                return
            self._cache = {k: old[k] for k in ("rooms",) if k in old and marks[2] == prev[2]}
            touched = set()
            if marks[0] > prev[0] or marks[1] > prev[1]:
                touched = {r[0] for r in self.read(
                    "SELECT object_id FROM placements WHERE id > ? UNION SELECT object_id FROM events WHERE id > ?",
                    (prev[0], prev[1]))}
            if "labels" in old:
                labels = old["labels"]
                if touched:
                    labels = dict(labels)
                    for chunk in _chunks(sorted(touched)):
                        for lab, in self.read(f"SELECT DISTINCT label FROM objects WHERE id IN "
                                              f"({','.join('?' * len(chunk))})", chunk):
                            labels.setdefault(_label_key(lab), lab)
                self._cache["labels"] = labels
            if "room_boxes" in old:
                boxes = dict(old["room_boxes"])
                if marks[0] > prev[0]:
                    for rid, *b in self.read(
                            "SELECT room_id, min(x), min(y), min(z), max(x), max(y), max(z) FROM placements "
                            "WHERE id > ? AND room_id IS NOT NULL GROUP BY room_id", (prev[0],)):
                        lo, hi = np.array(b[:3]), np.array(b[3:])
                        if rid in boxes:
                            lo, hi = np.minimum(lo, boxes[rid][0]), np.maximum(hi, boxes[rid][1])
                        boxes[rid] = (lo, hi)
                self._cache["room_boxes"] = boxes
            if old.get("has_rooms") == [True]:
                self._cache["has_rooms"] = [True]
            self.belief.changed(touched)

    def _cached(self, name: str, fn):
        v = self._cache.get(name)
        if v is None:
            v = self._cache[name] = fn()
        return v

    def read(self, sql: str, params: Iterable = ()) -> list:
        return self.lt.read(sql, tuple(params))

    # ------------------------------------------------------------------ clock, labels, rooms
    def now_ns(self) -> Optional[int]:
        """The store's own clock: its newest record (short-term memory included)."""
        def compute():
            t = self.lt.latest_stamp_ns
            return -1 if t is None else int(t)
        t = self._cached("now", compute)
        stm = [o.stamp_ns for o in self.stack.short_term.items()[-1:]] if len(self.stack.short_term) else []
        best = max([t] + stm)
        return None if best < 0 else best

    def labels(self) -> dict:
        """label_key -> stored label (long- and short-term)."""
        out = self._cached("labels", lambda: {_label_key(r[0]): r[0] for r in
                                              self.read("SELECT DISTINCT label FROM objects")})
        if len(self.stack.short_term):
            extra = {}
            for item in self.stack.short_term.items():
                lab = getattr(item, "label", None)
                if lab and _label_key(lab) not in out:
                    extra.setdefault(_label_key(lab), lab)
            if extra:
                out = {**out, **extra}
        return out

    def rooms(self) -> dict:
        """room id -> room type (from the newest scene-graph snapshot that has rooms)."""
        def compute():
            for sid, in self.read("SELECT DISTINCT session_id FROM snapshots ORDER BY session_id DESC LIMIT 20"):
                d = self.lt.snapshot_dict(sid)
                nodes = (d or {}).get("nodes") or []
                rooms = {int(n["attrs"]["id"]): str(n["attrs"].get("room_type") or "unknown")
                         for n in nodes if n.get("attrs", {}).get("layer") == "room"}
                if rooms:
                    return rooms
            return {}
        return self._cached("rooms", compute)

    def room_name(self, room_id: Optional[int]) -> Optional[str]:
        if room_id is None:
            return None
        names = self._cache.get("room_names")
        if names is None:      # room id -> name as said, with the rooms (dropped with them)
            names = self._cache["room_names"] = {k: v.replace("_", " ") for k, v in self.rooms().items()}
        return names.get(int(room_id))

    def resolve_room(self, room) -> list[int]:
        """Room ids meaning ``room`` (an id, or a room type / synonym). Empty when unknown."""
        if isinstance(room, int):
            return [room] if room in self.rooms() or self.has_room_data() else []
        m = re.match(r"^(?P<room>.+?) with (?:the |a |an )?(?P<thing>.+)$", room)
        k = room_key(m.group("room") if m else room)
        ids = sorted(i for i, t in self.rooms().items() if room_key(t) == k)
        if m and len(ids) > 1:
            from robomem.retrieval.labels import resolve
            labs, _ = resolve(m.group("thing"), self.labels())
            having = {r[0] for lab in labs for r in self.read(
                "SELECT DISTINCT p.room_id FROM objects o JOIN placements p ON p.id = o.current_placement "
                "WHERE o.label = ?", (lab,))}
            ids = [i for i in ids if i in having]
        return ids

    def has_room_data(self) -> bool:
        return self._cached("has_rooms", lambda: [bool(self.read(
            "SELECT 1 FROM placements WHERE room_id IS NOT NULL LIMIT 1"))])[0]

    def room_box(self, room_ids: list[int]) -> Optional[tuple[np.ndarray, np.ndarray]]:
        """Axis-aligned box around everything ever placed in these rooms (cached per store
        version: one scan of the placements the first time), for R*Tree-bounded room queries."""
        boxes = self._cached("room_boxes", lambda: {r[0]: (np.array(r[1:4]), np.array(r[4:7])) for r in self.read(
            "SELECT room_id, min(x), min(y), min(z), max(x), max(y), max(z) FROM placements "
            "WHERE room_id IS NOT NULL GROUP BY room_id")})
        got = [boxes[r] for r in room_ids if r in boxes]
        if not got:
            return None
        return np.min([g[0] for g in got], axis=0) - 0.01, np.max([g[1] for g in got], axis=0) + 0.01

    def state_in(self, box, t_ns: int, since_ns: Optional[int] = None, room_ids=None,
                 label: Optional[str] = None) -> list[Placement]:
        """The placement each object was at at ``t_ns`` (its latest begun by then), for the objects
        whose place then lies in ``box`` (lo, hi) — one look-up in the state R*Tree (schema v4).
        ``since_ns``: only placements still open or last seen at or after it; ``room_ids``: only
        these rooms; ``label``: only this label."""
        return _placements(self._state_rows(box, t_ns, None, since_ns, room_ids, label))

    def states_in(self, box, t0_ns: int, t1_ns: int, since_ns: Optional[int] = None,
                  room_ids=None) -> tuple[dict, dict]:
        """:meth:`state_in` at ``t0_ns`` and at ``t1_ns`` from one R*Tree look-up: (object id ->
        placement at t0, object id -> placement at t1)."""
        rows = self._state_rows(box, t0_ns, t1_ns, since_ns, room_ids, None)
        at0, at1 = {}, {}
        for p, r in zip(_placements(rows), rows):
            nxt = r[14]
            if p.t_start_ns <= t0_ns and (nxt is None or nxt > t0_ns):
                at0[p.object_id] = p
            if nxt is None or nxt > t1_ns:
                at1[p.object_id] = p
        return at0, at1

    def _state_rows(self, box, t_ns, t1_ns, since_ns, room_ids, label) -> list:
        lo, hi = (np.asarray(v, dtype=np.float64) for v in box)
        where, params = [], []
        if since_ns is not None:
            where.append("p.closed = 0 OR p.t_end >= ?")
            params.append(int(since_ns))
        if room_ids is not None:
            rooms = [int(r) for r in room_ids]
            where.append(f"p.room_id IN ({','.join('?' * len(rooms))})")
            params += rooms
        if label is not None:
            where.append("o.label = ?")
            params.append(label)
        return state_in_box(self.lt, lo, hi, t_ns, _COLS + ", p.t_next", " AND ".join(f"({w})" for w in where), params,
                            t1_ns)

    def sessions(self) -> list[dict]:
        return self._cached("sessions", self.lt.sessions)

    # ------------------------------------------------------------------ objects
    def objects_info(self, ids: list[int], attributes: bool = True) -> dict:
        """object id -> (label, attributes dict ({} unless ``attributes``), first_seen_ns)."""
        out = {}
        col = "attributes" if attributes else "'{}'"
        for chunk in _chunks(ids):
            q = ",".join("?" * len(chunk))
            for oid, label, attrs, first in self.read(
                    f"SELECT id, label, {col}, first_seen_ns FROM objects WHERE id IN ({q})", chunk):
                out[oid] = (label, json.loads(attrs) if attributes else {}, first)
        return out

    def objects_seen(self, ids: list[int], missed_before_ns: int) -> dict:
        """object id -> (label, first_seen_ns, last_seen_ns, last_missed_ns) in one query: the last
        sighting is the end of the object's current (latest) placement; the last miss its newest
        *disappeared* event at or before ``missed_before_ns`` (None if none)."""
        out = {}
        for chunk in _chunks(ids):
            q = ",".join("?" * len(chunk))
            for oid, label, first, seen, missed in self.read(
                    f"SELECT o.id, o.label, o.first_seen_ns, p.t_end, {_LAST_MISSED} FROM objects o "
                    f"LEFT JOIN placements p ON p.id = o.current_placement WHERE o.id IN ({q})",
                    (int(missed_before_ns), *chunk)):
                out[oid] = (label, first, seen, missed)
        return out

    def object_ids(self, label: str) -> list[int]:
        return [r[0] for r in self.read("SELECT id FROM objects WHERE label = ?", (label,))]

    def current(self, label: str, seen: Optional[dict] = None, missed_before_ns: int = 2**62) -> list[Placement]:
        """Current (last known) placement of every object with ``label``. ``seen``: a dict that
        receives :meth:`objects_seen`'s entries for them from the same query (misses at or before
        ``missed_before_ns``)."""
        if seen is None:
            return _placements(self.read(
                f"SELECT {_COLS} FROM objects o JOIN placements p ON p.id = o.current_placement WHERE o.label = ?",
                (label,)))
        rows = self.read(f"SELECT {_COLS}, o.first_seen_ns, {_LAST_MISSED} FROM objects o JOIN placements p ON "
                         "p.id = o.current_placement WHERE o.label = ?", (int(missed_before_ns), label))
        for r in rows:
            seen[r[1]] = (r[2], r[14], r[4], r[15])
        return _placements(rows)

    def at(self, label: Optional[str], t_ns: int, ids: Optional[list[int]] = None) -> list[Placement]:
        """Latest placement begun at or before ``t_ns`` of each object with ``label`` (or ``ids``)."""
        sub = ("p.id = (SELECT q.id FROM placements q WHERE q.object_id = o.id AND q.t_start <= ? "
               "ORDER BY q.t_start DESC LIMIT 1)")
        if ids is None:
            return [_placement(r) for r in self.read(
                f"SELECT {_COLS} FROM objects o JOIN placements p ON {sub} WHERE o.label = ?", (t_ns, label))]
        out = []
        for chunk in _chunks(ids):
            q = ",".join("?" * len(chunk))
            out += [_placement(r) for r in self.read(
                f"SELECT {_COLS} FROM objects o JOIN placements p ON {sub} WHERE o.id IN ({q})", (t_ns, *chunk))]
        return out

    def last_missed(self, ids: list[int], before_ns: Optional[int] = None) -> dict:
        """object id -> newest stored *disappeared* event (its place in view, it absent)."""
        out = {}
        for chunk in _chunks(ids):
            q = ",".join("?" * len(chunk))
            sql = f"SELECT object_id, max(stamp_ns) FROM events WHERE kind = 'disappeared' AND object_id IN ({q})"
            params = list(chunk)
            if before_ns is not None:
                sql += " AND stamp_ns <= ?"
                params.append(before_ns)
            for oid, t in self.read(sql + " GROUP BY object_id", params):
                out[oid] = t
        return out

    def last_seen(self, ids: list[int]) -> dict:
        """object id -> newest sighting stamp (long-term)."""
        out = {}
        for chunk in _chunks(ids):
            q = ",".join("?" * len(chunk))
            for oid, t in self.read(f"SELECT object_id, max(t_end) FROM placements WHERE object_id IN ({q}) "
                                    "GROUP BY object_id", chunk):
                out[oid] = t
        return out

    def changed_ids(self, t0_ns: int, t1_ns: int) -> set:
        """Objects with a placement begun in (t0, t1] or a stored event in [t0, t1]."""
        ids = {r[0] for r in self.read("SELECT DISTINCT object_id FROM events WHERE stamp_ns BETWEEN ? AND ?",
                                       (t0_ns, t1_ns))}
        lo, hi = self.lt.rtree_time(t0_ns), self.lt.rtree_time(t1_ns)
        if lo is not None:
            ids |= {r[0] for r in self.read(
                "SELECT p.object_id FROM placement_rtree r JOIN placements p ON p.id = r.id "
                "WHERE r.t0 >= ? AND r.t0 <= ? AND p.t_start > ? AND p.t_start <= ?", (lo - 1, hi + 1, t0_ns, t1_ns))}
        return ids

    def seen_in(self, t0_ns: int, t1_ns: int, box=None, room_ids=None) -> list[Placement]:
        """Placements with a sighting inside [t0, t1] (first..last sighting overlaps it), optionally
        only inside ``box`` (lo, hi) and in the rooms ``room_ids``."""
        lo, hi = self.lt.rtree_time(t0_ns), self.lt.rtree_time(t1_ns)
        if lo is None:
            return []
        where, params = "", [hi + 1, lo - 1, t1_ns, t0_ns]
        if box is not None:
            where = " AND r.x1 >= ? AND r.x0 <= ? AND r.y1 >= ? AND r.y0 <= ? AND r.z1 >= ? AND r.z0 <= ?"
            for k in range(3):
                params += [float(box[0][k]), float(box[1][k])]
        if room_ids is not None:
            rooms = [int(r) for r in room_ids]
            where += f" AND p.room_id IN ({','.join('?' * len(rooms))})"
            params += rooms
        return _placements(self.read(
            f"SELECT {_COLS} FROM placement_rtree r JOIN placements p ON p.id = r.id JOIN objects o ON o.id = p.object_id "
            "WHERE r.t0 <= ? AND r.t1 >= ? AND p.t_start <= ? AND p.t_end >= ?" + where + " ORDER BY p.t_end DESC",
            params))

    def near(self, center, radius_m: float, t_ns: int, label: Optional[str]) -> list[Placement]:
        """Objects whose placement at ``t_ns`` lies within ``radius_m`` of ``center`` (R*Tree)."""
        c = np.asarray(center, dtype=np.float64)
        # placements seen up to t (or still open), as objects_in_box(t, t) selects them
        ps = self.state_in((c - radius_m, c + radius_m), t_ns, since_ns=t_ns, label=label)
        return [p for p in ps if float(np.linalg.norm(p.position - c)) <= radius_m]


_KEYS: dict = {}


def _label_key(label: str) -> str:
    """label_key, memoised (a store's label set is rebuilt from thousands of labels)."""
    k = _KEYS.get(label)
    if k is None:
        if len(_KEYS) > 100_000:
            _KEYS.clear()
        k = _KEYS[label] = label_key(label)
    return k


def _chunks(ids, n: int = 500):
    ids = [int(i) for i in ids]
    for k in range(0, len(ids), n):
        yield ids[k:k + n]


_VIEWS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_VIEWS_LOCK = threading.Lock()


def view_of(stack) -> StoreView:
    """The (cached) view of ``stack``, refreshed when the store changed."""
    with _VIEWS_LOCK:
        v = _VIEWS.get(stack)
        if v is None or v.lt is not stack.long_term:
            v = _VIEWS[stack] = StoreView(stack)
    v.refresh()
    return v
