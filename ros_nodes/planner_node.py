"""Planner node: a question in, the robot sent to look where the value of information says it is worth
it, the answer out.

Questions arrive on ``planner/question`` (``std_msgs/String``, words or a retrieval JSON query) or
through the service ``planner/ask`` (``robomem_msgs/srv/Query``; the call returns when the episode
is over). Each question is one :class:`robomem.planning.Agent` episode over

- recall: :class:`robomem.planning.AnswerRecall` on the memory node's stack (``stack.ask`` /
  ``stack.query``: retrieval's calibrated beliefs), rooms from the perception's room segmentation;
- path lengths: :class:`robomem.planning.map_paths.MapPathLength` on the stack's own map
  (``stack.map``, the map the perception node fills and publishes), refreshed after every look;
- act: a ``geometry_msgs/PoseStamped`` goal on ``goal_pose`` (Nav2's convention; the simulator
  bridge walks to it) at a free spot near the place to check, arrival judged from ``/tf``
  (``world_frame → base_frame``), then a look around by turning in place on ``cmd_vel``; whether
  the target was seen is read from the memory (sightings stamped after the arrival).

The answer is published on ``planner/answer`` (``std_msgs/String``, JSON) in the schema every robomem
interface shares (``kind``, ``value``, ``text``, ``confidence``, ``evidence``, ``query``) plus
``plan`` (steps, path, goals sent, stop reason, the decision trace). It needs the memory node in the
same process (``robomem-ros --nodes perception,memory,query,planner``)."""
from __future__ import annotations

import json
import math
import queue
import threading
import time
from typing import Any, Optional

import numpy as np
from geometry_msgs.msg import PoseStamped, Twist
from rclpy.callback_groups import ReentrantCallbackGroup
from robomem_msgs.srv import Query
from std_msgs.msg import String
from tf2_msgs.msg import TFMessage

from robomem.errors import InvalidInputError
from robomem.planning import Agent, AnswerRecall, Budget, CostModel, Outcome, RoomInfo, policy_by_name
from robomem.planning.map_paths import MapPathLength
from ros_nodes.base import RELIABLE_QOS, RobomemNode
from ros_nodes.config import NODE_NAMES
from ros_nodes.convert import set_stamp, stamp_ns
from ros_nodes.tf_buffer import TfBuffer, UnknownFrameError


class PlannerError(InvalidInputError):
    """The planner cannot run (no memory node, no robot pose) or the question is malformed."""


class PlannerNode(RobomemNode):
    """Parameters: ``world_frame``, ``base_frame``; the decision (``policy``: voi | memory-only |
    explore-always | threshold, ``max_steps``, ``max_path_m``, ``cost_per_m``, ``reach_m``); motion
    (``goal_tolerance_m``, ``goal_timeout_s``, ``stall_s``, ``turn_rate``, ``explore_turn_deg``,
    ``verify_turn_deg``, ``settle_s``, ``look_timeout_s``); ``ask_timeout_s`` for the service."""

    DEFAULTS = {
        "world_frame": "map", "base_frame": "base_link", "policy": "voi", "max_steps": 4, "max_path_m": 60.0,
        "cost_per_m": 0.01, "reach_m": 1.0, "goal_tolerance_m": 0.35, "goal_timeout_s": 60.0, "stall_s": 2.0,
        "turn_rate": 1.5, "explore_turn_deg": 360.0, "verify_turn_deg": 120.0, "settle_s": 3.0,
        "look_timeout_s": 30.0, "ask_timeout_s": 300.0,
    }

    def __init__(self, overrides: Optional[dict] = None, memory=None, **kwargs) -> None:
        super().__init__(NODE_NAMES["planner"], overrides, **kwargs)
        p = self.params
        policy_by_name(p["policy"])                                  # fail early on a bad name
        self.memory = memory
        self.tf = TfBuffer()
        self._group = ReentrantCallbackGroup()
        self.create_subscription(TFMessage, "/tf", self._on_tf, RELIABLE_QOS)
        self.create_subscription(String, "planner/question", self._on_question, RELIABLE_QOS)
        self.srv = self.create_service(Query, "planner/ask", self._on_ask, callback_group=self._group)
        self.pub_goal = self.create_publisher(PoseStamped, "goal_pose", RELIABLE_QOS)
        self.pub_cmd = self.create_publisher(Twist, "cmd_vel", RELIABLE_QOS)
        self.pub_answer = self.create_publisher(String, "planner/answer", RELIABLE_QOS)
        self.goals_sent = 0
        self.episodes = 0
        self._jobs: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._work, name="robomem-planner", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------------ inputs (executor threads)
    def _on_tf(self, msg) -> None:
        for t in msg.transforms:
            r, tr = t.transform.rotation, t.transform.translation
            try:
                self.tf.set_transform(t.header.frame_id, t.child_frame_id, stamp_ns(t.header),
                                      (tr.x, tr.y, tr.z), (r.x, r.y, r.z, r.w))
            except InvalidInputError as exc:
                self.drop("transform", exc)

    def _on_question(self, msg) -> None:
        text = msg.data.strip()
        if not text:
            self.drop("question", PlannerError("empty question"))
            return
        self._jobs.put((text, None))

    def _on_ask(self, req, res):
        question = req.question.strip() or req.query_json.strip()
        if not question or (req.question.strip() and req.query_json.strip()):
            res.success, res.error = False, "give exactly one of question (words) or query_json (structured)"
            return res
        box: dict = {}
        done = threading.Event()
        self._jobs.put((question, (box, done)))
        if not done.wait(float(self.params["ask_timeout_s"])):
            res.success, res.error = False, "the episode did not end within ask_timeout_s"
            return res
        ans = box["answer"]
        res.success = ans.get("kind") != "error"
        res.error = "" if res.success else str(ans.get("text", ""))
        res.text = str(ans.get("text", ""))
        res.answer_json = json.dumps(ans, default=_json_default)
        res.confidence = float(ans.get("confidence") or 0.0)
        return res

    # ------------------------------------------------------------------ episodes (worker thread)
    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                question, reply = self._jobs.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                ans = self.answer(question)
            except Exception as exc:  # noqa: BLE001 - a failed episode is answered, not fatal
                self.get_logger().error(f"planner failed on {question!r}: {exc!r}")
                ans = {"kind": "error", "value": None, "text": f"planner error: {exc}", "confidence": 0.0,
                       "evidence": [], "query": question}
            self.pub_answer.publish(String(data=json.dumps(ans, default=_json_default)))
            if reply is not None:
                reply[0]["answer"] = ans
                reply[1].set()

    def answer(self, question: str) -> dict:
        """Run one episode for ``question`` (words, or a retrieval JSON query); returns the answer dict."""
        if self.memory is None:
            raise PlannerError("the planner needs the memory node in its process "
                               "(robomem-ros --nodes perception,memory,query,planner)")
        q: Any = question
        if question.startswith("{"):
            try:
                q = json.loads(question)
            except json.JSONDecodeError as exc:
                raise PlannerError(f"question looks like JSON but is not: {exc}") from None
        p = self.params
        stack, lock = self.memory.stack, self.memory.lock
        with lock:
            rooms, room_map = self._rooms(stack)
        room_of = None if room_map is None else (lambda xyz: _room_at(room_map, xyz))
        recall = AnswerRecall(stack, rooms, self._now_ns, room_of=room_of)
        self._target = None

        def recall_locked(question):
            with lock:
                b = recall(question)
            # the label as stored (retrieval resolved synonyms: "couch" -> sofa), else as asked
            ev = getattr(recall.last_answer, "evidence", None) or ()
            self._target = getattr(ev[0], "label", None) if ev else None
            self._target = self._target or b.target
            return b

        paths = MapPathLength(lambda: stack.map.octree, reach_m=float(p["reach_m"]),
                              driven_xy=lambda: np.asarray(self._driven, dtype=np.float64).reshape(-1, 2))
        self._paths = paths
        self._driven: list = []
        start = self._robot_xyz(wait_s=5.0)
        self._driven.append(list(start[:2]))
        with lock:
            paths.refresh()
        self._goals: list = []
        agent = Agent(recall_locked, paths, self._act, policy=policy_by_name(p["policy"]),
                      costs=CostModel(cost_per_m=float(p["cost_per_m"])),
                      budget=Budget(max_steps=int(p["max_steps"]), max_path_m=float(p["max_path_m"])))
        ep = agent.run(q, start)
        self.episodes += 1
        with lock:
            final = _answer_dict(recall, q, ep, self._now_ns())
        final["plan"] = {"steps": ep.steps, "path_m": round(ep.path_m, 3), "goals": self._goals,
                         "stop_reason": ep.stop_reason, "confidence": ep.confidence, "answer": ep.answer,
                         "unreachable": list(ep.unreachable), "trace": ep.trace}
        return final

    def _now_ns(self) -> int:
        last = getattr(self.memory, "_last_ns", None)
        return int(last) if last is not None else int(self.get_clock().now().nanoseconds)

    def _rooms(self, stack) -> tuple[dict, Any]:
        g = stack.scene_graph
        if g is None:
            return {}, None
        rooms = {int(a["id"]): RoomInfo(str(a.get("room_type") or "unknown"), tuple(float(v) for v in a["position"]))
                 for a in g.rooms()}
        return rooms, getattr(g, "room_map", None)

    # ------------------------------------------------------------------ the robot (tf, goal_pose, cmd_vel)
    def _robot_pose(self) -> Optional[tuple[np.ndarray, float, int]]:
        """(x y z, yaw, stamp) of ``base_frame`` in ``world_frame`` from the latest transform."""
        base = self.params["base_frame"]
        t = self.tf.latest_stamp(base)
        if t is None:
            return None
        try:
            T = self.tf.lookup(self.params["world_frame"], base, t, 10**9)
        except UnknownFrameError:
            return None
        return T[:3, 3].copy(), math.atan2(T[1, 0], T[0, 0]), t

    def _robot_xyz(self, wait_s: float = 0.0) -> tuple:
        deadline = time.monotonic() + wait_s
        while True:
            rp = self._robot_pose()
            if rp is not None:
                return tuple(float(v) for v in rp[0])
            if time.monotonic() >= deadline:
                raise PlannerError(f"no transform {self.params['world_frame']} -> {self.params['base_frame']} "
                                   "on /tf: where the robot is is unknown")
            time.sleep(0.05)

    def _stand_point(self, start, goal) -> tuple:
        """The free spot within ``reach_m`` of ``goal`` nearest to ``start`` on the robot's map
        (the goal itself when the map has none)."""
        xy = self._paths.stand_point(start, goal) if self._paths.grid is not None else None
        if xy is None:
            return tuple(goal)
        return xy[0], xy[1], float(start[2])

    def _send_goal(self, xyz, yaw: float = 0.0) -> None:
        m = PoseStamped()
        set_stamp(m.header, self.get_clock().now().nanoseconds)
        m.header.frame_id = self.params["world_frame"]
        m.pose.position.x, m.pose.position.y, m.pose.position.z = (float(v) for v in xyz)
        m.pose.orientation.z, m.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
        self.pub_goal.publish(m)
        self.goals_sent += 1
        self._goals.append([round(float(v), 3) for v in xyz])

    def _go(self, goal) -> tuple[float, np.ndarray]:
        """Send ``goal`` and wait until the robot is there, stops moving or times out; (driven m, pose)."""
        p = self.params
        self._send_goal(goal)
        t0 = last_move = time.monotonic()
        here = np.asarray(self._robot_xyz(), dtype=np.float64)
        driven = 0.0
        while True:
            time.sleep(0.05)
            now = time.monotonic()
            pos = np.asarray(self._robot_xyz(), dtype=np.float64)
            step = float(np.hypot(*(pos[:2] - here[:2])))
            if step > 0.01:
                driven += step
                here = pos
                last_move = now
                self._driven.append(list(pos[:2]))
            if float(np.hypot(*(pos[:2] - np.asarray(goal[:2])))) <= p["goal_tolerance_m"]:
                break
            if now - last_move > p["stall_s"] or now - t0 > p["goal_timeout_s"]:
                break
        return driven, here

    def _turn(self, degrees: float) -> None:
        """Turn in place by ``degrees`` (measured on /tf) on ``cmd_vel``; stop after ``look_timeout_s``."""
        p = self.params
        want = math.radians(abs(degrees))
        rate = abs(float(p["turn_rate"]))
        rp = self._robot_pose()
        if rp is None or want <= 0 or rate <= 0:
            return
        yaw, turned = rp[1], 0.0
        t0 = time.monotonic()
        cmd = Twist()
        cmd.angular.z = rate
        while turned < want and time.monotonic() - t0 < p["look_timeout_s"]:
            self.pub_cmd.publish(cmd)
            time.sleep(0.1)
            rp = self._robot_pose()
            if rp is not None:
                turned += abs(math.remainder(rp[1] - yaw, 2 * math.pi))
                yaw = rp[1]
        self.pub_cmd.publish(Twist())

    def _caught_up(self, stamp: int) -> None:
        """Wait (up to ``settle_s``) until the memory has processed the frames up to ``stamp``."""
        deadline = time.monotonic() + float(self.params["settle_s"])
        while time.monotonic() < deadline:
            last = getattr(self.memory, "_last_ns", None)
            if last is not None and last >= stamp:
                return
            time.sleep(0.05)

    def _act(self, action) -> Outcome:
        p = self.params
        t0 = time.monotonic()
        start = self._robot_xyz()
        goal = self._stand_point(start, action.goal)
        driven, here = self._go(goal)
        reached = float(np.hypot(*(here[:2] - np.asarray(action.goal[:2])))) <= p["reach_m"] + p["goal_tolerance_m"]
        rp = self._robot_pose()
        arrived_ns = rp[2] if rp is not None else 0
        if reached:
            self._turn(p["explore_turn_deg"] if action.kind == "explore" else p["verify_turn_deg"])
            rp = self._robot_pose()
            self._caught_up(rp[2] if rp is not None else arrived_ns)
        with self.memory.lock:
            self._paths.refresh()                        # the map grew on the way
            hits = [a for a in self.memory.stack.where_is(self._target or "") if a.last_seen_ns >= arrived_ns] \
                if reached and self._target else []
        pose = tuple(float(v) for v in here)
        time_s = time.monotonic() - t0
        if not hits:
            return Outcome(driven, time_s, pose, reached=reached)
        a = hits[0]
        pos = tuple(float(v) for v in a.position)
        return Outcome(driven, time_s, pose, f"obj:{int(a.object_id)}", pos, a.room_id,
                       {"object_id": int(a.object_id), "position": list(pos), "room_id": a.room_id})

    def destroy_node(self) -> None:
        self._stop.set()
        self._worker.join(timeout=5.0)
        super().destroy_node()


def _room_at(room_map, xyz) -> Optional[int]:
    r = int(room_map.room_at(np.asarray(xyz, dtype=np.float64)[None, :2])[0])
    return r if r > 0 else None


def _answer_dict(recall: AnswerRecall, question, ep, now_ns: int) -> dict:
    """The episode's answer in the shared schema: retrieval's answer to the question asked again
    (memory now holds what the looks saw); when memory still has nothing and the planner's best guess
    is a room, that guess with the planner's confidence."""
    stack = recall.stack
    try:
        a = stack.ask(question, now_ns) if isinstance(question, str) else stack.query(question, now_ns)
        ans = a.to_dict()
    except ValueError as exc:
        return {"kind": "unsupported", "value": None, "text": f"I cannot answer that: {exc}", "confidence": 0.0,
                "evidence": [], "query": question}
    best = ep.evidence or {}
    if ans.get("value") in (None, [], {}) and str(best.get("key", "")).startswith("room:") and not ep.cannot_answer:
        room = ep.answer if isinstance(ep.answer, dict) else {}
        rtype = str(room.get("room_type") or "room").replace("_", " ")
        target = (recall.last_answer and getattr(getattr(recall.last_answer.query, "target", None), "label", None)) or "it"
        ans.update(value=room, confidence=float(ep.confidence),
                   text=f"I have not seen the {str(target).replace('_', ' ')}; most likely it is in the {rtype} "
                        f"(room {room.get('room_id')}).")
    return ans


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    return str(o)


__all__ = ["PlannerNode", "PlannerError"]
