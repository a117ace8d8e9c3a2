"""Pinhole camera intrinsics and depth back-projection (optical frame: z forward, x right, y down)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from robomem.errors import InvalidImageError, InvalidIntrinsicsError


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of an image of ``width`` x ``height`` pixels (no distortion)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v <= 0:
                raise InvalidIntrinsicsError(f"{name} must be a positive integer, got {v!r}")
        for name in ("fx", "fy", "cx", "cy"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.number)) or not math.isfinite(float(v)):
                raise InvalidIntrinsicsError(f"{name} must be a finite number, got {v!r}")
        if self.fx <= 0 or self.fy <= 0:
            raise InvalidIntrinsicsError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float) -> "CameraIntrinsics":
        """Square-pixel intrinsics with horizontal field of view ``hfov_deg`` and centred principal point."""
        if not 0 < hfov_deg < 180:
            raise InvalidIntrinsicsError(f"hfov_deg must be in (0, 180), got {hfov_deg}")
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(width, height, f, f, (width - 1) / 2.0, (height - 1) / 2.0)

    @property
    def K(self) -> np.ndarray:
        """3x3 camera matrix."""
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1.0]])

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape (height, width)."""
        return (self.height, self.width)

    @cached_property
    def pixel_rays(self) -> np.ndarray:
        """(H, W, 3) float32 optical-frame ray per pixel with z = 1: point = depth * ray."""
        u = (np.arange(self.width, dtype=np.float64) - self.cx) / self.fx
        v = (np.arange(self.height, dtype=np.float64) - self.cy) / self.fy
        rays = np.empty((self.height, self.width, 3), dtype=np.float32)
        rays[..., 0] = u[None, :]
        rays[..., 1] = v[:, None]
        rays[..., 2] = 1.0
        rays.setflags(write=False)
        return rays

    def check_image(self, image: np.ndarray, name: str = "image") -> None:
        """Raise :class:`InvalidImageError` if ``image`` is not height x width (x channels)."""
        if not isinstance(image, np.ndarray):
            raise InvalidImageError(f"{name} must be a numpy array, got {type(image).__name__}")
        if image.shape[:2] != self.shape:
            raise InvalidImageError(f"{name} has shape {image.shape[:2]}, intrinsics expect {self.shape}")

    def backproject(self, depth: np.ndarray, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Optical-frame points (N, 3) float32 of the valid pixels of ``depth`` and their flat pixel
        indices. Invalid readings (0, negative, NaN, inf) are skipped."""
        self.check_image(depth, "depth")
        rays = self.pixel_rays
        if stride > 1:
            depth = depth[::stride, ::stride]
            rays = rays[::stride, ::stride]
        d = np.asarray(depth, dtype=np.float32).reshape(-1)
        valid = np.isfinite(d) & (d > 0)
        idx = np.flatnonzero(valid)
        pts = rays.reshape(-1, 3)[idx] * d[idx, None]
        return pts, idx

    def project(self, points_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (N, 2) float64 of optical-frame points and a mask of those in front of
        the camera and inside the image."""
        P = np.asarray(points_camera, dtype=np.float64)
        z = P[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.fx * P[:, 0] / z + self.cx
            v = self.fy * P[:, 1] / z + self.cy
        inside = (z > 1e-6) & (u >= -0.5) & (u < self.width - 0.5) & (v >= -0.5) & (v < self.height - 0.5)
        return np.stack([u, v], axis=1), inside


#: TUM RGB-D freiburg1 camera (the Kinect used for fr1 sequences).
TUM_FR1 = CameraIntrinsics(640, 480, 517.3, 516.5, 318.6, 255.3)
