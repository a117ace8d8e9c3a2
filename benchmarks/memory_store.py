"""Benchmark of the long-term memory store (robomem.memory.LongTermMemory).

Measures, on one machine in one run:
  1. ingest rate (observations/s) through the record path (ObjectObservation batches) and the
     columnar path, against a naive peer that stores one SQLite row per observation with an R*Tree
     (what "keep every observation" costs), on identical streams;
  2. bytes per stored placement and per observation-equivalent (observations folded into
     placements);
  3. query latency p50/p99 on a large store: an object's current placement, the placement at a past
     time, and a spatio-temporal range (box x time) via the R*Tree.

Store growth of the whole stack when the world does not change (simulator patrols, real
perception, every house style): ``benchmarks/memory_growth.py``.

Usage:  OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/memory_store.py [--objects 100000]
        [--rounds 10] [--per-round 10] [--queries 2000] [--dir /tmp] [--quick] [--keep]
        [--reuse STORE]   (only part 3 on an existing large store)
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from robomem.memory import LongTermMemory  # noqa: E402
from robomem.observations import ObjectObservation  # noqa: E402

T0 = 1_780_000_000_000_000_000
S = 10**9
HOUR = 3600 * S
AREA = 100.0  # metres, square building footprint


def stream(n_objects: int, frames: int, per_frame: int, rng, t0: int, move_p: float = 0.002):
    """A robot's view: each frame sees ``per_frame`` objects, some of which moved since."""
    homes = rng.uniform(0, AREA, (n_objects, 3))
    homes[:, 2] = rng.uniform(0, 2.5, n_objects)
    oids = np.empty(frames * per_frame, np.int64)
    for f in range(frames):
        oids[f * per_frame:(f + 1) * per_frame] = rng.choice(n_objects, per_frame, replace=False)
    stamps = t0 + np.repeat(np.arange(frames, dtype=np.int64) * (S // 30), per_frame)
    pos = np.empty((len(oids), 3))
    for f in range(frames):
        sl = slice(f * per_frame, (f + 1) * per_frame)
        mv = rng.random(n_objects) < move_p / per_frame
        homes[mv] = rng.uniform(0, AREA, (int(mv.sum()), 3))
        pos[sl] = homes[oids[sl]] + rng.normal(0, 0.01, (per_frame, 3))
    return oids, stamps, pos


def naive_ingest(path: Path, oids, stamps, pos, batch: int) -> float:
    """Peer: one row per observation (+ R*Tree over x, y, z, t), same durability settings."""
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=FULL")
    c.execute("CREATE TABLE obs(id INTEGER PRIMARY KEY, object_id INTEGER, stamp INTEGER, x REAL, y REAL, z REAL, "
              "label TEXT, conf REAL)")
    c.execute("CREATE INDEX obs_object ON obs(object_id, stamp)")
    c.execute("CREATE VIRTUAL TABLE obs_rtree USING rtree(id, x0, x1, y0, y1, z0, z1, t0, t1)")
    t = time.perf_counter()
    n = len(oids)
    for a in range(0, n, batch):
        b = min(n, a + batch)
        rows = [(a + i + 1, int(o), int(s), float(p[0]), float(p[1]), float(p[2]), "thing", 0.9)
                for i, (o, s, p) in enumerate(zip(oids[a:b], stamps[a:b], pos[a:b]))]
        c.execute("BEGIN IMMEDIATE")
        c.executemany("INSERT INTO obs VALUES (?,?,?,?,?,?,?,?)", rows)
        c.executemany("INSERT INTO obs_rtree VALUES (?,?,?,?,?,?,?,?,?)",
                      [(r[0], r[3], r[3], r[4], r[4], r[5], r[5], (r[2] - T0) * 1e-9, (r[2] - T0) * 1e-9)
                       for r in rows])
        c.execute("COMMIT")
    dt = time.perf_counter() - t
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    return dt


def ingest_records(path: Path, oids, stamps, pos, batch: int) -> float:
    recs = [ObjectObservation(int(o), "thing", int(s), p, p - 0.05, p + 0.05, 0.9)
            for o, s, p in zip(oids, stamps, pos)]
    with LongTermMemory(path) as m:
        t = time.perf_counter()
        for a in range(0, len(recs), batch):
            m.ingest(recs[a:a + batch])
        return time.perf_counter() - t


def ingest_columns(path: Path, oids, stamps, pos, batch: int) -> float:
    with LongTermMemory(path) as m:
        t = time.perf_counter()
        for a in range(0, len(oids), batch):
            m.ingest_arrays(oids[a:a + batch], stamps[a:a + batch], pos[a:a + batch], "thing")
        return time.perf_counter() - t


def pct(a, q):
    return float(np.percentile(np.asarray(a) * 1e3, q))


def build_large(path: Path, n_objects: int, rounds: int, per_round: int, rng) -> tuple[float, np.ndarray]:
    """Every round (a simulated day) every object is seen ``per_round`` times at a new place:
    n_objects * rounds placements, n_objects * rounds * per_round observation-equivalents."""
    labels = [f"label{i % 1000}" for i in range(n_objects)]
    t_build = 0.0
    with LongTermMemory(path, synchronous="NORMAL") as m:
        for r in range(rounds):
            homes = rng.uniform(0, AREA, (n_objects, 3))
            homes[:, 2] = rng.uniform(0, 2.5, n_objects)
            oid = np.tile(np.arange(n_objects, dtype=np.int64), per_round)
            day0 = T0 + r * 24 * HOUR
            stamps = day0 + np.sort(rng.integers(0, 12 * HOUR, len(oid)))
            pos = homes[oid] + rng.normal(0, 0.02, (len(oid), 3))
            lab = [labels[i] for i in oid.tolist()]
            t = time.perf_counter()
            step = len(oid)  # one transaction per simulated day
            for a in range(0, len(oid), step):
                m.ingest_arrays(oid[a:a + step], stamps[a:a + step], pos[a:a + step], lab[a:a + step])
            t_build += time.perf_counter() - t
            print(f"  round {r + 1}/{rounds}: {t_build:.1f} s", flush=True)
    return t_build, labels


def query_latency(path: Path, n_objects: int, rounds: int, n_queries: int, rng) -> dict:
    out = {}
    with LongTermMemory(path, readonly=True) as m:
        ids = rng.integers(0, n_objects, n_queries)
        # Steady state, as in a running robot: the build's write-back flushed, caches warm.
        if hasattr(os, "sync"):
            os.sync()
        for i in ids[:50]:
            m.current_placement(int(i))
        for _ in range(200):
            lo = np.r_[rng.uniform(0, AREA - 4, 2), 0.0]
            m.objects_in_box(lo, lo + 4.0, T0, T0 + rounds * 24 * HOUR)
        lat = []
        for i in ids.tolist():
            t = time.perf_counter()
            p = m.current_placement(i)
            lat.append(time.perf_counter() - t)
            assert p is not None and p.object_id == i
        out["current placement"] = (pct(lat, 50), pct(lat, 99), 1.0)
        lat = []
        for i in ids.tolist():
            at = T0 + int(rng.integers(0, rounds)) * 24 * HOUR + 13 * HOUR
            t = time.perf_counter()
            m.placement_at(i, at)
            lat.append(time.perf_counter() - t)
        out["placement at time t"] = (pct(lat, 50), pct(lat, 99), 1.0)
        lat, counts = [], []
        for _ in range(n_queries):
            lo = np.r_[rng.uniform(0, AREA - 4, 2), 0.0]
            hi = lo + (4.0, 4.0, 3.0)
            t0 = T0 + int(rng.integers(0, rounds)) * 24 * HOUR + int(rng.integers(0, 10)) * HOUR
            t = time.perf_counter()
            res = m.objects_in_box(lo, hi, t0, t0 + 2 * HOUR)
            lat.append(time.perf_counter() - t)
            counts.append(len(res))
        out["range 4x4x3 m x 2 h"] = (pct(lat, 50), pct(lat, 99), float(np.mean(counts)))
        lat = []
        for k in range(min(n_queries, 300)):
            t = time.perf_counter()
            m.where_is(f"label{k % 1000}")
            lat.append(time.perf_counter() - t)
        out[f"where_is(label) ({n_objects // 1000} objects/label)"] = (pct(lat, 50), pct(lat, 99),
                                                                       n_objects / 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--per-round", type=int, default=10)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--ingest-obs", type=int, default=300_000, help="observations in the ingest comparison")
    ap.add_argument("--dir", default=None, help="where to put the stores (default: a temp dir)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    ap.add_argument("--keep", action="store_true", help="keep the stores (path printed) instead of deleting them")
    ap.add_argument("--reuse", default=None, help="skip parts 1-2 and query this existing large store")
    a = ap.parse_args()
    if a.quick:
        a.objects, a.rounds, a.per_round, a.queries, a.ingest_obs = 2000, 3, 5, 200, 20_000
    rng = np.random.default_rng(0)
    if a.reuse:
        print(f"{'query':42s} {'p50 ms':>8s} {'p99 ms':>8s} {'rows':>8s}")
        for name, (p50, p99, cnt) in query_latency(Path(a.reuse), a.objects, a.rounds, a.queries, rng).items():
            print(f"{name:42s} {p50:8.3f} {p99:8.3f} {cnt:8.1f}")
        return
    work = Path(tempfile.mkdtemp(dir=a.dir, prefix="robomem-bench-"))
    print(f"robomem memory store benchmark, sqlite {sqlite3.sqlite_version}, {time.strftime('%Y-%m-%d %H:%M')}, "
          f"dir {work}")
    try:
        # ---- 1. ingest comparison on one identical stream
        per_frame = 50
        frames = a.ingest_obs // per_frame
        oids, stamps, pos = stream(5000, frames, per_frame, rng, T0)
        n = len(oids)
        batch = 100 * per_frame  # ~3 s of frames per transaction
        rows = []
        dt = naive_ingest(work / "naive.db", oids, stamps, pos, batch)
        nb = (work / "naive.db").stat().st_size
        rows.append(("naive: 1 row/observation + R*Tree", n / dt, nb / n, n))
        dt = ingest_records(work / "rec.db", oids, stamps, pos, batch)
        with LongTermMemory(work / "rec.db", readonly=True) as m:
            st = m.stats()
        assert st["observations"] == n
        fb = (work / "rec.db").stat().st_size
        rows.append(("robomem ingest(ObjectObservation)", n / dt, fb / n, st["placements"]))
        dt = ingest_columns(work / "col.db", oids, stamps, pos, batch * 10)
        fb2 = (work / "col.db").stat().st_size
        with LongTermMemory(work / "col.db", readonly=True) as m:
            st2 = m.stats()
        assert st2["placements"] == st["placements"] and st2["observations"] == n
        rows.append(("robomem ingest_arrays (columnar)", n / dt, fb2 / n, st2["placements"]))
        print(f"\n1) ingest of {n:,} observations (5,000 objects, {per_frame}/frame, 0.2% moved/frame), "
              f"batch {batch:,} (columnar {batch * 10:,}), WAL + synchronous=FULL")
        print(f"{'store':40s} {'obs/s':>12s} {'bytes/obs':>10s} {'rows':>10s}")
        for name, rate, bpo, r in rows:
            print(f"{name:40s} {rate:12,.0f} {bpo:10.1f} {r:10,d}")
        print(f"   robomem bytes per placement: {fb / st['placements']:.1f}")
        # ---- 2. large store
        n_obs_eq = a.objects * a.rounds * a.per_round
        print(f"\n2) building a store: {a.objects:,} objects, {a.objects * a.rounds:,} placements, "
              f"{n_obs_eq:,} observation-equivalents (columnar ingest, synchronous=NORMAL for the build)")
        big = work / "big.db"
        t_build, _ = build_large(big, a.objects, a.rounds, a.per_round, rng)
        with LongTermMemory(big, readonly=True) as m:
            st = m.stats()
        size = big.stat().st_size
        print(f"   build {t_build:.1f} s = {n_obs_eq / t_build:,.0f} obs/s; file {size / 2**20:.1f} MiB; "
              f"{size / st['placements']:.1f} bytes/placement; {size / st['observations']:.2f} bytes/observation-eq.")
        # a random new home within move_tolerance of the old one legitimately extends the placement
        assert st["observations"] == n_obs_eq and 0.999 * a.objects * a.rounds <= st["placements"] <= a.objects * a.rounds
        print(f"   stored: {st['objects']:,} objects, {st['placements']:,} placements, "
              f"{st['observations']:,} observation-equivalents")
        # ---- 3. queries
        # Queries run in a fresh reader process (as a second process would query a robot's store),
        # not in this one, whose heap the multi-GB build has just churned.
        print(f"\n3) query latency over {a.queries:,} random queries (read-only connection, separate process)")
        sys.stdout.flush()
        subprocess.run([sys.executable, __file__, "--reuse", str(big), "--objects", str(a.objects),
                        "--rounds", str(a.rounds), "--queries", str(a.queries)], check=True)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
