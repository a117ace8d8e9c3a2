"""Native map files: one NumPy ``.npz`` holding the used voxel blocks, the change indices and the
settings (JSON), with a format name and version that are checked on load."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from robomem.errors import InvalidMapError
from robomem.mapping.keys import BLOCK_BITS, BLOCK_VOXELS
from robomem.mapping.store import BlockStore, _rehash

FORMAT_NAME = "robomem.OccupancyOctree"
FORMAT_VERSION = 1


#: The arrays of a native map file, all with one row per used block.
ARRAYS = ("block_keys", "logodds", "changed", "block_changed")


def save_native(path, meta: dict, block_keys: np.ndarray, logodds: np.ndarray, changed: np.ndarray,
                block_changed: np.ndarray) -> None:
    """Write a native map file: ``meta`` (JSON-able settings; the format name and version are added)
    and the used rows of the block arrays."""
    meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **meta}
    path = Path(path)
    with open(path, "wb") as f:  # a file object keeps np.savez from appending ".npz"
        np.savez_compressed(f, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                            block_keys=block_keys, logodds=logodds, changed=changed, block_changed=block_changed)


def load_native(path) -> tuple[dict, dict]:
    """(meta, arrays) of a native map file, the arrays (``ARRAYS``) checked for shape, dtype, key
    range and uniqueness and the log-odds for inf. The settings in ``meta`` are the caller's to
    check. Raises InvalidMapError on a missing, corrupt or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise InvalidMapError(f"map file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            need = {"meta", *ARRAYS}
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
    return meta, {"block_keys": block_keys, "logodds": lo, "changed": changed, "block_changed": block_changed}


def store_from_blocks(block_keys: np.ndarray, logodds: np.ndarray, changed: np.ndarray,
                      block_changed: np.ndarray) -> BlockStore:
    """A :class:`BlockStore` holding exactly these blocks (as read by :func:`load_native`)."""
    n = len(block_keys)
    st = BlockStore(capacity=max(n, 1))
    st.reserve(n)
    st.logodds[:n] = logodds
    st.changed[:n] = changed
    st.block_changed[:n] = block_changed
    st.block_keys[:n] = block_keys
    st.n_blocks_arr[0] = n
    st.table_keys[:] = -1
    tk, ts = _rehash(block_keys, n, st.bits)
    st.table_keys[:] = tk
    st.table_slots[:] = ts
    return st
