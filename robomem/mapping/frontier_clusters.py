"""Frontier clusters on a 2-D map: free cells next to unknown ones, grouped into connected
clusters with their size, centroid and an information-gain estimate (the unknown area a sensor
at the frontier could see)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from robomem.errors import InvalidInputError
from robomem.mapping.grid2d import GRID_FREE, GRID_UNKNOWN, OccupancyGrid2D

__all__ = ["FrontierCluster", "frontier_clusters"]

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
