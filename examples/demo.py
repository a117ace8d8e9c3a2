"""robomem demo (grows with the project): loads the bundled TUM RGB-D frames."""
from pathlib import Path

from robomem.datasets import load_tum_sequence

HERE = Path(__file__).resolve().parent.parent

frames = list(load_tum_sequence(HERE / "tests/data/tum-fr1-xyz"))
print(f"loaded {len(frames)} TUM frames, {sum(len(f.points_world) for f in frames):,} valid depth points")
