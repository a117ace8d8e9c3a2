"""Where a ground robot can drive, from its own occupancy map: a 2-D traversability grid from the
octree's projection of the robot's body band, obstacles (and, by default, unknown space) inflated
by the robot radius."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from numba import njit

from robomem.errors import InvalidInputError
from robomem.mapping.grid2d import GRID_FREE, GRID_OCCUPIED, GRID_UNKNOWN, OccupancyGrid2D
from robomem.mapping.keys import keys_to_points, points_to_keys
from robomem.mapping.octree import OccupancyOctree

__all__ = ["TraversabilitySettings", "TraversabilityGrid", "BandProjection", "traversability"]


@dataclass(frozen=True)
class TraversabilitySettings:
    """``robot_radius`` (m); ``margin`` (m) added to it for safety; ``floor_z`` (m);
    ``step_height``: obstacles lower than this above the floor (rugs, thresholds) are driven over;
    ``robot_height``: obstacles whose bottom is above this (table tops, shelves) are driven under;
    ``free_evidence_z``: a column counts as free only when a free voxel was seen in the band's
    lowest part, up to this height above the floor (a column seen free only high up may hide a low
    obstacle); ``avoid_unknown``: keep the robot body out of unknown space too (safe: only seen
    space is entered); ``padding`` (m) of unknown around the known map's extent."""

    robot_radius: float = 0.18
    margin: float = 0.06
    floor_z: float = 0.0
    step_height: float = 0.06
    robot_height: float = 1.5
    free_evidence_z: float = 1.0
    avoid_unknown: bool = True
    padding: float = 1.0

    def __post_init__(self) -> None:
        for name in ("robot_radius", "margin", "step_height", "robot_height", "padding", "free_evidence_z"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise InvalidInputError(f"traversability {name} must be a non-negative number, got {v!r}")
        if not math.isfinite(self.floor_z):
            raise InvalidInputError(f"traversability floor_z must be finite, got {self.floor_z!r}")
        if not self.step_height < self.free_evidence_z <= self.robot_height:
            raise InvalidInputError(f"need step_height ({self.step_height}) < free_evidence_z ({self.free_evidence_z}) "
                                    f"<= robot_height ({self.robot_height})")


@dataclass(frozen=True, eq=False)
class TraversabilityGrid:
    """``grid``: the band projection (free/occupied/unknown, ROS values); ``traversable``: (H, W)
    bool, cells where the robot's centre may be; ``clearance``: (H, W) metres from each cell centre
    to the nearest obstacle (or unknown cell when ``avoid_unknown``), exact up to two cells beyond
    ``robot_radius + margin`` and inf farther away."""

    grid: OccupancyGrid2D
    traversable: np.ndarray
    clearance: np.ndarray
    settings: TraversabilitySettings

    @property
    def resolution(self) -> float:
        return self.grid.resolution

    @property
    def shape(self) -> tuple[int, int]:
        return self.grid.shape

    def world_to_cell(self, xy) -> tuple[np.ndarray, np.ndarray]:
        return self.grid.world_to_cell(xy)

    def cell_to_world(self, rc) -> np.ndarray:
        return self.grid.cell_to_world(rc)

    def contains(self, r, c) -> np.ndarray:
        return self.grid.contains(r, c)

    def is_traversable(self, xy) -> np.ndarray:
        """Bool per world point (N, 2): inside the grid and traversable."""
        r, c = self.world_to_cell(np.asarray(xy, dtype=np.float64).reshape(-1, 2))
        inside = self.contains(r, c)
        out = np.zeros(len(r), dtype=bool)
        out[inside] = self.traversable[r[inside], c[inside]]
        return out


class BandProjection:
    """The octree's top-down projection of the height band [z_lo, z_hi] (a column is occupied when
    a voxel of the band is, free when none is and a voxel in [z_lo, free_z] is free, unknown
    otherwise; with free_z = z_hi these are :meth:`OccupancyOctree.project_2d`'s values), kept up
    to date incrementally: :meth:`update` re-derives
    only the columns holding voxels whose state changed since the previous call (the octree's
    change tracking), so a robot can afford a fresh grid after every frame. The grid covers the
    known columns plus ``padding`` metres of unknown."""

    def __init__(self, z_lo: float, z_hi: float, padding: float = 1.0, free_z: Optional[float] = None) -> None:
        if not (math.isfinite(z_lo) and math.isfinite(z_hi) and z_hi >= z_lo):
            raise InvalidInputError(f"band must be finite with z_hi >= z_lo, got ({z_lo}, {z_hi})")
        self.z_lo, self.z_hi, self.padding = float(z_lo), float(z_hi), float(padding)
        self.free_z = self.z_hi if free_z is None else float(free_z)
        self._tree = None
        self._last = 0
        self._data = np.full((0, 0), GRID_UNKNOWN, np.int8)
        self._k0 = np.zeros(2, np.int64)  # key (x, y) of cell [0, 0]

    def update(self, octree: OccupancyOctree) -> OccupancyGrid2D:
        """The projection of ``octree`` now."""
        if octree is not self._tree or octree.update_count < self._last:
            self._tree, self._last = octree, 0
            self._data = np.full((0, 0), GRID_UNKNOWN, np.int8)
        res = octree.resolution
        pts = octree.changed_since(self._last)
        self._last = octree.update_count
        pts = pts[(pts[:, 2] >= self.z_lo - res) & (pts[:, 2] <= self.z_hi + res)]
        if len(pts):
            keys, _ = points_to_keys(pts, res)
            code = np.unique(keys[:, 0] | (keys[:, 1] << 16))
            cols = np.stack([code & 0xFFFF, code >> 16], axis=1)
            self._grow(cols.min(axis=0), cols.max(axis=0), int(math.ceil(self.padding / res)))
            kz = points_to_keys(np.array([[0.0, 0.0, self.z_lo], [0.0, 0.0, self.z_hi]]), res)[0][:, 2]
            zs = np.arange(kz[0], kz[1] + 1)
            q = np.empty((len(cols), len(zs), 3), np.int64)
            q[:, :, :2] = cols[:, None, :]
            q[:, :, 2] = zs[None, :]
            st = octree.state_at(keys_to_points(q.reshape(-1, 3), res)).reshape(len(cols), len(zs))
            kf = points_to_keys(np.array([[0.0, 0.0, self.free_z]]), res)[0][0, 2]
            low_free = (st[:, zs <= kf] == 0).any(axis=1)
            val = np.where((st == 1).any(axis=1), GRID_OCCUPIED, np.where(low_free, GRID_FREE, GRID_UNKNOWN))
            rc = cols - self._k0
            self._data[rc[:, 1], rc[:, 0]] = val
        if self._data.size == 0:
            return OccupancyGrid2D(np.full((1, 1), GRID_UNKNOWN, np.int8), res, (0.0, 0.0))
        o = keys_to_points(np.array([[self._k0[0], self._k0[1], 0]]), res)[0, :2] - res / 2
        return OccupancyGrid2D(self._data.copy(), res, (float(o[0]), float(o[1])))

    def _grow(self, kmin: np.ndarray, kmax: np.ndarray, pad: int) -> None:
        h, w = self._data.shape
        if h and np.all(kmin - pad >= self._k0) and np.all(kmax + pad < self._k0 + [w, h]):
            return
        lo = kmin - 2 * pad if not h else np.minimum(self._k0, kmin - 2 * pad)
        hi = kmax + 2 * pad if not h else np.maximum(self._k0 + [w - 1, h - 1], kmax + 2 * pad)
        data = np.full((int(hi[1] - lo[1] + 1), int(hi[0] - lo[0] + 1)), GRID_UNKNOWN, np.int8)
        if h:
            r0, c0 = int(self._k0[1] - lo[1]), int(self._k0[0] - lo[0])
            data[r0:r0 + h, c0:c0 + w] = self._data
        self._data, self._k0 = data, lo.astype(np.int64)


@njit(cache=True)
def _capped_clearance(blocked: np.ndarray, cap: int) -> np.ndarray:
    """Distance in cells from each cell centre to the nearest blocked one, exact up to ``cap``
    cells and inf beyond. Only blocked cells with a free 4-neighbour are stamped: the nearest
    blocked cell of any free cell is one of them."""
    H, W = blocked.shape
    out = np.full((H, W), np.inf)
    cap2 = cap * cap
    for r in range(H):
        for c in range(W):
            if not blocked[r, c]:
                continue
            out[r, c] = 0.0
            if not ((r > 0 and not blocked[r - 1, c]) or (r < H - 1 and not blocked[r + 1, c])
                    or (c > 0 and not blocked[r, c - 1]) or (c < W - 1 and not blocked[r, c + 1])):
                continue
            for dr in range(-cap, cap + 1):
                rr = r + dr
                if rr < 0 or rr >= H:
                    continue
                for dc in range(-cap, cap + 1):
                    cc = c + dc
                    d2 = dr * dr + dc * dc
                    if cc < 0 or cc >= W or d2 > cap2 or blocked[rr, cc]:
                        continue
                    d = math.sqrt(d2)
                    if d < out[rr, cc]:
                        out[rr, cc] = d
    return out


def traversability(octree: OccupancyOctree, settings: Optional[TraversabilitySettings] = None, *,
                   driven_xy: Optional[np.ndarray] = None, bbox=None,
                   projection: Optional[BandProjection] = None,
                   bumped_xy: Optional[np.ndarray] = None) -> TraversabilityGrid:
    """The traversability grid of ``octree`` for a robot described by ``settings``.

    A column is an obstacle when an occupied voxel lies in the body band (floor_z + step_height,
    floor_z + robot_height], free when none does and a free voxel lies in its lowest part (up to
    floor_z + free_evidence_z), unknown otherwise.
    ``driven_xy`` (N, 2): places the robot has stood on; the disc of its radius around each counts
    as free (the robot's body was there), which covers the floor right below a camera that cannot
    see it. ``projection``: a :class:`BandProjection` of the same band to update instead of
    projecting the whole map (``bbox`` is then ignored). ``bumped_xy`` (N, 2): obstacle points the
    robot learned by touch (a bumper, or a simulator's collision report) that its map may not hold;
    their cells count as occupied (and are inflated like every obstacle)."""
    if not isinstance(octree, OccupancyOctree):
        raise InvalidInputError(f"traversability needs an OccupancyOctree, got {type(octree).__name__}")
    s = settings or TraversabilitySettings()
    res = octree.resolution
    z0, z1 = s.floor_z + s.step_height, s.floor_z + s.robot_height
    if projection is not None:
        if not isinstance(projection, BandProjection) or \
                (projection.z_lo, projection.z_hi, projection.free_z) != (z0, z1, s.floor_z + s.free_evidence_z):
            raise InvalidInputError("projection must be a BandProjection of the settings' body band")
        grid = projection.update(octree)
    elif bbox is None:
        keys, _ = octree.leaves((-1e9, -1e9, z0), (1e9, 1e9, z1))
        if len(keys):
            lo = keys_to_points(keys.min(axis=0)[None], res)[0, :2] - res / 2 - s.padding
            hi = keys_to_points(keys.max(axis=0)[None], res)[0, :2] + res / 2 + s.padding
        else:
            lo, hi = np.full(2, -s.padding), np.full(2, s.padding)
        if driven_xy is not None and len(driven_xy):
            d = np.asarray(driven_xy, dtype=np.float64).reshape(-1, 2)
            lo = np.minimum(lo, d.min(axis=0) - s.padding)
            hi = np.maximum(hi, d.max(axis=0) + s.padding)
        lo, hi = np.floor(lo / res) * res, np.ceil(hi / res) * res
        bbox = (lo[0], lo[1], hi[0], hi[1])
    if projection is None:
        grid = octree.project_2d(z0, z1, bbox=bbox)
        low = octree.project_2d(z0, s.floor_z + s.free_evidence_z, bbox=bbox)
        d = grid.data.copy()
        d[(d == GRID_FREE) & (low.data != GRID_FREE)] = GRID_UNKNOWN
        grid = OccupancyGrid2D(d, res, grid.origin)
    data = grid.data.copy()
    if driven_xy is not None and len(driven_xy):
        d = np.asarray(driven_xy, dtype=np.float64).reshape(-1, 2)
        r, c = grid.world_to_cell(d)
        ok = grid.contains(r, c)
        cells = np.unique(np.stack([r[ok], c[ok]], axis=1), axis=0)
        n = int(math.ceil(s.robot_radius / res))
        yy, xx = np.mgrid[-n:n + 1, -n:n + 1]
        disc = (yy ** 2 + xx ** 2) * res * res <= s.robot_radius ** 2
        body = np.zeros(data.shape, bool)
        br = (cells[:, None, 0] + yy[disc][None, :]).ravel()
        bc = (cells[:, None, 1] + xx[disc][None, :]).ravel()
        inb = grid.contains(br, bc)
        body[br[inb], bc[inb]] = True
        data[body & (data != 100)] = 0
        grid = OccupancyGrid2D(data, res, grid.origin)
    if bumped_xy is not None and len(bumped_xy):
        b = np.asarray(bumped_xy, dtype=np.float64).reshape(-1, 2)
        r, c = grid.world_to_cell(b)
        ok = grid.contains(r, c)
        if ok.any():
            data[r[ok], c[ok]] = 100
            grid = OccupancyGrid2D(data, res, grid.origin)
    blocked = data == 100
    if s.avoid_unknown:
        blocked = blocked | (data == -1)
    need = s.robot_radius + s.margin
    clearance = _capped_clearance(blocked, int(math.ceil(need / res)) + 2) * res
    traversable = (data == 0) & (clearance > s.robot_radius + s.margin)
    return TraversabilityGrid(grid, traversable, clearance, s)
