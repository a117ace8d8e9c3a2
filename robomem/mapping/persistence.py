"""Native map files: one NumPy ``.npz`` holding the used voxel blocks, the change indices and the
settings (JSON), with a format name and version that are checked on load."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from robomem.errors import InvalidInputError, InvalidMapError
from robomem.mapping.keys import BLOCK_BITS, BLOCK_VOXELS
from robomem.mapping.store import BlockStore

FORMAT_NAME = "robomem.OccupancyOctree"
FORMAT_VERSION = 1


def save_native(tree, path) -> None:
    st = tree._store
    n = st.n_blocks
    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "resolution": tree.resolution,
        "prob_hit": tree.rules.prob_hit,
        "prob_miss": tree.rules.prob_miss,
        "clamp_min": tree.rules.clamp_min,
        "clamp_max": tree.rules.clamp_max,
        "occupancy_threshold": tree.rules.occupancy_threshold,
        "max_range": tree.max_range,
        "decay": None if tree.decay is None else {"half_life_s": tree.decay.half_life_s,
                                                   "forget_probability": tree.decay.forget_probability},
        "update_count": tree._update_count,
        "last_stamp_ns": tree._last_stamp_ns,
    }
    path = Path(path)
    with open(path, "wb") as f:  # a file object keeps np.savez from appending ".npz"
        np.savez_compressed(f, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                            block_keys=st.block_keys[:n], logodds=st.logodds[:n], changed=st.changed[:n],
                            block_changed=st.block_changed[:n])


def load_native(path):
    from robomem.mapping.octree import Decay, OccupancyOctree

    path = Path(path)
    if not path.is_file():
        raise InvalidMapError(f"map file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            need = {"meta", "block_keys", "logodds", "changed", "block_changed"}
            if not need <= names:
                raise InvalidMapError(f"{path}: not a robomem map (missing {sorted(need - names)})")
            meta = json.loads(bytes(z["meta"].astype(np.uint8)).decode())
            block_keys, lo, changed = z["block_keys"], z["logodds"], z["changed"]
            block_changed = z["block_changed"]
    except InvalidMapError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, UnicodeDecodeError) as exc:
        raise InvalidMapError(f"{path}: unreadable or corrupt map file ({type(exc).__name__}: {exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise InvalidMapError(f"{path}: not a robomem occupancy map (format {meta.get('format')!r})"
                              if isinstance(meta, dict) else f"{path}: bad metadata")
    if meta.get("version") != FORMAT_VERSION:
        raise InvalidMapError(f"{path}: unsupported map version {meta.get('version')!r} (expected {FORMAT_VERSION})")
    n = len(block_keys)
    if block_keys.dtype != np.int64 or block_keys.ndim != 1 or lo.dtype != np.float32 or lo.shape != (n, BLOCK_VOXELS) \
            or changed.dtype != np.uint16 or changed.shape != (n, BLOCK_VOXELS) \
            or block_changed.dtype != np.int32 or block_changed.shape != (n,):
        raise InvalidMapError(f"{path}: block arrays have wrong shapes or dtypes")
    if n and (block_keys.min() < 0 or block_keys.max() >= (1 << (3 * BLOCK_BITS)) or len(np.unique(block_keys)) != n):
        raise InvalidMapError(f"{path}: invalid or duplicate block keys")
    if np.isinf(lo).any():
        raise InvalidMapError(f"{path}: log-odds contain inf")
    try:
        decay = None if meta.get("decay") is None else Decay(**meta["decay"])
        tree = OccupancyOctree(meta["resolution"], meta["prob_hit"], meta["prob_miss"], meta["clamp_min"],
                               meta["clamp_max"], meta["occupancy_threshold"], meta["max_range"], decay)
    except (KeyError, TypeError, InvalidInputError) as exc:
        raise InvalidMapError(f"{path}: invalid settings ({exc})") from None
    known = lo[~np.isnan(lo)]
    if known.size and (known.min() < tree.rules.min - 1e-6 or known.max() > tree.rules.max + 1e-6):
        raise InvalidMapError(f"{path}: log-odds outside the clamping range")
    st = BlockStore(capacity=max(n, 1))
    st.reserve(n)
    st.logodds[:n] = lo
    st.changed[:n] = changed
    st.block_changed[:n] = block_changed
    _insert_blocks(st, block_keys)
    tree._store = st
    tree._update_count = int(meta.get("update_count", 0))
    tree._last_stamp_ns = meta.get("last_stamp_ns")
    return tree


def _insert_blocks(st: BlockStore, block_keys: np.ndarray) -> None:
    n = len(block_keys)
    st.block_keys[:n] = block_keys
    st.n_blocks_arr[0] = n
    st.table_keys[:] = -1
    _fill_table(st.table_keys, st.table_slots, st.bits, block_keys)


def _fill_table(table_keys, table_slots, bits, block_keys):
    from robomem.mapping.store import _rehash
    tk, ts = _rehash(block_keys, len(block_keys), bits)
    table_keys[:] = tk
    table_slots[:] = ts
