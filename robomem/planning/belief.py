"""A belief over where the answer is: a few discrete hypotheses with probabilities, and the
observation update after looking.

A :class:`Hypothesis` is one place the target may be: a *remembered* location (from memory, with the
"still there" probability retrieval computed) or a *prior* region (a room where the semantic prior
says objects of that category are found). Probabilities need not sum to 1: the rest is mass on
"somewhere the robot cannot go or does not know of" (``Belief.p_other``), e.g. carried out of the
house. The formulas are in docs/planning.md."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from robomem.planning.errors import InvalidBeliefError

__all__ = ["Hypothesis", "Belief", "still_there_probability", "update_after_look", "certain_at", "viewpoint",
           "view_detection", "VIEW_CELL_M"]

_EPS = 1e-9

#: Viewpoints closer than this (metres, grid cells) count as the same spot.
VIEW_CELL_M = 0.25


def viewpoint(kind: str, position, cell_m: float = VIEW_CELL_M) -> Optional[tuple]:
    """The identity of a look: its kind (how it looks: "explore" turns all round, "verify" looks
    towards the place) and the ``cell_m`` grid cell of where it is taken from (None: no position).
    Two looks with the same viewpoint in a scene where nothing moved see the same frames."""
    if position is None:
        return None
    return (str(kind), int(math.floor(float(position[0]) / cell_m)), int(math.floor(float(position[1]) / cell_m)))


def view_detection(h: "Hypothesis", detection: float, view: Optional[tuple], new_view: float) -> float:
    """The detection probability a look from ``view`` really has for hypothesis ``h``: ``detection``
    on the first look at it; 0 from a viewpoint it was already looked at from (same spot, same
    frames: no new evidence); from a new viewpoint after looks from others,
    ``detection × (1 − (1 − new_view) · D)`` with D = 1 − Π(1 − d_i) what the earlier looks could
    detect (``1 − h.missed``): a share ``new_view`` of the new look is independent of them, the rest
    overlaps with what they covered. ``view`` None: unknown viewpoint, ``detection`` unchanged."""
    if view is None:
        return detection
    if view in h.looked_from:
        return 0.0
    return detection * (1.0 - (1.0 - new_view) * (1.0 - h.missed))


def _prob(v, what: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InvalidBeliefError(f"{what} must be a probability, got {v!r}") from None
    if not (0.0 <= f <= 1.0) or math.isnan(f):
        raise InvalidBeliefError(f"{what} must be in [0, 1], got {v!r}")
    return f


@dataclass(frozen=True)
class Hypothesis:
    """"The target is here." ``key`` is stable across recalls ("fixture:7", "room:3", "obj:12");
    ``position``: where to stand/look to check it (world x, y, z; None: cannot be visited);
    ``answer``: the JSON-serialisable answer given if this hypothesis is believed;
    ``answer_accuracy``: P(that answer is judged right | hypothesis true) — 1 for a remembered
    location, less for a room-level prior (the room is right, the exact spot is not known);
    ``detection``: P(seeing the target on one look here | it is here); ``look_time_s``: time a look
    takes; ``kind``: "remembered" or "prior"; ``looked_from``: the viewpoints (:func:`viewpoint`)
    it was already looked at from without seeing the target in this episode; ``missed``: Π(1 − d_i)
    over those looks (1: not looked at yet)."""

    key: str
    probability: float
    position: Optional[tuple] = None
    room_id: Optional[int] = None
    answer: Any = None
    answer_accuracy: float = 1.0
    detection: float = 0.9
    look_time_s: float = 10.0
    kind: str = "remembered"
    looked_from: tuple = ()
    missed: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise InvalidBeliefError(f"hypothesis key must be a non-empty string, got {self.key!r}")
        object.__setattr__(self, "probability", _prob(self.probability, f"hypothesis {self.key!r} probability"))
        object.__setattr__(self, "answer_accuracy", _prob(self.answer_accuracy, f"hypothesis {self.key!r} answer_accuracy"))
        object.__setattr__(self, "detection", _prob(self.detection, f"hypothesis {self.key!r} detection"))
        object.__setattr__(self, "missed", _prob(self.missed, f"hypothesis {self.key!r} missed"))
        if not (math.isfinite(float(self.look_time_s)) and float(self.look_time_s) >= 0):
            raise InvalidBeliefError(f"hypothesis {self.key!r} look_time_s must be >= 0, got {self.look_time_s!r}")
        if self.position is not None:
            p = np.asarray(self.position, dtype=np.float64).reshape(-1)
            if p.shape not in ((2,), (3,)) or not np.isfinite(p).all():
                raise InvalidBeliefError(f"hypothesis {self.key!r} position must be 2 or 3 finite numbers, "
                                         f"got {self.position!r}")
            object.__setattr__(self, "position", tuple(float(x) for x in (p if p.size == 3 else np.r_[p, 0.0])))
        if self.kind not in ("remembered", "prior", "observed"):
            raise InvalidBeliefError(f"hypothesis {self.key!r} kind must be remembered/prior/observed, got {self.kind!r}")
        try:
            object.__setattr__(self, "looked_from", tuple(tuple(v) for v in self.looked_from))
        except TypeError:
            raise InvalidBeliefError(f"hypothesis {self.key!r} looked_from must be a sequence of viewpoints, "
                                     f"got {self.looked_from!r}") from None

    def to_dict(self) -> dict:
        return {"key": self.key, "probability": self.probability, "position": self.position,
                "room_id": self.room_id, "answer": self.answer, "answer_accuracy": self.answer_accuracy,
                "detection": self.detection, "kind": self.kind, "looked_from": [list(v) for v in self.looked_from],
                "missed": self.missed}


@dataclass(frozen=True)
class Belief:
    """What the robot believes about one question's target: hypotheses with probabilities summing
    to at most 1 (the rest is ``p_other``). ``target``: what is looked for (e.g. "mug")."""

    target: str
    hypotheses: tuple = ()
    info: Mapping = field(default_factory=dict)

    def __post_init__(self) -> None:
        hs = tuple(self.hypotheses)
        for h in hs:
            if not isinstance(h, Hypothesis):
                raise InvalidBeliefError(f"belief hypotheses must be Hypothesis, got {type(h).__name__}")
        keys = [h.key for h in hs]
        if len(set(keys)) != len(keys):
            raise InvalidBeliefError(f"belief hypothesis keys repeat: {sorted(k for k in keys if keys.count(k) > 1)}")
        total = sum(h.probability for h in hs)
        if total > 1.0 + 1e-6:
            raise InvalidBeliefError(f"belief probabilities sum to {total:.6f} > 1")
        object.__setattr__(self, "hypotheses", hs)

    @property
    def p_other(self) -> float:
        """Mass on no listed hypothesis (somewhere unknown or unreachable)."""
        return max(0.0, 1.0 - sum(h.probability for h in self.hypotheses))

    def get(self, key: str) -> Optional[Hypothesis]:
        for h in self.hypotheses:
            if h.key == key:
                return h
        return None

    def best(self) -> Optional[Hypothesis]:
        """The hypothesis whose answer is most likely right (max probability × answer accuracy)."""
        if not self.hypotheses:
            return None
        return max(self.hypotheses, key=lambda h: (h.probability * h.answer_accuracy, h.probability))

    def p_correct(self) -> float:
        """P(answering now is right) = max_h p_h · a_h (0 with no hypotheses)."""
        b = self.best()
        return 0.0 if b is None else b.probability * b.answer_accuracy

    def to_dict(self) -> dict:
        return {"target": self.target, "p_other": self.p_other,
                "hypotheses": [h.to_dict() for h in self.hypotheses]}


def still_there_probability(moves_per_day: float, age_s: float) -> float:
    """P(an object seen ``age_s`` seconds ago is still where it was) under a constant hazard of
    ``moves_per_day`` (exponential survival). A stand-in where retrieval's calibrated per-category
    hazard model is not wired in."""
    if not (math.isfinite(moves_per_day) and moves_per_day >= 0):
        raise InvalidBeliefError(f"moves_per_day must be >= 0, got {moves_per_day!r}")
    if not (math.isfinite(age_s) and age_s >= 0):
        raise InvalidBeliefError(f"age_s must be >= 0, got {age_s!r}")
    return math.exp(-moves_per_day * age_s / 86400.0)


def update_after_look(belief: Belief, looks: Mapping[str, float], relook: float = 1.0,
                      view: Optional[tuple] = None) -> Belief:
    """The belief after looking and *not* seeing the target. ``looks``: hypothesis key → detection
    probability of this look for it (unknown keys are ignored). Bayes:
    p'_h = p_h (1 − d_h) / (1 − Σ_j p_j d_j); the ``p_other`` mass is renormalised the same way.
    ``view``: where the look was taken from (:func:`viewpoint`); it is added to the looked-at
    hypotheses' ``looked_from``, so that a later look from there counts for nothing
    (:func:`view_detection`). ``relook``: an extra factor on the detection probability of the
    looked-at hypotheses for later looks (1 = none; the viewpoint model already handles repeats)."""
    relook = _prob(relook, "relook")
    miss = 0.0
    for k, d in looks.items():
        h = belief.get(k)
        if h is not None:
            miss += h.probability * _prob(d, f"detection of look at {k!r}")
    z = 1.0 - miss

    def looked(h, **kw):
        if h.key not in looks:
            return replace(h, **kw) if kw else h
        seen_from = h.looked_from if view is None or tuple(view) in h.looked_from \
            else h.looked_from + (tuple(view),)
        return replace(h, detection=h.detection * relook, looked_from=seen_from,
                       missed=h.missed * (1.0 - float(looks[h.key])), **kw)

    if z <= _EPS:
        # Every listed place was certainly checked: the target is somewhere not listed.
        return replace(belief, hypotheses=tuple(looked(h, probability=0.0) for h in belief.hypotheses))
    hs = []
    for h in belief.hypotheses:
        d = float(looks.get(h.key, 0.0))
        hs.append(looked(h, probability=min(1.0, h.probability * (1.0 - d) / z)))
    total = sum(h.probability for h in hs)
    if total > 1.0:
        hs = [replace(h, probability=h.probability / total) for h in hs]
    return replace(belief, hypotheses=tuple(hs))


def certain_at(belief: Belief, key: str, position=None, room_id: Optional[int] = None, answer: Any = None,
               false_positive: float = 0.02) -> Belief:
    """The belief after *seeing* the target: near-certain (1 − ``false_positive``) at the place it
    was seen (an existing hypothesis ``key``, or a new "observed" one), the rest spread over the
    other hypotheses in proportion to what they had."""
    fp = _prob(false_positive, "false_positive")
    old = belief.get(key)
    others = [h for h in belief.hypotheses if h.key != key]
    rest = sum(h.probability for h in others)
    scale = fp / rest if rest > _EPS else 0.0
    hs = [replace(h, probability=h.probability * scale) for h in others]
    if old is not None:
        seen = replace(old, probability=1.0 - fp, answer_accuracy=1.0, kind="observed",
                       position=old.position if position is None else position,
                       answer=old.answer if answer is None else answer)
    else:
        seen = Hypothesis(key, 1.0 - fp, position=position, room_id=room_id, answer=answer, kind="observed")
    return replace(belief, hypotheses=(seen, *hs))
