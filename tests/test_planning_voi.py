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
    # the spot's room is looked round from a point 8 m away: going to the spot is cheaper
    far = {1: ("kitchen", (15.0, 0.0, 0.0)), 2: ("office", (0.0, 8.0, 0.0)), 4: ("living_room", (-15.0, 0.0, 0.0))}
    d = decide(belief_for("mug", ((1.0, 3.5, 0.8), 2), 0.7, rooms=far))
    assert d.action.kind == "verify" and d.action.target == "seen"
    # with the room's look-out point next to the spot, looking round the room (which passes the
    # spot at full detection and covers the rest of the room) beats verifying and then looking
    # round: after a verify's miss, the spot seen again from the look-out point adds only part
    rooms = {1: ("kitchen", (15.0, 0.0, 0.0)), 2: ("office", (0.0, 5.0, 0.0)), 4: ("living_room", (-15.0, 0.0, 0.0))}
    d = decide(belief_for("mug", ((1.0, 3.5, 0.8), 2), 0.7, rooms=rooms))
    assert d.action.target == "room:2" and d.action.looks["seen"] == 0.9
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
    with pytest.raises(InvalidBeliefError, match="looked_from"):
        Hypothesis("a", 0.2, looked_from=5)


@pytest.mark.parametrize("kw", [dict(cost_per_m=-1), dict(speed_mps=0), dict(lookahead=9), dict(false_positive=2.0),
                                dict(new_view=1.5)])
def test_bad_cost_settings_raise(kw):
    with pytest.raises(InvalidPlanningSettingError):
        CostModel(**kw)


def _explore(belief, room, costs=CostModel()):
    acts = candidate_actions(belief, HOME, straight, costs)
    return next(a for a in acts if a.target == f"room:{room}")


def test_a_repeat_look_from_the_same_spot_adds_no_evidence():
    b = belief_for("mug", ((5.2, 0.3, 0.8), 1), 0.5)
    first = _explore(b, 1)
    assert first.looks == {"room:1": 0.8, "seen": 0.9}             # exploring the room passes the spot
    after = update_after_look(b, first.looks, view=first.view)
    assert after.get("room:1").probability < b.get("room:1").probability
    assert after.get("room:1").looked_from == (first.view,) and after.get("room:2").looked_from == ()
    again = _explore(after, 1)
    assert again.view == first.view and again.looks == {"room:1": 0.0, "seen": 0.0}
    twice = update_after_look(after, again.looks, view=again.view)
    for h in after.hypotheses:                       # the same frames again: the belief does not move
        assert twice.get(h.key).probability == pytest.approx(h.probability)
    scored = {s.action.target: s for s in score_actions(after, candidate_actions(after, HOME, straight, CostModel()),
                                                        CostModel())}
    assert scored["room:1"].p_find == 0.0 and scored["room:1"].value < 0      # never worth its cost
    assert json.loads(json.dumps(twice.to_dict()))["hypotheses"][1]["looked_from"] == [list(first.view)]


def test_a_look_from_a_new_spot_in_the_same_room_gives_partial_evidence():
    b = belief_for("mug", ((5.2, 0.3, 0.8), 1), 0.5)
    first = _explore(b, 1)
    after = update_after_look(b, first.looks, view=first.view)
    verify = next(a for a in candidate_actions(after, HOME, straight, CostModel()) if a.target == "seen")
    assert verify.view != first.view
    # the spot and its room were looked at from the look-out point: a new spot sees half of it again
    # (half of a new look is independent of the earlier ones, half overlaps with what they covered)
    assert verify.looks == pytest.approx({"seen": 0.9 * (1 - 0.5 * 0.9), "room:1": 0.8 * 0.3 * (1 - 0.5 * 0.8)})
    later = update_after_look(after, verify.looks, view=verify.view)
    assert 0 < later.get("seen").probability < after.get("seen").probability
    assert later.get("seen").looked_from == (first.view, verify.view)
    assert later.get("seen").missed == pytest.approx(0.1 * (1 - verify.looks["seen"]))
    # a first look at the spot from that viewpoint would have counted fully
    fresh = next(a for a in candidate_actions(b, HOME, straight, CostModel()) if a.target == "seen")
    assert fresh.looks == pytest.approx({"seen": 0.9, "room:1": 0.8 * 0.3})
    none = next(a for a in candidate_actions(after, HOME, straight, CostModel(new_view=0.0)) if a.target == "seen")
    assert none.looks == pytest.approx({"seen": 0.9 * 0.1, "room:1": 0.8 * 0.3 * 0.2})   # only what was missed


def test_the_lookahead_does_not_plan_a_repeat_look():
    # two rooms, the target never seen: after missing room 1 the best plan is room 2, and a second
    # look at room 1 from the same spot is worth nothing even with travel free
    rooms = {1: ("kitchen", (2.0, 0.0, 0.0)), 2: ("kitchen", (-2.0, 0.0, 0.0))}
    b = belief_for("mug", rooms=rooms)
    first = _explore(b, 1)
    after = update_after_look(b, first.looks, view=first.view)
    free = CostModel(cost_per_m=0.0, cost_per_s=0.0)
    d = decide_voi(after, score_actions(after, candidate_actions(after, (2.0, 0.0, 0.0), straight, free), free), free)
    assert d.action.target == "room:2"
    done = update_after_look(after, d.action.looks, view=d.action.view)
    d2 = decide_voi(done, score_actions(done, candidate_actions(done, (-2.0, 0.0, 0.0), straight, free), free), free)
    assert d2.action is None                                    # both searched from their spots: answer
