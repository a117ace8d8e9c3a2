"""Block export/import of :class:`~robomem.mapping.octree.OccupancyOctree` (mixed into it): the
public face that storage layers (the stack's map in SQLite, snapshots) use instead of the octree's
internals.

A map is stored as 8x8x8 *blocks* of leaf voxels. A block is named by its packed key
(``bx | by << 13 | bz << 26``, block coordinates = leaf key >> 3) and holds 512 float32 log-odds,
x fastest then y then z, NaN = unknown. :meth:`blocks` lists them in creation order; blocks are only
ever appended, so a block keeps its index until the map is rebuilt (:meth:`~OccupancyOctree.load`,
a fresh map read from a store). :meth:`take_modified_blocks` says which blocks had log-odds
written since it was last called, so a writer can store only those."""
from __future__ import annotations

from typing import Optional

import numpy as np
from numba import njit

from robomem.errors import InvalidInputError, InvalidMapError
from robomem.mapping.keys import BLOCK, BLOCK_SHIFT, BLOCK_VOXELS, unpack_blocks
from robomem.mapping.logodds import logodds
from robomem.mapping.store import hash_find

# Voxel offsets inside a block, x fastest (the order of a block's 512 values).
_OFF = np.arange(BLOCK_VOXELS, dtype=np.int64)
_OFF_XYZ = np.stack([_OFF & (BLOCK - 1), (_OFF >> BLOCK_SHIFT) & (BLOCK - 1), _OFF >> (2 * BLOCK_SHIFT)], axis=1)
#: Modified-block index arrays kept before they are merged into one (bounds the list's length).
_MERGE_EVERY = 64


@njit(cache=True)
def _find_slots(keys, table_keys, table_slots, bits):
    out = np.empty(keys.shape[0], np.int64)
    for i in range(keys.shape[0]):
        out[i] = hash_find(table_keys, table_slots, bits, keys[i])
    return out


class BlockAccessMixin:
    """Block-level access of :class:`~robomem.mapping.octree.OccupancyOctree` (see the module doc)."""

    # ------------------------------------------------------------------ counters
    @property
    def last_stamp_ns(self) -> Optional[int]:
        """Stamp (ns) of the newest stamped insertion or decay step; None before the first."""
        return self._last_stamp_ns

    def restore_counters(self, update_count: int, last_stamp_ns: Optional[int]) -> None:
        """Set :attr:`update_count` (never lowered) and :attr:`last_stamp_ns` of a map read back
        from storage, so that it continues where the written map stopped."""
        if isinstance(update_count, bool) or not isinstance(update_count, (int, np.integer)) or update_count < 0:
            raise InvalidInputError(f"update_count must be a non-negative integer, got {update_count!r}")
        if last_stamp_ns is not None and (isinstance(last_stamp_ns, bool)
                                          or not isinstance(last_stamp_ns, (int, np.integer)) or last_stamp_ns < 0):
            raise InvalidInputError(f"last_stamp_ns must be None or a non-negative integer, got {last_stamp_ns!r}")
        self._update_count = max(self._update_count, int(update_count))
        self._last_stamp_ns = None if last_stamp_ns is None else int(last_stamp_ns)

    # ------------------------------------------------------------------ export
    @property
    def num_blocks(self) -> int:
        """Number of stored blocks (known or not: a block is created when a voxel of it is first written)."""
        return self._store.n_blocks

    def blocks(self, copy: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Packed keys (N,) int64 and log-odds (N, 512) float32 of every block, in creation order.
        With ``copy=False`` the arrays are read-only views of the map's storage, valid until the
        next change of the map (cheap for a writer that compares or encodes them at once)."""
        st = self._store
        n = st.n_blocks
        keys, rows = st.block_keys[:n], st.logodds[:n]
        if copy:
            return keys.copy(), rows.copy()
        keys, rows = keys.view(), rows.view()
        keys.flags.writeable = rows.flags.writeable = False
        return keys, rows

    def block_indices(self, keys) -> np.ndarray:
        """Index in :meth:`blocks` of each packed block key (-1 where the map has no such block)."""
        k = np.ascontiguousarray(np.asarray(keys, dtype=np.int64).reshape(-1))
        st = self._store
        return _find_slots(k, st.table_keys, st.table_slots, st.bits)

    def take_modified_blocks(self) -> np.ndarray:
        """Sorted indices (into :meth:`blocks`) of the blocks whose log-odds may have been written
        (insertions, decay, imports, :meth:`cap_confidence`) since the previous call, and start
        over. A superset: a block touched without a value change is included. One consumer per map
        (the stack's map keeps what it has taken until it is stored)."""
        if self._modified_all:
            out = np.arange(self._store.n_blocks, dtype=np.int64)
        elif self._modified:
            out = np.unique(np.concatenate(self._modified))
        else:
            out = np.zeros(0, np.int64)
        self._modified, self._modified_all = [], False
        return out

    def _note_modified(self, slots: Optional[np.ndarray]) -> None:
        """Record written block slots (None = every block)."""
        if slots is None:
            self._modified_all = True
            self._modified = []
            return
        if self._modified_all or len(slots) == 0:
            return
        self._modified.append(np.asarray(slots, dtype=np.int64))
        if len(self._modified) >= _MERGE_EVERY:
            self._modified = [np.unique(np.concatenate(self._modified))]

    # ------------------------------------------------------------------ import / edit
    def set_blocks(self, keys, rows) -> None:
        """Write whole blocks: packed ``keys`` (N,) and log-odds ``rows`` (N, 512); only the known
        (non-NaN) values are written, so unknown stays unknown and known voxels elsewhere are kept.
        Values must lie in the clamping range (:class:`InvalidMapError` otherwise; nothing is
        written). Counts as one update."""
        keys = np.asarray(keys, dtype=np.int64).reshape(-1)
        rows = np.asarray(rows, dtype=np.float32)
        if rows.shape != (len(keys), BLOCK_VOXELS):
            raise InvalidInputError(f"rows must have shape ({len(keys)}, {BLOCK_VOXELS}), got {rows.shape}")
        if len(keys) and (keys.min() < 0 or keys.max() >= 1 << 39):
            raise InvalidInputError("block keys must be packed block coordinates in [0, 2**39)")
        if len(keys) == 0:
            return
        known = ~np.isnan(rows)
        bi, off = np.nonzero(known)
        vk = (unpack_blocks(keys) << BLOCK_SHIFT)[bi] + _OFF_XYZ[off]
        self.set_voxels(vk, rows[bi, off])

    def set_voxels(self, keys, values) -> None:
        """Overwrite the log-odds of leaf ``keys`` (N, 3) with ``values`` (N,), which must be finite
        and inside the clamping range (:class:`InvalidMapError` otherwise; nothing is written).
        Counts as one update; voxels whose state changes are recorded for :meth:`changed_since`."""
        keys = np.asarray(keys, dtype=np.int64).reshape(-1, 3)
        vals = np.asarray(values, dtype=np.float32).reshape(-1)
        if len(vals) != len(keys):
            raise InvalidInputError(f"{len(keys)} keys but {len(vals)} values")
        if len(keys) and (keys.min() < 0 or keys.max() >= 1 << 16):
            raise InvalidInputError("voxel keys must lie in [0, 65536)")
        lo, hi = self.rules.min - 1e-5, self.rules.max + 1e-5
        if vals.size and (not np.all(np.isfinite(vals)) or vals.min() < lo or vals.max() > hi):
            raise InvalidMapError("log-odds are outside the clamping range")
        self._set_voxels(keys, vals)

    def cap_confidence(self, p_free: float, p_occupied: float) -> None:
        """Clip every known voxel's log-odds to [logodds(p_free), logodds(p_occupied)]
        (``p_free`` < 0.5 < ``p_occupied``): what is known keeps its state but becomes easy to
        overturn. Unknown stays unknown; no state changes, so nothing is recorded as changed."""
        if not (0.0 < float(p_free) < 0.5 < float(p_occupied) < 1.0):
            raise InvalidInputError(f"need 0 < p_free < 0.5 < p_occupied < 1, got ({p_free!r}, {p_occupied!r})")
        st = self._store
        rows = st.logodds[:st.n_blocks]
        np.clip(rows, logodds(p_free), logodds(p_occupied), out=rows)  # NaN stays NaN
        self._note_modified(None)
