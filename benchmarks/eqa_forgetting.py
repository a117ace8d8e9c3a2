"""Memory size against accuracy over a 7-day run, with the forgetting policy off, at its default and
aggressive (issue 13): does forgetting cost accuracy on the questions about the last 2 days?

Per house (one per style of ``sim.house_styles.LAYOUT_STYLES``, seeded): a 7-day scenario with two
sessions a day; in every session the robot tours the house (``Scenario.session_frames``, rendered by
the embedded simulator, 160x120) and every frame goes through perception into one MemoryStack per
forgetting setting (the same frames for all). After each session: the store's size (placements,
keyframes, file bytes after a checkpoint). At the end of each session of the last two days the
generator's questions (every category of ``sim.questions``) are asked with ``stack.ask`` and the
first answer is scored as in ``benchmarks/retrieval_scenarios.py`` (real perception). "About the
last 2 days": every time the question refers to (the asked-about time, a reference time, both ends
of a change interval) lies in the last two days.

Settings (``ForgettingPolicy`` of robomem.memory, applied at every ``end_session``):
- ``off``: ``min_retention=0`` (nothing decays away), keyframe budget 1 GiB;
- ``default``: robomem's defaults (placements half-life 7 days, keyframes 2 days, min retention
  0.01, keyframe budget 20 MiB);
- ``aggressive``: half-lives 1 day (placements) and 12 h (keyframes), min retention 0.05, at most
  300 placement rows.

    python benchmarks/eqa_forgetting.py --seeds 0-4 --out out/forgetting.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import robomem  # noqa: E402
import sim  # noqa: E402
from benchmarks.eqa_eval import add_rooms, fill_rooms_from_plan, parse_range  # noqa: E402
from benchmarks.retrieval_scenarios import answerable, score  # noqa: E402
from robomem.memory import ForgettingPolicy  # noqa: E402
from sim.house_styles import LAYOUT_STYLES  # noqa: E402
from sim.questions import QuestionGenerator  # noqa: E402
from sim.scenario import DAY_NS, Scenario, ScenarioConfig  # noqa: E402

SETTINGS = {
    "off": ({"forgetting": ForgettingPolicy(min_retention=0.0), "keyframe_budget_bytes": 2**30}),
    "default": {},
    "aggressive": {"forgetting": ForgettingPolicy(placement_half_life_ns=86400e9, keyframe_half_life_ns=43200e9,
                                                  min_retention=0.05, max_placements=300)},
}


def referenced_times(q) -> list[int]:
    st = q.structured
    out = [st[k] for k in ("time_ns", "t1_ns", "t2_ns") if st.get(k) is not None]
    ref = (st.get("targets") or {}).get("ref_time_ns")
    if ref is not None:
        out.append(ref)
    ans = st.get("answer") or {}
    if q.category == "last_seen" and isinstance(ans, dict) and ans.get("stamp_ns") is not None:
        out.append(ans["stamp_ns"])
    return [int(t) for t in out]


def store_size(stack) -> dict:
    stack.flush()
    st = stack.long_term.stats()
    return {k: int(st[k]) for k in ("objects", "placements", "events", "keyframes", "keyframe_bytes", "file_bytes")}


def run_house(seed: int, style: str, args, settings) -> dict:
    t0 = time.perf_counter()
    scene = sim.generate_house(seed=seed, style=style)
    scenario = Scenario(scene, ScenarioConfig(days=args.days, seed=seed))
    log = scenario.log
    env = sim.EmbeddedSim(scene, width=args.width, height=args.height)
    room_ids = {rid: i + 1 for i, rid in enumerate(sorted(scene.rooms))}
    n = len(log.sessions)
    last_days_start = (log.session(n - 1).day - 1)
    ask_at = [k for k in range(n) if log.session(k).day >= last_days_start]
    t_cut = min(log.session(k).t_start for k in ask_at) - (log.session(ask_at[0]).t_start % DAY_NS)
    gen = QuestionGenerator(log, seed=seed)
    by_session = defaultdict(list)
    for q in gen.generate(per_category=args.per_category, sessions=ask_at):
        by_session[q.session].append(q)
    tmp = tempfile.TemporaryDirectory()
    stacks = {name: robomem.open(Path(tmp.name) / f"{name}.db", map=None, **settings[name]) for name in settings}
    sizes = {name: [] for name in settings}
    results = []
    for k in range(n):
        s = log.session(k)
        frames = list(scenario.session_frames(k, env, views_per_room=args.views))
        for name, st in stacks.items():
            st.begin_session(s.name, s.t_start)
            for f in frames:
                rid = scene.room_at(np.asarray(f.T_world_camera[:2, 3], dtype=float))
                st.observe(f, room_id=room_ids.get(rid) if rid is not None else None)
            add_rooms(st, scene, room_ids)
            st.end_session(s.t_end)
            # map=None: no room segmentation, so objects get the floor plan's rooms (else every
            # "which room" answer is "don't know (no room map)")
            fill_rooms_from_plan(st, scene, room_ids)
            sizes[name].append({"session": k, "day": s.day, **store_size(st)})
            for q in by_session.get(k, []):
                a = st.ask(q.question, now_ns=q.asked_at_ns)
                ok, why = score(q, a, st, log, "real")
                results.append({"seed": seed, "style": style, "setting": name, "session": k, "category": q.category,
                                "question": q.question, "right": bool(ok), "why": why,
                                "answerable": bool(answerable(q, log)),
                                "last_2_days": all(t >= t_cut for t in referenced_times(q))})
        print(f"  house {seed} ({style}) session {k}/{n - 1}: {len(frames)} frames, "
              + ", ".join(f"{nm} {sizes[nm][-1]['placements']} placements" for nm in stacks), flush=True)
    for st in stacks.values():
        st.close()
    env.close()
    tmp.cleanup()
    return {"seed": seed, "style": style, "sizes": sizes, "results": results, "wall_s": time.perf_counter() - t0}


def summarise(houses: list[dict], settings) -> dict:
    out = {}
    for name in settings:
        rs = [r for h in houses for r in h["results"] if r["setting"] == name]
        last = [r for r in rs if r["last_2_days"]]
        final = [h["sizes"][name][-1] for h in houses]
        out[name] = {"n": len(rs), "accuracy": float(np.mean([r["right"] for r in rs])) if rs else None,
                     "n_last_2_days": len(last),
                     "accuracy_last_2_days": float(np.mean([r["right"] for r in last])) if last else None,
                     "per_category_last_2_days": {c: float(np.mean([r["right"] for r in last if r["category"] == c]))
                                                  for c in sorted({r["category"] for r in last})},
                     "final_placements": int(sum(f["placements"] for f in final)),
                     "final_keyframes": int(sum(f["keyframes"] for f in final)),
                     "final_keyframe_bytes": int(sum(f["keyframe_bytes"] for f in final)),
                     "final_file_bytes": int(sum(f["file_bytes"] for f in final))}
    return out


def plot(houses: list[dict], summary: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in summary:
        n = min(len(h["sizes"][name]) for h in houses)
        pl = [sum(h["sizes"][name][k]["placements"] for h in houses) for k in range(n)]
        mb = [sum(h["sizes"][name][k]["file_bytes"] for h in houses) / 2**20 for k in range(n)]
        axes[0].plot(range(n), pl, marker="o", markersize=3, label=name)
        axes[1].plot(range(n), mb, marker="o", markersize=3,
                     label=f"{name}: last-2-days accuracy {100 * (summary[name]['accuracy_last_2_days'] or 0):.1f}%")
    axes[0].set_ylabel("placement rows (all houses)")
    axes[1].set_ylabel("store file size, MiB (all houses)")
    for ax in axes:
        ax.set_xlabel("session (two a day)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Memory size over a {len(houses) and (max(h['sizes'][next(iter(summary))][-1]['day'] for h in houses) + 1)}-day run "
                 "with forgetting off / default / aggressive")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0-4", help="house seeds; house i gets style i mod 5")
    ap.add_argument("--styles", default=None, help="comma-separated styles (default: cycle every style)")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--views", type=int, default=6, help="tour views per room")
    ap.add_argument("--per-category", type=int, default=2)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    ap.add_argument("--settings", default="off,default,aggressive")
    ap.add_argument("--out", type=Path, default=Path("out/forgetting.json"))
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--merge", type=Path, nargs="+", help="combine these result files instead of running")
    args = ap.parse_args(argv)
    settings = {k: SETTINGS[k] for k in args.settings.split(",")}
    seeds = parse_range(args.seeds)
    styles = args.styles.split(",") if args.styles else [LAYOUT_STYLES[i % len(LAYOUT_STYLES)] for i in range(len(seeds))]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    houses = []
    if args.merge:
        for f in args.merge:
            houses += json.loads(Path(f).read_text())["houses"]
    else:
        for seed, style in zip(seeds, styles):
            houses.append(run_house(seed, style, args, settings))
            summary = summarise(houses, settings)
            args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "summary": summary,
                                            "houses": houses}, indent=1))
    summary = summarise(houses, settings)
    args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "summary": summary,
                                    "houses": houses}, indent=1))
    if args.plot:
        plot(houses, summary, args.plot)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
