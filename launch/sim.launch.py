"""robomem without a robot: the simulator bridge (a generated house, sensors and /tf) in its own
process plus everything robomem.launch.py starts, all reading config/robomem.yaml.

    ros2 launch robomem sim.launch.py [params_file:=my.yaml]
"""
import os
from pathlib import Path

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

_HERE = Path(__file__).resolve().parent


def _default_params_file() -> str:
    try:
        from ament_index_python.packages import get_package_share_directory
        return os.path.join(get_package_share_directory("robomem"), "config", "robomem.yaml")
    except Exception:  # noqa: BLE001 - not installed: running from a checkout
        return str(_HERE.parent / "config" / "robomem.yaml")


def generate_launch_description() -> LaunchDescription:
    params = LaunchConfiguration("params_file")
    profile = os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE",
                             str(Path(_default_params_file()).with_name("fastdds_shm_big.xml")))
    return LaunchDescription([
        DeclareLaunchArgument("params_file", default_value=_default_params_file(),
                              description="robomem parameter file (config/robomem.yaml format)"),
        Node(package="robomem", executable="robomem_sim_bridge", output="screen", parameters=[params],
             additional_env={"FASTDDS_DEFAULT_PROFILES_FILE": profile}),
        IncludeLaunchDescription(PythonLaunchDescriptionSource(str(_HERE / "robomem.launch.py")),
                                 launch_arguments={"params_file": params}.items()),
    ])
