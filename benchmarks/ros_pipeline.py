"""ROS 2 pipeline across processes over DDS: the simulator bridge (320x240 RGB-D + instances + /tf
at 15 Hz, touring a generated house) and the stack (perception + memory + query) run as separate
``robomem-ros`` processes; this process is the client.

Measured per house: frames the stack processed / frames the bridge sent (target >= 0.95), the rate
the bridge achieved, and the ``Query`` round trip (``where_is``, client call to response) both while
frames stream in and after the tour (target p50 <= 5 ms). Every house style, ``--seeds`` seeds
each; the worst style and the mean are reported. The load average is printed: the figures depend on
what else runs on the machine.

Run (needs `make ros`; one JSON line per house goes to --out as soon as the house is done, so a
partial run still gives figures; --summarise re-prints the table from such a file):

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/ros_pipeline.py --seeds 2 --out ros_pipeline.jsonl
    .venv/bin/python benchmarks/ros_pipeline.py --summarise ros_pipeline.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def run_house(seed: int, style: str, rate_hz: float, n_after: int, domain: int, prerender: bool,
              verbose: bool = True, viewer: bool = False) -> dict:
    from robomem_msgs.srv import Query
    from std_msgs.msg import Bool, String

    import sim
    from ros_nodes.base import LATCHED_QOS, RELIABLE_QOS
    from ros_nodes.procs import RosClient, ros_env, start_runner, stop
    tmp = Path(tempfile.mkdtemp(prefix="robomem-ros-bench-"))
    env = ros_env(domain, tmp / "log")
    for k in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID", "ROS_LOG_DIR", "FASTDDS_DEFAULT_PROFILES_FILE"):
        os.environ[k] = env[k]
    scene = sim.generate_house(seed, style, n_rooms=4, n_objects=30)
    labels = sorted({o.category for o in scene.small_objects()})
    bridge_p = {"seed": seed, "style": style, "n_rooms": 4, "n_objects": 30, "rate_hz": rate_hz,
                "width": 320, "height": 240, "prerender": prerender}
    stack = start_runner("perception,memory,query", {"robomem_memory": {"store": str(tmp / "m.db")}}, env, tmp, "stack")
    got = {"stats": None, "done": False, "bridge": None}
    during, after = [], []
    timeouts = 0
    try:
        with RosClient("robomem_bench_client") as c:
            n = c.node
            n.create_subscription(String, "perception/stats", lambda m: got.__setitem__("stats", json.loads(m.data)),
                                  RELIABLE_QOS)
            n.create_subscription(String, "bridge/stats", lambda m: got.__setitem__("bridge", json.loads(m.data)),
                                  RELIABLE_QOS)
            n.create_subscription(Bool, "bridge/done", lambda m: got.__setitem__("done", m.data), LATCHED_QOS)
            if viewer:   # what RViz / Foxglove would subscribe to: the stack then builds and sends them
                from nav_msgs.msg import OccupancyGrid
                from sensor_msgs.msg import PointCloud2
                from visualization_msgs.msg import MarkerArray
                for cls, topic, qos in ((OccupancyGrid, "map", LATCHED_QOS), (PointCloud2, "voxels", RELIABLE_QOS),
                                        (MarkerArray, "scene_graph", LATCHED_QOS)):
                    n.create_subscription(cls, topic, lambda m, t=topic: got.__setitem__(t, got.get(t, 0) + 1), qos)
            cli = n.create_client(Query, "query")
            c.wait_for(cli.service_is_ready, 60, "the query service")
            bridge = start_runner("bridge", {"robomem_sim_bridge": bridge_p}, env, tmp, "bridge")
            try:
                c.wait_for(lambda: got["bridge"] is not None and got["bridge"]["sent"] > 0, 180, "the first frame")
                t0, sent0 = time.monotonic(), got["bridge"]["sent"]
                k = 0
                while not got["done"]:
                    if time.monotonic() - t0 > 300:
                        raise TimeoutError("tour did not finish in 300 s")
                    q = Query.Request(query_json=json.dumps({"kind": "where_is", "label": labels[k % len(labels)]}))
                    ts = time.perf_counter()
                    try:
                        c.call(cli, q)
                        during.append(time.perf_counter() - ts)
                    except TimeoutError:
                        timeouts += 1
                    k += 1
                    time.sleep(0.2)
                tour_s = time.monotonic() - t0
                c.wait_for(lambda: got["bridge"]["done"], 5, "final bridge stats")
                sent = got["bridge"]["sent"]
                # Caught up: the queue is empty and either (almost) every frame sent was synced or dropped,
                # or nothing more was processed for 5 s (frames lost before the synchroniser).
                seen = {"n": -1, "t": time.monotonic()}

                def caught_up() -> bool:
                    st = got["stats"]
                    if not st:
                        return False
                    if st["processed"] != seen["n"]:
                        seen.update(n=st["processed"], t=time.monotonic())
                    return st["queued"] == 0 and (st["synced"] + sum(st["dropped"].values()) >= sent * 0.9
                                                  or time.monotonic() - seen["t"] > 5.0)
                c.wait_for(caught_up, 300, "the stack to catch up")
                caught_s = time.monotonic() - t0
                time.sleep(1.5)
                st = got["stats"]
                for k in range(n_after):
                    q = Query.Request(query_json=json.dumps({"kind": "where_is", "label": labels[k % len(labels)]}))
                    ts = time.perf_counter()
                    res = c.call(cli, q)
                    after.append(time.perf_counter() - ts)
                    assert res.success, res.error
            finally:
                stop(bridge)
    finally:
        stop(stack)
    r = {"seed": seed, "style": style, "sent": sent, "processed": st["processed"], "ratio": st["processed"] / max(sent, 1),
         "bridge_hz": (sent - sent0) / tour_s, "stack_hz": st["processed"] / caught_s,
         "cpu_ms": st["cpu_ms_p50"], "wall_ms": st["wall_ms_p50"], "proc_cpu_ms": st.get("process_cpu_ms_per_frame"), "dropped": st["dropped"], "sync_dropped": st.get("sync_dropped"), "objects": st["objects"], "rooms": st["rooms"],
         "q_during_p50_ms": 1e3 * float(np.median(during)) if during else float("nan"),
         "q_after_p50_ms": 1e3 * float(np.median(after)), "q_after_p99_ms": 1e3 * float(np.percentile(after, 99)),
         "n_during": len(during), "n_after": len(after), "timeouts": timeouts, "viewer": viewer,
         "received": {t: got.get(t, 0) for t in ("map", "voxels", "scene_graph")}}
    if verbose:
        print(f"  {style:10s} seed {seed}: sent {sent} processed {r['processed']} ratio {r['ratio']:.3f} "
              f"bridge {r['bridge_hz']:.1f} Hz, stack {r['stack_hz']:.1f} Hz sustained, frame CPU p50 {r['cpu_ms']} ms "
              f"wall {r['wall_ms']} ms, stack process CPU {r['proc_cpu_ms']} ms/frame | query p50 during {r['q_during_p50_ms']:.2f} ms (n={len(during)}, timeouts {timeouts}), "
              f"after {r['q_after_p50_ms']:.2f} ms p99 {r['q_after_p99_ms']:.2f} | dropped {r['dropped']}", flush=True)
    return r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--rate", type=float, default=15.0)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--styles", default="")
    ap.add_argument("--live", action="store_true",
                    help="render while streaming (the bridge's own rate under load) instead of pre-rendering the tour")
    ap.add_argument("--viewer", action="store_true",
                    help="the client also subscribes to map, voxels and scene_graph (as RViz would): the stack "
                         "only builds those while somebody subscribes")
    ap.add_argument("--out", default="", help="append one JSON line per house to this file")
    ap.add_argument("--summarise", default="", metavar="JSONL", help="only print the table of a previous --out file")
    args = ap.parse_args(argv)
    import sim
    if args.summarise:
        rows = [json.loads(line) for line in Path(args.summarise).read_text().splitlines() if line.strip()]
        summarise(rows, [s for s in sim.LAYOUT_STYLES if any(r["style"] == s for r in rows)])
        return 0
    styles = [s for s in args.styles.split(",") if s] or list(sim.LAYOUT_STYLES)
    print(f"load average at start: {os.getloadavg()} on {os.cpu_count()} cores; "
          f"{'live rendering' if args.live else 'tour pre-rendered by the bridge, streamed'} at {args.rate} Hz"
          f"{'; client subscribes to map, voxels, scene_graph' if args.viewer else ''}", flush=True)
    rows = []
    domain = 30 + os.getpid() % 40
    for style in styles:
        for seed in range(args.seed0, args.seed0 + args.seeds):
            domain += 1          # a fresh DDS domain per house: nothing of the previous one lingers
            load0 = os.getloadavg()[0]
            r = run_house(seed, style, args.rate, args.queries, domain, not args.live, viewer=args.viewer)
            r.update(load_start=load0, load_end=os.getloadavg()[0], rate=args.rate, live=args.live,
                     date=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
            rows.append(r)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(r) + "\n")
    print(f"load average at end: {os.getloadavg()}")
    summarise(rows, styles)
    return 0


def _med(rows: list, key: str) -> str:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return f"{np.median(vals):.1f}" if vals else "-"


def summarise(rows: list, styles: list) -> None:
    """Print the per-style table (mean and worst house) and the overall line."""
    print("\n| style | houses | processed/sent mean | worst | bridge Hz | stack Hz (sent / time to catch up) | frame CPU ms p50 | process CPU ms/frame | query p50 after (ms) | p99 after | p50 while streaming |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for style in styles:
        rs = [r for r in rows if r["style"] == style]
        print(f"| {style} | {len(rs)} | {np.mean([r['ratio'] for r in rs]):.3f} | {min(r['ratio'] for r in rs):.3f} | "
              f"{np.mean([r['bridge_hz'] for r in rs]):.1f} | {min(r['stack_hz'] for r in rs):.1f} | {np.median([r['cpu_ms'] for r in rs]):.1f} | {_med(rs, 'proc_cpu_ms')} | {np.median([r['q_after_p50_ms'] for r in rs]):.2f} | "
              f"{max(r['q_after_p99_ms'] for r in rs):.2f} | {np.median([r['q_during_p50_ms'] for r in rs]):.2f} |")
    worst = min(rows, key=lambda r: r["ratio"])
    print(f"\nall: processed/sent mean {np.mean([r['ratio'] for r in rows]):.3f}, worst {worst['ratio']:.3f} "
          f"({worst['style']} seed {worst['seed']}); query p50 after the tour {np.median([r['q_after_p50_ms'] for r in rows]):.2f} ms "
          f"(worst house {max(r['q_after_p50_ms'] for r in rows):.2f}); while streaming "
          f"{np.median([r['q_during_p50_ms'] for r in rows]):.2f} ms")


if __name__ == "__main__":
    sys.exit(main())
