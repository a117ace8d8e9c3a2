"""``robomem-ros record OUT``: write what the stack publishes (map, occupied voxels, scene-graph
markers, memory events, query answers) to an MCAP bag viewable in Foxglove, with the pure-Python
``rosbags`` writer and rclpy's serialised (CDR) messages."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from ros_nodes.bags import typestore

#: topic -> (message type, latched)
RECORD_TOPICS = {"/map": ("nav_msgs/msg/OccupancyGrid", True), "/scene_graph": ("visualization_msgs/msg/MarkerArray", True),
                 "/voxels": ("sensor_msgs/msg/PointCloud2", False), "/memory/events": ("robomem_msgs/msg/MemoryEvent", False),
                 "/memory/answers": ("std_msgs/msg/String", False)}


def record(out: str | Path, duration_s: float = 0.0, topics: Optional[dict] = None) -> dict:
    """Record until ``duration_s`` (0: until Ctrl-C). Returns messages written per topic."""
    import importlib

    import rclpy
    from rclpy.context import Context
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rosbags.rosbag2 import StoragePlugin, Writer

    from ros_nodes.base import LATCHED_QOS, RELIABLE_QOS
    from ros_nodes.procs import sigint_interrupts
    sigint_interrupts()
    topics = topics or RECORD_TOPICS
    ts = typestore()
    ctx = Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node("robomem_recorder", context=ctx)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    counts = {t: 0 for t in topics}
    with Writer(Path(out), version=9, storage_plugin=StoragePlugin.MCAP) as w:
        for topic, (mtype, latched) in topics.items():
            conn = w.add_connection(topic, mtype, typestore=ts)
            pkg, _, name = mtype.split("/")
            cls = getattr(importlib.import_module(f"{pkg}.msg"), name)

            def on_msg(raw: bytes, conn=conn, topic=topic) -> None:
                w.write(conn, time.time_ns(), raw)
                counts[topic] += 1
            node.create_subscription(cls, topic, on_msg, LATCHED_QOS if latched else RELIABLE_QOS, raw=True)
        t_end = time.monotonic() + duration_s if duration_s > 0 else float("inf")
        try:
            while time.monotonic() < t_end and ctx.ok():
                ex.spin_once(timeout_sec=0.1)
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        finally:
            ex.shutdown()
            node.destroy_node()
            ctx.try_shutdown()
    return counts
