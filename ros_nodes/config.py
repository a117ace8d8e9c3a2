"""Where the parameter file lives and what the nodes are called (no ROS needed)."""
from __future__ import annotations

import sys
from pathlib import Path

#: Node names as used in config/robomem.yaml, the launch files and ``robomem-ros --nodes``.
NODE_NAMES = {"bridge": "robomem_sim_bridge", "perception": "robomem_perception", "memory": "robomem_memory",
              "query": "robomem_query", "planner": "robomem_planner"}


def share_dir() -> Path:
    """The repository root when running from a checkout, else the installed ``share/robomem``
    (found through the ament index on a ROS 2 install, else under ``sys.prefix``)."""
    here = Path(__file__).resolve().parents[1]
    if (here / "config" / "robomem.yaml").is_file():
        return here
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory("robomem"))
    except Exception:  # noqa: BLE001 - no ament index (pip-only install)
        return Path(sys.prefix) / "share" / "robomem"


def default_config() -> Path:
    """``config/robomem.yaml``: the parameter file of the runner and of both launch files."""
    return share_dir() / "config" / "robomem.yaml"


def fastdds_profile() -> Path:
    """Fast DDS profile with 16 MiB shared-memory segments (camera images over SHM)."""
    return share_dir() / "config" / "fastdds_shm_big.xml"
