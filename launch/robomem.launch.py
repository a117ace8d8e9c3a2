"""robomem on a robot: one process with the perception, memory, query and planner nodes (they share
the store and its map), parameters from config/robomem.yaml — the same file `robomem-ros` reads.
The planner sends Nav2-style goals on goal_pose and turns the robot on cmd_vel to look.

    ros2 launch robomem robomem.launch.py [params_file:=my.yaml]
"""
import os
from pathlib import Path

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def default_params_file() -> str:
    """The installed share/robomem/config/robomem.yaml, else the checkout's config/robomem.yaml."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return os.path.join(get_package_share_directory("robomem"), "config", "robomem.yaml")
    except Exception:  # noqa: BLE001 - not installed: running from a checkout
        return str(Path(__file__).resolve().parents[1] / "config" / "robomem.yaml")


def generate_launch_description() -> LaunchDescription:
    params = LaunchConfiguration("params_file")
    return LaunchDescription([
        DeclareLaunchArgument("params_file", default_value=default_params_file(),
                              description="robomem parameter file (config/robomem.yaml format)"),
        Node(package="robomem", executable="robomem_stack", output="screen", parameters=[params],
             additional_env={"FASTDDS_DEFAULT_PROFILES_FILE": os.environ.get(
                 "FASTDDS_DEFAULT_PROFILES_FILE",
                 str(Path(default_params_file()).with_name("fastdds_shm_big.xml")))}),
    ])
