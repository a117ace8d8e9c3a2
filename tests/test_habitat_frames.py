"""Habitat <-> REP-103 / optical conversions (pure numpy: run everywhere)."""
import math

import numpy as np
import pytest

from robomem.camera import CameraIntrinsics
from robomem.errors import InvalidInputError
from robomem.pose import invert_pose, quaternion_to_matrix, transform_points, validate_pose
from sim import frames as F


def _axis_quat(axis, angle):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    return np.array([*(axis * math.sin(angle / 2)), math.cos(angle / 2)])


def _qmul(a, b):  # (x, y, z, w) Hamilton product a*b
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw,
                     aw * bw - ax * bx - ay * by - az * bz])


def test_known_axes():
    # Habitat forward (-z) is REP-103 forward (+x), up (+y) is +z, right (+x) is -y (REP right).
    np.testing.assert_allclose(F.habitat_to_rep_points([0, 0, -1]), [1, 0, 0])
    np.testing.assert_allclose(F.habitat_to_rep_points([0, 1, 0]), [0, 0, 1])
    np.testing.assert_allclose(F.habitat_to_rep_points([1, 0, 0]), [0, -1, 0])
    np.testing.assert_allclose(F.habitat_to_rep_points([2.0, 1.5, -3.0]), [3.0, -2.0, 1.5])
    # The matrix constant agrees with the function and is a proper rotation.
    assert np.isclose(np.linalg.det(F.R_REP_HAB), 1.0)
    np.testing.assert_allclose(F.R_REP_HAB @ [2.0, 1.5, -3.0], [3.0, -2.0, 1.5])


def test_point_round_trip_batch():
    rng = np.random.default_rng(0)
    P = rng.normal(size=(100, 3)) * 10
    np.testing.assert_allclose(F.rep_to_habitat_points(F.habitat_to_rep_points(P)), P, atol=1e-12)
    np.testing.assert_allclose(F.habitat_to_rep_points(F.rep_to_habitat_points(P)), P, atol=1e-12)
    assert F.habitat_to_rep_points(P).shape == (100, 3)
    assert F.habitat_to_rep_points(P[0]).shape == (3,)


def test_optical_habcam():
    # Optical z forward is Habitat-camera -z; optical y down is Habitat-camera -y.
    np.testing.assert_allclose(F.R_HABCAM_OPTICAL @ [0, 0, 1], [0, 0, -1])
    np.testing.assert_allclose(F.R_HABCAM_OPTICAL @ [0, 1, 0], [0, -1, 0])
    np.testing.assert_allclose(F.R_HABCAM_OPTICAL @ [1, 0, 0], [1, 0, 0])
    np.testing.assert_allclose(F.R_HABCAM_OPTICAL @ F.R_HABCAM_OPTICAL, np.eye(3))


def test_quat_coeffs_duck_types():
    class NpQuat:  # numpy-quaternion's attribute layout
        def __init__(self, w, x, y, z):
            self.w, self.x, self.y, self.z = w, x, y, z

    class MagnumQuat:  # magnum.Quaternion's attribute layout
        def __init__(self, vector, scalar):
            self.vector, self.scalar = vector, scalar

    q = _axis_quat([1, 2, 3], 0.7)
    np.testing.assert_allclose(F.quat_coeffs(q), q)
    np.testing.assert_allclose(F.quat_coeffs(NpQuat(q[3], *q[:3])), q)
    np.testing.assert_allclose(F.quat_coeffs(MagnumQuat(tuple(q[:3]), q[3])), q)
    np.testing.assert_allclose(F.quat_coeffs(2 * q), q)
    with pytest.raises(InvalidInputError):
        F.quat_coeffs([0, 0, 0, 0])
    with pytest.raises(InvalidInputError):
        F.quat_coeffs([0, 0, 1])
    with pytest.raises(InvalidInputError):
        F.quat_coeffs([0, 0, float("nan"), 1])


@pytest.mark.parametrize("yaw", [0.0, 0.3, math.pi / 2, -2.0, math.pi])
def test_yaw_round_trip_and_direction(yaw):
    q = F.yaw_to_habitat_quat(yaw)
    assert math.isclose(math.cos(F.habitat_quat_to_yaw(q) - yaw), 1.0, abs_tol=1e-12)
    R = F.habitat_rotation_to_rep(q)
    # The body's forward axis points along (cos yaw, sin yaw, 0) in REP-103.
    np.testing.assert_allclose(R[:, 0], [math.cos(yaw), math.sin(yaw), 0], atol=1e-12)
    np.testing.assert_allclose(R[:, 2], [0, 0, 1], atol=1e-12)


def test_turn_left_is_positive_yaw():
    # Habitat's turn_left rotates about +y by a positive angle; Habitat forward -z moves toward -x.
    q = _axis_quat([0, 1, 0], math.radians(10))
    fwd_hab = quaternion_to_matrix(q) @ [0, 0, -1]
    assert fwd_hab[0] < 0
    assert math.isclose(F.habitat_quat_to_yaw(q), math.radians(10), abs_tol=1e-12)


def test_rotation_composition():
    rng = np.random.default_rng(1)
    for _ in range(20):
        a, b = rng.normal(size=4), rng.normal(size=4)
        a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
        Rab = F.habitat_rotation_to_rep(_qmul(a, b))
        np.testing.assert_allclose(Rab, F.habitat_rotation_to_rep(a) @ F.habitat_rotation_to_rep(b), atol=1e-12)
        # Round trip REP rotation -> Habitat quaternion -> REP rotation.
        q_back = F.rep_rotation_to_habitat(F.habitat_rotation_to_rep(a))
        np.testing.assert_allclose(quaternion_to_matrix(q_back), quaternion_to_matrix(a), atol=1e-12)
        # Rotating a point in Habitat then converting equals converting then rotating in REP.
        p = rng.normal(size=3)
        np.testing.assert_allclose(F.habitat_to_rep_points(quaternion_to_matrix(a) @ p),
                                   F.habitat_rotation_to_rep(a) @ F.habitat_to_rep_points(p), atol=1e-12)


def test_camera_pose_identity_orientation():
    # A Habitat camera with identity rotation looks along world -z (REP +x); image right is
    # REP -y and image down is REP -z: exactly the contract's yaw=0, pitch=0 camera.
    T = F.habitat_camera_pose_to_optical([0.0, 1.5, 0.0], [0, 0, 0, 1])
    np.testing.assert_allclose(T[:3, 2], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(T[:3, 0], [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(T[:3, 1], [0, 0, -1], atol=1e-12)
    np.testing.assert_allclose(T[:3, 3], [0, 0, 1.5])
    np.testing.assert_allclose(T, F.rep_camera_pose([0, 0, 0], 0.0, 0.0, 1.5), atol=1e-12)


@pytest.mark.parametrize("yaw,pitch", [(0.0, 0.0), (0.8, 0.0), (-2.4, 0.3), (1.2, -0.5)])
def test_full_agent_state_to_T_world_camera(yaw, pitch):
    """Reproduce how habitat_sim composes a sensor's world state (agent rotation * sensor
    offset, look_up = rotation about the sensor's +x) and check the converted pose against the
    REP-103 camera model, the inverse conversion and a projected world point."""
    agent_pos_hab = np.array([1.0, 0.1, -2.0])
    sensor_height = 1.25
    q_agent = _axis_quat([0, 1, 0], yaw)              # yaw about Habitat up
    q_look = _axis_quat([1, 0, 0], pitch)             # look_up: +angle about camera x tilts -z up
    q_sensor = _qmul(q_agent, q_look)
    sensor_pos_hab = agent_pos_hab + quaternion_to_matrix(q_agent) @ [0, sensor_height, 0]

    T = F.habitat_camera_pose_to_optical(sensor_pos_hab, q_sensor)
    validate_pose(T)
    base_rep = F.habitat_to_rep_points(agent_pos_hab)
    np.testing.assert_allclose(T, F.rep_camera_pose(base_rep, yaw, pitch, sensor_height), atol=1e-12)

    pos_back, q_back = F.optical_pose_to_habitat_camera(T)
    np.testing.assert_allclose(pos_back, sensor_pos_hab, atol=1e-12)
    np.testing.assert_allclose(quaternion_to_matrix(q_back), quaternion_to_matrix(q_sensor), atol=1e-12)

    # A point 3 m straight ahead of the Habitat camera (its -z) projects to the principal point.
    K = CameraIntrinsics.from_fov(64, 48, 90)
    ahead_hab = sensor_pos_hab + quaternion_to_matrix(q_sensor) @ [0, 0, -3.0]
    # A point up-and-right of the camera lands above-right of centre in the image.
    ur_hab = sensor_pos_hab + quaternion_to_matrix(q_sensor) @ [0.5, 0.5, -3.0]
    pts_rep = F.habitat_to_rep_points(np.stack([ahead_hab, ur_hab]))
    cam = transform_points(invert_pose(T), pts_rep)
    np.testing.assert_allclose(cam[0], [0, 0, 3.0], atol=1e-12)
    uv, inside = K.project(cam)
    assert inside.all()
    np.testing.assert_allclose(uv[0], [K.cx, K.cy], atol=1e-9)
    assert uv[1, 0] > K.cx and uv[1, 1] < K.cy


def test_pitch_up_looks_up():
    T = F.rep_camera_pose([0, 0, 0], 0.0, 0.4, 1.0)
    assert T[2, 2] > 0  # optical z (forward) has a positive world-z component


def test_body_pose_and_bad_input():
    T = F.habitat_body_pose_to_rep([1, 0, -2], F.yaw_to_habitat_quat(0.5))
    np.testing.assert_allclose(T[:3, 3], [2, -1, 0])
    assert math.isclose(math.atan2(T[1, 0], T[0, 0]), 0.5)
    with pytest.raises(InvalidInputError):
        F.habitat_to_rep_points([1, 2])
    with pytest.raises(InvalidInputError):
        F.habitat_to_rep_points([[1, 2, float("inf")]])
    with pytest.raises(InvalidInputError):
        F.optical_pose_to_habitat_camera(np.zeros((4, 4)))
    with pytest.raises(InvalidInputError):
        F.habitat_quat_to_yaw(_axis_quat([1, 0, 0], math.pi / 2))  # looking straight up
    with pytest.raises(InvalidInputError):
        F.yaw_to_habitat_quat(float("nan"))


def test_camera_model_matches_sim_base():
    from sim.base import AgentState, camera_pose
    for yaw, pitch in [(0.0, 0.0), (1.0, 0.3), (-2.5, -0.6)]:
        st = AgentState(np.array([1.0, -2.0, 0.05]), yaw, pitch)
        np.testing.assert_allclose(F.rep_camera_pose(st.position, yaw, pitch, 1.1), camera_pose(st, 1.1), atol=1e-12)
