"""``python -m sim``: generate a house, walk through it, and write pictures.

Writes ``strip.png`` (rows of RGB | depth | instances along the walk), ``floor_plan.png``
(top-down plan with object labels and the walked path) and ``scene.json``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim", description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0, help="house and walk seed")
    ap.add_argument("--out", default="out/sim", help="output folder")
    ap.add_argument("--size", default="320x240", help="image WIDTHxHEIGHT")
    ap.add_argument("--style", default=None, help="layout style: corridor, bsp, open_plan, l_shaped (default random)")
    ap.add_argument("--frames", type=int, default=6, help="frames in the strip")
    args = ap.parse_args(argv)
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        ap.error(f"--size must look like 320x240, got {args.size!r}")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from sim.embedded import EmbeddedSim
    from sim.houses import generate_house
    from sim.viz import floor_plan, frame_strip
    from sim.walk import follow_path

    scene = generate_house(args.seed, style=args.style)
    sim = EmbeddedSim(scene, width=w, height=h, seed=args.seed)
    pf = sim.pathfinder
    rng = np.random.default_rng(args.seed)
    start = sim.agent_state().position
    # Walk to the farthest of a few random goals so the walk crosses rooms.
    goals = [pf.sample_navigable_point(rng) for _ in range(8)]
    dists = [pf.geodesic_distance(start, g) for g in goals]
    goal = goals[int(np.argmax(np.where(np.isfinite(dists), dists, -1)))]
    path, length = pf.find_path(start, goal)
    first = sim.observe()
    results = list(follow_path(sim, path, max_steps=400))
    frames = [first] + [r.frame for r in results]
    pick = np.linspace(0, len(frames) - 1, min(args.frames, len(frames))).round().astype(int)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame_strip([frames[i] for i in pick]).save(out / "strip.png")
    poses = []
    from sim.base import AgentState
    for i in pick:
        T = frames[i].T_world_camera
        fwd = T[:3, 2]
        poses.append(AgentState(T[:3, 3] - (0, 0, sim.sensor_height), float(np.arctan2(fwd[1], fwd[0]))))
    floor_plan(scene, path=path, agent_poses=poses).save(out / "floor_plan.png")
    scene.save(out / "scene.json")
    print(f"{scene.name}: {len(scene.rooms)} rooms, {len(scene.furniture())} furniture, "
          f"{len(scene.small_objects())} objects; walked {len(results)} steps along a {length:.1f} m path, "
          f"ending {float(np.hypot(*(sim.agent_state().position[:2] - goal[:2]))):.2f} m from the goal")
    print(f"wrote {out / 'strip.png'}, {out / 'floor_plan.png'}, {out / 'scene.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
