"""SIGKILL during ingestion never leaves a stored map that cannot be read or that disagrees with
the last consolidated state (issue 11).

As a script (``python tests/test_map_durability.py writer PATH``) it is the writer: it reopens the
store, continues the deterministic frame sequence where the stored map ends (the map's update
count = frames stored), consolidates every 4 frames, printing ``A n`` once n frames are durable, and
writes the map on its own rhythm too (every 3 frames), so kills also land in those writes."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_750_000_000_000_000_000
KILLS = int(os.environ.get("ROBOMEM_MAP_KILLS", "50"))


def frame(i: int):
    from robomem.camera import CameraIntrinsics
    from robomem.frame import Frame
    from robomem.pose import make_pose

    rng = np.random.default_rng(i)
    K = CameraIntrinsics.from_fov(48, 36, 90.0)
    yaw = rng.uniform(-np.pi, np.pi)
    c, s = np.cos(yaw), np.sin(yaw)
    R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], float)
    depth = rng.uniform(0.5, 4.0, K.shape).astype(np.float32)
    return Frame(depth, K, make_pose(R, [*rng.uniform(-1, 1, 2), 1.0]), T0 + i * 10**8)


def writer_main(path: str) -> None:
    import robomem

    stack = robomem.open(path, perception=None, consolidation_interval_ns=10**18, map_persist_frames=3)
    i = stack.map.octree.update_count
    print("ready", i, flush=True)
    while True:
        for _ in range(4):
            f = frame(i)
            stack.map.insert(f)
            stack.record(f.stamp_ns, robot_position=[0, 0, 0])
            i += 1
        stack.flush()
        print("A", i, flush=True)


def _reference(n: int, cache: dict):
    from robomem.mapping import OccupancyOctree

    t, k = cache.get("tree"), cache.get("n", 0)
    if t is None:
        t = OccupancyOctree(0.05, max_range=6.0)
    for i in range(k, n):
        f = frame(i)
        t.insert_depth(f.depth, f.intrinsics, f.T_world_camera, discretize=True, stamp_ns=f.stamp_ns)
    cache["tree"], cache["n"] = t, n
    return t


@pytest.mark.slow
def test_sigkill_loop_never_leaves_a_broken_or_inconsistent_map(tmp_path):
    import robomem

    path = tmp_path / "map.db"
    rng = random.Random(7)
    cache: dict = {}
    acked = 0
    for kill in range(KILLS):
        env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
        p = subprocess.Popen([sys.executable, __file__, "writer", str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
        lines: list[str] = []
        th = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)
        th.start()
        end = time.monotonic() + 60
        while not lines and p.poll() is None and time.monotonic() < end:
            time.sleep(0.01)
        assert lines, p.stderr.read()
        end = time.monotonic() + 40   # let the writer acknowledge something, then kill at a random moment
        while not any(x.startswith("A ") for x in lines) and p.poll() is None and time.monotonic() < end:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.5))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        th.join(5)
        p.stderr.close()
        done = [int(x.split()[1]) for x in lines if x.startswith("A ") and x.endswith("\n")]
        if done:
            acked = max(acked, done[-1])
        with robomem.open(path, readonly=True) as ro:              # always readable
            n = ro.map.octree.update_count
            assert n >= acked, f"kill {kill}: {acked} frames acknowledged, map holds {n}"
            ref = _reference(n, cache)                              # equals the consolidated state, voxel by voxel
            ka, va = ro.map.octree.leaves()
            kb, vb = ref.leaves()
            oa, ob = np.lexsort(ka.T), np.lexsort(kb.T)
            assert np.array_equal(ka[oa], kb[ob]) and np.array_equal(va[oa], vb[ob]), f"kill {kill}: map differs"
        print(f"kill {kill + 1}/{KILLS}: {acked} frames acknowledged, {n} stored, readable and equal", flush=True)
    print(f"{KILLS} SIGKILLs, {acked} frames acknowledged; the stored map was readable and equal to the "
          "consolidated state after every kill")
    assert acked >= KILLS, "the writers acknowledged too little for the test to mean anything"


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "writer":
    sys.path.insert(0, str(ROOT))
    writer_main(sys.argv[2])
