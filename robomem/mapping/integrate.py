"""Scan integration: OctoMap's ``insertPointCloud`` on a flat scan-local mark grid, in three steps
that live in their own modules (this module gathers their kernels under one name for the map):

1. :mod:`robomem.mapping.rays`: points -> ray end points, end keys and flags (max-range
   truncation, discretized mode), plus the world points of a depth image and a scan's key bounds;
2. :mod:`robomem.mapping.raywalk`: the ray walk marks occupied end voxels and free ray cells in a
   dense uint8 mark box around the scan (one walk; the marking step is an inlined function);
3. :mod:`robomem.mapping.marks`: the marked blocks are found, every marked cell is updated once in
   the sparse block store, and the box is cleared for the next scan.

Per scan OctoMap builds the set of free cells (all ray cells, the endpoint voxel excluded, as its
``computeRayKeys`` does) and of occupied cells (endpoints within max range), removes occupied cells
from the free set, then updates every cell once; the mark box gives the same sets, so the same map.
The per-scan driver (box, tiles, chunks, which walk) is ``OccupancyOctree._insert``."""
from __future__ import annotations

from robomem.mapping.marks import MARK_CAST, MARK_FREE, MARK_OCC, apply_marks, clear_marks, marked_blocks
from robomem.mapping.rays import (FLAG_OCC, FLAG_RAY, compute_ends, compute_ends_discrete_box, depth_to_world,
                                  point_key_bounds)
from robomem.mapping.raywalk import mark_scan, mark_scan_clipped, mark_scan_dense, scan_dense

__all__ = [
    "FLAG_RAY", "FLAG_OCC", "MARK_FREE", "MARK_OCC", "MARK_CAST",
    "depth_to_world", "point_key_bounds", "compute_ends", "compute_ends_discrete_box",
    "mark_scan", "mark_scan_dense", "mark_scan_clipped", "scan_dense",
    "marked_blocks", "apply_marks", "clear_marks",
]
