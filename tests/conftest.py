from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def tum_dir() -> Path:
    return DATA / "tum-fr1-xyz"


@pytest.fixture(scope="session")
def tum_frames(tum_dir):
    from robomem.datasets import load_tum_sequence
    return list(load_tum_sequence(tum_dir))
