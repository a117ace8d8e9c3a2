"""The ray walk: mark the occupied end voxels and the free cells of every ray of a scan in the mark
box (:mod:`robomem.mapping.marks`), as OctoMap's ``computeRayKeys`` traverses them.

Three kernels, which differ in how a cell is marked:

- ``mark_scan``: the box holds every ray cell; a block is listed in ``touched`` the first time one
  of its cells is marked (a data-dependent branch per ray cell).
- ``mark_scan_dense``: the box holds every ray cell; marks are ORed in with no branch (about a third
  faster per cell) and ``marks.marked_blocks`` finds the marked blocks by sweeping the box
  afterwards, which pays off when the box is small against the number of ray cells (the caller
  chooses).
- ``mark_scan_clipped``: cells outside the box [box_lo, box_hi] are skipped, so a scan too large
  for one box is processed box by box with identical results; blocks are tracked.

``mark_scan`` and ``mark_scan_dense`` share the per-scan origin borders and the per-ray axis set-up;
their walk loops are still written out in each (as is the clipped one, on keys). Merging the three
into one walk with the marking step as an inlined function gave the same maps but ran 1.8-2.4x
slower (docs/mapping.md, "Ray walk"), so the loops stay as they are until a merged walk holds the
speed.

Arithmetic follows OctoMap's float/double mix step by step (float32 ray direction and length,
double ``tMax``/``tDelta``, its tie-breaking between axes) so the traversed cells are the same."""
from __future__ import annotations

import numpy as np
from numba import njit

from robomem.mapping.keys import BLOCK_SHIFT, coord_to_key, key_in_range, key_to_coord
from robomem.mapping.marks import MARK_CAST, MARK_FREE, MARK_OCC
from robomem.mapping.rays import FLAG_OCC, FLAG_RAY, _norm, compute_ends, compute_ends_discrete_box

_BIG = np.finfo(np.float64).max


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
def scan_dense(points, origin, res, max_range, discretize, plo, pdims, seen, ends, keys, flags, box_lo, dims, marks):
    """A whole scan through ``mark_scan_dense``, chunk by chunk in the (CHUNK, ...) buffers ``ends``,
    ``keys``, ``flags`` (one call from Python per scan; small buffers). Exact mode, or discretized
    with the bit grid ``seen`` (see ``rays.compute_ends_discrete_box``). Returns the number of rays."""
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
