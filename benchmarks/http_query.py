"""HTTP service throughput and latency for where-queries while a writer process ingests.

Builds a store (``--objects`` objects over ``--labels`` labels, through ``LongTermMemory`` bulk
ingest), starts ``robomem serve STORE --workers W --rate 0`` on a free 127.0.0.1 port, starts a
writer process that keeps ingesting observations into the same file (``--write-hz`` batches of
``--write-batch`` observations per second, bounded by the run time), and drives it with
``--clients`` closed-loop clients (each a keep-alive HTTP/1.1 connection sending one request after
the other) for ``--seconds``. Reports requests/s and client-side p50/p99 latency per seed and the
worst over seeds. Loopback only; every loop is bounded.

    python benchmarks/http_query.py                         # 3 seeds, 2 workers, 8 clients
    python benchmarks/http_query.py --workers 4 --seconds 10 --endpoint where

Clients: ``raw`` (default) is a minimal asyncio HTTP/1.1 client (one coroutine per connection,
content-length framing) so the load generator costs little CPU next to the server on a small
machine; ``httpx`` uses ``httpx.AsyncClient`` (one client per connection)."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

S = 10**9
T0 = 1_770_000_000 * S

WRITER = r"""
import sys, time, numpy as np
from robomem.memory import LongTermMemory
path, n_labels, hz, batch, seconds, t_start, seed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
rng = np.random.default_rng(seed + 1000)
lt = LongTermMemory(path, synchronous="NORMAL")
t = t_start
n = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    t0 = time.monotonic()
    ids = 10_000_000 + rng.integers(0, 5000, batch)
    t += 10**8
    pos = rng.uniform(0, 20, (batch, 3))
    labels = [f"thing{int(i) % n_labels}" for i in ids]
    lt.ingest_arrays(ids, np.full(batch, t, np.int64), pos, labels)
    n += batch
    time.sleep(max(0.0, 1.0 / hz - (time.monotonic() - t0)))
lt.close()
print(n)
"""


def build_store(path: Path, n_objects: int, n_labels: int, seed: int) -> int:
    """Two sightings per object (a second day for a tenth of them at a new place); returns the
    newest stamp."""
    from robomem.memory import LongTermMemory
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n_objects + 1)
    labels = [f"thing{i % n_labels}" for i in ids]
    with LongTermMemory(path, synchronous="NORMAL") as lt:
        lt.begin_session("day1", T0)
        pos = rng.uniform(0, 20, (n_objects, 3))
        for k in range(2):
            lt.ingest_arrays(ids, np.full(n_objects, T0 + (k + 1) * S, np.int64), pos, labels)
        lt.end_session(T0 + 10 * S)
        t = T0 + 86400 * S
        lt.begin_session("day2", t)
        moved = rng.choice(ids, n_objects // 10, replace=False)
        lt.ingest_arrays(moved, np.full(len(moved), t + S, np.int64), rng.uniform(0, 20, (len(moved), 3)),
                         [labels[i - 1] for i in moved])
        lt.end_session(t + 10 * S)
    return t + 10 * S


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: Path, port: int, workers: int, warm: bool = False, fast: bool = True) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    env.pop("ROBOMEM_TOKEN", None)
    proc = subprocess.Popen([sys.executable, "-m", "robomem.cli", "serve", str(store), "--port", str(port),
                             "--workers", str(workers), "--rate", "0"] + ([] if warm else ["--no-warm"])
                            + ([] if fast else ["--no-fast-path"]), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240   # a loaded machine imports slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            # every worker up: a few requests
            import httpx
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                time.sleep(0.5 * workers)
                return proc
        except OSError:
            time.sleep(0.2)
        except Exception:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def make_body(endpoint: str, label: str) -> tuple[str, bytes | None]:
    """(path, JSON body) of one request; ``None`` body: a GET."""
    if endpoint == "health":
        return "/v1/health", None
    if endpoint == "where":
        return "/v1/where", json.dumps({"label": label}).encode()
    if endpoint == "query":
        return "/v1/query", json.dumps({"type": "where_is", "target": {"label": label}}).encode()
    return "/v1/ask", json.dumps({"text": f"where is the {label}?"}).encode()


async def raw_client(port: int, requests: list, stop_at: float, lat: list, errors: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    k = 0
    try:
        while time.perf_counter() < stop_at:
            path, body = requests[k % len(requests)]
            k += 1
            t0 = time.perf_counter_ns()
            if body is None:
                writer.write(b"GET %s HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n" % path.encode())
            else:
                writer.write(b"POST %s HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n%s" % (path.encode(), len(body), body))
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            lat.append(time.perf_counter_ns() - t0)
            if b" 200 " not in status_line:
                errors.append(status_line)
    finally:
        writer.close()


async def httpx_client(port: int, requests: list, stop_at: float, lat: list, errors: list) -> None:
    import httpx
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=httpx.Limits(max_connections=1)) as c:
        k = 0
        while time.perf_counter() < stop_at:
            path, body = requests[k % len(requests)]
            k += 1
            t0 = time.perf_counter_ns()
            r = (await c.get(path) if body is None else
                 await c.post(path, content=body, headers={"content-type": "application/json"}))
            lat.append(time.perf_counter_ns() - t0)
            if r.status_code != 200:
                errors.append(r.status_code)


async def drive(port: int, requests: list, clients: int, seconds: float, warmup: float, kind: str) -> dict:
    fn = raw_client if kind == "raw" else httpx_client
    warm_lat, warm_err = [], []
    await asyncio.gather(*(fn(port, requests, time.perf_counter() + warmup, warm_lat, warm_err)
                           for _ in range(clients)))
    lats = [[] for _ in range(clients)]
    errors: list = []
    t0 = time.perf_counter()
    await asyncio.gather(*(fn(port, requests[i::clients] or requests, t0 + seconds, lats[i], errors)
                           for i in range(clients)))
    dt = time.perf_counter() - t0
    allv = np.concatenate([np.asarray(x, np.float64) for x in lats]) / 1e6
    return {"requests": int(allv.size), "rps": allv.size / dt, "p50_ms": float(np.percentile(allv, 50)),
            "p99_ms": float(np.percentile(allv, 99)), "max_ms": float(allv.max()), "errors": len(errors),
            "requests_incl_warmup": int(allv.size) + len(warm_lat)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its children (the uvicorn workers), from
    /proc (Linux): a per-request cost that the machine's other load does not inflate much."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = {pid}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                f = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(f[1]) == pid:
                pids.add(int(d.name))
    for p in pids:
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(f[11]) + int(f[12])) / tick
    return total


def start_writer(args, store: Path, newest: int, seed: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(store), str(args.labels), str(args.write_hz),
                             str(args.write_batch), str(args.seconds + args.warmup + 5), str(newest + S), str(seed)],
                            env=dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def engine_rate(args, seed: int, tmp: Path) -> dict:
    """The retrieval engine in-process (no HTTP): ``engine.query`` where_is, one caller, for
    ``--seconds``, with the writer process running unless ``--write-hz 0``."""
    import robomem
    from robomem.service import engine
    store = tmp / f"engine{seed}.db"
    newest = build_store(store, args.objects, args.labels, seed)
    rng = np.random.default_rng(seed)
    labels = [f"thing{int(i)}" for i in rng.integers(0, args.labels, 512)]
    writer = start_writer(args, store, newest, seed) if args.write_hz > 0 else None
    try:
        if writer is not None:
            time.sleep(1.0)
        with robomem.open(store, readonly=True, perception=None) as stack:
            engine.query(stack, {"type": "where_is", "target": {"label": labels[0]}})
            lat, k = [], 0
            stop = time.perf_counter() + args.seconds
            cpu0 = time.thread_time()
            while time.perf_counter() < stop:
                t0 = time.perf_counter_ns()
                engine.query(stack, {"type": "where_is", "target": {"label": labels[k % len(labels)]}})
                lat.append(time.perf_counter_ns() - t0)
                k += 1
            cpu = time.thread_time() - cpu0
    finally:
        if writer is not None:
            writer.communicate(timeout=60)
    v = np.asarray(lat, np.float64) / 1e6
    return {"seed": seed, "rps": len(lat) / args.seconds, "p50_ms": float(np.percentile(v, 50)),
            "p99_ms": float(np.percentile(v, 99)), "max_ms": float(v.max()), "errors": 0, "requests": len(lat),
            "server_cpu_ms_per_request": cpu * 1e3 / max(1, len(lat))}


def run_seed(args, seed: int, tmp: Path) -> dict:
    store = tmp / f"bench{seed}.db"
    newest = build_store(store, args.objects, args.labels, seed)
    rng = np.random.default_rng(seed)
    labels = [f"thing{int(i)}" for i in rng.integers(0, args.labels, 512)]
    requests = [make_body(args.endpoint, lab) for lab in labels]
    port = free_port()
    server = start_server(store, port, args.workers, warm=args.endpoint == "ask", fast=args.fast_path)
    writer = None
    try:
        if args.write_hz > 0:
            writer = start_writer(args, store, newest, seed)
            time.sleep(1.0)
        cpu0 = cpu_seconds(server.pid)
        res = asyncio.run(drive(port, requests, args.clients, args.seconds, args.warmup, args.client))
        res["server_cpu_ms_per_request"] = (cpu_seconds(server.pid) - cpu0) * 1e3 / res["requests_incl_warmup"]
        if args.baseline:
            # the framework's ceiling on this machine now: the same clients on GET /v1/health
            cpu0 = cpu_seconds(server.pid)
            base = asyncio.run(drive(port, [make_body("health", "")], args.clients, min(args.seconds, 3.0), 0.5,
                                     args.client))
            res["baseline_health_rps"], res["baseline_health_p99_ms"] = base["rps"], base["p99_ms"]
            res["baseline_health_cpu_ms_per_request"] = (cpu_seconds(server.pid) - cpu0) * 1e3 / base[
                "requests_incl_warmup"]
        if writer is not None:
            res["writer_alive_during_run"] = writer.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        if writer is not None:
            out, err = writer.communicate(timeout=60)
            if writer.returncode != 0:
                raise RuntimeError(f"writer failed: {err}")
            res["written_observations"] = int(out.strip() or 0)
    res["seed"] = seed
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--objects", type=int, default=20_000)
    ap.add_argument("--labels", type=int, default=4_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--endpoint", choices=["query", "where", "ask", "health"], default="query",
                    help="query: POST /v1/query where_is (the engine, default); where: POST /v1/where (stack.where_is)")
    ap.add_argument("--no-baseline", dest="baseline", action="store_false",
                    help="skip the GET /v1/health run that measures the framework's ceiling in the same conditions")
    ap.add_argument("--client", choices=["raw", "httpx"], default="raw")
    ap.add_argument("--write-hz", type=float, default=10.0)
    ap.add_argument("--write-batch", type=int, default=200)
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--no-fast-path", dest="fast_path", action="store_false",
                    help="serve /v1/where and /v1/query through the framework, uncached (robomem serve --no-fast-path)")
    ap.add_argument("--engine-only", action="store_true",
                    help="no HTTP: the retrieval engine in-process (engine.query where_is), one caller")
    args = ap.parse_args(argv)
    print(f"http_query: {args.objects} objects / {args.labels} labels, {args.workers} workers, {args.clients} "
          f"{args.client} clients, endpoint {'engine in-process' if args.engine_only else args.endpoint}, "
          f"fast path {'on' if args.fast_path else 'off'}, writer {args.write_hz:g} Hz x {args.write_batch} obs; "
          f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")
    results = []
    with tempfile.TemporaryDirectory() as d:
        for seed in args.seeds:
            r = engine_rate(args, seed, Path(d)) if args.engine_only else run_seed(args, seed, Path(d))
            results.append(r)
            print(f"  seed {seed}: {r['rps']:8.0f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
                  f"max {r['max_ms']:.1f} ms  errors {r['errors']}  written {r.get('written_observations', 0)} obs"
                  + (f"  server CPU {r['server_cpu_ms_per_request']:.3f} ms/req" if "server_cpu_ms_per_request" in r
                     else "")
                  + (f"  | health baseline {r['baseline_health_rps']:.0f} req/s p99 {r['baseline_health_p99_ms']:.2f} ms"
                     f" server CPU {r['baseline_health_cpu_ms_per_request']:.3f} ms/req"
                     if "baseline_health_rps" in r else ""))
    worst = {"rps": min(r["rps"] for r in results), "p99_ms": max(r["p99_ms"] for r in results)}
    mean = {"rps": float(np.mean([r["rps"] for r in results])), "p99_ms": float(np.mean([r["p99_ms"] for r in results]))}
    ok = worst["rps"] >= 1000 and worst["p99_ms"] <= 20 and all(r["errors"] == 0 for r in results)
    print(f"  mean {mean['rps']:.0f} req/s p99 {mean['p99_ms']:.2f} ms; worst seed {worst['rps']:.0f} req/s "
          f"p99 {worst['p99_ms']:.2f} ms; target >= 1000 req/s at p99 <= 20 ms: {'met' if ok else 'NOT met'}; "
          f"load after {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results, "worst": worst, "mean": mean,
                                               "ok": ok}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
