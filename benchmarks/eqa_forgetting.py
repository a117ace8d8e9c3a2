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

Partial results: every house is written to ``<out stem>.d/house_<seed>_<style>.json`` when it
finishes (and each session's sizes and answers are appended to ``house_<seed>_<style>.jsonl`` as
it goes); a rerun with the same options skips the houses already written (``--no-resume`` to
redo them), and ``--merge`` combines result files (whole runs or single houses).
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
from robomem.perception import PerceptionPipeline  # noqa: E402
from sim.house_styles import LAYOUT_STYLES  # noqa: E402
from sim.questions import QuestionGenerator  # noqa: E402
from sim.scenario import DAY_NS, Scenario, ScenarioConfig  # noqa: E402

SETTINGS = {
    "off": ({"forgetting": ForgettingPolicy(min_retention=0.0), "keyframe_budget_bytes": 2**30}),
    "default": {},
    "aggressive": {"forgetting": ForgettingPolicy(placement_half_life_ns=86400e9, keyframe_half_life_ns=43200e9,
                                                  min_retention=0.05, max_placements=300)},
}


class SharedPerception:
    """One perception pipeline for several stacks fed the same frames in the same order (the
    stacks differ only in their store's forgetting; perception never reads the store): ``process``
    runs the pipeline once per frame and hands the same ``FrameResult`` to the other stacks, and
    ``new_session`` and ``end_session`` reach the pipeline once per session (the first stack's
    call after frames went through; ``end_session``'s result goes to every stack). With one pipeline per stack every pipeline would get the same calls and end in
    the same state; ``--per-stack-perception`` runs it that way to check."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self._last = None          # (frame, result) of the last processed frame
        self._fresh = True         # no frame since the last forwarded new_session
        self._started = False      # new_session forwarded at least once
        self._ended = None         # (last frame, result) of the last forwarded end_session

    def process(self, frame):
        if self._last is not None and self._last[0] is frame:
            return self._last[1]
        result = self.pipeline.process(frame)
        self._last = (frame, result)
        self._fresh = False
        return result

    def new_session(self) -> None:
        if not self._fresh or not self._started:
            self._started = True
            self._fresh = True
            self.pipeline.new_session()

    def end_session(self):
        """Perception's end-of-session decisions, made once per session (the first stack's call)
        and handed to every stack: the pipeline's ``end_session`` changes the tracker, so a second
        call would return nothing and only the first stack would record the session-end events."""
        key = self._last[0] if self._last is not None else None
        if self._ended is not None and self._ended[0] is key:
            return self._ended[1]
        result = self.pipeline.end_session()
        self._ended = (key, result)
        return result

    def __getattr__(self, name):  # tracker, scene_graph, structure_version, ...
        return getattr(self.pipeline, name)


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


def run_house(seed: int, style: str, args, settings, on_session=None) -> dict:
    """One house: the 7-day scenario into one stack per setting; ``on_session(record)`` is called
    after every session with that session's sizes and answers (for partial results)."""
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
    shared = SharedPerception(PerceptionPipeline()) if args.shared_perception else None
    stacks = {name: robomem.open(Path(tmp.name) / f"{name}.db", map=None, **settings[name],
                                 **({"perception": shared} if shared is not None else {})) for name in settings}
    sizes = {name: [] for name in settings}
    results = []
    for k in range(n):
        s = log.session(k)
        frames = list(scenario.session_frames(k, env, views_per_room=args.views))
        n_before = len(results)
        for st in stacks.values():
            st.begin_session(s.name, s.t_start)
        for f in frames:  # frame by frame, every stack: a shared perception is then at this frame for each
            rid = scene.room_at(np.asarray(f.T_world_camera[:2, 3], dtype=float))
            for st in stacks.values():
                st.observe(f, room_id=room_ids.get(rid) if rid is not None else None)
        for name, st in stacks.items():
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
              + ", ".join(f"{nm} {sizes[nm][-1]['placements']} placements" for nm in stacks)
              + f" ({time.perf_counter() - t0:.0f} s)", flush=True)
        if on_session is not None:
            on_session({"seed": seed, "style": style, "session": k, "frames": len(frames),
                        "sizes": {nm: sizes[nm][-1] for nm in stacks}, "results": results[n_before:]})
    for st in stacks.values():
        st.close()
    env.close()
    tmp.cleanup()
    return {"seed": seed, "style": style, "sizes": sizes, "results": results, "wall_s": time.perf_counter() - t0,
            "n_questions": sum(len(v) for v in by_session.values())}


def _acc(rs: list[dict]):
    return float(np.mean([r["right"] for r in rs])) if rs else None


def _paired(houses: list[dict], name: str, base: str, last_only: bool) -> dict:
    """``name`` against ``base`` on the same questions (same houses, sessions, order): accuracy
    difference in points, how many answers it lost / gained, and the paired standard error."""
    d = []
    for h in houses:
        a = [r for r in h["results"] if r["setting"] == name]
        b = [r for r in h["results"] if r["setting"] == base]
        for ra, rb in zip(a, b):
            assert ra["question"] == rb["question"] and ra["session"] == rb["session"]
            if last_only and not ra["last_2_days"]:
                continue
            d.append(int(ra["right"]) - int(rb["right"]))
    if not d:
        return {"n": 0, "delta_points": None, "lost": 0, "gained": 0, "se_points": None}
    d = np.asarray(d, float)
    se = float(100 * d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else None
    return {"n": int(len(d)), "delta_points": float(100 * d.mean()), "lost": int((d < 0).sum()),
            "gained": int((d > 0).sum()), "se_points": se}


def _sizes(houses: list[dict], name: str) -> dict:
    final = [h["sizes"][name][-1] for h in houses]
    return {f"final_{k}": int(sum(f[k] for f in final))
            for k in ("placements", "keyframes", "keyframe_bytes", "file_bytes")}


def summarise(houses: list[dict], settings) -> dict:
    """Per setting: accuracy (all questions / about the last 2 days), final store sizes (summed over
    houses), the same per house style with the worst style, and the difference to ``off`` on the
    same questions (``vs_off``: points, answers lost / gained, paired standard error; overall and
    per style; ``max_cost_points``: the largest loss, overall or in any one style)."""
    out = {}
    styles = sorted({h["style"] for h in houses})
    for name in settings:
        rs = [r for h in houses for r in h["results"] if r["setting"] == name]
        last = [r for r in rs if r["last_2_days"]]
        per_style = {}
        for sty in styles:
            hs = [h for h in houses if h["style"] == sty]
            srs = [r for h in hs for r in h["results"] if r["setting"] == name]
            per_style[sty] = {"n": len(srs), "accuracy": _acc(srs),
                              "n_last_2_days": sum(r["last_2_days"] for r in srs),
                              "accuracy_last_2_days": _acc([r for r in srs if r["last_2_days"]]), **_sizes(hs, name)}
        scored = [s for s in styles if per_style[s]["accuracy_last_2_days"] is not None]
        worst = min(scored, key=lambda s: per_style[s]["accuracy_last_2_days"]) if scored else None
        out[name] = {"n": len(rs), "accuracy": _acc(rs),
                     "n_last_2_days": len(last), "accuracy_last_2_days": _acc(last),
                     "per_category_last_2_days": {c: _acc([r for r in last if r["category"] == c])
                                                  for c in sorted({r["category"] for r in last})},
                     **_sizes(houses, name), "per_style": per_style,
                     "worst_style_last_2_days": worst}
        if "off" in settings and name != "off":
            vs = {"last_2_days": _paired(houses, name, "off", True), "all": _paired(houses, name, "off", False),
                  "per_style_last_2_days": {sty: _paired([h for h in houses if h["style"] == sty], name, "off", True)
                                            for sty in styles}}
            costs = [-v["delta_points"] for v in [vs["last_2_days"], *vs["per_style_last_2_days"].values()]
                     if v["delta_points"] is not None]
            vs["max_cost_points_last_2_days"] = max(costs) if costs else None
            vs["criterion_met_overall"] = (vs["last_2_days"]["delta_points"] is not None
                                           and vs["last_2_days"]["delta_points"] >= -1.0)
            out[name]["vs_off"] = vs
    return out


def plot(houses: list[dict], summary: dict, path: Path) -> None:
    """Four panels: placement rows and store file size per session (summed over the houses),
    accuracy against the final store size per setting, and last-2-days accuracy per house style."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from collections import Counter
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    axes = axes.ravel()
    colours = dict(zip(summary, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    lines = {"off": "-", "default": ":", "aggressive": "--"}
    sizes = {"off": 110, "default": 35}  # default lies on off when it forgets nothing: draw it smaller, on top
    for name in summary:
        n = min(len(h["sizes"][name]) for h in houses)
        pl = [sum(h["sizes"][name][k]["placements"] for h in houses) for k in range(n)]
        mb = [sum(h["sizes"][name][k]["file_bytes"] for h in houses) / 2**20 for k in range(n)]
        kw = dict(marker="o", markersize=3, color=colours[name], linestyle=lines.get(name, "-"))
        axes[0].plot(range(n), pl, label=name, **kw)
        axes[1].plot(range(n), mb, label=name, **kw)
        sm = summary[name]
        x = sm["final_file_bytes"] / 2**20
        axes[2].scatter([x], [100 * (sm["accuracy_last_2_days"] or 0)], color=colours[name], marker="o",
                        s=sizes.get(name, 60), label=f"{name}: last 2 days (n={sm['n_last_2_days']})", zorder=3)
        axes[2].scatter([x], [100 * (sm["accuracy"] or 0)], facecolors="none", edgecolors=colours[name], marker="s",
                        s=sizes.get(name, 60), label=f"{name}: all questions (n={sm['n']})", zorder=3)
    axes[0].set_ylabel("placement rows (sum over houses)")
    axes[1].set_ylabel("store file size, MiB (sum over houses)")
    for ax in axes[:2]:
        ax.set_xlabel("session (two a day)")
    axes[0].set_title("placement rows after each session")
    axes[1].set_title("store file size after each session")
    axes[2].set_title("accuracy against final store size")
    axes[2].set_xlabel("final store file size, MiB (sum over houses)")
    axes[2].set_ylabel("accuracy, % (first answer)")
    styles = sorted(next(iter(summary.values()))["per_style"])  # house styles
    w = 0.8 / max(1, len(summary))
    for i, name in enumerate(summary):
        ps = summary[name]["per_style"]
        axes[3].bar(np.arange(len(styles)) + (i - (len(summary) - 1) / 2) * w,
                    [100 * (ps[s]["accuracy_last_2_days"] or 0) for s in styles], w, color=colours[name], label=name)
    first = next(iter(summary.values()))["per_style"]
    axes[3].set_xticks(np.arange(len(styles)), [f"{s}\n(n={first[s]['n_last_2_days']})" for s in styles])
    lo = min(100 * (v["per_style"][s]["accuracy_last_2_days"] or 0) for v in summary.values() for s in styles)
    axes[3].set_ylim(max(0, lo - 10), 100)
    axes[3].set_title("accuracy on questions about the last 2 days, per house style")
    axes[3].set_xlabel("house style (questions per setting)")
    axes[3].set_ylabel("accuracy, % (first answer)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    days = max(h["sizes"][next(iter(summary))][-1]["day"] for h in houses) + 1
    per_style = Counter(h["style"] for h in houses)
    fig.suptitle(f"Memory size and accuracy over a {days}-day run, forgetting off / default / aggressive\n"
                 f"{len(houses)} houses (" + ", ".join(f"{s} ×{c}" for s, c in sorted(per_style.items())) + ")")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


RESUME_KEYS = ("days", "views", "per_category", "width", "height", "settings")


def _load_houses(path: Path) -> list[dict]:
    """The houses in a result file: a whole run (``houses``) or one house."""
    d = json.loads(Path(path).read_text())
    return d["houses"] if "houses" in d else [d["house"]]


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    tmp.replace(path)


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
    ap.add_argument("--per-stack-perception", dest="shared_perception", action="store_false",
                    help="one perception pipeline per stack (default: one shared, see SharedPerception)")
    ap.add_argument("--out", type=Path, default=Path("out/forgetting.json"))
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--no-resume", action="store_true", help="redo houses already written in <out stem>.d/")
    ap.add_argument("--merge", type=Path, nargs="+", help="combine these result files instead of running")
    args = ap.parse_args(argv)
    settings = {k: SETTINGS[k] for k in args.settings.split(",")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    key = {k: getattr(args, k) for k in RESUME_KEYS}
    houses = []

    def write() -> dict:
        summary = summarise(houses, settings)
        _write_json(args.out, {"args": {k: str(v) for k, v in vars(args).items()}, "summary": summary,
                               "houses": houses})
        return summary

    if args.merge:
        by_house = {}
        for f in args.merge:
            for h in _load_houses(f):
                by_house[(h["seed"], h["style"])] = h  # a later file replaces an earlier one's house
        houses = list(by_house.values())
        options = {json.dumps(h.get("options"), sort_keys=True) for h in houses}
        if len(options) > 1:
            raise SystemExit(f"refusing to merge houses run with different options: {sorted(options)}")
    else:
        seeds = parse_range(args.seeds)
        styles = (args.styles.split(",") if args.styles
                  else [LAYOUT_STYLES[i % len(LAYOUT_STYLES)] for i in range(len(seeds))])
        part_dir = args.out.with_suffix(".d")
        part_dir.mkdir(parents=True, exist_ok=True)
        for seed, style in zip(seeds, styles):
            part = part_dir / f"house_{seed}_{style}.json"
            if part.exists() and not args.no_resume:
                d = json.loads(part.read_text())
                if d.get("key") == key and d["house"].get("options") == key:
                    print(f"house {seed} ({style}): resumed from {part}", flush=True)
                    houses.append(d["house"])
                    write()
                    continue
            progress = part.with_suffix(".jsonl")
            progress.write_text("")

            def on_session(rec, progress=progress):
                with progress.open("a") as fh:
                    fh.write(json.dumps(rec) + "\n")

            h = run_house(seed, style, args, settings, on_session=on_session)
            h["options"] = key
            _write_json(part, {"key": key, "house": h})
            print(f"house {seed} ({style}) done in {h['wall_s']:.0f} s -> {part}", flush=True)
            houses.append(h)
            write()
    summary = write()
    if args.plot:
        plot(houses, summary, args.plot)
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk not in ("per_style", "per_category_last_2_days")}
                      for k, v in summary.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
