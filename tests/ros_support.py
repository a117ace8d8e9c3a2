"""Shared set-up of the ROS 2 tests: skip without ROS on a user machine, fail under CI=true
(``make ros`` installs the wheels and builds the interfaces), and an isolated ROS graph per test."""
from __future__ import annotations

import os

import pytest


def require_ros() -> None:
    """Skip (or, under CI=true, fail) when rclpy or the robomem interfaces are not importable."""
    try:
        import rclpy  # noqa: F401
        import robomem_msgs.srv  # noqa: F401
        import tf2_msgs.msg  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"ROS 2 tests must run in CI but {exc}; run `make ros` first")
        pytest.skip(f"ROS 2 not available ({exc}); `make ros` installs it")


@pytest.fixture
def ros_graph(tmp_path, monkeypatch):
    """(env for child processes, work dir): localhost-only discovery, a domain id of our own, logs
    in the temp dir. This process's environment is set the same way for its clients."""
    require_ros()
    from ros_nodes.procs import ros_env
    domain = 20 + os.getpid() % 60 + (hash(str(tmp_path)) % 20)
    env = ros_env(domain, tmp_path / "ros_log")
    for k in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID", "ROS_LOG_DIR", "FASTDDS_DEFAULT_PROFILES_FILE"):
        monkeypatch.setenv(k, env[k])
    return env, tmp_path


def unique_small_objects(seed: int, n_rooms: int, n_objects: int) -> dict:
    """Ground truth of the bridge's house (``sim.generate_house(seed, None, ...)``): category ->
    (box centre, room type) of every small object whose category occurs once."""
    from collections import Counter

    import numpy as np

    import sim
    scene = sim.generate_house(seed, None, n_rooms=n_rooms, n_objects=n_objects)
    objs = scene.small_objects()
    count = Counter(o.category for o in objs)
    out = {}
    for o in objs:
        if count[o.category] == 1:
            lo, hi = o.bbox()
            out[o.category] = ((np.asarray(lo) + np.asarray(hi)) / 2, scene.rooms[scene.room_at(o.position[:2])].room_type)
    return out
