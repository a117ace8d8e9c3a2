"""The semantic prior: where objects of a category are found, by room type.

P(room type t | category c) is a Dirichlet-smoothed frequency: counts n[c, t] of stored placements
(category c seen in a room of type t) plus ``strength`` pseudo-counts spread by a default table:

    P(t | c) = (n[c, t] + s · d[c, t]) / (Σ_t' n[c, t'] + s)

``d`` is :data:`DEFAULT_ROOM_PRIOR` (household common sense) where it knows the category, uniform
over the known room types otherwise. See docs/planning.md."""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Callable, Iterable, Mapping, Optional, Sequence

from robomem.planning.errors import InvalidPlanningSettingError

__all__ = ["ROOM_TYPES", "DEFAULT_ROOM_PRIOR", "SemanticPrior", "room_probabilities"]

#: Room types the default table speaks of (the simulator's types; others get the uniform share).
ROOM_TYPES = ("kitchen", "living_room", "dining_room", "bedroom", "bathroom", "office", "hallway",
              "laundry", "entrance", "playroom", "storage", "room")

_K, _L, _D, _B, _BA, _O, _H, _LA, _E, _P = ("kitchen", "living_room", "dining_room", "bedroom", "bathroom",
                                             "office", "hallway", "laundry", "entrance", "playroom")

#: Built-in common-sense table: category → {room type: weight} (normalised on use).
DEFAULT_ROOM_PRIOR: dict[str, dict[str, float]] = {
    "mug": {_K: 5, _O: 2, _L: 1.5, _D: 1.5, _B: 0.5}, "cup": {_K: 5, _D: 2, _O: 1, _L: 1},
    "bowl": {_K: 5, _D: 2}, "plate": {_K: 5, _D: 3}, "bottle": {_K: 4, _D: 1.5, _O: 1, _B: 1},
    "fruit_bowl": {_K: 4, _D: 2, _L: 1}, "pan": {_K: 8}, "cutting_board": {_K: 8},
    "keys": {_E: 4, _H: 3, _L: 1, _B: 1, _K: 1, _O: 0.5}, "wallet": {_E: 3, _H: 2, _B: 2, _O: 1, _K: 0.5},
    "phone": {_B: 3, _L: 3, _O: 2, _K: 1, _E: 0.5}, "glasses": {_B: 3, _O: 2, _L: 2},
    "book": {_L: 3, _B: 3, _O: 3, _P: 1}, "notebook": {_O: 4, _L: 1, _B: 1, _D: 0.5},
    "remote": {_L: 8, _B: 0.5}, "laptop": {_O: 4, _L: 2, _B: 1.5, _D: 1, _K: 0.5},
    "headphones": {_O: 3, _B: 2, _L: 2}, "plant": {_L: 3, _O: 1, _D: 1, _E: 1, _H: 1, _K: 1},
    "vase": {_L: 3, _D: 2, _E: 1, _H: 1}, "candle": {_L: 2, _D: 2, _B: 1},
    "clock": {_B: 2, _L: 2, _O: 1}, "bag": {_E: 3, _H: 2, _B: 1.5, _L: 1},
    "backpack": {_E: 2, _H: 2, _O: 1.5, _B: 1.5}, "towel": {_BA: 6, _LA: 2, _B: 1},
    "toothbrush": {_BA: 10}, "soap": {_BA: 10}, "pillow": {_B: 5, _L: 2},
    "toy": {_P: 4, _L: 2, _B: 2}, "umbrella": {_E: 5, _H: 2}, "pen": {_O: 4, _B: 1, _K: 0.5},
}


class SemanticPrior:
    """P(room type | category), learned by counting stored placements with a Dirichlet prior.

    ``strength`` (s): how many placements the default table is worth. ``default``: the table
    (category → {room type: weight}); ``room_types``: the types a uniform fallback spreads over."""

    def __init__(self, strength: float = 4.0, default: Optional[Mapping[str, Mapping[str, float]]] = None,
                 room_types: Sequence[str] = ROOM_TYPES) -> None:
        if not (isinstance(strength, (int, float)) and math.isfinite(strength) and strength > 0):
            raise InvalidPlanningSettingError(f"strength must be a positive number, got {strength!r}")
        self.strength = float(strength)
        self.default = {c: dict(t) for c, t in (DEFAULT_ROOM_PRIOR if default is None else default).items()}
        for c, table in self.default.items():
            for t, w in table.items():
                if not (isinstance(w, (int, float)) and math.isfinite(w) and w >= 0):
                    raise InvalidPlanningSettingError(f"default prior weight for {c!r} in {t!r} must be >= 0, got {w!r}")
        self.room_types = tuple(room_types)
        if not self.room_types:
            raise InvalidPlanningSettingError("room_types must not be empty")
        self.counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def add(self, category: str, room_type: str, weight: float = 1.0) -> None:
        """Count one placement of ``category`` in a room of ``room_type``."""
        if not isinstance(category, str) or not isinstance(room_type, str):
            raise InvalidPlanningSettingError(f"category and room_type must be strings, got {category!r}, {room_type!r}")
        if not (math.isfinite(weight) and weight >= 0):
            raise InvalidPlanningSettingError(f"weight must be >= 0, got {weight!r}")
        self.counts[category][room_type] += float(weight)

    def learn(self, pairs: Iterable[tuple[str, Optional[str]]]) -> "SemanticPrior":
        """Count ``(category, room type)`` pairs (pairs whose room type is None are skipped)."""
        for c, t in pairs:
            if t is not None:
                self.add(c, t)
        return self

    @classmethod
    def from_placements(cls, placements: Iterable, room_types: Mapping[int, str], room_of: Optional[Callable] = None,
                        **kwargs) -> "SemanticPrior":
        """Learn from stored placements (objects with ``label`` and ``room_id``, e.g. the long-term
        store's :class:`~robomem.memory.records.Placement`), ``room_types``: room id → type.
        ``room_of``: position → room id in ``room_types``' ids; when given it decides each
        placement's room (the stored ``room_id`` may come from another numbering, e.g. the
        robot's own room segmentation)."""
        prior = cls(**kwargs)
        if room_of is not None:
            pairs = ((p.label, room_types.get(room_of(tuple(float(v) for v in p.position)))) for p in placements)
        else:
            pairs = ((p.label, room_types.get(p.room_id)) for p in placements if p.room_id is not None)
        return prior.learn(pairs)

    def _default(self, category: str) -> dict[str, float]:
        table = self.default.get(category)
        if not table or sum(table.values()) <= 0:
            return {t: 1.0 / len(self.room_types) for t in self.room_types}
        z = float(sum(table.values()))
        return {t: w / z for t, w in table.items()}

    def p_room_type(self, category: str, room_type: str) -> float:
        """P(room type | category)."""
        d = self._default(category).get(room_type, 0.0)
        n = self.counts.get(category, {})
        total = float(sum(n.values()))
        return (n.get(room_type, 0.0) + self.strength * d) / (total + self.strength)

    def to_dict(self) -> dict:
        return {"strength": self.strength, "counts": {c: dict(t) for c, t in self.counts.items()}}


def room_probabilities(prior: SemanticPrior, category: str, rooms: Mapping[int, str],
                       floor: float = 0.02) -> dict[int, float]:
    """Spread P(target in room r) over the house's rooms (id → type): proportional to
    P(type_r | category), each room at least ``floor`` of the largest (nothing is impossible),
    normalised to sum 1. Empty ``rooms`` give an empty dict."""
    if not rooms:
        return {}
    w = {r: prior.p_room_type(category, t) for r, t in rooms.items()}
    top = max(w.values())
    if top <= 0:
        w = {r: 1.0 for r in rooms}
    else:
        w = {r: max(v, floor * top) for r, v in w.items()}
    z = sum(w.values())
    return {r: v / z for r, v in w.items()}
