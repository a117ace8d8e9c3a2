"""Where the perception node's per-frame time goes, without ROS transport: the path the node's worker
runs for every synchronised 320x240 RGB-D frame (message -> array conversions, then
``MemoryStack.observe``: the stack's map insert at ``map_stride``, perception, memory record and
consolidation) and, separately, what the node publishes at most every ``publish_period_s``
(grid projection, occupied voxels, PointCloud2 / OccupancyGrid / MarkerArray building) and the room
segmentation it runs every ``structure_period_s``.

Thread CPU time (``time.thread_time``) per stage, so the figures depend less on other load than wall
time. Every house style, ``--seeds`` seeds each, a tour through the first ``--rooms`` rooms turning
around in each; the worst style and the mean are reported.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/ros_frame_profile.py --seeds 2     (needs `make ros`)
"""
from __future__ import annotations

import argparse
import collections
import functools
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

STAGES = ("convert", "map.insert", "extract_segments", "miss_evidence", "pipeline.process", "flush", "observe (all)")


def _timed(obj, name: str, key: str, acc: dict) -> None:
    f = getattr(obj, name)

    @functools.wraps(f)
    def g(*a, **k):
        t = time.thread_time()
        try:
            return f(*a, **k)
        finally:
            acc[key] += time.thread_time() - t
    setattr(obj, name, g)


def tour(seed: int, style: str, rooms: int):
    import sim
    scene = sim.generate_house(seed, style, n_rooms=4, n_objects=30)
    env = sim.EmbeddedSim(scene, width=320, height=240, step_ns=int(1e9 / 15))
    s = env.agent_state()
    env.set_agent_state(sim.AgentState(s.position, s.yaw, math.radians(-20)))
    frames = []
    for room in list(scene.rooms.values())[:rooms]:
        goal = env.pathfinder.snap_point(np.array([*room.centroid[:2], room.floor_z]))
        frames += [r.frame for r in sim.walk_to(env, goal, max_steps=300, tolerance=0.3)]
        frames += [env.step("turn_left").frame for _ in range(18)]
    return frames


def run_house(seed: int, style: str, rooms: int, map_stride: int) -> dict:
    from nav_msgs.msg import OccupancyGrid
    from sensor_msgs.msg import Image, PointCloud2, PointField

    import robomem
    from robomem.perception import PerceptionPipeline
    from ros_nodes.convert import array_to_image, depth_to_metres, grid_to_msg, image_to_array, points_to_cloud
    from ros_nodes.markers import graph_markers
    frames = tour(seed, style, rooms)
    acc: dict = collections.defaultdict(float)
    pipe = PerceptionPipeline(octree=None, structure_every=0)
    with tempfile.TemporaryDirectory() as tmp:
        stack = robomem.open(Path(tmp) / "m.db", perception=pipe, map_stride=map_stride)
        stack.begin_session("profile", frames[0].stamp_ns)
        msgs = [(array_to_image(Image, f.rgb, "rgb8", "c", f.stamp_ns), array_to_image(Image, f.depth, "32FC1", "c", f.stamp_ns),
                 array_to_image(Image, f.instance_ids.astype(np.uint16), "16UC1", "c", f.stamp_ns)) for f in frames]
        t_all = time.thread_time()
        for f, (m_rgb, m_d, m_i) in zip(frames, msgs):
            t = time.thread_time()
            image_to_array(m_rgb, ("rgb8",))
            depth_to_metres(m_d)
            image_to_array(m_i, ("16UC1",))
            acc["convert"] += time.thread_time() - t
            t = time.thread_time()
            stack.observe(f)
            acc["observe (all)"] += time.thread_time() - t
        frame_ms = 1e3 * (time.thread_time() - t_all) / len(frames)
        oc = stack.map.octree
        pub: dict = collections.defaultdict(list)
        for _ in range(3):
            t = time.thread_time()
            grid = oc.project_2d(0.1, 1.9)
            grid_to_msg(OccupancyGrid, grid, "map", 0)
            pub["grid"].append(time.thread_time() - t)
            t = time.thread_time()
            points_to_cloud(PointCloud2, PointField, oc.occupied_voxels(), "map", 0)
            pub["voxels"].append(time.thread_time() - t)
            t = time.thread_time()
            graph_markers(pipe.scene_graph, "map", 0)
            pub["markers"].append(time.thread_time() - t)
            t = time.thread_time()
            pipe.update_structure(oc.project_2d(1.4, 1.9))
            pub["rooms"].append(time.thread_time() - t)
        stack.close()
    n = len(frames)
    row = {"seed": seed, "style": style, "frames": n, "frame_ms": frame_ms}
    row.update({f"{k}_ms": 1e3 * v / n for k, v in acc.items()})
    row.update({f"pub_{k}_ms": 1e3 * float(np.median(v)) for k, v in pub.items()})
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--rooms", type=int, default=2, help="rooms toured per house")
    ap.add_argument("--map-stride", type=int, default=2)
    ap.add_argument("--styles", default="")
    args = ap.parse_args(argv)
    import robomem
    import robomem.perception.change_events as ce
    import robomem.perception.pipeline as pp
    from robomem.mapping.map_memory import MapMemory
    from robomem.perception import PerceptionPipeline
    import sim
    acc: dict = collections.defaultdict(float)
    _timed(MapMemory, "insert", "map.insert", acc)
    _timed(pp, "extract_segments", "extract_segments", acc)
    _timed(ce.ChangeEventsMixin, "_miss_evidence", "miss_evidence", acc)
    _timed(PerceptionPipeline, "process", "pipeline.process", acc)
    _timed(robomem.stack.MemoryStack, "flush", "flush", acc)
    styles = [s for s in args.styles.split(",") if s] or list(sim.LAYOUT_STYLES)
    print(f"load average at start: {os.getloadavg()} on {os.cpu_count()} cores; map_stride {args.map_stride}", flush=True)
    rows = []
    for style in styles:
        for seed in range(args.seeds):
            acc.clear()
            row = run_house(seed, style, args.rooms, args.map_stride)
            row.update({f"{k}_ms": 1e3 * v / row["frames"] for k, v in acc.items()})
            rows.append(row)
            print(f"  {style:10s} seed {seed}: {row['frames']} frames, {row['frame_ms']:.1f} ms CPU/frame "
                  + " ".join(f"{k} {row.get(k + '_ms', 0):.1f}" for k in STAGES), flush=True)
    print(f"load average at end: {os.getloadavg()}")
    cols = ["frame_ms"] + [f"{k}_ms" for k in STAGES[:-1]] + ["pub_grid_ms", "pub_voxels_ms", "pub_markers_ms", "pub_rooms_ms"]
    print("\n| style | houses | CPU ms/frame (mean) | worst house | " + " | ".join(c[:-3] for c in cols[1:]) + " |")
    print("|---" * (len(cols) + 3) + "|")
    for style in styles:
        rs = [r for r in rows if r["style"] == style]
        print(f"| {style} | {len(rs)} | {np.mean([r['frame_ms'] for r in rs]):.1f} | {max(r['frame_ms'] for r in rs):.1f} | "
              + " | ".join(f"{np.mean([r.get(c, 0.0) for r in rs]):.1f}" for c in cols[1:]) + " |")
    worst = max(rows, key=lambda r: r["frame_ms"])
    print(f"\nall: {np.mean([r['frame_ms'] for r in rows]):.1f} ms CPU per frame (mean), worst house "
          f"{worst['frame_ms']:.1f} ({worst['style']} seed {worst['seed']}); a 15 Hz stream allows 66.7 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
