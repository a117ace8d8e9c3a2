"""Keyframe images: compression and the policy for when a frame is worth keeping as evidence."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from robomem.errors import InvalidImageError, InvalidInputError


def encode_image(rgb: np.ndarray, max_side: int = 160, fmt: str = "JPEG", quality: int = 70) -> tuple[bytes, int, int]:
    """Downscale (keeping aspect) so the longer side is at most ``max_side`` and compress.

    Returns (bytes, width, height). ``fmt`` is "JPEG" or "PNG"."""
    from PIL import Image

    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidImageError(f"keyframe image must be (H, W, 3) uint8, got "
                                f"{getattr(rgb, 'shape', None)} {getattr(rgb, 'dtype', None)}")
    if fmt not in ("JPEG", "PNG"):
        raise InvalidInputError(f"keyframe format must be JPEG or PNG, got {fmt!r}")
    if max_side < 8:
        raise InvalidInputError(f"max_side must be >= 8, got {max_side}")
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


@dataclass
class KeyframePolicy:
    """Take a keyframe when the view shows something the last keyframe does not (at least
    ``min_new_fraction`` of the visible object ids are not tagged in the last keyframe), when an
    event (appeared/moved/disappeared) happened, or when ``refresh_ns`` passed since the last one.
    A static view (even with flickering detections, which only drop ids) therefore adds nothing."""

    min_new_fraction: float = 0.25
    refresh_ns: int = 3600 * 10**9
    _last_ids: Optional[frozenset] = None
    _last_ns: Optional[int] = None

    def wants(self, stamp_ns: int, visible_ids: Iterable[int], had_event: bool) -> bool:
        ids = frozenset(int(i) for i in visible_ids)
        if not ids:
            return False
        if self._last_ids is None or had_event or stamp_ns - self._last_ns >= self.refresh_ns:
            return True
        return len(ids - self._last_ids) / len(ids) >= self.min_new_fraction

    def taken(self, stamp_ns: int, visible_ids: Iterable[int]) -> None:
        self._last_ids = frozenset(int(i) for i in visible_ids)
        self._last_ns = stamp_ns
