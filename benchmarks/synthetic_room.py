"""The synthetic-room mapping workload (the octree benchmark's first workload), generated analytically with numpy.

A closed 8 x 6 x 3 m room (x in [0, 8], y in [0, 6], z in [0, 3]) with 6 box obstacles, seen by a
640 x 480 depth camera (fx = fy = 525, principal point at the image centre) from 50 poses evenly
spaced on an ellipse (semi-axes 2.2 m x 1.4 m) around the room centre at 1.4 m height, each looking
at the room centre at 0.9 m height (so across the room: depths 0.4-7.3 m, a large share of the far
wall beyond a 5 m max range). Depth is the exact ray/box intersection plus Kinect-like Gaussian
noise sigma(z) = 0.0012 + 0.0019 (z - 0.4)^2 m (Nguyen et al., 3DIMPVT 2012). Every pixel sees a
surface, so each frame has 307,200 valid readings (15.36 M points in all). Deterministic for a given
seed.

Run as a script to write the frames to an .npz cache: ``python benchmarks/synthetic_room.py out.npz``."""
from __future__ import annotations

import sys

import numpy as np

from robomem.camera import CameraIntrinsics
from robomem.pose import R_BODY_OPTICAL

ROOM_MIN = np.array([0.0, 0.0, 0.0])
ROOM_MAX = np.array([8.0, 6.0, 3.0])
#: Obstacles (min corner, max corner): table, cabinet, sofa, two boxes, a pillar.
BOXES = np.array([
    [[1.0, 1.0, 0.0], [2.2, 1.8, 0.75]],
    [[6.6, 0.3, 0.0], [7.7, 0.9, 1.9]],
    [[5.5, 4.4, 0.0], [7.5, 5.4, 0.9]],
    [[3.2, 4.6, 0.0], [3.8, 5.2, 0.5]],
    [[0.5, 4.0, 0.0], [1.1, 4.6, 1.2]],
    [[4.6, 2.2, 0.0], [4.9, 2.5, 3.0]],
])
INTRINSICS = CameraIntrinsics(640, 480, 525.0, 525.0, 319.5, 239.5)


def camera_poses(n_frames: int = 50) -> np.ndarray:
    """(n, 4, 4) T_world_camera (optical frame) on an ellipse around the room centre."""
    centre = (ROOM_MIN + ROOM_MAX) / 2
    poses = []
    for i in range(n_frames):
        a = 2 * np.pi * i / n_frames
        pos = np.array([centre[0] + 2.2 * np.cos(a), centre[1] + 1.4 * np.sin(a), 1.4])
        target = np.array([centre[0], centre[1], 0.9])
        fwd = target - pos
        yaw = np.arctan2(fwd[1], fwd[0])
        pitch = -np.arctan2(-fwd[2], np.hypot(fwd[0], fwd[1]))  # positive pitch looks down
        cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
        R_yaw = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1.0]])
        R_pitch = np.array([[cp, 0, sp], [0, 1.0, 0], [-sp, 0, cp]])
        T = np.eye(4)
        T[:3, :3] = R_yaw @ R_pitch @ R_BODY_OPTICAL
        T[:3, 3] = pos
        poses.append(T)
    return np.array(poses)


def render_depth(T_world_camera: np.ndarray, intrinsics: CameraIntrinsics = INTRINSICS) -> np.ndarray:
    """Noise-free depth (H, W) float32 of the room from one pose (exact ray casting)."""
    rays_c = intrinsics.pixel_rays.reshape(-1, 3).astype(np.float64)  # z = 1: t along it is depth
    R, o = T_world_camera[:3, :3], T_world_camera[:3, 3]
    d = rays_c @ R.T
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        # Inside the room: exit distance is the nearest wall ahead on each axis.
        t_wall = np.where(d > 0, (ROOM_MAX - o) * inv, (ROOM_MIN - o) * inv)
        t_wall[~np.isfinite(t_wall)] = np.inf
        t = t_wall.min(axis=1)
        for lo, hi in BOXES:
            t1 = (lo - o) * inv
            t2 = (hi - o) * inv
            tn = np.nanmax(np.minimum(t1, t2), axis=1)
            tf = np.nanmin(np.maximum(t1, t2), axis=1)
            hit = (tn <= tf) & (tn > 0)
            t = np.where(hit & (tn < t), tn, t)
    return t.reshape(intrinsics.height, intrinsics.width).astype(np.float32)


def make_frames(n_frames: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Depth images (n, 480, 640) float32 with noise and poses (n, 4, 4)."""
    rng = np.random.default_rng(seed)
    poses = camera_poses(n_frames)
    depths = np.empty((n_frames, INTRINSICS.height, INTRINSICS.width), dtype=np.float32)
    for i, T in enumerate(poses):
        z = render_depth(T)
        sigma = 0.0012 + 0.0019 * (z - 0.4) ** 2
        depths[i] = np.maximum(z + rng.standard_normal(z.shape).astype(np.float32) * sigma, 0.05)
    return depths, poses


def world_points(depth: np.ndarray, T_world_camera: np.ndarray, intrinsics: CameraIntrinsics = INTRINSICS):
    """(N, 3) float64 world points of the valid pixels of one frame."""
    from robomem.pose import transform_points
    pts, _ = intrinsics.backproject(depth)
    return transform_points(T_world_camera, pts)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "synthetic_room.npz"
    depths, poses = make_frames()
    np.savez(out, depths=depths, poses=poses)
    print(f"wrote {out}: {depths.shape[0]} frames, {np.isfinite(depths).sum():,} points, "
          f"depth range {depths.min():.2f}-{depths.max():.2f} m")
