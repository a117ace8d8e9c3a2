"""Frontier exploration from scratch on generated houses of every style (issue 11): robomem's
information-gain scoring vs the greedy nearest-frontier baseline on the same houses in the same run.

Each run: a fresh map, the agent at the simulator's seeded start, explore until no reachable
frontier is left or the path budget runs out. Scored against the simulator's floor plan (reachable
navigable floor whose column the robot's map knows), collisions as the simulator reports them.

    OPENBLAS_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/explore.py --out explore.jsonl
    .venv/bin/python benchmarks/explore.py --summarize explore.jsonl

(default: seeds 10..19, every style, both strategies; seeds outermost, so a partial JSONL still
covers every style.)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import sim  # noqa: E402
from robomem.mapping.map_memory import MapMemory  # noqa: E402
from sim.explore import explore, observed_floor_fraction  # noqa: E402
from sim.navigation import MapRobot  # noqa: E402


#: coverage levels at which the path each strategy needed is compared ("the same coverage")
LEVELS = (0.8, 0.9, 0.95)


def run_one(style: str, seed: int, strategy: str, width: int, turn_deg: float, budget: float, progress: bool,
            cost_weight: float = 0.5) -> dict:
    scene = sim.generate_house(seed=seed, style=style)
    env = sim.EmbeddedSim(scene, width=width, height=width * 3 // 4, hfov_deg=90, seed=seed, turn_deg=turn_deg)
    start = env.agent_state().position.copy()
    mm = MapMemory()
    t0, c0 = time.perf_counter(), time.process_time()
    robot = MapRobot(env, lambda: mm.octree, mm.insert)
    curve = []        # (path m, coverage) after every goal: scoring only, never seen by the robot
    score_s = [0.0]

    def on_goal(d: float) -> None:
        t = time.process_time()
        curve.append((round(d, 2), round(observed_floor_fraction(mm.octree, env.pathfinder, start)[0], 4)))
        score_s[0] += time.process_time() - t

    r = explore(robot, strategy, path_budget_m=budget, progress=progress, desc=f"{style}-{seed} {strategy}",
                cost_weight=cost_weight, on_goal=on_goal)
    frac, area = observed_floor_fraction(mm.octree, env.pathfinder, start)
    curve.append((round(r.distance_m, 2), round(frac, 4)))
    reach = {f"path_to_{int(lv * 100)}": next((d for d, f in curve if f >= lv), None) for lv in LEVELS}
    return {"style": style, "seed": seed, "strategy": strategy, "coverage": frac, "area_m2": area, **reach,
            "curve": curve,
            "path_m": r.distance_m, "steps": r.steps, "collisions": r.collisions, "stop": r.stop_reason,
            "goals": r.goals, "failed_goals": r.failed_goals, "seconds": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0 - score_s[0], "cost_weight": cost_weight if strategy == "gain" else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--styles", nargs="+", default=list(sim.LAYOUT_STYLES))
    ap.add_argument("--seeds", nargs="+", type=int, default=list(range(10, 20)),
                    help="house seeds (default 10..19, never used in development; seeds 0..2 were)")
    ap.add_argument("--strategies", nargs="+", default=["gain", "nearest"])
    ap.add_argument("--width", type=int, default=120, help="camera width (height = 3/4)")
    ap.add_argument("--turn-deg", type=float, default=20.0)
    ap.add_argument("--cost-weight", type=float, default=0.5, help="gain strategy: utility = gain * exp(-w * path m)")
    ap.add_argument("--budget", type=float, default=150.0, help="path budget (m)")
    ap.add_argument("--out", type=Path, default=None, help="append one JSON line per run")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args()
    rows = []
    for seed in a.seeds:          # seeds outermost: a partial run still covers every style
        for style in a.styles:
            for strat in a.strategies:
                row = run_one(style, seed, strat, a.width, a.turn_deg, a.budget, not a.no_progress, a.cost_weight)
                rows.append(row)
                print(json.dumps(row), flush=True)
                if a.out:
                    with open(a.out, "a") as f:
                        f.write(json.dumps(row) + "\n")
    summarize(rows)


def summarize(rows: list) -> None:
    """Markdown tables: per strategy (mean and worst style), per style for both strategies, and the
    paired path comparison on the houses both strategies ran."""
    styles = [s for s in sim.LAYOUT_STYLES if any(r["style"] == s for r in rows)]
    print("| strategy | runs | coverage mean | coverage worst style | >= 0.95 | collisions | path m mean | "
          "worst-style path m |")
    print("|---|---|---|---|---|---|---|---|")
    for strat in sorted({r["strategy"] for r in rows}):
        rs = [r for r in rows if r["strategy"] == strat]
        by = {}
        for r in rs:
            by.setdefault(r["style"], []).append(r)
        worst = min(by, key=lambda s: np.mean([r["coverage"] for r in by[s]]))
        wpath = max(by, key=lambda s: np.mean([r["path_m"] for r in by[s]]))
        print(f"| {strat} | {len(rs)} | {np.mean([r['coverage'] for r in rs]):.3f} | "
              f"{np.mean([r['coverage'] for r in by[worst]]):.3f} ({worst}) | "
              f"{sum(r['coverage'] >= 0.95 for r in rs)}/{len(rs)} | {sum(r['collisions'] for r in rs)} | "
              f"{np.mean([r['path_m'] for r in rs]):.1f} | {np.mean([r['path_m'] for r in by[wpath]]):.1f} ({wpath}) |")
    key = {(r["style"], r["seed"], r["strategy"]): r for r in rows}
    print()
    print("| style | houses (both) | gain coverage mean / min | nearest coverage mean / min | gain collisions | "
          "nearest collisions | gain path m | nearest path m | gain / nearest path (mean of ratios) | gain shorter |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    allpairs = []
    for st in styles:
        pairs = [(key[(st, sd, "gain")], key[(st, sd, "nearest")]) for (s2, sd, strat) in key
                 if s2 == st and strat == "gain" and (st, sd, "nearest") in key]
        allpairs += pairs
        if pairs:
            print(_pair_row(st, pairs))
    if allpairs:
        print(_pair_row("**all**", allpairs))
        ratio = {st: np.mean([g["path_m"] / n["path_m"] for g, n in allpairs if g["style"] == st])
                 for st in styles if any(g["style"] == st for g, _ in allpairs)}
        w = max(ratio, key=ratio.get)
        print(f"\nworst style for gain vs nearest: {w} (path ratio {ratio[w]:.2f})")
        _same_coverage(styles, allpairs)


def _same_coverage(styles: list, allpairs: list) -> None:
    """Path each strategy needed to first observe 80 / 90 / 95 % of the reachable floor, on the houses
    both ran (rows written before the coverage curve existed are left out)."""
    pairs = [(g, n) for g, n in allpairs if "path_to_95" in g and "path_to_95" in n]
    if not pairs:
        return
    print("\n| style | houses | level | gain reached | nearest reached | gain path m | nearest path m "
          "| gain / nearest (mean of ratios, both reached) | gain shorter or only gain reached |")
    print("|---|---|---|---|---|---|---|---|---|")
    for st in [*styles, "**all**"]:
        ps = [(g, n) for g, n in pairs if st == "**all**" or g["style"] == st]
        for lv in LEVELS:
            k = f"path_to_{int(lv * 100)}"
            both = [(g[k], n[k]) for g, n in ps if g[k] is not None and n[k] is not None]
            better = sum(1 for g, n in ps if g[k] is not None and (n[k] is None or g[k] < n[k]))
            print(f"| {st} | {len(ps)} | {lv:.0%} | {sum(g[k] is not None for g, _ in ps)} | "
                  f"{sum(n[k] is not None for _, n in ps)} | {np.mean([a for a, _ in both]):.1f} | "
                  f"{np.mean([b for _, b in both]):.1f} | {np.mean([a / max(b, 1e-9) for a, b in both]):.2f} | "
                  f"{better}/{len(ps)} |")


def _pair_row(name: str, pairs: list) -> str:
    g = [p[0] for p in pairs]
    n = [p[1] for p in pairs]
    ratio = np.mean([a["path_m"] / b["path_m"] for a, b in pairs])
    return (f"| {name} | {len(pairs)} | {np.mean([r['coverage'] for r in g]):.3f} / {min(r['coverage'] for r in g):.3f} | "
            f"{np.mean([r['coverage'] for r in n]):.3f} / {min(r['coverage'] for r in n):.3f} | "
            f"{sum(r['collisions'] for r in g)} | {sum(r['collisions'] for r in n)} | "
            f"{np.mean([r['path_m'] for r in g]):.1f} | {np.mean([r['path_m'] for r in n]):.1f} | {ratio:.2f} | "
            f"{sum(a['path_m'] < b['path_m'] for a, b in pairs)}/{len(pairs)} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--summarize":
        summarize([json.loads(line) for p in sys.argv[2:] for line in open(p)])
    else:
        main()
