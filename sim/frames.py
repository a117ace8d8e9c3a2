"""Conversions between Habitat's coordinate frames and robomem's (REP-103 world, optical camera).

Habitat (habitat_sim, Magnum) is y-up: world and agent body axes are x right, y up, -z forward;
a camera sensor looks along its -z with y up and x right. robomem's world is REP-103 (x forward,
y left, z up) and a camera pose is the *optical* frame (z forward, x right, y down).

The world mapping chosen here sends Habitat's default agent heading (-z) to REP-103 +x and Habitat
up (+y) to +z, so an agent at Habitat yaw 0 has REP-103 yaw 0 and a positive turn about Habitat +y
(``turn_left``) is a positive yaw about REP-103 +z. In coordinates::

    x_rep = -z_hab      y_rep = -x_hab      z_rep = y_hab

Quaternions are (x, y, z, w) arrays everywhere in robomem. :func:`quat_coeffs` also accepts the two
quaternion types Habitat hands out (``numpy-quaternion``'s ``np.quaternion`` with ``.w .x .y .z`` and
``magnum.Quaternion`` with ``.vector`` and ``.scalar``), so callers never reorder coefficients by hand.

Pure numpy: importable and tested without habitat_sim.
"""
from __future__ import annotations

import math

import numpy as np

from robomem.errors import InvalidInputError
from robomem.pose import matrix_to_quaternion, quaternion_to_matrix, validate_pose

#: p_rep = R_REP_HAB @ p_hab (also the change of basis for Habitat body axes -> REP-103 body axes).
R_REP_HAB = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
R_REP_HAB.setflags(write=False)

#: p_hab = R_HAB_REP @ p_rep.
R_HAB_REP = R_REP_HAB.T.copy()
R_HAB_REP.setflags(write=False)

#: v_habcam = R_HABCAM_OPTICAL @ v_optical: Habitat camera (x right, y up, -z fwd) from optical
#: (x right, y down, z fwd). Its own inverse.
R_HABCAM_OPTICAL = np.diag([1.0, -1.0, -1.0])
R_HABCAM_OPTICAL.setflags(write=False)


def _as_vectors(points, name: str) -> tuple[np.ndarray, bool]:
    try:
        P = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        # magnum.Vector3 and similar expose x, y, z but are not always array-convertible.
        if all(hasattr(points, a) for a in ("x", "y", "z")):
            P = np.array([points.x, points.y, points.z], dtype=np.float64)
        else:
            raise InvalidInputError(f"{name}: expected (3,) or (N, 3) numbers, got {type(points).__name__}") from None
    single = P.ndim == 1
    if single:
        P = P[None, :]
    if P.ndim != 2 or P.shape[1] != 3:
        raise InvalidInputError(f"{name}: expected shape (3,) or (N, 3), got {np.shape(points)}")
    if not np.all(np.isfinite(P)):
        raise InvalidInputError(f"{name}: contains NaN or inf")
    return P, single


def habitat_to_rep_points(points) -> np.ndarray:
    """Habitat world points (3,) or (N, 3) -> REP-103 world points, same shape, float64."""
    P, single = _as_vectors(points, "habitat points")
    out = np.stack([-P[:, 2], -P[:, 0], P[:, 1]], axis=1)
    return out[0] if single else out


def rep_to_habitat_points(points) -> np.ndarray:
    """REP-103 world points (3,) or (N, 3) -> Habitat world points, same shape, float64."""
    P, single = _as_vectors(points, "REP-103 points")
    out = np.stack([-P[:, 1], P[:, 2], -P[:, 0]], axis=1)
    return out[0] if single else out


def quat_coeffs(q) -> np.ndarray:
    """(x, y, z, w) float64 coefficients of a quaternion given as a 4-sequence in (x, y, z, w)
    order, a ``numpy-quaternion`` (``.w .x .y .z``) or a ``magnum.Quaternion`` (``.vector``,
    ``.scalar``). The result is normalised; zero or non-finite quaternions raise."""
    if hasattr(q, "scalar") and hasattr(q, "vector"):
        v = q.vector
        c = np.array([v[0], v[1], v[2], q.scalar], dtype=np.float64)
    elif all(hasattr(q, a) for a in ("w", "x", "y", "z")) and not isinstance(q, np.ndarray):
        c = np.array([q.x, q.y, q.z, q.w], dtype=np.float64)
    else:
        try:
            c = np.asarray(q, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise InvalidInputError(f"quaternion: cannot read coefficients from {type(q).__name__}") from None
    if c.shape != (4,) or not np.all(np.isfinite(c)):
        raise InvalidInputError(f"quaternion must be 4 finite numbers (x, y, z, w), got {c!r}")
    n = np.linalg.norm(c)
    if n < 1e-12:
        raise InvalidInputError("quaternion has zero norm")
    return c / n


def habitat_rotation_to_rep(q) -> np.ndarray:
    """REP-103 rotation matrix (3, 3) of a Habitat body orientation ``q`` (agent or object whose
    axes follow Habitat's convention). Conjugation by :data:`R_REP_HAB` changes both the world and
    the body basis."""
    R_hab = quaternion_to_matrix(quat_coeffs(q))
    return R_REP_HAB @ R_hab @ R_HAB_REP


def rep_rotation_to_habitat(R) -> np.ndarray:
    """Habitat quaternion (x, y, z, w) of a REP-103 body rotation matrix (3, 3) or pose (4, 4)."""
    R = np.asarray(R, dtype=np.float64)
    if R.shape == (4, 4):
        R = R[:3, :3]
    if R.shape != (3, 3):
        raise InvalidInputError(f"rotation must be (3, 3) or (4, 4), got {R.shape}")
    return matrix_to_quaternion(R_HAB_REP @ R @ R_REP_HAB)


def habitat_body_pose_to_rep(position, rotation) -> np.ndarray:
    """4x4 REP-103 pose of a Habitat body (agent base, object) from its Habitat world position
    and orientation quaternion."""
    T = np.eye(4)
    T[:3, :3] = habitat_rotation_to_rep(rotation)
    T[:3, 3] = habitat_to_rep_points(position)
    return validate_pose(T, "converted body pose")


def habitat_camera_pose_to_optical(position, rotation) -> np.ndarray:
    """``T_world_camera`` (REP-103 world, optical camera) of a Habitat camera sensor whose world
    position/orientation (Habitat frame, camera looking along its -z) are given.

    Habitat sensor states (``agent.get_state().sensor_states[uuid]``) are already world poses,
    so pitch from ``look_up``/``look_down`` is included."""
    R_hab = quaternion_to_matrix(quat_coeffs(rotation))
    T = np.eye(4)
    T[:3, :3] = R_REP_HAB @ R_hab @ R_HABCAM_OPTICAL
    T[:3, 3] = habitat_to_rep_points(position)
    return validate_pose(T, "converted camera pose")


def optical_pose_to_habitat_camera(T_world_camera) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`habitat_camera_pose_to_optical`: (Habitat position (3,), Habitat
    quaternion (x, y, z, w)) of a camera sensor."""
    T = validate_pose(T_world_camera, "T_world_camera")
    R_hab = R_HAB_REP @ T[:3, :3] @ R_HABCAM_OPTICAL
    return rep_to_habitat_points(T[:3, 3]), matrix_to_quaternion(R_hab)


def yaw_to_habitat_quat(yaw: float) -> np.ndarray:
    """Habitat agent quaternion (x, y, z, w) for REP-103 yaw ``yaw`` (rotation about Habitat +y)."""
    if not math.isfinite(yaw):
        raise InvalidInputError(f"yaw must be finite, got {yaw!r}")
    h = 0.5 * yaw
    return np.array([0.0, math.sin(h), 0.0, math.cos(h)])


def habitat_quat_to_yaw(q) -> float:
    """REP-103 yaw (radians, in (-pi, pi]) of a Habitat agent orientation: the heading of the
    body's forward axis projected onto the floor plane. Any tilt is ignored."""
    R = habitat_rotation_to_rep(q)
    fwd = R[:, 0]
    if math.hypot(fwd[0], fwd[1]) < 1e-9:
        raise InvalidInputError("orientation looks straight up or down: yaw is undefined")
    return math.atan2(fwd[1], fwd[0])


def rep_camera_pose(position, yaw: float, pitch: float, height: float) -> np.ndarray:
    """Optical ``T_world_camera`` of a camera ``height`` metres above a REP-103 base ``position``,
    turned by ``yaw`` about +z and pitched by ``pitch`` (+ = looking up). This is the contract's
    camera model, shared by every simulator backend so all of them agree on what pitch means."""
    p, _ = _as_vectors(position, "position")
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    R_yaw = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    # Looking up tilts the forward axis towards +z: a rotation of -pitch about the body's y (left).
    R_pitch = np.array([[cp, 0.0, -sp], [0.0, 1.0, 0.0], [sp, 0.0, cp]])
    R_body_optical = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    T = np.eye(4)
    T[:3, :3] = R_yaw @ R_pitch @ R_body_optical
    T[:3, 3] = p[0] + np.array([0.0, 0.0, height])
    return T
