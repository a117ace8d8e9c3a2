"""`LongTermMemory`: the durable SQLite store of the world over days.

One writer, any number of readers (other connections or processes opened with ``readonly=True``).
Every write method runs in one ``BEGIN IMMEDIATE ... COMMIT`` transaction; when it returns, the
data is on disk (WAL + ``synchronous=FULL``) and survives a process kill. A failing write (bad
input, disk full) changes nothing."""
from __future__ import annotations

import json
import math
import os
import sqlite3
from contextlib import contextmanager
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

from robomem.memory import consolidation as _cons
from robomem.memory.errors import (
    InvalidObservationError,
    OutOfOrderError,
    ReadOnlyStoreError,
    StoreError,
    UnknownObjectError,
)
from robomem.memory.fold import Seg, plan_batch
from robomem.memory.forgetting import Forgetting
from robomem.memory.keyframe_store import KeyframeStore
from robomem.memory.locking import acquire_writer_lock, map_error
from robomem.memory.object_queries import ObjectQueries
from robomem.memory.records import (
    EventRow,
    IngestReport,
    ObservationColumns,
    check_id,
    check_stamp,
    columns_from_arrays,
    dumps,
    observations_to_columns,
    opt,
    validate_events,
)
from robomem.memory.robot_queries import RobotQueries
from robomem.memory.schema import OPEN_T, connect
from robomem.memory.sessions import SessionStore
from robomem.memory import state_index as _chain
from robomem.memory.trajectory import KINDS as TRAJ_KINDS
from robomem.memory.trajectory import TrajectoryPoint
from robomem.memory.trajectory_summary import TrajectoryCompactor, TrajectoryResolution
from robomem.observations import EventKind, ObjectEvent, ObjectObservation

_DAY_NS = 86400 * 10**9
_STORED_EVENT_KINDS = (EventKind.APPEARED, EventKind.MOVED, EventKind.DISAPPEARED)


#: keyword settings LongTermMemory accepts (MemoryStack passes its unknown keywords through)
SETTINGS = ("move_tolerance_m", "reorder_tolerance_ns", "max_forward_jump_ns", "keyframe_budget_bytes", "max_bytes",
            "synchronous", "busy_timeout_s", "cache_mb", "verify", "trajectory_resolution")


def check_store_settings(synchronous, busy_timeout_s, cache_mb, max_bytes) -> None:
    """Raise :class:`~robomem.errors.InvalidInputError` naming the first bad file setting."""
    from robomem.errors import InvalidInputError
    if synchronous not in ("FULL", "NORMAL", "EXTRA"):
        raise InvalidInputError(f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}")
    if isinstance(busy_timeout_s, bool) or not isinstance(busy_timeout_s, (int, float)) or \
            not (math.isfinite(busy_timeout_s) and 0 <= busy_timeout_s <= 86400):
        raise InvalidInputError(f"busy_timeout_s must be a number of seconds in [0, 86400], got {busy_timeout_s!r}")
    if isinstance(cache_mb, bool) or not isinstance(cache_mb, (int, np.integer)) or not 1 <= cache_mb <= 2**20:
        raise InvalidInputError(f"cache_mb must be an integer in [1, 2**20], got {cache_mb!r}")
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer))
                                  or max_bytes < 65536):
        raise InvalidInputError(f"max_bytes must be None or an integer >= 65536, got {max_bytes!r}")


class LongTermMemory(KeyframeStore, RobotQueries, ObjectQueries, SessionStore, TrajectoryCompactor, Forgetting):
    """The long-term store.

    Parameters: ``path`` of the SQLite file (created if absent, unless ``readonly``);
    ``move_tolerance_m``: an observation within this distance of the open placement's anchor (its
    first sighting) and in the same room/receptacle extends that placement; ``reorder_tolerance_ns``:
    how far behind the newest stored stamp a new record may be; ``max_forward_jump_ns``: how far
    ahead of the newest record before it (stored, earlier in the batch, or the open session's start) a
    record may be (default one day; :meth:`begin_session` may start a session any time later, which is how
    a caller says "time jumped"); ``keyframe_budget_bytes``: total size of stored keyframe images; ``max_bytes``: hard size
    cap of the file (SQLite ``max_page_count``), writes beyond it fail with :class:`StoreFullError`;
    ``synchronous``: "FULL" (default, survives power loss) or "NORMAL" (survives process kill);
    ``cache_mb``: SQLite page cache per connection (default 64 MiB); ``verify``: run SQLite's
    ``quick_check`` on open and refuse a damaged file (O(file size), off by default);
    ``trajectory_resolution``: how the robot's trajectory coarsens with age
    (:class:`~robomem.memory.trajectory_summary.TrajectoryResolution`; default: exact for 10 min, then
    per 10-min / 1-h / 1-day buckets per room and 1 m cell; None keeps every pose)."""

    def __init__(self, path: str | os.PathLike, readonly: bool = False, *, move_tolerance_m: float = 0.25,
                 reorder_tolerance_ns: int = 10 * 10**9, max_forward_jump_ns: int = _DAY_NS,
                 keyframe_budget_bytes: int = 20 * 2**20, max_bytes: Optional[int] = None,
                 synchronous: str = "FULL", busy_timeout_s: float = 10.0, cache_mb: int = 64,
                 verify: bool = False,
                 trajectory_resolution: Optional[TrajectoryResolution] = TrajectoryResolution()) -> None:
        from robomem.errors import InvalidInputError
        if not (isinstance(move_tolerance_m, (int, float)) and math.isfinite(move_tolerance_m) and move_tolerance_m > 0):
            raise InvalidInputError(f"move_tolerance_m must be a positive number, got {move_tolerance_m!r}")
        for name, v in (("reorder_tolerance_ns", reorder_tolerance_ns), ("max_forward_jump_ns", max_forward_jump_ns),
                        ("keyframe_budget_bytes", keyframe_budget_bytes)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise InvalidInputError(f"{name} must be a non-negative integer, got {v!r}")
        check_store_settings(synchronous, busy_timeout_s, cache_mb, max_bytes)
        if trajectory_resolution is not None and not isinstance(trajectory_resolution, TrajectoryResolution):
            raise InvalidInputError(f"trajectory_resolution must be a TrajectoryResolution or None, "
                                    f"got {type(trajectory_resolution).__name__}")
        if trajectory_resolution is not None and trajectory_resolution.raw_horizon_ns <= int(reorder_tolerance_ns):
            raise InvalidInputError(f"trajectory_resolution: the first age ({trajectory_resolution.raw_horizon_ns} ns) "
                                    f"must exceed reorder_tolerance_ns ({reorder_tolerance_ns})")
        self.trajectory_resolution = trajectory_resolution
        self.path = os.fspath(path)
        self.readonly = bool(readonly)
        self.move_tolerance_m = float(move_tolerance_m)
        self.reorder_tolerance_ns = int(reorder_tolerance_ns)
        self.max_forward_jump_ns = int(max_forward_jump_ns)
        self.keyframe_budget_bytes = int(keyframe_budget_bytes)
        #: retention half-life used when a new keyframe pushes the store over its budget
        self.keyframe_half_life_ns = _cons.ForgettingPolicy().keyframe_half_life_ns
        self._conn = connect(self.path, self.readonly, synchronous=synchronous, busy_timeout_s=busy_timeout_s,
                             max_bytes=max_bytes, cache_mb=cache_mb, verify=verify)
        self._writer_lock = None
        if not self.readonly and self.path != ":memory:":  # a scratch database has one connection only
            self._writer_lock = acquire_writer_lock(self.path, self._conn)
        self._origin: Optional[int] = None
        self.session_id: Optional[int] = None
        self._session_start: Optional[int] = None
        self._writer_state_loaded = False

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Checkpoint the WAL into the main file (writer) and close. Idempotent."""
        if self._conn is None:
            return
        try:
            if not self.readonly:
                try:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    pass  # readers holding snapshots: the WAL is checkpointed by a later writer
        finally:
            self._conn.close()
            self._conn = None
            if self._writer_lock is not None:
                self._writer_lock.close()  # releases the flock
                self._writer_lock = None

    def __enter__(self) -> "LongTermMemory":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._conn is None

    @property
    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("store is closed")
        return self._conn

    @property
    def latest_stamp_ns(self) -> Optional[int]:
        """Newest stamp stored (observations, events, trajectory); None for an empty store."""
        if self._writer_state_loaded:
            return self._latest
        kept = self._meta("latest_stamp_ns")      # written with every ingest (O(1) for readers)
        if kept is not None:
            return int(kept)
        row = self._read("SELECT max(s) FROM (SELECT max(t_end) AS s FROM placements UNION ALL "
                         "SELECT max(stamp_ns) FROM events UNION ALL SELECT max(stamp_ns) FROM trajectory)")
        return row[0][0]

    def check_integrity(self) -> str:
        """Run ``PRAGMA integrity_check``; returns "ok" or SQLite's report."""
        try:
            rows = self.connection.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as exc:
            return f"integrity_check could not run: {exc}"
        return "\n".join(r[0] for r in rows)

    # ------------------------------------------------------------------ internals
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise ReadOnlyStoreError(f"{self.path} is open read-only")
        c = self.connection
        try:
            c.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise map_error(self.path, exc) from None
        try:
            yield c
            c.execute("COMMIT")
        except sqlite3.Error as exc:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise map_error(self.path, exc) from None
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    def _read(self, sql: str, params: Sequence = ()) -> list:
        try:
            return self.connection.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise map_error(self.path, exc) from None

    def _meta(self, key: str) -> Optional[str]:
        row = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0][0] if row else None

    def _t(self, stamp_ns: int) -> float:
        """R*Tree time coordinate: seconds since the store's time origin (float32 in the index; the
        index rounds bounds outward, exact filtering uses the integer columns)."""
        return (stamp_ns - self._origin) * 1e-9

    def _load_origin(self) -> bool:
        if self._origin is None:
            v = self._meta("time_origin_ns")
            self._origin = None if v is None else int(v)
        return self._origin is not None

    # Public read face for other read-only layers (robomem.retrieval), so they need no private name.
    def read(self, sql: str, params: Sequence = ()) -> list:
        """Run one read-only SQL statement on the store; SQLite errors become robomem errors."""
        return self._read(sql, params)

    def rtree_time(self, stamp_ns: int) -> Optional[float]:
        """The R*Tree time coordinate of ``stamp_ns`` (seconds since the store's time origin), or
        None while the store holds no record (no origin yet)."""
        return self._t(int(stamp_ns)) if self._load_origin() else None

    def _load_writer_state(self) -> None:
        if self._writer_state_loaded:
            return
        try:
            self._load_writer_state_unchecked()
        except sqlite3.Error as exc:
            raise map_error(self.path, exc) from None

    def _load_writer_state_unchecked(self) -> None:
        c = self.connection
        self._load_origin()
        self._labels: dict[int, str] = {}
        self._attrs: dict[int, str] = {}
        for oid, label, attrs in c.execute("SELECT id, label, attributes FROM objects"):
            self._labels[oid] = label
            self._attrs[oid] = attrs
        # Open placement of each object; the anchor (first sighting) is the centre of its R*Tree box.
        self._open: dict[int, Seg] = {}
        for r in c.execute(
                "SELECT p.object_id, p.id, (r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2, (r.z0 + r.z1) / 2, "
                "p.room_id, p.receptacle_id, p.t_start, p.t_end, p.n_obs, p.x, p.y, p.z, p.conf_sum "
                "FROM objects o JOIN placements p ON p.id = o.current_placement "
                "JOIN placement_rtree r ON r.id = p.id WHERE p.closed = 0"):
            n = r[9]
            self._open[r[0]] = Seg(r[1], r[0], r[2], r[3], r[4], -1 if r[5] is None else r[5],
                                    -1 if r[6] is None else r[6], r[7], r[8], n, r[10] * n, r[11] * n, r[12] * n, r[13])
        row = c.execute("SELECT max(s) FROM (SELECT max(t_end) AS s FROM placements UNION ALL "
                        "SELECT max(stamp_ns) FROM events UNION ALL SELECT max(stamp_ns) FROM trajectory)").fetchone()
        self._latest: Optional[int] = row[0]
        self._chain_last = _chain.load_latest(c)   # object -> (id, t_start) of its latest placement
        # Trajectory compaction frontier: poses before it are summarised (or the oldest kept pose).
        fr = c.execute("SELECT value FROM meta WHERE key = 'trajectory_frontier_ns'").fetchone()
        self._traj_frontier: Optional[int] = int(fr[0]) if fr is not None else \
            c.execute("SELECT min(stamp_ns) FROM trajectory").fetchone()[0]
        row = c.execute("SELECT id, t_start FROM sessions WHERE t_end IS NULL ORDER BY id DESC LIMIT 1").fetchone()
        self._session_start: Optional[int] = None
        if row is not None and self.session_id is None:
            self.session_id, self._session_start = row
        self._writer_state_loaded = True

    def _check_order(self, stamps: np.ndarray, what: str, latest: Optional[int] = None) -> None:
        """Raise :class:`OutOfOrderError` unless ``stamps`` fit after ``latest`` (default: the newest
        stored stamp): not older than the reorder tolerance, and none further ahead than
        ``max_forward_jump_ns`` of the newest record before it (stored, the open session's start,
        or earlier in this batch)."""
        if stamps.size == 0:
            return
        if latest is None:
            latest = self._latest
        lo = int(stamps.min())
        if latest is not None and lo < latest - self.reorder_tolerance_ns:
            raise OutOfOrderError(
                f"{what} stamp {lo} is {(latest - lo) * 1e-9:.3f} s older than the newest stored record "
                f"({latest}); the reorder tolerance is {self.reorder_tolerance_ns * 1e-9:.3f} s")
        # Forward bound: no record more than max_forward_jump_ns after the newest record before it
        # (stored, the open session's start, or earlier in this batch).
        refs = [r for r in (latest, self._session_start) if r is not None]
        s = np.unique(stamps)
        chain = np.concatenate([np.asarray([max(refs)] if refs else [], np.int64), s])
        if chain.size > 1:
            gaps = np.diff(np.maximum.accumulate(chain))
            k = int(np.argmax(gaps))
            if int(gaps[k]) > self.max_forward_jump_ns:
                t, before = int(chain[k + 1]), int(np.max(chain[:k + 1]))
                raise OutOfOrderError(
                    f"{what} stamp {t} is {(t - before) * 1e-9 / 3600:.1f} h after the newest record before it "
                    f"({before}); the most allowed is {self.max_forward_jump_ns * 1e-9 / 3600:.1f} h "
                    "(wrong time unit? after a real gap, begin_session() at the new time first)")

    def knows_object(self, object_id: int) -> bool:
        """Whether the store holds an object with this id (writer side)."""
        self._load_writer_state()
        return int(object_id) in self._labels

    def check_batch(self, stamps: np.ndarray, event_object_ids: Iterable[int] = (), *,
                    pending_latest: Optional[int] = None, pending_object_ids: Iterable[int] = (),
                    what: str = "record") -> None:
        """Check, changing nothing, that records with these ``stamps`` could be ingested after what is
        stored plus a not yet ingested batch (``pending_latest``: its newest stamp;
        ``pending_object_ids``: the object ids it introduces), and that every object id in
        ``event_object_ids`` (events other than APPEARED) is stored, pending or among the batch's
        own observations (pass those in ``pending_object_ids`` too). Raises
        :class:`OutOfOrderError` or :class:`UnknownObjectError`; this is the check :meth:`ingest`
        runs, offered so a caller holding records back (the stack) can refuse them at the door."""
        if self.readonly:
            raise ReadOnlyStoreError(f"{self.path} is open read-only")
        self._load_writer_state()
        latest = self._latest
        if pending_latest is not None:
            latest = pending_latest if latest is None else max(latest, int(pending_latest))
        self._check_order(np.asarray(stamps, np.int64).ravel(), what, latest)
        pending = None
        for oid in event_object_ids:
            if oid in self._labels:
                continue
            if pending is None:
                pending = set(pending_object_ids)
            if oid not in pending:
                raise UnknownObjectError(f"event for object {oid}, which memory has never seen")

    # ------------------------------------------------------------------ writes
    def ingest(self, observations: Sequence[ObjectObservation] = (), events: Iterable[ObjectEvent] = (),
               trajectory: Iterable[TrajectoryPoint] = ()) -> IngestReport:
        """Store a batch of observations, events and trajectory points in one transaction.

        Observations are folded into placements (a consistent re-sighting extends the open
        placement; a sighting elsewhere closes it and opens a new one). APPEARED, MOVED and
        DISAPPEARED events are stored; UPDATED events carry nothing beyond the observation and are
        not stored. A DISAPPEARED event closes the object's open placement. Raises an
        :class:`~robomem.errors.InvalidInputError` subclass (and stores nothing) for malformed
        records, unknown object ids, or stamps outside the reorder tolerance."""
        cols = observations_to_columns(list(observations))
        return self._ingest(cols, validate_events(events), list(trajectory))

    def ingest_arrays(self, object_ids, stamps_ns, positions, labels, confidences=None, room_ids=None,
                      receptacle_ids=None) -> IngestReport:
        """Columnar fast path of :meth:`ingest` for observations only (vectorised validation)."""
        cols = columns_from_arrays(object_ids, stamps_ns, positions, labels, confidences, room_ids, receptacle_ids)
        return self._ingest(cols, [], [])

    def ingest_validated(self, cols: ObservationColumns, events: list[EventRow],
                         trajectory: list[TrajectoryPoint]) -> IngestReport:
        """:meth:`ingest` for records already validated into columns (used by the stack, which
        validates when a record arrives and consolidates later)."""
        return self._ingest(cols, events, list(trajectory))

    def _ingest(self, cols: ObservationColumns, events: list[EventRow], traj: list[TrajectoryPoint]) -> IngestReport:
        if self.readonly:
            raise ReadOnlyStoreError(f"{self.path} is open read-only")
        self._load_writer_state()
        for i, p in enumerate(traj):
            if not isinstance(p, TrajectoryPoint) or p.kind not in TRAJ_KINDS:
                raise InvalidObservationError(f"trajectory point {i} is not a valid TrajectoryPoint: {p!r}")
            check_stamp(p.stamp_ns, f"trajectory point {i}")
            if len(p.position) != 3 or not all(math.isfinite(v) for v in p.position):
                raise InvalidObservationError(f"trajectory point {i} position is not finite: {p.position}")
        all_stamps = np.concatenate([cols.stamp_ns, np.array([e.stamp_ns for e in events], np.int64),
                                     np.array([p.stamp_ns for p in traj], np.int64)])
        self._check_order(all_stamps, "record")
        batch_ids = set(np.unique(cols.object_id).tolist()) if len(cols) else set()
        for e in events:
            if e.object_id not in self._labels and e.object_id not in batch_ids and e.kind != EventKind.APPEARED:
                raise UnknownObjectError(f"{e.kind.value} event for object {e.object_id}, which the store has never seen")
        disappear: dict[int, list[int]] = {}
        for e in events:
            if e.kind == EventKind.DISAPPEARED:
                disappear.setdefault(e.object_id, []).append(e.stamp_ns)
        plan = plan_batch(cols, self._open, self._labels, disappear, self.move_tolerance_m)
        origin = self._origin
        if origin is None and all_stamps.size:
            origin = (int(all_stamps.min()) // _DAY_NS) * _DAY_NS
        sid = self.session_id

        new_objects, changed_objects, new_attrs = [], [], {}
        for oid, (label, attrs, first) in plan["objects"].items():
            if oid not in self._labels:
                new_attrs[oid] = dumps(attrs)
                new_objects.append((oid, label, new_attrs[oid], first))
                continue
            old = self._attrs.get(oid, "{}")
            # Symbolic attributes (colour, relation, ...) follow the latest sighting; numeric/array
            # per-frame geometry stays as first seen, so a static object causes no row rewrites.
            sym = {k: v for k, v in attrs.items() if isinstance(v, (str, bool)) or v is None}
            a = old
            if sym:
                merged = json.loads(old)
                merged.update(sym)
                a = dumps(merged)
            if label != self._labels[oid] or a != old:
                new_attrs[oid] = a
                changed_objects.append((label, a, oid))
        for e in events:
            if e.kind == EventKind.APPEARED and e.object_id not in self._labels and e.object_id not in plan["objects"]:
                plan["objects"][e.object_id] = (e.label or "unknown", {}, e.stamp_ns)
                new_objects.append((e.object_id, e.label or "unknown", "{}", e.stamp_ns))
        ev_rows = [(e.object_id, e.kind.value, e.stamp_ns, *e.position,
                    *(e.previous_position if e.previous_position is not None else (None, None, None)),
                    e.room_id, e.receptacle_id, e.previous_receptacle_id, sid)
                   for e in events if e.kind in _STORED_EVENT_KINDS]
        tol = self.move_tolerance_m
        now = self._latest if not all_stamps.size else max(int(all_stamps.max()), self._latest or 0)
        frontier = self._traj_frontier
        if frontier is None and traj:
            frontier = min(p.stamp_ns for p in traj)
        with self._tx() as c:
            if now is not None:   # the store clock, kept for readers (a max over placements is a full scan)
                c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('latest_stamp_ns', ?)", (str(now),))
            if self._origin is None and origin is not None:
                c.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('time_origin_ns', ?)", (str(origin),))
                origin = int(c.execute("SELECT value FROM meta WHERE key='time_origin_ns'").fetchone()[0])
            next_id = c.execute("SELECT coalesce(max(id), 0) + 1 FROM placements").fetchone()[0]
            ins_p, ins_r = [], []
            for seg in plan["new"]:
                seg.pid = next_id
                next_id += 1
            moved_start = [s.oid for s in plan["update"] if s.t_changed]
            if plan["ext"] is not None:
                moved_start += [sg.oid for sg, ch in zip(plan["ext"][0], plan["ext"][6].tolist()) if ch]
            t_next, links, chain_last, relink = _chain.link_new(plan["new"], self._chain_last, moved_start)
            for seg in plan["new"]:
                n = seg.n
                ins_p.append((seg.pid, seg.oid, seg.t0, seg.t1, seg.sx / n, seg.sy / n, seg.sz / n, opt(seg.room),
                              opt(seg.rec), n, seg.cs, int(seg.closed), sid, t_next.get(seg.pid)))
                ins_r.append((seg.pid, seg.ax - tol, seg.ax + tol, seg.ay - tol, seg.ay + tol, seg.az - tol,
                              seg.az + tol, (seg.t0 - origin) * 1e-9,
                              (seg.t1 - origin) * 1e-9 if seg.closed else OPEN_T))
            if new_objects:
                c.executemany("INSERT INTO objects(id, label, attributes, first_seen_ns) VALUES (?, ?, ?, ?)", new_objects)
            if changed_objects:
                c.executemany("UPDATE objects SET label = ?, attributes = ? WHERE id = ?", changed_objects)
            if plan["update"]:
                c.executemany("UPDATE placements SET t_start = ?, t_end = ?, x = ?, y = ?, z = ?, n_obs = ?, "
                              "conf_sum = ?, closed = ?, room_id = ?, receptacle_id = ? WHERE id = ?",
                              [(s.t0, s.t1, s.sx / s.n, s.sy / s.n, s.sz / s.n, s.n, s.cs, int(s.closed), opt(s.room),
                                opt(s.rec), s.pid)
                               for s in plan["update"]])
                rt = [((s.t0 - origin) * 1e-9, (s.t1 - origin) * 1e-9 if s.closed else OPEN_T, s.pid)
                      for s in plan["update"] if s.closed or s.t_changed]
                if rt:
                    c.executemany("UPDATE placement_rtree SET t0 = ?, t1 = ? WHERE id = ?", rt)
            if ins_p:
                c.executemany("INSERT INTO placements(id, object_id, t_start, t_end, x, y, z, room_id, receptacle_id, "
                              "n_obs, conf_sum, closed, session_id, t_next) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", ins_p)
                c.executemany("INSERT INTO placement_rtree VALUES (?,?,?,?,?,?,?,?,?)", ins_r)
                c.executemany("INSERT INTO state_rtree VALUES (?,?,?,?,?,?,?,?,?)",   # [t_start, valid until]
                              [(*r[:8], _chain.rtree_t(p[13], origin)) for r, p in zip(ins_r, ins_p)])
            _chain.write_links(c, links, origin)
            if relink:
                chain_last.update(_chain.relink(c, relink, origin))
            if plan["ext"] is not None:
                segs, t0n, t1n, nn, sxyz, csn, tch = plan["ext"]
                mean = (sxyz / nn[:, None]).tolist()
                pids = [sg.pid for sg in segs]
                c.executemany("UPDATE placements SET t_start = ?, t_end = ?, x = ?, y = ?, z = ?, n_obs = ?, "
                              "conf_sum = ? WHERE id = ?",
                              zip(t0n.tolist(), t1n.tolist(), *zip(*mean), nn.tolist(), csn.tolist(), pids))
                if tch.any():
                    c.executemany("UPDATE placement_rtree SET t0 = ? WHERE id = ?",
                                  [((int(t0n[j]) - origin) * 1e-9, pids[j]) for j in np.flatnonzero(tch).tolist()])
            if plan["latest"]:
                c.executemany("UPDATE objects SET current_placement = ? WHERE id = ?",
                              [(s.pid, oid) for oid, s in plan["latest"].items()])
            if ev_rows:
                c.executemany("INSERT INTO events(object_id, kind, stamp_ns, x, y, z, px, py, pz, room_id, "
                              "receptacle_id, prev_receptacle_id, session_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                              ev_rows)
            if traj:
                c.executemany("INSERT INTO trajectory(stamp_ns, x, y, z, yaw, room_id, kind, session_id) "
                              "VALUES (?,?,?,?,?,?,?,?)",
                              [(p.stamp_ns, *p.position, p.yaw, p.room_id, p.kind, sid) for p in traj])
            if self._compaction_due(now, frontier):
                frontier = self._compact(c, now, sid)
        # Committed: only now update the in-memory mirror, so a failed write leaves it untouched.
        self._origin = origin
        self._traj_frontier = frontier
        self._chain_last.update(chain_last)
        for oid, (label, _, _) in plan["objects"].items():
            self._labels[oid] = label
        self._attrs.update(new_attrs)
        if plan["ext"] is not None:
            segs, t0n, t1n, nn, sxyz, csn, _ = plan["ext"]
            for sg, t0, t1, n, (sx, sy, sz), cs in zip(segs, t0n.tolist(), t1n.tolist(), nn.tolist(), sxyz.tolist(),
                                                         csn.tolist()):
                sg.t0, sg.t1, sg.n, sg.sx, sg.sy, sg.sz, sg.cs = t0, t1, n, sx, sy, sz, cs
        for oid, seg in plan["open"].items():
            if seg is None or seg.closed:
                self._open.pop(oid, None)
            else:
                seg.t_changed = False
                self._open[oid] = seg
        if all_stamps.size:
            hi = int(all_stamps.max())
            self._latest = hi if self._latest is None else max(self._latest, hi)
        return IngestReport(len(cols), len(ev_rows), len(plan["new"]), plan["n_extended"], len(new_objects),
                            self._latest)

    def compact_trajectory(self, now_ns: Optional[int] = None) -> Optional[int]:
        """Summarise kept poses older than the raw horizon as of ``now_ns`` (default: the newest
        record) in one transaction; ingest does this by itself every ``step_ns`` of data time.
        Returns the new frontier (poses before it are summarised), or None when nothing is due."""
        if self.readonly:
            raise ReadOnlyStoreError(f"{self.path} is open read-only")
        self._load_writer_state()
        now = self._latest if now_ns is None else check_stamp(now_ns, "compact_trajectory: now_ns")
        if self._latest is not None and now is not None and now > self._latest:
            raise OutOfOrderError(f"compact_trajectory: now_ns {now} is after the newest record ({self._latest})")
        if self.trajectory_resolution is None or now is None or self._traj_frontier is None or \
                now - self.trajectory_resolution.raw_horizon_ns <= self._traj_frontier:
            return None
        with self._tx() as c:
            frontier = self._compact(c, now, self.session_id)
        self._traj_frontier = frontier
        return frontier

    def set_placement_rooms(self, placement_ids, room_ids) -> int:
        """Give placements whose room is unknown a room (one transaction); a placement that already
        has a room keeps it. Returns the number of placements changed."""
        pids = [check_id(int(p), "placement id") for p in np.asarray(placement_ids, dtype=np.int64).reshape(-1)]
        rooms = [check_id(int(r), "room id") for r in np.asarray(room_ids, dtype=np.int64).reshape(-1)]
        if len(pids) != len(rooms):
            raise InvalidObservationError(f"{len(pids)} placement ids but {len(rooms)} room ids")
        if not pids:
            return 0
        self._load_writer_state()
        with self._tx() as c:
            n = c.execute("SELECT total_changes()").fetchone()[0]
            c.executemany("UPDATE placements SET room_id = ? WHERE id = ? AND room_id IS NULL", zip(rooms, pids))
            n = c.execute("SELECT total_changes()").fetchone()[0] - n
        room_of = dict(zip(pids, rooms))
        for seg in self._open.values():  # the open placements' mirror learns the room too
            r = room_of.get(seg.pid)
            if r is not None and seg.room < 0:
                seg.room = r
        return int(n)

    # ------------------------------------------------------------------ statistics
    def stats(self) -> dict:
        c = self._read
        out = {name: c(f"SELECT count(*) FROM {name}")[0][0]
               for name in ("objects", "placements", "events", "sessions", "snapshots", "keyframes", "trajectory",
                                                   "trajectory_summary")}
        out["observations"] = c("SELECT coalesce(sum(n_obs), 0) FROM placements")[0][0]
        out["keyframe_bytes"] = self.keyframe_bytes()
        page = c("PRAGMA page_size")[0][0]
        out["file_bytes"] = c("PRAGMA page_count")[0][0] * page
        out["schema_version"] = c("PRAGMA user_version")[0][0]
        return out
