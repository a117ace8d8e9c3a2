"""3-D occupancy mapping with OctoMap's semantics on a sparse hashed-block store.

``OccupancyOctree`` is the map; ``OccupancyGrid2D`` is its top-down projection."""
from robomem.mapping.grid2d import GRID_FREE, GRID_OCCUPIED, GRID_UNKNOWN, OccupancyGrid2D
from robomem.mapping.octree import FREE, OCCUPIED, UNKNOWN, Decay, OccupancyOctree

__all__ = [
    "OccupancyOctree", "OccupancyGrid2D", "Decay",
    "UNKNOWN", "FREE", "OCCUPIED", "GRID_UNKNOWN", "GRID_FREE", "GRID_OCCUPIED",
]
