"""Traversability, frontier clusters and shortest paths on the robot's own map (issue 11)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from robomem.errors import InvalidInputError
from robomem.mapping import OccupancyOctree
from robomem.mapping.frontier_clusters import frontier_clusters
from robomem.mapping.grid2d import OccupancyGrid2D
from robomem.mapping.paths import GoalOutsideMapError, Replanner, distance_field, path_from_field, shortest_path
from robomem.mapping.traversability import TraversabilitySettings, traversability


def _octree_room(wall_gap=True, res=0.05):
    """A 4 x 3 m room (walls 2 m tall) split at x = 2 by a wall with a 0.8 m door (if ``wall_gap``);
    all free space inside known, a 0.3 m tall box at (1, 1) and a shelf at 1.8 m over (1, 2.4)."""
    t = OccupancyOctree(res)
    xs = np.arange(res / 2, 4, res)
    ys = np.arange(res / 2, 3, res)
    zs = np.arange(res / 2, 2, res)
    X, Y, Z = np.meshgrid(xs, ys, zs, indexing="ij")
    P = np.stack([X.ravel(), Y.ravel(), Z.ravel()], axis=1)
    wall = (P[:, 0] < 0.1) | (P[:, 0] > 3.9) | (P[:, 1] < 0.1) | (P[:, 1] > 2.9)
    mid = (np.abs(P[:, 0] - 2.0) < 0.05)
    if wall_gap:
        mid &= ~((P[:, 1] > 1.1) & (P[:, 1] < 1.9))
    box = (np.abs(P[:, 0] - 1.0) < 0.2) & (np.abs(P[:, 1] - 1.0) < 0.2) & (P[:, 2] < 0.3)
    shelf = (np.abs(P[:, 0] - 1.0) < 0.3) & (np.abs(P[:, 1] - 2.4) < 0.2) & (np.abs(P[:, 2] - 1.8) < 0.05)
    occ = wall | mid | box | shelf
    t._set_voxels(np.floor(P / res).astype(np.int64) + 32768, np.where(occ, 2.0, -2.0).astype(np.float32))
    return t


def test_traversability_inflates_obstacles_and_honours_step_and_overhang():
    tg = traversability(_octree_room(), TraversabilitySettings(robot_radius=0.2, margin=0.05))
    assert tg.is_traversable([[0.6, 2.0]])[0]
    assert not tg.is_traversable([[1.0, 1.0]])[0]          # in the box
    assert not tg.is_traversable([[1.0, 0.73]])[0]         # within the radius of the box
    assert tg.is_traversable([[1.0, 2.4]])[0]              # under the shelf (above robot height)
    low = traversability(_octree_room(), TraversabilitySettings(robot_radius=0.2, step_height=0.35))
    assert low.is_traversable([[1.0, 1.0]])[0]             # the box is a step now
    short = traversability(_octree_room(), TraversabilitySettings(robot_radius=0.2, robot_height=1.7))
    assert short.is_traversable([[1.0, 2.4]])[0] and not traversability(
        _octree_room(), TraversabilitySettings(robot_radius=0.2, robot_height=1.9)).is_traversable([[1.0, 2.4]])[0]
    with pytest.raises(InvalidInputError):
        TraversabilitySettings(robot_radius=-1)
    with pytest.raises(InvalidInputError):
        traversability("map")


def test_paths_go_through_the_door_and_bad_goals_end_cleanly():
    tg = traversability(_octree_room(), TraversabilitySettings(robot_radius=0.2, margin=0.05))
    p = shortest_path(tg, (0.6, 0.5), (3.4, 0.5))
    assert p.found
    assert p.length > 2.8 + 0.5                              # has to detour through the door at y 1.1..1.9
    assert tg.is_traversable(p.waypoints).all()
    assert np.any(np.abs(p.waypoints[:, 0] - 2.0) < 0.3) or len(p.waypoints) >= 3
    dist, parent = distance_field(tg, (0.6, 0.5))
    q = path_from_field(tg, parent, dist, (0.6, 0.5), (3.4, 0.5))
    assert q.found and abs(q.length - p.length) < 0.3
    # Goals: outside the map -> error; inside an obstacle, unreachable -> "no path" with a reason.
    with pytest.raises(GoalOutsideMapError):
        shortest_path(tg, (0.6, 0.5), (50.0, 0.0))
    with pytest.raises(InvalidInputError):
        shortest_path(tg, (0.6, 0.5), (np.nan, 0.0))
    r = shortest_path(tg, (0.6, 0.5), (1.0, 1.0))
    assert not r.found and "obstacle" in r.reason
    closed = traversability(_octree_room(wall_gap=False), TraversabilitySettings(robot_radius=0.2))
    r = shortest_path(closed, (0.6, 0.5), (3.4, 0.5))
    assert not r.found and "unreachable" in r.reason and math.isinf(r.length)


def test_replanner_replans_when_the_map_blocks_the_path():
    t = _octree_room()
    s = TraversabilitySettings(robot_radius=0.2)
    rp = Replanner((3.4, 0.5))
    first = rp.update(traversability(t, s), (0.6, 0.5))
    assert first.found and rp.replans == 1
    assert rp.update(traversability(t, s), (0.6, 0.5)) is first       # not blocked: same path
    # The door closes: the path is blocked and the goal becomes unreachable.
    keys = np.floor(np.array([[2.0, y, z] for y in np.arange(1.1, 1.9, 0.05) for z in np.arange(0.05, 2, 0.05)])
                    / 0.05).astype(np.int64) + 32768
    t._set_voxels(keys, np.full(len(keys), 3.0, np.float32))
    again = rp.update(traversability(t, s), (0.6, 0.5))
    assert rp.replans == 2 and not again.found


def test_frontier_clusters_size_centroid_gain():
    data = np.full((40, 60), -1, np.int8)
    data[5:35, 5:30] = 0          # a known free room, open to unknown on its right side
    data[5:35, 5] = 100
    data[5, 5:30] = 100
    data[34, 5:30] = 100
    g = OccupancyGrid2D(data, 0.1, (0.0, 0.0))
    fs = frontier_clusters(g, min_cells=3, sensor_range=1.0)
    assert len(fs) == 1
    f = fs[0]
    assert np.allclose(f.centroid, [2.95, 2.0], atol=0.15)
    assert f.num_cells >= 28 and f.gain_m2 > 1.0
    small = data.copy()
    small[:, 29] = 100
    small[20:22, 29] = 0            # a two-cell gap: below min_cells
    assert frontier_clusters(OccupancyGrid2D(small, 0.1, (0, 0)), min_cells=3) == []
    with pytest.raises(InvalidInputError):
        frontier_clusters(g, min_cells=0)


def test_touched_obstacles_block_like_seen_ones():
    """An obstacle the robot learned by touch (``bumped_xy``) is occupied and inflated, even where the
    robot's trail says free; it changes nothing else."""
    tree = _octree_room()
    st = TraversabilitySettings(robot_radius=0.2, margin=0.05)
    plain = traversability(tree, st, driven_xy=np.array([[0.6, 2.0], [0.9, 2.0]]))
    bumped = traversability(tree, st, driven_xy=np.array([[0.6, 2.0], [0.9, 2.0]]), bumped_xy=np.array([[0.75, 2.0]]))
    assert plain.is_traversable([[0.75, 2.0]])[0] and not bumped.is_traversable([[0.75, 2.0]])[0]
    assert not bumped.is_traversable([[0.75, 2.2]])[0]               # inflated by radius + margin
    assert bumped.is_traversable([[0.75, 1.6]])[0] and bumped.is_traversable([[3.0, 1.5]])[0]
    changed = plain.traversable != bumped.traversable
    r, c = np.nonzero(changed)
    xy = bumped.cell_to_world((r, c))
    centre = bumped.cell_to_world(bumped.world_to_cell(np.array([0.75, 2.0])))
    assert np.all(np.linalg.norm(xy - centre, axis=1) <= 0.25 + 1e-9)
    # the capped clearance is exact near obstacles
    assert bumped.clearance[bumped.world_to_cell(np.array([0.75, 2.0]))] == 0
    r0, c0 = bumped.world_to_cell(centre + [0.0, 0.1])
    assert math.isclose(bumped.clearance[r0, c0], 0.1, abs_tol=1e-9)


def test_visible_unknown_area_is_blocked_by_walls():
    from robomem.mapping.frontier_clusters import visible_unknown_area
    d = np.full((60, 60), -1, np.int8)
    d[:, :30] = 0                                      # known free half
    open_grid = OccupancyGrid2D(d.copy(), 0.05, (0.0, 0.0))
    d[:, 31] = 100                                     # a wall right behind the frontier
    walled = OccupancyGrid2D(d, 0.05, (0.0, 0.0))
    cells = np.array([[30, 29], [31, 29]])
    a, b = visible_unknown_area(open_grid, cells, sensor_range=1.0), visible_unknown_area(walled, cells, sensor_range=1.0)
    assert a > 1.0 and b <= 60 * 0.05 ** 2 + 1e-9       # only the unknown column before the wall
    assert visible_unknown_area(open_grid, np.zeros((0, 2), np.int64)) == 0.0
