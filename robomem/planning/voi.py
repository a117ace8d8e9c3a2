"""Value of information: which action, if any, is worth its cost, computed over a :class:`Belief`.

Actions: *answer* now; *verify* a remembered location; *explore* a prior region (a room). Each
look-action ``a`` goes to a goal (path ``m_a`` metres on the robot's map, ``None`` = unreachable),
looks (time ``t_a`` = m_a / speed + look time) and sees the target at hypothesis j with probability
p_j · d_j. With R the value of a right answer, U(b) = max_h p_h a_h the probability that answering
now is right, and the finite-horizon value

    V_0(b) = R · U(b)
    V_k(b) = max( R · U(b),  max_a Q_k(b, a) )
    Q_k(b, a) = Σ_j p_j d_j · R (1 − fp)  +  (1 − Σ_j p_j d_j) · V_{k−1}(b_miss)  −  w_m m_a − w_t t_a

the value of information of ``a`` is ``Q_k(b, a) − R · U(b)``: act on the best if it is positive,
otherwise answer. ``b_miss`` is :func:`update_after_look`. Later legs use the real path when a path
function is given to :func:`score_actions`, else the straight line × ``detour``. See docs/planning.md."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from robomem.planning.belief import Belief, Hypothesis, update_after_look, view_detection, viewpoint
from robomem.planning.errors import InvalidPlanningSettingError

__all__ = ["CostModel", "Budget", "Action", "ScoredAction", "Decision", "candidate_actions", "score_actions",
           "decide_voi", "PathLength"]

#: (start xyz, goal xyz) -> path length in metres, or None when the goal cannot be reached.
PathLength = Callable[[tuple, tuple], Optional[float]]


def _nonneg(v, name: str, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v) \
            or v < 0 or (positive and v == 0):
        raise InvalidPlanningSettingError(f"{name} must be a {'positive' if positive else 'non-negative'} "
                                          f"finite number, got {v!r}")
    return float(v)


@dataclass(frozen=True)
class CostModel:
    """Value of a right answer (``value_correct``, R), cost per metre travelled (``cost_per_m``,
    w_m) and per second spent (``cost_per_s``, w_t) in the same units; ``speed_mps`` turns path into
    time; ``false_positive``: P(a sighting is wrong); ``lookahead``: decision steps looked ahead;
    ``detour``: path / straight line assumed beyond the first step; ``cross_look``: fraction of a
    room's prior mass a verify inside that room also covers; ``new_view``: factor on the detection
    probability of a look at a place from a new viewpoint after it was looked at from another one
    (a look from a viewpoint already used counts for nothing, see
    :func:`robomem.planning.belief.view_detection`)."""

    value_correct: float = 1.0
    cost_per_m: float = 0.01
    cost_per_s: float = 0.0005
    speed_mps: float = 0.5
    false_positive: float = 0.02
    lookahead: int = 2
    detour: float = 1.4
    cross_look: float = 0.3
    new_view: float = 0.5

    def __post_init__(self) -> None:
        _nonneg(self.value_correct, "value_correct", positive=True)
        _nonneg(self.cost_per_m, "cost_per_m")
        _nonneg(self.cost_per_s, "cost_per_s")
        _nonneg(self.speed_mps, "speed_mps", positive=True)
        _nonneg(self.detour, "detour", positive=True)
        for name in ("false_positive", "cross_look", "new_view"):
            v = _nonneg(getattr(self, name), name)
            if v > 1:
                raise InvalidPlanningSettingError(f"{name} must be in [0, 1], got {v!r}")
        if isinstance(self.lookahead, bool) or not isinstance(self.lookahead, int) or not 1 <= self.lookahead <= 4:
            raise InvalidPlanningSettingError(f"lookahead must be an integer in 1..4, got {self.lookahead!r}")

    def cost(self, path_m: float, time_s: float) -> float:
        return self.cost_per_m * path_m + self.cost_per_s * time_s


@dataclass(frozen=True)
class Budget:
    """Limits on one episode: looks (``max_steps``), metres and seconds. Whatever comes first ends it."""

    max_steps: int = 8
    max_path_m: float = 200.0
    max_time_s: float = 900.0

    def __post_init__(self) -> None:
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int) or self.max_steps < 0:
            raise InvalidPlanningSettingError(f"max_steps must be a non-negative integer, got {self.max_steps!r}")
        _nonneg(self.max_path_m, "max_path_m")
        _nonneg(self.max_time_s, "max_time_s")


@dataclass(frozen=True)
class Action:
    """One thing the robot can do. ``kind``: "answer", "verify" or "explore"; ``target``: the
    hypothesis key it goes to check; ``goal``: where it goes; ``path_m``: travel (None =
    unreachable); ``time_s``: travel + look; ``looks``: hypothesis key → detection probability of
    this look (its viewpoint's, see :func:`robomem.planning.belief.view_detection`); ``view``: the
    look's viewpoint (:func:`robomem.planning.belief.viewpoint`; None: not known)."""

    kind: str
    target: Optional[str] = None
    goal: Optional[tuple] = None
    path_m: Optional[float] = 0.0
    time_s: float = 0.0
    looks: Mapping[str, float] = field(default_factory=dict)
    view: Optional[tuple] = None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "target": self.target, "goal": self.goal, "path_m": self.path_m,
                "time_s": self.time_s, "looks": dict(self.looks), "view": None if self.view is None else list(self.view)}


@dataclass(frozen=True)
class ScoredAction:
    """An action with its numbers: ``p_find`` (P(seeing the target on this look)),
    ``expected_p_correct`` (after the look and the best continuation), ``cost``, ``value``
    (the value of information: expected gain × R − cost; 0 for answering) and, when it cannot be
    taken, ``excluded`` ("unreachable", "over budget")."""

    action: Action
    p_find: float
    expected_p_correct: float
    cost: float
    value: float
    excluded: Optional[str] = None

    def to_dict(self) -> dict:
        d = self.action.to_dict()
        d.update(p_find=self.p_find, expected_p_correct=self.expected_p_correct, cost=self.cost, value=self.value,
                 excluded=self.excluded)
        return d


@dataclass(frozen=True)
class Decision:
    """What to do now: ``action`` (None = answer now), ``scored`` (everything considered),
    ``p_correct_now``, and ``reason`` in words."""

    action: Optional[Action]
    scored: tuple
    p_correct_now: float
    reason: str

    def to_dict(self) -> dict:
        return {"action": None if self.action is None else self.action.to_dict(), "reason": self.reason,
                "p_correct_now": self.p_correct_now, "considered": [s.to_dict() for s in self.scored]}


def _looks_for(h: Hypothesis, belief: Belief, costs: CostModel, view: Optional[tuple]) -> dict[str, float]:
    """Detection probability per hypothesis of a look at ``h`` from ``view``: ``h`` itself, the
    remembered spots in its room when exploring it, part of the room when verifying in it; each
    through :func:`view_detection` (nothing from a viewpoint already used)."""
    looks = {h.key: view_detection(h, h.detection, view, costs.new_view)}
    for o in belief.hypotheses:
        if o.key == h.key or o.room_id is None or o.room_id != h.room_id:
            continue
        if h.kind == "prior":                  # exploring a room also passes its remembered spots
            looks[o.key] = view_detection(o, o.detection, view, costs.new_view)
        elif o.kind == "prior":                # verifying in a room sees part of it
            looks[o.key] = view_detection(o, o.detection * costs.cross_look, view, costs.new_view)
    return looks


def _look_action(h: Hypothesis, belief: Belief, costs: CostModel, m: Optional[float]) -> Action:
    kind = "explore" if h.kind == "prior" else "verify"
    view = viewpoint(kind, h.position)
    t = (0.0 if m is None else m / costs.speed_mps) + h.look_time_s
    return Action(kind, h.key, h.position, m, t, _looks_for(h, belief, costs, view), view)


def candidate_actions(belief: Belief, pose: tuple, path_length: PathLength, costs: CostModel,
                      visited: Sequence[str] = ()) -> list[Action]:
    """Every look-action the belief suggests: one per hypothesis that has a position (verify a
    remembered/observed one, explore a prior region), with its real path from ``pose``. Hypotheses
    in ``visited`` with zero probability are left out."""
    out = []
    for h in belief.hypotheses:
        if h.position is None or (h.probability <= 0 and h.key in visited):
            continue
        m = path_length(tuple(pose), h.position)
        m = None if m is None or not math.isfinite(float(m)) else float(m)
        out.append(_look_action(h, belief, costs, m))
    return out


def _euclid(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a[:2], float) - np.asarray(b[:2], float)))


class _Lookahead:
    """The recursion V_k / Q_k with estimated travel beyond the first step."""

    def __init__(self, costs: CostModel, branch: int = 6, blocked=frozenset(),
                 path_length: Optional[PathLength] = None) -> None:
        self.c = costs
        self.branch = branch
        self.blocked = frozenset(blocked)
        self.path_length = path_length
        self._paths: dict = {}

    def travel(self, a, b) -> Optional[float]:
        """Path length between two goals: the real one (cached) when a path function was given,
        else the straight line × detour."""
        if self.path_length is None:
            return _euclid(a, b) * self.c.detour
        key = (tuple(a), tuple(b))
        if key not in self._paths:
            m = self.path_length(tuple(a), tuple(b))
            self._paths[key] = None if m is None or not math.isfinite(float(m)) else float(m)
        return self._paths[key]

    def q(self, belief: Belief, a: Action, depth: int, path_m: float, time_s: float) -> tuple[float, float]:
        """(expected P(correct) after a and the best continuation, Q value)."""
        c = self.c
        p_find = sum(belief.get(k).probability * d for k, d in a.looks.items() if belief.get(k) is not None)
        p_find = min(1.0, p_find)
        after = update_after_look(belief, a.looks, view=a.view)
        v_miss, pc_miss = self.v(after, a.goal, depth - 1)
        pc = p_find * (1.0 - c.false_positive) + (1.0 - p_find) * pc_miss
        val = p_find * c.value_correct * (1.0 - c.false_positive) + (1.0 - p_find) * v_miss - c.cost(path_m, time_s)
        return pc, val

    def v(self, belief: Belief, pos, depth: int) -> tuple[float, float]:
        """(value, P(correct) of the policy reaching it) of the best plan from ``belief`` at ``pos``."""
        u = belief.p_correct()
        best = (self.c.value_correct * u, u)
        if depth <= 0 or pos is None:
            return best
        acts = []
        for h in belief.hypotheses:
            if h.position is None or h.key in self.blocked or h.probability * h.detection <= 1e-6:
                continue
            m = self.travel(pos, h.position)
            if m is None:
                continue
            d = view_detection(h, h.detection, viewpoint("explore" if h.kind == "prior" else "verify", h.position),
                               self.c.new_view)
            if h.probability * d <= 1e-6:      # looked at from there already: nothing new to see
                continue
            acts.append((h.probability * d / (1.0 + m), h, m))
        acts.sort(key=lambda t: -t[0])
        for _, h, m in acts[: self.branch]:
            a = _look_action(h, belief, self.c, m)
            pc, val = self.q(belief, a, depth, a.path_m, a.time_s)
            if val > best[0]:
                best = (val, pc)
        return best


def score_actions(belief: Belief, actions: Sequence[Action], costs: CostModel,
                  remaining: Optional[Budget] = None, blocked: Sequence[str] = (),
                  path_length: Optional[PathLength] = None) -> list[ScoredAction]:
    """Score each action by its value of information (see the module docstring). Unreachable
    actions and those that do not fit ``remaining`` are kept with ``excluded`` set and value −inf.
    The lookahead never plans a look at an unreachable hypothesis or one in ``blocked``; it measures
    later legs with ``path_length`` when given (cached), else the straight line × ``detour``."""
    look = _Lookahead(costs, blocked=set(blocked) | {a.target for a in actions if a.path_m is None},
                      path_length=path_length)
    u = belief.p_correct()
    depth = costs.lookahead if remaining is None else max(1, min(costs.lookahead, remaining.max_steps))
    out = []
    for a in actions:
        if a.path_m is None:
            out.append(ScoredAction(a, 0.0, u, math.inf, -math.inf, "unreachable"))
            continue
        if remaining is not None and (remaining.max_steps < 1 or a.path_m > remaining.max_path_m
                                      or a.time_s > remaining.max_time_s):
            out.append(ScoredAction(a, 0.0, u, costs.cost(a.path_m, a.time_s), -math.inf, "over budget"))
            continue
        p_find = min(1.0, sum(belief.get(k).probability * d for k, d in a.looks.items() if belief.get(k) is not None))
        if p_find <= 1e-12:          # nothing new to see from there (e.g. looked from that spot already):
            cost = costs.cost(a.path_m, a.time_s)      # worth only its cost, whatever could follow it
            out.append(ScoredAction(a, 0.0, u, cost, -cost))
            continue
        pc, q = look.q(belief, a, depth, a.path_m, a.time_s)
        out.append(ScoredAction(a, p_find, pc, costs.cost(a.path_m, a.time_s), q - costs.value_correct * u))
    return out


def decide_voi(belief: Belief, scored: Sequence[ScoredAction], costs: CostModel) -> Decision:
    """Act on the action with the largest positive value of information, else answer."""
    u = belief.p_correct()
    ok = [s for s in scored if s.excluded is None]
    if not ok:
        why = "no action can be taken" if not scored else \
            "every look is " + "/".join(sorted({s.excluded for s in scored}))
        return Decision(None, tuple(scored), u, f"answer: {why}")
    best = max(ok, key=lambda s: s.value)
    if best.value <= 0:
        return Decision(None, tuple(scored), u, f"answer: no look is worth its cost (best {best.action.kind} "
                                                f"{best.action.target}: gain {best.value:+.3f})")
    return Decision(best.action, tuple(scored), u, f"{best.action.kind} {best.action.target}: value "
                                                   f"{best.value:+.3f} (P(find) {best.p_find:.2f}, cost {best.cost:.3f})")
