"""Query node: serves ``robomem_msgs/srv/Query`` on ``query`` from the memory node in the same process,
or, without one, from the store opened read-only (what has been consolidated). Answers go through
:func:`ros_nodes.answers.answer_query` (the switch point to ``robomem.retrieval``) and are also
published on ``memory/answers`` (``std_msgs/String`` JSON) for recording."""
from __future__ import annotations

import json
from typing import Optional

from geometry_msgs.msg import PoseStamped
from robomem_msgs.srv import Query
from std_msgs.msg import String

import robomem
from ros_nodes.answers import answer_query, parse_query_json
from ros_nodes.base import RELIABLE_QOS, RobomemNode
from ros_nodes.config import NODE_NAMES


class QueryNode(RobomemNode):
    DEFAULTS = {"store": "robomem.db", "world_frame": "map"}

    def __init__(self, overrides: Optional[dict] = None, memory=None, **kwargs) -> None:
        super().__init__(NODE_NAMES["query"], overrides, **kwargs)
        self.memory = memory
        self._own = None if memory is not None else robomem.open(self.params["store"], readonly=True, perception=None)
        self.srv = self.create_service(Query, "query", self._on_query)
        self.pub_answers = self.create_publisher(String, "memory/answers", RELIABLE_QOS)
        self.served = 0

    def _on_query(self, req, res):
        try:
            q = parse_query_json(req.query_json)
            if self.memory is not None:
                with self.memory.lock:
                    ans = answer_query(self.memory.stack, req.question.strip(), q)
            else:
                ans = answer_query(self._own, req.question.strip(), q)
        except ValueError as exc:
            res.success, res.error = False, str(exc)
            return res
        except Exception as exc:  # noqa: BLE001 - answer with the error instead of killing the service
            self.get_logger().error(f"query failed: {exc!r}")
            res.success, res.error = False, f"internal error: {exc!r}"
            return res
        res.success = True
        res.text = str(ans.get("text", ""))
        res.answer_json = json.dumps(ans, default=_json_default)
        res.confidence = float(ans.get("confidence") or 0.0)
        now = self.get_clock().now().to_msg()
        for ev in ans.get("evidence") or []:
            pos = ev.get("position") if isinstance(ev, dict) else None
            if pos is None or len(pos) != 3:
                continue
            ps = PoseStamped()
            ps.header.stamp = now
            ps.header.frame_id = self.params["world_frame"]
            ps.pose.position.x, ps.pose.position.y, ps.pose.position.z = (float(v) for v in pos)
            ps.pose.orientation.w = 1.0
            res.evidence_poses.append(ps)
        self.served += 1
        self.pub_answers.publish(String(data=res.answer_json))
        return res

    def destroy_node(self) -> None:
        if self._own is not None:
            self._own.close()
        super().destroy_node()


def _json_default(o):
    import numpy as np
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
