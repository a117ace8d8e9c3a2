"""From a scan's points to its rays: world points of a depth image, the key bounds of a scan, and
the ray end points, end keys and flags OctoMap's ``insertPointCloud`` derives from the points
(max-range truncation, discretized mode's one ray per end voxel).

Arithmetic follows OctoMap's float/double mix step by step (float32 points and ray lengths, double
key conversion) so the ends, and so the traversed cells, are the same."""
from __future__ import annotations

import numpy as np
from numba import njit

from robomem.mapping.keys import coord_to_key, key_in_range, key_to_coord

FLAG_RAY = 1  # cast a free-space ray to the end point
FLAG_OCC = 2  # the end point voxel is occupied (ray end within max range)


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
