"""Latency of robomem.retrieval on a large store: 10^5 objects, 10^6 placements, 10^7
observation-equivalents (built columnar as in benchmarks/memory_store.py, plus room ids).

Store: ``--objects`` objects over a 100 x 100 m building cut into 2.5 m rooms (1,600 rooms, ~60
objects each); ``--rounds`` simulated days, every object seen ``--per-round`` times a day at a new
place. Labels: 1,000 (100 objects each); the first 60 are household words so that questions in
words can name them.

Measured through ``stack.query`` / ``stack.ask`` on a read-only ``MemoryStack`` (the full engine:
label resolution, evidence for every candidate, belief, keyframe look-ups for the top 3), p50/p99
over ``--queries`` random queries after a warm-up pass (the per-store caches filled):

* where: ``WhereIs(label)`` (100 candidates ranked with evidence) and ``WhereIs(object_id)``;
* last seen: ``WhenSeen(object_id)`` and ``WhenSeen(label)``;
* range: ``Contents(room, at_ns)``, ``Near(object, 2 m)``, ``SeenBetween(2 h, room)``;
* change: ``Changes(t0, t0 + 1 day, room)``;
* ask: questions in words (exact labels, household synonyms, and ones that need the MiniLM model).
Cold start: a fresh process opening the store and answering one question that needs the model.

Targets (issue 10), checked and printed per row: where / last-seen p99 <= 2 ms; range and change
p99 <= 10 ms; ask p50 <= 30 ms with the model warm (cold start reported, no target).

Usage: OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/query.py [--objects 100000] [--rounds 10]
       [--per-round 10] [--queries 1000] [--store PATH (reuse/keep)] [--jsonl PATH] [--quick]
(``--jsonl``: one JSON line per measured row, written as it is measured, so a partial run still
gives figures.)
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import robomem  # noqa: E402
from robomem.memory import SCHEMA_VERSION, LongTermMemory  # noqa: E402
from robomem.retrieval import (  # noqa: E402
    Changes, Contents, Near, SeenBetween, Target, WhenSeen, WhereIs)

T0 = 1_780_000_000_000_000_000
S = 10**9
HOUR = 3600 * S
AREA = 100.0
CELL = 2.5
WORDS = ("mug cup plate bowl glass bottle book notebook laptop phone keys wallet remote glasses headphones "
         "backpack bag umbrella pillow blanket towel lamp vase plant candle clock toy ball shoe jacket hat "
         "scarf charger tablet camera pen pencil scissors stapler folder box basket bucket broom mop sponge "
         "soap toothbrush comb brush mirror frame speaker radio kettle toaster pan pot knife spoon").split()


def labels_for(n_labels: int) -> list[str]:
    return [WORDS[i] if i < len(WORDS) else f"thing{i}" for i in range(n_labels)]


def build(path: Path, n_objects: int, rounds: int, per_round: int, rng) -> float:
    labs = labels_for(1000)
    labels = [labs[i % 1000] for i in range(n_objects)]
    side = int(AREA / CELL)
    t_build = 0.0
    with LongTermMemory(path, synchronous="NORMAL") as m:
        for r in range(rounds):
            homes = rng.uniform(0, AREA, (n_objects, 3))
            homes[:, 2] = rng.uniform(0, 2.5, n_objects)
            oid = np.tile(np.arange(n_objects, dtype=np.int64), per_round)
            stamps = T0 + r * 24 * HOUR + np.sort(rng.integers(0, 12 * HOUR, len(oid)))
            pos = homes[oid] + rng.normal(0, 0.02, (len(oid), 3))
            rooms = (np.clip((pos[:, 0] // CELL), 0, side - 1) * side + np.clip(pos[:, 1] // CELL, 0, side - 1) + 1)
            t = time.perf_counter()
            m.ingest_arrays(oid, stamps, pos, [labels[i] for i in oid.tolist()], room_ids=rooms.astype(np.int64))
            t_build += time.perf_counter() - t
            print(f"  round {r + 1}/{rounds}: {t_build:.1f} s", flush=True)
    return t_build


#: (row-name prefix, percentile, limit ms) of the issue-10 targets
TARGETS = (("where", 99, 2.0), ("last seen", 99, 2.0), ("range", 99, 10.0), ("change", 99, 10.0),
           ("ask", 50, 30.0))


def target_of(name: str):
    return next(((q, lim) for pre, q, lim in TARGETS if name.startswith(pre)), None)


def pct(lat, q) -> float:
    return float(np.percentile(np.asarray(lat) * 1e3, q))


def timed(fn, args_list) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (this thread) of each call. On a loaded machine the wall p99 is
    mostly time the process spent descheduled; the CPU time is the query's own cost."""
    out, cpu = [], []
    for a in args_list:
        c = time.thread_time()
        t = time.perf_counter()
        fn(a)
        out.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    return out, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--per-round", type=int, default=10)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--store", default=None, help="use/keep the store here (built if missing)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jsonl", default=None, help="append one JSON line per measured row to this file")
    a = ap.parse_args()
    if a.quick:
        a.objects, a.rounds, a.per_round, a.queries = 5000, 3, 5, 200
    rng = np.random.default_rng(0)
    tmp = None
    if a.store:
        path = Path(a.store)
    else:
        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "big.db"
    print(f"robomem retrieval benchmark, {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.1f}")
    if not path.exists():
        print(f"building {a.objects:,} objects x {a.rounds} days x {a.per_round}/day ...")
        t = build(path, a.objects, a.rounds, a.per_round, rng)
        print(f"  built in {t:.1f} s, {path.stat().st_size / 2**20:.0f} MiB")
    version = sqlite3.connect(f"file:{path}?mode=ro", uri=True).execute("PRAGMA user_version").fetchone()[0]
    if version < SCHEMA_VERSION:     # an older store: readers never migrate, so open it writable once
        t = time.perf_counter()
        LongTermMemory(path, synchronous="NORMAL").close()
        print(f"  migrated the store from schema v{version} to v{SCHEMA_VERSION} in {time.perf_counter() - t:.1f} s, "
              f"{path.stat().st_size / 2**20:.0f} MiB")
    def record(d: dict) -> None:
        if a.jsonl:
            with open(a.jsonl, "a") as f:
                f.write(json.dumps({**d, "load": os.getloadavg()[0], "time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                           time.gmtime())}) + "\n")

    n = a.queries
    end = T0 + (a.rounds - 1) * 24 * HOUR + 12 * HOUR
    labs = labels_for(1000)
    rows = []
    with robomem.open(path, readonly=True, perception=None) as st:
        s = st.long_term.stats()
        print(f"store: {s['objects']:,} objects, {s['placements']:,} placements, {s['observations']:,} "
              f"observation-equivalents")
        t = time.perf_counter()
        st.query(WhereIs(Target(label="mug")))
        print(f"first query (store view + global belief prior, one scan): {time.perf_counter() - t:.2f} s")
        record({"row": "first query (cold caches)", "s": time.perf_counter() - t})
        lab_q = [labs[int(i)] for i in rng.integers(0, 1000, n)]
        ids = [int(i) for i in rng.integers(0, a.objects, n)]
        side = int(AREA / CELL)
        rooms = [int(i) for i in rng.integers(1, side * side + 1, n)]
        times = [T0 + int(rng.integers(1, a.rounds)) * 24 * HOUR + int(rng.integers(0, 12)) * HOUR for _ in range(n)]
        # warm-up: per-label belief and per-store caches (what a running service has after a while)
        for lab in labs:
            st.query(WhereIs(Target(label=lab)))
        # The state R*Tree's pages come into SQLite's page cache as room queries touch them: a fresh
        # process's first ~50 room queries take up to ~1 s (cold), then p99 settles (2026-12-03
        # probe: 109 ms -> 2.8 ms from the first 1,000 queries to the next). That cold pass is
        # measured and printed as its own row (no target), on rooms/times other than the measured ones.
        cold_rooms = [(int(rng.integers(1, int(AREA / CELL) ** 2 + 1)),
                       T0 + int(rng.integers(1, a.rounds)) * 24 * HOUR + int(rng.integers(0, 12)) * HOUR)
                      for _ in range(min(n, 300))]
        lat, cpu = timed(lambda x: st.query(Contents(room=x[0], at_ns=x[1])), cold_rooms)
        print(f"{'cold pass: Contents, first room queries of the process':52s} p50 {pct(lat, 50):7.3f} ms  "
              f"p99 {pct(lat, 99):7.3f} ms  (CPU p50 {pct(cpu, 50):.3f} p99 {pct(cpu, 99):.3f} ms)  no target", flush=True)
        record({"row": "cold pass: Contents, first room queries of the process", "p50_ms": pct(lat, 50),
                "p99_ms": pct(lat, 99), "cpu_p50_ms": pct(cpu, 50), "cpu_p99_ms": pct(cpu, 99), "n": len(cold_rooms)})

        def bench(name, fn, args):
            fn(args[0])
            lat, cpu = timed(fn, args)
            rows.append((name, pct(lat, 50), pct(lat, 99), pct(cpu, 50), pct(cpu, 99)))
            tgt = target_of(name)
            verdict = "" if tgt is None else (f"  target p{tgt[0]} <= {tgt[1]:g} ms: "
                                              f"{'met' if rows[-1][1 if tgt[0] == 50 else 2] <= tgt[1] else 'NOT met'}")
            print(f"{name:52s} p50 {rows[-1][1]:7.3f} ms  p99 {rows[-1][2]:7.3f} ms  (CPU p50 {rows[-1][3]:.3f} "
                  f"p99 {rows[-1][4]:.3f} ms){verdict}", flush=True)
            record({"row": name, "p50_ms": rows[-1][1], "p99_ms": rows[-1][2], "cpu_p50_ms": rows[-1][3],
                    "cpu_p99_ms": rows[-1][4], "n": len(args)})

        lt = st.long_term   # peer in the same run: the store's own indexed reads, no engine
        bench("baseline: LongTermMemory.where_is(label) (raw rows)", lambda x: lt.where_is(x), lab_q)
        bench("baseline: LongTermMemory.current_placement(id)", lambda x: lt.current_placement(x), ids)
        bench("where: WhereIs(label), 100 candidates ranked", lambda x: st.query(WhereIs(Target(label=x))), lab_q)
        bench("where: WhereIs(object_id)", lambda x: st.query(WhereIs(Target(object_id=x))), ids)
        bench("where at t: WhereIs(object_id, at_ns)", lambda x: st.query(WhereIs(Target(object_id=x[0]), at_ns=x[1])),
              list(zip(ids, times)))
        bench("last seen: WhenSeen(object_id)", lambda x: st.query(WhenSeen(Target(object_id=x))), ids)
        bench("last seen: WhenSeen(label)", lambda x: st.query(WhenSeen(Target(label=x))), lab_q)
        bench("range: Contents(room, at_ns) (~60 objects)", lambda x: st.query(Contents(room=x[0], at_ns=x[1])),
              list(zip(rooms, times)))
        bench("range: Near(object, 2 m)", lambda x: st.query(Near(Target(object_id=x), radius_m=2.0)), ids)
        bench("range: SeenBetween(2 h, room)", lambda x: st.query(SeenBetween(x[1], x[1] + 2 * HOUR, room=x[0])),
              list(zip(rooms, times)))
        bench("change: Changes(t0, t0 + 1 day, room)", lambda x: st.query(Changes(x[1], x[1] + 24 * HOUR, room=x[0])),
              list(zip(rooms, times)))
        words = WORDS[:60]
        qs = []
        for k in range(n):
            w = words[k % len(words)]
            qs.append([f"where is the {w}?", f"where did I leave my {w}?", f"when did I last see the {w}?",
                       "where is my cellphone?", "where did I put my teacup?", f"which {w} is nearest to the lamp?",
                       f"how many {w}s are in room 7?"][k % 7])
        t = time.perf_counter()
        st.ask("where did I put my teacup?")          # model load + label embeddings (this process)
        print(f"ask: first question needing the model in this process: {time.perf_counter() - t:.2f} s")
        record({"row": "ask: first question needing the model (this process)", "s": time.perf_counter() - t})
        bench("ask: questions in words (model warm)", lambda x: st.ask(x), qs)
    code = ("import time,os; t=time.perf_counter(); import robomem; "
            f"st=robomem.open({str(path)!r}, readonly=True, perception=None); "
            "a=st.ask('where did I put my teacup?'); print(f'{time.perf_counter()-t:.2f}')")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    cold = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-300:]
    print(f"ask cold start (fresh process: import, open, first question incl. MiniLM load): {cold} s")
    record({"row": "ask cold start (fresh process)", "s": cold})
    print("\n| query | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms | target (wall clock) |\n|---|---|---|---|---|---|")
    for name, p50, p99, c50, c99 in rows:
        tgt = target_of(name)
        v = "" if tgt is None else (f"p{tgt[0]} <= {tgt[1]:g} ms: "
                                    f"{'met' if (p50 if tgt[0] == 50 else p99) <= tgt[1] else '**not met**'}")
        print(f"| {name} | {p50:.3f} | {p99:.3f} | {c50:.3f} | {c99:.3f} | {v} |")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
