"""Shared bits of the robomem nodes: parameter declaration from a defaults dict, a rate-limited
"log and drop" for malformed messages, and the QoS profiles."""
from __future__ import annotations

import time
from collections import Counter

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

SENSOR_QOS = qos_profile_sensor_data
#: Latched (last value kept for late joiners): maps, scene graph, status.
LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
RELIABLE_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


class RobomemNode(Node):
    """A node whose parameters are declared from ``DEFAULTS`` (overridden by ``--params-file`` /
    launch parameters, then by ``overrides``); they are read once into ``self.params``."""

    DEFAULTS: dict = {}

    def __init__(self, name: str, overrides: dict | None = None, **kwargs) -> None:
        super().__init__(name, **kwargs)
        from rclpy.parameter import Parameter
        self.params = {}
        for key, default in self.DEFAULTS.items():
            self.declare_parameter(key, default)
        if overrides:
            self.set_parameters([Parameter(k, value=v) for k, v in overrides.items()])
        self.params = {k: self.get_parameter(k).value for k in self.DEFAULTS}
        self.dropped: Counter = Counter()
        self._last_warn: dict = {}

    def drop(self, what: str, exc: Exception) -> None:
        """Log (at most once a second per kind) and count a malformed or unusable message."""
        self.dropped[what] += 1
        now = time.monotonic()
        if now - self._last_warn.get(what, 0.0) >= 1.0:
            self._last_warn[what] = now
            self.get_logger().warning(f"dropped {what} ({self.dropped[what]} so far): {exc}")
