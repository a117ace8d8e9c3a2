"""Plain records passed between perception, the scene graph and memory.

These are the contract between parts: perception emits :class:`ObjectObservation` and
:class:`ObjectEvent`; the memory stores them; retrieval returns them as evidence."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional

import numpy as np


class EventKind(str, enum.Enum):
    """What happened to an object."""

    APPEARED = "appeared"        # first seen (new object)
    UPDATED = "updated"          # seen again where it was
    MOVED = "moved"              # re-observed at a different place (same id)
    DISAPPEARED = "disappeared"  # should have been visible but was not, repeatedly


@dataclass(frozen=True)
class ObjectObservation:
    """One sighting of an object (fused over one frame).

    ``position`` is the world-frame centroid; ``bbox_min``/``bbox_max`` the world axis-aligned box."""

    object_id: int
    label: str
    stamp_ns: int
    position: np.ndarray
    bbox_min: np.ndarray
    bbox_max: np.ndarray
    confidence: float = 1.0
    room_id: Optional[int] = None
    receptacle_id: Optional[int] = None
    color: Optional[str] = None
    num_points: int = 0
    attributes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectEvent:
    """A change in the world as perceived (see :class:`EventKind`)."""

    kind: EventKind
    object_id: int
    label: str
    stamp_ns: int
    position: np.ndarray
    previous_position: Optional[np.ndarray] = None
    room_id: Optional[int] = None
    receptacle_id: Optional[int] = None
    previous_receptacle_id: Optional[int] = None
