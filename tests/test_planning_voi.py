"""Hand-built decision cases with known right decisions, and the belief/prior arithmetic."""
import json
import math

import pytest

from robomem.planning import (Belief, Budget, CostModel, Hypothesis, InvalidBeliefError, InvalidPlanningSettingError,
                              SemanticPrior, candidate_actions, certain_at, decide_voi, room_probabilities,
                              score_actions, still_there_probability, update_after_look)

ROOMS = {1: ("kitchen", (5.0, 0.0, 0.0)), 2: ("office", (0.0, 5.0, 0.0)), 3: ("bathroom", (2.0, 0.0, 0.0)),
         4: ("living_room", (-6.0, 0.0, 0.0))}
HOME = (0.0, 0.0, 0.0)


def straight(a, b):
    return math.dist(a[:2], b[:2])


def belief_for(category, remembered=None, p_still=0.0, rooms=ROOMS, prior=None, room_accuracy=0.3):
    """Remembered place with P(still there) and the rest over the rooms by the semantic prior."""
    prior = prior or SemanticPrior()
    hs = []
    if remembered is not None:
        pos, room = remembered
        hs.append(Hypothesis("seen", p_still, pos, room, answer="seen", detection=0.9))
    q = room_probabilities(prior, category, {r: t for r, (t, _) in rooms.items()})
    for r, (t, pos) in rooms.items():
        hs.append(Hypothesis(f"room:{r}", (1 - p_still) * q[r], pos, r, answer=t, answer_accuracy=room_accuracy,
                             detection=0.8, look_time_s=40.0, kind="prior"))
    return Belief(category, tuple(hs))


def decide(belief, path=straight, costs=CostModel(), remaining=None):
    acts = candidate_actions(belief, HOME, path, costs)
    return decide_voi(belief, score_actions(belief, acts, costs, remaining), costs)


def test_answers_at_once_when_a_never_moving_object_was_seen_minutes_ago():
    p = still_there_probability(0.0, 300.0)
    d = decide(belief_for("vase", ((6.0, 0.0, 0.8), 1), p))
    assert p == 1.0
    assert d.action is None and d.p_correct_now > 0.99
    assert "no look is worth" in d.reason
    json.dumps(d.to_dict())


def test_goes_to_check_when_an_often_moved_object_was_seen_days_ago():
    p = still_there_probability(1.8, 86400.0)         # moved about twice a day, seen yesterday
    assert 0.1 < p < 0.3
    d = decide(belief_for("keys", ((3.0, 1.0, 0.8), 3), p))
    assert d.action is not None
    # The same object seen five minutes ago: answer from memory.
    fresh = decide(belief_for("keys", ((3.0, 1.0, 0.8), 3), still_there_probability(1.8, 300.0)))
    assert fresh.action is None


def test_verifies_the_remembered_spot_when_it_is_likely_and_other_rooms_are_far():
    rooms = {1: ("kitchen", (15.0, 0.0, 0.0)), 2: ("office", (0.0, 5.0, 0.0)), 4: ("living_room", (-15.0, 0.0, 0.0))}
    d = decide(belief_for("mug", ((1.0, 3.5, 0.8), 2), 0.7, rooms=rooms))
    assert d.action.kind == "verify" and d.action.target == "seen"
    # Less sure of the spot: look around the room it was seen in (which passes the spot too).
    d = decide(belief_for("mug", ((1.0, 3.5, 0.8), 2), 0.5, rooms=rooms))
    assert d.action.target in ("seen", "room:2") and "seen" in d.action.looks


def test_explores_the_likely_room_type_when_never_seen():
    d = decide(belief_for("mug"))
    assert d.action.kind == "explore" and d.action.target == "room:1"   # kitchen, not the office
    d = decide(belief_for("toothbrush"))
    assert d.action.target == "room:3"                                    # bathroom


def test_distance_decides_between_equally_likely_rooms():
    rooms = {1: ("bedroom", (12.0, 0.0, 0.0)), 2: ("bedroom", (3.0, 0.0, 0.0)), 3: ("kitchen", (0.0, 3.0, 0.0))}
    d = decide(belief_for("pillow", rooms=rooms))
    assert d.action.target == "room:2"


def test_a_high_cost_weight_makes_it_answer_from_memory():
    b = belief_for("mug", ((3.0, 1.0, 0.8), 3), 0.5)
    d = decide(b, costs=CostModel(cost_per_m=1.0))
    assert d.action is None and d.p_correct_now == pytest.approx(0.5)


def test_gives_up_on_an_unreachable_object():
    b = belief_for("keys", ((3.0, 1.0, 0.8), 3), 0.3)
    d = decide(b, path=lambda a, g: None)
    assert d.action is None and "unreachable" in d.reason
    assert all(s.excluded == "unreachable" for s in d.scored)


def test_budget_ends_the_search():
    b = belief_for("mug")
    assert decide(b, remaining=Budget(max_steps=0)).action is None
    d = decide(b, remaining=Budget(max_steps=5, max_path_m=1.0))
    assert d.action is None and "over budget" in d.reason


def test_miss_lowers_the_looked_place_and_raises_the_rest():
    b = belief_for("mug", ((3.0, 1.0, 0.8), 3), 0.6)
    after = update_after_look(b, {"seen": 0.9})
    assert after.get("seen").probability == pytest.approx(0.6 * 0.1 / (1 - 0.54))
    for h in b.hypotheses[1:]:
        assert after.get(h.key).probability == pytest.approx(h.probability / (1 - 0.54))
    assert sum(h.probability for h in after.hypotheses) == pytest.approx(1.0)


def test_sighting_makes_the_place_near_certain():
    b = belief_for("mug")
    after = certain_at(b, "obs:9", position=(1.0, 2.0, 0.9), room_id=2, answer="desk")
    assert after.best().key == "obs:9" and after.p_correct() == pytest.approx(0.98)
    assert sum(h.probability for h in after.hypotheses) == pytest.approx(1.0)
    again = certain_at(b, "room:1")
    assert again.best().key == "room:1" and again.best().answer_accuracy == 1.0


def test_prior_learns_from_placements_with_the_default_as_pseudo_counts():
    prior = SemanticPrior(strength=4.0)
    base = prior.p_room_type("mug", "office")
    prior.learn([("mug", "office")] * 12 + [("mug", None)])
    assert prior.p_room_type("mug", "office") > 0.7 > base
    assert prior.p_room_type("mug", "kitchen") > 0
    assert prior.p_room_type("frobnicator", "kitchen") == pytest.approx(1 / 12)
    q = room_probabilities(prior, "mug", {1: "kitchen", 2: "office"})
    assert sum(q.values()) == pytest.approx(1.0) and q[2] > q[1]


@pytest.mark.parametrize("bad", [dict(p=1.5), dict(p=-0.1), dict(p=float("nan"))])
def test_bad_beliefs_raise(bad):
    with pytest.raises(InvalidBeliefError, match="probability"):
        Hypothesis("x", bad["p"])


def test_belief_mass_above_one_and_repeated_keys_raise():
    with pytest.raises(InvalidBeliefError, match="sum"):
        Belief("x", (Hypothesis("a", 0.7), Hypothesis("b", 0.7)))
    with pytest.raises(InvalidBeliefError, match="repeat"):
        Belief("x", (Hypothesis("a", 0.2), Hypothesis("a", 0.2)))


@pytest.mark.parametrize("kw", [dict(cost_per_m=-1), dict(speed_mps=0), dict(lookahead=9), dict(false_positive=2.0)])
def test_bad_cost_settings_raise(kw):
    with pytest.raises(InvalidPlanningSettingError):
        CostModel(**kw)
