"""Data types of the object tracker: a tracked object hypothesis, one frame's update, the object
states and the stale-frame error."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from robomem.errors import InvalidInputError

PRESENT = "present"
DISAPPEARED = "disappeared"


class StaleFrameError(InvalidInputError):
    """A frame older than the last processed one; it was not used (state unchanged)."""


@dataclass(eq=False)
class TrackedObject:
    """A persistent object hypothesis (world frame)."""

    object_id: int
    label: str
    points: np.ndarray            # fused surface points (one per fusion voxel, capped)
    bbox_min: np.ndarray
    bbox_max: np.ndarray
    centroid: np.ndarray
    color: Optional[str]
    first_seen_ns: int
    last_seen_ns: int
    first_session: int
    last_session: int
    num_observations: int = 1
    misses: int = 0
    state: str = PRESENT
    fusion_voxel: float = 0.03
    color_votes: dict = field(default_factory=dict)
    placed_ns: int = 0            # when it was first seen at its current place (appeared / moved)
    rgb_sum: np.ndarray = field(default_factory=lambda: np.zeros(3))  # pixel-weighted sum of segment mean RGB
    rgb_weight: float = 0.0
    #: {old object id: probability} when re-identifying this object among look-alikes was not
    #: sure ("unsure which one"); {} when sure. See ``ObjectTracker.identity_candidates``.
    identity_candidates: dict = field(default_factory=dict)
    identity_session: int = -1    # session in which identity_candidates were set

    @property
    def mean_rgb(self) -> Optional[np.ndarray]:
        """Pixel-weighted mean RGB over all fused views (None without colour)."""
        return self.rgb_sum / self.rgb_weight if self.rgb_weight > 0 else None

    @property
    def position(self) -> np.ndarray:
        return self.centroid


@dataclass
class TrackerUpdate:
    """What one frame did: matched (object, segment) pairs, events in emission order, and
    duplicates folded into older objects (absorbed id -> kept id)."""

    matches: list
    events: list
    merged: dict = field(default_factory=dict)
