"""Sparse voxel storage: an open-addressing hash table from packed block key to a slot in a pool
of 8x8x8 blocks. Each voxel holds a float32 log-odds (NaN = unknown) and the int32 index of the
update that last changed its state (for change detection), kept compactly as a uint16 per voxel
plus the exact int32 index of the newest change per block. The store grows without bound."""
from __future__ import annotations

import mmap

import numpy as np
from numba import njit

from robomem.mapping.keys import BLOCK_VOXELS

_EMPTY = np.int64(-1)
#: Change indices are stored per voxel modulo this (0 = never changed).
CHANGE_MOD = 65535


@njit(cache=True, inline="always")
def stamp_change(changed, block_changed, slot, off, update_index):
    """Record that voxel (slot, off) changed state in update ``update_index`` (>= 1, increasing)."""
    changed[slot, off] = np.uint16((update_index - 1) % CHANGE_MOD + 1)
    if update_index > block_changed[slot]:
        block_changed[slot] = update_index


@njit(cache=True, inline="always")
def change_index(changed, block_changed, slot, off):
    """Update index of the voxel's last state change (0 = never). Exact while it is within 65,534
    updates of the block's newest change; older ones read as that much more recent."""
    v = np.int64(changed[slot, off])
    if v == 0:
        return np.int64(0)
    M = np.int64(block_changed[slot])
    wM = (M - 1) % CHANGE_MOD + 1
    return M - ((wM - v) % CHANGE_MOD)
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def _hash(key, bits):
    return np.int64((np.uint64(key) * _HASH_MUL) >> np.uint64(64 - bits))


@njit(cache=True)
def hash_find(table_keys, table_slots, bits, key):
    """Slot of ``key`` or -1."""
    mask = (1 << bits) - 1
    i = _hash(key, bits)
    while True:
        k = table_keys[i]
        if k == key:
            return table_slots[i]
        if k == -1:
            return -1
        i = (i + 1) & mask


@njit(cache=True)
def hash_insert(table_keys, table_slots, bits, key, slot):
    """Insert ``key`` -> ``slot``; the caller guarantees the key is absent and the table not full."""
    mask = (1 << bits) - 1
    i = _hash(key, bits)
    while table_keys[i] != -1:
        i = (i + 1) & mask
    table_keys[i] = key
    table_slots[i] = slot


@njit(cache=True)
def find_or_create(table_keys, table_slots, bits, block_keys, n_blocks_arr, logodds, changed, block_changed, key):
    """Slot of ``key``, creating an all-unknown block if absent. ``n_blocks_arr[0]`` counts blocks;
    the caller guarantees room in the pool and in the table. Pool rows are initialised here, on
    first use, so unused capacity is never written (and never becomes resident memory)."""
    mask = (1 << bits) - 1
    i = _hash(key, bits)
    while True:
        k = table_keys[i]
        if k == key:
            return table_slots[i]
        if k == -1:
            slot = n_blocks_arr[0]
            n_blocks_arr[0] = slot + 1
            table_keys[i] = key
            table_slots[i] = slot
            block_keys[slot] = key
            logodds[slot, :] = np.nan
            changed[slot, :] = 0
            block_changed[slot] = 0
            return slot
        i = (i + 1) & mask


@njit(cache=True)
def _rehash(block_keys, n, bits):
    size = 1 << bits
    tk = np.full(size, -1, dtype=np.int64)
    ts = np.empty(size, dtype=np.int32)
    for s in range(n):
        hash_insert(tk, ts, bits, block_keys[s], s)
    return tk, ts


def anonymous_array(shape, dtype) -> np.ndarray:
    """A zero-filled array backed by its own private anonymous memory map.

    Pages become resident only when written, are never merged into transparent huge pages by
    numpy's allocator (which would make a whole 2 MiB resident for one touched block), and go back
    to the system as soon as the array is dropped (no heap fragmentation)."""
    shape = tuple(int(v) for v in np.atleast_1d(shape))
    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    buf = mmap.mmap(-1, max(count * dtype.itemsize, 1), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return np.frombuffer(buf, dtype=dtype, count=count).reshape(shape)


def _mapping_of(a: np.ndarray):
    """The mmap under an ``anonymous_array`` (or None)."""
    b = a
    while isinstance(b, np.ndarray):
        b = b.base
    if isinstance(b, memoryview):
        b = b.obj
    return b if isinstance(b, mmap.mmap) else None


def resize_anonymous(owner, name: str, rows: int, used: int) -> None:
    """Give ``owner.<name>`` (an ``anonymous_array``) ``rows`` rows, keeping the first ``used``.

    The mapping is resized in place (``mremap``: pages move, nothing is copied), so growing a pool
    never holds the old and the new copy at once, which would double its peak memory. That needs
    the only view of the mapping to be the attribute itself; if someone else holds one, the rows
    are copied into a fresh mapping instead (only the used ones: the spare ones stay untouched, so
    never resident)."""
    a = getattr(owner, name)
    tail, dtype = a.shape[1:], a.dtype
    per_row = int(np.prod(tail, dtype=np.int64))
    keep = min(a.shape[0], rows, used)
    mm = _mapping_of(a)
    if mm is not None:
        old_count = a.shape[0] * per_row
        setattr(owner, name, None)
        del a  # drop the views so the mapping has no exported buffer
        try:
            mm.resize(max(rows * per_row * dtype.itemsize, 1))
        except (BufferError, OSError, ValueError, SystemError):
            a = np.frombuffer(mm, dtype=dtype, count=old_count).reshape((-1,) + tail)
            setattr(owner, name, a)
        else:
            setattr(owner, name, np.frombuffer(mm, dtype=dtype, count=rows * per_row).reshape((rows,) + tail))
            return
    b = anonymous_array((rows,) + tail, dtype)
    b[:keep] = a[:keep]
    setattr(owner, name, b)


class BlockStore:
    """Pool of voxel blocks plus the hash table that finds them.

    The pool doubles when full, growing its memory maps in place (no copy, so no transient second
    pool); rows are initialised when a block is created, so spare capacity is reserved but never
    becomes resident memory."""

    def __init__(self, capacity: int = 64) -> None:
        capacity = max(int(capacity), 1)
        self.n_blocks_arr = np.zeros(1, dtype=np.int64)
        self.logodds = anonymous_array((capacity, BLOCK_VOXELS), np.float32)
        self.changed = anonymous_array((capacity, BLOCK_VOXELS), np.uint16)
        self.block_changed = anonymous_array(capacity, np.int32)
        self.block_keys = anonymous_array(capacity, np.int64)
        self.bits = 7
        self.table_keys = np.full(1 << self.bits, -1, dtype=np.int64)
        self.table_slots = np.zeros(1 << self.bits, dtype=np.int32)

    @property
    def n_blocks(self) -> int:
        return int(self.n_blocks_arr[0])

    @property
    def capacity(self) -> int:
        return self.logodds.shape[0]

    def _resize(self, cap: int) -> None:
        # In place where possible; spare rows are never written, so they never become resident.
        for name in ("logodds", "changed", "block_changed", "block_keys"):
            resize_anonymous(self, name, cap, self.n_blocks)

    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more blocks (pool and hash table at most half full)."""
        need = self.n_blocks + int(extra)
        if need > self.capacity:
            self._resize(max(need, 2 * self.capacity))
        bits = self.bits
        while (1 << bits) < 2 * need:
            bits += 1
        if bits != self.bits:
            self.bits = bits
            self.table_keys, self.table_slots = _rehash(self.block_keys, self.n_blocks, bits)

    def compact(self) -> None:
        """Shrink the pool to its used size."""
        self._resize(max(self.n_blocks, 1))

    def copy(self) -> "BlockStore":
        n = self.n_blocks
        s = BlockStore(self.capacity)
        s.n_blocks_arr[:] = self.n_blocks_arr
        for name in ("logodds", "changed", "block_changed", "block_keys"):
            getattr(s, name)[:n] = getattr(self, name)[:n]
        s.bits, s.table_keys, s.table_slots = self.bits, self.table_keys.copy(), self.table_slots.copy()
        return s

    @property
    def nbytes(self) -> int:
        """Bytes of the used blocks (log-odds + change index + per-block data) and the hash table;
        spare pool capacity is allocated but untouched and not counted."""
        n = self.n_blocks
        per_block = BLOCK_VOXELS * (self.logodds.itemsize + self.changed.itemsize) \
            + self.block_changed.itemsize + self.block_keys.itemsize
        return n * per_block + self.table_keys.nbytes + self.table_slots.nbytes


@njit(cache=True)
def set_voxels(keys, values, logodds, changed, block_changed, block_keys, n_blocks_arr, table_keys, table_slots,
               bits, update_index):
    """Write log-odds ``values`` at leaf ``keys`` (N, 3) (blocks created as needed; the caller
    reserved room)."""
    for i in range(keys.shape[0]):
        kx, ky, kz = keys[i, 0], keys[i, 1], keys[i, 2]
        bk = np.int64(kx >> 3) | (np.int64(ky >> 3) << 13) | (np.int64(kz >> 3) << 26)
        slot = find_or_create(table_keys, table_slots, bits, block_keys, n_blocks_arr, logodds, changed,
                              block_changed, bk)
        off = ((kz & 7) << 6) | ((ky & 7) << 3) | (kx & 7)
        logodds[slot, off] = values[i]
        stamp_change(changed, block_changed, slot, off, update_index)
