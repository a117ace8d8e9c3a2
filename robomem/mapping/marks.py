"""The scan-local mark box and what is done with it after the rays are walked: find the blocks that
hold marks, apply every marked cell's update once to the sparse block store, clear the box for the
next scan.

A mark box is a dense uint8 array over a block-aligned key box (x fastest, dims multiples of
BLOCK). Per scan OctoMap builds the set of free cells and of occupied cells, removes occupied cells
from the free set, then updates every cell once; here the sets are bit marks in the box, so set
insertion is one byte write. A cell with MARK_OCC is occupied whatever else is set."""
from __future__ import annotations

import numpy as np
from numba import njit

from robomem.mapping.keys import BLOCK, BLOCK_SHIFT, pack_block
from robomem.mapping.store import find_or_create, stamp_change

MARK_FREE = 1  # a ray passes through the cell
MARK_OCC = 2  # an end point within max range lies in the cell (wins over MARK_FREE)
MARK_CAST = 4  # MARK_OCC cell whose (discretized) ray is already cast in this scan


@njit(cache=True)
def apply_marks(marks, dims, box_lo, touched, nt, logodds, changed, block_changed, block_keys, n_blocks_arr,
                table_keys, table_slots, bits, hit, miss, lmin, lmax, thr, update_index):
    """Update every marked cell once: occupied (MARK_OCC set) with ``hit``, free (other marks) with
    ``miss``; clamp.
    Records ``update_index`` where a voxel's state (unknown/free/occupied) changes. Returns the
    number of voxels updated."""
    nx, ny = dims[0], dims[1]
    bnx, bny = dims[0] >> BLOCK_SHIFT, dims[1] >> BLOCK_SHIFT
    sy, sz = nx, nx * ny
    bx0, by0, bz0 = box_lo[0] >> BLOCK_SHIFT, box_lo[1] >> BLOCK_SHIFT, box_lo[2] >> BLOCK_SHIFT
    updated = 0
    words = marks.view(np.uint64)  # one block row of BLOCK = 8 cells per word
    for t in range(nt):
        b = touched[t]
        lbx = b % bnx
        lby = (b // bnx) % bny
        lbz = b // (bnx * bny)
        slot = find_or_create(table_keys, table_slots, bits, block_keys, n_blocks_arr, logodds, changed,
                              block_changed, pack_block(bx0 + lbx, by0 + lby, bz0 + lbz))
        base = (lbz * BLOCK) * sz + (lby * BLOCK) * sy + lbx * BLOCK
        for z in range(BLOCK):
            for y in range(BLOCK):
                row = base + z * sz + y * sy
                if words[row >> BLOCK_SHIFT] == 0:
                    continue  # most rows of a block crossed by a few rays are empty
                off0 = (z << (2 * BLOCK_SHIFT)) | (y << BLOCK_SHIFT)
                for x in range(BLOCK):
                    m = marks[row + x]
                    if m == 0:
                        continue
                    off = off0 | x
                    L = logodds[slot, off]
                    known = not np.isnan(L)
                    if not known:
                        L = np.float32(0.0)
                    if m & MARK_OCC:
                        if known and L >= lmax:
                            continue  # OctoMap's early abort: already at the clamp
                        L = L + hit
                    else:
                        if known and L <= lmin:
                            continue
                        L = L + miss
                    if L < lmin:
                        L = lmin
                    elif L > lmax:
                        L = lmax
                    old = logodds[slot, off]
                    logodds[slot, off] = L
                    updated += 1
                    if not known or ((old >= thr) != (L >= thr)):
                        stamp_change(changed, block_changed, slot, off, update_index)
    return updated


@njit(cache=True)
def marked_blocks(marks, dims, touched):
    """List in ``touched`` the blocks of the box (block-aligned, dims multiples of BLOCK) holding any
    mark, in box order; returns their count. Each block row of BLOCK = 8 cells is read as one
    uint64."""
    words = marks.view(np.uint64)
    wx = dims[0] >> BLOCK_SHIFT  # words per box row
    ny = dims[1]
    bnx, bny, bnz = dims[0] >> BLOCK_SHIFT, dims[1] >> BLOCK_SHIFT, dims[2] >> BLOCK_SHIFT
    wsz = wx * ny  # words per box slice
    nt = 0
    for bz in range(bnz):
        for by in range(bny):
            for bx in range(bnx):
                base = (bz * BLOCK) * wsz + (by * BLOCK) * wx + bx
                acc = np.uint64(0)
                for z in range(BLOCK):
                    for y in range(BLOCK):
                        acc |= words[base + z * wsz + y * wx]
                if acc != 0:
                    touched[nt] = (bz * bny + by) * bnx + bx
                    nt += 1
    return nt


@njit(cache=True)
def clear_marks(marks, dims, touched, nt, block_flags):
    """Zero the marks and block flags of the touched blocks, so the scratch box can be reused."""
    nx, ny = dims[0], dims[1]
    bnx, bny = dims[0] >> BLOCK_SHIFT, dims[1] >> BLOCK_SHIFT
    sy, sz = nx, nx * ny
    for t in range(nt):
        b = touched[t]
        block_flags[b] = 0
        lbx = b % bnx
        lby = (b // bnx) % bny
        lbz = b // (bnx * bny)
        base = (lbz * BLOCK) * sz + (lby * BLOCK) * sy + lbx * BLOCK
        for z in range(BLOCK):
            for y in range(BLOCK):
                row = base + z * sz + y * sy
                for x in range(BLOCK):
                    marks[row + x] = 0
