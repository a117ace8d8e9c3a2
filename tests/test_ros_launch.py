"""The launch files describe the right processes and parameter file. Needs the real ROS 2 `launch`
and `launch_ros` packages (not installable from pip: skipped where they are missing, also in CI).
The repository's own launch/ folder would shadow `launch` on sys.path, hence the LaunchService check."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _real_launch():
    try:
        import launch
        import launch_ros.actions  # noqa: F401
    except ImportError:
        pytest.skip("real ROS 2 `launch`/`launch_ros` not installed")
    if not hasattr(launch, "LaunchService"):
        pytest.skip("`launch` resolves to the repository's launch/ folder, not ROS 2's package")
    return launch


def _describe(name: str):
    spec = importlib.util.spec_from_file_location(name.replace(".", "_"), ROOT / "launch" / name)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.generate_launch_description()


def _nodes(ld):
    from launch_ros.actions import Node
    return [e for e in ld.entities if isinstance(e, Node)]


def test_robomem_launch_starts_the_stack_with_the_shared_parameter_file():
    _real_launch()
    from launch.actions import DeclareLaunchArgument
    ld = _describe("robomem.launch.py")
    args = [e for e in ld.entities if isinstance(e, DeclareLaunchArgument)]
    assert [a.name for a in args] == ["params_file"]
    assert args[0].default_value[0].text.endswith("config/robomem.yaml")
    nodes = _nodes(ld)
    assert [(n.node_package, n.node_executable) for n in nodes] == [("robomem", "robomem_stack")]


def test_sim_launch_adds_the_bridge_and_includes_the_stack():
    _real_launch()
    from launch.actions import IncludeLaunchDescription
    ld = _describe("sim.launch.py")
    assert [(n.node_package, n.node_executable) for n in _nodes(ld)] == [("robomem", "robomem_sim_bridge")]
    inc = [e for e in ld.entities if isinstance(e, IncludeLaunchDescription)]
    assert len(inc) == 1


def test_launch_and_runner_read_the_same_config():
    from ros_nodes.config import NODE_NAMES, default_config
    import yaml
    cfg = yaml.safe_load(default_config().read_text())
    assert default_config() == ROOT / "config" / "robomem.yaml"
    assert set(NODE_NAMES.values()) <= set(cfg)
    for f in ("robomem.launch.py", "sim.launch.py"):
        assert "robomem.yaml" in (ROOT / "launch" / f).read_text()
