"""`OccupancyGrid2D`: a 2-D occupancy grid with ROS ``nav_msgs/OccupancyGrid`` cell values."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robomem.errors import InvalidInputError

GRID_UNKNOWN = -1
GRID_FREE = 0
GRID_OCCUPIED = 100


@dataclass(frozen=True, eq=False)
class OccupancyGrid2D:
    """Top-down occupancy grid.

    - ``data``: (H, W) int8, -1 unknown, 0 free, 100 occupied (ROS ``nav_msgs`` values).
    - ``resolution``: metres per cell.
    - ``origin``: world (x, y) of the corner of cell [0, 0].

    Rows index y and columns index x: cell [r, c] covers
    x in [ox + c*res, ox + (c+1)*res) and y in [oy + r*res, oy + (r+1)*res)."""

    data: np.ndarray
    resolution: float
    origin: tuple[float, float]

    def __post_init__(self) -> None:
        data = self.data
        if not isinstance(data, np.ndarray) or data.ndim != 2:
            raise InvalidInputError(f"grid data must be a 2-D array, got {getattr(data, 'shape', type(data).__name__)}")
        if not np.isfinite(self.resolution) or self.resolution <= 0:
            raise InvalidInputError(f"grid resolution must be positive, got {self.resolution}")
        origin = tuple(float(v) for v in self.origin)
        if len(origin) != 2 or not all(np.isfinite(origin)):
            raise InvalidInputError(f"grid origin must be two finite numbers, got {self.origin!r}")
        object.__setattr__(self, "data", data.astype(np.int8, copy=False))
        object.__setattr__(self, "resolution", float(self.resolution))
        object.__setattr__(self, "origin", origin)

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape

    @property
    def free_mask(self) -> np.ndarray:
        """(H, W) bool, True where the cell is free."""
        return self.data == GRID_FREE

    @property
    def occupied_mask(self) -> np.ndarray:
        """(H, W) bool, True where the cell is occupied."""
        return self.data == GRID_OCCUPIED

    @property
    def unknown_mask(self) -> np.ndarray:
        """(H, W) bool, True where the cell is unknown."""
        return self.data == GRID_UNKNOWN

    def world_to_cell(self, xy) -> tuple[np.ndarray, np.ndarray]:
        """Integer (row, col) arrays of the cells holding world points ``xy`` (N, 2) or (2,).
        Cells outside the grid are returned too; check with :meth:`contains`."""
        p = np.asarray(xy, dtype=np.float64)
        if p.shape[-1] != 2:
            raise InvalidInputError(f"xy must have shape (N, 2) or (2,), got {p.shape}")
        c = np.floor((p[..., 0] - self.origin[0]) / self.resolution).astype(np.int64)
        r = np.floor((p[..., 1] - self.origin[1]) / self.resolution).astype(np.int64)
        return r, c

    def cell_to_world(self, rc) -> np.ndarray:
        """World (x, y) centres (N, 2) of cells ``rc`` given as (N, 2) (row, col) or a (rows, cols) pair."""
        if isinstance(rc, tuple) and len(rc) == 2:
            r, c = np.asarray(rc[0]), np.asarray(rc[1])
        else:
            a = np.asarray(rc)
            if a.shape[-1] != 2:
                raise InvalidInputError(f"rc must have shape (N, 2), got {a.shape}")
            r, c = a[..., 0], a[..., 1]
        x = self.origin[0] + (np.asarray(c, dtype=np.float64) + 0.5) * self.resolution
        y = self.origin[1] + (np.asarray(r, dtype=np.float64) + 0.5) * self.resolution
        return np.stack([x, y], axis=-1)

    def contains(self, r, c) -> np.ndarray:
        """Bool mask of (row, col) indices inside the grid."""
        r, c = np.asarray(r), np.asarray(c)
        return (r >= 0) & (r < self.data.shape[0]) & (c >= 0) & (c < self.data.shape[1])

    def value_at(self, xy) -> np.ndarray:
        """Cell values (-1/0/100) at world points ``xy`` (N, 2); -1 outside the grid."""
        r, c = self.world_to_cell(xy)
        inside = self.contains(r, c)
        out = np.full(r.shape, GRID_UNKNOWN, dtype=np.int8)
        out[inside] = self.data[r[inside], c[inside]]
        return out
