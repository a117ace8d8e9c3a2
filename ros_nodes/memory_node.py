"""Memory node: owns the store (a :class:`robomem.MemoryStack` on one SQLite file). Other nodes in
the same process (perception, query) use it through :meth:`MemoryNode.observe` and
:attr:`MemoryNode.stack` under :attr:`MemoryNode.lock`. Publishes recorded changes as
``robomem_msgs/MemoryEvent`` on ``memory/events``."""
from __future__ import annotations

import threading
import time
from typing import Optional

from robomem_msgs.msg import MemoryEvent

import robomem
from robomem.observations import EventKind
from ros_nodes.base import RELIABLE_QOS, RobomemNode
from ros_nodes.config import NODE_NAMES
from ros_nodes.convert import set_stamp


class MemoryNode(RobomemNode):
    """Parameters: ``store`` (SQLite path), ``session`` (session name; "" = by start time),
    ``world_frame``, ``consolidation_interval_s``. ``perception``: a ``PerceptionPipeline`` for
    the stack (None: the stack builds its own on the first frame). ``map_settings``: ``map_*``
    keywords of :func:`robomem.open` for the stack's map (the perception node's
    :meth:`~ros_nodes.perception_node.PerceptionNode.map_settings`; None: the library defaults)."""

    DEFAULTS = {"store": "robomem.db", "session": "", "world_frame": "map", "consolidation_interval_s": 1.0}

    def __init__(self, overrides: Optional[dict] = None, perception=None, map_settings: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(NODE_NAMES["memory"], overrides, **kwargs)
        p = self.params
        self.lock = threading.RLock()
        self.stack = robomem.open(p["store"], perception=perception if perception is not None else "auto",
                                  consolidation_interval_ns=int(p["consolidation_interval_s"] * 1e9),
                                  **(map_settings or {}))
        self._session_open = False
        self._last_ns: Optional[int] = None
        self.pub_events = self.create_publisher(MemoryEvent, "memory/events", RELIABLE_QOS)
        self.get_logger().info(f"memory store {p['store']}")

    def observe(self, frame):
        """Remember ``frame`` (perception + memory); opens the session on the first frame. Returns
        the perception's ``FrameResult``; publishes its change events."""
        with self.lock:
            if not self._session_open:
                name = self.params["session"] or time.strftime("session-%Y%m%d-%H%M%S", time.gmtime(frame.stamp_ns / 1e9))
                self.stack.begin_session(name, frame.stamp_ns)
                self._session_open = True
            result = self.stack.observe(frame)
            self._last_ns = frame.stamp_ns
        for e in result.events:
            m = MemoryEvent()
            set_stamp(m.header, e.stamp_ns)
            m.header.frame_id = self.params["world_frame"]
            m.object_id = int(e.object_id)
            m.label = str(getattr(e, "label", "") or "")
            m.kind = EventKind(e.kind).value
            pos = getattr(e, "position", None)
            if pos is not None:
                m.position.x, m.position.y, m.position.z = (float(v) for v in pos)
            m.room_id = -1 if e.room_id is None else int(e.room_id)
            self.pub_events.publish(m)
        return result

    def close(self) -> None:
        """End the session (stores the scene graph) and close the store."""
        with self.lock:
            if self._session_open and self._last_ns is not None:
                self.stack.end_session(self._last_ns)
                self._session_open = False
            self.stack.close()

    def destroy_node(self) -> None:
        try:
            self.close()
        finally:
            super().destroy_node()
