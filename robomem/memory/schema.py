"""Store file format: identification, versioned schema and migrations, connection setup.

A robomem store is an SQLite database with ``PRAGMA application_id = APPLICATION_ID``, a ``meta``
table whose ``application`` row is ``APPLICATION_MARKER`` and ``PRAGMA user_version`` equal to the
schema version. :func:`connect` refuses anything else *before* changing a single byte, so a foreign
or damaged file is never overwritten."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Callable

from robomem.memory.errors import (
    CorruptStoreError,
    NotARobomemStoreError,
    StoreError,
    StoreVersionError,
)

APPLICATION_ID = 0x524D454D  # "RMEM"
APPLICATION_MARKER = "robomem-memory-store"
SCHEMA_VERSION = 4

#: Upper time bound written into the R*Tree for a placement that is still open (believed current).
OPEN_T = 1.0e30


def _v1(c: sqlite3.Connection) -> None:
    _script(c, 
        """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE objects(
            id INTEGER PRIMARY KEY,
            label TEXT NOT NULL,
            attributes TEXT NOT NULL DEFAULT '{}',
            first_seen_ns INTEGER NOT NULL,
            current_placement INTEGER);
        CREATE INDEX objects_label ON objects(label);
        CREATE TABLE placements(
            id INTEGER PRIMARY KEY,
            object_id INTEGER NOT NULL,
            t_start INTEGER NOT NULL,
            t_end INTEGER NOT NULL,
            x REAL NOT NULL, y REAL NOT NULL, z REAL NOT NULL,
            room_id INTEGER,
            receptacle_id INTEGER,
            n_obs INTEGER NOT NULL,
            conf_sum REAL NOT NULL,
            closed INTEGER NOT NULL DEFAULT 0,
            session_id INTEGER);
        CREATE INDEX placements_object_time ON placements(object_id, t_start);
        CREATE VIRTUAL TABLE placement_rtree USING rtree(id, x0, x1, y0, y1, z0, z1, t0, t1);
        CREATE TABLE events(
            id INTEGER PRIMARY KEY,
            object_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            stamp_ns INTEGER NOT NULL,
            x REAL, y REAL, z REAL,
            px REAL, py REAL, pz REAL,
            room_id INTEGER, receptacle_id INTEGER, prev_receptacle_id INTEGER,
            session_id INTEGER);
        CREATE INDEX events_object_time ON events(object_id, stamp_ns);
        CREATE INDEX events_time ON events(stamp_ns);
        CREATE TABLE sessions(
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            t_start INTEGER NOT NULL,
            t_end INTEGER,
            info TEXT NOT NULL DEFAULT '{}');
        CREATE TABLE snapshots(
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL,
            stamp_ns INTEGER NOT NULL,
            codec TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            data BLOB NOT NULL);
        CREATE INDEX snapshots_session ON snapshots(session_id, stamp_ns);
        """
    )


def _v2(c: sqlite3.Connection) -> None:
    # Added after v1: keyframe evidence and the robot's own (thinned) trajectory.
    _script(c, 
        """
        CREATE TABLE keyframes(
            id INTEGER PRIMARY KEY,
            stamp_ns INTEGER NOT NULL,
            session_id INTEGER,
            importance REAL NOT NULL,
            fmt TEXT NOT NULL,
            width INTEGER NOT NULL, height INTEGER NOT NULL,
            nbytes INTEGER NOT NULL,
            pose TEXT,
            data BLOB NOT NULL);
        CREATE INDEX keyframes_time ON keyframes(stamp_ns);
        CREATE TABLE keyframe_objects(
            object_id INTEGER NOT NULL,
            keyframe_id INTEGER NOT NULL,
            PRIMARY KEY(object_id, keyframe_id)) WITHOUT ROWID;
        CREATE INDEX keyframe_objects_kf ON keyframe_objects(keyframe_id);
        CREATE TABLE trajectory(
            id INTEGER PRIMARY KEY,
            stamp_ns INTEGER NOT NULL,
            x REAL NOT NULL, y REAL NOT NULL, z REAL NOT NULL,
            yaw REAL,
            room_id INTEGER,
            kind TEXT NOT NULL,
            session_id INTEGER);
        CREATE INDEX trajectory_time ON trajectory(stamp_ns);
        CREATE INDEX trajectory_room ON trajectory(room_id, stamp_ns);
        """
    )


def _v3(c: sqlite3.Connection) -> None:
    # Added after v2: summaries of old trajectory (per time bucket, room and position cell).
    _script(c,
        """
        CREATE TABLE trajectory_summary(
            id INTEGER PRIMARY KEY,
            t0 INTEGER NOT NULL, t1 INTEGER NOT NULL,
            room_id INTEGER,
            cx INTEGER NOT NULL, cy INTEGER NOT NULL, cz INTEGER NOT NULL,
            first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL, dwell_ns INTEGER NOT NULL,
            x REAL NOT NULL, y REAL NOT NULL, z REAL NOT NULL,
            n INTEGER NOT NULL);
        CREATE INDEX trajectory_summary_time ON trajectory_summary(t0);
        CREATE INDEX trajectory_summary_room ON trajectory_summary(room_id, t0);
        """
    )


def _v4(c: sqlite3.Connection) -> None:
    # Added after v3: each placement's "valid until" time and a second R*Tree over it, so that "where
    # was everything (in this box) at t" is one index look-up. t_next = t_start of the object's next
    # placement (order t_start, id); NULL for its latest one. state_rtree has placement_rtree's box
    # and [t_start, t_next) in time (OPEN_T while the placement is the object's latest).
    c.execute("ALTER TABLE placements ADD COLUMN t_next INTEGER")
    c.execute("UPDATE placements SET t_next = n.nx FROM (SELECT id, lead(t_start) OVER (PARTITION BY object_id "
              "ORDER BY t_start, id) AS nx FROM placements) AS n WHERE n.id = placements.id AND n.nx IS NOT NULL")
    c.execute("CREATE VIRTUAL TABLE state_rtree USING rtree(id, x0, x1, y0, y1, z0, z1, t0, t1)")
    c.execute("INSERT INTO state_rtree SELECT r.id, r.x0, r.x1, r.y0, r.y1, r.z0, r.z1, r.t0, CASE WHEN p.t_next IS NULL "
              "THEN ? ELSE (p.t_next - (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'time_origin_ns')) * 1e-9 "
              "END FROM placement_rtree r JOIN placements p ON p.id = r.id ORDER BY r.id", (OPEN_T,))


def _script(c: sqlite3.Connection, sql: str) -> None:
    # executescript() would COMMIT the migration transaction first; run statement by statement.
    for stmt in sql.split(";"):
        if stmt.strip():
            c.execute(stmt)


#: MIGRATIONS[v] upgrades a store from version v-1 to v. Append, never edit, a published step.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1, 2: _v2, 3: _v3, 4: _v4}


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Run the migrations from the store's ``user_version`` up to ``target`` in one transaction.
    Returns the new version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise StoreVersionError(f"store schema version {current} is newer than this robomem ({SCHEMA_VERSION})")
    if current >= target:
        return current
    conn.execute("BEGIN IMMEDIATE")
    try:
        for v in range(current + 1, target + 1):
            MIGRATIONS[v](conn)
            if v == 1:
                conn.execute("PRAGMA application_id = %d" % APPLICATION_ID)
                conn.execute("INSERT INTO meta(key, value) VALUES ('application', ?)", (APPLICATION_MARKER,))
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(v),))
            # user_version is not a bound value; v comes from our own table, never from input.
            conn.execute("PRAGMA user_version = %d" % int(v))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return target


def _classify(path: Path) -> str:
    """'new' (absent or empty file) or 'sqlite'; raises NotARobomemStoreError for other files."""
    if not path.exists():
        return "new"
    if path.is_dir():
        raise NotARobomemStoreError(f"{path} is a directory, not a robomem store")
    if path.stat().st_size == 0:
        return "new"
    # The header is checked through SQLite itself (see _check_identity), never with a plain open():
    # closing any descriptor of the file would drop the POSIX locks SQLite holds on it in this process.
    return "sqlite"


def _check_identity(conn: sqlite3.Connection, path: Path) -> None:
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            raise NotARobomemStoreError(f"{path} is not a robomem store (not an SQLite database, or its header "
                                        f"is destroyed); left untouched") from None
        raise CorruptStoreError(f"{path}: SQLite cannot read the file ({exc}); left untouched") from None
    if app_id != APPLICATION_ID:
        if not tables and version == 0 and app_id == 0:
            return  # an empty SQLite file: safe to initialise
        raise NotARobomemStoreError(
            f"{path} is an SQLite database but not a robomem store (application_id={app_id:#x}); left untouched")
    if "meta" not in tables:
        raise CorruptStoreError(f"{path}: robomem application id but no meta table; left untouched")
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='application'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise CorruptStoreError(f"{path}: meta table unreadable ({exc}); left untouched") from None
    if row is None or row[0] != APPLICATION_MARKER:
        raise NotARobomemStoreError(f"{path}: meta marker is {row!r}, not a robomem store; left untouched")
    if version > SCHEMA_VERSION:
        raise StoreVersionError(
            f"{path}: schema version {version} is newer than this robomem supports ({SCHEMA_VERSION})")


MEMORY_PATH = ":memory:"


def connect(path: str | os.PathLike, readonly: bool = False, *, synchronous: str = "FULL",
            busy_timeout_s: float = 10.0, max_bytes: int | None = None,
            migrate_to: int = SCHEMA_VERSION, cache_mb: int = 64, verify: bool = False) -> sqlite3.Connection:
    """Open (creating if absent and writable) a robomem store and return a configured connection.

    Writers get WAL journaling, ``synchronous`` (FULL: a returned commit survives process kill and
    power loss; NORMAL: survives process kill, the last commits may be lost on power loss) and
    migrations. Readers open with ``mode=ro`` and never write."""
    if synchronous not in ("FULL", "NORMAL", "EXTRA"):
        raise StoreError(f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}")
    in_memory = os.fspath(path) == MEMORY_PATH
    p = Path(path)
    kind = "new" if in_memory else _classify(p)
    if readonly and kind == "new":
        raise StoreError(f"{p}: no store to open read-only")
    # ":memory:" is SQLite's scratch database (gone at close); never a file of that name in the cwd.
    uri = "file::memory:?mode=memory" if in_memory else p.resolve().as_uri() + ("?mode=ro" if readonly else "?mode=rwc")
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                               timeout=busy_timeout_s)
    except sqlite3.Error as exc:
        raise StoreError(f"{p}: cannot open ({exc})") from None
    try:
        _check_identity(conn, p)
        if verify and kind == "sqlite":
            # O(file size): catches damage deep in the file before anything is written to it.
            report = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
            if report != ["ok"]:
                raise CorruptStoreError(f"{p}: quick_check failed ({'; '.join(report[:3])}); left untouched")
        conn.execute("PRAGMA busy_timeout = %d" % int(busy_timeout_s * 1000))
        # A larger page cache than SQLite's 2 MiB default keeps R*Tree nodes and hot rows in memory.
        conn.execute("PRAGMA cache_size = %d" % (-1024 * max(2, int(cache_mb))))
        if readonly:
            conn.execute("PRAGMA query_only = ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise StoreVersionError(
                    f"{p}: schema version {version}; open it once writable to migrate to {SCHEMA_VERSION}")
            return conn
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal" and not in_memory:
            raise StoreError(f"{p}: could not switch to WAL journaling (got {mode})")
        conn.execute("PRAGMA synchronous = %s" % synchronous)
        if max_bytes is not None:
            page = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute("PRAGMA max_page_count = %d" % max(1, int(max_bytes) // page))
        migrate(conn, migrate_to)
    except sqlite3.DatabaseError as exc:
        conn.close()
        msg = str(exc)
        if "full" in msg:
            from robomem.memory.errors import StoreFullError
            raise StoreFullError(f"{p}: {msg}") from None
        raise CorruptStoreError(f"{p}: {msg}; left untouched") from None
    except BaseException:
        conn.close()
        raise
    return conn
