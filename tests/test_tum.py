import numpy as np
import pytest

from robomem.datasets import load_tum_sequence, read_tum_trajectory
from robomem.errors import InvalidInputError
from robomem.pose import invert_pose, transform_points


def test_loads_frames_with_poses(tum_frames):
    assert len(tum_frames) == 10
    f = tum_frames[0]
    assert f.depth.shape == (480, 640) and f.depth.dtype == np.float32
    assert f.rgb is not None and f.rgb.shape == (480, 640, 3)
    valid = f.depth[f.valid_mask]
    assert 0.3 < np.median(valid) < 3.0  # a desk seen from about a metre
    stamps = [fr.stamp_ns for fr in tum_frames]
    assert stamps == sorted(stamps)


def test_poses_make_frames_consistent(tum_frames):
    """Frame 0's depth projected into the last frame agrees with its depth (the data README's check,
    7.4 mm median over the full clip)."""
    a, b = tum_frames[0], tum_frames[-1]
    P = transform_points(invert_pose(b.T_world_camera), a.points_world[::7])
    uv, inside = b.intrinsics.project(P)
    u = np.round(uv[inside, 0]).astype(int)
    v = np.round(uv[inside, 1]).astype(int)
    d = b.depth[v, u]
    ok = d > 0
    err = np.abs(d[ok] - P[inside][ok, 2])
    assert np.median(err) < 0.015


def test_missing_files_give_clear_error(tmp_path):
    with pytest.raises(InvalidInputError, match="not found"):
        list(load_tum_sequence(tmp_path))
    (tmp_path / "groundtruth.txt").write_text("1.0 0 0 0 0 0 0\n")
    with pytest.raises(InvalidInputError):
        read_tum_trajectory(tmp_path / "groundtruth.txt")
