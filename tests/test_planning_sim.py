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


def test_agent_acts_on_its_own_map_and_reports_an_unreachable_goal(tmp_path):
    """MapAgentWorld: the day-0 tour builds the robot's map; paths, costs and look-out points come from
    that map, the simulator only executes the motion (collision-checked); a goal its map cannot
    reach is reported, not driven to."""
    from robomem.planning import Action
    from sim.agent_env import MapAgentWorld, tour_trail, transit_frames

    scene, f, keys = house()
    env = sim.EmbeddedSim(scene, width=160, height=120)
    stack = robomem.open(tmp_path / "m.db")
    try:
        spots = [env.pathfinder.snap_point(r.centroid)[:2] for r in scene.rooms.values()]
        trail = tour_trail(env.pathfinder, spots)
        world = MapAgentWorld(scene, env, stack, trail=trail)
        stack.begin_session("tour", env.clock_ns)
        t = env.clock_ns
        for p in spots:                                        # scripted tour: look around in every room
            _, t = world.look(np.array([p[0], p[1], 0.0]), [2 * math.pi * k / 6 for k in range(6)], t)
        for fr in transit_frames(env, trail, stamp_ns=t):      # and the depth seen driving between them
            stack.map.insert(fr)
        stack.end_session(t)
        world.paths.refresh()
        scene.move_object(keys, f"{f['coffee_table']}/top", rng=np.random.default_rng(1))
        truth = scene.objects[keys].position
        env.clock_ns = t + DAY_NS
        stack.begin_session("next day", env.clock_ns)
        rooms = world.rooms()
        assert set(rooms) == {1, 2}
        assert all(world.paths.grid.is_traversable(np.array([i.position[:2]]))[0] for i in rooms.values())
        dock = rooms[world.room_ids["kitchen_0"]].position
        d_map = world.path_length(dock, rooms[2].position)
        pf = env.pathfinder
        d_sim = pf.geodesic_distance(pf.snap_point(np.array(dock)), pf.snap_point(np.array(rooms[2].position)))
        assert d_map is not None and abs(d_map - d_sim) < 0.25 * d_sim   # the robot's map, not the simulator's
        world.pose, world.target = dock, "laptop"
        agent = Agent(MemoryRecall(stack, rooms, lambda: env.clock_ns, room_of=world.room_of), world.path_length,
                      world.act, budget=Budget(max_steps=6))
        ep = agent.run("where is the laptop?", dock)
        assert ep.steps >= 1 and ep.path_m > 1.0, (ep.stop_reason, ep.unreachable, ep.poses, [(o.get("action"), o.get("outcome")) for o in ep.to_dict()["trace"]])
        assert math.dist(ep.answer["position"][:2], truth[:2]) < 0.5, ep.to_dict()["trace"]
        assert world.legs and all(env.pathfinder.is_navigable(np.array([x, y, 0.0])) for leg in world.legs
                                  for x, y in leg)          # every driven point is free in the simulator
        # a goal behind the outer wall: unreachable on the robot's map, so it does not move
        before = world.pose
        out = world.act(Action("verify", "obj:99", (13.0, 2.0, 0.5)))
        assert not out.reached and out.path_m == 0.0 and world.pose[:2] == before[:2]
        assert world.path_length(before, (13.0, 2.0, 0.5)) is None
    finally:
        stack.close()
        env.close()
