"""Simulator bridge: runs :class:`sim.EmbeddedSim` on a generated house and publishes what a robot
would: ``camera/rgb``, ``camera/depth`` (32FC1 metres), ``camera/camera_info``, ground-truth
``camera/instances`` + ``camera/labels`` (standing in for a detector), and ``/tf``
(``map -> base_link -> camera_optical``). It moves on ``cmd_vel`` (``geometry_msgs/Twist``), walks to
``goal_pose`` (``geometry_msgs/PoseStamped``, Nav2's convention), or with ``autopilot: tour`` drives
through every room and turns around in each. ``bridge/done`` (latched Bool) turns true when the tour
is over; ``bridge/stats`` counts frames sent. Lives in ``ros_nodes`` so ``robomem`` never imports
``sim``."""
from __future__ import annotations

import json
import math
import time
from typing import Iterator, Optional

import numpy as np
from geometry_msgs.msg import PoseStamped, TransformStamped, Twist
from robomem_msgs.msg import InstanceLabels
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Bool, String
from tf2_msgs.msg import TFMessage

import sim
from robomem.pose import invert_pose
from ros_nodes.base import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS, RobomemNode
from ros_nodes.config import NODE_NAMES
from ros_nodes.convert import (BadMessageError, array_to_image, fill_transform, intrinsics_to_camera_info,
                               pose_msg_to_matrix, set_stamp)


class SimBridgeNode(RobomemNode):
    DEFAULTS = {
        "seed": 0, "style": "", "n_rooms": 3, "n_objects": 25, "width": 320, "height": 240, "hfov_deg": 90.0,
        "rate_hz": 15.0, "autopilot": "tour", "turn_deg": 20.0, "pitch_deg": -20.0, "publish_when_idle": False,
        "world_frame": "map", "base_frame": "base_link", "camera_frame": "camera_optical", "max_frames": 0,
        "prerender": False,     # render the whole tour first, then stream it at rate_hz (benchmarks)
    }

    def __init__(self, overrides: Optional[dict] = None, **kwargs) -> None:
        super().__init__(NODE_NAMES["bridge"], overrides, **kwargs)
        p = self.params
        self.scene = sim.generate_house(int(p["seed"]), p["style"] or None, n_rooms=int(p["n_rooms"]),
                                        n_objects=int(p["n_objects"]))
        self.sim = sim.EmbeddedSim(self.scene, width=int(p["width"]), height=int(p["height"]),
                                   hfov_deg=float(p["hfov_deg"]), turn_deg=float(p["turn_deg"]),
                                   step_ns=int(1e9 / float(p["rate_hz"])),
                                   start_ns=self.get_clock().now().nanoseconds, seed=int(p["seed"]))
        s = self.sim.agent_state()
        self.sim.set_agent_state(sim.AgentState(s.position, s.yaw, math.radians(float(p["pitch_deg"]))))
        self._plan: Optional[Iterator] = self._tour() if p["autopilot"] == "tour" else None
        self._cmd: Optional[tuple[float, float, float]] = None     # (vx, wz, wall time received)
        self.sent = 0
        self.done = False
        self._rendered: list = []
        self._next = None
        if p["prerender"] and self._plan is not None:
            for res in self._plan:
                self._rendered.append((res.frame, self.sim.agent_state()))
            self._plan = iter(self._rendered)
            self.get_logger().info(f"pre-rendered {len(self._rendered)} frames")
        self.pub_rgb = self.create_publisher(Image, "camera/rgb", SENSOR_QOS)
        self.pub_depth = self.create_publisher(Image, "camera/depth", SENSOR_QOS)
        self.pub_inst = self.create_publisher(Image, "camera/instances", SENSOR_QOS)
        self.pub_labels = self.create_publisher(InstanceLabels, "camera/labels", RELIABLE_QOS)
        self.pub_info = self.create_publisher(CameraInfo, "camera/camera_info", SENSOR_QOS)
        self.pub_tf = self.create_publisher(TFMessage, "/tf", RELIABLE_QOS)
        self.pub_done = self.create_publisher(Bool, "bridge/done", LATCHED_QOS)
        self.pub_stats = self.create_publisher(String, "bridge/stats", RELIABLE_QOS)
        self.create_subscription(Twist, "cmd_vel", self._on_cmd, RELIABLE_QOS)
        self.create_subscription(PoseStamped, "goal_pose", self._on_goal, RELIABLE_QOS)
        self.pub_done.publish(Bool(data=False))
        self.timer = self.create_timer(1.0 / float(p["rate_hz"]), self._tick)
        self.create_timer(1.0, self._stats)
        self.get_logger().info(f"simulating {self.scene.name}: {len(self.scene.rooms)} rooms, "
                               f"{len(self.scene.small_objects())} small objects")

    # ------------------------------------------------------------------ motion
    def _tour(self) -> Iterator:
        """Walk to every room's centre (nearest first) and turn around once there."""
        pf = self.sim.pathfinder
        todo = []
        for room in self.scene.rooms.values():
            c = pf.snap_point(np.array([*room.centroid[:2], room.floor_z]))
            todo.append(c)
        turns = int(round(360.0 / float(self.params["turn_deg"])))
        while todo:
            here = self.sim.agent_state().position
            k = int(np.argmin([pf.geodesic_distance(here, g) for g in todo]))
            goal = todo.pop(k)
            yield from sim.walk_to(self.sim, goal, max_steps=300, tolerance=0.3)
            for _ in range(turns):
                yield self.sim.step("turn_left")

    def _on_cmd(self, msg: Twist) -> None:
        vals = (msg.linear.x, msg.angular.z)
        if not all(math.isfinite(v) for v in vals):
            self.drop("cmd_vel", BadMessageError("non-finite velocity"))
            return
        self._cmd = (float(msg.linear.x), float(msg.angular.z), time.monotonic())
        self._plan = None

    def _on_goal(self, msg: PoseStamped) -> None:
        try:
            T = pose_msg_to_matrix(msg.pose, "goal_pose")
        except BadMessageError as exc:
            self.drop("goal_pose", exc)
            return
        self._plan = iter(sim.walk_to(self.sim, T[:3, 3], max_steps=400, tolerance=0.25))
        self._cmd = None

    def _advance(self) -> bool:
        """One motion step; False when nothing moves (idle)."""
        if self._plan is not None:
            try:
                step = next(self._plan)
                if isinstance(step, tuple):          # pre-rendered (frame, agent state)
                    self._next = step
                return True
            except StopIteration:
                self._plan = None
                if not self.done:
                    self.done = True
                    self.pub_done.publish(Bool(data=True))
                    self.get_logger().info(f"tour done after {self.sent} frames")
                return False
        if self._cmd is not None and time.monotonic() - self._cmd[2] < 0.5:
            vx, wz, _ = self._cmd
            dt = 1.0 / float(self.params["rate_hz"])
            s = self.sim.agent_state()
            yaw = s.yaw + wz * dt
            target = s.position + vx * dt * np.array([math.cos(yaw), math.sin(yaw), 0.0])
            end, _ = self.sim.pathfinder.furthest_free(s.position, target)
            self.sim.set_agent_state(sim.AgentState(np.array([end[0], end[1], s.position[2]]), yaw, s.pitch))
            self.sim.clock_ns += self.sim.step_ns
            return True
        return False

    # ------------------------------------------------------------------ publishing
    def _tick(self) -> None:
        moved = self._advance()
        limit = int(self.params["max_frames"])
        if (not moved and not self.params["publish_when_idle"] and self.sent > 0) or (limit and self.sent >= limit):
            return
        if not moved:
            self.sim.clock_ns += self.sim.step_ns
        self.publish_frame()

    def publish_frame(self) -> None:
        p = self.params
        if self._next is not None:
            (f, s), self._next = self._next, None
        else:
            f, s = self.sim.render().frame, self.sim.agent_state()
        ns = f.stamp_ns
        T_wb = np.eye(4)
        T_wb[:2, :2] = [[math.cos(s.yaw), -math.sin(s.yaw)], [math.sin(s.yaw), math.cos(s.yaw)]]
        T_wb[:3, 3] = s.position
        T_bc = invert_pose(T_wb) @ f.T_world_camera
        tfm = TFMessage()
        for parent, child, T in ((p["world_frame"], p["base_frame"], T_wb), (p["base_frame"], p["camera_frame"], T_bc)):
            ts = TransformStamped()
            set_stamp(ts.header, ns)
            ts.header.frame_id, ts.child_frame_id = parent, child
            fill_transform(ts.transform, T)
            tfm.transforms.append(ts)
        self.pub_tf.publish(tfm)
        cam = p["camera_frame"]
        self.pub_info.publish(intrinsics_to_camera_info(CameraInfo, self.sim.intrinsics, cam, ns))
        ids = f.instance_ids
        big = ids.size and int(ids.max()) > 65535
        labels = InstanceLabels()
        set_stamp(labels.header, ns)
        labels.header.frame_id = cam
        labels.ids = [int(k) for k in f.labels]
        labels.labels = [str(v) for v in f.labels.values()]
        self.pub_labels.publish(labels)
        self.pub_inst.publish(array_to_image(Image, ids.astype(np.int32 if big else np.uint16),
                                             "32SC1" if big else "16UC1", cam, ns))
        self.pub_depth.publish(array_to_image(Image, f.depth, "32FC1", cam, ns))
        self.pub_rgb.publish(array_to_image(Image, f.rgb, "rgb8", cam, ns))
        self.sent += 1

    def _stats(self) -> None:
        self.pub_stats.publish(String(data=json.dumps({"sent": self.sent, "done": self.done,
                                                       "dropped": dict(self.dropped)})))
