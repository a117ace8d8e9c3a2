"""The planner wired to retrieval (beliefs from ``stack.ask`` answers) and to the robot's own map
(path lengths on the memory's occupancy map)."""
import math

import numpy as np
import pytest

from robomem.planning import Agent, AnswerRecall
from robomem.planning.map_paths import MapPathLength
from planning_world import World, room_infos
from test_map_paths import _octree_room
from test_planning_agent import REMEMBERED, TRUTH


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path / "house.db", REMEMBERED, TRUTH)
    yield w
    w.close()


def run(world, question, target=None):
    world.target = target
    agent = Agent(AnswerRecall(world.stack, room_infos(), lambda: world.now), world.paths, world.act)
    return agent.run(question, world.pose)


def test_retrieval_belief_sends_the_agent_to_find_moved_keys(world):
    ep = run(world, "where are my keys?", "keys")
    assert ep.steps >= 1 and ep.answer["object_id"] == 12
    assert math.dist(ep.answer["position"][:2], TRUTH[12][1][:2]) < 1e-6
    first = ep.trace[0]
    assert any(c["target"] == "obj:12" for c in first["considered"])   # retrieval's evidence is a hypothesis


def test_questions_about_the_past_are_answered_from_memory_without_moving(world):
    ep = run(world, "how many mugs are there?")
    assert ep.steps == 0 and ep.path_m == 0.0 and not ep.cannot_answer
    assert ep.answer["kind"] == "count"


def test_unsupported_questions_end_with_cannot_answer(world):
    ep = run(world, "make me a sandwich")
    assert ep.cannot_answer and ep.steps == 0


def test_map_path_lengths_go_through_the_door_and_report_unreachable():
    tree = _octree_room()
    paths = MapPathLength(lambda: tree, reach_m=0.3)
    d = paths((0.6, 0.5, 0.0), (3.4, 0.5, 0.0))
    assert d is not None and d > (2.8 - 0.3) + 0.5         # around through the door, not the 2.5 m straight line
    assert MapPathLength(lambda: tree, reach_m=0.6)((0.6, 0.5, 0.0), (1.0, 1.0, 0.0)) is not None  # next to the box
    assert paths((0.6, 0.5, 0.0), (30.0, 30.0, 0.0)) is None          # off the map
    closed = MapPathLength(lambda: _octree_room(wall_gap=False), reach_m=0.3)
    assert closed((0.6, 0.5, 0.0), (3.4, 0.5, 0.0)) is None


def test_stand_point_is_a_reachable_cell_within_reach_of_the_goal():
    """Where a robot sent to a goal stops (what the ROS planner node sends as ``goal_pose``): a
    traversable cell of the robot's map within ``reach_m`` of the goal, on the robot's side of the
    wall; None when the goal cannot be reached."""
    tree = _octree_room()
    paths = MapPathLength(lambda: tree, reach_m=0.3)
    xy = paths.stand_point((0.6, 0.5, 0.0), (3.4, 0.5, 0.0))
    assert xy is not None and np.hypot(xy[0] - 3.4, xy[1] - 0.5) <= 0.3 + paths.grid.resolution
    assert bool(paths.grid.is_traversable(np.array([xy]))[0])
    assert paths.stand_point((0.6, 0.5, 0.0), (30.0, 30.0, 0.0)) is None
    closed = MapPathLength(lambda: _octree_room(wall_gap=False), reach_m=0.3)
    assert closed.stand_point((0.6, 0.5, 0.0), (3.4, 0.5, 0.0)) is None


@pytest.mark.parametrize("credit", [0.2, 0.0])
def test_a_room_answer_to_a_where_question_is_worth_what_the_judge_gives_it(world, credit):
    # The remote was never seen: answering now names only its likely room. The stop confidence is
    # P(in that room) x room_answer_accuracy, so the eval (whose judge wants a position within
    # WHERE_TOL_M, never met by a room) runs with sim.story.ROOM_ANSWER_ACCURACY = 0.
    from robomem.planning.policies import MemoryOnlyPolicy
    from sim.story import ROOM_ANSWER_ACCURACY
    assert ROOM_ANSWER_ACCURACY == 0.0
    recall = AnswerRecall(world.stack, room_infos(), lambda: world.now, room_answer_accuracy=credit)
    ep = Agent(recall, world.paths, world.act, policy=MemoryOnlyPolicy()).run("where is the remote?", world.pose)
    assert ep.steps == 0 and "position" not in ep.answer and ep.answer.get("room_id") is not None
    if credit == 0.0:
        assert ep.confidence == 0.0
    else:
        assert 0.0 < ep.confidence <= credit
    # the same room asked as "which room" is worth its full probability
    recall = AnswerRecall(world.stack, room_infos(), lambda: world.now, room_answer_accuracy=0.0)
    ep = Agent(recall, world.paths, world.act, policy=MemoryOnlyPolicy()).run("which room is the remote in?", world.pose)
    assert ep.confidence > 0.0
