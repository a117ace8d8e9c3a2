import numpy as np
import pytest

import robomem
from robomem import (CameraIntrinsics, Frame, InvalidImageError, InvalidInputError,
                     InvalidIntrinsicsError, InvalidPoseError, make_pose, matrix_to_quaternion,
                     quaternion_to_matrix, validate_pose)
from robomem.pose import invert_pose, transform_points

K = CameraIntrinsics(8, 6, 5.0, 5.0, 3.5, 2.5)


def test_quaternion_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(100):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        q = q if q[3] >= 0 else -q
        R = quaternion_to_matrix(q)
        assert np.allclose(R.T @ R, np.eye(3), atol=1e-12)
        assert np.isclose(np.linalg.det(R), 1.0)
        assert np.allclose(matrix_to_quaternion(R), q, atol=1e-9)


def test_quaternion_known_rotation():
    # 90 degrees about z maps x to y (x, y, z, w order)
    R = quaternion_to_matrix([0, 0, np.sin(np.pi / 4), np.cos(np.pi / 4)])
    assert np.allclose(R @ [1, 0, 0], [0, 1, 0])


@pytest.mark.parametrize("bad, msg", [
    (np.eye(3), "shape"),
    (np.full((4, 4), np.nan), "NaN"),
    (np.diag([1.0, 1.0, 1.0, 2.0]), "last row"),
    (np.diag([2.0, 1.0, 1.0, 1.0]), "orthonormal"),
    (np.diag([-1.0, 1.0, 1.0, 1.0]), "determinant"),
])
def test_validate_pose_rejects(bad, msg):
    with pytest.raises(InvalidPoseError, match=msg):
        validate_pose(bad)
    assert issubclass(InvalidPoseError, ValueError)


def test_pose_inverse_and_transform():
    T = make_pose([0.1, 0.2, 0.3, 0.9], [1, 2, 3])
    P = np.random.default_rng(1).normal(size=(10, 3))
    back = transform_points(invert_pose(T), transform_points(T, P))
    assert np.allclose(back, P)


def test_intrinsics_validation():
    with pytest.raises(InvalidIntrinsicsError):
        CameraIntrinsics(0, 10, 1, 1, 0, 0)
    with pytest.raises(InvalidIntrinsicsError):
        CameraIntrinsics(10, 10, -1, 1, 0, 0)
    with pytest.raises(InvalidIntrinsicsError):
        CameraIntrinsics(10, 10, 1, float("nan"), 0, 0)
    k = CameraIntrinsics.from_fov(640, 480, 90.0)
    assert np.isclose(k.fx, 320.0)


def test_backproject_project_round_trip():
    depth = np.full((6, 8), 2.0, np.float32)
    depth[0, 0] = 0
    depth[1, 1] = np.nan
    depth[2, 2] = np.inf
    depth[3, 3] = -1
    pts, idx = K.backproject(depth)
    assert len(pts) == 48 - 4
    uv, inside = K.project(pts)
    assert inside.all()
    rows, cols = np.divmod(idx, 8)
    assert np.allclose(uv[:, 0], cols, atol=1e-4) and np.allclose(uv[:, 1], rows, atol=1e-4)


def test_frame_validation_and_immutability():
    depth = np.ones((6, 8), np.float32)
    f = Frame(depth=depth, intrinsics=K, T_world_camera=np.eye(4), stamp_ns=5)
    depth[:] = 7  # caller's buffer changes must not reach the frame
    assert f.depth.max() == 1.0
    with pytest.raises(ValueError):
        f.depth[0, 0] = 3
    assert f.points_world.shape == (48, 3)
    with pytest.raises(InvalidImageError, match="shape"):
        Frame(depth=np.ones((5, 8), np.float32), intrinsics=K, T_world_camera=np.eye(4), stamp_ns=0)
    with pytest.raises(InvalidImageError, match="uint16"):
        Frame(depth=np.ones((6, 8), np.uint16), intrinsics=K, T_world_camera=np.eye(4), stamp_ns=0)
    with pytest.raises(InvalidPoseError):
        Frame(depth=np.ones((6, 8), np.float32), intrinsics=K, T_world_camera=np.zeros((4, 4)), stamp_ns=0)
    with pytest.raises(InvalidInputError, match="stamp_ns"):
        Frame(depth=np.ones((6, 8), np.float32), intrinsics=K, T_world_camera=np.eye(4), stamp_ns=-1)
    with pytest.raises(InvalidImageError, match="rgb"):
        Frame(depth=np.ones((6, 8), np.float32), intrinsics=K, T_world_camera=np.eye(4), stamp_ns=0,
              rgb=np.zeros((6, 8, 3), np.float32))
    with pytest.raises(InvalidInputError, match="labels"):
        Frame(depth=np.ones((6, 8), np.float32), intrinsics=K, T_world_camera=np.eye(4), stamp_ns=0,
              labels={1: "mug"})


def test_version():
    assert robomem.__version__
