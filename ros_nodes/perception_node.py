"""Perception node: RGB + depth (+ optional instance image and labels from any detector) synchronised
by timestamp, the camera pose from ``/tf`` (or a ``PoseStamped`` / ``Odometry`` topic fed into the
same transform buffer), camera intrinsics from ``camera_info``; every frame goes into the memory
(``MemoryNode.observe``) or, without a memory node, through the perception pipeline alone.

Publishes ``map`` (``nav_msgs/OccupancyGrid``, latched) and ``voxels`` (occupied voxel centres,
``sensor_msgs/PointCloud2``) at most every ``map_period_s``, ``scene_graph``
(``visualization_msgs/MarkerArray``, latched) and ``perception/stats`` (JSON counters) at most every
``publish_period_s``.

Malformed messages (wrong encoding, size mismatch, NaN pose, unknown frame, stale stamp) are
logged, counted in the stats and dropped; the node keeps going."""
from __future__ import annotations

import json
import queue
from collections import deque
import threading
import time
from typing import Callable, Optional

import numpy as np
from nav_msgs.msg import OccupancyGrid, Odometry
from rclpy.qos import QoSProfile
from geometry_msgs.msg import PoseStamped
from robomem_msgs.msg import InstanceLabels
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import String
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from robomem.errors import InvalidInputError
from robomem.frame import Frame
from robomem.mapping import OccupancyOctree
from robomem.perception import PerceptionPipeline
from ros_nodes.base import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS, RobomemNode
from ros_nodes.config import NODE_NAMES
from ros_nodes.convert import (BadMessageError, camera_info_to_intrinsics, depth_to_metres, grid_to_msg,
                               image_to_array, labels_from_msg, points_to_cloud, stamp_ns)
from ros_nodes.markers import graph_markers
from ros_nodes.sync import ApproximateTimeSync
from ros_nodes.tf_buffer import TfBuffer, UnknownFrameError

_TF_STATIC_QOS = LATCHED_QOS
#: Camera images: best effort like ``SENSOR_QOS`` but a history of 15 (1 s at 15 Hz) instead of 5, so
#: that a burst of work elsewhere in the process (a room segmentation holding the GIL) does not lose
#: frames in DDS before the synchroniser sees them.
_IMAGE_QOS = QoSProfile(history=SENSOR_QOS.history, depth=15, reliability=SENSOR_QOS.reliability,
                        durability=SENSOR_QOS.durability)


class _LazyOutput:
    """One published output (the grid, the voxel cloud, the markers) that is built only while somebody
    subscribes. ``dirty``: frames went into its source since it was last published; ``skipped``: it was
    due when nobody subscribed, so it goes out as soon as somebody does (:meth:`waiting`)."""

    def __init__(self, publisher, build: Callable[[int], object]) -> None:
        self.publisher = publisher
        self.build = build          # stamp (ns) -> message, or None when there is nothing to send
        self.dirty = False
        self.skipped = False

    def publish(self, now: int) -> None:
        if self.publisher.get_subscription_count():
            msg = self.build(now)
            if msg is not None:
                self.publisher.publish(msg)
            self.dirty = self.skipped = False
        else:
            self.skipped = self.dirty

    def waiting(self) -> bool:
        return self.skipped and self.publisher.get_subscription_count() > 0


class PerceptionNode(RobomemNode):
    DEFAULTS = {
        "world_frame": "map", "camera_frame": "",           # "" = the image header's frame_id
        "pose_source": "tf",                                 # tf | pose | odom (the last two feed the TF buffer)
        "use_instances": True, "slop_s": 0.02, "tf_tolerance_s": 0.05, "depth_scale_16u": 0.001,
        "queue_size": 30, "resolution": 0.05, "max_range": 6.0, "map_stride": 2, "structure_every": 50,
        "structure_period_s": 2.0, "publish_period_s": 1.0, "map_period_s": 2.0, "grid_z_min": 0.1, "grid_z_max": 1.9,
    }

    def __init__(self, overrides: Optional[dict] = None, memory=None, **kwargs) -> None:
        super().__init__(NODE_NAMES["perception"], overrides, **kwargs)
        p = self.params
        self.memory = memory
        # One map: with a memory node it is the stack's (``stack.map``, filled by ``MemoryStack.observe``
        # with every ``map_stride``-th pixel, see ``map_settings``); without one, a map of this node's own.
        self._own_octree: Optional[OccupancyOctree] = None
        # The pipeline neither fills a map nor recomputes rooms by itself: this node does both (see _work).
        self.pipeline = PerceptionPipeline(octree=None, structure_every=0)
        self.tf = TfBuffer()
        self.intrinsics = None
        self.counts = {"synced": 0, "processed": 0}
        self._queue: queue.Queue = queue.Queue(maxsize=int(p["queue_size"]))
        n = 4 if p["use_instances"] else 2
        self.sync = ApproximateTimeSync(n, int(p["slop_s"] * 1e9), self._on_set, queue_size=10)
        self.create_subscription(Image, "camera/rgb", lambda m: self._offer(0, m), _IMAGE_QOS)
        self.create_subscription(Image, "camera/depth", lambda m: self._offer(1, m), _IMAGE_QOS)
        if p["use_instances"]:
            self.create_subscription(Image, "camera/instances", lambda m: self._offer(2, m), _IMAGE_QOS)
            self.create_subscription(InstanceLabels, "camera/labels", lambda m: self._offer(3, m), RELIABLE_QOS)
        self.create_subscription(CameraInfo, "camera/camera_info", self._on_info, SENSOR_QOS)
        self.create_subscription(TFMessage, "/tf", lambda m: self._on_tf(m, False), RELIABLE_QOS)
        self.create_subscription(TFMessage, "/tf_static", lambda m: self._on_tf(m, True), _TF_STATIC_QOS)
        if p["pose_source"] == "pose":
            self.create_subscription(PoseStamped, "camera/pose", self._on_pose, SENSOR_QOS)
        elif p["pose_source"] == "odom":
            self.create_subscription(Odometry, "odom", self._on_odom, SENSOR_QOS)
        elif p["pose_source"] != "tf":
            raise InvalidInputError(f"pose_source must be tf, pose or odom, got {p['pose_source']!r}")
        self.pub_grid = self.create_publisher(OccupancyGrid, "map", LATCHED_QOS)
        self.pub_cloud = self.create_publisher(PointCloud2, "voxels", RELIABLE_QOS)
        self.pub_markers = self.create_publisher(MarkerArray, "scene_graph", LATCHED_QOS)
        self.pub_stats = self.create_publisher(String, "perception/stats", RELIABLE_QOS)
        self._changed = False         # frames processed since the stats were last published
        self._grid = _LazyOutput(self.pub_grid, self._grid_msg)
        self._cloud = _LazyOutput(self.pub_cloud, self._cloud_msg)
        self._markers = _LazyOutput(self.pub_markers, self._markers_msg)
        self._last_pub = 0.0
        self._last_map_pub = 0.0
        self._cpu: deque = deque(maxlen=1000)     # per processed frame: this thread's CPU seconds
        self._proc_cpu0: Optional[float] = None    # process CPU time at the first frame (all threads)
        self._wall: deque = deque(maxlen=1000)
        self._last_structure = 0
        self._last_structure_t = 0.0
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._work, name="robomem-perception", daemon=True)
        self._worker.start()

    def map_settings(self) -> dict:
        """The map keywords of ``robomem.open`` for a memory node sharing this node's map parameters."""
        p = self.params
        return {"map_resolution": float(p["resolution"]), "map_max_range": float(p["max_range"]),
                "map_stride": int(p["map_stride"])}

    @property
    def octree(self) -> OccupancyOctree:
        """The map this node publishes: the memory stack's (``stack.map.octree``) when a memory node
        with a map is attached, else one of its own."""
        mem = self.memory
        if mem is not None and getattr(mem.stack, "map", None) is not None:
            return mem.stack.map.octree
        if self._own_octree is None:
            self._own_octree = OccupancyOctree(self.params["resolution"], max_range=self.params["max_range"])
        return self._own_octree

    # ------------------------------------------------------------------ inputs (executor threads)
    def _offer(self, stream: int, msg) -> None:
        self.sync.add(stream, stamp_ns(msg.header), msg)

    def _on_set(self, *msgs) -> None:
        self.counts["synced"] += 1
        try:
            self._queue.put_nowait(msgs)
        except queue.Full:
            self.drop("frame (processing queue full)", RuntimeError(f"queue of {self._queue.maxsize} is full"))

    def _on_info(self, msg) -> None:
        try:
            K = camera_info_to_intrinsics(msg)
        except BadMessageError as exc:
            self.drop("camera_info", exc)
            return
        if K != self.intrinsics:      # keep the old object when unchanged: it caches its pixel rays
            self.intrinsics = K

    def _on_tf(self, msg, static: bool) -> None:
        for t in msg.transforms:
            r, tr = t.transform.rotation, t.transform.translation
            try:
                self.tf.set_transform(t.header.frame_id, t.child_frame_id, stamp_ns(t.header),
                                      (tr.x, tr.y, tr.z), (r.x, r.y, r.z, r.w), static=static)
            except InvalidInputError as exc:
                self.drop("transform", exc)

    def _on_pose(self, msg) -> None:
        camera = self.params["camera_frame"] or "camera_optical"
        p, q = msg.pose.position, msg.pose.orientation
        try:
            self.tf.set_transform(msg.header.frame_id or self.params["world_frame"], camera, stamp_ns(msg.header),
                                  (p.x, p.y, p.z), (q.x, q.y, q.z, q.w))
        except InvalidInputError as exc:
            self.drop("pose", exc)

    def _on_odom(self, msg) -> None:
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        try:
            self.tf.set_transform(msg.header.frame_id or self.params["world_frame"], msg.child_frame_id or "base_link",
                                  stamp_ns(msg.header), (p.x, p.y, p.z), (q.x, q.y, q.z, q.w))
        except InvalidInputError as exc:
            self.drop("odometry", exc)

    # ------------------------------------------------------------------ processing (worker thread)
    def _frame(self, msgs) -> Frame:
        rgb_msg, depth_msg = msgs[0], msgs[1]
        deadline = time.monotonic() + 0.2      # camera_info / transforms may arrive just after the images
        while self.intrinsics is None and time.monotonic() < deadline:
            time.sleep(0.005)
        K = self.intrinsics
        if K is None:
            raise BadMessageError("no camera_info received yet")
        rgb = image_to_array(rgb_msg, ("rgb8", "bgr8"), "rgb")
        depth = depth_to_metres(depth_msg, self.params["depth_scale_16u"])
        ids, labels = None, {}
        if len(msgs) == 4:
            ids = image_to_array(msgs[2], ("16UC1", "mono16", "32SC1", "mono8", "8UC1"), "instances")
            labels = labels_from_msg(msgs[3])
            if ids.dtype.kind == "i" and ids.size and ids.min() < 0:
                raise BadMessageError("instances: negative instance ids")
        for name, a in (("rgb", rgb), ("depth", depth), ("instances", ids)):
            if a is not None and a.shape[:2] != K.shape:
                raise BadMessageError(f"{name} is {a.shape[1]}x{a.shape[0]}, camera_info says {K.width}x{K.height}")
        t = stamp_ns(depth_msg.header)
        camera = self.params["camera_frame"] or depth_msg.header.frame_id
        T = self._lookup(camera, t)
        return Frame(depth=depth, intrinsics=K, T_world_camera=T, stamp_ns=t, rgb=rgb,
                     instance_ids=ids, labels=labels)

    def _lookup(self, camera: str, t: int):
        world = self.params["world_frame"]
        tol = int(self.params["tf_tolerance_s"] * 1e9)
        deadline = time.monotonic() + 0.2
        while True:
            try:
                return self.tf.lookup(world, camera, t, tol)
            except UnknownFrameError:
                if time.monotonic() < deadline:
                    time.sleep(0.005)      # the transform for this stamp may still be on its way
                    continue
                raise

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                msgs = self._queue.get(timeout=0.1)
            except queue.Empty:
                msgs = None
            if msgs is not None:
                self._process(msgs)
            idle = self._queue.empty()
            n = self.pipeline.frames_processed
            every = int(self.params["structure_every"])
            # Rooms and places: every `structure_every` frames while busy; when the queue runs empty at
            # most every `structure_period_s` (keeping up empties it after every frame).
            rested = time.monotonic() - self._last_structure_t >= self.params["structure_period_s"]
            try:
                if n > self._last_structure and ((idle and rested) or (every > 0 and n - self._last_structure >= every)):
                    self._structure()
                now = time.monotonic()
                pp, mp = self.params["publish_period_s"], self.params["map_period_s"]
                due = self._changed and (idle or now - self._last_pub >= 5 * pp) and now - self._last_pub >= pp
                # while frames queue up, only every fifth period: the projection costs frames' time
                dirty = self._grid.dirty or self._cloud.dirty
                map_due = dirty and now - self._last_map_pub >= mp and (idle or now - self._last_map_pub >= 5 * mp)
                waiting = idle and self._waiting()
                if due or map_due or waiting:
                    self.publish_outputs(with_map=map_due or (waiting and dirty))
            except Exception as exc:  # noqa: BLE001 - e.g. publishers destroyed at shutdown; never kill the worker
                if self._stop.is_set():
                    return
                self.drop("outputs (internal error)", exc)
                self._last_pub = time.monotonic()

    def _process(self, msgs) -> None:
        c0, w0 = time.thread_time(), time.perf_counter()
        try:
            frame = self._frame(msgs)
            if self.memory is not None and self.memory.stack.map is not None:
                self.memory.observe(frame)          # perception + memory + the stack's map
            else:
                if self.memory is not None:
                    self.memory.observe(frame)
                else:
                    self.pipeline.process(frame)
                # Only this worker thread touches the node's own octree: no lock.
                self.octree.insert_depth(frame.depth, frame.intrinsics, frame.T_world_camera,
                                         stride=int(self.params["map_stride"]), stamp_ns=frame.stamp_ns)
        except (ValueError, UnknownFrameError) as exc:   # robomem errors are ValueErrors
            self.drop(_kind(exc), exc)
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the node; it is logged
            self.drop("frame (internal error)", exc)
            return
        self.counts["processed"] += 1
        self._cpu.append(time.thread_time() - c0)
        if self._proc_cpu0 is None:
            self._proc_cpu0 = time.process_time() - (time.thread_time() - c0)
        self._wall.append(time.perf_counter() - w0)
        self._changed = True
        for output in (self._grid, self._cloud, self._markers):
            output.dirty = True

    def _structure(self) -> None:
        pl = self.pipeline
        if not self.octree.num_voxels:
            return
        grid = self.octree.project_2d(pl.floor_z + pl.room_band[0], pl.floor_z + pl.room_band[1])
        with self._locked():          # the graph changes: queries read its rooms
            pl.update_structure(grid)
        self._changed = self._markers.dirty = True      # rooms and places are in the markers
        self._last_structure = self.pipeline.frames_processed
        self._last_structure_t = time.monotonic()

    def _locked(self):
        return self.memory.lock if self.memory is not None else _NoLock()

    def publish_outputs(self, with_map: bool = True) -> None:
        """Publish the stats and, to topics somebody subscribes to, the scene-graph markers and, with
        ``with_map``, the grid and the voxel cloud (the costly part: projection and voxel listing;
        worker thread). An output nobody subscribes to is not built: it stays due and goes out as soon
        as a subscriber appears (the latched grid and markers reach late joiners that way too)."""
        now = self.get_clock().now().nanoseconds
        # Called from the worker thread, the only writer of the map (observe, under the memory lock) and
        # of the graph: reading them here needs no lock.
        if with_map:
            self._grid.publish(now)
            self._cloud.publish(now)
            self._last_map_pub = time.monotonic()
        self._markers.publish(now)
        self.publish_stats()
        self._changed = False
        self._last_pub = time.monotonic()

    def _grid_msg(self, now: int):
        p = self.params
        if not self.octree.num_voxels:
            return None
        grid = self.octree.project_2d(p["grid_z_min"], p["grid_z_max"])
        return grid_to_msg(OccupancyGrid, grid, p["world_frame"], now)

    def _cloud_msg(self, now: int):
        return points_to_cloud(PointCloud2, PointField, self.octree.occupied_voxels(), self.params["world_frame"], now)

    def _markers_msg(self, now: int):
        return graph_markers(self.pipeline.scene_graph, self.params["world_frame"], now)

    def _waiting(self) -> bool:
        """An output was not built for lack of subscribers, and now somebody subscribes."""
        return any(output.waiting() for output in (self._grid, self._cloud, self._markers))

    def stats(self) -> dict:
        return {**self.counts, "sync_dropped": self.sync.dropped, "queued": self._queue.qsize(),
                "dropped": dict(self.dropped), "objects": self.pipeline.scene_graph.num_nodes("object"),
                "rooms": self.pipeline.scene_graph.num_nodes("room"),
                "cpu_ms_p50": round(1e3 * float(np.median(self._cpu)), 2) if self._cpu else None,
                # the whole process (executor threads receiving and syncing, other nodes, publishing)
                "process_cpu_ms_per_frame": round(1e3 * (time.process_time() - self._proc_cpu0) / self.counts["processed"], 2)
                if self._proc_cpu0 is not None and self.counts["processed"] else None,
                "wall_ms_p50": round(1e3 * float(np.median(self._wall)), 2) if self._wall else None}

    def publish_stats(self) -> None:
        self.pub_stats.publish(String(data=json.dumps(self.stats())))

    def destroy_node(self) -> None:
        self._stop.set()
        self._worker.join(timeout=5.0)
        super().destroy_node()


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _kind(exc: Exception) -> str:
    msg = str(exc)
    if isinstance(exc, UnknownFrameError):
        return "frame (unknown or unconnected camera frame)"
    for key in ("encoding", "bytes", "camera_info says", "NaN", "stale", "older", "step"):
        if key in msg:
            return f"frame ({key})"
    return f"frame ({type(exc).__name__})"
