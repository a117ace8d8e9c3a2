"""One pass over a frame's pixels for :func:`robomem.perception.segments.extract_segments`: the
valid-depth pixels of labelled object instances as world points, and the instance ids that have no
label. Replaces a whole-image ``np.unique``, a back-projection of every pixel, ``np.isin`` and a
transform of all points by a numba loop that touches each pixel once (same numbers: the float32
camera point ``depth * ray`` of :attr:`CameraIntrinsics.pixel_rays`, then the same float64
multiply-adds as :func:`robomem.pose.transform_points`)."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _find(sorted_ids, v):
    """Index of ``v`` in ``sorted_ids`` or -1 (binary search)."""
    lo, hi = 0, sorted_ids.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if sorted_ids[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    if lo < sorted_ids.shape[0] and sorted_ids[lo] == v:
        return lo
    return -1


@njit(cache=True)
def missing_label_ids(ids, label_ids):
    """Sorted distinct non-zero ids of the image ``ids`` (H, W) that are not in ``label_ids`` (sorted)."""
    H, W = ids.shape
    out = np.empty(0, np.int64)
    buf = np.empty(64, np.int64)
    nb = 0
    last = np.int64(-1)
    last_missing = False
    for r in range(H):
        for c in range(W):
            v = np.int64(ids[r, c])
            if v == last:
                if last_missing and nb == 0:
                    buf[0] = v
                    nb = 1
                continue
            last = v
            last_missing = v != 0 and _find(label_ids, v) < 0
            if last_missing:
                if nb == buf.shape[0]:
                    out = np.unique(np.concatenate((out, buf[:nb])))
                    nb = 0
                buf[nb] = v
                nb += 1
    return np.unique(np.concatenate((out, buf[:nb])))


@njit(cache=True)
def object_pixels(depth, ids, keep_ids, rays, stride, R, t):
    """World points (N, 3) float64, camera depths (N,) float32, flat pixel indices (N,) of the
    ``stride``-subsampled image and instance ids (N,) of the pixels with a valid depth (finite,
    > 0) whose instance id is in ``keep_ids`` (sorted), in pixel order."""
    H, W = depth.shape
    rows = (H + stride - 1) // stride
    cols = (W + stride - 1) // stride
    n = 0
    last = np.int64(-1)
    last_keep = False
    sel = np.empty(rows * cols, np.int64)
    for r in range(rows):
        for c in range(cols):
            v = np.int64(ids[r * stride, c * stride])
            if v != last:
                last = v
                last_keep = _find(keep_ids, v) >= 0
            if not last_keep:
                continue
            d = np.float32(depth[r * stride, c * stride])
            if np.isfinite(d) and d > 0:
                sel[n] = r * cols + c
                n += 1
    pts = np.empty((n, 3), np.float64)
    rng = np.empty(n, np.float32)
    gid = np.empty(n, np.int64)
    for k in range(n):
        p = sel[k]
        r = (p // cols) * stride
        c = (p % cols) * stride
        d = np.float32(depth[r, c])
        x = np.float64(rays[r, c, 0] * d)
        y = np.float64(rays[r, c, 1] * d)
        z = np.float64(rays[r, c, 2] * d)
        for i in range(3):
            pts[k, i] = x * R[i, 0] + y * R[i, 1] + z * R[i, 2] + t[i]
        rng[k] = np.float32(rays[r, c, 2] * d)
        gid[k] = np.int64(ids[r, c])
    return pts, rng, sel[:n].copy(), gid
