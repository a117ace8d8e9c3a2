"""robomem's OccupancyOctree vs OctoMap (pyoctomap), same inputs, same run, one core.

Workloads: the 50-frame synthetic room of benchmarks/synthetic_room.py (5 cm,
5 m max range) and the 10 TUM fr1/xyz frames in tests/data (5 cm, no max range). Mappers: robomem
exact / discretized and OctoMap exact / discretized (``insertPointCloud(..., discretize)``), all with
hit 0.7, miss 0.4, clamp 0.12-0.97, threshold 0.5. Every (workload, mapper) pair runs in its own
process, single-threaded, so peak memory is measured per mapper: ``map MB`` is the growth of peak
RSS during insertion (data and libraries are loaded and warmed up before; the kernel's peak counter
is reset just before the first insertion), ``process MB`` the process's peak RSS (includes the
input data and, for robomem, numba's compiler), ``self MB`` what the library reports for its map (robomem ``memory_bytes``, OctoMap ``memoryUsage()``). ``agree`` is the
share of voxels known to either side whose state (free/occupied/unknown) is the same as OctoMap's
in the same mode. Time is insertion only (world points are computed beforehand, identically for
all); it is measured in a separate process holding all four mappers, fed frame by frame in rotating
order, so that load from other processes on a shared machine affects them alike; ms/frame is the
median over frames.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/octree_vs_octomap.py [--frames N]

Quick check of robomem alone (no OctoMap runs, so no agreement or ratio columns):

    .venv/bin/python benchmarks/octree_vs_octomap.py --workloads room --mappers robomem-exact,robomem-discretized
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT)]

RES = 0.05
MAPPERS = ["robomem-exact", "robomem-discretized", "octomap-exact", "octomap-discretized"]
WORKLOADS = {"room": 5.0, "tum": -1.0}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) so the peak covers insertion only."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    v = _status_mb("VmHWM")
    return v if v == v else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_workload(name: str, frames: int | None, cache: Path):
    """(list of (points (N, 3) float64, origin (3,))) for a workload; room frames cached on disk."""
    from robomem.pose import transform_points
    if name == "room":
        import synthetic_room as sr
        f = cache / "synthetic_room.npz"
        if not f.exists():
            depths, poses = sr.make_frames()
            np.savez(f, depths=depths, poses=poses)
        z = np.load(f)
        depths, poses = z["depths"], z["poses"]
        n = len(depths) if frames is None else min(frames, len(depths))
        out = []
        for i in range(n):
            pts, _ = sr.INTRINSICS.backproject(depths[i])
            out.append((np.ascontiguousarray(transform_points(poses[i], pts)), poses[i][:3, 3].copy()))
        return out
    from robomem.datasets import load_tum_sequence
    fr = list(load_tum_sequence(ROOT / "tests/data/tum-fr1-xyz", max_frames=frames, with_rgb=False))
    return [(np.ascontiguousarray(f.points_world), f.camera_position) for f in fr]


def make_mapper(mapper: str, data, max_range: float):
    """(insert(points, origin), tree) for one mapper; robomem kernels are compiled/loaded first."""
    discretize = mapper.endswith("discretized")
    if mapper.startswith("robomem"):
        from robomem.mapping import OccupancyOctree
        warm = OccupancyOctree(RES)  # compile (or load cached) kernels outside the timing
        warm.insert_points(data[0][0][:20000], data[0][1], discretize=discretize, max_range=max_range)
        warm.leaves()
        del warm
        tree = OccupancyOctree(RES)

        def insert(p, o):
            tree.insert_points(p, o, discretize=discretize, max_range=max_range)
    else:
        from octomap_compat import make_octomap
        tree = make_octomap(RES)

        def insert(p, o):
            tree.insertPointCloud(p, o, max_range, False, discretize)
    return insert, tree


def worker(mapper: str, workload: str, frames: int | None, cache: Path, out: Path) -> None:
    """One mapper alone in this process: peak memory, map size and the voxels for agreement."""
    import gc
    data = load_workload(workload, frames, cache)
    insert, tree = make_mapper(mapper, data, WORKLOADS[workload])
    gc.collect()
    _reset_peak()
    base_rss = _rss_mb()
    times = []
    for p, o in data:
        t0 = time.perf_counter()
        insert(p, o)
        times.append(time.perf_counter() - t0)
    peak = _peak_mb()
    if mapper.startswith("robomem"):
        self_mb = tree.memory_bytes / 2**20
        keys, vals = tree.leaves()
    else:
        from octomap_compat import octomap_leaves
        self_mb = tree.memoryUsage() / 2**20
        keys, vals = octomap_leaves(tree, RES)
    np.savez(out, keys=keys, occ=vals >= 0)
    print(json.dumps({
        "frames": len(times), "alone_seconds": sum(times), "map_mb": peak - base_rss, "rss_mb": peak,
        "self_mb": self_mb, "known": int(len(keys)), "occupied": int(np.count_nonzero(vals >= 0)),
    }))


def timing_worker(workload: str, frames: int | None, cache: Path, names: list[str]) -> None:
    """All selected mappers in one process, interleaved frame by frame (rotating order), so that
    load from other processes on a shared machine hits them alike."""
    data = load_workload(workload, frames, cache)
    mappers = {m: make_mapper(m, data, WORKLOADS[workload])[0] for m in names}
    times = {m: [] for m in names}
    for i, (p, o) in enumerate(data):
        order = names[i % len(names):] + names[:i % len(names)]
        for m in order:
            t0 = time.perf_counter()
            mappers[m](p, o)
            times[m].append(time.perf_counter() - t0)
    n_points = sum(len(p) for p, _ in data)
    print(json.dumps({m: {"points": n_points, "seconds": sum(t), "points_per_s": n_points / sum(t),
                          "ms_per_frame": float(np.median(t) * 1e3)} for m, t in times.items()}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=None, help="use only the first N frames of each workload")
    ap.add_argument("--workloads", default="room,tum")
    ap.add_argument("--mappers", default=",".join(MAPPERS),
                    help="comma-separated subset of " + ", ".join(MAPPERS) + " (default: all)")
    ap.add_argument("--worker", nargs=3, metavar=("MAPPER", "WORKLOAD", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--timing", metavar="WORKLOAD", help=argparse.SUPPRESS)
    ap.add_argument("--cache", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    names = [m for m in args.mappers.split(",") if m]
    unknown = sorted(set(names) - set(MAPPERS))
    if unknown or not names:
        ap.error(f"unknown mapper(s) {unknown}; choose from {MAPPERS}")
    names = [m for m in MAPPERS if m in names]
    if args.worker:
        mapper, workload, out = args.worker
        worker(mapper, workload, args.frames, Path(args.cache), Path(out))
        return
    if args.timing:
        timing_worker(args.timing, args.frames, Path(args.cache), names)
        return
    from octomap_compat import state_agreement
    cache = Path(tempfile.mkdtemp(prefix="octree_bench_"))
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs (single-threaded workers), load avg {os.getloadavg()[0]:.2f}")
    results = {}

    def run(extra):
        cmd = [sys.executable, __file__, *extra, "--cache", str(cache)]
        if args.frames:
            cmd += ["--frames", str(args.frames)]
        cmd += ["--mappers", ",".join(names)]
        r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        if r.returncode != 0:
            print(f"{' '.join(extra)} failed:\n{r.stderr[-3000:]}", file=sys.stderr)
            return None
        return json.loads(r.stdout.strip().splitlines()[-1])

    for workload in args.workloads.split(","):
        for mapper in names:
            out = cache / f"{workload}-{mapper}.npz"
            res = run(["--worker", mapper, workload, str(out)])
            if res is None:
                continue
            with np.load(out) as z:
                res["keys"], res["occ"] = z["keys"], z["occ"]
            results[(workload, mapper)] = res
        timing = run(["--timing", workload]) or {}
        for mapper, t in timing.items():
            if (workload, mapper) in results:
                results[(workload, mapper)].update(t)
    print()
    print("| workload | mapper | points/s | ms/frame | map MB (peak RSS growth) | process MB | self MB | known voxels "
          "| agree with OctoMap (same mode) | speed vs OctoMap exact |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for workload in args.workloads.split(","):
        ref_exact = results.get((workload, "octomap-exact"))
        for mapper in MAPPERS:
            r = results.get((workload, mapper))
            if r is None or "points_per_s" not in r:
                continue
            ref = results.get((workload, "octomap-" + mapper.split("-")[1]))
            if ref is not None and mapper.startswith("robomem"):
                agree, n, bad = state_agreement(r["keys"], r["occ"], ref["keys"], ref["occ"])
                agree_s = f"{agree * 100:.4f}% ({bad} of {n:,} differ)"
            else:
                agree_s = "reference" if mapper.startswith("octomap") else "(OctoMap not run)"
            speed = f"{r['points_per_s'] / ref_exact['points_per_s']:.1f}x" if ref_exact else "-"
            print(f"| {workload} ({r['frames']} frames) | {mapper} | {r['points_per_s'] / 1e6:.2f} M | "
                  f"{r['ms_per_frame']:.1f} | {r['map_mb']:.1f} | {r['rss_mb']:.0f} | {r['self_mb']:.1f} | {r['known']:,} | {agree_s} | {speed} |")


if __name__ == "__main__":
    main()
