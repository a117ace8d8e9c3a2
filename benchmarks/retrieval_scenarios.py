"""Retrieval on generated multi-day scenarios: the generator's questions answered by ``stack.ask``
(the FIRST answer is scored), and the calibration of the "still there" belief.

Per seed: a house (styles cycle through ``sim.house_styles.LAYOUT_STYLES``, ``real`` included), a
multi-day scenario, the built-in observation tour rendered with ``EmbeddedSim`` at ``--size``
(sightings = objects with >= ``--min-pixels`` pixels in the instance image: 10 for ``gt``, 20 =
the segmenter's minimum for ``real``). Two perceptions:

* ``gt``: ground-truth perception — every sighting becomes an observation at the logged position,
  labelled with the true category, with its receptacle (the fixture id) and room; furniture is
  observed when seen; a *disappeared* event is stored at the end of a session for an object whose
  last stored fixture was seen in that session while the object was not (and truly is not there).
* ``real``: the robomem perception pipeline (``stack.observe``) on the rendered frames, with an
  octree so that rooms exist. Object ids then differ from the log's: answers are scored by
  receptacle/fixture *category and room*, counts by number, changes by count (furniture the
  pipeline reports, e.g. a TV on the TV stand, is not counted against the small-object truth).

Questions (``sim.questions.QuestionGenerator``) are asked at the end of every session from the
third on; each session's questions are answered right after that session was ingested, with
``now_ns`` = the question's ``asked_at_ns`` (the store clock). A question about an object never
sighted before it was asked must be answered "don't know".

Calibration: at the start of every session after the first (before it is ingested), for every
object the store has seen, P(still where last seen) from the belief model vs. the truth (the logged
position at that moment within 0.3 m of the stored one). Expected calibration error over 10 equal-
width bins; a reliability plot is written with ``--plot``.

Usage: OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/retrieval_scenarios.py [--seeds 0-9]
       [--days 5] [--perception gt|real] [--size 320x240] [--per-category 6]
       [--plot docs/img/reliability.png] [--jsonl results.jsonl] [--cache DIR]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import robomem  # noqa: E402
import sim  # noqa: E402
from robomem.observations import EventKind, ObjectEvent, ObjectObservation  # noqa: E402
from robomem.scenegraph import SceneGraph  # noqa: E402
from sim.house_styles import LAYOUT_STYLES  # noqa: E402
from sim.questions import QuestionGenerator  # noqa: E402
from sim.scenario import Scenario, ScenarioConfig  # noqa: E402

NS = 10**9


def render_tour(seed: int, days: int, width: int = 160, height: int = 120, views_per_room: int = 8, keep_frames=False,
                min_pixels: int = 10):
    """Scenario + the rendered tour. Returns (scenario, per-session list of (stamp, pose, seen ids[, frame])).
    A sighting is an instance with at least ``min_pixels`` pixels in a frame."""
    style = LAYOUT_STYLES[seed % len(LAYOUT_STYLES)]
    scene = sim.generate_house(seed=seed, style=style)
    scenario = Scenario(scene, ScenarioConfig(days=days, seed=seed))
    env = sim.EmbeddedSim(scene, width=width, height=height)
    tours = []
    for k in range(len(scenario.log.sessions)):
        rows = []
        for frame in scenario.session_frames(k, env, views_per_room=views_per_room, min_pixels=min_pixels):
            seen = scenario.log.record_frame(frame, min_pixels)
            rows.append((frame.stamp_ns, frame.T_world_camera.copy(), seen, frame if keep_frames else None))
        tours.append(rows)
    return scenario, style, tours


def room_ids(log) -> dict:
    return {name: i + 1 for i, name in enumerate(sorted(log.rooms))}


def room_graph(log) -> SceneGraph:
    g = SceneGraph()
    for name, i in room_ids(log).items():
        g.add_node("room", i, room_type=log.rooms[name].room_type, name=name)
    return g


def ingest_gt_session(stack, scenario, k: int, rows) -> None:
    log = scenario.log
    rid = room_ids(log)
    s = log.session(k)
    stack.begin_session(s.name, s.t_start)
    seen_ids: set = set()
    for stamp, T, seen, _ in rows:
        obs = []
        for v in seen:
            if v in log.fixtures:
                f = log.fixtures[v]
                p = np.asarray(f.position, float)
                obs.append(ObjectObservation(v, f.category, stamp, p, np.asarray(f.bbox_min), np.asarray(f.bbox_max),
                                             1.0, rid[f.room], None))
            else:
                pl = log.location_at(v, stamp)
                p = np.asarray(pl.position, float)
                obs.append(ObjectObservation(v, pl.category, stamp, p, p - 0.05, p + 0.05, 1.0, rid[pl.room], pl.fixture_id))
            seen_ids.add(v)
        stack.record(stamp, obs, robot_position=T[:3, 3], robot_yaw=float(np.arctan2(T[1, 2], T[0, 2])))
    # misses: the object's stored fixture was seen this session, the object was not and is not there
    t_miss = (rows[-1][0] if rows else s.t_start) + 1
    events = []
    for oid in list(log.categories):
        if oid in seen_ids:
            continue
        a = stack.where_is_object(oid)
        if a is None or not a.current or a.receptacle_id not in seen_ids:
            continue
        truth = log.location_at(oid, t_miss)
        if truth is None or np.linalg.norm(np.asarray(truth.position) - a.position) > 0.3:
            events.append(ObjectEvent(EventKind.DISAPPEARED, oid, a.label, t_miss, a.position))
    if events:
        stack.record(t_miss, [], events)
    stack.end_session(s.t_end, scene_graph=room_graph(log))


def observed(log, oid: int, t: int, asked: int) -> bool:
    """Could a perfect observer of the tour know where ``oid`` was at ``t``? Its placement at ``t``
    was sighted (before the question), or it was out of the house and its last place was seen
    empty after it left."""
    pl = next((p for p in log.placements.get(oid, []) if p.t_start <= t and (p.t_end is None or t < p.t_end)), None)
    ses = log.session_at(t)
    horizon = min(asked, ses.t_end if ses is not None else t)   # seen there by the end of t's session:
    stamps = [x for x in log.sightings.get(oid, []) if x <= horizon]   # a later sighting can't date a move
    if pl is not None:
        return any(pl.t_start <= x and (pl.t_end is None or x < pl.t_end) for x in stamps)
    before = [p for p in log.placements.get(oid, []) if p.t_end is not None and p.t_end <= t]
    if not before:
        return True      # not yet in the house: nothing to know
    last = before[-1]
    return any(last.t_end <= x <= asked for x in log.sightings.get(last.fixture_id, []))


def believed(log, oid: int, t: int, asked: int):
    """The placement a perfect observer would believe ``oid`` at at ``t`` (its latest sighting up
    to the end of ``t``'s session), or None."""
    ses = log.session_at(t)
    horizon = min(asked, ses.t_end if ses is not None else t)
    stamps = [x for x in log.sightings.get(oid, []) if x <= horizon]
    if not stamps:
        return None
    s = stamps[-1]
    return next((p for p in log.placements.get(oid, []) if p.t_start <= s and (p.t_end is None or s < p.t_end)), None)


def answerable(q, log) -> bool:
    """All objects the true answer depends on were observed at the times that matter."""
    st, cat, asked = q.structured, q.category, q.asked_at_ns
    ans, tgt = st["answer"], st.get("targets", {})
    if tgt.get("object_id") is not None and tgt.get("ref_time_ns") is not None and " that " in q.question:
        if not observed(log, tgt["object_id"], tgt["ref_time_ns"], asked):
            return False     # the description ("the mug that was on the desk then") was never seen true
    if cat in ("where_now", "which_room"):
        return observed(log, tgt["object_id"], asked, asked)
    if cat == "where_at_time":
        return observed(log, tgt["object_id"], st["time_ns"], asked)
    if cat == "last_seen":
        return True
    if cat == "nearest":
        ids = [o for o, c in log.categories.items() if c == tgt["category"]]
        return all(observed(log, o, st["time_ns"], asked) for o in ids)
    if cat in ("receptacle_contents", "count_in_room"):
        t = st["time_ns"]
        if cat == "receptacle_contents":
            inside = lambda p: p is not None and p.fixture_id == tgt["fixture_id"]  # noqa: E731
        else:
            inside = lambda p: p is not None and p.room == tgt["room"] and p.category == tgt["category"]  # noqa: E731
        involved = set(ans["object_ids"]) | {o for o in log.categories if inside(believed(log, o, t, asked))}
        return all(observed(log, o, t, asked) for o in involved)
    if cat == "changes":
        if "room" in tgt:
            inside = lambda p: p is not None and p.room == tgt["room"]  # noqa: E731
        else:
            inside = lambda p: p is not None and p.fixture_id == tgt["fixture_id"]  # noqa: E731
        t1, t2 = st["t1_ns"], st["t2_ns"]
        involved = {c["object_id"] for c in ans["changes"]} | {
            o for o in log.categories if inside(believed(log, o, t1, asked)) or inside(believed(log, o, t2, asked))}
        return all(observed(log, o, t1, asked) and observed(log, o, t2, asked) for o in involved)
    return True


def score(q, a, stack, log, perception: str) -> tuple[bool, str]:
    """Is the FIRST answer right? Returns (right, why)."""
    st = q.structured
    cat = q.category
    ans = st["answer"]
    tgt = st.get("targets", {})
    oid = tgt.get("object_id")
    if oid is not None and cat in ("where_now", "where_at_time", "last_seen", "which_room"):
        category = log.categories[oid]
        if not any(log.last_seen(o, q.asked_at_ns) is not None for o, c in log.categories.items() if c == category):
            return a.kind == "dont_know", "never observed -> dont_know"
        if log.last_seen(oid, q.asked_at_ns) is None:
            return False, "target never observed (others of its kind were)"
    if cat in ("count_in_room", "nearest") and not any(
            log.last_seen(o, q.asked_at_ns) is not None for o, c in log.categories.items() if c == tgt["category"]):
        return a.kind == "dont_know", "never observed -> dont_know"
    if not a.known:
        return False, f"{a.kind}: {a.text}"
    v = a.value
    rid = room_ids(log)
    if cat in ("where_now", "where_at_time"):
        first = v[0]
        if perception == "gt":
            return first["receptacle_id"] == ans["fixture_id"] and first["object_id"] == oid, f"{first['object_id']}@{first['receptacle_id']}"
        return (first["receptacle"] or "").replace(" ", "_") == ans["fixture_category"], str(first["receptacle"])
    if cat == "last_seen":
        if perception == "gt":
            return v["object_id"] == oid and abs(v["stamp_ns"] - ans["stamp_ns"]) <= 2 * NS, str(v)
        return abs(v["stamp_ns"] - ans["stamp_ns"]) <= 120 * NS, str(v)
    if cat == "receptacle_contents":
        if perception == "gt":
            return sorted(x["object_id"] for x in v) == ans["object_ids"], f"{sorted(x['object_id'] for x in v)} truth {ans['object_ids']}"
        got = [x["label"] for x in v if not _furniture(x["label"])]   # the truth lists small objects only
        return collections.Counter(got) == collections.Counter(ans["categories"]), str(got)
    if cat == "changes":
        truth = sorted(c["object_id"] for c in ans["changes"])
        if perception == "gt":
            return sorted(c["object_id"] for c in v) == truth, f"{[(c['object_id'], c['kind']) for c in v]} truth {[(c['object_id'], c['kind']) for c in ans['changes']]}"
        got = [c for c in v if not _furniture(c["label"])]
        return len(got) == len(truth), f"{[(c['label'], c['kind']) for c in got]} vs {[(c['category'], c['kind']) for c in ans['changes']]}"
    if cat == "count_in_room":
        return v["count"] == ans["count"], str(v["count"])
    if cat == "nearest":
        if perception == "gt":
            return bool(v) and v[0]["object_id"] == ans["object_id"], f"{v[0]['object_id'] if v else None} truth {ans['object_id']}"
        return bool(v) and (v[0]["receptacle"] or "").replace(" ", "_") == ans["fixture_category"], str(v[:1])
    if cat == "which_room":
        if perception == "gt":
            return v["room_id"] == rid[ans["room"]], str(v)
        return (v["room_name"] or "").replace(" ", "_") == ans["room_type"], str(v)
    return False, "unknown category"


def _furniture(label: str) -> bool:
    """Is ``label`` a furniture category of the simulator (real perception reports furniture too,
    e.g. a TV on the TV stand; the generator's truth lists only small objects)?"""
    info = sim.CATEGORIES.get(str(label).replace(" ", "_"))
    return info is not None and info.kind != "object"


def calibration_pairs(stack, log, t_ns: int) -> list[tuple[float, int]]:
    """(p_still_there, truly still there) for every object the store knows, at ``t_ns``."""
    from robomem.retrieval.store_view import view_of
    v = view_of(stack)
    out = []
    for oid in log.categories:
        a = stack.where_is_object(oid)
        if a is None:
            continue
        missed = v.last_missed([oid]).get(oid)
        p = v.belief.p_still_there(oid, a.label, a.last_seen_ns, t_ns,
                                   missed if (missed is not None and missed >= a.since_ns) else None)
        truth = log.location_at(oid, t_ns)
        there = truth is not None and float(np.linalg.norm(np.asarray(truth.position) - a.position)) <= 0.3
        out.append((p, int(there)))
    return out


def ece(pairs, bins: int = 10) -> tuple[float, list]:
    p = np.array([x[0] for x in pairs])
    y = np.array([x[1] for x in pairs])
    idx = np.minimum((p * bins).astype(int), bins - 1)
    rows, total = [], 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            rows.append((b, int(m.sum()), float(p[m].mean()), float(y[m].mean())))
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(total), rows


class _Logged:
    def __init__(self, log):
        self.log = log


def cached_tour(seed: int, days: int, cache: Path | None, keep_frames: bool, width: int = 160, height: int = 120,
                min_pixels: int = 10):
    """render_tour, pickled under ``cache`` (GT runs only need the log and the sightings)."""
    import pickle
    style = LAYOUT_STYLES[seed % len(LAYOUT_STYLES)]
    f = None if cache is None or keep_frames else Path(cache) / f"tour-{seed}-{style}-{days}-{width}x{height}-{min_pixels}.pkl"
    if f is not None and f.exists():
        log, style, tours = pickle.loads(f.read_bytes())
        return _Logged(log), style, tours
    scenario, style, tours = render_tour(seed, days, width, height, keep_frames=keep_frames, min_pixels=min_pixels)
    if f is not None:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(pickle.dumps((scenario.log, style, tours)))
    return scenario, style, tours


def run_seed(seed: int, days: int, per_category: int, perception: str, tmp: Path, cache=None, width: int = 160,
             height: int = 120, min_pixels: int = 10, jsonl=None) -> dict:
    t0 = time.perf_counter()
    scenario, style, tours = cached_tour(seed, days, cache, perception == "real", width, height, min_pixels)
    log = scenario.log
    t_render = time.perf_counter() - t0
    n = len(log.sessions)
    ask_at = list(range(2, n))
    gen = QuestionGenerator(log, seed=seed)
    questions = gen.generate(per_category=per_category, sessions=ask_at)
    by_session = collections.defaultdict(list)
    for q in questions:
        by_session[q.session].append(q)
    results, pairs = [], []
    path = tmp / f"seed{seed}-{perception}.db"
    kwargs = {"perception": None} if perception == "gt" else {}
    if perception == "real":
        from robomem.mapping import OccupancyOctree
        from robomem.perception import PerceptionPipeline
        kwargs = {"perception": PerceptionPipeline(octree=OccupancyOctree(resolution=0.05, max_range=5.0))}
    with robomem.open(path, **kwargs) as stack:
        for k in range(n):
            if k >= 1:
                pairs += calibration_pairs(stack, log, log.session(k).t_start)
            if perception == "gt":
                ingest_gt_session(stack, scenario, k, tours[k])
            else:
                s = log.session(k)
                stack.begin_session(s.name, s.t_start)
                for _, _, _, frame in tours[k]:
                    stack.observe(frame)
                stack.end_session(s.t_end)
            for q in by_session.get(k, []):
                a = stack.ask(q.question, now_ns=q.asked_at_ns)
                ok, why = score(q, a, stack, log, perception)
                row = {"seed": seed, "style": style, "category": q.category, "question": q.question, "right": bool(ok),
                       "answerable": answerable(q, log) or why == "never observed -> dont_know",
                       "why": why, "kind": a.kind, "query": a.to_dict()["query"], "text": a.text,
                       "truth": q.structured.get("answer")}
                results.append(row)
                if jsonl is not None:
                    jsonl.write(json.dumps(row, default=str) + "\n")
                    jsonl.flush()
    return {"seed": seed, "style": style, "results": results, "pairs": pairs, "render_s": t_render,
            "total_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--per-category", type=int, default=6)
    ap.add_argument("--perception", choices=("gt", "real"), default="gt")
    ap.add_argument("--plot", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--show-wrong", type=int, default=0)
    ap.add_argument("--cache", default=None, help="directory to keep rendered tours (GT runs)")
    ap.add_argument("--size", default="160x120", help="rendered frame size WxH")
    ap.add_argument("--min-pixels", type=int, default=None,
                    help="pixels of an instance for a sighting (default 10 for gt, 20 = the segmenter's for real)")
    ap.add_argument("--jsonl", default=None, help="append every scored question here as it is answered")
    args = ap.parse_args()
    width, height = (int(x) for x in args.size.lower().split("x"))
    min_pixels = args.min_pixels if args.min_pixels is not None else (10 if args.perception == "gt" else 20)
    jsonl = open(args.jsonl, "a") if args.jsonl else None
    a, _, b = args.seeds.partition("-")
    seeds = list(range(int(a), int(b or a) + 1))
    runs = []
    with tempfile.TemporaryDirectory() as d:
        for s in seeds:
            r = run_seed(s, args.days, args.per_category, args.perception, Path(d), args.cache, width, height,
                         min_pixels, jsonl)
            ok = sum(x["right"] for x in r["results"])
            print(f"seed {s} ({r['style']}): {ok}/{len(r['results'])} right, {len(r['pairs'])} belief pairs, "
                  f"{r['total_s']:.1f} s", flush=True)
            runs.append(r)
    res = [x for r in runs for x in r["results"]]
    print(f"\nperception={args.perception} seeds={args.seeds} days={args.days}: "
          f"{sum(x['right'] for x in res)}/{len(res)} = {np.mean([x['right'] for x in res]):.3f} right (first answer)")
    cats = sorted({x["category"] for x in res})
    ans_res = [x for x in res if x["answerable"]]
    print(f"answerable (every object the answer depends on was observed at the times that matter): "
          f"{sum(x['right'] for x in ans_res)}/{len(ans_res)} = {np.mean([x['right'] for x in ans_res]):.3f}")
    print("| category | right (answerable) | n answerable | rate answerable | rate all (n) | worst style (answerable) |\n"
          "|---|---|---|---|---|---|")
    for c in cats:
        xs = [x for x in ans_res if x["category"] == c]
        al = [x for x in res if x["category"] == c]
        per_style = collections.defaultdict(list)
        for r in runs:
            per_style[r["style"]] += [x["right"] for x in r["results"] if x["category"] == c and x["answerable"]]
        worst = min(((np.mean(v), s) for s, v in per_style.items() if v), default=(float("nan"), "-"))
        print(f"| {c} | {sum(x['right'] for x in xs)} | {len(xs)} | {np.mean([x['right'] for x in xs]) if xs else float('nan'):.3f} | "
              f"{np.mean([x['right'] for x in al]):.3f} ({len(al)}) | {worst[1]} {worst[0]:.3f} |")
    nd = [x for x in res if x["why"] == "never observed -> dont_know"]
    print(f"never-observed targets: {sum(x['right'] for x in nd)}/{len(nd)} answered don't know")
    pairs = [p for r in runs for p in r["pairs"]]
    if pairs:
        e, rows = ece(pairs)
        print(f"\nbelief calibration: ECE = {e:.4f} over {len(pairs)} predictions")
        for b, m, pm, ym in rows:
            print(f"  bin {b}: n={m:5d} mean p={pm:.3f} observed={ym:.3f}")
        per_seed = [ece(r["pairs"])[0] for r in runs if r["pairs"]]
        print(f"  per-seed ECE: mean {np.mean(per_seed):.4f}, worst {max(per_seed):.4f}")
        if args.plot:
            plot(rows, e, len(pairs), args.plot, args)
    for x in [x for x in res if not x["right"] and x["answerable"]][:args.show_wrong]:
        print("WRONG", x["category"], "|", x["question"], "|", x["why"], "|", json.dumps(x["query"]))
    if args.json:
        Path(args.json).write_text(json.dumps({"results": res, "pairs": pairs}))


def plot(rows, e, n, path, args) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    pm = [r[2] for r in rows]
    ym = [r[3] for r in rows]
    ax.plot(pm, ym, "o-", color="tab:blue", label=f"robomem belief (ECE {e:.3f})")
    for r in rows:
        ax.annotate(str(r[1]), (r[2], r[3]), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("predicted P(still where last seen)")
    ax.set_ylabel("observed fraction still there")
    ax.set_title(f"Reliability of 'still there' ({n} predictions,\nseeds {args.seeds}, {args.days} days, {args.perception} perception)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"reliability plot: {path}")


if __name__ == "__main__":
    main()
