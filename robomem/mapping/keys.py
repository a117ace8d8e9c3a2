"""Voxel keys and coordinates, exactly as OctoMap computes them.

A key is three uint16-range integers ``floor(coord / resolution) + 32768`` (a 16-level tree). Like
OctoMap, coordinates are rounded to float32 first (OctoMap's ``point3d`` is float) and multiplied by
the double ``1 / resolution``, so boundary cases land in the same voxel as in OctoMap.
Keys are grouped in cubic blocks of ``BLOCK`` = 8 voxels per side for storage."""
from __future__ import annotations

import numpy as np
from numba import njit

TREE_DEPTH = 16
KEY_OFFSET = 1 << (TREE_DEPTH - 1)  # 32768, OctoMap's tree_max_val
KEY_LIMIT = 1 << TREE_DEPTH  # keys are in [0, 65536)
BLOCK_SHIFT = 3
BLOCK = 1 << BLOCK_SHIFT
BLOCK_MASK = BLOCK - 1
BLOCK_VOXELS = BLOCK ** 3
BLOCK_BITS = TREE_DEPTH - BLOCK_SHIFT  # 13 bits per block coordinate


@njit(cache=True, inline="always")
def coord_to_key(c32, inv_res):
    """OctoMap ``coordToKey``: ``floor(inv_res * double(float32 coord)) + 32768`` (may be out of range)."""
    return np.int64(np.floor(inv_res * np.float64(c32))) + KEY_OFFSET


@njit(cache=True, inline="always")
def key_to_coord(k, res):
    """Centre of leaf key ``k`` along one axis (double), OctoMap ``keyToCoord``."""
    return (np.float64(k - KEY_OFFSET) + 0.5) * res


@njit(cache=True, inline="always")
def key_in_range(k):
    return 0 <= k < KEY_LIMIT


@njit(cache=True, inline="always")
def pack_block(bx, by, bz):
    """Block coordinates (each < 8192) packed into one int64."""
    return np.int64(bx) | (np.int64(by) << BLOCK_BITS) | (np.int64(bz) << (2 * BLOCK_BITS))


@njit(cache=True, inline="always")
def voxel_offset(kx, ky, kz):
    """Index of a voxel inside its block (x fastest)."""
    return ((kz & BLOCK_MASK) << (2 * BLOCK_SHIFT)) | ((ky & BLOCK_MASK) << BLOCK_SHIFT) | (kx & BLOCK_MASK)


def unpack_blocks(packed: np.ndarray) -> np.ndarray:
    """(N, 3) int64 block coordinates of packed block keys."""
    m = (1 << BLOCK_BITS) - 1
    p = np.asarray(packed, dtype=np.int64)
    return np.stack([p & m, (p >> BLOCK_BITS) & m, (p >> (2 * BLOCK_BITS)) & m], axis=1)


def pack_blocks(blocks: np.ndarray) -> np.ndarray:
    b = np.asarray(blocks, dtype=np.int64)
    return b[:, 0] | (b[:, 1] << BLOCK_BITS) | (b[:, 2] << (2 * BLOCK_BITS))


def points_to_keys(points: np.ndarray, resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """Keys (N, 3) int64 of world points (N, 3) and a mask of those inside the key range."""
    p = np.asarray(points, dtype=np.float32).astype(np.float64)
    k = np.floor(p * (1.0 / resolution)).astype(np.int64) + KEY_OFFSET
    valid = np.all((k >= 0) & (k < KEY_LIMIT), axis=1) if len(k) else np.zeros(0, bool)
    return k, valid


def keys_to_points(keys: np.ndarray, resolution: float, depth: int = TREE_DEPTH) -> np.ndarray:
    """Centres (N, 3) float64 of keys given at tree ``depth`` (a key at depth d is the leaf key
    shifted right by 16 - d), as OctoMap's ``keyToCoord(key, depth)``."""
    shift = TREE_DEPTH - depth
    k = np.asarray(keys, dtype=np.int64)
    size = resolution * (1 << shift)
    return ((k - (KEY_OFFSET >> shift)).astype(np.float64) + 0.5) * size
