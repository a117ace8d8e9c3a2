"""Read-side kernels over the block store: point lookups, leaf enumeration, neighbours, ray casting."""
from __future__ import annotations

import numpy as np
from numba import njit

from robomem.mapping.keys import (
    BLOCK_MASK,
    BLOCK_SHIFT,
    BLOCK_VOXELS,
    KEY_LIMIT,
    coord_to_key,
    key_in_range,
    key_to_coord,
    pack_block,
    voxel_offset,
)
from robomem.mapping.store import change_index, hash_find, stamp_change


@njit(cache=True, inline="always")
def _lookup(kx, ky, kz, logodds, table_keys, table_slots, bits):
    if not (key_in_range(kx) and key_in_range(ky) and key_in_range(kz)):
        return np.float32(np.nan)
    slot = hash_find(table_keys, table_slots, bits,
                     pack_block(kx >> BLOCK_SHIFT, ky >> BLOCK_SHIFT, kz >> BLOCK_SHIFT))
    if slot < 0:
        return np.float32(np.nan)
    return logodds[slot, voxel_offset(kx, ky, kz)]


@njit(cache=True)
def lookup_keys(keys, valid, logodds, table_keys, table_slots, bits):
    """Log-odds (NaN = unknown) of leaf keys (N, 3); invalid rows give NaN."""
    n = keys.shape[0]
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        if valid[i]:
            out[i] = _lookup(keys[i, 0], keys[i, 1], keys[i, 2], logodds, table_keys, table_slots, bits)
        else:
            out[i] = np.nan
    return out


@njit(cache=True)
def gather_known(logodds, changed, block_changed, block_keys, n_blocks, lo, hi, since):
    """Keys (M, 3), log-odds (M,) and change index (M,) of known voxels with keys in [lo, hi]
    (inclusive). With ``since`` >= 0, voxels whose change index is > since (even if unknown now)."""
    count = 0
    for s in range(n_blocks):
        for o in range(BLOCK_VOXELS):
            if since >= 0:
                if block_changed[s] > since and change_index(changed, block_changed, s, o) > since:
                    count += 1
            elif not np.isnan(logodds[s, o]):
                count += 1
    keys = np.empty((count, 3), dtype=np.int64)
    vals = np.empty(count, dtype=np.float32)
    chg = np.empty(count, dtype=np.int64)
    m = 0
    mask = (1 << 13) - 1
    for s in range(n_blocks):
        bk = block_keys[s]
        bx = (bk & mask) << BLOCK_SHIFT
        by = ((bk >> 13) & mask) << BLOCK_SHIFT
        bz = ((bk >> 26) & mask) << BLOCK_SHIFT
        if bx + BLOCK_MASK < lo[0] or bx > hi[0] or by + BLOCK_MASK < lo[1] or by > hi[1] \
                or bz + BLOCK_MASK < lo[2] or bz > hi[2]:
            continue
        for o in range(BLOCK_VOXELS):
            L = logodds[s, o]
            ci = change_index(changed, block_changed, s, o)
            if since >= 0:
                if ci <= since:
                    continue
            elif np.isnan(L):
                continue
            kx = bx + (o & BLOCK_MASK)
            ky = by + ((o >> BLOCK_SHIFT) & BLOCK_MASK)
            kz = bz + (o >> (2 * BLOCK_SHIFT))
            if kx < lo[0] or kx > hi[0] or ky < lo[1] or ky > hi[1] or kz < lo[2] or kz > hi[2]:
                continue
            keys[m, 0], keys[m, 1], keys[m, 2] = kx, ky, kz
            vals[m] = L
            chg[m] = ci
            m += 1
    return keys[:m], vals[:m], chg[:m]


@njit(cache=True)
def count_known(logodds, n_blocks, thr):
    """(free, occupied) voxel counts."""
    free = 0
    occ = 0
    for s in range(n_blocks):
        for o in range(BLOCK_VOXELS):
            L = logodds[s, o]
            if np.isnan(L):
                continue
            if L >= thr:
                occ += 1
            else:
                free += 1
    return free, occ


@njit(cache=True)
def frontier_mask(keys, logodds, table_keys, table_slots, bits):
    """For free voxel keys (N, 3): True where any of the 6 face neighbours is unknown."""
    n = keys.shape[0]
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        kx, ky, kz = keys[i, 0], keys[i, 1], keys[i, 2]
        for d in range(6):
            a = d >> 1
            s = 1 if (d & 1) else -1
            nx = kx + (s if a == 0 else 0)
            ny = ky + (s if a == 1 else 0)
            nz = kz + (s if a == 2 else 0)
            if np.isnan(_lookup(nx, ny, nz, logodds, table_keys, table_slots, bits)):
                out[i] = True
                break
    return out


@njit(cache=True)
def decay_blocks(logodds, changed, block_changed, n_blocks, factor, forget, thr, update_index):
    """Multiply positive log-odds by ``factor``; those falling below ``forget`` become unknown.
    Returns how many voxels were forgotten."""
    forgotten = 0
    f32 = np.float32(factor)
    for s in range(n_blocks):
        for o in range(BLOCK_VOXELS):
            L = logodds[s, o]
            if L > 0:  # NaN compares False
                newL = L * f32
                if newL < forget:
                    logodds[s, o] = np.nan
                    stamp_change(changed, block_changed, s, o, update_index)
                    forgotten += 1
                else:
                    logodds[s, o] = newL
                    if (L >= thr) != (newL >= thr):
                        stamp_change(changed, block_changed, s, o, update_index)
    return forgotten


@njit(cache=True)
def cast_ray(origin, direction, max_range, ignore_unknown, res, thr, logodds, table_keys, table_slots, bits):
    """OctoMap ``castRay``: walk voxels from ``origin`` along unit ``direction`` until an occupied
    voxel (returns 1 and its key), an unknown one when not ``ignore_unknown`` (returns 0), the max
    range (or, unbounded, the key-space edge) (returns 0). Output key in ``out``."""
    inv_res = 1.0 / res
    out = np.zeros(3, dtype=np.int64)
    kx = coord_to_key(np.float32(origin[0]), inv_res)
    ky = coord_to_key(np.float32(origin[1]), inv_res)
    kz = coord_to_key(np.float32(origin[2]), inv_res)
    if not (key_in_range(kx) and key_in_range(ky) and key_in_range(kz)):
        return 0, out
    step = np.zeros(3, dtype=np.int64)
    tmax = np.full(3, np.inf)
    tdelta = np.full(3, np.inf)
    key = np.array([kx, ky, kz], dtype=np.int64)
    for a in range(3):
        d = direction[a]
        if d > 0:
            step[a] = 1
        elif d < 0:
            step[a] = -1
        if step[a] != 0:
            border = key_to_coord(key[a], res) + step[a] * res * 0.5
            tmax[a] = (border - origin[a]) / d
            tdelta[a] = res / abs(d)
    while True:
        L = _lookup(key[0], key[1], key[2], logodds, table_keys, table_slots, bits)
        if np.isnan(L):
            if not ignore_unknown:
                out[:] = key
                return 0, out
        elif L >= thr:
            out[:] = key
            return 1, out
        a = 0
        if tmax[1] < tmax[a]:
            a = 1
        if tmax[2] < tmax[a]:
            a = 2
        if max_range > 0 and tmax[a] > max_range:
            return 0, out
        key[a] += step[a]
        tmax[a] += tdelta[a]
        if key[a] < 0 or key[a] >= KEY_LIMIT:
            return 0, out
