"""Where a ground robot can drive, from its own occupancy map: a 2-D traversability grid from the
octree's projection of the robot's body band, obstacles (and, by default, unknown space) inflated
by the robot radius."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import ndimage

from robomem.errors import InvalidInputError
from robomem.mapping.grid2d import OccupancyGrid2D
from robomem.mapping.octree import OccupancyOctree

__all__ = ["TraversabilitySettings", "TraversabilityGrid", "traversability"]


@dataclass(frozen=True)
class TraversabilitySettings:
    """``robot_radius`` (m); ``margin`` (m) added to it for safety; ``floor_z`` (m);
    ``step_height``: obstacles lower than this above the floor (rugs, thresholds) are driven over;
    ``robot_height``: obstacles whose bottom is above this (table tops, shelves) are driven under;
    ``avoid_unknown``: keep the robot body out of unknown space too (safe: only seen space is
    entered); ``padding`` (m) of unknown around the known map's extent."""

    robot_radius: float = 0.18
    margin: float = 0.06
    floor_z: float = 0.0
    step_height: float = 0.06
    robot_height: float = 1.5
    avoid_unknown: bool = True
    padding: float = 1.0

    def __post_init__(self) -> None:
        for name in ("robot_radius", "margin", "step_height", "robot_height", "padding"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise InvalidInputError(f"traversability {name} must be a non-negative number, got {v!r}")
        if not math.isfinite(self.floor_z):
            raise InvalidInputError(f"traversability floor_z must be finite, got {self.floor_z!r}")
        if self.robot_height <= self.step_height:
            raise InvalidInputError(f"robot_height ({self.robot_height}) must exceed step_height ({self.step_height})")


@dataclass(frozen=True, eq=False)
class TraversabilityGrid:
    """``grid``: the band projection (free/occupied/unknown, ROS values); ``traversable``: (H, W)
    bool, cells where the robot's centre may be; ``clearance``: (H, W) metres from each cell centre
    to the nearest obstacle (or unknown cell when ``avoid_unknown``)."""

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


def traversability(octree: OccupancyOctree, settings: Optional[TraversabilitySettings] = None, *,
                   driven_xy: Optional[np.ndarray] = None, bbox=None) -> TraversabilityGrid:
    """The traversability grid of ``octree`` for a robot described by ``settings``.

    A column is an obstacle when an occupied voxel lies in the body band (floor_z + step_height,
    floor_z + robot_height], free when the band holds only free voxels, unknown otherwise.
    ``driven_xy`` (N, 2): places the robot has stood on; the disc of its radius around each counts
    as free (the robot's body was there), which covers the floor right below a camera that cannot
    see it."""
    if not isinstance(octree, OccupancyOctree):
        raise InvalidInputError(f"traversability needs an OccupancyOctree, got {type(octree).__name__}")
    s = settings or TraversabilitySettings()
    res = octree.resolution
    z0, z1 = s.floor_z + s.step_height, s.floor_z + s.robot_height
    if bbox is None:
        keys, _ = octree.leaves((-1e9, -1e9, z0), (1e9, 1e9, z1))
        if len(keys):
            from robomem.mapping.keys import keys_to_points
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
    grid = octree.project_2d(z0, z1, bbox=bbox)
    data = grid.data.copy()
    if driven_xy is not None and len(driven_xy):
        d = np.asarray(driven_xy, dtype=np.float64).reshape(-1, 2)
        r, c = grid.world_to_cell(d)
        ok = grid.contains(r, c)
        seed = np.zeros(data.shape, bool)
        seed[r[ok], c[ok]] = True
        n = int(math.ceil(s.robot_radius / res))
        yy, xx = np.mgrid[-n:n + 1, -n:n + 1]
        disc = (yy ** 2 + xx ** 2) * res * res <= s.robot_radius ** 2
        body = ndimage.binary_dilation(seed, structure=disc)
        data[body & (data != 100)] = 0
        grid = OccupancyGrid2D(data, res, grid.origin)
    blocked = data == 100
    if s.avoid_unknown:
        blocked = blocked | (data == -1)
    if blocked.any():
        clearance = ndimage.distance_transform_edt(~blocked) * res
    else:
        clearance = np.full(data.shape, np.inf)
    traversable = (data == 0) & (clearance > s.robot_radius + s.margin)
    return TraversabilityGrid(grid, traversable, clearance, s)
