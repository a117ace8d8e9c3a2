"""Navigation in a hand-built two-room scene: navigability, shortest paths, geodesics."""
import math

import numpy as np
import pytest

from sim.pathfinder import GridPathFinder
from tests.sim_fixtures import two_rooms

R = 0.18


@pytest.fixture(scope="module")
def pf():
    return GridPathFinder(two_rooms(), agent_radius=R, resolution=0.05)


def test_navigability_respects_walls_and_radius(pf):
    assert pf.is_navigable((2.0, 1.5, 0.0))
    assert pf.is_navigable((4.0, 1.5, 0.0))  # in the door
    assert not pf.is_navigable((4.0, 0.5, 0.0))  # in the wall
    assert not pf.is_navigable((4.0, 1.1, 0.0))  # door jamb closer than the radius
    assert not pf.is_navigable((0.05 + 0.1, 1.5, 0.0))  # 10 cm from the wall
    assert pf.is_navigable((0.05 + 0.3, 1.5, 0.0))
    assert not pf.is_navigable((9.0, 1.5, 0.0))  # outside the house
    assert pf.all_rooms_connected()


def test_shortest_path_through_the_door(pf):
    start, goal = np.array([2.0, 0.5, 0.0]), np.array([6.0, 0.5, 0.0])
    path, length = pf.find_path(start, goal)
    assert path[0] == pytest.approx(start) and path[-1] == pytest.approx(goal)
    for a, b in zip(path[:-1], path[1:]):
        assert pf.segment_free(a, b)
    # Lower bound: the polyline over the two jamb corners pushed out by the radius; the true
    # shortest path for a disc is slightly longer, the grid adds at most a few cm.
    c1, c2 = np.array([3.95, 1.05 + R]), np.array([4.05, 1.05 + R])
    lower = np.hypot(*(c1 - start[:2])) + 0.1 + np.hypot(*(goal[:2] - c2))
    assert lower - 1e-6 <= length <= lower + 0.08
    # It goes through the door opening.
    crossing = [a + (b - a) * (4.0 - a[0]) / (b[0] - a[0]) for a, b in zip(path[:-1], path[1:]) if (a[0] - 4) * (b[0] - 4) <= 0]
    assert len(crossing) == 1 and 1.05 + R - 0.05 <= crossing[0][1] <= 1.95 - R + 0.05
    assert pf.geodesic_distance(start, goal) == pytest.approx(length)
    assert pf.geodesic_distance(goal, start) == pytest.approx(length, abs=0.05)


def test_straight_line_inside_a_room_is_euclidean(pf):
    a, b = np.array([0.5, 0.5, 0.0]), np.array([3.3, 2.4, 0.0])
    assert pf.geodesic_distance(a, b) == pytest.approx(math.dist(a, b), abs=1e-9)


def test_no_door_no_path_and_helpers():
    closed = GridPathFinder(two_rooms(door=False), agent_radius=R)
    path, length = closed.find_path((2.0, 1.5, 0.0), (6.0, 1.5, 0.0))
    assert length == math.inf and path.shape == (0, 3)
    assert not closed.all_rooms_connected()
    p = closed.snap_point((4.0, 1.5, 0.0))
    assert closed.is_navigable(p) and math.dist(p[:2], (4.0, 1.5)) < 0.05 + R + 0.1
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert closed.is_navigable(closed.sample_navigable_point(rng))
    assert closed.find_path((4.0, 0.5, 0.0), (2.0, 1.5, 0.0))[1] == math.inf  # start in a wall
