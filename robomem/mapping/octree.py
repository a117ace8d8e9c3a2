"""`OccupancyOctree`: OctoMap's probabilistic occupancy map on a sparse hashed-block store.

The answers are OctoMap's (same keys, ray cells, per-scan set semantics, float32 log-odds with
clamping, max-child rule for coarser depths); the storage is flat 8x8x8 blocks found through a hash
table, and the per-scan work runs in numba kernels."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from robomem.camera import CameraIntrinsics
from robomem.errors import InvalidImageError, InvalidInputError, InvalidMapError
from robomem.mapping import bt, integrate, persistence, queries
from robomem.mapping.grid2d import GRID_FREE, GRID_OCCUPIED, GRID_UNKNOWN, OccupancyGrid2D
from robomem.mapping.keys import BLOCK, BLOCK_SHIFT, KEY_LIMIT, TREE_DEPTH, keys_to_points, pack_blocks, points_to_keys
from robomem.mapping.logodds import UpdateRules, logodds, probability
from robomem.mapping.checks import check_max_range as _check_max_range
from robomem.mapping.checks import check_point3 as _check_point3
from robomem.mapping.checks import check_points as _check_points
from robomem.mapping.checks import check_resolution as _check_resolution
from robomem.mapping.octree_blocks import BlockAccessMixin
from robomem.mapping.store import BlockStore, anonymous_array
from robomem.pose import validate_pose

UNKNOWN = -1
FREE = 0
OCCUPIED = 1

#: Largest scan-local mark box (cells = bytes) before a scan is processed in tiles.
MAX_BOX_CELLS = 1 << 25
#: Points per chunk of a scan (bounds the per-scan ray buffers to ~0.1 MB, which counts in peak memory).
CHUNK = 1 << 12
#: A one-tile scan whose box has at most this many cells per point marks without block tracking and
#: finds the marked blocks by one sweep of the box afterwards (``integrate.marked_blocks``); the
#: sweep reads about a byte per cell, far less than what the branch-free ray walk saves per ray cell
#: unless the box is much larger than the scan.
DENSE_CELLS_PER_POINT = 64


@dataclass(frozen=True)
class Decay:
    """Forgetting of occupied evidence (off unless passed to :class:`OccupancyOctree`).

    At every insertion with a ``stamp_ns``, each voxel with positive log-odds L is relaxed toward 0
    (probability 0.5) as ``L * 2 ** (-dt / half_life_s)``, dt being the time since the previous
    stamped insertion; a voxel whose probability falls below ``forget_probability`` becomes
    unknown. Free evidence is not decayed. The current scan is applied after the decay, so what is
    seen now is at full strength. With the defaults (clamp 0.97, forget 0.55) a fully confident
    obstacle that is never seen again is forgotten after about 5.1 half-lives."""

    half_life_s: float
    forget_probability: float = 0.55

    def __post_init__(self) -> None:
        if not (isinstance(self.half_life_s, (int, float)) and math.isfinite(self.half_life_s)
                and self.half_life_s > 0):
            raise InvalidInputError(f"decay half_life_s must be a positive number, got {self.half_life_s!r}")
        if not 0.5 < float(self.forget_probability) < 1.0:
            raise InvalidInputError(f"decay forget_probability must be in (0.5, 1), got {self.forget_probability!r}")


class OccupancyOctree(BlockAccessMixin):
    """Probabilistic 3-D occupancy map with OctoMap's semantics.

    Voxels are unknown, free or occupied. Each scan updates every voxel it touches once: voxels a
    ray passes through get ``prob_miss``, end-point voxels within ``max_range`` get ``prob_hit``
    (and are not also counted free); log-odds are clamped to [clamp_min, clamp_max] and a voxel is
    occupied when its probability is >= ``occupancy_threshold``. Rays longer than ``max_range``
    clear space up to max range and mark nothing occupied. The map is unbounded (keys cover
    +-32768 voxels per axis, as OctoMap's 16-level tree) and sparse. Block export/import for
    storage layers: :class:`~robomem.mapping.octree_blocks.BlockAccessMixin`."""

    def __init__(self, resolution: float = 0.05, prob_hit: float = 0.7, prob_miss: float = 0.4,
                 clamp_min: float = 0.12, clamp_max: float = 0.97, occupancy_threshold: float = 0.5,
                 max_range: float = -1.0, decay: Optional[Decay] = None) -> None:
        self.resolution = _check_resolution(resolution)
        self.rules = UpdateRules(prob_hit, prob_miss, clamp_min, clamp_max, occupancy_threshold)
        self.max_range = _check_max_range(max_range)
        if decay is not None and not isinstance(decay, Decay):
            raise InvalidInputError(f"decay must be a Decay or None, got {type(decay).__name__}")
        self.decay = decay
        self._store = BlockStore()
        self._update_count = 0
        self._last_stamp_ns: Optional[int] = None
        self._modified: list = []        # block slots written since take_modified_blocks()
        self._modified_all = False

    # ------------------------------------------------------------------ settings
    @property
    def prob_hit(self) -> float:
        return self.rules.prob_hit

    @property
    def prob_miss(self) -> float:
        return self.rules.prob_miss

    @property
    def clamp_min(self) -> float:
        return self.rules.clamp_min

    @property
    def clamp_max(self) -> float:
        return self.rules.clamp_max

    @property
    def occupancy_threshold(self) -> float:
        return self.rules.occupancy_threshold

    # ------------------------------------------------------------------ insertion
    def insert_depth(self, depth: np.ndarray, intrinsics: CameraIntrinsics, T_world_camera: np.ndarray, *,
                     discretize: bool = False, max_range: Optional[float] = None,
                     stamp_ns: Optional[int] = None, stride: int = 1) -> int:
        """Insert a depth image (H, W) float32/float64 metres taken from pose ``T_world_camera``
        (optical frame). Readings that are 0, negative, NaN or inf are ignored. ``stride`` > 1
        uses every stride-th pixel in both directions. Returns the number of rays used."""
        if not isinstance(intrinsics, CameraIntrinsics):
            raise InvalidInputError(f"intrinsics must be CameraIntrinsics, got {type(intrinsics).__name__}")
        if not isinstance(depth, np.ndarray) or depth.ndim != 2:
            raise InvalidImageError(f"depth must be a 2-D array, got {getattr(depth, 'shape', type(depth).__name__)}")
        if depth.dtype not in (np.float32, np.float64):
            raise InvalidImageError(f"depth must be float32 metres, got dtype {depth.dtype}")
        intrinsics.check_image(depth, "depth")
        T = validate_pose(T_world_camera, "T_world_camera")
        if not isinstance(stride, (int, np.integer)) or stride < 1:
            raise InvalidInputError(f"stride must be a positive integer, got {stride!r}")
        d = depth if depth.flags.c_contiguous else np.ascontiguousarray(depth)
        pts = integrate.depth_to_world(d, int(stride), float(intrinsics.fx), float(intrinsics.fy),
                                       float(intrinsics.cx), float(intrinsics.cy), T[:3, :3].copy(), T[:3, 3].copy())
        return self._insert(pts, T[:3, 3], discretize, max_range, stamp_ns)

    def insert_points(self, points: np.ndarray, origin, *, discretize: bool = False,
                      max_range: Optional[float] = None, stamp_ns: Optional[int] = None) -> int:
        """Insert world points (N, 3) measured from sensor ``origin`` (3,), like OctoMap's
        ``insertPointCloud(points, origin, max_range, discretize)``. Non-finite rows are ignored.
        Returns the number of rays used."""
        pts = _check_points(points)
        o = _check_point3(origin, "origin")
        return self._insert(pts, o, discretize, max_range, stamp_ns)

    def _insert(self, pts: np.ndarray, origin: np.ndarray, discretize, max_range, stamp_ns) -> int:
        mr = self.max_range if max_range is None else _check_max_range(max_range)
        if stamp_ns is not None:
            if isinstance(stamp_ns, bool) or not isinstance(stamp_ns, (int, np.integer)) or stamp_ns < 0:
                raise InvalidInputError(f"stamp_ns must be a non-negative integer, got {stamp_ns!r}")
            stamp_ns = int(stamp_ns)
        if pts.dtype not in (np.float32, np.float64):
            pts = pts.astype(np.float64)
        pts32 = np.ascontiguousarray(pts)
        o32 = origin.astype(np.float32)
        # Everything validated: from here on the map changes.
        self._update_count += 1
        index = self._update_count
        if self.decay is not None and stamp_ns is not None:
            self._apply_decay(stamp_ns, index)
        if stamp_ns is not None:
            self._last_stamp_ns = stamp_ns
        if len(pts32) == 0:
            return 0
        res = self.resolution
        plo, phi, n_ok = integrate.point_key_bounds(pts32, res)
        okey = np.floor(o32.astype(np.float64) * (1.0 / res)).astype(np.int64) + KEY_LIMIT // 2
        lo, hi = np.minimum(plo, okey), np.maximum(phi, okey)
        n_finite = int(np.isfinite(pts32).all(axis=1).sum()) if n_ok < len(pts32) else n_ok
        if mr > 0:
            # Every ray cell lies within max range (plus a cell) of the origin.
            reach = int(np.ceil(mr / res)) + 2
            if n_finite > n_ok:  # points outside the key range can still give truncated rays
                lo, hi = okey - reach, okey + reach
            else:
                lo, hi = np.maximum(lo, okey - reach), np.minimum(hi, okey + reach)
        elif n_ok == 0:
            return 0
        lo = np.clip(lo - 2, 0, KEY_LIMIT - 1)
        hi = np.clip(hi + 2, 0, KEY_LIMIT - 1)
        lo = (lo >> BLOCK_SHIFT) << BLOCK_SHIFT
        hi = ((hi >> BLOCK_SHIFT) << BLOCK_SHIFT) + BLOCK - 1
        if not getattr(self, "_scratch_clean", False):
            self._scratch_bufs = {}  # first scan, or the previous one was interrupted
        self._scratch_clean = False
        seen = None
        if discretize and n_ok:
            pdims = phi - plo + 1
            if int(np.prod(pdims)) <= MAX_BOX_CELLS:
                seen = self._scratch("seen", (int(np.prod(pdims)) + 7) >> 3)  # one bit per cell
        tiles = list(self._tiles(lo, hi))
        rays = 0
        r = self.rules
        for tlo, thi in tiles:
            dims = (thi - tlo + 1).astype(np.int64)
            ncell = int(np.prod(dims))
            nblk = ncell // (BLOCK ** 3)
            marks = self._scratch("marks", ncell)
            block_flags = self._scratch("block_flags", nblk)
            touched = np.empty(nblk, dtype=np.int64)
            nt = 0
            dense = len(tiles) == 1 and ncell <= DENSE_CELLS_PER_POINT * len(pts32)
            if seen is not None:
                seen[:] = 0
            # Chunks keep the per-scan buffers small; marks do not depend on ray order.
            ends_buf = self._scratch("ends", CHUNK * 12).view(np.float32).reshape(CHUNK, 3)
            keys_buf = self._scratch("keys", CHUNK * 12).view(np.int32).reshape(CHUNK, 3)
            flags_buf = self._scratch("flags", CHUNK)
            if dense and (seen is not None or not discretize):
                # Common case in one numba call: no per-chunk call overhead, so chunks can be small.
                with_seen = seen is not None
                rays += integrate.scan_dense(pts32, o32, res, mr, with_seen, plo, pdims if with_seen else plo,
                                             seen if with_seen else flags_buf, ends_buf, keys_buf, flags_buf,
                                             tlo, dims, marks)
                chunks = range(0)
            else:
                chunks = range(0, len(pts32), CHUNK)
            for c0 in chunks:
                chunk = pts32[c0:c0 + CHUNK]
                if seen is not None:
                    ends, keys, flags, count = integrate.compute_ends_discrete_box(
                        chunk, o32, res, mr, plo, pdims, seen, ends_buf, keys_buf, flags_buf)
                else:
                    bits = max(12, int(np.ceil(np.log2(max(len(chunk) // 4, 1)))) + 1) if discretize else 1
                    ends, keys, flags, count = integrate.compute_ends(chunk, o32, res, mr, bool(discretize),
                                                                      min(bits, 24), ends_buf, keys_buf, flags_buf)
                if count == 0:
                    continue
                rays += count
                if dense:
                    integrate.mark_scan_dense(ends, keys, flags, count, o32, res, tlo, dims, marks, bool(discretize))
                elif len(tiles) == 1:
                    nt = integrate.mark_scan(ends, keys, flags, count, o32, res, tlo, dims, marks, block_flags,
                                             touched, nt, bool(discretize))
                else:
                    nt = integrate.mark_scan_clipped(ends, keys, flags, count, o32, res, tlo, thi, dims, marks,
                                                     block_flags, touched, nt, bool(discretize))
            if dense:
                nt = integrate.marked_blocks(marks, dims, touched)
            if nt:
                st = self._store
                st.reserve(nt)
                integrate.apply_marks(marks, dims, tlo, touched, nt, st.logodds, st.changed, st.block_changed,
                                      st.block_keys, st.n_blocks_arr, st.table_keys, st.table_slots, st.bits,
                                      r.hit, r.miss, r.min, r.max, r.threshold, np.int32(index))
                integrate.clear_marks(marks, dims, touched, nt, block_flags)
                self._note_modified(self.block_indices(_touched_keys(touched[:nt], tlo, dims)))
        self._scratch_clean = True
        return int(rays // len(tiles))

    def _scratch(self, name: str, size: int) -> np.ndarray:
        """A zeroed uint8 work buffer of ``size`` bytes, kept between scans so that every scan does
        not allocate (and the allocator does not keep) a fresh box. Marks are cleared block by
        block after each scan (``seen`` is zeroed before use); after an interrupted scan the
        buffers are discarded."""
        buf = self._scratch_bufs.get(name)
        if buf is None or len(buf) < size:
            buf = anonymous_array(size, np.uint8)
            self._scratch_bufs[name] = buf
        return buf[:size]

    @staticmethod
    def _tiles(lo: np.ndarray, hi: np.ndarray):
        """Split the block-aligned key box [lo, hi] into boxes of at most MAX_BOX_CELLS cells."""
        size = hi - lo + 1
        if int(np.prod(size)) <= MAX_BOX_CELLS:
            yield lo, hi
            return
        side = max(BLOCK, int(round(MAX_BOX_CELLS ** (1 / 3))) // BLOCK * BLOCK)
        for z in range(int(lo[2]), int(hi[2]) + 1, side):
            for y in range(int(lo[1]), int(hi[1]) + 1, side):
                for x in range(int(lo[0]), int(hi[0]) + 1, side):
                    tlo = np.array([x, y, z], dtype=np.int64)
                    yield tlo, np.minimum(tlo + side - 1, hi)

    def _apply_decay(self, stamp_ns: int, index: int) -> None:
        last = self._last_stamp_ns
        if last is None or stamp_ns <= last:
            return
        dt = (stamp_ns - last) * 1e-9
        factor = 2.0 ** (-dt / self.decay.half_life_s)
        st = self._store
        queries.decay_blocks(st.logodds, st.changed, st.block_changed, st.n_blocks, np.float32(factor),
                             logodds(self.decay.forget_probability), self.rules.threshold, np.int32(index))
        self._note_modified(None)

    def decay_to(self, stamp_ns: int) -> None:
        """Apply the decay model up to time ``stamp_ns`` without inserting anything."""
        if self.decay is None:
            raise InvalidInputError("decay_to needs a map created with decay=Decay(...)")
        if isinstance(stamp_ns, bool) or not isinstance(stamp_ns, (int, np.integer)) or stamp_ns < 0:
            raise InvalidInputError(f"stamp_ns must be a non-negative integer, got {stamp_ns!r}")
        self._update_count += 1
        self._apply_decay(int(stamp_ns), self._update_count)
        self._last_stamp_ns = int(stamp_ns) if self._last_stamp_ns is None else max(self._last_stamp_ns, int(stamp_ns))

    # ------------------------------------------------------------------ point queries
    def _keys_of(self, points) -> tuple[np.ndarray, np.ndarray]:
        pts = _check_points(points)
        if not np.all(np.isfinite(pts)):
            raise InvalidInputError("points contain NaN or inf")
        return points_to_keys(pts, self.resolution)

    def logodds_at(self, points) -> np.ndarray:
        """float32 log-odds at world points (N, 3); NaN where unknown."""
        keys, valid = self._keys_of(points)
        st = self._store
        return queries.lookup_keys(keys, valid, st.logodds, st.table_keys, st.table_slots, st.bits)

    def probability_at(self, points) -> np.ndarray:
        """Occupancy probability at world points (N, 3); NaN where unknown."""
        return probability(self.logodds_at(points))

    def state_at(self, points) -> np.ndarray:
        """int8 state at world points (N, 3): UNKNOWN (-1), FREE (0) or OCCUPIED (1)."""
        L = self.logodds_at(points)
        out = np.full(L.shape, UNKNOWN, dtype=np.int8)
        known = ~np.isnan(L)
        out[known] = np.where(L[known] >= self.rules.threshold, OCCUPIED, FREE)
        return out

    def is_occupied(self, points) -> np.ndarray:
        return self.state_at(points) == OCCUPIED

    # ------------------------------------------------------------------ enumeration
    def _bbox_keys(self, bbox_min, bbox_max) -> tuple[np.ndarray, np.ndarray]:
        lo = np.zeros(3, dtype=np.int64)
        hi = np.full(3, KEY_LIMIT - 1, dtype=np.int64)
        if bbox_min is not None:
            k, _ = points_to_keys(_check_point3(bbox_min, "bbox_min")[None], self.resolution)
            lo = np.clip(k[0], 0, KEY_LIMIT - 1)
        if bbox_max is not None:
            k, _ = points_to_keys(_check_point3(bbox_max, "bbox_max")[None], self.resolution)
            hi = np.clip(k[0], 0, KEY_LIMIT - 1)
        return lo, hi

    def leaves(self, bbox_min=None, bbox_max=None) -> tuple[np.ndarray, np.ndarray]:
        """Keys (N, 3) int64 and float32 log-odds of all known leaf voxels, optionally inside a box."""
        lo, hi = self._bbox_keys(bbox_min, bbox_max)
        st = self._store
        keys, vals, _ = queries.gather_known(st.logodds, st.changed, st.block_changed, st.block_keys, st.n_blocks, lo, hi, -1)
        return keys, vals

    def _check_depth(self, depth) -> int:
        if depth is None:
            return TREE_DEPTH
        if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or not 1 <= depth <= TREE_DEPTH:
            raise InvalidInputError(f"depth must be an integer in [1, {TREE_DEPTH}], got {depth!r}")
        return int(depth)

    def voxels_at_depth(self, depth: int, bbox_min=None, bbox_max=None) -> tuple[np.ndarray, np.ndarray]:
        """Keys (at ``depth``) and log-odds of the known nodes at tree depth ``depth`` (16 = leaves):
        a node's log-odds is the maximum of its known children's, OctoMap's inner-node rule."""
        d = self._check_depth(depth)
        keys, vals = self.leaves(bbox_min, bbox_max)
        if d == TREE_DEPTH or len(keys) == 0:
            return keys, vals
        shift = TREE_DEPTH - d
        ck = keys >> shift
        code = ck[:, 0] | (ck[:, 1] << 16) | (ck[:, 2] << 32)
        order = np.lexsort((-vals, code))
        code_s = code[order]
        first = np.ones(len(code_s), dtype=bool)
        first[1:] = code_s[1:] != code_s[:-1]
        sel = order[first]
        return ck[sel], vals[sel]

    def occupied_voxels(self, bbox_min=None, bbox_max=None, depth: Optional[int] = None) -> np.ndarray:
        """Centres (N, 3) of occupied voxels (at tree ``depth``, default leaves), optionally in a box."""
        d = self._check_depth(depth)
        keys, vals = self.voxels_at_depth(d, bbox_min, bbox_max)
        return keys_to_points(keys[vals >= self.rules.threshold], self.resolution, d)

    def free_voxels(self, bbox_min=None, bbox_max=None, depth: Optional[int] = None) -> np.ndarray:
        """Centres (N, 3) of free voxels (at tree ``depth``, default leaves), optionally in a box."""
        d = self._check_depth(depth)
        keys, vals = self.voxels_at_depth(d, bbox_min, bbox_max)
        return keys_to_points(keys[vals < self.rules.threshold], self.resolution, d)

    def voxel_size(self, depth: Optional[int] = None) -> float:
        """Edge length of a node at tree ``depth``."""
        return self.resolution * (1 << (TREE_DEPTH - self._check_depth(depth)))

    # ------------------------------------------------------------------ change detection
    @property
    def update_count(self) -> int:
        """Number of updates (insertions and decay steps) applied so far."""
        return self._update_count

    def changed_since(self, update_index: int, return_states: bool = False):
        """Centres (N, 3) of voxels whose state (unknown/free/occupied) changed in an update after
        ``update_index`` (compare with an earlier :attr:`update_count`). With ``return_states``,
        also their current states."""
        if isinstance(update_index, bool) or not isinstance(update_index, (int, np.integer)) or update_index < 0:
            raise InvalidInputError(f"update_index must be a non-negative integer, got {update_index!r}")
        st = self._store
        lo, hi = np.zeros(3, np.int64), np.full(3, KEY_LIMIT - 1, np.int64)
        keys, vals, _ = queries.gather_known(st.logodds, st.changed, st.block_changed, st.block_keys, st.n_blocks, lo, hi,
                                             int(update_index))
        pts = keys_to_points(keys, self.resolution)
        if not return_states:
            return pts
        states = np.full(len(vals), UNKNOWN, dtype=np.int8)
        known = ~np.isnan(vals)
        states[known] = np.where(vals[known] >= self.rules.threshold, OCCUPIED, FREE)
        return pts, states

    # ------------------------------------------------------------------ derived products
    def cast_ray(self, origin, direction, max_range: float = -1.0, ignore_unknown: bool = True):
        """First occupied voxel centre along a ray, or None (OctoMap ``castRay``). Stops with None at
        ``max_range`` (<= 0: no limit) or, when ``ignore_unknown`` is False, at the first unknown voxel."""
        o = _check_point3(origin, "origin")
        d = _check_point3(direction, "direction")
        n = np.linalg.norm(d)
        if n < 1e-12:
            raise InvalidInputError("direction must be non-zero")
        mr = _check_max_range(max_range)
        st = self._store
        hit, key = queries.cast_ray(o, d / n, mr, bool(ignore_unknown), self.resolution, self.rules.threshold,
                                    st.logodds, st.table_keys, st.table_slots, st.bits)
        if not hit:
            return None
        return keys_to_points(key[None], self.resolution)[0]

    def project_2d(self, z_min: float, z_max: float, bbox=None) -> OccupancyGrid2D:
        """Top-down grid of the height band [z_min, z_max]: a column is occupied if any voxel of the
        band in it is occupied, free if none is occupied and one is free, unknown otherwise.
        ``bbox`` = (x_min, y_min, x_max, y_max) fixes the extent, else the known voxels' extent."""
        for v, name in ((z_min, "z_min"), (z_max, "z_max")):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not math.isfinite(v):
                raise InvalidInputError(f"{name} must be a finite number, got {v!r}")
        if z_max < z_min:
            raise InvalidInputError(f"z_max ({z_max}) is below z_min ({z_min})")
        res = self.resolution
        if bbox is not None:
            b = np.asarray(bbox, dtype=np.float64)
            if b.shape != (4,) or not np.all(np.isfinite(b)) or b[2] <= b[0] or b[3] <= b[1]:
                raise InvalidInputError(f"bbox must be (x_min, y_min, x_max, y_max) with max > min, got {bbox!r}")
            b[2:] -= res * 1e-3  # the box is half-open: a cell starting at x_max is outside
            keys, vals = self.leaves((b[0], b[1], z_min), (b[2], b[3], z_max))
        else:
            keys, vals = self.leaves((-1e9, -1e9, z_min), (1e9, 1e9, z_max)) if self.num_voxels else \
                (np.zeros((0, 3), np.int64), np.zeros(0, np.float32))
        if bbox is not None:
            kmin, _ = points_to_keys(np.array([[b[0], b[1], 0.0]]), res)
            kmax, _ = points_to_keys(np.array([[b[2], b[3], 0.0]]), res)
            kx0, ky0 = kmin[0, 0], kmin[0, 1]
            w, h = int(kmax[0, 0] - kx0 + 1), int(kmax[0, 1] - ky0 + 1)
        elif len(keys):
            kx0, ky0 = keys[:, 0].min(), keys[:, 1].min()
            w, h = int(keys[:, 0].max() - kx0 + 1), int(keys[:, 1].max() - ky0 + 1)
        else:
            return OccupancyGrid2D(np.full((1, 1), GRID_UNKNOWN, np.int8), res, (0.0, 0.0))
        data = np.full((h, w), GRID_UNKNOWN, dtype=np.int8)
        occ = vals >= self.rules.threshold
        r, c = keys[:, 1] - ky0, keys[:, 0] - kx0
        data[r[~occ], c[~occ]] = GRID_FREE
        data[r[occ], c[occ]] = GRID_OCCUPIED
        origin_xy = keys_to_points(np.array([[kx0, ky0, 0]]), res)[0, :2] - res / 2
        return OccupancyGrid2D(data, res, (float(origin_xy[0]), float(origin_xy[1])))

    def frontiers(self, bbox=None) -> np.ndarray:
        """Centres (N, 3) of frontier voxels: free voxels with at least one unknown face neighbour.
        ``bbox`` = (min_xyz, max_xyz) restricts the search."""
        if bbox is None:
            keys, vals = self.leaves()
        else:
            if len(bbox) != 2:
                raise InvalidInputError("bbox must be (min_xyz, max_xyz)")
            keys, vals = self.leaves(bbox[0], bbox[1])
        free = keys[vals < self.rules.threshold]
        st = self._store
        mask = queries.frontier_mask(free, st.logodds, st.table_keys, st.table_slots, st.bits)
        return keys_to_points(free[mask], self.resolution)

    # ------------------------------------------------------------------ size
    @property
    def memory_bytes(self) -> int:
        """Bytes of the map's stored blocks and hash table (8x8x8 blocks x (4 B log-odds + 2 B change
        index) + 12 B per block; spare pool capacity is reserved but untouched, so not counted)."""
        return self._store.nbytes

    def counts(self) -> dict:
        """Voxel counts: free, occupied, known, and blocks."""
        st = self._store
        free, occ = queries.count_known(st.logodds, st.n_blocks, self.rules.threshold)
        return {"free": int(free), "occupied": int(occ), "known": int(free + occ), "blocks": st.n_blocks}

    @property
    def num_voxels(self) -> int:
        """Number of known (free or occupied) leaf voxels."""
        return self.counts()["known"]

    def _set_voxels(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Overwrite leaf log-odds (used by readers); counts as one update."""
        from robomem.mapping.store import set_voxels
        keys = np.asarray(keys, dtype=np.int64)
        if len(keys) == 0:
            return
        blocks = np.unique((keys[:, 0] >> 3) | ((keys[:, 1] >> 3) << 13) | ((keys[:, 2] >> 3) << 26))
        st = self._store
        st.reserve(len(blocks))
        self._update_count += 1
        set_voxels(keys, np.asarray(values, dtype=np.float32), st.logodds, st.changed, st.block_changed, st.block_keys,
                   st.n_blocks_arr, st.table_keys, st.table_slots, st.bits, np.int32(self._update_count))
        self._note_modified(self.block_indices(blocks))

    def copy(self) -> "OccupancyOctree":
        m = OccupancyOctree.__new__(OccupancyOctree)
        m.__dict__.update(self.__dict__)
        m._store = self._store.copy()
        m._scratch_bufs, m._scratch_clean = {}, False
        m._modified = list(self._modified)
        return m

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> None:
        """Write the map to ``path`` in robomem's native format (a NumPy .npz)."""
        r, st, n = self.rules, self._store, self._store.n_blocks
        meta = {"resolution": self.resolution, "prob_hit": r.prob_hit, "prob_miss": r.prob_miss,
                "clamp_min": r.clamp_min, "clamp_max": r.clamp_max, "occupancy_threshold": r.occupancy_threshold,
                "max_range": self.max_range,
                "decay": None if self.decay is None else {"half_life_s": self.decay.half_life_s,
                                                          "forget_probability": self.decay.forget_probability},
                "update_count": self._update_count, "last_stamp_ns": self._last_stamp_ns}
        persistence.save_native(path, meta, st.block_keys[:n], st.logodds[:n], st.changed[:n], st.block_changed[:n])

    @classmethod
    def load(cls, path) -> "OccupancyOctree":
        """Read a map written by :meth:`save`; raises InvalidMapError on a corrupt or foreign file."""
        meta, arrays = persistence.load_native(path)
        try:
            decay = None if meta.get("decay") is None else Decay(**meta["decay"])
            tree = cls(meta["resolution"], meta["prob_hit"], meta["prob_miss"], meta["clamp_min"],
                       meta["clamp_max"], meta["occupancy_threshold"], meta["max_range"], decay)
        except (KeyError, TypeError, InvalidInputError) as exc:
            raise InvalidMapError(f"{path}: invalid settings ({exc})") from None
        lo = arrays["logodds"]
        known = lo[~np.isnan(lo)]
        if known.size and (known.min() < tree.rules.min - 1e-6 or known.max() > tree.rules.max + 1e-6):
            raise InvalidMapError(f"{path}: log-odds outside the clamping range")
        tree._store = persistence.store_from_blocks(**arrays)
        tree._note_modified(None)
        tree._update_count = int(meta.get("update_count", 0))
        tree._last_stamp_ns = meta.get("last_stamp_ns")
        return tree

    def write_bt(self, path) -> None:
        """Write OctoMap's binary ``.bt`` format (maximum-likelihood states, pruned), readable by
        OctoMap tools (octovis, ``OcTree::readBinary``)."""
        keys, vals = self.leaves()
        bt.write_bt(path, keys, vals >= self.rules.threshold, self.resolution)

    @classmethod
    def read_bt(cls, path, **settings) -> "OccupancyOctree":
        """Read an OctoMap ``.bt`` file: occupied leaves get log-odds clamp_max and free ones
        clamp_min, as OctoMap's reader does. ``settings`` are passed to the constructor."""
        res, keys, occupied = bt.read_bt(path)
        tree = cls(resolution=res, **settings)
        tree._set_voxels(keys, np.where(occupied, tree.rules.max, tree.rules.min).astype(np.float32))
        return tree

    def __repr__(self) -> str:
        c = self.counts()
        return (f"OccupancyOctree(resolution={self.resolution}, free={c['free']}, occupied={c['occupied']}, "
                f"blocks={c['blocks']}, updates={self._update_count})")


def _touched_keys(touched: np.ndarray, box_lo: np.ndarray, dims: np.ndarray) -> np.ndarray:
    """Packed keys of the blocks ``touched`` (indices of blocks in a mark box at ``box_lo``)."""
    bnx, bny = int(dims[0]) >> BLOCK_SHIFT, int(dims[1]) >> BLOCK_SHIFT
    b = np.asarray(touched, dtype=np.int64)
    bl = np.asarray(box_lo, dtype=np.int64) >> BLOCK_SHIFT
    return pack_blocks(np.stack([bl[0] + b % bnx, bl[1] + (b // bnx) % bny, bl[2] + b // (bnx * bny)], axis=1))
