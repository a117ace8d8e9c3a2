"""The per-category detection model: its arithmetic, its fit on hand-built looks, and what it does
to the belief after a miss and to the stop (hand-built cases)."""
import math

import pytest

from robomem.planning import (Belief, CostModel, DetectionModel, Hypothesis, InvalidPlanningSettingError, MemoryRecall,
                              RoomInfo, candidate_actions, decide_voi, score_actions, update_after_look)


def test_a_category_without_a_shift_gets_the_base_rate_and_shifts_move_both_kinds_of_look():
    m = DetectionModel(explore=0.6, verify=0.9, visibility={"pen": -2.0, "bag": 1.0})
    assert m.detection("mug", "explore") == 0.6 and m.detection("mug", "verify") == 0.9
    logit = lambda p: math.log(p / (1 - p))          # noqa: E731
    assert logit(m.detection("pen", "explore")) == pytest.approx(logit(0.6) - 2.0)
    assert logit(m.detection("pen", "verify")) == pytest.approx(logit(0.9) - 2.0)
    assert m.detection("pen", "explore") < m.detection("pen", "verify") < 0.9 < m.detection("bag", "verify")
    assert DetectionModel(**m.to_dict()) == m


@pytest.mark.parametrize("kw", [dict(explore=1.0), dict(verify=0.0), dict(explore=True), dict(visibility={"pen": float("nan")})])
def test_bad_detection_settings_raise(kw):
    with pytest.raises(InvalidPlanningSettingError):
        DetectionModel(**kw)


def test_kind_must_be_a_look_kind():
    with pytest.raises(InvalidPlanningSettingError, match="kind"):
        DetectionModel().detection("pen", "stare")
    with pytest.raises(InvalidPlanningSettingError, match="kind"):
        DetectionModel.fit([("pen", "stare", True)])


def test_fit_learns_base_rates_and_shrinks_categories_with_few_looks():
    looks = ([("pen", "explore", False)] * 20 + [("bag", "explore", True)] * 20
             + [("mug", "explore", True)] * 10 + [("mug", "explore", False)] * 10 + [("cup", "explore", False)]
             + [("bag", "verify", True)] * 3)
    m = DetectionModel.fit(looks)                         # spread 1: N(0, 1) on a category's shift
    # base: (seen + 4 pseudo-looks at the prior's rate) / (looks + 4)
    assert m.explore == pytest.approx((30 + 4 * 0.75) / (61 + 4), abs=1e-3)
    assert m.verify == pytest.approx((3 + 4 * 0.9) / (3 + 4), abs=1e-3)
    assert m.detection("pen", "explore") < 0.15 < 0.85 < m.detection("bag", "explore")
    assert abs(m.detection("mug", "explore") - 0.5) < 0.06            # 10 of 20: about a half
    # one miss moves a category only a little off the base rate; more misses move it further
    one = m.detection("cup", "explore")
    assert m.explore - 0.12 < one < m.explore
    assert DetectionModel.fit(looks, spread=0.1).detection("pen", "explore") > m.detection("pen", "explore")
    assert DetectionModel.fit([]) == DetectionModel()


ROOMS = {1: RoomInfo("office", (4.0, 0.0, 0.0)), 2: RoomInfo("kitchen", (-4.0, 0.0, 0.0))}


def _two_rooms(detection):
    """Target never seen; the prior says office 0.7, kitchen 0.3 (which-room question)."""
    return Belief("pen", (Hypothesis("room:1", 0.7, ROOMS[1].position, 1, answer=1, detection=detection,
                                     look_time_s=40.0, kind="prior"),
                          Hypothesis("room:2", 0.3, ROOMS[2].position, 2, answer=2, detection=detection,
                                     look_time_s=40.0, kind="prior")))


def test_a_miss_in_the_likely_room_counts_less_for_a_thing_that_is_hard_to_see():
    # a pen is missed most of the time: not seeing it in the office hardly moves the belief, so the
    # stop after that miss still answers "office" instead of a confident "kitchen"
    m = DetectionModel(explore=0.6, verify=0.9, visibility={"pen": -2.1})
    dear = CostModel(cost_per_m=0.02, cost_per_s=0.001)
    dist = lambda a, c: math.dist(a[:2], c[:2])      # noqa: E731

    def explore_office(b):
        a = next(a for a in candidate_actions(b, ROOMS[1].position, dist, dear) if a.target == "room:1")
        return update_after_look(b, a.looks, view=a.view)

    easy, hard = _two_rooms(0.75), _two_rooms(m.detection("pen", "explore"))
    after_easy, after_hard = explore_office(easy), explore_office(hard)
    assert after_easy.best().key == "room:2" and after_easy.p_correct() == pytest.approx(0.3 / (1 - 0.7 * 0.75))
    assert after_hard.best().key == "room:1" and after_hard.p_correct() > 0.65
    # with looking dear, the agent stops after the miss: the answer it gives and its confidence
    for b in (after_easy, after_hard):
        d = decide_voi(b, score_actions(b, candidate_actions(b, ROOMS[1].position, dist, dear), dear), dear)
        assert d.action is None


def test_memory_recall_gives_each_hypothesis_its_categorys_detection(tmp_path):
    import numpy as np
    import robomem
    from robomem.observations import ObjectObservation
    stack = robomem.open(tmp_path / "h.db", perception=None, map=None)
    stack.begin_session("s", 10**9)
    p = np.array([4.0, 0.5, 0.8])
    stack.record(10**9, [ObjectObservation(7, "pen", 10**9, p, p - 0.05, p + 0.05, room_id=1)])
    stack.end_session(2 * 10**9)
    m = DetectionModel(explore=0.6, verify=0.9, visibility={"pen": -2.0})
    b = MemoryRecall(stack, ROOMS, 3 * 10**9, detection=m)("where is the pen?")
    assert b.get("obj:7").detection == pytest.approx(m.detection("pen", "verify"))
    assert b.get("room:1").detection == pytest.approx(m.detection("pen", "explore"))
    plain = MemoryRecall(stack, ROOMS, 3 * 10**9)("where is the pen?")
    assert plain.get("obj:7").detection == 0.9 and plain.get("room:2").detection == 0.75
    with pytest.raises(InvalidPlanningSettingError, match="DetectionModel"):
        MemoryRecall(stack, ROOMS, 3 * 10**9, detection={"pen": 0.1})
    stack.close()
