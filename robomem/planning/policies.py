"""Decision rules over the same scored actions: value of information and the baselines it is
measured against. Each is a callable ``(belief, scored, costs, visited) -> Decision``."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from robomem.planning.belief import Belief
from robomem.planning.errors import InvalidPlanningSettingError
from robomem.planning.voi import CostModel, Decision, ScoredAction, decide_voi

__all__ = ["VoIPolicy", "MemoryOnlyPolicy", "ExploreAlwaysPolicy", "ThresholdPolicy", "policy_by_name"]


def _usable(scored: Sequence[ScoredAction]) -> list[ScoredAction]:
    return [s for s in scored if s.excluded is None]


@dataclass(frozen=True)
class VoIPolicy:
    """Act on the largest positive value of information; answer when none is positive."""

    name: str = "voi"

    def __call__(self, belief: Belief, scored, costs: CostModel, visited=()) -> Decision:
        return decide_voi(belief, scored, costs)


@dataclass(frozen=True)
class MemoryOnlyPolicy:
    """Never move: answer from memory at once."""

    name: str = "memory-only"

    def __call__(self, belief: Belief, scored, costs: CostModel, visited=()) -> Decision:
        return Decision(None, tuple(scored), belief.p_correct(), "answer: memory-only never moves")


@dataclass(frozen=True)
class ExploreAlwaysPolicy:
    """Visit every region (room) not yet visited, nearest first, whatever the belief says; answer
    when all were visited (or none is reachable within the budget)."""

    name: str = "explore-always"

    def __call__(self, belief: Belief, scored, costs: CostModel, visited=()) -> Decision:
        todo = [s for s in _usable(scored) if s.action.kind == "explore" and s.action.target not in visited]
        if not todo:
            return Decision(None, tuple(scored), belief.p_correct(), "answer: every reachable room explored")
        s = min(todo, key=lambda s: s.action.path_m)
        return Decision(s.action, tuple(scored), belief.p_correct(), f"explore {s.action.target}: nearest unexplored room")


@dataclass(frozen=True)
class ThresholdPolicy:
    """Answer once P(answer right) reaches ``threshold``; until then look where the target is most
    likely to be seen (largest P(find), shorter path on ties)."""

    threshold: float = 0.8
    name: str = "threshold"

    def __post_init__(self) -> None:
        if not (isinstance(self.threshold, (int, float)) and 0.0 <= self.threshold <= 1.0):
            raise InvalidPlanningSettingError(f"threshold must be in [0, 1], got {self.threshold!r}")

    def __call__(self, belief: Belief, scored, costs: CostModel, visited=()) -> Decision:
        u = belief.p_correct()
        if u >= self.threshold:
            return Decision(None, tuple(scored), u, f"answer: confidence {u:.2f} >= {self.threshold:.2f}")
        ok = [s for s in _usable(scored) if s.p_find > 1e-6]
        if not ok:
            return Decision(None, tuple(scored), u, f"answer: confidence {u:.2f} below threshold, nothing left to check")
        s = max(ok, key=lambda s: (s.p_find, -s.action.path_m))
        return Decision(s.action, tuple(scored), u, f"{s.action.kind} {s.action.target}: most likely place "
                                                    f"(P(find) {s.p_find:.2f}), confidence {u:.2f} < {self.threshold:.2f}")


def policy_by_name(name: str, value: float | None = None):
    """"voi", "memory-only", "explore-always" or "threshold" (``value`` = its threshold)."""
    if name == "voi":
        return VoIPolicy()
    if name == "memory-only":
        return MemoryOnlyPolicy()
    if name == "explore-always":
        return ExploreAlwaysPolicy()
    if name == "threshold":
        return ThresholdPolicy(0.8 if value is None else float(value))
    raise InvalidPlanningSettingError(f"unknown policy {name!r}; expected voi, memory-only, explore-always, threshold")
