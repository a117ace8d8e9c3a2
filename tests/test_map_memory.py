"""The map inside the memory (issue 11): the stack's octree, stored in the same SQLite file,
snapshots per session, the map at a past time, changes between sessions, bad input."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import robomem
from robomem.camera import CameraIntrinsics
from robomem.errors import InvalidInputError, InvalidMapError
from robomem.frame import Frame
from robomem.mapping.map_memory import MapMemory, MapSettings
from robomem.pose import make_pose

ROOT = Path(__file__).resolve().parents[1]
K = CameraIntrinsics.from_fov(64, 48, 90.0)
T0 = 1_750_000_000_000_000_000


def room_frame(i: int, t: int, box_at=(2.0, 0.0)) -> Frame:
    """A camera at the origin (1 m up) turning about z inside a 6x6 m room with 2.5 m walls and a
    0.6 m box (0.8 m tall) at ``box_at``; depth by ray casting against those boxes."""
    yaw = 2 * math.pi * i / 12
    c, s = math.cos(yaw), math.sin(yaw)
    R_body = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    R = R_body @ np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], float)
    T = make_pose(R, [0, 0, 1.0])
    d = K.pixel_rays.reshape(-1, 3) @ R.T  # world ray directions for unit optical z
    o = np.array([0.0, 0.0, 1.0])
    boxes = [((-3, -3, 0), (3, 3, 2.5), True)]  # inside of the room
    bx, by = box_at
    t_hit = _box_exit(o, d, np.array([-3, -3, 0.0]), np.array([3, 3, 2.5]))
    t_box = _box_entry(o, d, np.array([bx - 0.3, by - 0.3, 0.0]), np.array([bx + 0.3, by + 0.3, 0.8]))
    del boxes
    z = np.minimum(t_hit, t_box).reshape(K.shape).astype(np.float32)  # optical z = t (unit z rays)
    return Frame(z, K, T, t)


def _box_exit(o, d, lo, hi):
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (lo - o) / d, (hi - o) / d
    return np.nanmin(np.where(np.isfinite(np.maximum(t1, t2)), np.maximum(t1, t2), np.inf), axis=1)


def _box_entry(o, d, lo, hi):
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (lo - o) / d, (hi - o) / d
    tn = np.nanmax(np.minimum(t1, t2), axis=1)
    tf = np.nanmin(np.maximum(t1, t2), axis=1)
    return np.where((tn <= tf) & (tn > 0), tn, np.inf)


def _observe_session(stack, name, t, box_at, n=24):
    stack.begin_session(name, t)
    for i in range(n):
        f = room_frame(i, t + i * 10**8, box_at)
        stack.map.insert(f)
        stack.record(f.stamp_ns, robot_position=f.T_world_camera[:3, 3])
    end = t + n * 10**8
    stack.end_session(end)
    return end


def _same_map(a, b) -> None:
    ka, va = a.leaves()
    kb, vb = b.leaves()
    oa, ob = np.lexsort(ka.T), np.lexsort(kb.T)
    assert np.array_equal(ka[oa], kb[ob])
    assert np.array_equal(va[oa], vb[ob])


def test_stack_owns_a_map_that_is_stored_and_reopened_exactly(tmp_path):
    path = tmp_path / "m.db"
    with robomem.open(path, perception=None) as stack:
        assert stack.map is not None and stack.map.octree.resolution == 0.05
        _observe_session(stack, "day1", T0, (2.0, 0.0))
        written = stack.map.octree.copy()
        assert written.num_voxels > 1000
    with robomem.open(path, readonly=True) as ro:  # a reader gets the same map: every voxel, same log-odds
        _same_map(ro.map.octree, written)
        assert len(ro.map.snapshots()) == 1
    with robomem.open(path, perception=None) as again:
        _same_map(again.map.octree, written)
    with pytest.raises(InvalidMapError):
        robomem.open(path, map_resolution=0.1)
    with robomem.open(path, map=None, perception=None) as nomap:
        assert nomap.map is None
        with pytest.raises(InvalidInputError):
            nomap.map_at(T0)


def test_reader_process_sees_the_consolidated_map(tmp_path):
    path = tmp_path / "m.db"
    with robomem.open(path, perception=None, consolidation_interval_ns=0, map_persist_interval_ns=0) as stack:
        stack.begin_session("d", T0)
        for i in range(6):
            f = room_frame(i, T0 + i * 10**8)
            stack.map.insert(f)
            stack.record(f.stamp_ns, robot_position=[0, 0, 0])   # consolidates (interval 0) -> map written
        n_known = stack.map.octree.num_voxels
        code = ("import robomem,sys; s=robomem.open(sys.argv[1], readonly=True); "
                "print(s.map.octree.num_voxels); s.close()")
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                             cwd=ROOT, timeout=120, env={"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
                                                         "PATH": "/usr/bin:/bin"})
        assert out.returncode == 0, out.stderr
        assert int(out.stdout.split()[-1]) == n_known


def _stored_update_count(path) -> int:
    with robomem.open(path, readonly=True) as ro:
        return ro.map.octree.update_count


@pytest.mark.parametrize("settings, writes_after", [
    ({}, [11]),                                               # default: every 5 s of data time (frames 0.5 s apart)
    ({"map_persist_frames": 4}, [4, 8, 12]),                  # every 4 frames (the interval is longer)
    ({"map_persist_interval_ns": 10**9}, [3, 5, 7, 9, 11]),   # every 1 s of data time
])
def test_the_map_is_written_on_its_own_rhythm_and_at_flush(tmp_path, settings, writes_after):
    path = tmp_path / "m.db"
    with robomem.open(path, perception=None, consolidation_interval_ns=0, **settings) as stack:
        stack.begin_session("d", T0)
        written = []
        for i in range(12):
            f = room_frame(i, T0 + i * 5 * 10**8)
            stack.map.insert(f)
            stack.record(f.stamp_ns, robot_position=[0, 0, 0])  # records consolidate at every frame
            n = _stored_update_count(path)
            if n == i + 1:
                written.append(n)
            else:  # not written now: the stored map is an older whole frame
                assert n < i + 1 and (not written or n == written[-1])
        assert written == writes_after
        f = room_frame(12, T0 + 12 * 5 * 10**8)
        stack.map.insert(f)
        stack.record(f.stamp_ns)
        stack.flush()                                           # an explicit flush writes the map too
        assert _stored_update_count(path) == 13
        assert len(stack.map.dirty_blocks()[0]) == 0                 # nothing left to write
        stack.map.insert(room_frame(13, T0 + 13 * 5 * 10**8))
        keys, _ = stack.map.dirty_blocks()
        assert len(keys) > 0 and stack.map.persist() == len(keys)   # looking does not lose them
        current = stack.map.octree.copy()
    with robomem.open(path, readonly=True) as ro:
        _same_map(ro.map.octree, current)


def test_all_invalid_depth_changes_nothing_and_stale_frames_are_refused(tmp_path):
    with robomem.open(tmp_path / "m.db", perception=None) as stack:
        f = room_frame(0, T0)
        stack.map.insert(f)
        before = stack.map.octree.copy()
        uc = stack.map.octree.update_count
        for bad in (np.zeros(K.shape, np.float32), np.full(K.shape, np.nan, np.float32),
                    np.full(K.shape, np.inf, np.float32)):
            assert stack.map.insert(Frame(bad, K, f.T_world_camera, T0 + 10**9)) == 0
        assert stack.map.octree.update_count == uc
        _same_map(stack.map.octree, before)
        with pytest.raises(InvalidInputError, match="older"):
            stack.map.insert(room_frame(1, T0 - 1))
        with pytest.raises(InvalidInputError):
            stack.map.insert("not a frame")
        _same_map(stack.map.octree, before)


def test_sessions_snapshots_map_at_and_changes_after_a_move(tmp_path):
    path = tmp_path / "m.db"
    events = []
    with robomem.open(path, perception=None) as stack:
        stack.map.add_listener(events.append)
        end1 = _observe_session(stack, "monday", T0, (2.0, 0.0))
        monday = stack.map.octree.copy()
        t2 = end1 + 3600 * 10**9
        end2 = _observe_session(stack, "tuesday", t2, (0.0, 2.0))   # the box moved
        snaps = stack.map.snapshots()
        assert [s["session_id"] for s in snaps] == [1, 2]
        assert snaps[1]["n_blocks"] < snaps[0]["n_blocks"]           # only the changed blocks
        m1 = stack.map_at(end1 + 1)
        assert np.array_equal(m1.state_at([[1.7, 0.0, 0.4]]), monday.state_at([[1.7, 0.0, 0.4]]))
        _same_map(stack.map_at(session_id=1), stack.map_at(end1))
        assert stack.map_at(T0 - 1).num_voxels == 0                     # before any snapshot
        # Old box face is free now, the new one occupied.
        assert stack.map.octree.state_at([[1.72, 0.0, 0.4]])[0] == 0
        assert stack.map.octree.state_at([[0.0, 1.72, 0.4]])[0] == 1
        ch = stack.map_changes(end1, end2)
        assert len(ch.vacated) and len(ch.newly_occupied)
        centres = np.array([r.centroid[:2] for r in ch.regions])
        assert np.min(np.linalg.norm(centres - [1.7, 0.0], axis=1)) < 0.4
        assert np.min(np.linalg.norm(centres - [0.0, 1.7], axis=1)) < 0.4
        assert len(events) == 1 and len(events[0].regions) >= 2           # the listener got the same news
        with pytest.raises(InvalidInputError):
            stack.map_at(session_id=99)
        with pytest.raises(InvalidInputError):
            stack.map_at(1.5)


def test_map_settings_are_validated():
    with pytest.raises(InvalidInputError):
        MapSettings(session_prior=(0.6, 0.8))
    with pytest.raises(InvalidInputError):
        MapSettings(stride=0)
    for bad in (-1, 1.5, True, None):
        with pytest.raises(InvalidInputError, match="persist_interval_ns"):
            MapSettings(persist_interval_ns=bad)
        with pytest.raises(InvalidInputError, match="persist_frames"):
            robomem.open(":memory:", map_persist_frames=bad)
    with pytest.raises(InvalidMapError):
        MapMemory(MapSettings(resolution=-1))
    with pytest.raises(InvalidInputError):
        robomem.open(":memory:", map="yes")
