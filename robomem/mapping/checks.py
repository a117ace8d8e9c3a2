"""Argument checks shared by the occupancy map's methods: each raises a robomem error that names
the bad argument, before anything is changed."""
from __future__ import annotations

import math

import numpy as np

from robomem.errors import InvalidInputError, InvalidMapError


def check_resolution(resolution) -> float:
    """``resolution`` as a positive finite float."""
    if isinstance(resolution, bool) or not isinstance(resolution, (int, float, np.number)):
        raise InvalidMapError(f"resolution must be a number, got {resolution!r}")
    r = float(resolution)
    if not math.isfinite(r) or r <= 0:
        raise InvalidMapError(f"resolution must be positive and finite, got {resolution!r}")
    return r


def check_max_range(max_range) -> float:
    """``max_range`` as a float, -1.0 meaning none (None, <= 0 or inf)."""
    if max_range is None:
        return -1.0
    if isinstance(max_range, bool) or not isinstance(max_range, (int, float, np.number)) \
            or math.isnan(float(max_range)):
        raise InvalidInputError(f"max_range must be a number (<= 0 or inf for none), got {max_range!r}")
    r = float(max_range)
    return -1.0 if (r <= 0 or math.isinf(r)) else r


def check_point3(p, name: str) -> np.ndarray:
    """``p`` as a finite float64 (3,) array."""
    try:
        a = np.array(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be 3 numbers, got {p!r}") from None
    if a.shape != (3,):
        raise InvalidInputError(f"{name} must have shape (3,), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InvalidInputError(f"{name} must be finite, got {a.tolist()}")
    return a


def check_points(points, name: str = "points") -> np.ndarray:
    """``points`` as a numeric (N, 3) array (not copied when it already is one)."""
    if not isinstance(points, np.ndarray):
        try:
            points = np.asarray(points)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{name} must be an (N, 3) array") from None
    if points.ndim != 2 or points.shape[1] != 3:
        raise InvalidInputError(f"{name} must have shape (N, 3), got {points.shape}")
    if points.dtype.kind not in "fiu":
        raise InvalidInputError(f"{name} must be a numeric array, got dtype {points.dtype}")
    return points
