"""`MapMemory`: the occupancy map a memory stack owns — an :class:`OccupancyOctree` updated by every
frame, made durable in the store's SQLite file (blocks changed since the last write), per-session
snapshots of changed blocks, the map as of a past time, and the changes between two times."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from robomem.errors import InvalidInputError
from robomem.frame import Frame
from robomem.mapping import map_store
from robomem.mapping.keys import BLOCK_BITS, BLOCK_SHIFT, points_to_keys
from robomem.mapping.map_changes import MapChanges, diff_maps
from robomem.mapping.octree import Decay, OccupancyOctree

__all__ = ["MapMemory", "MapSettings", "open_map", "pop_map_settings"]


@dataclass(frozen=True)
class MapSettings:
    """Settings of the stack's map.

    ``resolution`` (m), ``max_range`` (m; longer readings clear space but mark nothing),
    ``discretize`` (OctoMap's discretized insertion: one ray per end voxel, faster),
    ``decay`` (:class:`Decay` or None), ``stride`` (use every stride-th pixel),
    ``session_prior`` (probabilities (p_free, p_occupied)): at the start of every session after the
    first, voxel confidence is capped at these, so that what moved between sessions is
    re-decided by the first new observations (1 hit / 1 miss with the defaults) instead of the
    9 misses a fully clamped voxel needs; None keeps full confidence.

    Persistence rhythm (see :class:`MapMemory`): ``persist_interval_ns`` (data time between two
    writes of the changed blocks; 0 = at every consolidation of the memory, the old rhythm) and
    ``persist_frames`` (also write once that many frames were inserted since the last write;
    0 = no frame limit). Explicit flushes, session ends and close always write."""

    resolution: float = 0.05
    max_range: float = 6.0
    discretize: bool = True
    decay: Optional[Decay] = None
    stride: int = 1
    session_prior: Optional[tuple[float, float]] = (0.4, 0.58)
    persist_interval_ns: int = 5 * 10**9
    persist_frames: int = 0

    def __post_init__(self) -> None:
        for name in ("persist_interval_ns", "persist_frames"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise InvalidInputError(f"map {name} must be a non-negative integer, got {v!r}")
        if self.session_prior is not None:
            pf, po = self.session_prior
            if not (0.0 < float(pf) < 0.5 < float(po) < 1.0):
                raise InvalidInputError(f"map session_prior must be (p_free < 0.5, p_occupied > 0.5), "
                                        f"got {self.session_prior!r}")
        if isinstance(self.stride, bool) or not isinstance(self.stride, int) or self.stride < 1:
            raise InvalidInputError(f"map stride must be a positive integer, got {self.stride!r}")


class MapMemory:
    """The octree plus its persistence in a robomem store.

    ``attach(connection, readonly)`` binds it to the store's SQLite connection and loads the
    stored map. A writer then calls :meth:`insert` per frame, :meth:`persist` when
    :meth:`persist_due` says so (the settings' rhythm) and whenever everything must be durable
    (writes only the blocks whose log-odds changed since the last write, in one transaction) and
    :meth:`snapshot` at session end. Listeners added with :meth:`add_listener` receive the
    :class:`MapChanges` since the previous snapshot whenever a snapshot is taken.

    Crash safety: the stored map is always the map as it was after some whole frame (its
    ``update_count`` says which), never part of a frame; a crash loses the frames inserted since
    the last write (at most ``persist_interval_ns`` of data time or ``persist_frames`` frames,
    whichever comes first, when the writer follows :meth:`persist_due`)."""

    def __init__(self, settings: Optional[MapSettings] = None) -> None:
        self.settings = settings or MapSettings()
        s = self.settings
        self.octree = OccupancyOctree(s.resolution, max_range=s.max_range, decay=s.decay)
        self._conn: Optional[sqlite3.Connection] = None
        self.readonly = True
        self._shadow = np.zeros((0, 512), np.float32)  # log-odds as last written, by block index
        self._shadow_n = 0                              # blocks covered by the shadow
        self._unwritten = np.zeros(0, np.int64)         # modified block indices taken but not yet written
        self._frames_at_write = 0                       # frames_inserted at the last write
        self._mark_ns: Optional[int] = None             # data time of the last write (or first frame since)
        self._since_snapshot: set[int] = set()          # blocks whose states differ from the last snapshot
        self._snap_update = 0                            # octree update_count at the last snapshot
        self._listeners: list[Callable[[MapChanges], None]] = []
        self.last_changes: Optional[MapChanges] = None
        self.frames_inserted = 0

    # ------------------------------------------------------------------ store binding
    def attach(self, conn: sqlite3.Connection, readonly: bool) -> None:
        """Bind to the store's connection; load the stored map (if any) into :attr:`octree`."""
        self._conn = conn
        self.readonly = bool(readonly)
        if not readonly:
            map_store.ensure_schema(conn, self.octree)
        if map_store.has_map(conn):
            fresh = OccupancyOctree(self.octree.resolution, self.octree.prob_hit, self.octree.prob_miss,
                                    self.octree.clamp_min, self.octree.clamp_max, self.octree.occupancy_threshold,
                                    self.octree.max_range, self.octree.decay)
            self.octree = map_store.read_map(conn, fresh)
        self._mark_written()
        self._since_snapshot = set()
        self._snap_update = self.octree.update_count
        if not readonly:
            last = map_store.snapshots(conn)
            if last:  # blocks written after the newest snapshot belong in the next one
                self._since_snapshot = set(self._blocks_newer_than_snapshot(last[-1]["snapshot_id"]))

    def _blocks_newer_than_snapshot(self, snapshot_id: int) -> list[int]:
        keys, rows = map_store.read_snapshot_blocks(self._conn, snapshot_id)
        cur_keys, cur_rows = map_store.block_arrays(self.octree)
        idx = {int(k): i for i, k in enumerate(keys)}
        thr = self.octree.rules.threshold
        out = []
        for k, r in zip(cur_keys, cur_rows):
            i = idx.get(int(k))
            if i is None or not np.array_equal(_row_states(r, thr), _row_states(rows[i], thr)):
                out.append(int(k))
        return out

    def reload(self) -> None:
        """Re-read the stored map (a read-only reader following a writer)."""
        if self._conn is None:
            raise InvalidInputError("the map is not attached to a store")
        self.octree = map_store.read_map(self._conn, OccupancyOctree(
            self.octree.resolution, self.octree.prob_hit, self.octree.prob_miss, self.octree.clamp_min,
            self.octree.clamp_max, self.octree.occupancy_threshold, self.octree.max_range,
            self.octree.decay)) or self.octree
        self._mark_written()

    def _mark_written(self) -> None:
        """The whole current map counts as written (after a load)."""
        _, rows = self.octree.blocks(copy=False)
        self._shadow, self._shadow_n = rows.copy(), len(rows)
        self.octree.take_modified_blocks()
        self._unwritten = np.zeros(0, np.int64)
        self._frames_at_write = self.frames_inserted
        self._mark_ns = self.octree.last_stamp_ns

    # ------------------------------------------------------------------ writing
    def insert(self, frame: Frame) -> int:
        """Insert ``frame``'s depth. A frame with no valid depth reading changes nothing (not even
        the decay clock). Returns the number of rays used."""
        if not isinstance(frame, Frame):
            raise InvalidInputError(f"insert() needs a robomem.Frame, got {type(frame).__name__}")
        if not frame.valid_mask.any():
            return 0
        last = self.octree.last_stamp_ns
        if last is not None and frame.stamp_ns < last:
            raise InvalidInputError(f"frame stamp {frame.stamp_ns} ns is older than the map's last frame ({last} ns); "
                                    "frames must come in time order")
        s = self.settings
        n = self.octree.insert_depth(frame.depth, frame.intrinsics, frame.T_world_camera, discretize=s.discretize,
                                     stamp_ns=frame.stamp_ns, stride=s.stride)
        self.frames_inserted += 1
        if self._mark_ns is None:
            self._mark_ns = int(frame.stamp_ns)
        return n

    def persist_due(self) -> bool:
        """True when the settings' rhythm asks for a write now: frames were inserted since the last
        one and ``persist_interval_ns`` of data time (> 0) or ``persist_frames`` frames (> 0) have
        passed. Always False with ``persist_interval_ns`` = 0 (the owner writes at every
        consolidation then) and on a read-only map."""
        s = self.settings
        n = self.frames_inserted - self._frames_at_write
        if self.readonly or self._conn is None or n == 0 or s.persist_interval_ns == 0:
            return False
        if s.persist_frames and n >= s.persist_frames:
            return True
        last = self.octree.last_stamp_ns
        return last is not None and self._mark_ns is not None and last - self._mark_ns >= s.persist_interval_ns

    def dirty_blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """Keys and log-odds rows (copies) of the blocks that differ from what was last written.
        Only the blocks the octree reports as modified since the last write are compared."""
        keys, rows, _ = self._dirty()
        return keys.copy(), rows.copy()

    def _dirty(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        taken = self.octree.take_modified_blocks()
        idx = taken if len(self._unwritten) == 0 else np.union1d(self._unwritten, taken)
        self._unwritten = idx  # kept until written, so a failed write is retried
        keys, rows = self.octree.blocks(copy=False)
        old = idx[idx < self._shadow_n]
        differ = (rows[old].view(np.uint32) != self._shadow[old].view(np.uint32)).any(axis=1)
        sel = np.concatenate([old[differ], idx[idx >= self._shadow_n]])
        return keys[sel], rows[sel], sel

    def _written(self, sel: np.ndarray) -> None:
        _, rows = self.octree.blocks(copy=False)
        n = len(rows)
        if n > len(self._shadow):
            grown = np.empty((max(n, 2 * len(self._shadow)), rows.shape[1]), np.float32)
            grown[:self._shadow_n] = self._shadow[:self._shadow_n]
            self._shadow = grown
        new = np.arange(self._shadow_n, n)
        self._shadow[new] = rows[new]  # blocks created since: written now or all-unknown
        self._shadow[sel] = rows[sel]
        self._shadow_n = n
        self._unwritten = np.zeros(0, np.int64)
        self._frames_at_write = self.frames_inserted
        self._mark_ns = self.octree.last_stamp_ns

    def _check_writer(self) -> None:
        if self._conn is None:
            raise InvalidInputError("the map is not attached to a store")
        if self.readonly:
            from robomem.memory.errors import ReadOnlyStoreError
            raise ReadOnlyStoreError("the map's store is open read-only")

    def persist(self, stamp_ns: Optional[int] = None) -> int:
        """Write the blocks changed since the last write (one transaction). Returns their number.
        On failure nothing is marked written, so the next call retries them."""
        self._check_writer()
        keys, rows, sel = self._dirty()
        if len(keys) == 0:
            self._written(sel)
            return 0
        map_store.write_blocks(self._conn, self.octree, keys, rows, stamp_ns)
        self._written(sel)
        return len(keys)

    def snapshot(self, session_id: Optional[int], stamp_ns: int) -> int:
        """Persist and store a snapshot of the blocks changed since the previous snapshot (one
        transaction); notify listeners of the changes since that snapshot. Returns the snapshot id."""
        self._check_writer()
        prev = map_store.snapshots(self._conn)
        keys, rows, dsel = self._dirty()
        all_keys, all_rows = map_store.block_arrays(self.octree)
        if prev:  # only blocks with a voxel whose state changed since the previous snapshot
            since = np.union1d(np.fromiter(self._since_snapshot, np.int64, len(self._since_snapshot)),
                               _block_keys_of(self.octree.changed_since(self._snap_update), self.octree.resolution))
            sel = np.isin(all_keys, since)
        else:
            sel = np.ones(len(all_keys), bool)
        sid = map_store.write_snapshot(self._conn, self.octree, keys, rows, all_keys[sel], all_rows[sel],
                                       session_id, int(stamp_ns))
        self._written(dsel)
        self._since_snapshot = set()
        self._snap_update = self.octree.update_count
        if prev and self._listeners:
            before = map_store.snapshot_tree(self._conn, prev[-1]["snapshot_id"])
            self.last_changes = diff_maps(before, self.octree, prev[-1]["stamp_ns"], int(stamp_ns))
            for fn in list(self._listeners):
                fn(self.last_changes)
        return sid

    def begin_session(self) -> None:
        """Lower the confidence of what the previous sessions saw to ``settings.session_prior``
        (see :class:`MapSettings`); voxel states do not change."""
        if self.settings.session_prior is None or self.octree.num_voxels == 0:
            return
        self.octree.cap_confidence(*self.settings.session_prior)  # states do not change

    def add_listener(self, fn: Callable[[MapChanges], None]) -> None:
        """Call ``fn(changes)`` with the :class:`MapChanges` since the previous snapshot at every
        snapshot (session end)."""
        if not callable(fn):
            raise InvalidInputError("listener must be callable")
        self._listeners.append(fn)

    # ------------------------------------------------------------------ history
    def snapshots(self) -> list[dict]:
        """Stored snapshots: snapshot_id, session_id, stamp_ns, n_blocks (oldest first)."""
        return [] if self._conn is None else map_store.snapshots(self._conn)

    def map_at(self, stamp_ns: Optional[int] = None, *, session_id: Optional[int] = None) -> OccupancyOctree:
        """The map as stored by the newest snapshot taken at or before ``stamp_ns`` (snapshots are
        taken at session ends), or by the snapshot of session ``session_id``; with neither, a copy
        of the current map. Before the first snapshot: an empty map."""
        if stamp_ns is None and session_id is None:
            return self.octree.copy()
        if stamp_ns is not None and session_id is not None:
            raise InvalidInputError("map_at takes stamp_ns or session_id, not both")
        snaps = self.snapshots()
        if session_id is not None:
            match = [s for s in snaps if s["session_id"] == session_id]
            if not match:
                raise InvalidInputError(f"no map snapshot for session {session_id!r}")
            sid = match[-1]["snapshot_id"]
        else:
            if isinstance(stamp_ns, bool) or not isinstance(stamp_ns, (int, np.integer)):
                raise InvalidInputError(f"stamp_ns must be an integer (ns), got {stamp_ns!r}")
            match = [s for s in snaps if s["stamp_ns"] <= int(stamp_ns)]
            if not match:
                return self._empty()
            sid = match[-1]["snapshot_id"]
        return map_store.snapshot_tree(self._conn, sid)

    def _empty(self) -> OccupancyOctree:
        o = self.octree
        return OccupancyOctree(o.resolution, o.prob_hit, o.prob_miss, o.clamp_min, o.clamp_max,
                               o.occupancy_threshold, o.max_range, o.decay)

    def changes(self, t1_ns: int, t2_ns: Optional[int] = None, **cluster_settings) -> MapChanges:
        """Voxels whose state differs between :meth:`map_at` ``(t1_ns)`` and ``map_at(t2_ns)``
        (``t2_ns`` None = the current map), grouped into change regions."""
        a = self.map_at(t1_ns)
        b = self.map_at(t2_ns)
        return diff_maps(a, b, t1_ns, t2_ns, **cluster_settings)


def _row_states(row: np.ndarray, threshold: float) -> np.ndarray:
    return np.where(np.isnan(row), -1, np.where(row >= threshold, 1, 0))


def _block_keys_of(points: np.ndarray, resolution: float) -> np.ndarray:
    keys, _ = points_to_keys(points, resolution)
    b = keys >> BLOCK_SHIFT
    return np.unique(b[:, 0] | (b[:, 1] << BLOCK_BITS) | (b[:, 2] << (2 * BLOCK_BITS)))


_MAP_KEYS = {"map_resolution": "resolution", "map_max_range": "max_range", "map_discretize": "discretize",
             "map_decay": "decay", "map_stride": "stride", "map_session_prior": "session_prior",
             "map_persist_interval_ns": "persist_interval_ns", "map_persist_frames": "persist_frames"}


def pop_map_settings(settings: dict) -> tuple[object, dict]:
    """Take the ``map`` choice and the ``map_*`` keywords out of a stack's keyword ``settings``."""
    choice = settings.pop("map", "auto")
    return choice, {v: settings.pop(k) for k, v in _MAP_KEYS.items() if k in settings}


def open_map(choice, settings: dict, conn: sqlite3.Connection, readonly: bool) -> Optional[MapMemory]:
    """The stack's map: None when ``choice`` is None, else a :class:`MapMemory` (``"auto"``: built
    from ``settings``; a :class:`MapMemory` or :class:`MapSettings` instance is used as given),
    attached to the store's connection."""
    if choice is None:
        return None
    if isinstance(choice, MapMemory):
        m = choice
    elif isinstance(choice, MapSettings):
        m = MapMemory(choice)
    elif choice == "auto":
        m = MapMemory(MapSettings(**settings))
    else:
        raise InvalidInputError(f"map must be 'auto', None, a MapSettings or a MapMemory, got {choice!r}")
    m.attach(conn, readonly)
    return m
