"""Embedded simulator rendering speed: frames/s (1 / median frame time) for RGB + depth + instance (+ semantic) images from
one Open3D ``cast_rays`` call, on several generated houses, ONE Open3D ray-casting thread.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/sim_render.py [--seeds 0 1 2] [--frames 150]

Peer in the same run: the bare ``RaycastingScene.cast_rays`` call on the same rays (the floor any
Python renderer over Open3D pays), so the overhead of building a robomem ``Frame`` is visible even
on a noisy shared machine. Target: >= 60 fps at 320x240.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import open3d as o3d  # noqa: E402

from sim.house_styles import LAYOUT_STYLES, generate_house  # noqa: E402
from sim.embedded import EmbeddedSim  # noqa: E402


def run(seeds, n_frames: int, sizes, nthreads: int, styles=LAYOUT_STYLES):
    rows = []
    for i, seed in enumerate(seeds):
        scene = generate_house(seed, style=styles[i % len(styles)])
        for w, h in sizes:
            sim = EmbeddedSim(scene, width=w, height=h, nthreads=nthreads, seed=seed)
            pf = sim.pathfinder
            rng = np.random.default_rng(seed)
            states = []
            for _ in range(n_frames):
                st = sim.agent_state()
                st.position = pf.sample_navigable_point(rng)
                st.yaw = float(rng.uniform(-np.pi, np.pi))
                states.append(st)
            sim.render(states[0])  # build geometry and JIT outside the timing
            g = sim._geometry()
            # Interleave the two measurements frame by frame and keep medians: the machine is
            # shared, and a burst of load then hits both columns alike.
            t_full, t_bare = [], []
            for st in states:
                t0 = time.perf_counter()
                sim.render(st)
                t1 = time.perf_counter()
                g.scene.cast_rays(sim._rays_t, nthreads=nthreads)  # same rays, bare cast
                t2 = time.perf_counter()
                t_full.append(t1 - t0)
                t_bare.append(t2 - t1)
            full = 1.0 / statistics.median(t_full)
            bare = 1.0 / statistics.median(t_bare)
            rows.append((scene.name, g.n_triangles, f"{w}x{h}", full, bare))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                    help="house seeds; styles cycle corridor, bsp, open_plan, l_shaped, real")
    ap.add_argument("--styles", default=None, help="comma-separated styles to cycle instead")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--threads", type=int, default=1, help="Open3D ray-casting threads (cast_rays nthreads)")
    args = ap.parse_args()
    sizes = [(320, 240), (640, 480)]
    if args.threads > 0:
        o3d.utility.set_max_threads(args.threads)
    print(f"# open3d {o3d.__version__}, cast_rays nthreads={args.threads}, "
          f"open3d.utility.get_max_threads()={o3d.utility.get_max_threads()}, OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS')}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cpus, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    styles = tuple(args.styles.split(",")) if args.styles else LAYOUT_STYLES
    rows = run(args.seeds, args.frames, sizes, args.threads, styles)
    print(f"| house | triangles | size | EmbeddedSim.render fps | bare cast_rays fps | render / bare |")
    print("|---|---|---|---|---|---|")
    for name, tris, size, full, bare in rows:
        print(f"| {name} | {tris} | {size} | {full:.1f} | {bare:.1f} | {full / bare:.2f} |")
    for size in ("320x240", "640x480"):
        vals = [r[3] for r in rows if r[2] == size]
        print(f"median EmbeddedSim fps at {size}: {statistics.median(vals):.1f} "
              f"(target >= 60 at 320x240: {'met' if size != '320x240' or statistics.median(vals) >= 60 else 'NOT met'})"
              if size == "320x240" else f"median EmbeddedSim fps at {size}: {statistics.median(vals):.1f}")


if __name__ == "__main__":
    main()
