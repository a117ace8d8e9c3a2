"""A household dynamics model: how small objects move between receptacles while nobody watches.

Per category: a *mobility* (chance of being moved in one gap between sessions), *habits*
(furniture categories it tends to end up on before a given session: keys by the door in the
evening, the mug in the kitchen in the morning), and whether it is *carried out* of the house
during the day (keys, phone, bags leave and come back). Furniture never moves. The model is a plain
table so users can tune it; :class:`HouseholdDynamics` only holds numbers, the scenario applies it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from sim.categories import CATEGORIES
from sim.scenario_log import ScenarioError

#: Chance that an object of the category is moved in one gap between sessions. Unlisted small
#: objects use ``HouseholdDynamics.default_mobility``; furniture is always 0.
MOBILITY: dict[str, float] = {
    # never move
    "plant": 0.0, "vase": 0.0, "clock": 0.0, "candle": 0.0, "toothbrush": 0.0, "soap": 0.0,
    "cutting_board": 0.0,
    # rarely
    "plate": 0.05, "bowl": 0.08, "fruit_bowl": 0.05, "pillow": 0.05, "towel": 0.1, "notebook": 0.1,
    "pen": 0.1, "bottle": 0.15, "pan": 0.05, "umbrella": 0.1,
    # often
    "keys": 0.6, "phone": 0.65, "mug": 0.5, "cup": 0.4, "remote": 0.45, "glasses": 0.45, "wallet": 0.4,
    "laptop": 0.4, "headphones": 0.3, "bag": 0.3, "backpack": 0.3, "book": 0.25, "toy": 0.4,
}

#: Furniture an object tends to end up on *before* a session of the given name.
HABITS: dict[str, dict[str, tuple[str, ...]]] = {
    "keys": {"evening": ("console_table", "shoe_rack", "sideboard"), "morning": ("console_table", "nightstand")},
    "wallet": {"evening": ("console_table", "dresser", "nightstand")},
    "phone": {"evening": ("coffee_table", "sofa", "nightstand"), "morning": ("nightstand", "desk", "counter")},
    "mug": {"morning": ("counter", "kitchen_table", "kitchen_island", "desk"), "evening": ("counter", "coffee_table")},
    "cup": {"morning": ("counter", "kitchen_table", "dining_table")},
    "remote": {"evening": ("coffee_table", "sofa", "tv_stand")},
    "glasses": {"evening": ("nightstand", "coffee_table"), "morning": ("desk", "nightstand")},
    "laptop": {"morning": ("desk",), "afternoon": ("desk", "dining_table"), "evening": ("coffee_table", "sofa", "bed")},
    "book": {"evening": ("nightstand", "bed", "sofa")},
    "headphones": {"morning": ("desk",), "evening": ("nightstand", "sofa")},
    "bag": {"evening": ("bench", "console_table", "chair")},
    "backpack": {"evening": ("bench", "chair", "office_chair")},
    "toy": {"evening": ("coffee_table", "bed", "sofa")},
}

#: Categories whose objects may leave the house for a while (and come back at a later gap).
CARRIED_OUT: dict[str, float] = {"keys": 0.25, "phone": 0.25, "wallet": 0.2, "bag": 0.2, "backpack": 0.2,
                                 "laptop": 0.15, "umbrella": 0.1, "headphones": 0.1}

#: Categories of new objects that may be brought into the house (appear), and of objects that may
#: be thrown or given away for good (disappear).
ARRIVALS: tuple[str, ...] = ("book", "mug", "bag", "toy", "bottle", "notebook")
DEPARTURES: tuple[str, ...] = ("bottle", "toy", "book", "notebook")


@dataclass
class HouseholdDynamics:
    """Numbers of the household model. ``habit_strength``: chance a move follows a habit when one
    applies. ``arrival_rate``/``departure_rate``: expected new/removed objects per day."""

    mobility: Mapping[str, float] = field(default_factory=lambda: dict(MOBILITY))
    habits: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=lambda: dict(HABITS))
    carried_out: Mapping[str, float] = field(default_factory=lambda: dict(CARRIED_OUT))
    arrivals: tuple[str, ...] = ARRIVALS
    departures: tuple[str, ...] = DEPARTURES
    default_mobility: float = 0.1
    habit_strength: float = 0.7
    second_move: float = 0.1
    arrival_rate: float = 0.4
    departure_rate: float = 0.2

    def __post_init__(self) -> None:
        for name in ("default_mobility", "habit_strength", "second_move"):
            _prob(getattr(self, name), name)
        for table in ("mobility", "carried_out"):
            for cat, p in getattr(self, table).items():
                _known(cat, table)
                _prob(p, f"{table}[{cat!r}]")
        for cat, per in self.habits.items():
            _known(cat, "habits")
            for session, furn in per.items():
                for f in furn:
                    _known(f, f"habits[{cat!r}][{session!r}]")
        for cat in (*self.arrivals, *self.departures):
            _known(cat, "arrivals/departures")
        for name in ("arrival_rate", "departure_rate"):
            v = getattr(self, name)
            if not 0 <= v <= 10:
                raise ScenarioError(f"{name} must be in [0, 10] per day, got {v}")

    def mobility_of(self, category: str) -> float:
        """Chance an object of ``category`` is moved in one gap (0 for furniture)."""
        info = CATEGORIES.get(category)
        if info is not None and info.kind != "object":
            return 0.0
        return float(self.mobility.get(category, self.default_mobility))

    def habit_targets(self, category: str, session_name: str) -> tuple[str, ...]:
        return tuple(self.habits.get(category, {}).get(session_name, ()))


def _prob(v, name: str) -> None:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0.0 <= v <= 1.0:
        raise ScenarioError(f"{name} must be a probability in [0, 1], got {v!r}")


def _known(cat: str, where: str) -> None:
    if cat not in CATEGORIES:
        raise ScenarioError(f"{where}: unknown category {cat!r} (see sim.categories.CATEGORIES)")
