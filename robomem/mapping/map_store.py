"""The occupancy map inside a robomem SQLite store: its own tables and schema version, written by
the memory's writer connection and readable by any read-only connection.

Tables (all prefixed ``map_``):

- ``map_meta(key, value)``: ``schema_version``, ``settings`` (the octree's JSON settings),
  ``update_count``, ``last_stamp_ns``, ``written_ns``.
- ``map_blocks(block_key, data)``: the current map, one row per 8x8x8 block of leaf voxels,
  ``data`` = zlib-compressed 512 float32 log-odds (NaN = unknown), x fastest.
- ``map_snapshots(id, session_id, stamp_ns, n_blocks)`` and
  ``map_snapshot_blocks(snapshot_id, block_key, data)``: per-session snapshots holding only the
  blocks that changed since the previous snapshot; the map as of snapshot *s* is, per block, the
  newest row with ``snapshot_id <= s``.

Every write runs in one transaction, so a reader (or a process restarted after a crash) sees the
map as of the last completed write and never a half-written one."""
from __future__ import annotations

import json
import sqlite3
import zlib
from contextlib import contextmanager
from typing import Iterator, Optional

import numpy as np

from robomem.errors import InvalidMapError
from robomem.mapping.keys import BLOCK_VOXELS
from robomem.mapping.octree import Decay, OccupancyOctree

__all__ = ["MAP_SCHEMA_VERSION", "ensure_schema", "has_map", "block_arrays", "octree_from_blocks",
           "write_blocks", "read_map", "write_snapshot", "snapshots", "read_snapshot_blocks", "snapshot_tree",
           "octree_settings"]

MAP_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS map_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS map_blocks(block_key INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS map_snapshots(
    id INTEGER PRIMARY KEY,
    session_id INTEGER,
    stamp_ns INTEGER NOT NULL,
    n_blocks INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS map_snapshots_stamp ON map_snapshots(stamp_ns);
CREATE TABLE IF NOT EXISTS map_snapshot_blocks(
    snapshot_id INTEGER NOT NULL,
    block_key INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY(block_key, snapshot_id)) WITHOUT ROWID;
"""

@contextmanager
def _tx(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def has_map(conn: sqlite3.Connection) -> bool:
    """True when the store holds map tables (a store written before the map existed has none)."""
    return bool(conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='map_meta'").fetchall())


def ensure_schema(conn: sqlite3.Connection, tree: OccupancyOctree) -> None:
    """Create the map tables (writer connection) if absent; refuse a map of a newer schema version
    or with different octree settings than ``tree`` (the stored map would be misread)."""
    if has_map(conn):
        _check_version(conn)
        stored = _meta(conn, "settings")
        if stored is not None and conn.execute("SELECT 1 FROM map_blocks LIMIT 1").fetchall():
            s = json.loads(stored)
            mine = octree_settings(tree)
            diff = [k for k in ("resolution", "prob_hit", "prob_miss", "clamp_min", "clamp_max",
                                "occupancy_threshold") if not np.isclose(s.get(k, np.nan), mine[k])]
            if diff:
                raise InvalidMapError(f"the store's map was built with other settings ({', '.join(diff)}: "
                                      f"{[s.get(k) for k in diff]} vs {[mine[k] for k in diff]}); open it with "
                                      "the same map settings")
        return
    with _tx(conn) as c:
        for stmt in _SCHEMA.strip().split(";"):
            if stmt.strip():
                c.execute(stmt)
        c.execute("INSERT OR REPLACE INTO map_meta VALUES ('schema_version', ?)", (str(MAP_SCHEMA_VERSION),))
        c.execute("INSERT OR REPLACE INTO map_meta VALUES ('settings', ?)", (json.dumps(octree_settings(tree)),))


def _meta(conn: sqlite3.Connection, key: str) -> Optional[str]:
    row = conn.execute("SELECT value FROM map_meta WHERE key = ?", (key,)).fetchall()
    return row[0][0] if row else None


def _check_version(conn: sqlite3.Connection) -> None:
    v = _meta(conn, "schema_version")
    if v is None or int(v) > MAP_SCHEMA_VERSION:
        raise InvalidMapError(f"the store's map has schema version {v!r}; this robomem reads up to "
                              f"{MAP_SCHEMA_VERSION}")


def octree_settings(tree: OccupancyOctree) -> dict:
    """The constructor settings of ``tree`` as a JSON-able dict."""
    return {"resolution": tree.resolution, "prob_hit": tree.prob_hit, "prob_miss": tree.prob_miss,
            "clamp_min": tree.clamp_min, "clamp_max": tree.clamp_max,
            "occupancy_threshold": tree.occupancy_threshold, "max_range": tree.max_range,
            "decay": None if tree.decay is None else {"half_life_s": tree.decay.half_life_s,
                                                       "forget_probability": tree.decay.forget_probability}}


def block_arrays(tree: OccupancyOctree) -> tuple[np.ndarray, np.ndarray]:
    """Packed block keys (N,) int64 and log-odds (N, 512) float32 of the tree's blocks, in creation
    order (read-only views; see :meth:`OccupancyOctree.blocks`)."""
    return tree.blocks(copy=False)


def _encode(rows: np.ndarray) -> list[bytes]:
    return [zlib.compress(np.ascontiguousarray(r, dtype=np.float32).tobytes(), 1) for r in rows]


def _decode(blob: bytes) -> np.ndarray:
    try:
        a = np.frombuffer(zlib.decompress(blob), dtype=np.float32)
    except zlib.error as exc:
        raise InvalidMapError(f"corrupt map block ({exc})") from None
    if a.shape != (BLOCK_VOXELS,):
        raise InvalidMapError(f"corrupt map block: {a.size} values instead of {BLOCK_VOXELS}")
    return a


def write_blocks(conn: sqlite3.Connection, tree: OccupancyOctree, keys: np.ndarray, rows: np.ndarray,
                 stamp_ns: Optional[int] = None) -> None:
    """Upsert blocks (``keys`` packed, ``rows`` (N, 512) log-odds) and the tree's counters in one
    transaction."""
    blobs = _encode(rows)
    with _tx(conn) as c:
        c.executemany("INSERT OR REPLACE INTO map_blocks(block_key, data) VALUES (?, ?)",
                      zip((int(k) for k in keys), blobs))
        _write_counters(c, tree, stamp_ns)


def _write_counters(c: sqlite3.Connection, tree: OccupancyOctree, stamp_ns: Optional[int]) -> None:
    c.execute("INSERT OR REPLACE INTO map_meta VALUES ('update_count', ?)", (str(tree.update_count),))
    c.execute("INSERT OR REPLACE INTO map_meta VALUES ('last_stamp_ns', ?)", (json.dumps(tree.last_stamp_ns),))
    if stamp_ns is not None:
        c.execute("INSERT OR REPLACE INTO map_meta VALUES ('written_ns', ?)", (str(int(stamp_ns)),))


def _settings_tree(conn: sqlite3.Connection, **overrides) -> OccupancyOctree:
    s = json.loads(_meta(conn, "settings") or "{}")
    s.update(overrides)
    try:
        decay = None if s.get("decay") is None else Decay(**s["decay"])
        return OccupancyOctree(s["resolution"], s["prob_hit"], s["prob_miss"], s["clamp_min"], s["clamp_max"],
                               s["occupancy_threshold"], s["max_range"], decay)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidMapError(f"the store's map settings are invalid ({exc})") from None


def octree_from_blocks(tree: OccupancyOctree, keys: np.ndarray, rows: np.ndarray) -> OccupancyOctree:
    """Write blocks (packed ``keys``, (N, 512) log-odds ``rows``) into ``tree`` (known voxels only)."""
    if len(keys) == 0:
        return tree
    rows = np.asarray(rows, dtype=np.float32).reshape(len(keys), BLOCK_VOXELS)
    try:
        tree.set_blocks(keys, rows)
    except InvalidMapError as exc:
        raise InvalidMapError(f"stored map: {exc}") from None
    return tree


def read_map(conn: sqlite3.Connection, tree: Optional[OccupancyOctree] = None) -> Optional[OccupancyOctree]:
    """The stored current map (into ``tree`` if given, which must be empty), or None when the store
    has no map."""
    if not has_map(conn):
        return None
    _check_version(conn)
    rows = conn.execute("SELECT block_key, data FROM map_blocks").fetchall()
    t = tree if tree is not None else _settings_tree(conn)
    if rows:
        keys = np.array([r[0] for r in rows], dtype=np.int64)
        data = np.stack([_decode(r[1]) for r in rows])
        octree_from_blocks(t, keys, data)
    uc, ls = _meta(conn, "update_count"), _meta(conn, "last_stamp_ns")
    try:
        t.restore_counters(t.update_count if uc is None else int(uc), None if ls is None else json.loads(ls))
    except (ValueError, TypeError) as exc:
        raise InvalidMapError(f"the store's map counters are invalid ({exc})") from None
    return t


def write_snapshot(conn: sqlite3.Connection, tree: OccupancyOctree, dirty_keys: np.ndarray, dirty_rows: np.ndarray,
                   snap_keys: np.ndarray, snap_rows: np.ndarray, session_id: Optional[int], stamp_ns: int) -> int:
    """In one transaction: upsert the current map's dirty blocks and add a snapshot holding
    ``snap_keys``/``snap_rows`` (the blocks changed since the previous snapshot). Returns its id."""
    blobs = _encode(dirty_rows)
    snap_blobs = _encode(snap_rows)
    with _tx(conn) as c:
        c.executemany("INSERT OR REPLACE INTO map_blocks(block_key, data) VALUES (?, ?)",
                      zip((int(k) for k in dirty_keys), blobs))
        _write_counters(c, tree, stamp_ns)
        sid = c.execute("INSERT INTO map_snapshots(session_id, stamp_ns, n_blocks) VALUES (?, ?, ?)",
                        (session_id, int(stamp_ns), len(snap_keys))).lastrowid
        c.executemany("INSERT INTO map_snapshot_blocks(snapshot_id, block_key, data) VALUES (?, ?, ?)",
                      ((sid, int(k), b) for k, b in zip(snap_keys, snap_blobs)))
    return sid


def snapshots(conn: sqlite3.Connection) -> list[dict]:
    """Stored map snapshots, oldest first: id, session_id, stamp_ns, n_blocks."""
    if not has_map(conn):
        return []
    return [{"snapshot_id": r[0], "session_id": r[1], "stamp_ns": r[2], "n_blocks": r[3]}
            for r in conn.execute("SELECT id, session_id, stamp_ns, n_blocks FROM map_snapshots ORDER BY id")]


def read_snapshot_blocks(conn: sqlite3.Connection, snapshot_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Block keys and (N, 512) log-odds of the map as of snapshot ``snapshot_id``."""
    rows = conn.execute(
        "SELECT b.block_key, b.data FROM map_snapshot_blocks b JOIN "
        "(SELECT block_key, max(snapshot_id) AS s FROM map_snapshot_blocks WHERE snapshot_id <= ? GROUP BY block_key) m "
        "ON b.block_key = m.block_key AND b.snapshot_id = m.s", (int(snapshot_id),)).fetchall()
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, BLOCK_VOXELS), np.float32)
    return np.array([r[0] for r in rows], dtype=np.int64), np.stack([_decode(r[1]) for r in rows])


def snapshot_tree(conn: sqlite3.Connection, snapshot_id: int) -> OccupancyOctree:
    """The map as of snapshot ``snapshot_id`` as a new octree."""
    keys, rows = read_snapshot_blocks(conn, snapshot_id)
    return octree_from_blocks(_settings_tree(conn), keys, rows)

