"""robomem: a memory stack for robots (octree map, scene graph, long/short-term memory)."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def _requirements() -> list[str]:
    keep = []
    for line in (HERE / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        # test-only peers are not runtime requirements of the library
        if line and not line.startswith(("pytest", "pyoctomap", "setuptools", "wheel")):
            keep.append(line)
    return keep


def _data_files() -> list[tuple[str, list[str]]]:
    # ROS 2 (ament_python) needs the package marker and manifest under share/.
    files = [
        ("share/ament_index/resource_index/packages", ["resource/robomem"]),
        ("share/robomem", ["package.xml"]),
    ]
    for folder in ("launch", "config"):
        found = sorted(str(p) for p in (HERE / folder).glob("*") if p.is_file()) if (HERE / folder).is_dir() else []
        if found:
            files.append((f"share/robomem/{folder}", [str(Path(f).relative_to(HERE)) for f in found]))
    # `ros2 run robomem <executable>` / launch_ros Node(executable=...) look in lib/<package>/.
    bins = sorted(str(p.relative_to(HERE)) for p in (HERE / "scripts" / "ros" / "bin").glob("robomem_*"))
    if bins:
        files.append(("lib/robomem", bins))
    return files


setup(
    name="robomem",
    version="0.1.0",
    description="Memory for robots: octree voxel map, 3D scene graph, long/short-term memory, retrieval",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["robomem", "robomem.*", "sim", "sim.*", "ros_nodes", "ros_nodes.*"]),
    install_requires=_requirements(),
    data_files=_data_files(),
    entry_points={"console_scripts": ["robomem=robomem.cli:main", "robomem-ros=ros_nodes.cli:main"]},
)
