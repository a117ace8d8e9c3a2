"""`Frame`: one posed RGB-D observation, the unit everything in robomem consumes."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping, Optional

import numpy as np

from robomem.camera import CameraIntrinsics
from robomem.errors import InvalidImageError, InvalidInputError
from robomem.pose import transform_points, validate_pose


@dataclass(frozen=True, eq=False)
class Frame:
    """A posed RGB-D frame.

    - ``depth``: (H, W) float32 metres; 0, NaN and inf mean "no reading".
    - ``rgb``: (H, W, 3) uint8 or None.
    - ``instance_ids``: (H, W) uint32, 0 = no instance, or None.
    - ``labels``: instance id -> category name for the ids in ``instance_ids``.
    - ``T_world_camera``: 4x4 pose of the optical camera frame in the world (REP-103 world).
    - ``stamp_ns``: integer nanoseconds since the UNIX epoch.

    Arrays are validated and made read-only on construction; derived data (world points) is cached.
    """

    depth: np.ndarray
    intrinsics: CameraIntrinsics
    T_world_camera: np.ndarray
    stamp_ns: int
    rgb: Optional[np.ndarray] = None
    instance_ids: Optional[np.ndarray] = None
    labels: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.intrinsics, CameraIntrinsics):
            raise InvalidInputError(f"intrinsics must be CameraIntrinsics, got {type(self.intrinsics).__name__}")
        depth = self.depth
        if not isinstance(depth, np.ndarray) or depth.ndim != 2:
            raise InvalidImageError(f"depth must be a 2-D array, got {getattr(depth, 'shape', type(depth).__name__)}")
        if depth.dtype == np.uint16:
            raise InvalidImageError("depth is uint16: convert to float32 metres first (e.g. TUM: value / 5000)")
        if depth.dtype not in (np.float32, np.float64):
            raise InvalidImageError(f"depth must be float32 metres, got dtype {depth.dtype}")
        self.intrinsics.check_image(depth, "depth")
        object.__setattr__(self, "depth", _frozen(depth.astype(np.float32, copy=False)))
        object.__setattr__(self, "T_world_camera", _frozen(validate_pose(self.T_world_camera, "T_world_camera")))
        if isinstance(self.stamp_ns, bool) or not isinstance(self.stamp_ns, (int, np.integer)) or self.stamp_ns < 0:
            raise InvalidInputError(f"stamp_ns must be a non-negative integer (ns since epoch), got {self.stamp_ns!r}")
        object.__setattr__(self, "stamp_ns", int(self.stamp_ns))
        if self.rgb is not None:
            rgb = self.rgb
            if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
                raise InvalidImageError(
                    f"rgb must be (H, W, 3) uint8, got {getattr(rgb, 'shape', None)} {getattr(rgb, 'dtype', None)}")
            self.intrinsics.check_image(rgb, "rgb")
            object.__setattr__(self, "rgb", _frozen(rgb))
        if self.instance_ids is not None:
            ids = self.instance_ids
            if not isinstance(ids, np.ndarray) or ids.ndim != 2 or ids.dtype.kind not in "ui":
                raise InvalidImageError(f"instance_ids must be a 2-D integer array, got {getattr(ids, 'dtype', None)}")
            self.intrinsics.check_image(ids, "instance_ids")
            if ids.dtype.kind == "i" and ids.size and ids.min() < 0:
                raise InvalidImageError("instance_ids contains negative ids")
            object.__setattr__(self, "instance_ids", _frozen(ids.astype(np.uint32, copy=False)))
        labels = {int(k): str(v) for k, v in dict(self.labels or {}).items()}
        if labels and self.instance_ids is None:
            raise InvalidInputError("labels given without an instance_ids image")
        object.__setattr__(self, "labels", labels)

    @property
    def shape(self) -> tuple[int, int]:
        return self.depth.shape

    @property
    def camera_position(self) -> np.ndarray:
        """Camera centre in the world frame (3,)."""
        return self.T_world_camera[:3, 3].copy()

    @cached_property
    def valid_mask(self) -> np.ndarray:
        """(H, W) bool: pixels with a usable depth reading."""
        return np.isfinite(self.depth) & (self.depth > 0)

    @cached_property
    def points_camera(self) -> np.ndarray:
        """(N, 3) float32 optical-frame points of the valid pixels (row-major order)."""
        return self.intrinsics.backproject(self.depth)[0]

    @cached_property
    def points_world(self) -> np.ndarray:
        """(N, 3) float64 world points of the valid pixels (row-major order)."""
        return transform_points(self.T_world_camera, self.points_camera)

    def missing_labels(self) -> set[int]:
        """Instance ids present in the image without a label."""
        if self.instance_ids is None:
            return set()
        present = set(np.unique(self.instance_ids).tolist()) - {0}
        return present - set(self.labels)


def _frozen(a: np.ndarray) -> np.ndarray:
    # Copy writable input so a caller mutating its own buffer cannot change a stored frame.
    if a.flags.writeable or not a.flags.c_contiguous:
        a = np.array(a, order="C", copy=True)
        a.setflags(write=False)
    return a
