"""OctoMap's binary ``.bt`` format (``OcTree::writeBinary`` / ``readBinary``).

A text header (``# Octomap OcTree binary file``, ``id OcTree``, ``size N``, ``res R``, ``data``)
followed by the tree in depth-first order: for every inner node two bytes holding 2 bits per child
(children 0-3 in the first byte, 4-7 in the second; child i uses bits 2i and 2i+1): 00 unknown,
01 (bit 2i set) free leaf, 10 (bit 2i+1 set) occupied leaf, 11 inner node whose own two bytes follow
later, children in index order (index = x bit + 2 y bit + 4 z bit). The content is the maximum-
likelihood map: leaves are only free or occupied, and 8 equal leaf siblings are merged into their
parent (OctoMap prunes before writing)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from robomem.errors import InvalidMapError
from robomem.mapping.keys import TREE_DEPTH

HEADER = "# Octomap OcTree binary file"
_FREE, _OCC, _INNER = 1, 2, 3
MAX_EXPANDED_VOXELS = 400_000_000


def _morton(keys16: np.ndarray) -> np.ndarray:
    """Interleave 16-bit keys into a 48-bit code, z bit highest in each triple (OctoMap child order)."""
    code = np.zeros(len(keys16), dtype=np.int64)
    for b in range(TREE_DEPTH):
        code |= ((keys16[:, 0] >> b) & 1) << (3 * b)
        code |= ((keys16[:, 1] >> b) & 1) << (3 * b + 1)
        code |= ((keys16[:, 2] >> b) & 1) << (3 * b + 2)
    return code


def _pack(k: np.ndarray) -> np.ndarray:
    return k[:, 0] | (k[:, 1] << 16) | (k[:, 2] << 32)


def build_tree_stream(keys: np.ndarray, occupied: np.ndarray) -> tuple[bytes, int]:
    """Serialised node stream and node count (root included) of the pruned maximum-likelihood tree
    whose leaves at depth 16 are ``keys`` (N, 3) with states ``occupied`` (N,) bool."""
    if len(keys) == 0:
        return b"", 0
    node_keys = np.asarray(keys, dtype=np.int64)
    node_type = np.where(occupied, _OCC, _FREE).astype(np.int64)
    inner_keys, inner_depth, inner_bytes = [], [], []
    n_nodes = 1  # the root
    for depth in range(TREE_DEPTH, 0, -1):
        parent = node_keys >> 1
        child = (node_keys[:, 0] & 1) | ((node_keys[:, 1] & 1) << 1) | ((node_keys[:, 2] & 1) << 2)
        pcode = _pack(parent)
        order = np.argsort(pcode, kind="stable")
        pcode_s, child_s, type_s = pcode[order], child[order], node_type[order]
        starts = np.flatnonzero(np.r_[True, pcode_s[1:] != pcode_s[:-1]])
        counts = np.diff(np.r_[starts, len(pcode_s)])
        group = np.repeat(np.arange(len(starts)), counts)
        tmin = np.minimum.reduceat(type_s, starts)
        tmax = np.maximum.reduceat(type_s, starts)
        collapse = (counts == 8) & (tmin == tmax) & (tmax != _INNER)
        # Children of non-collapsed parents stay in the tree: emit their codes into the parent bytes.
        keep_child = ~collapse[group]
        n_nodes += int(keep_child.sum())
        bits = (type_s[keep_child] << (2 * (child_s[keep_child] & 3))).astype(np.int64)
        which = child_s[keep_child] >> 2
        g = group[keep_child]
        b0 = np.zeros(len(starts), dtype=np.int64)
        b1 = np.zeros(len(starts), dtype=np.int64)
        np.add.at(b0, g[which == 0], bits[which == 0])
        np.add.at(b1, g[which == 1], bits[which == 1])
        first = order[starts]
        pkeys = parent[first]
        inner = ~collapse
        inner_keys.append(pkeys[inner] << (TREE_DEPTH - depth + 1))
        inner_depth.append(np.full(int(inner.sum()), depth - 1, dtype=np.int64))
        inner_bytes.append(np.stack([b0[inner], b1[inner]], axis=1).astype(np.uint8))
        node_keys = pkeys
        node_type = np.where(collapse, tmax, _INNER)
    ik = np.concatenate(inner_keys)
    idp = np.concatenate(inner_depth)
    ib = np.concatenate(inner_bytes)
    order = np.lexsort((idp, _morton(ik)))
    return ib[order].tobytes(), n_nodes


def write_bt(path, keys: np.ndarray, occupied: np.ndarray, resolution: float) -> None:
    """Write the leaves ``keys`` (N, 3) at depth 16 with states ``occupied`` (N,) bool, voxel edge
    ``resolution``, to ``path`` as an OctoMap ``.bt`` file (pruned maximum-likelihood tree)."""
    stream, n_nodes = build_tree_stream(keys, occupied)
    header = (f"{HEADER}\n# (feel free to add / change comments, but leave the first line as it is!)\n#\n"
              f"id OcTree\nsize {n_nodes}\nres {resolution:g}\ndata\n")
    with open(Path(path), "wb") as f:
        f.write(header.encode("ascii"))
        f.write(stream)


@njit(cache=True)
def _parse_stream(data, pos):
    """Leaves (key at its depth (M, 3), depth (M,), occupied (M,)) of a binary node stream starting
    at ``pos``; returns an error code (0 ok, 1 truncated, 2 too deep) and the end position."""
    cap = 1024
    lk = np.empty((cap, 3), dtype=np.int64)
    ld = np.empty(cap, dtype=np.int64)
    lo = np.empty(cap, dtype=np.bool_)
    m = 0
    sk = np.zeros((TREE_DEPTH + 1, 3), dtype=np.int64)
    scodes = np.zeros(TREE_DEPTH + 1, dtype=np.int64)
    snext = np.zeros(TREE_DEPTH + 1, dtype=np.int64)
    top = 0  # stack[0] = root (depth 0)
    if pos + 2 > len(data):
        return lk[:0], ld[:0], lo[:0], 1, pos
    scodes[0] = np.int64(data[pos]) | (np.int64(data[pos + 1]) << 8)
    pos += 2
    snext[0] = 0
    while top >= 0:
        codes = scodes[top]
        i = snext[top]
        if i == 0:
            # first visit: emit leaf children
            for c in range(8):
                t = (codes >> (2 * c)) & 3
                if t == 1 or t == 2:
                    if m == cap:
                        cap *= 2
                        nk = np.empty((cap, 3), dtype=np.int64)
                        nk[:m] = lk[:m]
                        nd = np.empty(cap, dtype=np.int64)
                        nd[:m] = ld[:m]
                        no = np.empty(cap, dtype=np.bool_)
                        no[:m] = lo[:m]
                        lk, ld, lo = nk, nd, no
                    lk[m, 0] = (sk[top, 0] << 1) | (c & 1)
                    lk[m, 1] = (sk[top, 1] << 1) | ((c >> 1) & 1)
                    lk[m, 2] = (sk[top, 2] << 1) | ((c >> 2) & 1)
                    ld[m] = top + 1
                    lo[m] = t == 2
                    m += 1
        # next inner child
        while i < 8 and ((codes >> (2 * i)) & 3) != 3:
            i += 1
        if i == 8:
            top -= 1
            continue
        snext[top] = i + 1
        if top + 1 >= TREE_DEPTH:
            return lk[:m], ld[:m], lo[:m], 2, pos
        if pos + 2 > len(data):
            return lk[:m], ld[:m], lo[:m], 1, pos
        sk[top + 1, 0] = (sk[top, 0] << 1) | (i & 1)
        sk[top + 1, 1] = (sk[top, 1] << 1) | ((i >> 1) & 1)
        sk[top + 1, 2] = (sk[top, 2] << 1) | ((i >> 2) & 1)
        scodes[top + 1] = np.int64(data[pos]) | (np.int64(data[pos + 1]) << 8)
        snext[top + 1] = 0
        pos += 2
        top += 1
    return lk[:m], ld[:m], lo[:m], 0, pos


def _read_header(raw: bytes, path) -> tuple[float, int, int]:
    """(resolution, size, offset of the binary data)."""
    pos = 0

    def line():
        nonlocal pos
        end = raw.find(b"\n", pos)
        if end < 0:
            raise InvalidMapError(f"{path}: truncated .bt header")
        s = raw[pos:end].decode("ascii", errors="replace").strip()
        pos = end + 1
        return s

    first = line()
    if not first.startswith(HEADER):
        raise InvalidMapError(f"{path}: not an OctoMap binary file (first line {first[:60]!r})")
    res = size = tree_id = None
    for _ in range(1000):
        s = line()
        if not s or s.startswith("#"):
            continue
        tok = s.split()
        if tok[0] == "id" and len(tok) == 2:
            tree_id = tok[1]
        elif tok[0] == "size" and len(tok) == 2:
            size = tok[1]
        elif tok[0] == "res" and len(tok) == 2:
            res = tok[1]
        elif tok[0] == "data":
            break
        else:
            raise InvalidMapError(f"{path}: unexpected header line {s[:60]!r}")
    else:
        raise InvalidMapError(f"{path}: no 'data' line in the header")
    if tree_id is None or "OcTree" not in tree_id:
        raise InvalidMapError(f"{path}: unsupported tree id {tree_id!r}")
    try:
        r, n = float(res), int(size)
    except (TypeError, ValueError):
        raise InvalidMapError(f"{path}: bad 'res' or 'size' in header ({res!r}, {size!r})") from None
    if not np.isfinite(r) or r <= 0 or n < 0:
        raise InvalidMapError(f"{path}: bad resolution {r} or size {n}")
    return r, n, pos


def read_bt(path) -> tuple[float, np.ndarray, np.ndarray]:
    """Leaves of an OctoMap ``.bt`` file: (resolution, keys (N, 3) int64 at depth 16, occupied (N,)
    bool), pruned nodes expanded to their leaves. Raises InvalidMapError on a missing, foreign,
    truncated or oversized file."""
    path = Path(path)
    if not path.is_file():
        raise InvalidMapError(f".bt file not found: {path}")
    raw = path.read_bytes()
    res, size, pos = _read_header(raw, path)
    if size == 0:
        return res, np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=bool)
    data = np.frombuffer(raw, dtype=np.uint8)
    keys, depth, occ, err, end = _parse_stream(data, pos)
    if err == 1:
        raise InvalidMapError(f"{path}: truncated .bt data")
    if err == 2:
        raise InvalidMapError(f"{path}: .bt tree deeper than {TREE_DEPTH} levels")
    shift = TREE_DEPTH - depth
    total = int(np.sum(np.int64(1) << (3 * shift))) if len(depth) else 0
    if total > MAX_EXPANDED_VOXELS:
        raise InvalidMapError(f"{path}: map expands to {total:,} voxels, more than {MAX_EXPANDED_VOXELS:,}")
    all_keys, all_occ = [], []
    for d in np.unique(depth):
        sel = depth == d
        s = TREE_DEPTH - int(d)
        base = keys[sel] << s
        m = 1 << s
        g = np.stack(np.meshgrid(np.arange(m), np.arange(m), np.arange(m), indexing="ij"), -1).reshape(-1, 3)
        all_keys.append((base[:, None, :] + g[None]).reshape(-1, 3))
        all_occ.append(np.repeat(occ[sel], len(g)))
    if not all_keys:
        return res, np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=bool)
    return res, np.concatenate(all_keys), np.concatenate(all_occ)
