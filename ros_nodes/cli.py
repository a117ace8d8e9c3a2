"""``robomem-ros``: run nodes (default), ``ingest`` a bag into a store (no ROS needed) or ``record``
the stack's outputs to MCAP.

    robomem-ros --nodes bridge,perception,memory,query [--ros-args --params-file FILE]
    robomem-ros ingest BAG --store house.db [--world-frame map]
    robomem-ros record out_dir [--duration 30]
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Optional


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "ingest":
        ap = argparse.ArgumentParser(prog="robomem-ros ingest", description="replay a ROS 2 bag into a store")
        ap.add_argument("bag")
        ap.add_argument("--store", required=True)
        ap.add_argument("--world-frame", default="map")
        ap.add_argument("--camera-frame", default="", help="default: the image header frame_id")
        ap.add_argument("--session", default="")
        for key in ("rgb", "depth", "camera_info", "instances", "labels", "tf", "pose"):
            ap.add_argument(f"--{key.replace('_', '-')}-topic", default=None)
        a = ap.parse_args(argv[1:])
        from ros_nodes.bags import ingest_bag
        topics = {k: getattr(a, f"{k}_topic") for k in ("rgb", "depth", "camera_info", "instances", "labels", "tf", "pose")
                  if getattr(a, f"{k}_topic")}
        rep = ingest_bag(a.bag, a.store, topics=topics, world_frame=a.world_frame, camera_frame=a.camera_frame,
                         session=a.session)
        print(json.dumps(rep, indent=1))
        return 0 if rep["frames"] else 1
    if argv and argv[0] == "record":
        ap = argparse.ArgumentParser(prog="robomem-ros record", description="record map, graph, events, answers to MCAP")
        ap.add_argument("out")
        ap.add_argument("--duration", type=float, default=0.0, help="seconds (0: until Ctrl-C)")
        a = ap.parse_args(argv[1:])
        from ros_nodes.record import record
        print(json.dumps(record(a.out, a.duration), indent=1))
        return 0
    from ros_nodes.runner import main as run
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
