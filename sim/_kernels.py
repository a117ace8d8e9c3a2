"""numba kernels of the per-frame path of :class:`sim.embedded.EmbeddedSim` (single pass, no
BLAS, no temporaries)."""
from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def fill_rays(rays, u, v, R, o):
    """rays[i] = (o, R @ (u[i], v[i], 1)) as float32: world rays whose t_hit is the z-depth."""
    for i in range(u.shape[0]):
        a = u[i]
        b = v[i]
        rays[i, 0] = o[0]
        rays[i, 1] = o[1]
        rays[i, 2] = o[2]
        rays[i, 3] = R[0, 0] * a + R[0, 1] * b + R[0, 2]
        rays[i, 4] = R[1, 0] * a + R[1, 1] * b + R[1, 2]
        rays[i, 5] = R[2, 0] * a + R[2, 1] * b + R[2, 2]


@nb.njit(cache=True, nogil=True)
def shade_hits(t_hit, prim, n_tri, tri_part, tri_rgb, part_instance, part_semantic, max_depth,
               depth, rgb, inst, sem, part_count):
    """Turn one cast's hits into depth (0 = miss or beyond max_depth), RGB, instance and semantic
    images, counting the pixels per part so labels can list only the parts in view."""
    for i in range(prim.shape[0]):
        p = prim[i]
        t = n_tri if p >= n_tri else p
        k = tri_part[t]
        part_count[k] += 1
        d = t_hit[i]
        if not np.isfinite(d) or d > max_depth:
            d = 0.0
        depth[i] = d
        rgb[i, 0] = tri_rgb[t, 0]
        rgb[i, 1] = tri_rgb[t, 1]
        rgb[i, 2] = tri_rgb[t, 2]
        inst[i] = part_instance[k]
        sem[i] = part_semantic[k]
