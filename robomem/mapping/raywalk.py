"""The ray walk: mark the occupied end voxels and the free cells of every ray of a scan in the mark
box (:mod:`robomem.mapping.marks`), as OctoMap's ``computeRayKeys`` traverses them.

There is one walk, ``_mark_rays``; what differs between the three kernels is only how a cell is
marked, a small ``inline="always"`` function passed to the walk (numba inlines it at the IR level):

- ``mark_scan`` (``_mark_tracking``): the box holds every ray cell; a block is listed in
  ``touched`` the first time one of its cells is marked (a data-dependent branch per ray cell).
- ``mark_scan_dense`` (``_mark_dense``): the box holds every ray cell; marks are ORed in with no
  branch (about a third faster per cell) and ``marks.marked_blocks`` finds the marked blocks by
  sweeping the box afterwards, which pays off when the box is small against the number of ray
  cells (the caller chooses).
- ``mark_scan_clipped`` (``_mark_clipped``): cells outside the box [box_lo, box_hi] are skipped, so
  a scan too large for one box is processed box by box with identical results; blocks are tracked.

The walk steps a position ``pos = (kx - x0) + (ky - y0) * sy + (kz - z0) * sz`` along with the
keys: with the box's strides (``sy = nx``, ``sz = nx * ny``) ``pos`` is the cell's index in the
box; for the clipped walk the strides are 2**20 and 2**40, so ``pos`` names a key uniquely even
outside the box. A marker that does not read the keys leaves their updates dead, and the compiler
drops them. Speed against the three separate loops this replaced: docs/mapping.md, "Ray walk".

Arithmetic follows OctoMap's float/double mix step by step (float32 ray direction and length,
double ``tMax``/``tDelta``, its tie-breaking between axes) so the traversed cells are the same."""
from __future__ import annotations

import numpy as np
from numba import njit

from robomem.mapping.keys import BLOCK_SHIFT, coord_to_key, key_in_range, key_to_coord
from robomem.mapping.marks import MARK_CAST, MARK_FREE, MARK_OCC
from robomem.mapping.rays import FLAG_OCC, FLAG_RAY, _norm, compute_ends, compute_ends_discrete_box

_BIG = np.finfo(np.float64).max
#: Strides of the clipped walk's position: unique for keys in [-1, 2**20 - 2] (keys are 16 bits).
_CLIP_SY = np.int64(1) << 20
_CLIP_SZ = np.int64(1) << 40


# ---------------------------------------------------------------- markers
# A marker is a pair of functions over the mark array, the walk position, the cell's keys and the
# box (key bounds x0..z1 inclusive, dims nx, ny: scalars, used by the clipped marker only):
#   mark(marks, pos, kx, ky, kz, value, x0, y0, z0, x1, y1, z1, nx, ny) -> int
#       add ``value`` to the cell; returns the box index of the cell when it was unmarked and its
#       block must be listed (tracking markers), else -1
#   first_cast(marks, pos, kx, ky, kz, x0, y0, z0, x1, y1, z1, nx, ny) -> bool
#       discretized mode: True the first time the ray to this end voxel is cast (then recorded)
# Only the mark array is passed into the per-cell call: numba reference-counts every array handed
# to an inlined function at each call, which costs more than the walk step itself.

@njit(cache=True, inline="always")
def _register(flat, nx, ny, bnx, bny, block_flags, touched, nt):
    """List the block of box cell ``flat`` in ``touched`` unless listed already; returns the count."""
    x = flat % nx
    r = flat // nx
    y = r % ny
    z = r // ny
    b = ((z >> BLOCK_SHIFT) * bny + (y >> BLOCK_SHIFT)) * bnx + (x >> BLOCK_SHIFT)
    if block_flags[b] == 0:
        block_flags[b] = 1
        touched[nt] = b
        nt += 1
    return nt


@njit(cache=True, inline="always")
def _mark_tracking(marks, pos, kx, ky, kz, value, x0, y0, z0, x1, y1, z1, nx, ny):
    # An unsigned index spares numba's negative-index wraparound in the hottest line.
    m = marks[np.uint64(pos)]
    if m == 0:
        marks[np.uint64(pos)] = value
        return pos
    if value == MARK_OCC and not (m & MARK_OCC):
        marks[np.uint64(pos)] = m | value
    return -1


@njit(cache=True, inline="always")
def _mark_dense(marks, pos, kx, ky, kz, value, x0, y0, z0, x1, y1, z1, nx, ny):
    marks[np.uint64(pos)] |= value
    return -1


@njit(cache=True, inline="always")
def _cast_in_box(marks, pos, kx, ky, kz, x0, y0, z0, x1, y1, z1, nx, ny):
    if marks[pos] & MARK_CAST:
        return False
    marks[pos] |= MARK_CAST
    return True


@njit(cache=True, inline="always")
def _clip_flat(kx, ky, kz, x0, y0, z0, x1, y1, z1, nx, ny):
    """Box index of key (kx, ky, kz), -1 outside the box."""
    if x0 <= kx <= x1 and y0 <= ky <= y1 and z0 <= kz <= z1:
        return ((kz - z0) * ny + (ky - y0)) * nx + (kx - x0)
    return -1


@njit(cache=True, inline="always")
def _mark_clipped(marks, pos, kx, ky, kz, value, x0, y0, z0, x1, y1, z1, nx, ny):
    flat = _clip_flat(kx, ky, kz, x0, y0, z0, x1, y1, z1, nx, ny)
    if flat < 0:
        return -1
    m = marks[flat]
    if m == 0:
        marks[flat] = value
        return flat
    if value == MARK_OCC and not (m & MARK_OCC):
        marks[flat] = m | value
    return -1


@njit(cache=True, inline="always")
def _cast_clipped(marks, pos, kx, ky, kz, x0, y0, z0, x1, y1, z1, nx, ny):
    flat = _clip_flat(kx, ky, kz, x0, y0, z0, x1, y1, z1, nx, ny)
    if flat < 0:
        return True  # the end voxel is in another box: no record here, cast (the cells are clipped)
    if marks[flat] & MARK_CAST:
        return False
    marks[flat] |= MARK_CAST
    return True


# ---------------------------------------------------------------- the walk
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
    """(tMax, tDelta, position step, key step) of one axis for float32 direction component ``d``."""
    if d > 0:
        return border_pos / np.float64(d), res / abs(np.float64(d)), stride, 1
    if d < 0:
        return border_neg / np.float64(d), res / abs(np.float64(d)), -stride, -1
    return _BIG, _BIG, 0, 0


@njit(cache=True, inline="always")
def _mark_rays(ends, keys, flags, count, origin, res, dedup, sy, sz, mark, first_cast, marks, box_lo, box_hi,
               nx, ny, block_flags, touched, nt):
    """Mark the scan's occupied end voxels (first: they win over free cells whatever the ray order),
    then walk every ray from the origin cell to (not including) its end cell, marking each cell
    MARK_FREE. The strides ``sy``, ``sz`` define the walk position (module doc); ``mark`` /
    ``first_cast`` are the marker. Blocks whose first cell is marked are listed in ``touched``
    (``block_flags`` one byte per block of the box); returns their count."""
    x0, y0, z0 = box_lo[0], box_lo[1], box_lo[2]
    x1, y1, z1 = box_hi[0], box_hi[1], box_hi[2]
    nbx, nby = nx >> BLOCK_SHIFT, ny >> BLOCK_SHIFT
    for i in range(count):
        if flags[i] & FLAG_OCC:
            kx, ky, kz = keys[i, 0], keys[i, 1], keys[i, 2]
            new = mark(marks, (kz - z0) * sz + (ky - y0) * sy + (kx - x0), kx, ky, kz, MARK_OCC,
                       x0, y0, z0, x1, y1, z1, nx, ny)
            if new >= 0:
                nt = _register(new, nx, ny, nbx, nby, block_flags, touched, nt)
    inv_res = 1.0 / res
    ox, oy, oz = origin[0], origin[1], origin[2]
    okx, oky, okz = coord_to_key(ox, inv_res), coord_to_key(oy, inv_res), coord_to_key(oz, inv_res)
    if not (key_in_range(okx) and key_in_range(oky) and key_in_range(okz)):
        return nt
    opos = (okz - z0) * sz + (oky - y0) * sy + (okx - x0)
    bpx, bnx, bpy, bny, bpz, bnz = _origin_borders(okx, oky, okz, ox, oy, oz, res)
    # The origin cell is a free cell of every ray that leaves it: marked once, here, if one does.
    # (Marking it per ray inside the loop below, as OctoMap's computeRayKeys does, gives the same
    # marks but made numba's code for the whole walk about twice as slow.) A ray skipped below as
    # already cast was cast earlier in this scan, which marked the origin then: same marks.
    for i in range(count):
        if (flags[i] & FLAG_RAY) and (keys[i, 2] - z0) * sz + (keys[i, 1] - y0) * sy + (keys[i, 0] - x0) != opos:
            new = mark(marks, opos, okx, oky, okz, MARK_FREE, x0, y0, z0, x1, y1, z1, nx, ny)
            if new >= 0:
                nt = _register(new, nx, ny, nbx, nby, block_flags, touched, nt)
            break
    for i in range(count):
        f = flags[i]
        if not (f & FLAG_RAY):
            continue
        ekx, eky, ekz = keys[i, 0], keys[i, 1], keys[i, 2]
        epos = (ekz - z0) * sz + (eky - y0) * sy + (ekx - x0)
        if dedup and (f & FLAG_OCC):
            # Discretized mode: one ray per end voxel (rays to the same centre are identical).
            if not first_cast(marks, epos, ekx, eky, ekz, x0, y0, z0, x1, y1, z1, nx, ny):
                continue
        if epos == opos:
            continue  # computeRayKeys: same cell, no free cells
        dx = ends[i, 0] - ox
        dy = ends[i, 1] - oy
        dz = ends[i, 2] - oz
        length = np.float32(_norm(dx, dy, dz))
        t0, d0, f0, s0 = _axis_start(dx / length, bpx, bnx, res, 1)
        t1, d1, f1, s1 = _axis_start(dy / length, bpy, bny, res, sy)
        t2, d2, f2, s2 = _axis_start(dz / length, bpz, bnz, res, sz)
        flen = np.float64(length)
        pos = opos
        kx, ky, kz = okx, oky, okz
        while True:
            # OctoMap's choice: x if tMax[0] < tMax[1] and < tMax[2]; y if tMax[1] <= tMax[0] and
            # < tMax[2]; z otherwise.
            if t0 < t1:
                if t0 < t2:
                    t0 += d0
                    pos += f0
                    kx += s0
                else:
                    t2 += d2
                    pos += f2
                    kz += s2
            else:
                if t1 < t2:
                    t1 += d1
                    pos += f1
                    ky += s1
                else:
                    t2 += d2
                    pos += f2
                    kz += s2
            if pos == epos:
                break
            if min(t0, t1, t2) > flen:
                break
            new = mark(marks, pos, kx, ky, kz, MARK_FREE, x0, y0, z0, x1, y1, z1, nx, ny)
            if new >= 0:
                nt = _register(new, nx, ny, nbx, nby, block_flags, touched, nt)
    return nt


# ---------------------------------------------------------------- the kernels
@njit(cache=True)
def mark_scan(ends, keys, flags, count, origin, res, box_lo, dims, marks, block_flags, touched, nt, dedup):
    """Mark occupied end voxels and free ray cells of one scan in a box that holds every
    cell of every ray (the caller pads the key bounds by 2 cells), listing each block the first
    time one of its cells is marked. Returns the number of touched blocks listed in ``touched``."""
    nx, ny = dims[0], dims[1]
    return _mark_rays(ends, keys, flags, count, origin, res, dedup, nx, nx * ny, _mark_tracking, _cast_in_box,
                      marks, box_lo, box_lo, nx, ny, block_flags, touched, nt)


@njit(cache=True)
def mark_scan_dense(ends, keys, flags, count, origin, res, box_lo, dims, marks, dedup):
    """``mark_scan`` without block tracking: marks are ORed in unconditionally, so the ray walk has no
    data-dependent branch besides the axis choice; call ``marks.marked_blocks`` after the last chunk
    of the scan. The cells marked are the same as ``mark_scan``'s (the box must hold every ray cell)."""
    nx, ny = dims[0], dims[1]
    _mark_rays(ends, keys, flags, count, origin, res, dedup, nx, nx * ny, _mark_dense, _cast_in_box,
               marks, box_lo, box_lo, nx, ny, marks[:0], np.empty(0, dtype=np.int64), 0)


@njit(cache=True)
def mark_scan_clipped(ends, keys, flags, count, origin, res, box_lo, box_hi, dims, marks, block_flags, touched,
                      nt, dedup):
    """Mark occupied end voxels and free ray cells of one scan inside the box [box_lo, box_hi] (keys,
    inclusive) whose flat mark array has dims (nx, ny, nz). Cells outside the box are skipped, so a
    scan too large for one box is processed box by box with identical results. Returns the updated
    count of touched blocks."""
    return _mark_rays(ends, keys, flags, count, origin, res, dedup, _CLIP_SY, _CLIP_SZ, _mark_clipped,
                      _cast_clipped, marks, box_lo, box_hi, dims[0], dims[1], block_flags, touched, nt)


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
