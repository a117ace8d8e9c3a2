"""Store growth of the whole memory stack when the world does not change (and when it does).

A simulated robot (``sim.EmbeddedSim`` on a generated house, real perception through
``MemoryStack.observe``) patrols the largest room of the house: it stands at one of ``--places``
navigable spots, turns through 8 headings (45 degrees each), walks to another spot, and so on, at
one frame per ``--period-ms`` of data time (default 1 s: 10,000 frames = 2.8 h of patrol). The
store file (after a flush and a WAL checkpoint) and the process RSS are measured after ``--short``
and after ``--frames`` frames; growth = size(long) / size(short) - 1, for the whole file and for
the world memory (the file minus the robot's own trajectory: the kept poses, their summaries and
their indexes, measured with SQLite's ``dbstat``). The trajectory is compacted by age
(``TrajectoryResolution``: exact for 10 min of data time, then per 10-min/1-h/1-day bucket, room and
1 m cell), so with the default schedule its size stops growing once the patrol is older than the
raw horizon.

Frames: each (spot, heading) view is rendered once into a pool and the patrol cycles through the
pool with fresh stamps, because rendering 10,000 frames per house on a loaded 2-core machine costs
more than the perception itself. Perception still runs on every frame. With ``--change-every N``
one small object of the room is moved to another receptacle every N frames (the pool is
re-rendered), so the store should grow with the number of changes.

Run:  OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/memory_growth.py [--frames 10000]
      [--short 1000] [--seeds 0,1,2] [--styles all] [--change-every 0] [--width 160 --height 120]
      [--period-ms 1000] [--consolidation-frames 10] [--jsonl out.jsonl]
Every result row is also appended to ``--jsonl`` (one JSON object per style and seed) as it comes.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_CACHE_DIR", ".numba_cache")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from robomem.stack import open as open_stack  # noqa: E402
from sim.base import AgentState  # noqa: E402
from sim.embedded import EmbeddedSim  # noqa: E402
from sim.house_styles import LAYOUT_STYLES, generate_house  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def spots(scene, env, rng, n: int) -> list[np.ndarray]:
    room = max(scene.rooms.values(), key=lambda r: r.area)
    pf = env.pathfinder
    pts = [pf.snap_point(room.centroid)]
    lo, hi = np.array(room.polygon.bounds[:2]), np.array(room.polygon.bounds[2:])
    for _ in range(2000):
        if len(pts) >= n:
            break
        p = np.array([*rng.uniform(lo, hi), room.floor_z])
        if pf.is_navigable(p) and scene.room_at(p[:2]) == room.room_id and \
                all(np.linalg.norm(p[:2] - q[:2]) > 1.0 for q in pts):
            pts.append(p)
    return pts, room


def render_pool(env, pts) -> list:
    return [env.render(AgentState(p, h * math.pi / 4, 0.0)).frame for p in pts for h in range(8)]


def patrol_order(n_spots: int, frames: int, rng) -> np.ndarray:
    """Pool index per frame: a full turn (8 headings, random start and direction) at a spot, then the
    next spot (a random other one)."""
    out, spot = [], 0
    while len(out) < frames:
        start, d = int(rng.integers(8)), int(rng.choice([-1, 1]))
        out.extend(spot * 8 + (start + d * k) % 8 for k in range(8))
        spot = int((spot + rng.integers(1, n_spots)) % n_spots) if n_spots > 1 else 0
    return np.asarray(out[:frames])


def size_now(stack, path: Path) -> dict:
    stack.flush()
    stack.long_term.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    st = stack.long_term.stats()
    c = stack.long_term.connection
    names = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE tbl_name IN "
                                     "('trajectory', 'trajectory_summary')")]
    traj = c.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN (%s)" % ",".join("?" * len(names)),
                     names).fetchone()[0]
    size = path.stat().st_size
    return {"bytes": size, "world_bytes": size - traj, "traj_bytes": traj, "rss": rss_mb(), **st}


def run(style: str, seed: int, frames: int, short: int, n_spots: int, change_every: int, width: int, height: int,
        work: Path, step_ns: int, consolidation_ns: int, poses_only: bool = False) -> dict:
    scene = generate_house(seed, style)
    env = EmbeddedSim(scene, width=width, height=height)
    rng = np.random.default_rng(seed)
    pts, room = spots(scene, env, rng, n_spots)
    pool = render_pool(env, pts)
    order = patrol_order(len(pts), frames, rng)
    movable = [o for o in scene.small_objects() if o.room == room.room_id]
    recs = [r.receptacle_id for r in scene.receptacles.values() if r.room == room.room_id]
    path = work / f"{style}-{seed}-{change_every}.db"
    out = {"style": style, "seed": seed, "spots": len(pts), "changes": 0, "period_ns": step_ns, "frames": frames,
           "short_frames": short, "width": width, "height": height, "change_every": change_every,
           "consolidation_ns": consolidation_ns}
    t_start = time.perf_counter()
    t0 = pool[0].stamp_ns
    extra = {"perception": None, "map": None} if poses_only else {}
    with open_stack(path, consolidation_interval_ns=consolidation_ns, **extra) as stack:
        stack.begin_session("patrol", t0)
        for f in range(frames):
            if change_every and f and f % change_every == 0 and movable and len(recs) > 1:
                obj = movable[int(rng.integers(len(movable)))]
                target = [r for r in recs if r != obj.receptacle_id]
                try:
                    scene.move_object(obj.instance_id, target[int(rng.integers(len(target)))], rng=rng)
                    out["changes"] += 1
                    pool = render_pool(env, pts)
                except Exception:  # no free spot: skip this change
                    pass
            if poses_only:  # the robot's own track only: the poses observe() would record, no perception
                T = pool[order[f]].T_world_camera
                stack.record(t0 + f * step_ns, robot_position=T[:3, 3], robot_yaw=math.atan2(T[1, 2], T[0, 2]),
                             robot_room=list(scene.rooms).index(room.room_id) + 1)
            else:
                stack.observe(dataclasses.replace(pool[order[f]], stamp_ns=t0 + f * step_ns))
            if f + 1 == short:
                out["short"] = size_now(stack, path)
                out["changes_at_short"] = out["changes"]
        out["long"] = size_now(stack, path)
        stack.end_session(t0 + frames * step_ns)
    out["s_per_frame"] = (time.perf_counter() - t_start) / frames
    s, lg = out["short"], out["long"]
    out["growth"] = lg["bytes"] / s["bytes"] - 1
    out["world_growth"] = lg["world_bytes"] / s["world_bytes"] - 1
    out["traj_growth_bytes"] = lg["traj_bytes"] - s["traj_bytes"]
    out["rss_growth_mb"] = lg["rss"] - s["rss"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--short", type=int, default=1000)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--styles", default="all")
    ap.add_argument("--places", type=int, default=4)
    ap.add_argument("--change-every", type=int, default=0)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    ap.add_argument("--period-ms", type=float, default=1000.0, help="data time between frames")
    ap.add_argument("--consolidation-frames", type=int, default=10,
                    help="flush to the store every that many frames of data time (the stack's consolidation interval)")
    ap.add_argument("--poses-only", action="store_true",
                    help="record only the robot's poses (no perception, no map): the trajectory log alone")
    ap.add_argument("--jsonl", default=None, help="append one JSON line per (style, seed) result")
    a = ap.parse_args()
    styles = LAYOUT_STYLES if a.styles == "all" else tuple(a.styles.split(","))
    seeds = [int(s) for s in a.seeds.split(",")]
    print(f"memory growth, {a.short} vs {a.frames} frames, {a.width}x{a.height}, {a.places} spots x 8 headings, "
          f"change every {a.change_every or 'never'}, one frame per {a.period_ms:g} ms of data time; "
          f"{time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.1f}")
    hdr = (f"{'style':10s} {'seed':>4s} {'kB@short':>9s} {'kB@long':>8s} {'growth':>7s} {'world':>7s} {'kf':>7s} {'obj':>7s} "
           f"{'plc':>7s} {'ev':>7s} {'traj':>9s} {'RSS MB':>13s} {'ms/f':>5s} chg")
    print(hdr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="robomem-growth-") as d:
        for style in styles:
            for seed in seeds:
                r = run(style, seed, a.frames, a.short, a.places, a.change_every, a.width, a.height, Path(d),
                        int(a.period_ms * 1e6), int(a.consolidation_frames * a.period_ms * 1e6), a.poses_only)
                r["load"] = os.getloadavg()[0]
                if a.jsonl:
                    with open(a.jsonl, "a") as fh:
                        fh.write(json.dumps(r) + "\n")
                s, lg = r["short"], r["long"]
                print(f"{style:10s} {seed:4d} {s['bytes'] / 1e3:9.1f} {lg['bytes'] / 1e3:8.1f} {r['growth']:7.1%} {r['world_growth']:7.1%} "
                      f"{s['keyframes']:>3d}>{lg['keyframes']:<3d} {s['objects']:>3d}>{lg['objects']:<3d} "
                      f"{s['placements']:>3d}>{lg['placements']:<3d} {s['events']:>3d}>{lg['events']:<3d} "
                      f"{s['trajectory'] + s['trajectory_summary']:>4d}>{lg['trajectory'] + lg['trajectory_summary']:<4d} "
                      f"{s['rss']:6.0f}>{lg['rss']:<6.0f} "
                      f"{r['s_per_frame'] * 1e3:5.1f} {r['changes']}", flush=True)
                print(f"{'':15s} trajectory (kept poses + summaries + indexes): {s['traj_bytes'] / 1e3:.1f} kB -> "
                      f"{lg['traj_bytes'] / 1e3:.1f} kB ({r['traj_growth_bytes'] / 1e3:+.1f} kB)", flush=True)
                n_chg = r["changes"] - r["changes_at_short"]
                if n_chg:
                    print(f"{'':15s} {n_chg} changes between the two readings: world memory grew "
                          f"{(lg['world_bytes'] - s['world_bytes']) / 1e3:.1f} kB = "
                          f"{(lg['world_bytes'] - s['world_bytes']) / n_chg / 1e3:.1f} kB per change", flush=True)
                rows.append(r)
    g = np.array([r["growth"] for r in rows])
    w = np.array([r["world_growth"] for r in rows])
    worst = rows[int(np.argmax(w))]
    print(f"world memory growth (all but the robot's trajectory): mean {w.mean():.1%}, worst {w.max():.1%} "
          f"({worst['style']} seed {worst['seed']})")
    print(f"file growth: mean {g.mean():.1%}, worst {g.max():.1%}; "
          f"RSS change: mean {np.mean([r['rss_growth_mb'] for r in rows]):+.1f} MB, "
          f"worst {max(r['rss_growth_mb'] for r in rows):+.1f} MB")
    for style in styles:
        gs = [r["growth"] for r in rows if r["style"] == style]
        ws = [r["world_growth"] for r in rows if r["style"] == style]
        if gs:
            tg = [r["traj_growth_bytes"] / 1e3 for r in rows if r["style"] == style]
            print(f"  {style:10s} file growth worst {max(gs):6.1%} mean {np.mean(gs):6.1%}; "
                  f"world worst {max(ws):6.1%} mean {np.mean(ws):6.1%}; trajectory worst {max(tg):+.1f} kB "
                  f"mean {np.mean(tg):+.1f} kB ({len(gs)} seeds)")


if __name__ == "__main__":
    main()
