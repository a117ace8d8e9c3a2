"""Fit the planner's per-category detection model (``robomem.planning.DetectionModel``) from the looks
an eval run took: for every present question's episode (``--traces`` JSONL of ``benchmarks/eqa_eval.py``)
the first look at each place, whether the target really was there (the scenario log: in the
explored room; within 0.5 m of the verified place) and whether perception saw it. Looks where the
target was not there say nothing about detection and are left out; a physical look repeated by
several policies (same house, session, target, place and viewpoint: the same frames) counts once.

    python benchmarks/eqa_eval.py --houses 10 --seeds 20-29 --policies explore-always,voi-0.003 --cost-weights 0.003 --traces --out out/fit/r.json
    python benchmarks/fit_detection.py out/fit/r.jsonl

Fit on houses that are not the evaluation's (the eval uses seeds 0..9)."""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import sim  # noqa: E402
from benchmarks.eqa_eval import WHERE_TOL_M  # noqa: E402
from robomem.planning.detection import DetectionModel  # noqa: E402
from robomem.planning.recall import parse_question  # noqa: E402
from sim.scenario import Scenario, ScenarioConfig  # noqa: E402


def truths(records: list[dict], days: int = 2) -> dict:
    """(house, session, category) → (room id as the eval numbers rooms, position) of the one
    present object of that category."""
    out = {}
    for seed, style in sorted({(r["house"], r["style"]) for r in records}):
        scene = sim.generate_house(seed=seed, style=style)
        log = Scenario(scene, ScenarioConfig(days=days, seed=seed)).log
        rid = {r: i + 1 for i, r in enumerate(sorted(scene.rooms))}
        for k in sorted({r["session"] for r in records if r["house"] == seed}):
            present = log.objects_present(log.session(k).t_start)
            count = defaultdict(int)
            for p in present:
                count[p.category] += 1
            for p in present:
                if count[p.category] == 1:
                    out[(seed, k, p.category)] = (rid.get(p.room), np.asarray(p.position, dtype=float))
    return out


def looks(records: list[dict], days: int = 2) -> list[tuple[str, str, bool]]:
    """(category, kind, seen) for the first look at each place where the target really was."""
    records = [r for r in records if r.get("group") == "present" and r.get("trace")]
    truth = truths(records, days)
    seen_looks: dict = {}
    for r in records:
        _, label = parse_question(r["question"])
        t = truth.get((r["house"], r["session"], label))
        if t is None:
            continue
        room, pos = t
        done = set()
        for step in r["trace"]:
            if not step.get("chosen"):
                continue
            a = next(c for c in step["considered"] if c["target"] == step["chosen"])
            out = step.get("outcome") or {}
            if not out.get("reached", True) or a["target"] in done:
                continue
            done.add(a["target"])
            if a["kind"] == "explore":
                there = int(a["target"].split(":")[1]) == room
            else:
                there = a["goal"] is not None and math.dist(a["goal"][:2], pos[:2]) <= WHERE_TOL_M
            if there:
                key = (r["house"], r["session"], label, a["kind"], a["target"], tuple(a.get("view") or ()))
                seen_looks[key] = (label, a["kind"], out.get("seen_key") is not None)
    return list(seen_looks.values())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("jsonl", type=Path, nargs="+", help="eval episodes with --traces")
    ap.add_argument("--spread", type=float, default=1.0, help="prior sd of a category's log-odds shift")
    ap.add_argument("--out", type=Path, default=None, help="write the model as JSON here")
    args = ap.parse_args(argv)
    records = [json.loads(line) for f in args.jsonl for line in f.read_text().splitlines() if line.strip()]
    rows = looks(records)
    model = DetectionModel.fit(rows, spread=args.spread)
    counts = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for c, kind, s in rows:
        counts[c][kind][0] += int(s)
        counts[c][kind][1] += 1
    print(f"{len(rows)} looks at a place where the target was "
          f"({sum(1 for r in rows if r[1] == 'explore')} explore, {sum(1 for r in rows if r[1] == 'verify')} verify)")
    for c in sorted(counts):
        per = ", ".join(f"{k} {s}/{n}" for k, (s, n) in sorted(counts[c].items()))
        print(f"  {c:14s} {per:28s} -> explore {model.detection(c, 'explore'):.2f}, verify {model.detection(c, 'verify'):.2f}")
    print(json.dumps(model.to_dict(), indent=1, sort_keys=True))
    if args.out:
        args.out.write_text(json.dumps(model.to_dict(), indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
