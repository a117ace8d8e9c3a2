"""TUM RGB-D benchmark sequences (Sturm et al., IROS 2012).

A sequence folder holds ``depth.txt``/``rgb.txt`` (``timestamp filename``), PNG images and
``groundtruth.txt`` (``timestamp tx ty tz qx qy qz qw``, world-from-camera). Depth PNGs are uint16,
metres = value / 5000. Each depth frame is given the ground-truth pose nearest in time (and the RGB
image nearest in time), as the benchmark's ``associate.py`` does."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional

import numpy as np
from PIL import Image

from robomem.camera import TUM_FR1, CameraIntrinsics
from robomem.errors import InvalidInputError
from robomem.frame import Frame
from robomem.pose import make_pose

TUM_DEPTH_SCALE = 5000.0


def _read_list(path: Path) -> list[tuple[float, list[str]]]:
    if not path.is_file():
        raise InvalidInputError(f"TUM sequence file not found: {path}")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        try:
            rows.append((float(parts[0]), parts[1:]))
        except ValueError:
            raise InvalidInputError(f"{path}:{n}: cannot parse timestamp in {line!r}") from None
    return rows


def read_tum_trajectory(path) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (N,) seconds and poses (N, 4, 4) from a TUM ``groundtruth.txt``."""
    rows = _read_list(Path(path))
    stamps, poses = [], []
    for t, vals in rows:
        if len(vals) != 7:
            raise InvalidInputError(f"{path}: expected 'timestamp tx ty tz qx qy qz qw', got {len(vals) + 1} fields")
        v = np.array(vals, dtype=np.float64)
        stamps.append(t)
        poses.append(make_pose(v[3:7], v[:3]))
    return np.array(stamps), np.array(poses)


def load_tum_sequence(
    folder,
    max_frames: Optional[int] = None,
    intrinsics: CameraIntrinsics = TUM_FR1,
    max_time_difference: float = 0.02,
    with_rgb: bool = True,
) -> Iterator[Frame]:
    """Yield :class:`Frame` objects for the depth images of a TUM RGB-D sequence folder.

    Frames whose nearest ground-truth pose is more than ``max_time_difference`` seconds away are
    skipped (as ``associate.py`` does)."""
    folder = Path(folder)
    depth_list = _read_list(folder / "depth.txt")
    rgb_list = _read_list(folder / "rgb.txt") if with_rgb and (folder / "rgb.txt").is_file() else []
    gt_t, gt_T = read_tum_trajectory(folder / "groundtruth.txt")
    if len(gt_t) == 0:
        raise InvalidInputError(f"{folder}: groundtruth.txt has no poses")
    rgb_t = np.array([t for t, _ in rgb_list])
    count = 0
    for t, (fname, *_) in depth_list:
        if max_frames is not None and count >= max_frames:
            return
        i = int(np.argmin(np.abs(gt_t - t)))
        if abs(gt_t[i] - t) > max_time_difference:
            continue
        raw = np.asarray(Image.open(folder / fname))
        if raw.dtype != np.uint16:
            raise InvalidInputError(f"{folder / fname}: expected a 16-bit depth PNG, got {raw.dtype}")
        depth = raw.astype(np.float32) / TUM_DEPTH_SCALE
        rgb = None
        if len(rgb_t):
            j = int(np.argmin(np.abs(rgb_t - t)))
            if abs(rgb_t[j] - t) <= max_time_difference:
                rgb = np.asarray(Image.open(folder / rgb_list[j][1][0]).convert("RGB"))
        yield Frame(depth=depth, intrinsics=intrinsics, T_world_camera=gt_T[i],
                    stamp_ns=int(round(t * 1e9)), rgb=rgb)
        count += 1
