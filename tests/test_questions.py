"""Question generator: every answer is recomputed here from the raw log intervals, questions are
unambiguous, varied, and survive a JSON round trip."""
import json
import math
import re
from collections import Counter

import numpy as np
import pytest

from sim.questions import (QUESTION_CATEGORIES, Question, QuestionGenerator, fixture_names, plural, questions_from_json,
                           questions_to_json, session_phrase, since_phrase, stamp_phrase)
from sim.scenario import Scenario, ScenarioConfig
from sim.scenario_log import GroundTruthLog, ScenarioError, Session
from test_scenario import make_house  # noqa: E402  (shared hand-built house)

NS = 1_000_000_000
H = 3600 * NS


def loc(log, oid, t):
    hits = [p for p in log.placements[oid] if p.t_start <= t and (p.t_end is None or t < p.t_end)]
    assert len(hits) <= 1
    return hits[0] if hits else None


def present(log, t):
    return [p for oid in log.object_ids if (p := loc(log, oid, t)) is not None]


@pytest.fixture(scope="module")
def scenario():
    sc = Scenario(make_house(), ScenarioConfig(days=5, seed=7, name="qtest"))
    # Sightings as a walking agent would produce them: each present object seen at a few
    # deterministic stamps inside each session (rendered sightings are tested in test_scenario).
    rng = np.random.default_rng(0)
    for s in sc.log.sessions:
        for p in sc.log.objects_present(s.t_start):
            if rng.random() < 0.7:
                sc.log.record_sighting(p.object_id, int(rng.integers(s.t_start, s.t_end)))
    return sc


@pytest.fixture(scope="module")
def questions(scenario):
    return QuestionGenerator(scenario.log, seed=1).generate(per_category=6, sessions=[4, 9])


def test_all_categories_generated(questions):
    counts = Counter(q.category for q in questions)
    assert set(counts) == set(QUESTION_CATEGORIES), counts
    assert {q.session for q in questions} == {4, 9}
    assert len({q.question_id for q in questions}) == len(questions)


def _answer_where(log, q):
    p = loc(log, q.structured["targets"]["object_id"], q.structured["time_ns"])
    assert p is not None
    a = q.structured["answer"]
    assert (a["receptacle_id"], a["fixture_id"], a["room"]) == (p.receptacle_id, p.fixture_id, p.room)
    assert any(n.lower() in q.answer.lower() for n in fixture_names(p.fixture_category)), q.answer


def test_answers_match_the_log(scenario, questions):
    log = scenario.log
    checked = Counter()
    for q in questions:
        st = q.structured
        now = q.asked_at_ns
        assert now == log.session(q.session).t_end and st["asked_at_ns"] == now
        if q.category == "where_now":
            assert st["time_ns"] == now
            _answer_where(log, q)
        elif q.category == "where_at_time":
            assert log.start_ns <= st["time_ns"] < now
            _answer_where(log, q)
            if st["time_session"] is not None:
                s = log.session(st["time_session"])
                assert s.t_start <= st["time_ns"] <= s.t_end
        elif q.category == "last_seen":
            oid = st["targets"]["object_id"]
            stamps = [t for t in log.sightings.get(oid, []) if t <= now]
            assert st["answer"]["stamp_ns"] == max(stamps)
            hm = re.search(r"(\d\d):(\d\d)", q.answer)
            d = max(stamps) // NS % 86400
            assert (int(hm.group(1)), int(hm.group(2))) == (d // 3600, d % 3600 // 60)
        elif q.category == "receptacle_contents":
            fid = st["targets"]["fixture_id"]
            mine = sorted(p.object_id for p in present(log, st["time_ns"])
                          if log.receptacles[p.receptacle_id].fixture_id == fid)
            assert st["answer"]["object_ids"] == mine
            assert (q.answer == "Nothing.") == (not mine)
        elif q.category == "changes":
            t1, t2 = st["t1_ns"], st["t2_ns"]
            scope = st["targets"]
            mine = {}
            for oid in log.object_ids:
                a, b = loc(log, oid, t1), loc(log, oid, t2)
                ra, rb = (a and a.receptacle_id), (b and b.receptacle_id)
                if ra == rb:
                    continue
                if "room" in scope and scope["room"] not in {a and a.room, b and b.room}:
                    continue
                if "fixture_id" in scope and scope["fixture_id"] not in {a and a.fixture_id, b and b.fixture_id}:
                    continue
                mine[oid] = ("appeared" if a is None else "disappeared" if b is None else "moved", ra, rb)
            theirs = {c["object_id"]: (c["kind"], c["from_receptacle_id"], c["to_receptacle_id"])
                      for c in st["answer"]["changes"]}
            assert theirs == mine
        elif q.category == "count_in_room":
            cat, room = st["targets"]["category"], st["targets"]["room"]
            n = sum(p.category == cat and p.room == room for p in present(log, now))
            assert st["answer"]["count"] == n and q.answer == f"{n}."
        elif q.category == "nearest":
            cat, fid = st["targets"]["category"], st["targets"]["anchor_fixture_id"]
            anchor = log.fixtures[fid].position
            cands = [p for p in present(log, now) if p.category == cat]
            d = sorted((math.hypot(p.position[0] - anchor[0], p.position[1] - anchor[1]), p.object_id) for p in cands)
            assert st["answer"]["object_id"] == d[0][1]
            assert d[1][0] - d[0][0] >= 0.5
        elif q.category == "which_room":
            p = loc(log, st["targets"]["object_id"], now)
            assert st["answer"]["room"] == p.room
        checked[q.category] += 1
    assert set(checked) == set(QUESTION_CATEGORIES)


def test_object_references_are_unambiguous(scenario, questions):
    """The target is the only object of its category at the reference time, or the only one of
    its category on the furniture the question names (a place other than the answer's)."""
    log = scenario.log
    kinds = Counter()
    for q in questions:
        tg = q.structured["targets"]
        if "object_id" not in tg:
            continue
        kinds[" that " in q.question] += 1
        oid, t_ref = tg["object_id"], tg["ref_time_ns"]
        p = loc(log, oid, t_ref)
        assert p is not None
        same = [x for x in present(log, t_ref) if x.category == tg["category"]]
        if " that " in q.question:
            on_same = [x for x in same if x.fixture_id == p.fixture_id]
            assert [x.object_id for x in on_same] == [oid]
            if q.category in ("where_now", "which_room"):
                assert t_ref < q.asked_at_ns   # never named by where it is now
            if q.category == "where_at_time":
                assert t_ref != q.structured["time_ns"]
        else:
            assert [x.object_id for x in same] == [oid], q.question
    assert kinds[True] and kinds[False]   # both kinds of reference were exercised


def test_language_is_varied(questions):
    starts = Counter(" ".join(q.question.split()[:3]) for q in questions)
    assert len(starts) >= 15
    text = " ".join(q.question for q in questions).lower()
    assert "yesterday" in text and ("this morning" in text or "this evening" in text)
    assert any(re.search(r"\b(ago|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b", q.question)
               for q in questions)
    for q in questions:
        assert q.question[0].isupper() and q.question.rstrip().endswith(("?", "."))
        assert "  " not in q.question and "_" not in q.question


def test_json_round_trip_openeqa_schema(questions, tmp_path):
    text = questions_to_json(questions)
    data = json.loads(text)
    for d in data:
        for key in ("question", "answer", "category", "question_id", "episode_history", "session", "structured"):
            assert key in d
    back = questions_from_json(text)
    assert [b.to_dict() for b in back] == [q.to_dict() for q in questions]
    p = tmp_path / "q.json"
    questions_to_json(questions, p)
    assert [b.question_id for b in questions_from_json(p)] == [q.question_id for q in questions]
    with pytest.raises(ScenarioError, match="valid JSON"):
        questions_from_json("[oops")
    with pytest.raises(ScenarioError, match="list"):
        questions_from_json('{"a": 1}')
    with pytest.raises(ScenarioError, match="cannot read"):
        questions_from_json(tmp_path / "missing.json")
    bad = dict(data[0], category="telepathy")
    with pytest.raises(ScenarioError, match="telepathy"):
        Question.from_dict(bad)
    with pytest.raises(ScenarioError, match="malformed"):
        Question.from_dict({"question": "x"})


def test_generator_is_deterministic_and_validates(scenario):
    a = [q.to_dict() for q in QuestionGenerator(scenario.log, seed=3).generate(per_category=2)]
    b = [q.to_dict() for q in QuestionGenerator(scenario.log, seed=3).generate(per_category=2)]
    assert a == b
    with pytest.raises(ScenarioError, match="GroundTruthLog"):
        QuestionGenerator({"not": "a log"})
    with pytest.raises(ScenarioError, match="unknown question category"):
        QuestionGenerator(scenario.log).generate(categories=["where_now", "gossip"])
    with pytest.raises(ScenarioError, match="session"):
        QuestionGenerator(scenario.log).generate(sessions=[99])
    with pytest.raises(ScenarioError, match="per_category"):
        QuestionGenerator(scenario.log).generate(per_category=-1)


def test_time_phrases():
    day0 = 1_793_577_600 * NS   # 2026-11-02 00:00 UTC, a Monday
    rng = np.random.default_rng(0)
    now = day0 + 3 * 86400 * NS + 19 * H   # Thursday 19:00
    assert session_phrase(Session(0, 3, "morning", day0 + 3 * 86400 * NS + 8 * H, day0 + 3 * 86400 * NS + 9 * H), now, rng) == "this morning"
    assert session_phrase(Session(0, 2, "evening", day0 + 2 * 86400 * NS + 18 * H, day0 + 2 * 86400 * NS + 19 * H), now, rng) == "yesterday evening"
    p = session_phrase(Session(0, 1, "morning", day0 + 86400 * NS + 8 * H, day0 + 86400 * NS + 9 * H), now, rng)
    assert p in ("on Tuesday morning", "two days ago in the morning")
    assert since_phrase("on Tuesday morning") == "Tuesday morning"
    assert stamp_phrase(now - 1 * H - 5 * 60 * NS, now) == "today at 17:55"
    assert stamp_phrase(day0 + 7 * H + 30 * 60 * NS, now) == "on Monday at 07:30"
    assert plural("mug") == "mugs" and plural("glasses") is None and plural("toothbrush") == "toothbrushes"


def test_duplicate_room_types_are_named_by_unique_furniture():
    log = GroundTruthLog(0, 10 * H)
    for r in ("bedroom_0", "bedroom_1", "bedroom_2"):
        log.add_room(r, "bedroom")
    log.add_fixture(1, "bed", "bedroom_0", (0, 0, 0.3), (-1, -1, 0), (1, 1, 0.55))
    log.add_fixture(2, "bed", "bedroom_1", (5, 0, 0.3), (4, -1, 0), (6, 1, 0.55))
    log.add_fixture(3, "desk", "bedroom_1", (5, 3, 0.4), (4.5, 2.5, 0), (5.5, 3.5, 0.75))
    log.add_fixture(4, "bed", "bedroom_2", (9, 0, 0.3), (8, -1, 0), (10, 1, 0.55))
    for fid, room in ((1, "bedroom_0"), (2, "bedroom_1"), (3, "bedroom_1"), (4, "bedroom_2")):
        log.add_receptacle(f"{fid}/top", fid, "top", room)
    log.add_object(10, "book")
    log.add_object(11, "book")
    log.place(10, "1/top", (0, 0, 0.55), 0)
    log.place(11, "3/top", (5, 3, 0.75), 0)
    log.place(11, "2/top", (5, 0, 0.55), 5 * H)
    log.add_session(Session(0, 0, "morning", 0, H))
    log.add_session(Session(1, 0, "evening", 8 * H, 9 * H))
    g = QuestionGenerator(log, seed=0)
    assert g.room_ref("bedroom_1", canonical=True) == "the bedroom with the desk"
    assert g.room_ref("bedroom_0") is None and g.room_ref("bedroom_2") is None
    assert g.fixture_ref(3) == "the desk"
    assert g.fixture_ref(2) == "the bed in the bedroom with the desk"
    assert g.fixture_ref(1) is None   # three beds, its room has no unique description
    qs = g.generate(per_category=20)
    for q in qs:
        if q.category == "count_in_room":
            assert q.structured["targets"]["room"] == "bedroom_1"
        if q.category in ("where_now", "which_room") and q.structured["targets"]["object_id"] == 11:
            # Two books now; book 11 is named by where it was this morning (on the desk).
            assert "desk" in q.question and "this morning" in q.question
    assert any(q.category == "where_now" and q.structured["targets"]["object_id"] == 11 for q in qs)


def test_room_is_not_described_by_the_furniture_being_named():
    log = GroundTruthLog(0, 10 * H)
    log.add_room("bedroom_0", "bedroom")
    log.add_room("bedroom_1", "bedroom")
    log.add_fixture(1, "chair", "bedroom_0", (0, 0, 0.3), (-0.3, -0.3, 0), (0.3, 0.3, 0.9))
    log.add_fixture(2, "chair", "bedroom_1", (5, 0, 0.3), (4.7, -0.3, 0), (5.3, 0.3, 0.9))
    log.add_fixture(3, "desk", "bedroom_1", (5, 3, 0.4), (4.5, 2.5, 0), (5.5, 3.5, 0.75))
    log.add_session(Session(0, 0, "morning", 0, H))
    g = QuestionGenerator(log, seed=0)
    assert g.fixture_ref(2) == "the chair in the bedroom with the desk"
    assert g.fixture_ref(3) == "the desk"
    log.add_fixture(4, "wardrobe", "bedroom_0", (0, 3, 1.0), (-0.3, 2.2, 0), (0.3, 3.8, 2.0))
    assert g.fixture_ref(4) == "the wardrobe"
    assert g.fixture_ref(1) == "the chair in the bedroom with the wardrobe"


def test_generic_names_are_not_used_when_a_longer_name_contains_them():
    from sim.questions import confusable

    assert confusable("table", "coffee_table") and confusable("bowl", "fruit_bowl")
    assert not confusable("coffee_table", "table") and not confusable("book", "notebook")
    log = GroundTruthLog(0, 10 * H)
    log.add_room("kitchen_0", "kitchen")
    log.add_room("living_room_0", "living_room")
    log.add_fixture(1, "table", "kitchen_0", (0, 0, 0.4), (-0.6, -0.4, 0), (0.6, 0.4, 0.75))
    log.add_fixture(2, "coffee_table", "living_room_0", (5, 0, 0.2), (4.5, -0.3, 0), (5.5, 0.3, 0.42))
    for fid, room in ((1, "kitchen_0"), (2, "living_room_0")):
        log.add_receptacle(f"{fid}/top", fid, "top", room)
    log.add_object(10, "bowl")
    log.add_object(11, "fruit_bowl")
    log.place(10, "1/top", (0, 0, 0.75), 0)
    log.place(11, "2/top", (5, 0, 0.42), 0)
    log.add_session(Session(0, 0, "morning", 0, H))
    g = QuestionGenerator(log, seed=0)
    assert g.fixture_ref(1) == "the table in the kitchen"        # not just "the table"
    ref = g.object_ref(10, H, H)
    assert ref is not None and ref[0].startswith("the bowl that is on the table in the kitchen")
    assert g.object_ref(11, 0, H)[0] in ("the fruit bowl",)
    qs = g.generate(per_category=10)
    assert not [q for q in qs if q.category == "count_in_room" and q.structured["targets"]["category"] == "bowl"]
