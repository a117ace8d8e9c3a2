"""Names for mean RGB colours (basic colour terms), vectorised over many colours at once."""
from __future__ import annotations

import numpy as np

#: Hue bins (degrees, upper bound exclusive) -> name, for saturated colours.
_HUE_NAMES = ((15, "red"), (40, "orange"), (70, "yellow"), (160, "green"), (200, "cyan"),
              (255, "blue"), (290, "purple"), (340, "pink"), (361, "red"))

COLOR_NAMES = ("black", "white", "gray", "brown", "red", "orange", "yellow", "green", "cyan", "blue",
               "purple", "pink")


def color_names(rgb: np.ndarray) -> list[str]:
    """Basic colour name for each row of ``rgb`` (N, 3) in 0..255."""
    c = np.asarray(rgb, dtype=np.float64).reshape(-1, 3) / 255.0
    mx, mn = c.max(axis=1), c.min(axis=1)
    delta = mx - mn
    sat = np.where(mx > 0, delta / np.maximum(mx, 1e-9), 0.0)
    r, g, b = c[:, 0], c[:, 1], c[:, 2]
    d = np.maximum(delta, 1e-9)
    hue = np.where(mx == r, ((g - b) / d) % 6, np.where(mx == g, (b - r) / d + 2, (r - g) / d + 4)) * 60.0
    out = []
    for h, s, v in zip(hue, sat, mx):
        if v < 0.18:
            out.append("black")
        elif s < 0.18:
            out.append("white" if v > 0.8 else "gray")
        elif 15 <= h < 45 and v < 0.6:
            # Dark orange reads as brown (wood) in indoor scenes.
            out.append("brown")
        else:
            out.append(next(name for ub, name in _HUE_NAMES if h < ub))
    return out


def color_name(rgb) -> str:
    """Basic colour name of one RGB triple (0..255)."""
    return color_names(np.asarray(rgb)[None])[0]
