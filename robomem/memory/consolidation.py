"""Scores for forgetting and the consolidation rhythm.

Retention of a stored item (placement or keyframe) decays exponentially with age::

    retention = importance * 2 ** (-age / half_life)

* placement importance = mean_confidence * min(1, n_observations / n_reference): a one-off,
  low-confidence sighting (likely a false detection) is the first thing forgotten;
* keyframe importance = the value given when it was stored (e.g. 1.0 for a keyframe taken at an
  event, lower for routine ones).

Forgetting deletes closed placements whose retention fell below ``min_retention`` and then the
lowest-retention ones above a row budget. An object's latest ("last known") placement and every
event are exempt."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np


def decay(age_ns: np.ndarray, half_life_ns: float) -> np.ndarray:
    """2 ** (-age / half_life); ages below 0 count as 0."""
    age = np.maximum(np.asarray(age_ns, dtype=np.float64), 0.0)
    return np.exp2(-age / float(half_life_ns))


def placement_retention(now_ns: int, t_end_ns: np.ndarray, n_obs: np.ndarray, conf_sum: np.ndarray,
                        half_life_ns: float, n_reference: float = 10.0) -> np.ndarray:
    n = np.maximum(np.asarray(n_obs, dtype=np.float64), 1.0)
    importance = (np.asarray(conf_sum, dtype=np.float64) / n) * np.minimum(1.0, n / n_reference)
    return importance * decay(now_ns - np.asarray(t_end_ns, dtype=np.int64), half_life_ns)


def keyframe_retention(now_ns: int, stamp_ns: np.ndarray, importance: np.ndarray,
                       half_life_ns: float) -> np.ndarray:
    return np.asarray(importance, dtype=np.float64) * decay(now_ns - np.asarray(stamp_ns, dtype=np.int64),
                                                            half_life_ns)


@dataclass
class ForgettingPolicy:
    """Budgets and decay for :meth:`LongTermMemory.forget`.

    ``placement_half_life_ns``: age at which a placement's retention halves (default 7 days);
    ``min_retention``: closed placements below this are deleted (default 0.01);
    ``max_placements``: row budget for placements (None = unlimited);
    ``keyframe_half_life_ns``: decay of keyframe retention (default 2 days)."""

    placement_half_life_ns: float = 7 * 86400e9
    min_retention: float = 0.01
    max_placements: Optional[int] = None
    n_reference: float = 10.0
    keyframe_half_life_ns: float = 2 * 86400e9

    def __post_init__(self) -> None:
        from robomem.errors import InvalidInputError
        for name in ("placement_half_life_ns", "keyframe_half_life_ns", "n_reference"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InvalidInputError(f"ForgettingPolicy.{name} must be a positive number, got {v!r}")
        if not (0.0 <= self.min_retention <= 1.0):
            raise InvalidInputError(f"ForgettingPolicy.min_retention must be in [0, 1], got {self.min_retention!r}")
        if self.max_placements is not None and self.max_placements < 0:
            raise InvalidInputError("ForgettingPolicy.max_placements must be >= 0 or None")


class ConsolidationClock:
    """Decides when short-term memory is flushed to the long-term store: every ``interval_ns`` of
    data time (0 = every frame). Session end always flushes."""

    def __init__(self, interval_ns: int = 1_000_000_000) -> None:
        from robomem.errors import InvalidInputError
        if isinstance(interval_ns, bool) or not isinstance(interval_ns, (int, np.integer)) or interval_ns < 0:
            raise InvalidInputError(f"consolidation interval must be a non-negative int (ns), got {interval_ns!r}")
        self.interval_ns = int(interval_ns)
        self._last: Optional[int] = None

    def due(self, stamp_ns: int) -> bool:
        if self._last is None:
            self._last = stamp_ns
            return self.interval_ns == 0
        return stamp_ns - self._last >= self.interval_ns

    def mark(self, stamp_ns: int) -> None:
        self._last = stamp_ns
