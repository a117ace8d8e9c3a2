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
