"""Long-term embodied question answering: memory-only, explore-always, a confidence threshold
(swept) and value of information (cost weight swept) on the same questions.

Per house seed: a generated house and a 2-day scenario (sessions: day-0 morning, evening, day-1
morning, evening). In session 0 every policy's robot tours the house (perception → its own
MemoryStack). In each later session the household has moved things; the robot is asked, from its
dock, "where is the X?" and "which room is the X in?" about objects present then (half of them moved
since the tour), and its agent decides whether to answer from memory or go and look (walking on the
simulator's navigation grid, rendering with the embedded simulator, every frame through perception
into its memory). Each policy keeps its own memory across sessions. Scored: the first answer.

    python benchmarks/eqa_eval.py --houses 0-9 --out out/eqa          # JSON + plot in out/eqa

Frames of the same pose in the same session are rendered once and shared by the policies (the
world is static within a session); perception runs on every frame for every policy."""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import robomem  # noqa: E402
import sim  # noqa: E402
from robomem.planning import (Agent, Budget, CostModel, ExploreAlwaysPolicy, MemoryOnlyPolicy,  # noqa: E402
                              MemoryRecall, ThresholdPolicy, VoIPolicy)
from sim.agent_env import SimAgentWorld  # noqa: E402
from sim.scenario import Scenario, ScenarioConfig  # noqa: E402

WHERE_TOL_M = 0.5


def policies(thresholds, cost_weights):
    out = [("memory-only", MemoryOnlyPolicy(), CostModel()), ("explore-always", ExploreAlwaysPolicy(), CostModel())]
    out += [(f"threshold-{t:g}", ThresholdPolicy(t), CostModel()) for t in thresholds]
    out += [(f"voi-{w:g}", VoIPolicy(), CostModel(cost_per_m=w)) for w in cost_weights]
    return out


def pick_questions(log, k: int, n: int, rng) -> list[dict]:
    """Up to ``n`` objects present at session ``k`` whose category is unique then, half of them moved
    since the day-0 tour; each asked as where_now or which_room (alternating)."""
    t = log.session(k).t_start
    t0 = log.session(0).t_end - 1
    present = log.objects_present(t)
    counts = defaultdict(int)
    for p in present:
        counts[p.category] += 1
    uniq = [p for p in present if counts[p.category] == 1]
    moved, still = [], []
    for p in uniq:
        before = log.location_at(p.object_id, t0)
        (moved if before is None or before.receptacle_id != p.receptacle_id else still).append(p)
    rng.shuffle(moved)
    rng.shuffle(still)
    chosen = moved[: (n + 1) // 2]
    chosen += still[: n - len(chosen)]
    chosen += moved[len(chosen) - len(still[: n - len(chosen)]):][: n - len(chosen)]
    qs = []
    for i, p in enumerate(chosen[:n]):
        kind = "where_now" if i % 2 == 0 else "which_room"
        name = p.category.replace("_", " ")
        text = f"where is the {name}?" if kind == "where_now" else f"which room is the {name} in?"
        qs.append({"text": text, "kind": kind, "label": p.category, "object_id": p.object_id,
                   "moved": p in moved, "truth_position": list(map(float, p.position)), "truth_room": p.room})
    return qs


def score(q, ep, world) -> bool:
    a = ep.answer
    if not isinstance(a, dict):
        return False
    if q["kind"] == "which_room":
        return a.get("room_id") is not None and a.get("room_id") == world.room_ids.get(q["truth_room"])
    pos = a.get("position")
    return pos is not None and math.dist(pos[:2], q["truth_position"][:2]) <= WHERE_TOL_M


def dock_of(world) -> tuple:
    rooms = world.rooms()
    for pref in ("entrance", "hallway", "living_room"):
        for r, info in rooms.items():
            if info.room_type == pref:
                return info.position
    return next(iter(rooms.values())).position


def run_house(seed: int, args, pols) -> list[dict]:
    t_house = time.perf_counter()
    scene = sim.generate_house(seed=seed)
    scenario = Scenario(scene, ScenarioConfig(days=args.days, seed=seed))
    env = sim.EmbeddedSim(scene, width=args.width, height=args.height)
    rng = np.random.default_rng(seed)
    tmp = tempfile.TemporaryDirectory()
    # The memory's own map (when this robomem has one) is only built when the agent plans on it.
    has_map = hasattr(robomem.stack.MemoryStack, "map_at")
    open_kw = {"map": None} if has_map and args.paths == "sim" else {}
    stacks = {name: robomem.open(Path(tmp.name) / f"{name}.db", **open_kw) for name, _, _ in pols}
    s0 = scenario.log.session(0)
    tour = list(scenario.session_frames(0, env, views_per_room=args.tour_views))
    for st in stacks.values():
        st.begin_session(s0.name, s0.t_start)
        for f in tour:
            st.observe(f)
        st.end_session(s0.t_end)
    records = []
    geometry: dict = {}
    n_sessions = min(args.sessions, len(scenario.log.sessions) - 1)
    for k in range(1, n_sessions + 1):
        s = scenario.goto_session(k)
        qs = pick_questions(scenario.log, k, args.questions, rng)
        cache: dict = {}
        for name, policy, costs in pols:
            st = stacks[name]
            st.begin_session(s.name, s.t_start)
            env.clock_ns = s.t_start + 60 * 10**9
            world = SimAgentWorld(scene, env, st, render_cache=cache, cache_tag=k, explore_views=args.explore_views,
                                  verify_views=args.verify_views, geometry_cache=geometry)
            rooms = world.rooms()
            if args.recall == "retrieval":
                from robomem.planning.answer_recall import AnswerRecall
                recall = AnswerRecall(st, rooms, lambda: env.clock_ns, room_of=world.room_of)
            else:
                recall = MemoryRecall(st, rooms, lambda: env.clock_ns, room_of=world.room_of)
            path_length, act = world.path_length, world.act
            if args.paths == "map":
                from robomem.planning.map_paths import MapPathLength
                path_length = MapPathLength(lambda st=st: st.map.octree)

                def act(action, world=world, path_length=path_length):
                    out = world.act(action)
                    path_length.refresh()          # the map grew on the way
                    return out
            agent = Agent(recall, path_length, act, policy=policy, costs=costs,
                          budget=Budget(max_steps=args.max_steps, max_path_m=args.max_path, max_time_s=1800.0))
            dock = dock_of(world)
            for q in qs:
                world.pose, world.target = dock, q["label"]
                ep = agent.run(q["text"], dock)
                ok = score(q, ep, world)
                records.append({"house": seed, "session": k, "policy": name, "question": q["text"],
                                "category": q["kind"], "moved": q["moved"], "correct": bool(ok),
                                "confidence": ep.confidence, "path_m": ep.path_m, "steps": ep.steps,
                                "wall_s": ep.wall_s, "stop_reason": ep.stop_reason,
                                "unreachable": ep.unreachable, "cannot_answer": ep.cannot_answer,
                                "trace": ep.trace if args.traces else None})
            st.end_session(env.clock_ns)
        print(f"  house {seed} session {k}: {len(qs)} questions", flush=True)
    for st in stacks.values():
        st.close()
    env.close()
    tmp.cleanup()
    print(f"house {seed}: {time.perf_counter() - t_house:.0f} s", flush=True)
    return records


def ece(conf, correct, bins=10) -> float:
    conf, correct = np.asarray(conf, float), np.asarray(correct, float)
    if conf.size == 0:
        return float("nan")
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    e = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            e += m.mean() * abs(conf[m].mean() - correct[m].mean())
    return float(e)


def summarise(records: list[dict]) -> dict:
    out = {}
    by = defaultdict(list)
    for r in records:
        by[r["policy"]].append(r)
    for name, rs in by.items():
        acc = float(np.mean([r["correct"] for r in rs]))
        cats = {}
        for c in sorted({r["category"] for r in rs}):
            sub = [r["correct"] for r in rs if r["category"] == c]
            cats[c] = {"n": len(sub), "accuracy": float(np.mean(sub))}
        mv = [r["correct"] for r in rs if r["moved"]]
        st = [r["correct"] for r in rs if not r["moved"]]
        houses = defaultdict(list)
        for r in rs:
            houses[r["house"]].append(r["correct"])
        out[name] = {"n": len(rs), "accuracy": acc, "per_category": cats,
                     "accuracy_moved": float(np.mean(mv)) if mv else None,
                     "accuracy_unmoved": float(np.mean(st)) if st else None,
                     "worst_house_accuracy": float(min(np.mean(v) for v in houses.values())),
                     "mean_path_m": float(np.mean([r["path_m"] for r in rs])),
                     "mean_steps": float(np.mean([r["steps"] for r in rs])),
                     "mean_wall_s": float(np.mean([r["wall_s"] for r in rs])),
                     "ece": ece([r["confidence"] for r in rs], [r["correct"] for r in rs])}
    return out


def plot(summary: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    groups = defaultdict(list)
    for name, s in summary.items():
        groups[name.split("-")[0] if name.startswith(("threshold", "voi")) else name].append((s["mean_path_m"], s["accuracy"], name))
    style = {"memory": ("s", "tab:gray"), "explore": ("^", "tab:red"), "threshold": ("o", "tab:blue"), "voi": ("D", "tab:green")}
    labels = {"memory-only": "memory-only", "explore-always": "explore-always",
              "threshold": "confidence threshold (sweep)", "voi": "value of information (cost-weight sweep)"}
    for g, pts in groups.items():
        pts.sort()
        m, c = style[g.split("-")[0]]
        ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], marker=m, color=c, label=labels.get(g, g),
                linestyle="-" if len(pts) > 1 else "none")
        for x, y, n in pts:
            if "-" in n and n.split("-")[0] in ("threshold", "voi"):
                off = (5, -12) if n.startswith("threshold") else (5, 6)
                ax.annotate(("τ=" if n.startswith("threshold") else "w=") + n.split("-", 1)[1], (x, 100 * y),
                            textcoords="offset points", xytext=off, fontsize=7, color=c)
    ax.set_xlabel("mean path per question (m)")
    ax.set_ylabel("accuracy (% of first answers right)")
    ax.set_title("Embodied QA over days: accuracy versus path, per policy")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reliability(records: list, path: Path, bins: int = 5) -> None:
    """Reliability diagram: stated confidence at the stop against the fraction right, per policy."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle=":", label="perfect calibration")
    by = defaultdict(list)
    for r in records:
        by[r["policy"]].append(r)
    for name, rs in sorted(by.items()):
        if not name.startswith(("voi", "threshold")):
            continue
        conf = np.array([r["confidence"] for r in rs])
        ok = np.array([r["correct"] for r in rs], float)
        idx = np.minimum((conf * bins).astype(int), bins - 1)
        xs, ys = [], []
        for b in range(bins):
            m = idx == b
            if m.sum() >= 3:
                xs.append(conf[m].mean())
                ys.append(ok[m].mean())
        ax.plot(xs, ys, marker="o", label=f"{name} (ECE {ece(conf, ok):.3f}, n={len(rs)})")
    ax.set_xlabel("confidence when the agent stopped")
    ax.set_ylabel("fraction of answers right")
    ax.set_title("Calibration of the stop (bins with >= 3 answers)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_range(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += list(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--houses", default="0-9")
    ap.add_argument("--policies", default=None, help="comma-separated subset of policy names to run")
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--sessions", type=int, default=3, help="question sessions after the day-0 tour")
    ap.add_argument("--questions", type=int, default=6, help="questions per session")
    ap.add_argument("--thresholds", default="0.5,0.7,0.9")
    ap.add_argument("--cost-weights", default="0.003,0.01,0.03")
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    ap.add_argument("--tour-views", type=int, default=6)
    ap.add_argument("--explore-views", type=int, default=6)
    ap.add_argument("--verify-views", type=int, default=3)
    ap.add_argument("--max-steps", type=int, default=12)
    ap.add_argument("--max-path", type=float, default=250.0)
    ap.add_argument("--recall", choices=("memory", "retrieval"), default="memory",
                    help="beliefs from MemoryStack.where_is + hand-set hazards, or from retrieval's answers")
    ap.add_argument("--paths", choices=("sim", "map"), default="sim",
                    help="path lengths on the simulator's navigation grid or on the robot's own map")
    ap.add_argument("--traces", action="store_true", help="keep every decision trace in the JSON")
    ap.add_argument("--out", type=Path, default=Path("out/eqa"))
    ap.add_argument("--merge", type=Path, nargs="+", help="combine these eqa_results.json files into --out instead of running")
    args = ap.parse_args(argv)
    if args.merge:
        records, wall = [], 0.0
        for f in args.merge:
            d = json.loads(Path(f).read_text())
            records += d["records"]
            wall += d["wall_s"]
        args.out.mkdir(parents=True, exist_ok=True)
        summary = summarise(records)
        (args.out / "eqa_results.json").write_text(json.dumps({"merged": [str(f) for f in args.merge], "wall_s": wall,
                                                               "summary": summary, "records": records}, indent=1))
        plot(summary, args.out / "eqa_accuracy_vs_path.png")
        plot_reliability(records, args.out / "eqa_reliability.png")
        report(summary, records)
        return 0
    pols = policies([float(x) for x in args.thresholds.split(",") if x],
                    [float(x) for x in args.cost_weights.split(",") if x])
    if args.policies:
        keep = set(args.policies.split(","))
        pols = [p for p in pols if p[0] in keep]
    args.out.mkdir(parents=True, exist_ok=True)
    records = []
    t0 = time.perf_counter()
    for seed in parse_range(args.houses):
        records += run_house(seed, args, pols)
        summary = summarise(records)
        (args.out / "eqa_results.json").write_text(json.dumps(
            {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
             "wall_s": time.perf_counter() - t0, "summary": summary, "records": records}, indent=1))
        plot(summary, args.out / "eqa_accuracy_vs_path.png")
        plot_reliability(records, args.out / "eqa_reliability.png")
    report(summarise(records), records)
    return 0


def markdown(summary: dict) -> str:
    """The summary as a docs/benchmarks.md table."""
    cats = sorted({c for s in summary.values() for c in s["per_category"]})
    head = ["policy", "n", "accuracy", *cats, "moved", "unmoved", "worst house", "path m", "steps", "wall s", "ECE"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"   # noqa: E731
    for name, s in summary.items():
        rows.append("| " + " | ".join([name, str(s["n"]), pct(s["accuracy"]),
                                        *[pct(s["per_category"].get(c, {}).get("accuracy")) for c in cats],
                                        pct(s["accuracy_moved"]), pct(s["accuracy_unmoved"]),
                                        pct(s["worst_house_accuracy"]), f"{s['mean_path_m']:.1f}",
                                        f"{s['mean_steps']:.2f}", f"{s['mean_wall_s']:.2f}", f"{s['ece']:.3f}"]) + " |")
    return "\n".join(rows)


def report(summary: dict, records: list) -> None:
    houses = sorted({r["house"] for r in records})
    sessions = sorted({(r["house"], r["session"]) for r in records})
    print(f"{len(houses)} houses {houses}, {len(sessions)} house-sessions, {len(records)} episodes")
    print(markdown(summary))
    for name, s in summary.items():
        cats = " ".join(f"{c}={100 * v['accuracy']:.1f}%(n={v['n']})" for c, v in s["per_category"].items())
        print(f"{name:16s} n={s['n']:4d} acc={100 * s['accuracy']:5.1f}% moved={100 * (s['accuracy_moved'] or 0):5.1f}% "
              f"worst-house={100 * s['worst_house_accuracy']:5.1f}% path={s['mean_path_m']:6.1f} m "
              f"steps={s['mean_steps']:4.1f} wall={s['mean_wall_s']:5.2f} s ECE={s['ece']:.3f} {cats}")


if __name__ == "__main__":
    raise SystemExit(main())
