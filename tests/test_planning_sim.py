"""The planning agent in the embedded simulator: real rendering, real perception, real memory."""
import math

import numpy as np
import pytest

import robomem
import sim
from robomem.planning import Agent, Budget, MemoryRecall
from sim.agent_env import SimAgentWorld

DAY_NS = 86400 * 10**9


def house():
    s = sim.Scene("plan-house")
    s.add_room("kitchen_0", "kitchen", [(0, 0), (5, 0), (5, 4), (0, 4)])
    s.add_room("living_room_0", "living_room", [(5, 0), (11, 0), (11, 5), (5, 5)])
    s.add_door("kitchen_0", "living_room_0")
    f = {cat: s.add_object(cat, position=pos, yaw=yaw).instance_id for cat, pos, yaw in
         [("counter", (0.4, 2.0), 0.0), ("kitchen_table", (2.8, 2.0), 0.0), ("coffee_table", (8.5, 2.5), 0.0),
          ("sofa", (10.4, 2.5), math.pi)]}
    rng = np.random.default_rng(0)
    keys = s.place_object_on("laptop", f"{f['kitchen_table']}/top", rng=rng).instance_id
    s.place_object_on("plant", f"{f['counter']}/top", rng=rng)
    return s, f, keys


@pytest.fixture
def setup(tmp_path):
    scene, f, keys = house()
    env = sim.EmbeddedSim(scene, width=160, height=120)
    stack = robomem.open(tmp_path / "m.db", map=None)       # the simulator's grid plans here; the map is tested in test_planning_wiring
    world = SimAgentWorld(scene, env, stack)
    stack.begin_session("tour", env.clock_ns)
    t = env.clock_ns
    for info in world.rooms().values():                      # day-0 tour: look around every room
        _, t = world.look(info.position, [2 * math.pi * k / 6 for k in range(6)], t)
    stack.end_session(t)
    yield scene, f, keys, env, stack, world
    stack.close()
    env.close()


def test_agent_finds_a_moved_object_in_the_simulator(setup):
    scene, f, keys, env, stack, world = setup
    assert [a.label for a in stack.where_is("laptop")] == ["laptop"]
    scene.move_object(keys, f"{f['coffee_table']}/top", rng=np.random.default_rng(1))
    truth = scene.objects[keys].position
    env.clock_ns += DAY_NS
    stack.begin_session("next day", env.clock_ns)
    rooms = world.rooms()
    dock = rooms[world.room_ids["kitchen_0"]].position
    world.pose, world.target = dock, "laptop"
    agent = Agent(MemoryRecall(stack, rooms, lambda: env.clock_ns, room_of=world.room_of), world.path_length,
                  world.act, budget=Budget(max_steps=6))
    ep = agent.run("where is the laptop?", dock)
    assert ep.steps >= 1 and ep.path_m > 1.0 and world.stats.frames > 0
    assert math.dist(ep.answer["position"][:2], truth[:2]) < 0.5, ep.to_dict()["trace"]
    assert ep.confidence > 0.9
    # the memory saw it on the way
    assert math.dist(stack.where_is("laptop")[0].position[:2], truth[:2]) < 0.5


def test_unsupported_question_does_not_move_the_robot(setup):
    scene, f, keys, env, stack, world = setup
    rooms = world.rooms()
    start = rooms[1].position
    world.pose = start
    frames = world.stats.frames
    agent = Agent(MemoryRecall(stack, rooms, lambda: env.clock_ns), world.path_length, world.act)
    ep = agent.run("how many mugs were in the kitchen last week?", start)
    assert ep.cannot_answer and ep.steps == 0 and world.stats.frames == frames and world.pose == start
