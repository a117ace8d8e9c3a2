"""Helpers shared by the OctoMap comparison tests and benchmark: leaf sets of a pyoctomap tree."""
from __future__ import annotations

import numpy as np

KEY_OFFSET = 32768


def make_octomap(resolution: float, clamp_min: float = 0.12, clamp_max: float = 0.97):
    """A pyoctomap ``OcTree`` with robomem's default settings. OctoMap's own constructor defaults
    differ slightly in the clamping bounds (0.1192 / 0.971, log-odds -2 / 3.5)."""
    import pyoctomap
    tree = pyoctomap.OcTree(resolution)
    tree.setProbHit(0.7)
    tree.setProbMiss(0.4)
    tree.setOccupancyThres(0.5)
    tree.setClampingThresMin(clamp_min)
    tree.setClampingThresMax(clamp_max)
    return tree


def octomap_leaves(tree, resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """Leaf keys (N, 3) at depth 16 and float32 log-odds of a pyoctomap ``OcTree``; pruned (coarser)
    leaves are expanded into the voxels they stand for."""
    keys, vals = [], []
    for it in tree.begin_leafs():
        c = np.asarray(it.getCoordinate(), dtype=np.float64)
        n = int(round(it.getSize() / resolution))
        L = it.current_node.getLogOdds()
        base = np.floor(c / resolution - n / 2 + 0.5).astype(np.int64) + KEY_OFFSET
        if n == 1:
            keys.append(base[None])
        else:
            g = np.stack(np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 3)
            keys.append(base[None] + g)
        vals.append(np.full(n ** 3, L, dtype=np.float32))
    if not keys:
        return np.zeros((0, 3), np.int64), np.zeros(0, np.float32)
    return np.concatenate(keys), np.concatenate(vals)


def state_agreement(keys_a, occ_a, keys_b, occ_b) -> tuple[float, int, int]:
    """Fraction of voxels known to either map whose state (free/occupied/unknown) is the same in
    both, the number of such voxels and the number of disagreements."""
    def code(k):
        k = np.asarray(k, dtype=np.int64)
        return k[:, 0] | (k[:, 1] << 16) | (k[:, 2] << 32)
    ca, cb = code(keys_a), code(keys_b)
    sa = dict(zip(ca.tolist(), np.asarray(occ_a).tolist()))
    sb = dict(zip(cb.tolist(), np.asarray(occ_b).tolist()))
    union = set(sa) | set(sb)
    bad = sum(1 for c in union if sa.get(c) != sb.get(c))
    return (1.0 - bad / len(union)) if union else 1.0, len(union), bad
