"""OctoMap's occupancy update rules: log-odds hit/miss increments, clamping and threshold.

Values are float32, as in OctoMap's ``OcTreeNode``, so sums and clamps round identically."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robomem.errors import InvalidInputError


def logodds(p: float) -> np.float32:
    """``log(p / (1 - p))`` rounded to float32 (OctoMap ``logodds``)."""
    return np.float32(math.log(p / (1.0 - p)))


def probability(L) -> np.ndarray:
    """Occupancy probability of log-odds ``L`` (NaN stays NaN)."""
    L = np.asarray(L, dtype=np.float64)
    return 1.0 - 1.0 / (1.0 + np.exp(L))


@dataclass(frozen=True)
class UpdateRules:
    """Sensor model and clamping in probability space, plus their float32 log-odds."""

    prob_hit: float = 0.7
    prob_miss: float = 0.4
    clamp_min: float = 0.12
    clamp_max: float = 0.97
    occupancy_threshold: float = 0.5

    def __post_init__(self) -> None:
        for name in ("prob_hit", "prob_miss", "clamp_min", "clamp_max", "occupancy_threshold"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.number)) or not (0.0 < float(v) < 1.0):
                raise InvalidInputError(f"{name} must be a probability strictly between 0 and 1, got {v!r}")
        if self.prob_hit <= 0.5:
            raise InvalidInputError(f"prob_hit must be > 0.5 (a hit is evidence of occupancy), got {self.prob_hit}")
        if self.prob_miss >= 0.5:
            raise InvalidInputError(f"prob_miss must be < 0.5 (a miss is evidence of free space), got {self.prob_miss}")
        if not self.clamp_min < self.clamp_max:
            raise InvalidInputError(f"clamp_min ({self.clamp_min}) must be below clamp_max ({self.clamp_max})")

    @property
    def hit(self) -> np.float32:
        return logodds(self.prob_hit)

    @property
    def miss(self) -> np.float32:
        return logodds(self.prob_miss)

    @property
    def min(self) -> np.float32:
        return logodds(self.clamp_min)

    @property
    def max(self) -> np.float32:
        return logodds(self.clamp_max)

    @property
    def threshold(self) -> np.float32:
        return logodds(self.occupancy_threshold)
