"""``robomem-ros``: start any set of robomem nodes in one process: the perception and simulator
bridge nodes on a SingleThreadedExecutor in a thread of their own (their callbacks never block), the
memory, query and planner nodes on a MultiThreadedExecutor (a query waits for the memory lock, the
planner's ``planner/ask`` for a whole question).

    robomem-ros --nodes bridge,perception,memory,query,planner --ros-args --params-file config/robomem.yaml

Arguments after ``--ros-args`` are ROS arguments with their usual meaning (``--params-file``,
``-p name:=value``, ``-r`` remaps); without a ``--params-file`` the packaged
``config/robomem.yaml`` is used, the file both launch files read. In one process the perception
query and planner nodes share the memory node's store (and its map); a query node started without a
memory node opens the store read-only; the planner needs the memory node in its process."""
from __future__ import annotations

import argparse
import sys
import threading
from typing import Optional

from ros_nodes.config import NODE_NAMES, default_config

ORDER = ("perception", "memory", "query", "planner", "bridge")
#: Nodes spun by one thread of their own: their callbacks are short and never wait (sensor input,
#: timers). rclpy's MultiThreadedExecutor costs several ms of CPU per camera frame (a thread-pool hand-off
#: and a rebuilt wait set over every node's entities per message); see docs/benchmarks.md.
SINGLE_THREADED = ("perception", "bridge")
#: What ``robomem-ros`` and ``robomem_stack`` start without ``--nodes``.
STACK_NODES = "perception,memory,query,planner"


def split_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """(own arguments, ROS arguments starting with ``--ros-args``)."""
    if "--ros-args" in argv:
        k = argv.index("--ros-args")
        return argv[:k], argv[k:]
    return argv, []


def build_nodes(names: list[str], context=None) -> list:
    """Create the named nodes (see :data:`ORDER`) wired to each other; returns them in start order."""
    from ros_nodes.memory_node import MemoryNode
    perc = mem = None
    nodes = []
    if "perception" in names:
        from ros_nodes.perception_node import PerceptionNode
        perc = PerceptionNode(context=context)
        nodes.append(perc)
    if "memory" in names:
        mem = MemoryNode(perception=perc.pipeline if perc is not None else None,
                         map_settings=perc.map_settings() if perc is not None else None, context=context)
        nodes.append(mem)
        if perc is not None:
            perc.memory = mem
    if "query" in names:
        from ros_nodes.query_node import QueryNode
        nodes.append(QueryNode(memory=mem, context=context))
    if "planner" in names:
        from ros_nodes.planner_node import PlannerNode
        nodes.append(PlannerNode(memory=mem, context=context))
    if "bridge" in names:
        from ros_nodes.bridge_node import SimBridgeNode
        nodes.append(SimBridgeNode(context=context))
    return nodes


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, ros_args = split_args(argv)
    ap = argparse.ArgumentParser(prog="robomem-ros", description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", default=STACK_NODES,
                    help=f"comma-separated subset of {','.join(ORDER)} (default: {STACK_NODES})")
    ap.add_argument("--threads", type=int, default=4,
                    help="threads of the MultiThreadedExecutor (memory, query and planner nodes)")
    args = ap.parse_args(own)
    names = [n.strip() for n in args.nodes.split(",") if n.strip()]
    bad = [n for n in names if n not in NODE_NAMES]
    if bad or not names:
        ap.error(f"unknown node(s) {bad}; choose from {', '.join(ORDER)}")
    if "--params-file" not in ros_args:
        ros_args = (ros_args or ["--ros-args"]) + ["--params-file", str(default_config())]

    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor

    from ros_nodes.procs import sigint_interrupts
    sigint_interrupts()
    rclpy.init(args=["robomem-ros", *ros_args])
    nodes = []
    try:
        nodes = build_nodes(names)
        own = {NODE_NAMES[k] for k in SINGLE_THREADED}
        fast = [n for n in nodes if n.get_name() in own]
        rest = [n for n in nodes if n.get_name() not in own]
        executors = []
        if rest:
            executors.append(MultiThreadedExecutor(num_threads=max(2, args.threads)))
            for n in rest:
                executors[-1].add_node(n)
        if fast:
            executors.append(SingleThreadedExecutor())
            for n in fast:
                executors[-1].add_node(n)
        nodes[0].get_logger().info(f"robomem-ros running: {', '.join(n.get_name() for n in nodes)}")
        stop = threading.Event()
        threads = [threading.Thread(target=_spin_until, args=(ex, stop, ExternalShutdownException), daemon=True,
                                    name="robomem-executor") for ex in executors[1:]]
        for t in threads:
            t.start()
        _spin(executors[0], ExternalShutdownException)
        # Stop the other executors' loops and wait for them BEFORE shutting them down: rclpy's
        # Executor.shutdown() (9.1) destroys the executor's guard condition without waiting for a
        # thread blocked in its wait set on it, which crashed the process (SIGSEGV) now and then when
        # called while that thread was still spinning.
        stop.set()
        for t in threads:
            t.join(timeout=10.0)
        stuck = {id(ex) for ex, t in zip(executors[1:], threads) if t.is_alive()}
        for ex in executors:
            if id(ex) not in stuck:
                ex.shutdown()
        if stuck:   # never seen; destroying nodes under a live wait set would crash, so leave them
            nodes[0].get_logger().error("an executor thread did not stop within 10 s; exiting without cleanup")
            nodes = [n for n in nodes if all(n not in ex.get_nodes() for ex in executors[1:] if id(ex) in stuck)]
    finally:
        # stop the planner and perception first (their threads use the store), close the store last
        rank = {"robomem_planner": 0, "robomem_perception": 1, "robomem_memory": 9}
        for n in sorted(nodes, key=lambda n: rank.get(n.get_name(), 5)):
            n.destroy_node()
        rclpy.try_shutdown()
    return 0


def _spin(executor, shutdown_exc) -> None:
    try:
        executor.spin()
    except (KeyboardInterrupt, shutdown_exc):
        pass


def _spin_until(executor, stop: threading.Event, shutdown_exc, period_s: float = 0.1) -> None:
    """Spin ``executor`` in this thread until ``stop`` is set or the context shuts down (checked at
    least every ``period_s``), so the main thread can end the loop before shutting it down."""
    try:
        while not stop.is_set() and executor.context.ok():
            executor.spin_once(timeout_sec=period_s)
    except (KeyboardInterrupt, shutdown_exc):
        pass


if __name__ == "__main__":
    sys.exit(main())
