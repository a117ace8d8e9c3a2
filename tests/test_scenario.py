"""Multi-day scenarios: the ground-truth log is exact and consistent, the scene follows it, and
sightings come from real rendered frames."""
import json
import math

import numpy as np
import pytest

from sim.dynamics import HouseholdDynamics
from sim.scenario import THREE_SESSIONS, Scenario, ScenarioConfig, SessionSpec
from sim.scenario_log import (GroundTruthLog, ScenarioError, Session, TimeOutOfRangeError, UnknownObjectError,
                              UnknownReceptacleError, UnknownRoomError)
from sim.scene import Scene

NS = 1_000_000_000
H = 3600 * NS


def make_house() -> Scene:
    """Three rooms with known furniture and 11 small objects (two mugs, two books)."""
    s = Scene("test-house")
    s.add_room("kitchen_0", "kitchen", [(0, 0), (5, 0), (5, 4), (0, 4)])
    s.add_room("living_room_0", "living_room", [(5, 0), (11, 0), (11, 5), (5, 5)])
    s.add_room("bedroom_0", "bedroom", [(0, 4), (5, 4), (5, 8), (0, 8)])
    s.add_door("kitchen_0", "living_room_0")
    s.add_door("kitchen_0", "bedroom_0")
    f = {}
    for cat, pos, yaw in [("counter", (0.4, 2.0), 0.0), ("kitchen_table", (2.8, 2.0), 0.0),
                          ("sofa", (10.4, 2.5), math.pi), ("coffee_table", (8.5, 2.5), 0.0),
                          ("console_table", (5.3, 4.3), 0.0), ("bookshelf", (8.0, 4.7), -math.pi / 2),
                          ("tv_stand", (5.4, 1.5), 0.0), ("nightstand", (0.3, 6.0), 0.0), ("bed", (2.0, 6.5), 0.0),
                          ("desk", (4.5, 6.5), 0.0)]:
        f[cat] = s.add_object(cat, position=pos, yaw=yaw).instance_id
    rng = np.random.default_rng(0)
    for cat, rec in [("mug", f"{f['counter']}/top"), ("mug", f"{f['kitchen_table']}/top"),
                     ("keys", f"{f['console_table']}/top"), ("remote", f"{f['coffee_table']}/top"),
                     ("phone", f"{f['nightstand']}/top"), ("book", f"{f['bookshelf']}/shelf1"),
                     ("plant", f"{f['tv_stand']}/top"), ("laptop", f"{f['desk']}/top"),
                     ("glasses", f"{f['nightstand']}/top"), ("book", f"{f['coffee_table']}/top"),
                     ("cup", f"{f['counter']}/top")]:
        s.place_object_on(cat, rec, rng=rng)
    return s


# ---------------------------------------------------------------------- independent recomputation
def loc(log: GroundTruthLog, oid: int, t: int):
    """Where the raw intervals put ``oid`` at ``t`` (linear scan, no bisect, no shared code)."""
    hits = [p for p in log.placements[oid] if p.t_start <= t and (p.t_end is None or t < p.t_end or
                                                                      (p.t_end is None and t == log.end_ns))]
    assert len(hits) <= 1, f"object {oid} is in {len(hits)} places at {t}"
    return hits[0] if hits else None


def assert_consistent(log: GroundTruthLog) -> None:
    for oid, hist in log.placements.items():
        assert hist, f"object {oid} never placed"
        for a, b in zip(hist, hist[1:]):
            assert a.t_end is not None and a.t_start < a.t_end <= b.t_start, f"object {oid}: overlap/unsorted"
        assert all(p.t_end is not None for p in hist[:-1])
        for p in hist:
            rec = log.receptacles[p.receptacle_id]
            assert (p.fixture_id, p.room) == (rec.fixture_id, rec.room)
            assert log.fixtures[p.fixture_id].category == p.fixture_category
    # Exactly one place (or none) at every change time, just before it, and at random times.
    probe = set(log.change_times()) | {t - 1 for t in log.change_times()} | {log.start_ns, log.end_ns}
    probe |= set(np.random.default_rng(0).integers(log.start_ns, log.end_ns, 200).tolist())
    for t in sorted(probe):
        for oid in log.object_ids:
            mine = loc(log, oid, t)
            theirs = log.location_at(oid, t)
            assert mine == theirs


@pytest.fixture(scope="module")
def week():
    scene = make_house()
    return scene, Scenario(scene, ScenarioConfig(days=7, seed=5, name="week"))


# ---------------------------------------------------------------------- the log by hand
def _tiny_log() -> GroundTruthLog:
    log = GroundTruthLog(0, 100 * NS)
    log.add_room("k", "kitchen")
    log.add_room("l", "living_room")
    log.add_fixture(1, "counter", "k", (0, 0, 0.45), (-0.3, -1, 0), (0.3, 1, 0.9))
    log.add_fixture(2, "coffee_table", "l", (5, 0, 0.2), (4.5, -0.3, 0), (5.5, 0.3, 0.42))
    log.add_receptacle("1/top", 1, "top", "k")
    log.add_receptacle("2/top", 2, "top", "l")
    log.add_object(10, "mug")
    log.add_object(11, "keys")
    log.place(10, "1/top", (0, 0, 0.9), 0)
    log.place(11, "2/top", (5, 0, 0.42), 0)
    log.place(10, "2/top", (5.2, 0, 0.42), 30 * NS)
    log.remove(11, 40 * NS)
    log.place(11, "1/top", (0, 0.3, 0.9), 60 * NS)
    log.place(10, "1/top", (0, -0.3, 0.9), 70 * NS)
    log.add_session(Session(0, 0, "morning", 0, 10 * NS))
    log.add_session(Session(1, 0, "evening", 80 * NS, 100 * NS))
    return log


def test_log_queries_by_hand():
    log = _tiny_log()
    assert log.location_at(10, 29 * NS).receptacle_id == "1/top"
    assert log.location_at(10, 30 * NS).receptacle_id == "2/top"
    assert log.location_at(11, 50 * NS) is None                 # out of the house
    assert log.location_at(11, 100 * NS).receptacle_id == "1/top"  # end time is inclusive
    assert [p.object_id for p in log.objects_on("2/top", 35 * NS)] == [10, 11]
    assert [p.object_id for p in log.objects_on(2, 45 * NS)] == [10]  # furniture id = all surfaces
    assert [p.object_id for p in log.objects_in_room("k", 95 * NS)] == [10, 11]
    ch = {c.object_id: c.kind for c in log.changes_between(5 * NS, 50 * NS)}
    assert ch == {10: "moved", 11: "disappeared"}
    # Net change: the mug went away and came back, keys came back elsewhere.
    ch = {c.object_id: c.kind for c in log.changes_between(5 * NS, 90 * NS)}
    assert ch == {11: "moved"}
    assert [c.object_id for c in log.changes_between(5 * NS, 90 * NS, room="l")] == [11]
    assert log.changes_between(5 * NS, 90 * NS, receptacle="2/top")[0].after.receptacle_id == "1/top"
    assert [p.object_id for p in log.moves_between(5 * NS, 90 * NS)] == [10, 11, 10]
    assert log.session_at(5 * NS).name == "morning" and log.session_at(50 * NS) is None
    log.record_sighting(10, 85 * NS)
    log.record_sighting(10, 5 * NS)
    log.record_sighting(10, 85 * NS)  # duplicates are ignored
    assert log.sightings[10] == [5 * NS, 85 * NS]
    assert log.last_seen(10, 50 * NS) == 5 * NS and log.last_seen(10) == 85 * NS and log.last_seen(11) is None
    log.check()


def test_log_bad_input_names_problem_and_changes_nothing():
    log = _tiny_log()
    before = log.to_json()
    with pytest.raises(UnknownObjectError, match="99"):
        log.location_at(99, 0)
    with pytest.raises(UnknownReceptacleError, match="7/top"):
        log.objects_on("7/top", 0)
    with pytest.raises(UnknownReceptacleError):
        log.place(10, "nope", (0, 0, 0), 99 * NS)
    with pytest.raises(TimeOutOfRangeError, match="outside"):
        log.location_at(10, 101 * NS)
    with pytest.raises(TimeOutOfRangeError):
        log.objects_on("1/top", -1)
    with pytest.raises(UnknownRoomError, match="attic"):
        log.objects_in_room("attic", 0)
    with pytest.raises(ScenarioError, match="not after"):
        log.place(10, "2/top", (0, 0, 0), 50 * NS)     # before its current placement at 70 s
    with pytest.raises(ScenarioError, match="not in the house"):
        log.record_sighting(11, 50 * NS)                # keys were out then
    with pytest.raises(ScenarioError, match="before t1"):
        log.changes_between(50 * NS, 10 * NS)
    with pytest.raises(ScenarioError):
        log.location_at(10, 1.5)                          # not an integer stamp
    with pytest.raises(ScenarioError):
        GroundTruthLog(10, 5)
    assert log.to_json() == before
    for exc in (UnknownObjectError, UnknownReceptacleError, TimeOutOfRangeError):
        assert issubclass(exc, ValueError)


def test_log_json_round_trip_and_corruption(tmp_path):
    log = _tiny_log()
    log.record_sighting(10, 85 * NS)
    back = GroundTruthLog.from_json(log.to_json())
    assert back.to_dict() == log.to_dict()
    path = tmp_path / "log.json"
    log.to_json(path)
    assert GroundTruthLog.from_json(path).to_dict() == log.to_dict()
    assert GroundTruthLog.from_json(str(path)).location_at(11, 99 * NS).receptacle_id == "1/top"
    with pytest.raises(ScenarioError, match="valid JSON"):
        GroundTruthLog.from_json("{not json")
    with pytest.raises(ScenarioError, match="schema"):
        GroundTruthLog.from_dict({"schema": "other"})
    d = log.to_dict()
    del d["placements"][0]["receptacle_id"]
    with pytest.raises(ScenarioError, match="malformed"):
        GroundTruthLog.from_dict(d)
    d = log.to_dict()
    d["placements"][1]["t_start"] = 10 * NS   # now overlaps the first interval of the mug
    with pytest.raises(ScenarioError, match="overlap"):
        GroundTruthLog.from_dict(d)
    with pytest.raises(ScenarioError, match="cannot read"):
        GroundTruthLog.from_json(tmp_path / "missing.json")


# ---------------------------------------------------------------------- scenarios
def test_scenario_ground_truth_is_consistent(week):
    scene, sc = week
    log = sc.log
    assert len(log.sessions) == 14 and [s.name for s in log.sessions[:2]] == ["morning", "evening"]
    assert_consistent(log)
    # No change ever happens while the agent is observing.
    for t in log.change_times():
        assert log.session_at(t) is None
    # Initial state is the scene as built.
    for o in make_house().small_objects():
        p = log.location_at(o.instance_id, log.start_ns)
        assert p.receptacle_id == o.receptacle_id and np.allclose(p.position, o.position)
    # Furniture never moves and is all in the log; static categories never move; movers do.
    assert {f.instance_id for f in scene.furniture()} == set(log.fixtures)
    for oid, cat in log.categories.items():
        if cat == "plant":
            assert len(log.placements[oid]) == 1
    moved = {log.categories[o] for o in log.object_ids if len(log.placements[o]) > 1}
    assert {"keys", "phone"} & moved and len(moved) >= 4


def test_scenario_drives_the_scene(week):
    scene, sc = week
    log = sc.log
    for k in (3, 0, 13, 7):   # out of order on purpose
        s = sc.goto_session(k)
        t = (s.t_start + s.t_end) // 2
        present = {p.object_id: p for p in log.objects_present(t)}
        in_scene = {o.instance_id: o for o in scene.small_objects() if o.instance_id in log.categories}
        assert set(in_scene) == set(present)
        for oid, p in present.items():
            o = in_scene[oid]
            assert o.receptacle_id == p.receptacle_id and np.allclose(o.position, p.position)
            assert o.room == p.room


def test_scenario_is_deterministic_and_seeded():
    a = Scenario(make_house(), ScenarioConfig(days=3, seed=1)).log.to_json()
    b = Scenario(make_house(), ScenarioConfig(days=3, seed=1)).log.to_json()
    c = Scenario(make_house(), ScenarioConfig(days=3, seed=2)).log.to_json()
    assert a == b and a != c


def test_three_sessions_and_appear_disappear():
    dyn = HouseholdDynamics(arrival_rate=2.0, departure_rate=1.0)
    sc = Scenario(make_house(), ScenarioConfig(days=4, sessions=THREE_SESSIONS, seed=3, dynamics=dyn))
    log = sc.log
    assert [s.name for s in log.sessions[:3]] == ["morning", "afternoon", "evening"] and len(log.sessions) == 12
    assert_consistent(log)
    initial = {o.instance_id for o in make_house().small_objects()}
    arrived = [o for o in log.object_ids if o not in initial]
    assert arrived and all(log.location_at(o, log.start_ns) is None for o in arrived)
    gone = [o for o in log.object_ids if log.placements[o][-1].t_end is not None]
    assert gone
    # Whatever arrived or left, applying any session reproduces it in the scene.
    for k in range(len(log.sessions)):
        s = sc.goto_session(k)
        ids = {o.instance_id for o in sc.scene.small_objects()}
        assert ids == {p.object_id for p in log.objects_present(s.t_start)}


def test_scenario_bad_config():
    with pytest.raises(ScenarioError, match="days"):
        Scenario(make_house(), ScenarioConfig(days=0))
    with pytest.raises(ScenarioError, match="too close"):
        ScenarioConfig(sessions=(SessionSpec("a", 8 * 3600, 3600), SessionSpec("b", 8 * 3600 + 1800, 600))).validate()
    with pytest.raises(ScenarioError, match="unknown category"):
        HouseholdDynamics(mobility={"spaceship": 0.5})
    with pytest.raises(ScenarioError, match="probability"):
        HouseholdDynamics(mobility={"mug": 1.5})
    with pytest.raises(ScenarioError, match="session"):
        Scenario(make_house(), ScenarioConfig(days=1)).goto_session(5)


def test_sightings_from_rendered_frames(week):
    """Walk two sessions with the embedded renderer; every recorded sighting is backed by at
    least min_pixels pixels of that instance in a frame at that stamp, and last_seen agrees with
    an independent scan of the frames."""
    from sim.embedded import EmbeddedSim

    _, sc0 = week
    scene = make_house()
    sc = Scenario(scene, ScenarioConfig(days=2, seed=5, name="walk"))
    env = EmbeddedSim(scene, width=128, height=96)
    visible: dict[int, list[int]] = {}
    for k in (0, 1, 2):
        s = sc.log.session(k)
        for frame in sc.session_frames(k, env, views_per_room=6, min_pixels=10):
            assert s.t_start <= frame.stamp_ns <= s.t_end
            ids, counts = np.unique(frame.instance_ids, return_counts=True)
            for i, c in zip(ids.tolist(), counts.tolist()):
                if c >= 10 and i in sc.log.categories:
                    assert sc.log.location_at(i, frame.stamp_ns) is not None
                    visible.setdefault(i, []).append(frame.stamp_ns)
    assert len(visible) >= len(sc.log.object_ids) // 2
    for oid in sc.log.object_ids:
        expect = max(visible[oid]) if oid in visible else None
        assert sc.log.last_seen(oid) == expect
    # Serialised sightings survive the round trip.
    back = GroundTruthLog.from_json(sc.log.to_json())
    assert back.sightings == sc.log.sightings


def test_generated_house_scenario():
    import sim

    scene = sim.generate_house(seed=11)
    sc = Scenario(scene, ScenarioConfig(days=7, seed=11))
    assert_consistent(sc.log)
    assert len(sc.log.object_ids) >= 20
    d = json.loads(sc.log.to_json())
    assert d["meta"]["scene"] == scene.name and len(d["sessions"]) == 14


def test_apply_conflict_restores_previous_state():
    scene = make_house()
    sc = Scenario(scene, ScenarioConfig(days=2, seed=4))
    sc.goto_session(0)
    before = {o.instance_id: (o.receptacle_id, tuple(o.position)) for o in scene.small_objects()}
    # Someone drops an untracked object exactly where a tracked one will go later: applying a
    # later session must fail with a clear error and leave the scene as it was.
    later = sc.log.session(len(sc.log.sessions) - 1).t_start
    movers = [p for p in sc.log.objects_present(later) if sc.log.location_at(p.object_id, sc.log.start_ns) is None
              or sc.log.location_at(p.object_id, sc.log.start_ns).receptacle_id != p.receptacle_id]
    assert movers
    p = movers[0]
    intruder = scene.add_object("book", position=p.position, receptacle_id=p.receptacle_id, check=False)
    with pytest.raises(ScenarioError, match="edited outside"):
        sc.apply(later)
    after = {o.instance_id: (o.receptacle_id, tuple(o.position)) for o in scene.small_objects()
             if o.instance_id != intruder.instance_id}
    assert after == before


def test_command_line_writes_truth_and_questions(tmp_path, capsys):
    from sim.questions import questions_from_json
    from sim.scenario import main

    assert main(["--out", str(tmp_path), "--days", "2", "--house-seed", "2", "--width", "64", "--height", "48",
                 "--per-category", "2"]) == 0
    log = GroundTruthLog.from_json(tmp_path / "truth.json")
    qs = questions_from_json(tmp_path / "questions.json")
    assert len(log.sessions) == 4 and qs
    assert "questions" in capsys.readouterr().out
    for q in qs:   # the files agree with each other
        if q.category == "where_now":
            p = log.location_at(q.structured["targets"]["object_id"], q.asked_at_ns)
            assert p.receptacle_id == q.structured["answer"]["receptacle_id"]
        if q.category == "last_seen":
            assert log.last_seen(q.structured["targets"]["object_id"], q.asked_at_ns) == q.structured["answer"]["stamp_ns"]
