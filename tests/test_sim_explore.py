"""Navigation and frontier exploration in the embedded simulator on the robot's own map (issue 11)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("open3d")

import sim  # noqa: E402
from robomem.mapping.map_memory import MapMemory  # noqa: E402
from robomem.mapping.paths import GoalOutsideMapError  # noqa: E402
from sim.base import AgentState  # noqa: E402
from sim.explore import explore, observed_floor_fraction  # noqa: E402
from sim.navigation import MapRobot  # noqa: E402
from tests.sim_fixtures import two_rooms  # noqa: E402


def _robot(scene):
    env = sim.EmbeddedSim(scene, width=96, height=72, turn_deg=20,
                          initial_state=AgentState(np.array([1.2, 1.5, 0.0]), 0.0))
    mm = MapMemory()
    return env, mm, MapRobot(env, lambda: mm.octree, mm.insert)


def test_exploring_two_rooms_covers_the_floor_without_collisions():
    scene = two_rooms()
    scene.add_object("sofa", position=(2.0, 2.3), yaw=np.pi / 2)
    env, mm, robot = _robot(scene)
    r = explore(robot, "gain", path_budget_m=40, progress=False)
    frac, area = observed_floor_fraction(mm.octree, env.pathfinder, np.array([1.2, 1.5]))
    assert r.stop_reason == "no reachable frontier"
    assert r.collisions == 0
    assert frac >= 0.95, (frac, area)
    assert robot.position[0] > 4.0 or any(p[0] > 4.0 for p in robot.count.trail)   # went through the door
    # Navigation on its own map: bad goals end with an error or a reason, never a loop.
    with pytest.raises(GoalOutsideMapError):
        robot.go_to((40.0, 1.5))
    res = robot.go_to((2.0, 2.3), max_steps=50)        # inside the sofa
    assert not res.reached and res.steps <= 50 and res.reason
    home = robot.go_to((1.0, 1.0), max_steps=300)
    assert home.reached and robot.count.collisions == 0


def test_closed_door_leaves_the_other_room_unreachable():
    env, mm, robot = _robot(two_rooms(door=False))
    r = explore(robot, "nearest", path_budget_m=20, progress=False)
    assert r.collisions == 0 and r.stop_reason == "no reachable frontier"
    res = robot.go_to((5.5, 1.5), max_steps=100)
    assert not res.reached and res.steps <= 100


def test_a_blocked_step_is_counted_remembered_and_avoided():
    """An obstacle that appeared in the robot's blind spot (below the camera's view, on floor its map
    holds free): the simulator blocks the step, the robot counts the collision, marks the obstacle
    on its traversability grid, backs off and drives around it to the goal."""
    from robomem.errors import InvalidInputError
    env, mm, robot = _robot(two_rooms(door=False))
    robot.look_around(360.0)
    assert robot.count.collisions == 0 and robot.grid().is_traversable([[1.6, 1.5]])[0]
    env.scene.add_object("laundry_basket", position=(1.65, 1.5), size=(0.2, 0.8, 0.12))
    res = robot.go_to((2.6, 1.5), max_steps=300)
    assert res.reached, res
    c = robot.count
    assert 1 <= c.collisions <= 4 and len(c.collision_log) == c.collisions    # every blocked step counted
    assert len(robot.bumps) == c.collisions
    tried = [(round(p[0], 2), round(p[1], 2), round(yaw, 2)) for p, yaw, _ in c.collision_log]
    assert len(set(tried)) == len(tried)                                      # never the same blocked step twice
    for b in robot.bumps:                                                     # each one where the basket stands
        assert 1.4 <= b[0] <= 2.0 and abs(b[1] - 1.5) <= 0.6, robot.bumps
    assert not robot.grid().is_traversable([[1.4, 1.5]])[0]                   # remembered: planned around
    assert any(abs(p[1] - 1.5) > 0.5 for p in c.trail)                        # went round, not through
    for bad in ((float("nan"), 1.0), (1.0,), "home"):
        with pytest.raises(InvalidInputError):
            robot.go_to(bad)
    with pytest.raises(InvalidInputError):
        robot.go_to((1.0, 1.0), max_steps=0)
