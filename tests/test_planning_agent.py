"""The agent loop on a small real world: a MemoryStack on SQLite, grid shortest paths, geometric
looking (tests/planning_world.py)."""
import json
import math

import pytest

from robomem.planning import Budget, CostModel
from robomem.planning.agent import CANNOT_ANSWER, Agent
from robomem.planning.policies import ExploreAlwaysPolicy, MemoryOnlyPolicy, ThresholdPolicy
from robomem.planning import UnsupportedQuestionError
from robomem.planning.recall import MemoryRecall, parse_question, parse_where_question
from planning_world import World, room_infos

REMEMBERED = {
    11: ("vase", (2.0, 5.5, 0.8)),        # never moves
    12: ("keys", (1.0, 2.0, 0.8)),        # moves often: now in the bedroom
    13: ("mug", (8.0, 1.0, 0.9)),         # seen in the kitchen, still there
    14: ("umbrella", (11.0, 3.0, 0.5)),   # in the sealed storage room
    15: ("wallet", (1.5, 0.5, 0.8)),      # gone out of the house
}
TRUTH = {
    11: ("vase", (2.0, 5.5, 0.8)),
    12: ("keys", (8.5, 5.0, 0.6)),
    13: ("mug", (8.0, 1.0, 0.9)),
    14: ("umbrella", (11.0, 3.0, 0.5)),
    16: ("remote", (3.0, 3.0, 0.5)),      # never seen before; living room
}


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path / "house.db", REMEMBERED, TRUTH)
    yield w
    w.close()


def agent_for(world, policy=None, budget=None, costs=None):
    recall = MemoryRecall(world.stack, room_infos(), lambda: world.now)

    def act(action):
        return world.act(action)

    return Agent(recall, world.paths, act, policy=policy, budget=budget, costs=costs)


def ask(world, label, **kw):
    world.target = label
    return agent_for(world, **kw).run(f"where is the {label.replace('_', ' ')}?", world.pose)


def test_answers_from_memory_for_a_never_moving_object(world):
    ep = ask(world, "vase")
    assert ep.steps == 0 and ep.path_m == 0.0
    assert ep.answer["object_id"] == 11 and ep.confidence > 0.99


def test_goes_and_finds_an_often_moved_object(world):
    ep = ask(world, "keys")
    assert ep.steps >= 1 and ep.path_m > 0
    assert ep.answer["object_id"] == 12 and math.dist(ep.answer["position"][:2], TRUTH[12][1][:2]) < 1e-6
    assert ep.confidence > 0.9
    rec = json.loads(json.dumps(ep.to_dict()))
    assert rec["trace"][0]["considered"] and rec["trace"][0]["chosen"] is not None
    # The memory was updated on the way: the stack now knows where the keys are.
    assert math.dist(world.stack.where_is("keys")[0].position[:2], TRUTH[12][1][:2]) < 1e-6


def test_explores_the_likely_room_for_a_never_seen_object(world):
    ep = ask(world, "remote")
    assert ep.trace[0]["chosen"] == "room:1"          # living room: where remotes are
    assert ep.answer["object_id"] == 16 and ep.steps == 1


def test_reports_an_unreachable_object_without_looping(world):
    ep = ask(world, "umbrella", budget=Budget(max_steps=20))
    assert "obj:14" in ep.unreachable and "room:4" in ep.unreachable
    assert ep.steps <= 6
    assert ep.answer is not None


def test_a_budget_ends_the_episode(world):
    ep = ask(world, "wallet", budget=Budget(max_steps=2))      # wallet is out of the house
    assert ep.steps == 2 and ep.stop_reason.startswith("budget")
    ep2 = ask(world, "wallet", budget=Budget(max_steps=50, max_path_m=12.0))
    assert ep2.path_m <= 12.0 + 1e-9


def test_an_absent_object_ends_the_search_by_itself(world):
    ep = ask(world, "wallet", budget=Budget(max_steps=50, max_path_m=1e4, max_time_s=1e6))
    assert ep.steps < 12 and not ep.stop_reason.startswith("budget")
    # every look was from a viewpoint not used before for what it looked at: the same spot again
    # sees the same frames, so the agent never plans it (and the belief never counts it)
    views = [(r["chosen"], tuple(c["view"])) for r in ep.trace if r["chosen"]
             for c in r["considered"] if c["target"] == r["chosen"]]
    assert len(views) == len(set(views)) and ep.steps >= 2


@pytest.mark.parametrize("q", ["make me a sandwich", "", "where is?", 42])
def test_unparseable_questions_cannot_be_answered_and_do_not_move(world, q):
    ep = agent_for(world).run(q, world.pose)
    assert ep.cannot_answer and ep.answer == CANNOT_ANSWER and ep.steps == 0 and ep.path_m == 0.0
    assert ep.stop_reason.startswith("cannot answer")


def test_baseline_policies(world):
    ep = ask(world, "keys", policy=MemoryOnlyPolicy())
    assert ep.steps == 0 and ep.path_m == 0 and ep.confidence < 0.5     # stale memory, low confidence
    ep = ask(world, "keys", policy=ThresholdPolicy(0.95))
    assert ep.steps >= 1 and ep.confidence >= 0.95 and ep.answer["object_id"] == 12
    ep = ask(world, "mug", policy=ExploreAlwaysPolicy(), budget=Budget(max_steps=20))
    looked = [r["chosen"] for r in ep.trace if r["chosen"]]
    assert {"room:1", "room:2", "room:3"} <= set(looked) and "room:4" not in looked


def test_cost_weight_trades_path_for_accuracy(world):
    cheap = ask(world, "keys", costs=CostModel(cost_per_m=0.001))
    world.pose = (1.0, 1.0, 0.0)
    dear = ask(world, "keys", costs=CostModel(cost_per_m=0.5))
    assert dear.steps == 0 and cheap.steps >= 1


def test_parse_where_question():
    assert parse_where_question("Where is the coffee mug?") == "coffee_mug"
    assert parse_where_question("where are my keys") == "keys"
    assert parse_where_question({"label": "mug"}) == "mug"
    assert parse_question("Which room is the TV remote in?") == ("which_room", "tv_remote")
    with pytest.raises(UnsupportedQuestionError):
        parse_question({"kind": "count_in_room", "label": "mug"})


def test_which_room_question_is_answered_by_room(world):
    world.target = "remote"
    ep = agent_for(world).run("which room is the remote in?", world.pose)
    assert ep.answer["room_id"] == 1


def test_room_of_decides_rooms_when_the_store_numbers_rooms_differently(world):
    """The stack's stored room ids may come from its own segmentation; with ``room_of`` the belief
    (remembered places and the learned prior) uses the ids of ``rooms`` instead."""
    from planning_world import room_of
    rooms = {r + 10: info for r, info in room_infos().items()}          # another numbering
    recall = MemoryRecall(world.stack, rooms, lambda: world.now, room_of=lambda p: room_of(p) + 10)
    b = recall("which room is the vase in?")
    vase = next(h for h in b.hypotheses if h.key == "obj:11")
    assert vase.room_id == room_of(REMEMBERED[11][1]) + 10 and vase.answer["room_id"] == vase.room_id
    vase_type = rooms[vase.room_id].room_type
    assert recall._prior(world.now).counts["vase"] == {vase_type: 1.0}
    # without room_of the stored ids (which these rooms do not have) would be used
    plain = MemoryRecall(world.stack, rooms, lambda: world.now)
    assert next(h for h in plain("which room is the vase in?").hypotheses if h.key == "obj:11").room_id not in rooms


def test_after_a_sighting_no_look_is_repeated_from_the_same_spot(world):
    # looks are nearly free, so the agent keeps checking for a false positive after seeing the keys,
    # but never again from a viewpoint it already used for the same place (same frames)
    ep = ask(world, "keys", costs=CostModel(cost_per_m=1e-5, cost_per_s=0.0),
             budget=Budget(max_steps=20, max_path_m=1e4, max_time_s=1e6))
    assert ep.answer["object_id"] == 12
    views = [(r["chosen"], tuple(c["view"])) for r in ep.trace if r["chosen"]
             for c in r["considered"] if c["target"] == r["chosen"]]
    assert len(views) == len(set(views))
