"""robomem demo: `make demo`.

1. The whole story in the embedded simulator (sim/story.py, sim/report.py): day 1 the robot explores a
   generated house from scratch (progress bar), overnight the household moves things, day 2 it is
   asked questions in words and the value-of-information agent answers from memory or goes to look.
   Writes the report out/demo/index.html (maps with trajectories, scene graph, timeline, each
   question with its answer, evidence keyframes, decision trace and whether it was right).
2. Map the bundled TUM RGB-D frames into an occupancy octree, print voxel counts and timing, and write
   a top-down picture and an OctoMap .bt file to out/ (skip with --no-tum).

The two-session "where is X?" check against ground truth is examples/house_memory.py."""
from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from robomem.datasets import load_tum_sequence  # noqa: E402
from robomem.mapping import OccupancyOctree  # noqa: E402

HERE = Path(__file__).resolve().parent.parent
OUT = HERE / "out"


def build(frames, resolution: float, discretize: bool) -> tuple[OccupancyOctree, float]:
    tree = OccupancyOctree(resolution)
    t0 = time.perf_counter()
    for f in frames:
        tree.insert_depth(f.depth, f.intrinsics, f.T_world_camera, discretize=discretize, stamp_ns=f.stamp_ns)
    return tree, time.perf_counter() - t0


def topdown_image(tree: OccupancyOctree, scale: int = 4) -> Image.Image:
    """Top view (x right, y up): occupied columns coloured by the height of their highest occupied
    voxel (blue low -> yellow high), free columns light grey, unknown dark."""
    keys, vals = tree.leaves()
    occ = vals >= 0
    kx0, ky0 = keys[:, 0].min(), keys[:, 1].min()
    w, h = int(keys[:, 0].max() - kx0 + 1), int(keys[:, 1].max() - ky0 + 1)
    img = np.full((h, w, 3), 30, dtype=np.uint8)
    c, r = keys[:, 0] - kx0, keys[:, 1] - ky0
    img[r[~occ], c[~occ]] = (205, 205, 205)
    top = np.full((h, w), -1, dtype=np.int64)
    np.maximum.at(top, (r[occ], c[occ]), keys[occ, 2])
    has = top >= 0
    if has.any():
        z = top[has].astype(np.float64)
        t = (z - z.min()) / max(z.max() - z.min(), 1.0)
        img[has] = np.stack([70 + 185 * t, 60 + 160 * t, 200 - 170 * t], axis=1).astype(np.uint8)
    img = img[::-1]  # y up
    return Image.fromarray(img).resize((w * scale, h * scale), Image.NEAREST)


def main() -> None:
    frames = list(load_tum_sequence(HERE / "tests/data/tum-fr1-xyz"))
    n_points = sum(int(f.valid_mask.sum()) for f in frames)
    print(f"loaded {len(frames)} TUM fr1/xyz frames, {n_points:,} valid depth points")
    build(frames[:1], 0.05, False)  # first call compiles (or loads cached) numba kernels
    build(frames[:1], 0.05, True)
    for res, disc in ((0.05, False), (0.05, True), (0.02, False)):
        tree, dt = build(frames, res, disc)
        c = tree.counts()
        mode = "discretized" if disc else "exact"
        print(f"{res * 100:.0f} cm {mode:11s}: {dt * 1e3:7.1f} ms ({n_points / dt / 1e6:5.2f} M points/s, "
              f"{dt / len(frames) * 1e3:5.1f} ms/frame)  free {c['free']:,}  occupied {c['occupied']:,}  "
              f"blocks {c['blocks']:,}  {tree.memory_bytes / 2**20:.1f} MiB")
    OUT.mkdir(exist_ok=True)
    png = OUT / "tum_map_topdown.png"
    topdown_image(tree).save(png)
    bt = OUT / "tum_map.bt"
    tree.write_bt(bt)
    grid = tree.project_2d(0.5, 1.2)
    print(f"2-D projection of z in [0.5, 1.2] m: {grid.shape[1]} x {grid.shape[0]} cells, "
          f"{int(grid.occupied_mask.sum()):,} occupied, {int(grid.free_mask.sum()):,} free")
    print(f"frontier voxels: {len(tree.frontiers()):,}")
    print(f"wrote {png.relative_to(HERE)} and {bt.relative_to(HERE)} (open with octovis)")


def story(out: Path = OUT / "demo") -> Path:
    """Run the story and write its report; returns the page's path."""
    from sim.report import write_report
    from sim.story import run_story

    t0 = time.perf_counter()
    st = run_story(out)
    try:
        page = write_report(st, out)
    finally:
        st.close()
    rec = st.record
    d1, sc = rec["day1"], rec["score"]
    print(f"day 1: explored {d1['path_m']:.1f} m, {d1['frames']} frames, {100 * d1['coverage']:.0f}% of the floor; "
          f"{d1['objects_in_memory']} objects in memory")
    print(f"overnight: {len(rec['changes'])} changes ({', '.join(sorted({c['kind'] for c in rec['changes']}))})")
    for q in rec["questions"]:
        ep = q["episode"]
        print(f"  Q{q['index'] + 1} {q['text']!r}: {'RIGHT' if q['right'] else 'WRONG'} ({q['verdict']}); "
              f"{ep['steps']} look(s), {ep['path_m']:.1f} m")
    print(f"first answers right: {sc['right']}/{sc['asked']}; demo story {time.perf_counter() - t0:.0f} s")
    print(f"report: {page.relative_to(HERE) if page.is_relative_to(HERE) else page}  (open it in a browser)")
    return page


if __name__ == "__main__":
    import sys

    story()
    if "--no-tum" not in sys.argv:
        print()
        main()
