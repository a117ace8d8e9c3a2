"""Bad input and budgets for every policy the evaluation compares: whatever the decision rule, a
budget ends the episode, a robot that can never get anywhere is not looped, and a question the
agent cannot parse ends with "cannot answer" without motion (tests/planning_world.py world)."""
import pytest

from robomem.planning import Budget, CostModel, Outcome
from robomem.planning.agent import CANNOT_ANSWER, Agent
from robomem.planning.evaluation import policies
from robomem.planning.recall import MemoryRecall
from planning_world import World, room_infos

REMEMBERED = {12: ("keys", (1.0, 2.0, 0.8)), 15: ("wallet", (1.5, 0.5, 0.8)), 14: ("umbrella", (11.0, 3.0, 0.5))}
TRUTH = {12: ("keys", (8.5, 5.0, 0.6)), 14: ("umbrella", (11.0, 3.0, 0.5))}     # the wallet is out of the house
POLICIES = policies([0.99], [0.0003])        # memory-only, explore-always, threshold-0.99, voi-0.0003


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path / "house.db", REMEMBERED, TRUTH)
    yield w
    w.close()


def run(world, label, policy, costs, budget, act=None):
    world.target = label
    agent = Agent(MemoryRecall(world.stack, room_infos(), lambda: world.now), world.paths, act or world.act,
                  policy=policy, costs=costs, budget=budget)
    return agent.run(f"where is the {label}?", world.pose)


@pytest.mark.parametrize("name, policy, costs", POLICIES, ids=[p[0] for p in POLICIES])
@pytest.mark.parametrize("budget", [Budget(max_steps=2), Budget(max_steps=50, max_path_m=9.0),
                                    Budget(max_steps=50, max_time_s=60.0)], ids=["steps", "metres", "seconds"])
def test_every_policy_stops_within_every_budget(world, name, policy, costs, budget):
    ep = run(world, "wallet", policy, costs, budget)         # absent: only the budget or the belief can end it
    assert ep.steps <= budget.max_steps
    assert ep.path_m <= budget.max_path_m + 1e-9
    assert ep.answer is not None and not ep.cannot_answer


@pytest.mark.parametrize("name, policy, costs", POLICIES, ids=[p[0] for p in POLICIES])
def test_a_robot_that_never_arrives_reports_every_place_unreachable_and_stops(world, name, policy, costs):
    calls = []

    def stuck(action):
        calls.append(action.target)
        return Outcome(0.0, 1.0, world.pose, reached=False)

    ep = run(world, "keys", policy, costs, Budget(max_steps=100), act=stuck)
    assert len(calls) == len(set(calls))                      # no place is tried twice
    assert set(calls) <= set(ep.unreachable)
    assert ep.steps == len(calls) <= 10


@pytest.mark.parametrize("q", ["what is the meaning of life?", "where is the?", b"\xff\xfe", None])
@pytest.mark.parametrize("name, policy, costs", POLICIES, ids=[p[0] for p in POLICIES])
def test_unparseable_questions_end_at_once_for_every_policy(world, name, policy, costs, q):
    moved = []
    agent = Agent(MemoryRecall(world.stack, room_infos(), lambda: world.now), world.paths,
                  lambda a: moved.append(a) or world.act(a), policy=policy, costs=costs)
    ep = agent.run(q, world.pose)
    assert ep.cannot_answer and ep.answer == CANNOT_ANSWER and not moved and ep.path_m == 0.0


def test_an_unreachable_object_is_reported_by_every_acting_policy(world):
    for name, policy, costs in POLICIES[1:]:
        ep = run(world, "umbrella", policy, costs, Budget(max_steps=20))   # in the sealed storage room
        assert "obj:14" in ep.unreachable, name
        assert ep.steps <= 8, name
