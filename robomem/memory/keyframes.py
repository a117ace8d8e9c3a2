"""Keyframe images: compression and the policy for when a frame is worth keeping as evidence."""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Iterable, Optional

import numpy as np

from robomem.errors import InvalidImageError, InvalidInputError


def check_encoding(max_side, fmt: str = "JPEG", quality=70) -> None:
    """Raise :class:`InvalidInputError` naming the setting unless keyframes can be encoded with it:
    ``max_side`` an integer in [8, 4096], ``fmt`` "JPEG" or "PNG", ``quality`` an integer in [1, 95]."""
    if isinstance(max_side, bool) or not isinstance(max_side, (int, np.integer)) or not 8 <= max_side <= 4096:
        raise InvalidInputError(f"keyframe max_side must be an integer in [8, 4096], got {max_side!r}")
    if fmt not in ("JPEG", "PNG"):
        raise InvalidInputError(f"keyframe format must be JPEG or PNG, got {fmt!r}")
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 95:
        raise InvalidInputError(f"keyframe quality must be an integer in [1, 95], got {quality!r}")


def encode_image(rgb: np.ndarray, max_side: int = 160, fmt: str = "JPEG", quality: int = 70) -> tuple[bytes, int, int]:
    """Downscale (keeping aspect) so the longer side is at most ``max_side`` and compress.

    Returns (bytes, width, height). ``fmt`` is "JPEG" or "PNG"."""
    from PIL import Image

    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidImageError(f"keyframe image must be (H, W, 3) uint8, got "
                                f"{getattr(rgb, 'shape', None)} {getattr(rgb, 'dtype', None)}")
    check_encoding(max_side, fmt, quality)
    img = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.save(buf, "JPEG", quality=int(quality), optimize=True)
    else:
        img.save(buf, "PNG", optimize=True)
    return buf.getvalue(), img.width, img.height


def decode_image(data: bytes) -> np.ndarray:
    """Decode stored keyframe bytes to an (H, W, 3) uint8 array."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def image_descriptor(rgb: np.ndarray, cols: int = 8, rows: int = 6) -> np.ndarray:
    """A tiny appearance descriptor of an (H, W, 3) uint8 image: the mean colour of each cell of a
    ``cols`` x ``rows`` grid, as uint8 (144 bytes by default). Two views of the same unchanged scene
    from about the same pose give nearly the same descriptor; see :func:`descriptor_distance`."""
    h, w = rgb.shape[:2]
    ys = (np.arange(rows + 1) * h) // rows
    xs = (np.arange(cols + 1) * w) // cols
    a = rgb.astype(np.float32)
    s = np.add.reduceat(np.add.reduceat(a, ys[:-1], axis=0), xs[:-1], axis=1)
    n = np.diff(ys)[:, None, None] * np.diff(xs)[None, :, None]
    return np.clip(np.rint(s / n), 0, 255).astype(np.uint8).ravel()


def descriptor_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute difference of descriptors, in [0, 1]; ``b`` may be a stack (n, d)."""
    return np.abs(np.asarray(b, np.int16) - np.asarray(a, np.int16)).mean(axis=-1) / 255.0


@dataclass
class KeptView:
    """What the novelty test compares against for one stored keyframe."""

    stamp_ns: int
    object_ids: frozenset
    position: Optional[np.ndarray]   # camera/robot position (3,), None if unknown
    yaw: Optional[float]             # heading (rad), None if unknown
    descriptor: Optional[np.ndarray]


@dataclass
class KeyframePolicy:
    """Take a keyframe when the view is new against *every* keyframe kept so far, not only the last:
    a view is already covered when some kept keyframe was taken within ``place_radius_m`` and
    ``heading_tolerance_rad`` of this pose (when both poses are known), tags all but less than
    ``min_new_fraction`` of the visible object ids, looks alike (:func:`descriptor_distance` below
    ``max_descriptor_distance``) and is younger than ``refresh_ns``. An event
    (appeared/moved/disappeared) always takes one. A robot patrolling an unchanged room therefore
    stops adding keyframes once its poses are covered; flickering detections only drop ids.

    The stack feeds it the keyframes already stored (:meth:`remember`) when it opens, so the
    comparison spans sessions."""

    min_new_fraction: float = 0.25
    refresh_ns: int = 24 * 3600 * 10**9
    place_radius_m: float = 1.0
    heading_tolerance_rad: float = math.radians(30.0)
    max_descriptor_distance: float = 0.08
    views: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        checks = (("min_new_fraction", self.min_new_fraction, 0.0, 1.0),
                  ("place_radius_m", self.place_radius_m, 0.0, math.inf),
                  ("heading_tolerance_rad", self.heading_tolerance_rad, 0.0, math.pi),
                  ("max_descriptor_distance", self.max_descriptor_distance, 0.0, 1.0))
        for name, v, lo, hi in checks:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= v <= hi):
                raise InvalidInputError(f"KeyframePolicy.{name} must be a number in [{lo}, {hi}], got {v!r}")
        if isinstance(self.refresh_ns, bool) or not isinstance(self.refresh_ns, int) or self.refresh_ns <= 0:
            raise InvalidInputError(f"KeyframePolicy.refresh_ns must be a positive integer, got {self.refresh_ns!r}")

    def wants(self, stamp_ns: int, visible_ids: Iterable[int], had_event: bool, position=None,
              yaw: Optional[float] = None, descriptor: Optional[np.ndarray] = None) -> bool:
        """Whether this view is worth a keyframe."""
        ids = frozenset(int(i) for i in visible_ids)
        if not ids:
            return False
        if had_event:
            return True
        if not self.views:
            return True
        t, xyz, has_xyz, yw, has_yaw = self._arrays()
        ok = (stamp_ns - t) < self.refresh_ns
        if position is not None:
            pos = np.asarray(position, np.float64)
            near = ((xyz - pos) ** 2).sum(axis=1) <= self.place_radius_m ** 2
            ok &= near | ~has_xyz
            if yaw is not None:
                d = np.abs((yaw - yw + math.pi) % (2 * math.pi) - math.pi)
                ok &= (d <= self.heading_tolerance_rad) | ~has_yaw | ~has_xyz
        for k in np.flatnonzero(ok)[::-1].tolist():  # newest first: the likeliest match
            v = self.views[k]
            if len(ids - v.object_ids) / len(ids) >= self.min_new_fraction:
                continue
            if descriptor is not None and v.descriptor is not None and \
                    float(descriptor_distance(descriptor, v.descriptor)) > self.max_descriptor_distance:
                continue
            return False
        return True

    def _arrays(self):
        """Stamps, positions, headings of the kept views as arrays (cached until the views change)."""
        c = getattr(self, "_cache", None)
        if c is not None and c[0] is self.views and c[1] == len(self.views):
            return c[2]
        v = self.views
        t = np.array([x.stamp_ns for x in v], np.int64)
        has_xyz = np.array([x.position is not None for x in v], bool)
        xyz = np.array([x.position if x.position is not None else (np.nan,) * 3 for x in v], np.float64).reshape(-1, 3)
        has_yaw = np.array([x.yaw is not None for x in v], bool)
        yw = np.array([x.yaw if x.yaw is not None else 0.0 for x in v], np.float64)
        arrays = (t, xyz, has_xyz, yw, has_yaw)
        self._cache = (v, len(v), arrays)
        return arrays

    def taken(self, stamp_ns: int, visible_ids: Iterable[int], position=None, yaw: Optional[float] = None,
              descriptor: Optional[np.ndarray] = None) -> None:
        """Remember a keyframe that was stored."""
        self.views.append(KeptView(int(stamp_ns), frozenset(int(i) for i in visible_ids),
                                   None if position is None else np.asarray(position, np.float64).copy(),
                                   None if yaw is None else float(yaw), descriptor))

    def remember(self, views: Iterable[KeptView]) -> None:
        """Replace what the policy compares against (e.g. with the keyframes stored in the file)."""
        self.views = sorted(views, key=lambda v: v.stamp_ns)

    def forget_missing(self, kept_stamps: set) -> None:
        """Drop views whose keyframe was evicted (their stamps are no longer in ``kept_stamps``)."""
        self.views = [v for v in self.views if v.stamp_ns in kept_stamps]
