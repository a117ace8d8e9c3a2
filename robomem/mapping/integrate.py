"""Scan integration kernels: OctoMap's ``insertPointCloud`` on a flat scan-local mark grid.

Per scan OctoMap builds the set of free cells (all ray cells, the endpoint voxel excluded, as its
``computeRayKeys`` does) and of occupied cells (endpoints within max range), removes occupied cells
from the free set, then updates every cell once. Here the sets are bit marks in a dense uint8 box
around the scan (MARK_FREE, MARK_OCC, MARK_CAST = occupied end voxel whose ray is already cast; a
cell with MARK_OCC is occupied whatever else is set), so set insertion is one byte write; the box is
then swept block by block into the sparse store.

Two ways to find the blocks that hold marks: the tracking kernels (``mark_scan``,
``mark_scan_clipped``) list a block the first time one of its cells is marked, which costs a
data-dependent branch per ray cell; ``mark_scan_dense`` only ORs marks in (no branch: about a third
faster per cell) and ``marked_blocks`` then finds the marked blocks by sweeping the box, which pays
off when the box is small against the number of ray cells (the caller chooses).

Arithmetic follows OctoMap's float/double mix step by step (float32 ray direction and length, double
``tMax``/``tDelta``, its tie-breaking between axes) so the traversed cells are the same."""
from __future__ import annotations

import numpy as np
from numba import njit

from robomem.mapping.keys import BLOCK, BLOCK_SHIFT, coord_to_key, key_in_range, key_to_coord, pack_block
from robomem.mapping.store import find_or_create, stamp_change

FLAG_RAY = 1  # cast a free-space ray to the end point
FLAG_OCC = 2  # the end point voxel is occupied (ray end within max range)

MARK_FREE = 1  # a ray passes through the cell
MARK_OCC = 2  # an end point within max range lies in the cell (wins over MARK_FREE)
MARK_CAST = 4  # MARK_OCC cell whose (discretized) ray is already cast in this scan

_BIG = np.finfo(np.float64).max


@njit(cache=True, inline="always")
def _norm(dx, dy, dz):
    # octomath::Vector3::norm: float sum of squares, double sqrt.
    return np.sqrt(np.float64(dx * dx + dy * dy + dz * dz))


@njit(cache=True, inline="always")
def _end_for(px, py, pz, ox, oy, oz, max_range, max_range32, inv_res, ends, keys, flags, j):
    """Fill row j of ends/keys/flags for a measurement at float32 (px, py, pz). Returns 1 if kept."""
    dx, dy, dz = px - ox, py - oy, pz - oz
    d = _norm(dx, dy, dz)
    if max_range < 0.0 or d <= max_range:
        kx, ky, kz = coord_to_key(px, inv_res), coord_to_key(py, inv_res), coord_to_key(pz, inv_res)
        if not (key_in_range(kx) and key_in_range(ky) and key_in_range(kz)):
            return 0
        ends[j, 0], ends[j, 1], ends[j, 2] = px, py, pz
        flags[j] = FLAG_RAY | FLAG_OCC
    else:
        # Vector3::normalized divides by (float) norm; new_end = origin + dir * (float) maxrange.
        ln = np.float32(d)
        ex = ox + (dx / ln) * max_range32
        ey = oy + (dy / ln) * max_range32
        ez = oz + (dz / ln) * max_range32
        kx, ky, kz = coord_to_key(ex, inv_res), coord_to_key(ey, inv_res), coord_to_key(ez, inv_res)
        if not (key_in_range(kx) and key_in_range(ky) and key_in_range(kz)):
            return 0
        ends[j, 0], ends[j, 1], ends[j, 2] = ex, ey, ez
        flags[j] = FLAG_RAY
    keys[j, 0], keys[j, 1], keys[j, 2] = kx, ky, kz
    return 1


@njit(cache=True)
def compute_ends(points, origin, res, max_range, discretize, table_bits, ends, keys, flags):
    """Ray end points, end keys and flags of one scan.

    ``points`` (N, 3) float32/float64 world points (rounded to float32 as OctoMap does; rows with
    NaN/inf are skipped), ``origin`` (3,) float32. With ``discretize`` each
    occupied-candidate voxel is kept once and its ray goes to the voxel centre (OctoMap's
    ``computeDiscreteUpdate``). Fills the first ``count`` rows of the (N,)-sized buffers ``ends``
    (float32), ``keys`` (int32) and ``flags`` (uint8); returns (ends, keys, flags, count)."""
    n = points.shape[0]
    inv_res = 1.0 / res
    ox, oy, oz = origin[0], origin[1], origin[2]
    max_range32 = np.float32(max_range)
    m = 0
    if not discretize:
        for i in range(n):
            px, py, pz = np.float32(points[i, 0]), np.float32(points[i, 1]), np.float32(points[i, 2])
            if not (np.isfinite(px) and np.isfinite(py) and np.isfinite(pz)):
                continue
            m += _end_for(px, py, pz, ox, oy, oz, max_range, max_range32, inv_res, ends, keys, flags, m)
        return ends, keys, flags, m
    # Unique voxels: a small open-addressing set, skipped when a pixel repeats its neighbour's voxel.
    size = 1 << table_bits
    mask = size - 1
    seen = np.full(size, -1, dtype=np.int64)
    last = np.int64(-1)
    used = 0
    for i in range(n):
        px, py, pz = np.float32(points[i, 0]), np.float32(points[i, 1]), np.float32(points[i, 2])
        if not (np.isfinite(px) and np.isfinite(py) and np.isfinite(pz)):
            continue
        kx = coord_to_key(px, inv_res)
        ky = coord_to_key(py, inv_res)
        kz = coord_to_key(pz, inv_res)
        if not (key_in_range(kx) and key_in_range(ky) and key_in_range(kz)):
            continue
        packed = kx | (ky << 16) | (kz << 32)
        if packed == last:
            continue
        last = packed
        h = np.int64((np.uint64(packed) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - table_bits))
        while seen[h] != -1 and seen[h] != packed:
            h = (h + 1) & mask
        if seen[h] == packed:
            continue
        if used * 2 >= size:
            # Table too small for this scan: grow and re-insert (rare; the caller sizes it).
            return compute_ends(points, origin, res, max_range, discretize, table_bits + 2, ends, keys, flags)
        seen[h] = packed
        used += 1
        cx = np.float32(key_to_coord(kx, res))
        cy = np.float32(key_to_coord(ky, res))
        cz = np.float32(key_to_coord(kz, res))
        m += _end_for(cx, cy, cz, ox, oy, oz, max_range, max_range32, inv_res, ends, keys, flags, m)
    return ends, keys, flags, m


@njit(cache=True, inline="always")
def _touch(marks, flat, value, kx, ky, kz, box_lo, bdims, block_flags, touched, nt):
    """Add a mark; register the block the first time any of its cells is marked."""
    if marks[flat] == 0:
        b = (((kz - box_lo[2]) >> BLOCK_SHIFT) * bdims[1] + ((ky - box_lo[1]) >> BLOCK_SHIFT)) * bdims[0] \
            + ((kx - box_lo[0]) >> BLOCK_SHIFT)
        if block_flags[b] == 0:
            block_flags[b] = 1
            touched[nt] = b
            nt += 1
    marks[flat] |= value
    return nt


@njit(cache=True)
def mark_scan_clipped(ends, keys, flags, count, origin, res, box_lo, box_hi, dims, marks, block_flags, touched,
                      nt, dedup):
    """Mark occupied end voxels and free ray cells of one scan inside the box [box_lo, box_hi] (keys,
    inclusive) whose flat mark array has dims (nx, ny, nz). Cells outside the box are skipped, so a
    scan too large for one box is processed box by box with identical results. Returns the updated
    count of touched blocks."""
    nx, ny = dims[0], dims[1]
    sx, sy, sz = 1, nx, nx * ny
    bdims = np.empty(3, dtype=np.int64)
    for a in range(3):
        bdims[a] = dims[a] >> BLOCK_SHIFT
    inv_res = 1.0 / res
    ox, oy, oz = origin[0], origin[1], origin[2]
    okx, oky, okz = coord_to_key(ox, inv_res), coord_to_key(oy, inv_res), coord_to_key(oz, inv_res)
    origin_ok = key_in_range(okx) and key_in_range(oky) and key_in_range(okz)
    x0, y0, z0 = box_lo[0], box_lo[1], box_lo[2]
    x1, y1, z1 = box_hi[0], box_hi[1], box_hi[2]
    # Occupied end points first: they win over free cells whatever the ray order.
    for i in range(count):
        if flags[i] & FLAG_OCC:
            kx, ky, kz = keys[i, 0], keys[i, 1], keys[i, 2]
            if x0 <= kx <= x1 and y0 <= ky <= y1 and z0 <= kz <= z1:
                flat = (kz - z0) * sz + (ky - y0) * sy + (kx - x0)
                if not (marks[flat] & MARK_OCC):
                    nt = _touch(marks, flat, MARK_OCC, kx, ky, kz, box_lo, bdims, block_flags, touched, nt)
    if not origin_ok:
        return nt
    half = np.float32(res * 0.5)
    for i in range(count):
        f = flags[i]
        if not (f & FLAG_RAY):
            continue
        ekx, eky, ekz = keys[i, 0], keys[i, 1], keys[i, 2]
        if dedup and (f & FLAG_OCC):
            # Discretized mode: one ray per end voxel (rays to the same centre are identical).
            if x0 <= ekx <= x1 and y0 <= eky <= y1 and z0 <= ekz <= z1:
                eflat = (ekz - z0) * sz + (eky - y0) * sy + (ekx - x0)
                if marks[eflat] & MARK_CAST:
                    continue
                marks[eflat] |= MARK_CAST
        if ekx == okx and eky == oky and ekz == okz:
            continue  # computeRayKeys: same cell, no free cells
        dx = ends[i, 0] - ox
        dy = ends[i, 1] - oy
        dz = ends[i, 2] - oz
        length = np.float32(_norm(dx, dy, dz))
        dx = dx / length
        dy = dy / length
        dz = dz / length
        kx, ky, kz = okx, oky, okz
        stx = 1 if dx > 0 else (-1 if dx < 0 else 0)
        sty = 1 if dy > 0 else (-1 if dy < 0 else 0)
        stz = 1 if dz > 0 else (-1 if dz < 0 else 0)
        if stx != 0:
            tmx = (key_to_coord(kx, res) + np.float64(np.float32(stx) * half) - np.float64(ox)) / np.float64(dx)
            tdx = res / abs(np.float64(dx))
        else:
            tmx = _BIG
            tdx = _BIG
        if sty != 0:
            tmy = (key_to_coord(ky, res) + np.float64(np.float32(sty) * half) - np.float64(oy)) / np.float64(dy)
            tdy = res / abs(np.float64(dy))
        else:
            tmy = _BIG
            tdy = _BIG
        if stz != 0:
            tmz = (key_to_coord(kz, res) + np.float64(np.float32(stz) * half) - np.float64(oz)) / np.float64(dz)
            tdz = res / abs(np.float64(dz))
        else:
            tmz = _BIG
            tdz = _BIG
        flen = np.float64(length)
        # The origin cell is a free cell of every ray that leaves it.
        inside = x0 <= kx <= x1 and y0 <= ky <= y1 and z0 <= kz <= z1
        if inside:
            flat = (kz - z0) * sz + (ky - y0) * sy + (kx - x0)
            if marks[flat] == 0:
                nt = _touch(marks, flat, MARK_FREE, kx, ky, kz, box_lo, bdims, block_flags, touched, nt)
        while True:
            if tmx < tmy:
                if tmx < tmz:
                    kx += stx
                    tmx += tdx
                else:
                    kz += stz
                    tmz += tdz
            else:
                if tmy < tmz:
                    ky += sty
                    tmy += tdy
                else:
                    kz += stz
                    tmz += tdz
            if kx == ekx and ky == eky and kz == ekz:
                break
            dist = min(tmx, tmy, tmz)
            if dist > flen:
                break
            if x0 <= kx <= x1 and y0 <= ky <= y1 and z0 <= kz <= z1:
                flat = (kz - z0) * sz + (ky - y0) * sy + (kx - x0)
                if marks[flat] == 0:
                    nt = _touch(marks, flat, MARK_FREE, kx, ky, kz, box_lo, bdims, block_flags, touched, nt)
    return nt


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


@njit(cache=True, inline="always")
def _touch_flat(marks, flat, value, nx, ny, bdims, block_flags, touched, nt):
    """``_touch`` for a cell known only by its flat box index (the box starts on a block corner)."""
    if marks[flat] == 0:
        x = flat % nx
        r = flat // nx
        y = r % ny
        z = r // ny
        b = ((z >> BLOCK_SHIFT) * bdims[1] + (y >> BLOCK_SHIFT)) * bdims[0] + (x >> BLOCK_SHIFT)
        if block_flags[b] == 0:
            block_flags[b] = 1
            touched[nt] = b
            nt += 1
    marks[flat] |= value
    return nt


@njit(cache=True, inline="always")
def _origin_borders(okx, oky, okz, ox, oy, oz, res):
    """Offsets from the origin to the +/- borders of the origin voxel on each axis, as OctoMap's
    computeRayKeys computes them: voxelBorder = keyToCoord(key) + (float)(step * res / 2),
    tMax = (voxelBorder - o) / dir. The origin cell is the same for every ray of a scan, so these
    six numbers are per-scan constants."""
    half = np.float32(res * 0.5)
    return (key_to_coord(okx, res) + np.float64(half) - np.float64(ox),
            key_to_coord(okx, res) + np.float64(-half) - np.float64(ox),
            key_to_coord(oky, res) + np.float64(half) - np.float64(oy),
            key_to_coord(oky, res) + np.float64(-half) - np.float64(oy),
            key_to_coord(okz, res) + np.float64(half) - np.float64(oz),
            key_to_coord(okz, res) + np.float64(-half) - np.float64(oz))


@njit(cache=True, inline="always")
def _axis_start(d, border_pos, border_neg, res, stride):
    """(tMax, tDelta, flat-index step) of one axis for float32 direction component ``d``."""
    if d > 0:
        return border_pos / np.float64(d), res / abs(np.float64(d)), stride
    if d < 0:
        return border_neg / np.float64(d), res / abs(np.float64(d)), -stride
    return _BIG, _BIG, 0


@njit(cache=True)
def mark_scan(ends, keys, flags, count, origin, res, box_lo, dims, marks, block_flags, touched, nt, dedup):
    """Mark occupied end voxels and free ray cells of one scan in a box that holds every
    cell of every ray (the caller pads the key bounds by 2 cells). Walks rays on the flat index
    with branch-free axis selection. Returns the number of touched blocks listed in ``touched``."""
    nx, ny = dims[0], dims[1]
    sz = nx * ny
    bdims = np.empty(3, dtype=np.int64)
    for a in range(3):
        bdims[a] = dims[a] >> BLOCK_SHIFT
    inv_res = 1.0 / res
    ox, oy, oz = origin[0], origin[1], origin[2]
    okx, oky, okz = coord_to_key(ox, inv_res), coord_to_key(oy, inv_res), coord_to_key(oz, inv_res)
    x0, y0, z0 = box_lo[0], box_lo[1], box_lo[2]
    for i in range(count):
        if flags[i] & FLAG_OCC:
            flat = (keys[i, 2] - z0) * sz + (keys[i, 1] - y0) * nx + (keys[i, 0] - x0)
            if not (marks[flat] & MARK_OCC):
                nt = _touch_flat(marks, flat, MARK_OCC, nx, ny, bdims, block_flags, touched, nt)
    if not (key_in_range(okx) and key_in_range(oky) and key_in_range(okz)):
        return nt
    oflat = (okz - z0) * sz + (oky - y0) * nx + (okx - x0)
    bpx, bnx, bpy, bny, bpz, bnz = _origin_borders(okx, oky, okz, ox, oy, oz, res)
    for i in range(count):
        f = flags[i]
        if not (f & FLAG_RAY):
            continue
        eflat = (keys[i, 2] - z0) * sz + (keys[i, 1] - y0) * nx + (keys[i, 0] - x0)
        if dedup and (f & FLAG_OCC):
            if marks[eflat] & MARK_CAST:
                continue
            marks[eflat] |= MARK_CAST
        if eflat == oflat:
            continue
        dx = ends[i, 0] - ox
        dy = ends[i, 1] - oy
        dz = ends[i, 2] - oz
        length = np.float32(_norm(dx, dy, dz))
        t0, d0, f0 = _axis_start(dx / length, bpx, bnx, res, 1)
        t1, d1, f1 = _axis_start(dy / length, bpy, bny, res, nx)
        t2, d2, f2 = _axis_start(dz / length, bpz, bnz, res, sz)
        flen = np.float64(length)
        if marks[oflat] == 0:
            nt = _touch_flat(marks, oflat, MARK_FREE, nx, ny, bdims, block_flags, touched, nt)
        flat = oflat
        while True:
            # OctoMap's choice: x if tMax[0] < tMax[1] and < tMax[2]; y if tMax[1] <= tMax[0] and
            # < tMax[2]; z otherwise.
            if t0 < t1:
                if t0 < t2:
                    t0 += d0
                    flat += f0
                else:
                    t2 += d2
                    flat += f2
            else:
                if t1 < t2:
                    t1 += d1
                    flat += f1
                else:
                    t2 += d2
                    flat += f2
            if flat == eflat:
                break
            if min(t0, t1, t2) > flen:
                break
            # An unsigned index spares numba's negative-index wraparound in the hottest line.
            if marks[np.uint64(flat)] == 0:
                nt = _touch_flat(marks, flat, MARK_FREE, nx, ny, bdims, block_flags, touched, nt)
    return nt


@njit(cache=True)
def mark_scan_dense(ends, keys, flags, count, origin, res, box_lo, dims, marks, dedup):
    """``mark_scan`` without block tracking: marks are ORed in unconditionally, so the ray walk has no
    data-dependent branch besides the axis choice; call ``marked_blocks`` after the last chunk of
    the scan. The cells marked are the same as ``mark_scan``'s (the box must hold every ray cell)."""
    nx, ny = dims[0], dims[1]
    sz = nx * ny
    inv_res = 1.0 / res
    ox, oy, oz = origin[0], origin[1], origin[2]
    okx, oky, okz = coord_to_key(ox, inv_res), coord_to_key(oy, inv_res), coord_to_key(oz, inv_res)
    x0, y0, z0 = box_lo[0], box_lo[1], box_lo[2]
    for i in range(count):
        if flags[i] & FLAG_OCC:
            flat = (keys[i, 2] - z0) * sz + (keys[i, 1] - y0) * nx + (keys[i, 0] - x0)
            marks[flat] |= MARK_OCC
    if not (key_in_range(okx) and key_in_range(oky) and key_in_range(okz)):
        return
    oflat = (okz - z0) * sz + (oky - y0) * nx + (okx - x0)
    bpx, bnx, bpy, bny, bpz, bnz = _origin_borders(okx, oky, okz, ox, oy, oz, res)
    for i in range(count):
        f = flags[i]
        if not (f & FLAG_RAY):
            continue
        eflat = (keys[i, 2] - z0) * sz + (keys[i, 1] - y0) * nx + (keys[i, 0] - x0)
        if dedup and (f & FLAG_OCC):
            if marks[eflat] & MARK_CAST:
                continue
            marks[eflat] |= MARK_CAST
        if eflat == oflat:
            continue
        dx = ends[i, 0] - ox
        dy = ends[i, 1] - oy
        dz = ends[i, 2] - oz
        length = np.float32(_norm(dx, dy, dz))
        t0, d0, f0 = _axis_start(dx / length, bpx, bnx, res, 1)
        t1, d1, f1 = _axis_start(dy / length, bpy, bny, res, nx)
        t2, d2, f2 = _axis_start(dz / length, bpz, bnz, res, sz)
        flen = np.float64(length)
        marks[oflat] |= MARK_FREE
        flat = oflat
        while True:
            # Same axis choice and stopping rules as mark_scan (OctoMap's computeRayKeys).
            if t0 < t1:
                if t0 < t2:
                    t0 += d0
                    flat += f0
                else:
                    t2 += d2
                    flat += f2
            else:
                if t1 < t2:
                    t1 += d1
                    flat += f1
                else:
                    t2 += d2
                    flat += f2
            if flat == eflat:
                break
            if min(t0, t1, t2) > flen:
                break
            marks[np.uint64(flat)] |= MARK_FREE


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
def point_key_bounds(points, res):
    """Inclusive min/max leaf key per axis over the finite, in-range points; count of such points."""
    inv_res = 1.0 / res
    # Keys are monotonic in the coordinate, so the key bounds are the keys of the coordinate bounds;
    # one floor per axis instead of one per point. If the extremes fall outside the key range, the
    # out-of-range points must be skipped individually (below).
    lx, ly, lz = np.float32(np.inf), np.float32(np.inf), np.float32(np.inf)
    hx, hy, hz = np.float32(-np.inf), np.float32(-np.inf), np.float32(-np.inf)
    nf = 0
    for i in range(points.shape[0]):
        px, py, pz = np.float32(points[i, 0]), np.float32(points[i, 1]), np.float32(points[i, 2])
        if px - px == 0 and py - py == 0 and pz - pz == 0:  # all finite
            nf += 1
            lx = px if px < lx else lx
            ly = py if py < ly else ly
            lz = pz if pz < lz else lz
            hx = px if px > hx else hx
            hy = py if py > hy else hy
            hz = pz if pz > hz else hz
    lo = np.full(3, 1 << 30, dtype=np.int64)
    hi = np.full(3, -1, dtype=np.int64)
    if nf == 0:
        return lo, hi, 0
    lo[0], lo[1], lo[2] = coord_to_key(lx, inv_res), coord_to_key(ly, inv_res), coord_to_key(lz, inv_res)
    hi[0], hi[1], hi[2] = coord_to_key(hx, inv_res), coord_to_key(hy, inv_res), coord_to_key(hz, inv_res)
    if key_in_range(lo[0]) and key_in_range(lo[1]) and key_in_range(lo[2]) \
            and key_in_range(hi[0]) and key_in_range(hi[1]) and key_in_range(hi[2]):
        return lo, hi, nf
    lo = np.full(3, 1 << 30, dtype=np.int64)
    hi = np.full(3, -1, dtype=np.int64)
    n = 0
    for i in range(points.shape[0]):
        px, py, pz = np.float32(points[i, 0]), np.float32(points[i, 1]), np.float32(points[i, 2])
        if not (np.isfinite(px) and np.isfinite(py) and np.isfinite(pz)):
            continue
        kx, ky, kz = coord_to_key(px, inv_res), coord_to_key(py, inv_res), coord_to_key(pz, inv_res)
        if not (key_in_range(kx) and key_in_range(ky) and key_in_range(kz)):
            continue
        n += 1
        lo[0] = min(lo[0], kx)
        lo[1] = min(lo[1], ky)
        lo[2] = min(lo[2], kz)
        hi[0] = max(hi[0], kx)
        hi[1] = max(hi[1], ky)
        hi[2] = max(hi[2], kz)
    return lo, hi, n


@njit(cache=True)
def compute_ends_discrete_box(points, origin, res, max_range, lo, dims, seen, ends, keys, flags):
    """``compute_ends`` in discretized mode with the unique end voxels found through the bit grid
    ``seen`` (uint8, one bit per cell, x fastest) over the key box [lo, lo + dims) that holds every
    point's key (``point_key_bounds``); ``seen`` persists across the chunks of one scan."""
    n = points.shape[0]
    inv_res = 1.0 / res
    ox, oy, oz = origin[0], origin[1], origin[2]
    max_range32 = np.float32(max_range)
    nx, ny = dims[0], dims[1]
    m = 0
    for i in range(n):
        px, py, pz = np.float32(points[i, 0]), np.float32(points[i, 1]), np.float32(points[i, 2])
        if not (np.isfinite(px) and np.isfinite(py) and np.isfinite(pz)):
            continue
        kx, ky, kz = coord_to_key(px, inv_res), coord_to_key(py, inv_res), coord_to_key(pz, inv_res)
        if not (key_in_range(kx) and key_in_range(ky) and key_in_range(kz)):
            continue
        flat = ((kz - lo[2]) * ny + (ky - lo[1])) * nx + (kx - lo[0])
        bit = np.uint8(1 << (flat & 7))
        if seen[flat >> 3] & bit:
            continue
        seen[flat >> 3] |= bit
        cx = np.float32(key_to_coord(kx, res))
        cy = np.float32(key_to_coord(ky, res))
        cz = np.float32(key_to_coord(kz, res))
        m += _end_for(cx, cy, cz, ox, oy, oz, max_range, max_range32, inv_res, ends, keys, flags, m)
    return ends, keys, flags, m


@njit(cache=True)
def scan_dense(points, origin, res, max_range, discretize, plo, pdims, seen, ends, keys, flags, box_lo, dims, marks):
    """A whole scan through ``mark_scan_dense``, chunk by chunk in the (CHUNK, ...) buffers ``ends``,
    ``keys``, ``flags`` (one call from Python per scan; small buffers). Exact mode, or discretized
    with the bit grid ``seen`` (see ``compute_ends_discrete_box``). Returns the number of rays."""
    n = points.shape[0]
    chunk = flags.shape[0]
    rays = 0
    for c0 in range(0, n, chunk):
        sub = points[c0:min(n, c0 + chunk)]
        if discretize:
            count = compute_ends_discrete_box(sub, origin, res, max_range, plo, pdims, seen, ends, keys, flags)[3]
        else:
            count = compute_ends(sub, origin, res, max_range, False, 1, ends, keys, flags)[3]
        if count:
            rays += count
            mark_scan_dense(ends, keys, flags, count, origin, res, box_lo, dims, marks, discretize)
    return rays


@njit(cache=True)
def depth_to_world(depth, stride, fx, fy, cx, cy, R, t):
    """World points (N, 3) float32 of the valid pixels (finite, > 0) of a depth image, every
    ``stride``-th pixel; optical-frame back-projection then ``R @ p + t`` in float64."""
    h, w = depth.shape
    hs = (h + stride - 1) // stride
    ws = (w + stride - 1) // stride
    out = np.empty((hs * ws, 3), dtype=np.float32)
    m = 0
    for r in range(0, h, stride):
        v = (r - cy) / fy
        for c in range(0, w, stride):
            z = np.float64(depth[r, c])
            if not (z > 0.0 and np.isfinite(z)):
                continue
            x = (c - cx) / fx * z
            y = v * z
            out[m, 0] = R[0, 0] * x + R[0, 1] * y + R[0, 2] * z + t[0]
            out[m, 1] = R[1, 0] * x + R[1, 1] * y + R[1, 2] * z + t[1]
            out[m, 2] = R[2, 0] * x + R[2, 1] * y + R[2, 2] * z + t[2]
            m += 1
    return out[:m]


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
