"""Bags without ROS: ``ingest_bag`` replays a ROS 2 bag (MCAP or rosbag2 sqlite3) of RGB-D + camera
info + poses (``/tf`` or a ``PoseStamped`` topic) and optional instance images + labels into a
robomem store, with the same synchronisation, transform lookup and validation as the perception
node. Uses the pure-Python ``rosbags`` package; no rclpy needed.

    robomem-ros ingest my_recording/ --store house.db"""
from __future__ import annotations

from collections import Counter, deque
from pathlib import Path
from typing import Optional

import robomem
from robomem.errors import InvalidInputError
from robomem.frame import Frame
from ros_nodes.convert import (BadMessageError, camera_info_to_intrinsics, depth_to_metres, image_to_array,
                               labels_from_msg, stamp_ns)
from ros_nodes.sync import ApproximateTimeSync
from ros_nodes.tf_buffer import TfBuffer, UnknownFrameError

MSG_DIR = Path(__file__).resolve().parent / "robomem_msgs" / "msg"
DEFAULT_TOPICS = {"rgb": "/camera/rgb", "depth": "/camera/depth", "camera_info": "/camera/camera_info",
                  "instances": "/camera/instances", "labels": "/camera/labels", "tf": "/tf", "tf_static": "/tf_static",
                  "pose": "/camera/pose"}


class BagError(InvalidInputError):
    """The bag cannot be read or lacks the topics ingest needs."""


def typestore():
    """A rosbags type store with ROS 2 Kilted's types plus robomem_msgs."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore
    ts = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for f in sorted(MSG_DIR.glob("*.msg")):
        types.update(get_types_from_msg(f.read_text(), f"robomem_msgs/msg/{f.stem}"))
    ts.register(types)
    return ts


def ingest_bag(bag: str | Path, store: str | Path, *, topics: Optional[dict] = None, world_frame: str = "map",
               camera_frame: str = "", session: str = "", slop_ns: int = 20_000_000,
               tf_tolerance_ns: int = 50_000_000, depth_scale_16u: float = 0.001) -> dict:
    """Replay ``bag`` into the store at ``store``; returns a report (frames used, dropped by reason,
    objects remembered). Malformed messages are counted and skipped, as in the perception node."""
    from rosbags.highlevel import AnyReader
    top = {**DEFAULT_TOPICS, **(topics or {})}
    path = Path(bag)
    if not path.exists():
        raise BagError(f"bag {bag} does not exist")
    dropped: Counter = Counter()
    tf = TfBuffer(history=100_000)
    state = {"K": None}
    ready: deque = deque()
    try:
        reader = AnyReader([path], default_typestore=typestore())
        reader.open()
    except Exception as exc:  # noqa: BLE001 - rosbags raises several unrelated types
        raise BagError(f"cannot read bag {bag}: {exc}") from None
    try:
        have = {c.topic for c in reader.connections}
        if top["rgb"] not in have or top["depth"] not in have or top["camera_info"] not in have:
            raise BagError(f"bag {bag} needs {top['rgb']}, {top['depth']} and {top['camera_info']}; has {sorted(have)}")
        inst = top["instances"] in have and top["labels"] in have
        streams = [top["rgb"], top["depth"]] + ([top["instances"], top["labels"]] if inst else [])
        sync = ApproximateTimeSync(len(streams), int(slop_ns), lambda *m: ready.append(m), queue_size=10)
        conns = [c for c in reader.connections if c.topic in set(top.values())]
        stack = robomem.open(store)
        n_frames, first = 0, None
        try:
            def flush(now_ns: Optional[int]) -> None:
                nonlocal n_frames, first
                while ready and (now_ns is None or stamp_ns(ready[0][1].header) + tf_tolerance_ns < now_ns):
                    msgs = ready.popleft()
                    try:
                        frame = _frame(msgs, state["K"], tf, world_frame, camera_frame, tf_tolerance_ns, depth_scale_16u)
                        if first is None:
                            first = frame.stamp_ns
                            stack.begin_session(session or Path(bag).name, first)
                        stack.observe(frame)
                        state["last"] = frame.stamp_ns
                        n_frames += 1
                    except (ValueError, UnknownFrameError) as exc:
                        dropped[_reason(exc)] += 1

            for conn, t, raw in reader.messages(connections=conns):
                try:
                    msg = reader.deserialize(raw, conn.msgtype)
                except Exception:  # noqa: BLE001 - a corrupt record is skipped like a malformed message
                    dropped["undecodable message"] += 1
                    continue
                topic = conn.topic
                if topic in (top["tf"], top["tf_static"]):
                    for tr in msg.transforms:
                        a, r = tr.transform.translation, tr.transform.rotation
                        try:
                            tf.set_transform(tr.header.frame_id, tr.child_frame_id, stamp_ns(tr.header),
                                             (a.x, a.y, a.z), (r.x, r.y, r.z, r.w), static=topic == top["tf_static"])
                        except InvalidInputError:
                            dropped["transform"] += 1
                elif topic == top["pose"]:
                    p, q = msg.pose.position, msg.pose.orientation
                    try:
                        tf.set_transform(msg.header.frame_id or world_frame, camera_frame or "camera_optical",
                                         stamp_ns(msg.header), (p.x, p.y, p.z), (q.x, q.y, q.z, q.w))
                    except InvalidInputError:
                        dropped["pose"] += 1
                elif topic == top["camera_info"]:
                    try:
                        K = camera_info_to_intrinsics(msg)
                        if K != state.get("K"):       # keep the old object (it caches its pixel rays)
                            state["K"] = K
                    except BadMessageError:
                        dropped["camera_info"] += 1
                elif topic in streams:
                    sync.add(streams.index(topic), stamp_ns(msg.header), msg)
                flush(t)
            flush(None)
            if first is not None:
                stack.end_session(state["last"])
            objects = stack.scene_graph.num_nodes("object") if stack.scene_graph is not None else 0
        finally:
            stack.close()
    finally:
        reader.close()
    dropped["unmatched (no partner within slop)"] += sync.dropped
    return {"frames": n_frames, "dropped": {k: v for k, v in dropped.items() if v}, "objects": objects,
            "instances": inst}


def _frame(msgs, K, tf: TfBuffer, world: str, camera_frame: str, tol: int, scale: float) -> Frame:
    if K is None:
        raise BadMessageError("no camera_info before the first frame")
    rgb = image_to_array(msgs[0], ("rgb8", "bgr8"), "rgb")
    depth = depth_to_metres(msgs[1], scale)
    ids, labels = None, {}
    if len(msgs) == 4:
        ids = image_to_array(msgs[2], ("16UC1", "mono16", "32SC1", "mono8", "8UC1"), "instances")
        labels = labels_from_msg(msgs[3])
    for name, a in (("rgb", rgb), ("depth", depth), ("instances", ids)):
        if a is not None and a.shape[:2] != K.shape:
            raise BadMessageError(f"{name} is {a.shape[1]}x{a.shape[0]}, camera_info says {K.width}x{K.height}")
    t = stamp_ns(msgs[1].header)
    T = tf.lookup(world, camera_frame or msgs[1].header.frame_id, t, tol)
    return Frame(depth=depth, intrinsics=K, T_world_camera=T, stamp_ns=t, rgb=rgb, instance_ids=ids, labels=labels)


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnknownFrameError):
        return "no pose (unknown frame or no transform near the stamp)"
    m = str(exc)
    for key in ("encoding", "bytes", "camera_info", "older"):
        if key in m:
            return f"frame ({key})"
    return f"frame ({type(exc).__name__})"
