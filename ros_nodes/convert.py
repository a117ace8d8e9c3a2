"""Conversions between ROS 2 messages and robomem/numpy types, with validation: a malformed message
raises :class:`BadMessageError` (a ``ValueError``) naming what is wrong, so a node can log and drop
it. Images and point clouds are packed/unpacked with numpy (no cv_bridge / sensor_msgs_py)."""
from __future__ import annotations

import array
import numpy as np

from robomem.camera import CameraIntrinsics
from robomem.errors import InvalidInputError
from robomem.pose import make_pose, matrix_to_quaternion

#: encoding -> (dtype, channels)
ENCODINGS = {"rgb8": (np.uint8, 3), "bgr8": (np.uint8, 3), "32FC1": (np.float32, 1), "16UC1": (np.uint16, 1),
             "mono16": (np.uint16, 1), "32SC1": (np.int32, 1), "mono8": (np.uint8, 1), "8UC1": (np.uint8, 1)}


class BadMessageError(InvalidInputError):
    """A message is malformed (wrong encoding, size mismatch, NaN pose, unknown frame...)."""


def stamp_ns(header) -> int:
    """Integer nanoseconds of a ``std_msgs/Header`` stamp."""
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def set_stamp(header, ns: int) -> None:
    header.stamp.sec, header.stamp.nanosec = divmod(int(ns), 1_000_000_000)


def image_to_array(msg, allowed: tuple[str, ...], what: str = "image") -> np.ndarray:
    """(H, W) or (H, W, C) array viewing ``msg.data`` (no copy where possible). Checks the
    encoding is one of ``allowed`` and that step/size agree with width/height."""
    enc = msg.encoding
    if enc not in allowed:
        raise BadMessageError(f"{what}: encoding {enc!r} not supported here (expected one of {', '.join(allowed)})")
    dtype, ch = ENCODINGS[enc]
    h, w = int(msg.height), int(msg.width)
    if h <= 0 or w <= 0:
        raise BadMessageError(f"{what}: empty image {w}x{h}")
    row = w * ch * np.dtype(dtype).itemsize
    step = int(msg.step)
    if step < row:
        raise BadMessageError(f"{what}: step {step} is smaller than a {w}-pixel {enc} row ({row} bytes)")
    data = msg.data
    n = len(data)
    if n != step * h:
        raise BadMessageError(f"{what}: data has {n} bytes, {w}x{h} {enc} with step {step} needs {step * h}")
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.view(np.uint8)
    rows = buf.reshape(h, step)[:, :row]
    dt = np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<")
    arr = rows.view(dt) if rows.flags.c_contiguous else np.ascontiguousarray(rows).view(dt)
    arr = arr.reshape(h, w, ch) if ch > 1 else arr.reshape(h, w)
    if enc == "bgr8":
        arr = arr[..., ::-1]
    return arr.astype(np.dtype(dtype), copy=False)   # native byte order (a copy only if big endian)


def depth_to_metres(msg, depth_scale_16u: float = 0.001) -> np.ndarray:
    """Depth image as float32 metres: ``32FC1`` as is, ``16UC1``/``mono16`` times ``depth_scale_16u``
    (millimetres by default, the REP-118 convention)."""
    d = image_to_array(msg, ("32FC1", "16UC1", "mono16"), "depth")
    if d.dtype == np.uint16:
        return d.astype(np.float32) * np.float32(depth_scale_16u)
    return d


def array_to_image(msg_cls, arr: np.ndarray, encoding: str, frame_id: str, ns: int):
    """A ``sensor_msgs/Image`` of ``arr`` (C-contiguous; little endian)."""
    arr = np.ascontiguousarray(arr)
    m = msg_cls()
    set_stamp(m.header, ns)
    m.header.frame_id = frame_id
    m.height, m.width = int(arr.shape[0]), int(arr.shape[1])
    m.encoding = encoding
    m.is_bigendian = 0
    m.step = int(arr.strides[0])
    m.data = arr.tobytes()
    return m


def camera_info_to_intrinsics(msg) -> CameraIntrinsics:
    """Pinhole intrinsics from a ``sensor_msgs/CameraInfo`` (``k`` = fx 0 cx / 0 fy cy / 0 0 1)."""
    k = np.asarray(msg.k, dtype=np.float64)
    if k.shape != (9,) or not np.all(np.isfinite(k)):
        raise BadMessageError("camera_info: k must be 9 finite numbers")
    try:
        return CameraIntrinsics(int(msg.width), int(msg.height), float(k[0]), float(k[4]), float(k[2]), float(k[5]))
    except InvalidInputError as exc:
        raise BadMessageError(f"camera_info: {exc}") from None


def intrinsics_to_camera_info(msg_cls, K: CameraIntrinsics, frame_id: str, ns: int):
    m = msg_cls()
    set_stamp(m.header, ns)
    m.header.frame_id = frame_id
    m.width, m.height = K.width, K.height
    m.distortion_model = "plumb_bob"
    m.d = [0.0] * 5
    m.k = [K.fx, 0.0, K.cx, 0.0, K.fy, K.cy, 0.0, 0.0, 1.0]
    m.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    m.p = [K.fx, 0.0, K.cx, 0.0, 0.0, K.fy, K.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return m


def pose_msg_to_matrix(pose, what: str = "pose") -> np.ndarray:
    """4x4 matrix of a ``geometry_msgs/Pose``; NaN or zero quaternions raise :class:`BadMessageError`."""
    p, q = pose.position, pose.orientation
    t = np.array([p.x, p.y, p.z], dtype=np.float64)
    r = np.array([q.x, q.y, q.z, q.w], dtype=np.float64)
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(r))) or np.linalg.norm(r) < 1e-6:
        raise BadMessageError(f"{what}: position/orientation must be finite with a non-zero quaternion")
    return make_pose(r, t)


def fill_pose(pose, T: np.ndarray) -> None:
    """Write a 4x4 matrix into a ``geometry_msgs/Pose``."""
    q = matrix_to_quaternion(T)
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in T[:3, 3])
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = (float(v) for v in q)


def fill_transform(tf, T: np.ndarray) -> None:
    """Write a 4x4 matrix into a ``geometry_msgs/Transform``."""
    q = matrix_to_quaternion(T)
    tf.translation.x, tf.translation.y, tf.translation.z = (float(v) for v in T[:3, 3])
    tf.rotation.x, tf.rotation.y, tf.rotation.z, tf.rotation.w = (float(v) for v in q)


def grid_to_msg(msg_cls, grid, frame_id: str, ns: int, z: float = 0.0):
    """``nav_msgs/OccupancyGrid`` of a :class:`robomem.mapping.grid2d.OccupancyGrid2D` (same cell
    values and row order: row = y)."""
    m = msg_cls()
    set_stamp(m.header, ns)
    m.header.frame_id = frame_id
    m.info.map_load_time = m.header.stamp
    m.info.resolution = float(grid.resolution)
    m.info.height, m.info.width = (int(v) for v in grid.shape)
    m.info.origin.position.x, m.info.origin.position.y = grid.origin
    m.info.origin.position.z = float(z)
    m.info.origin.orientation.w = 1.0
    m.data = array.array("b", np.ascontiguousarray(grid.data, dtype=np.int8).tobytes())
    return m


def points_to_cloud(msg_cls, field_cls, points: np.ndarray, frame_id: str, ns: int):
    """``sensor_msgs/PointCloud2`` (x, y, z float32, unorganised) packed with numpy."""
    pts = np.ascontiguousarray(points, dtype=np.float32).reshape(-1, 3)
    m = msg_cls()
    set_stamp(m.header, ns)
    m.header.frame_id = frame_id
    m.height, m.width = 1, int(len(pts))
    m.fields = [field_cls(name=n, offset=4 * k, datatype=field_cls.FLOAT32, count=1) for k, n in enumerate("xyz")]
    m.is_bigendian = False
    m.point_step = 12
    m.row_step = 12 * len(pts)
    m.is_dense = True
    m.data = pts.tobytes()
    return m


def cloud_to_points(msg) -> np.ndarray:
    """(N, 3) float32 x, y, z of a ``sensor_msgs/PointCloud2`` with float32 x/y/z fields."""
    offs = {f.name: f.offset for f in msg.fields}
    if not {"x", "y", "z"} <= set(offs):
        raise BadMessageError("point cloud has no x/y/z fields")
    n = int(msg.width) * int(msg.height)
    raw = np.frombuffer(bytes(msg.data) if not isinstance(msg.data, (bytes, bytearray)) else msg.data, np.uint8)
    if raw.size != n * msg.point_step:
        raise BadMessageError(f"point cloud: {raw.size} bytes for {n} points of {msg.point_step} bytes")
    rec = raw.reshape(n, msg.point_step)
    out = np.empty((n, 3), np.float32)
    for k, name in enumerate("xyz"):
        out[:, k] = rec[:, offs[name]:offs[name] + 4].copy().view(np.float32)[:, 0]
    return out


def labels_from_msg(msg) -> dict[int, str]:
    """Instance id -> label of a ``robomem_msgs/InstanceLabels``."""
    if len(msg.ids) != len(msg.labels):
        raise BadMessageError(f"instance labels: {len(msg.ids)} ids but {len(msg.labels)} labels")
    return {int(i): str(s) for i, s in zip(msg.ids, msg.labels)}
