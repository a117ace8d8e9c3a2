"""The whole stack: perception -> short-term -> long-term on one file; growth, multi-day keyframe
budget, scene-graph reconstruction, a read-only second process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robomem.camera import CameraIntrinsics
from robomem.errors import InvalidInputError
from robomem.frame import Frame
from robomem.memory import ForgettingPolicy, KeyframePolicy, ReadOnlyStoreError
from robomem.observations import EventKind, ObjectEvent, ObjectObservation
from robomem.pose import make_pose
from robomem.stack import MemoryStack, open as open_stack

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_770_000_000_000_000_000
S = 10**9
DAY = 86400 * S

K = CameraIntrinsics.from_fov(320, 240, 90.0)
R_LOOK_X = np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], float)  # optical z along world +x


def synthetic_frame(t: int) -> Frame:
    """Camera at (0, 0, 1) looking along +x at a wall 3 m away, a mug at 2 m, a book at 2.5 m."""
    depth = np.full((240, 320), 3.0, np.float32)
    inst = np.ones((240, 320), np.uint32)
    depth[100:140, 60:100] = 2.0
    inst[100:140, 60:100] = 2
    depth[150:200, 200:260] = 2.5
    inst[150:200, 200:260] = 3
    rgb = np.full((240, 320, 3), 128, np.uint8)
    rgb[inst == 2] = (200, 30, 30)
    rgb[inst == 3] = (30, 30, 200)
    return Frame(depth, K, make_pose(R_LOOK_X, [0, 0, 1.0]), t, rgb=rgb, instance_ids=inst,
                 labels={1: "wall", 2: "mug", 3: "book"})


def test_observe_with_perception_then_query_from_a_second_process(tmp_path):
    pytest.importorskip("robomem.perception")
    path = tmp_path / "house.db"
    with open_stack(path, consolidation_interval_ns=0) as stack:
        sid = stack.begin_session("morning", T0)
        for k in range(15):
            res = stack.observe(synthetic_frame(T0 + k * S // 10))
        assert {o.label for o in res.observations} == {"mug", "book"}
        (mug,) = stack.where_is("mug")
        # mug pixels 60..99 x 100..139 at 2 m: centre ~ (2, (159.5-79.5)/160*2, 1 - (119.5-119.5)/160*2)
        assert np.allclose(mug.position, [2.0, 1.0, 1.0], atol=0.05)
        assert mug.keyframe_ids, "a keyframe shows the mug as evidence"
        assert [o.label for o in stack.just_seen()] and stack.last_seen(mug.object_id) == T0 + 14 * S // 10
        assert stack.end_session(T0 + 2 * S) == sid
        # the stored snapshot is the perception's graph, with rooms and places from the stack's map
        assert stack.scene_graph_of_session(sid) == stack.scene_graph and stack.scene_graph.num_nodes("room") >= 1
        p = stack.where_was_i(T0 + S // 2)
        assert np.allclose(p.position, [0, 0, 1])
        # a reader process while this writer is still open
        code = ("import sys; from robomem.stack import open as o\n"
                "s = o(sys.argv[1], readonly=True)\n"
                "a = s.where_is('mug')[0]; print(a.object_id, *a.position.round(3), len(a.keyframe_ids))\n"
                "s.close()\n")
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert out.returncode == 0, out.stderr
        oid, x, y, z, nkf = out.stdout.split()
        assert int(oid) == mug.object_id and np.allclose([float(x), float(y), float(z)], mug.position, atol=1e-3)
        assert int(nkf) >= 1
    with open_stack(path, readonly=True) as ro:
        with pytest.raises(ReadOnlyStoreError):
            ro.observe(synthetic_frame(T0 + 3 * S))
        assert ro.where_is("book")[0].label == "book"


def _static_scene(stack: MemoryStack, n_frames: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    homes = rng.uniform(0, 6, (30, 3))
    img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    for f in range(n_frames):
        t = T0 + f * S // 30
        seen = np.flatnonzero(rng.random(30) < 0.9)  # detections flicker
        obs = [ObjectObservation(int(i) + 1, "thing", t, homes[i] + rng.normal(0, 0.02, 3),
                                 homes[i] - 0.1, homes[i] + 0.1, float(rng.uniform(0.6, 1.0)), room_id=1)
               for i in seen]
        stack.record(t, obs, robot_position=(0.0, 0.0, 0.5) + rng.normal(0, 0.002, 3), robot_yaw=0.0, robot_room=1,
                     image=img)


@pytest.mark.slow
def test_static_scene_store_grows_less_than_5_percent_from_1000_to_10000_frames(tmp_path):
    sizes = {}
    for n in (1000, 10_000):
        path = tmp_path / f"static{n}.db"
        with open_stack(path, perception=None) as stack:
            stack.begin_session("static", T0)
            _static_scene(stack, n)
            stack.end_session(T0 + n * S // 30)
            stats = stack.long_term.stats()
        sizes[n] = path.stat().st_size
        assert stats["objects"] == 30 and stats["placements"] == 30
        assert stats["keyframes"] == 1 and stats["trajectory"] <= 4
    assert sizes[10_000] < 1.05 * sizes[1000], sizes


def _day(stack: MemoryStack, day: int, homes: np.ndarray, rng, moves: int) -> dict:
    t = T0 + day * DAY + 8 * 3600 * S
    stack.begin_session(f"day{day}", t)
    moved = {}
    for i in rng.choice(len(homes), moves, replace=False):
        old = homes[i].copy()
        homes[i] = rng.uniform(0, 9, 3)
        moved[int(i)] = old
    rooms = [(1, 1.5), (2, 4.5), (3, 7.5)]
    for f in range(240):  # ~ 4 min at 1 Hz through three rooms
        t += S
        room, cx = rooms[(f // 80) % 3]
        robot = np.array([cx + 0.01 * (f % 80), 1.0, 0.5])
        in_room = np.flatnonzero(np.abs(homes[:, 0] - cx) < 1.5)
        obs = [ObjectObservation(int(i) + 1, "cup" if i % 2 else "book", t, homes[i], homes[i] - 0.05,
                                 homes[i] + 0.05, 0.9, room_id=room) for i in in_room]
        events = [ObjectEvent(EventKind.MOVED, int(i) + 1, "cup" if i % 2 else "book", t, homes[i], moved.pop(int(i)))
                  for i in in_room if int(i) in moved and day > 0]
        img = rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)
        stack.record(t, obs, events, robot_position=robot, robot_yaw=0.0, robot_room=room, image=img)
    stack.end_session(t + S)
    return {"end": t + S}


@pytest.mark.slow
def test_seven_days_keep_keyframes_within_budget_and_answer_questions(tmp_path):
    budget = 120_000
    rng = np.random.default_rng(1)
    homes = rng.uniform(0, 9, (24, 3))
    with open_stack(tmp_path / "week.db", perception=None, keyframe_budget_bytes=budget,
                    keyframe_policy=KeyframePolicy(refresh_ns=60 * S),
                    forgetting=ForgettingPolicy(placement_half_life_ns=2 * DAY)) as stack:
        ends = []
        for day in range(7):
            info = _day(stack, day, homes, rng, moves=0 if day == 0 else 4)
            ends.append(info["end"])
            lt = stack.long_term
            assert lt.keyframe_bytes() <= budget
            assert max(k.stamp_ns for k in lt.keyframes()) > ends[-1] - DAY / 2  # today's evidence kept
        lt = stack.long_term
        # where is every object now? exactly its last home
        for i in range(24):
            a = stack.where_is_object(i + 1)
            assert np.allclose(a.position, homes[i]), i
        assert len(lt.sessions()) == 7 and lt.stats()["snapshots"] == 0  # no perception graph to snapshot
        assert len(stack.events(kinds=[EventKind.MOVED])) > 0
        # robot-centred questions
        v = stack.last_visit(3)
        assert v is not None and ends[-1] - DAY / 2 < v.t_enter_ns < ends[-1]
        assert v.duration_ns == pytest.approx(79 * S, abs=2 * S)
        assert len(stack.room_visits(2)) >= 7
        p = stack.where_was_i(v.t_enter_ns + 10 * S)
        assert p.room_id == 3


def test_record_validates_before_changing_anything(tmp_path):
    with open_stack(tmp_path / "v.db", perception=None, consolidation_interval_ns=0) as stack:
        good = ObjectObservation(1, "mug", T0, np.zeros(3), np.zeros(3) - 0.1, np.zeros(3) + 0.1)
        stack.record(T0, [good])
        bad = ObjectObservation(2, "mug", T0 + S, np.array([np.nan, 0, 0]), np.zeros(3), np.zeros(3))
        with pytest.raises(InvalidInputError):
            stack.record(T0 + S, [bad])
        with pytest.raises(InvalidInputError):
            stack.record(T0 - 3600 * S, [good])  # far out of order
        with pytest.raises(InvalidInputError):
            stack.record(T0 + S, [], [ObjectEvent(EventKind.MOVED, 5, "cat", T0 + S, np.zeros(3))])
        with pytest.raises(InvalidInputError):
            stack.record(T0 + S, [good.__class__(3, "cup", T0 + S, np.ones(3), np.ones(3), np.ones(3))],
                         image=np.zeros((10, 10), np.uint8))
        with pytest.raises(InvalidInputError):
            stack.record(T0 + S, [], robot_position=(0.0, np.inf, 0.0))
        assert len(stack.short_term) == 1 and stack.long_term.stats()["objects"] == 1
        stack.record(T0 + 2 * S, [good.__class__(1, "mug", T0 + 2 * S, np.zeros(3), np.zeros(3), np.zeros(3))])
        assert stack.long_term.current_placement(1).n_observations == 2


def test_consolidation_rhythm_and_short_term_answers(tmp_path):
    path = tmp_path / "rhythm.db"
    stack = open_stack(path, perception=None, consolidation_interval_ns=5 * S)
    stack.begin_session("s", T0)
    p = np.array([1.0, 2.0, 0.5])
    for k in range(30):  # 3 s at 10 Hz: not yet due
        stack.record(T0 + k * S // 10, [ObjectObservation(7, "keys", T0 + k * S // 10, p, p - 0.02, p + 0.02)])
    assert stack.long_term.stats()["observations"] == 0
    (a,) = stack.where_is("keys")
    assert a.source == "short-term" and a.last_seen_ns == T0 + 29 * S // 10
    for k in range(30, 60):
        stack.record(T0 + k * S // 10, [ObjectObservation(7, "keys", T0 + k * S // 10, p, p - 0.02, p + 0.02)])
    stored = stack.long_term.stats()["observations"]
    assert 50 <= stored < 60  # flushed once at 5 s of data time
    (a,) = stack.where_is("keys")
    assert a.source == "short-term" and a.placement is not None and a.placement.n_observations == stored
    stack.close()  # close consolidates the rest
    with open_stack(path, readonly=True) as r:
        (a,) = r.where_is("keys")
        assert a.source == "long-term" and a.placement.n_observations == 60 and np.allclose(a.position, p)
