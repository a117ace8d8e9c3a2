"""Rigid-transform helpers. Poses are 4x4 float64 matrices ``T_a_b`` mapping points in frame b to
frame a. Quaternions are (x, y, z, w), the order ROS and TUM RGB-D use."""
from __future__ import annotations

import numpy as np

from robomem.errors import InvalidInputError, InvalidPoseError

#: Maximum deviation of R^T R from identity, and of det(R) from 1, accepted as "rigid" as is.
ORTHONORMAL_TOLERANCE = 1e-4
#: Rotations off by more than ORTHONORMAL_TOLERANCE but less than this (max |R^T R - I|) are rigid up
#: to rounding (e.g. built from quaternions printed to 4 decimals, |R^T R - I| ~ 4e-4) and are
#: re-orthonormalised to the nearest rotation; beyond it a pose is refused.
REORTHONORMALISE_TOLERANCE = 1e-2


def nearest_rotation(R: np.ndarray) -> np.ndarray:
    """The rotation matrix closest to ``R`` (3, 3) in the Frobenius norm (polar decomposition via
    SVD: U V^T with det +1)."""
    U, _, Vt = np.linalg.svd(np.asarray(R, dtype=np.float64))
    D = np.eye(3)
    D[2, 2] = np.sign(np.linalg.det(U @ Vt))
    return U @ D @ Vt


def validate_pose(T: np.ndarray, name: str = "pose") -> np.ndarray:
    """Return ``T`` as a float64 (4, 4) copy after checking it is a finite rigid transform.

    A rotation within :data:`ORTHONORMAL_TOLERANCE` is kept as given; one rigid only up to
    rounding (max |R^T R - I| below :data:`REORTHONORMALISE_TOLERANCE`, det > 0) is replaced by the
    nearest rotation (:func:`nearest_rotation`). Raises :class:`InvalidPoseError` naming what is
    wrong (shape, non-finite values, last row, non-orthonormal rotation, reflection)."""
    try:
        M = np.array(T, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidPoseError(f"{name}: not a numeric 4x4 matrix ({exc})") from None
    if M.shape != (4, 4):
        raise InvalidPoseError(f"{name}: expected shape (4, 4), got {M.shape}")
    if not np.all(np.isfinite(M)):
        raise InvalidPoseError(f"{name}: contains NaN or inf")
    if not np.allclose(M[3], (0.0, 0.0, 0.0, 1.0), atol=1e-9):
        raise InvalidPoseError(f"{name}: last row must be [0 0 0 1], got {M[3].tolist()}")
    R = M[:3, :3]
    err = np.abs(R.T @ R - np.eye(3)).max()
    det = np.linalg.det(R)
    if det < 0:
        raise InvalidPoseError(f"{name}: rotation has determinant {det:.6f} (a reflection is not a pose)")
    if err > REORTHONORMALISE_TOLERANCE:
        raise InvalidPoseError(f"{name}: rotation is not orthonormal (max |R^T R - I| = {err:.3g}, more than "
                               f"rounding: the limit is {REORTHONORMALISE_TOLERANCE:g})")
    if err > ORTHONORMAL_TOLERANCE or abs(det - 1.0) > ORTHONORMAL_TOLERANCE:
        M[:3, :3] = nearest_rotation(R)  # rigid up to rounding
    return M


def quaternion_to_matrix(q) -> np.ndarray:
    """Rotation matrix (3, 3) from a quaternion (x, y, z, w). The quaternion is normalised;
    a zero or non-finite quaternion raises :class:`InvalidInputError`."""
    q = np.asarray(q, dtype=np.float64)
    if q.shape != (4,) or not np.all(np.isfinite(q)):
        raise InvalidInputError(f"quaternion must be 4 finite numbers (x, y, z, w), got {q!r}")
    n = np.linalg.norm(q)
    if n < 1e-12:
        raise InvalidInputError("quaternion has zero norm")
    x, y, z, w = q / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quaternion(R) -> np.ndarray:
    """Quaternion (x, y, z, w) with w >= 0 from a rotation matrix (3, 3) or pose (4, 4)."""
    R = np.asarray(R, dtype=np.float64)
    if R.shape == (4, 4):
        R = R[:3, :3]
    if R.shape != (3, 3) or not np.all(np.isfinite(R)):
        raise InvalidInputError(f"rotation must be a finite (3, 3) matrix, got shape {R.shape}")
    # Shepperd's method: pick the largest diagonal term for numerical stability.
    tr = np.trace(R)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [(R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s, 0.25 * s]
    elif R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        s = 2.0 * np.sqrt(1.0 + R[0, 0] - R[1, 1] - R[2, 2])
        q = [0.25 * s, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s, (R[2, 1] - R[1, 2]) / s]
    elif R[1, 1] > R[2, 2]:
        s = 2.0 * np.sqrt(1.0 + R[1, 1] - R[0, 0] - R[2, 2])
        q = [(R[0, 1] + R[1, 0]) / s, 0.25 * s, (R[1, 2] + R[2, 1]) / s, (R[0, 2] - R[2, 0]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + R[2, 2] - R[0, 0] - R[1, 1])
        q = [(R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, 0.25 * s, (R[1, 0] - R[0, 1]) / s]
    q = np.asarray(q)
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def make_pose(rotation=None, translation=None) -> np.ndarray:
    """Build a 4x4 pose from a (3, 3) rotation (or (x, y, z, w) quaternion) and a translation."""
    T = np.eye(4)
    if rotation is not None:
        rot = np.asarray(rotation, dtype=np.float64)
        T[:3, :3] = quaternion_to_matrix(rot) if rot.shape == (4,) else rot
    if translation is not None:
        t = np.asarray(translation, dtype=np.float64)
        if t.shape != (3,):
            raise InvalidInputError(f"translation must have shape (3,), got {t.shape}")
        T[:3, 3] = t
    return validate_pose(T)


def invert_pose(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid transform without a general matrix inverse."""
    T = np.asarray(T, dtype=np.float64)
    out = np.eye(4)
    R = T[:3, :3]
    out[:3, :3] = R.T
    out[:3, 3] = -R.T @ T[:3, 3]
    return out


def transform_points(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply pose ``T`` (4, 4) to points (N, 3); returns float64 (N, 3).

    Written as explicit multiply-adds rather than ``points @ R.T``: a BLAS call here starts
    OpenBLAS threads that fight Open3D/numba threads in the per-frame path."""
    P = np.asarray(points, dtype=np.float64)
    R, t = T[:3, :3], T[:3, 3]
    out = np.empty_like(P)
    for i in range(3):
        out[:, i] = P[:, 0] * R[i, 0] + P[:, 1] * R[i, 1] + P[:, 2] * R[i, 2] + t[i]
    return out


def yaw_pose(x: float, y: float, z: float, yaw: float) -> np.ndarray:
    """Pose of a body at (x, y, z) rotated by ``yaw`` radians about world z (REP-103)."""
    c, s = np.cos(yaw), np.sin(yaw)
    T = np.eye(4)
    T[:2, :2] = [[c, -s], [s, c]]
    T[:3, 3] = (x, y, z)
    return T


#: Rotation taking optical camera axes (z forward, x right, y down) to REP-103 body axes
#: (x forward, y left, z up): body_from_optical.
R_BODY_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
