"""Regression tests for memory hardening (issue 9): nothing that passes validation fails later,
observe() is all-or-nothing, time/id bounds, checked sessions and settings, a writer lock that a
deleted file cannot bypass, robomem errors from queries, poses rigid up to rounding, and keyframes
judged against everything kept."""
from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from robomem.camera import CameraIntrinsics
from robomem.errors import InvalidInputError, InvalidPoseError
from robomem.frame import Frame
from robomem.memory import (
    InvalidObservationError,
    InvalidQueryError,
    KeyframePolicy,
    LongTermMemory,
    OutOfOrderError,
    SessionError,
    StoreError,
)
from robomem.observations import ObjectObservation
from robomem.pose import make_pose, validate_pose
from robomem.stack import open as open_stack

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_770_000_000_000_000_000
S = 10**9
DAY = 86400 * S
K = CameraIntrinsics.from_fov(320, 240, 90.0)
R_LOOK_X = np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], float)


def obs(oid, t, label="mug", pos=(1.0, 2.0, 0.5), **kw):
    p = np.asarray(pos, float)
    return ObjectObservation(oid, label, t, p, p - 0.05, p + 0.05, 0.9, **kw)


def synthetic_frame(t: int) -> Frame:
    depth = np.full((240, 320), 3.0, np.float32)
    inst = np.ones((240, 320), np.uint32)
    depth[100:140, 60:100] = 2.0
    inst[100:140, 60:100] = 2
    rgb = np.full((240, 320, 3), 128, np.uint8)
    rgb[inst == 2] = (200, 30, 30)
    return Frame(depth, K, make_pose(R_LOOK_X, [0, 0, 1.0]), t, rgb=rgb, instance_ids=inst,
                 labels={1: "wall", 2: "mug"})


def dump(path) -> dict:
    """Every stored row, for comparing two stores."""
    with LongTermMemory(path, readonly=True) as m:
        c = m.connection
        return {t: c.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ("objects", "placements", "events", "sessions", "snapshots", "trajectory", "keyframes",
                          "keyframe_objects")}


# ---------------------------------------------------------------- 1. nothing that passes can fail later
@pytest.mark.parametrize("bad", [
    lambda t: [obs(1, t, label="bad\udcff")],
    lambda t: [obs(1, t, attributes={"thing": object()})],
    lambda t: [obs(1, t, attributes={"set": {1, 2}})],
    lambda t: [obs(1, t, color="red\ud800")],
], ids=["lone_surrogate_label", "object_attribute", "set_attribute", "surrogate_color"])
def test_unencodable_records_are_refused_at_the_door_and_the_stack_keeps_working(tmp_path, bad):
    with open_stack(tmp_path / "a.db", perception=None) as st:
        st.begin_session("s", T0)
        st.record(T0 + 1, [obs(2, T0 + 1)])
        with pytest.raises(InvalidObservationError):
            st.record(T0 + 2, bad(T0 + 2))
        st.record(T0 + 3, [obs(2, T0 + 3), obs(3, T0 + 3, "book")])
        assert st.end_session(T0 + 4) is not None
    with open_stack(tmp_path / "a.db", readonly=True) as ro:
        assert [o.object_id for o in ro.long_term.objects()] == [2, 3]


def test_unencodable_session_info_and_name_are_refused(tmp_path):
    with open_stack(tmp_path / "a.db", perception=None) as st:
        with pytest.raises(InvalidObservationError):
            st.begin_session("s", T0, info={"x": object()})
        with pytest.raises(InvalidObservationError):
            st.begin_session("bad\udcff", T0)
        st.begin_session("s", T0)
        st.record(T0 + 1, [obs(1, T0 + 1)])
    assert len(dump(tmp_path / "a.db")["sessions"]) == 1


# ---------------------------------------------------------------- 2. observe() is all-or-nothing
def test_observe_refuses_a_frame_the_store_would_refuse_before_perception_sees_it(tmp_path):
    pytest.importorskip("robomem.perception")
    with open_stack(tmp_path / "a.db", consolidation_interval_ns=0) as st:
        st.begin_session("s", T0)
        for k in range(3):
            st.observe(synthetic_frame(T0 + k * S))
        before = st.scene_graph.to_dict()
        tracks = len(st.perception.tracker.objects) if hasattr(st.perception, "tracker") else None
        for t in (T0 + 2 * DAY, T0 - 60 * S, 2**63 - 1, 2**64):
            with pytest.raises(InvalidInputError):
                st.observe(synthetic_frame(t) if t < 2**63 else synthetic_frame(T0 + 3 * S).__class__(
                    np.full((240, 320), 3.0, np.float32), K, np.eye(4), t))
        assert st.scene_graph.to_dict() == before, "perception took a frame the store refused"
        if tracks is not None:
            assert len(st.perception.tracker.objects) == tracks
        bad = synthetic_frame(T0 + 3 * S)
        bad = Frame(bad.depth, K, bad.T_world_camera, bad.stamp_ns, rgb=bad.rgb, instance_ids=bad.instance_ids,
                    labels={1: "wall", 2: "mug\udcff"})
        with pytest.raises(InvalidInputError):
            st.observe(bad)
        assert st.scene_graph.to_dict() == before
        res = st.observe(synthetic_frame(T0 + 3 * S))
        assert {o.label for o in res.observations} == {"mug"}
        assert st.long_term.latest_stamp_ns == T0 + 3 * S


# ---------------------------------------------------------------- 3. bounds
@pytest.mark.parametrize("stamp", [2**63 - 1, 2**64, -1, -5 * S, 4_200_000_000 * S],
                         ids=["int64_max", "2**64", "minus_1", "before_1970", "after_2100"])
def test_absurd_stamps_are_refused_and_change_nothing(tmp_path, stamp):
    with open_stack(tmp_path / "a.db", perception=None) as st:
        with pytest.raises(InvalidObservationError):
            st.record(stamp, [obs(1, stamp)])
        with pytest.raises(InvalidObservationError):
            st.record(stamp, robot_position=(0, 0, 0))
        st.begin_session("s", T0)
        st.record(T0, [obs(1, T0)])  # realistic data still goes in
        with pytest.raises(InvalidObservationError):
            st.long_term.ingest([obs(1, stamp)])
    assert dump(tmp_path / "a.db")["placements"][0][2] == T0


def test_more_than_a_day_ahead_is_refused_unless_a_session_begins_there(tmp_path):
    with open_stack(tmp_path / "a.db", perception=None) as st:
        st.begin_session("monday", T0)
        st.record(T0, [obs(1, T0)])
        with pytest.raises(OutOfOrderError, match="begin_session"):
            st.record(T0 + DAY + S, [obs(1, T0 + DAY + S)])
        st.end_session(T0 + S)
        st.begin_session("a week later", T0 + 7 * DAY)  # the caller says time jumped
        st.record(T0 + 7 * DAY + S, [obs(1, T0 + 7 * DAY + S)])
    with LongTermMemory(tmp_path / "b.db", max_forward_jump_ns=30 * DAY) as m:  # or configures it
        m.ingest([obs(1, T0)])
        m.ingest([obs(1, T0 + 20 * DAY)])


def test_forward_bound_applies_record_by_record_within_a_batch(tmp_path):
    H = 3600 * S
    with LongTermMemory(tmp_path / "a.db") as m:
        m.ingest([obs(1, T0), obs(1, T0 + 12 * H)])
        m.ingest([obs(1, T0 + 30 * H), obs(1, T0 + 50 * H)])  # each within a day of the one before
        with pytest.raises(OutOfOrderError):
            m.ingest([obs(1, T0 + 60 * H), obs(1, T0 + 90 * H)])
        assert m.latest_stamp_ns == T0 + 50 * H


@pytest.mark.parametrize("oid", [np.uint64(2**63 + 5), 2**63, 2**64 + 1], ids=["uint64", "2**63", "2**64+1"])
def test_ids_beyond_int64_are_refused_not_wrapped(tmp_path, oid):
    with open_stack(tmp_path / "a.db", perception=None) as st:
        with pytest.raises(InvalidObservationError):
            st.record(T0, [obs(oid, T0)])
        with pytest.raises(InvalidObservationError):
            st.record(T0, [obs(1, T0, room_id=oid)])
        with pytest.raises(InvalidObservationError):
            st.long_term.ingest_arrays(np.array([2**63 + 5], np.uint64), np.array([T0]), np.zeros((1, 3)), "mug")
        st.record(T0, [obs(7, T0)])
    assert [r[0] for r in dump(tmp_path / "a.db")["objects"]] == [7]


# ---------------------------------------------------------------- 4. sessions
def test_end_session_before_begin_and_sessions_in_the_past_are_refused(tmp_path):
    with open_stack(tmp_path / "a.db", perception=None) as st:
        with pytest.raises(SessionError):
            st.end_session(T0)
        sid = st.begin_session("s", T0 + 10 * S)
        with pytest.raises(OutOfOrderError):
            st.end_session(T0 + 5 * S)  # before its own start
        st.record(T0 + 20 * S, [obs(1, T0 + 20 * S)])
        with pytest.raises(OutOfOrderError):
            st.end_session(T0 + 15 * S)  # before its newest (pending) record
        with pytest.raises(OutOfOrderError):
            st.begin_session("earlier", T0 + 19 * S)  # before the newest record
        assert st.end_session(T0 + 30 * S) == sid
        with pytest.raises(SessionError):
            st.end_session(T0 + 40 * S)
    rows = dump(tmp_path / "a.db")["sessions"]
    assert [(r[1], r[2], r[3]) for r in rows] == [("s", T0 + 10 * S, T0 + 30 * S)]


def test_open_session_survives_reopen_and_can_be_ended(tmp_path):
    with open_stack(tmp_path / "a.db", perception=None) as st:
        sid = st.begin_session("s", T0)
        st.record(T0 + S, [obs(1, T0 + S)])
    with open_stack(tmp_path / "a.db", perception=None) as st:
        assert st.end_session(T0 + 2 * S) == sid


# ---------------------------------------------------------------- 5. settings at open
@pytest.mark.parametrize("settings", [
    {"keyframe_max_side": 2}, {"keyframe_quality": 500}, {"keyframe_format": "GIF"}, {"quality": 500},
    {"synchronous": "OFF"}, {"cache_mb": 0}, {"max_bytes": 10}, {"stm_capacity": 0}, {"waypoint_spacing_m": -1.0},
    {"consolidation_interval_ns": -1}, {"keyframe_policy": "often"}, {"move_tolerance_m": float("nan")},
], ids=lambda d: next(iter(d)))
def test_bad_settings_are_refused_when_the_stack_opens(tmp_path, settings):
    path = tmp_path / "a.db"
    name = next(iter(settings))
    pattern = {"stm_capacity": "capacity", "consolidation_interval_ns": "consolidation interval"}.get(
        name, name.replace("keyframe_", ""))
    with pytest.raises(InvalidInputError, match=pattern):
        open_stack(path, **settings)
    assert not path.exists(), "a refused open must not create the file"


def test_keyframe_policy_fields_are_checked():
    with pytest.raises(InvalidInputError, match="place_radius_m"):
        KeyframePolicy(place_radius_m=-1.0)


# ---------------------------------------------------------------- 6. one writer, really
_HOLD = ("import sys, time\nfrom robomem.memory import LongTermMemory\n"
         "m = LongTermMemory(sys.argv[1])\nprint('open', flush=True)\ntime.sleep(60)\n")


def test_writer_lock_holds_across_processes_even_when_side_files_are_deleted(tmp_path):
    path = tmp_path / "a.db"
    LongTermMemory(path).close()
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert proc.stdout.readline().strip() == "open"
        for f in tmp_path.iterdir():  # delete every lock-looking side file: the lock is on the db's inode
            if f.name != "a.db" and "lock" in f.name:
                f.unlink()
        with pytest.raises(StoreError, match="already open for writing"):
            LongTermMemory(path)
        with LongTermMemory(path, readonly=True) as ro:  # readers are not blocked
            assert ro.stats()["objects"] == 0
    finally:
        proc.kill()
        proc.wait()
    with LongTermMemory(path) as m:  # the kernel dropped the lock with the process
        m.ingest([obs(1, T0)])


def test_second_writer_in_the_same_process_is_refused_and_the_first_keeps_working(tmp_path):
    path = tmp_path / "a.db"
    with LongTermMemory(path) as m:
        m.ingest([obs(1, T0)])
        for _ in range(3):
            with pytest.raises(StoreError, match="already open for writing"):
                LongTermMemory(path)
        m.ingest([obs(1, T0 + S)])
        assert m.check_integrity() == "ok"
    with LongTermMemory(path) as m:
        assert m.stats()["observations"] == 2


# ---------------------------------------------------------------- 7. robomem errors from queries
@pytest.mark.parametrize("call, arg", [
    (lambda s: s.where_is_object("abc"), "object_id"),
    (lambda s: s.events(kinds=["bogus"]), "kinds"),
    (lambda s: s.events(kinds=5), "kinds"),
    (lambda s: s.placements_at("x"), "stamp_ns"),
    (lambda s: s.where_was_i(float("nan")), "stamp_ns"),
    (lambda s: s.where_was_i(2**64), "stamp_ns"),
    (lambda s: s.where_is(3), "label"),
    (lambda s: s.last_seen(None), "object_id"),
    (lambda s: s.objects_in_box(None, None, "a", 5), "t0_ns"),
    (lambda s: s.events(object_id=-1), "object_id"),
    (lambda s: s.room_visits("kitchen"), "room_id"),
    (lambda s: s.scene_graph_of_session(1.5), "session_id"),
], ids=["where_is_object", "events_kinds", "events_kinds_int", "placements_at", "where_was_i_nan",
        "where_was_i_2**64", "where_is", "last_seen", "objects_in_box", "events_object", "room_visits",
        "scene_graph_of_session"])
def test_wrong_query_arguments_raise_robomem_errors_naming_the_argument(tmp_path, call, arg):
    with open_stack(tmp_path / "a.db", perception=None) as st:
        st.record(T0, [obs(1, T0)])
        with pytest.raises(InvalidQueryError, match=arg):
            call(st)


# ---------------------------------------------------------------- 8. poses rigid up to rounding
def _rot_unnormalised(q):
    """The textbook quaternion formula, assuming |q| = 1 (what a user writes for printed poses)."""
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def test_tum_poses_with_4_decimal_quaternions_are_reorthonormalised():
    lines = [ln.split() for ln in (ROOT / "tests/data/tum-fr1-xyz/groundtruth.txt").read_text().splitlines()
             if ln and not ln.startswith("#")]
    errs = []
    for ln in lines[:50]:
        t, q = np.array(ln[1:4], float), np.array(ln[4:8], float)
        T = np.eye(4)
        T[:3, :3], T[:3, 3] = _rot_unnormalised(q), t
        errs.append(np.abs(T[:3, :3].T @ T[:3, :3] - np.eye(3)).max())
        M = validate_pose(T)
        R = M[:3, :3]
        e = np.abs(R.T @ R - np.eye(3)).max()
        assert e < (1e-12 if errs[-1] > 1e-4 else 1e-4) and abs(np.linalg.det(R) - 1.0) < 1e-4
        assert np.abs(R - T[:3, :3]).max() < 1e-3 and np.array_equal(M[:3, 3], t)
    assert max(errs) > 1e-4, "the fixture should exercise rounding beyond the exact tolerance"


def test_poses_beyond_rounding_are_still_refused():
    T = np.eye(4)
    T[:3, :3] = np.diag([1.02, 1.0, 1.0])
    with pytest.raises(InvalidPoseError, match="orthonormal"):
        validate_pose(T)
    T[:3, :3] = np.diag([1.003, 1.0, 1.0])  # |R^T R - I| = 6e-3: rounding, fixed
    assert np.allclose(validate_pose(T)[:3, :3], np.eye(3))


# ---------------------------------------------------------------- 9. keyframes by novelty against everything kept
def _turning_views(rng):
    """8 headings at two places, one fixed image per (place, heading)."""
    return {(p, h): _blocks(rng) for p in range(2) for h in range(8)}


def _blocks(rng):
    """A smooth test image: 6 x 8 random colour blocks of 10 x 10 px."""
    return np.kron(rng.integers(0, 255, (6, 8, 3)), np.ones((10, 10, 1))).astype(np.uint8)


def _turn(st, views, t, loops, homes):
    for _ in range(loops):
        for p in range(2):
            for h in range(8):
                t += S // 10
                seen = [i for i in range(len(homes)) if (i + h) % 4]  # what is visible depends on heading
                st.record(t, [obs(i + 1, t, "thing", homes[i]) for i in seen], robot_position=(2.0 * p, 0, 0.5),
                          robot_yaw=h * math.pi / 4 - math.pi, robot_room=1, image=views[(p, h)])
    return t


def test_turning_in_an_unchanged_room_adds_no_keyframe_after_the_first_turn(tmp_path):
    rng = np.random.default_rng(0)
    views, homes = _turning_views(rng), rng.uniform(0, 4, (12, 3))
    with open_stack(tmp_path / "a.db", perception=None) as st:
        st.begin_session("s", T0)
        t = _turn(st, views, T0, 1, homes)
        first = st.long_term.keyframe_count()
        assert 1 <= first <= 16
        t = _turn(st, views, t, 20, homes)
        assert st.long_term.keyframe_count() == first
        st.end_session(t + S)
    with open_stack(tmp_path / "a.db", perception=None) as st:  # across sessions: judged against the file
        st.begin_session("s2", t + 2 * S)
        t = _turn(st, views, t + 2 * S, 3, homes)
        assert st.long_term.keyframe_count() == first
        changed = views[(0, 0)].copy()
        changed[:30] = 255 - changed[:30]  # the scene changed in view: a new keyframe
        st.record(t + S, [obs(i + 1, t + S, "thing", homes[i]) for i in range(1, 4)], robot_position=(0, 0, 0.5),
                  robot_yaw=-math.pi, robot_room=1, image=changed)
        assert st.long_term.keyframe_count() == first + 1


def test_refused_keyframe_image_changes_nothing(tmp_path):
    with open_stack(tmp_path / "a.db", perception=None, keyframe_budget_bytes=100, keyframe_format="PNG") as st:
        noisy = np.random.default_rng(1).integers(0, 255, (120, 160, 3), dtype=np.uint8)
        with pytest.raises(InvalidObservationError, match="budget"):
            st.record(T0, [obs(1, T0)], image=noisy)
        st.record(T0 + S, [obs(2, T0 + S)])
    assert [r[0] for r in dump(tmp_path / "a.db")["objects"]] == [2]


def test_record_validates_robot_pose_before_changing_anything(tmp_path):
    with open_stack(tmp_path / "a.db", perception=None) as st:
        for kw in ({"robot_position": (0, float("nan"), 0)}, {"robot_position": (0, 0, 0), "robot_yaw": math.inf},
                   {"robot_position": (0, 0, 0), "robot_room": -3}):
            with pytest.raises(InvalidInputError):
                st.record(T0, [obs(1, T0)], **kw)
        st.record(T0 + S, [obs(2, T0 + S)], robot_position=(0, 0, 0))
    d = dump(tmp_path / "a.db")
    assert [r[0] for r in d["objects"]] == [2] and len(d["trajectory"]) >= 1


def test_stack_open_is_fast_enough_with_many_kept_keyframes(tmp_path):
    with open_stack(tmp_path / "a.db", perception=None) as st:
        st.begin_session("s", T0)
        st.record(T0, [obs(1, T0)])
        st.flush()
        rng = np.random.default_rng(2)
        for k in range(200):
            st.long_term.add_keyframe(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), T0 + k, [1],
                                      pose=make_pose(translation=(k, 0, 0)))
    t = time.perf_counter()
    with open_stack(tmp_path / "a.db", perception=None) as st:
        assert len(st.keyframe_policy.views) == 200
    assert time.perf_counter() - t < 5.0


# ---------------------------------------------------------------- structure (issue 15)
def test_stack_uses_no_private_name_of_another_object():
    import ast

    tree = ast.parse((ROOT / "robomem/stack.py").read_text())
    bad = [f"line {n.lineno}: .{n.attr}" for n in ast.walk(tree)
           if isinstance(n, ast.Attribute) and n.attr.startswith("_") and not n.attr.startswith("__")
           and not (isinstance(n.value, ast.Name) and n.value.id == "self")]
    assert not bad, bad


def test_memory_modules_stay_under_600_lines():
    long = {p.name: n for p in (ROOT / "robomem/memory").glob("*.py")
            if (n := len(p.read_text().splitlines())) > 600}
    assert not long and len((ROOT / "robomem/stack.py").read_text().splitlines()) <= 600, long
