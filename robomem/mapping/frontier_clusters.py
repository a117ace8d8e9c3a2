"""Frontier clusters on a 2-D map: free cells next to unknown ones, grouped into connected
clusters with their size, centroid and an information-gain estimate (the unknown area a sensor
at the frontier could see)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import ndimage

from robomem.errors import InvalidInputError
from robomem.mapping.grid2d import GRID_FREE, GRID_UNKNOWN, OccupancyGrid2D

__all__ = ["FrontierCluster", "frontier_clusters", "visible_unknown_area"]

_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)


@dataclass(frozen=True)
class FrontierCluster:
    """One frontier: ``cells`` (N, 2) (row, col) of its frontier cells, ``centroid`` world (x, y),
    ``size_m`` (length, metres: cells x resolution), ``gain_m2`` (unknown area in the square of
    half-side ``sensor_range`` around the frontier's best cell, m^2; occlusion ignored)."""

    cells: np.ndarray
    centroid: np.ndarray
    size_m: float
    gain_m2: float

    @property
    def num_cells(self) -> int:
        return len(self.cells)


@njit(cache=True)
def _visible_unknown(data, rows, cols, n_rays, reach, stamp):
    """Distinct unknown cells seen by rays from the cells (rows, cols): ``n_rays`` evenly spread
    rays of ``reach`` cells each, stopped by occupied cells (unknown ones let them through).
    ``stamp`` (H, W) int32 scratch, all zero on entry; cells counted are left marked."""
    H, W = data.shape
    count = 0
    for i in range(rows.shape[0]):
        r0, c0 = rows[i] + 0.5, cols[i] + 0.5
        for k in range(n_rays):
            a = 2.0 * np.pi * k / n_rays
            dr, dc = np.sin(a) * 0.5, np.cos(a) * 0.5
            for t in range(1, 2 * reach + 1):
                r = int(np.floor(r0 + t * dr))
                c = int(np.floor(c0 + t * dc))
                if r < 0 or r >= H or c < 0 or c >= W:
                    break
                v = data[r, c]
                if v == 100:
                    break
                if v == -1 and stamp[r, c] == 0:
                    stamp[r, c] = 1
                    count += 1
    return count


def visible_unknown_area(grid: OccupancyGrid2D, cells: np.ndarray, *, sensor_range: float = 2.5,
                         n_rays: int = 72, max_views: int = 8) -> float:
    """Occlusion-aware information gain (m^2): the unknown area that 2-D rays of ``sensor_range``
    from up to ``max_views`` evenly spaced cells of ``cells`` (N, 2) (row, col) would cross before
    an occupied cell stops them (unknown cells do not stop a ray: optimistic about what lies
    behind)."""
    if not isinstance(grid, OccupancyGrid2D):
        raise InvalidInputError(f"visible_unknown_area needs an OccupancyGrid2D, got {type(grid).__name__}")
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    if not (np.isfinite(sensor_range) and sensor_range > 0) or n_rays < 1 or max_views < 1:
        raise InvalidInputError("sensor_range, n_rays and max_views must be positive")
    if len(cells) == 0:
        return 0.0
    pick = np.unique(np.linspace(0, len(cells) - 1, min(max_views, len(cells))).round().astype(np.int64))
    stamp = np.zeros(grid.shape, np.int32)
    n = _visible_unknown(grid.data, cells[pick, 0], cells[pick, 1], int(n_rays),
                         int(round(sensor_range / grid.resolution)), stamp)
    return float(n) * grid.resolution ** 2


def frontier_clusters(grid: OccupancyGrid2D, *, min_cells: int = 4, sensor_range: float = 2.0) -> list[FrontierCluster]:
    """Frontier clusters of ``grid`` (free cells with an unknown 4-neighbour, 8-connected into
    clusters), largest gain first. Clusters of fewer than ``min_cells`` cells are dropped."""
    if not isinstance(grid, OccupancyGrid2D):
        raise InvalidInputError(f"frontier_clusters needs an OccupancyGrid2D, got {type(grid).__name__}")
    if isinstance(min_cells, bool) or not isinstance(min_cells, (int, np.integer)) or min_cells < 1:
        raise InvalidInputError(f"min_cells must be a positive integer, got {min_cells!r}")
    if not (isinstance(sensor_range, (int, float)) and np.isfinite(sensor_range) and sensor_range > 0):
        raise InvalidInputError(f"sensor_range must be a positive number, got {sensor_range!r}")
    free = grid.data == GRID_FREE
    unknown = grid.data == GRID_UNKNOWN
    frontier = free & ndimage.binary_dilation(unknown, structure=_CROSS)
    lab, n = ndimage.label(frontier, structure=np.ones((3, 3), bool))
    if n == 0:
        return []
    res = grid.resolution
    # Unknown area within sensor range of a cell: box-filtered unknown count (a cheap disc proxy).
    k = 2 * int(round(sensor_range / res)) + 1
    unknown_near = ndimage.uniform_filter(unknown.astype(np.float32), size=k, mode="constant") * (k * k)
    objs = ndimage.find_objects(lab)
    out = []
    for i, sl in enumerate(objs, start=1):
        rr, cc = np.nonzero(lab[sl] == i)
        if len(rr) < min_cells:
            continue
        rr, cc = rr + sl[0].start, cc + sl[1].start
        cells = np.stack([rr, cc], axis=1)
        xy = grid.cell_to_world((rr, cc))
        # What one view from the frontier's best cell could reveal (occlusion ignored).
        gain = float(unknown_near[rr, cc].max()) * res * res
        out.append(FrontierCluster(cells, xy.mean(axis=0), len(rr) * res, gain))
    out.sort(key=lambda f: -f.gain_m2)
    return out
