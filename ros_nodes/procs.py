"""Running robomem nodes as separate processes and talking to them from another one: used by the
multi-process tests and ``benchmarks/ros_pipeline.py``.

- :func:`ros_env`: environment for an isolated ROS 2 graph (localhost only, own domain id, own log
  dir, the big shared-memory Fast DDS profile).
- :func:`start_runner`: ``robomem-ros --nodes ...`` as a child process with extra parameters.
- :class:`RosClient`: an rclpy context + node + executor thread in this process (teardown that
  does not leave dead services behind, see docs/ros2.md)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import yaml

from ros_nodes.config import default_config, fastdds_profile

REPO = Path(__file__).resolve().parents[1]


def sigint_interrupts() -> None:
    """Let SIGINT interrupt this process even when it was started with SIGINT ignored (what a
    non-interactive shell does to background jobs, and what children then inherit): the nodes and the
    recorder shut down cleanly on SIGINT (:func:`stop`), so it must reach rclpy's handler."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def ros_env(domain_id: int, log_dir: str | os.PathLike, base: Optional[dict] = None) -> dict:
    """A copy of ``base`` (default ``os.environ``) set up for an isolated local ROS 2 graph."""
    env = dict(os.environ if base is None else base)
    env.update(ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", ROS_DOMAIN_ID=str(int(domain_id)),
               ROS_LOG_DIR=str(log_dir), OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1",
               FASTDDS_DEFAULT_PROFILES_FILE=str(fastdds_profile()))
    env.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def start_runner(nodes: str, params: dict, env: dict, workdir: str | os.PathLike, tag: str = "runner") -> subprocess.Popen:
    """Start ``python -m ros_nodes.runner --nodes NODES`` with ``config/robomem.yaml`` and then
    ``params`` ({node name: {param: value}}) as parameter files; output goes to ``workdir/TAG.log``."""
    workdir = Path(workdir)
    extra = workdir / f"{tag}.params.yaml"
    extra.write_text(yaml.safe_dump({n: {"ros__parameters": p} for n, p in params.items()}))
    log = open(workdir / f"{tag}.log", "wb")
    cmd = [sys.executable, "-m", "ros_nodes.runner", "--nodes", nodes, "--ros-args",
           "--params-file", str(default_config()), "--params-file", str(extra)]
    return subprocess.Popen(cmd, env=env, cwd=str(REPO), stdout=log, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen, timeout: float = 20.0) -> int:
    """SIGINT (clean shutdown: the store is closed), then SIGKILL after ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


class RosClient:
    """rclpy in this process on its own context, spun by a background thread."""

    def __init__(self, name: str = "robomem_test_client") -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.signals import SignalHandlerOptions
        self.ctx = Context()
        rclpy.init(context=self.ctx, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node(name, context=self.ctx)
        self.executor = SingleThreadedExecutor(context=self.ctx)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:  # noqa: BLE001 - shutdown races end the spin thread
            pass

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str = "condition") -> None:
        t0 = time.monotonic()
        while not predicate():
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.05)

    def call(self, client, request, timeout: float = 10.0):
        """Call a service and wait for the response (raises TimeoutError)."""
        fut = client.call_async(request)
        done = threading.Event()
        fut.add_done_callback(lambda _f: done.set())
        if not done.wait(timeout):
            client.remove_pending_request(fut)
            raise TimeoutError("service call timed out")
        return fut.result()

    def close(self) -> None:
        nodes = list(self.executor.get_nodes())
        self.executor.shutdown()
        for n in nodes:
            n.destroy_node()
        self._thread.join(timeout=5)
        self.ctx.try_shutdown()

    def __enter__(self) -> "RosClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
