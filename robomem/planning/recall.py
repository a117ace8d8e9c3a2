"""Beliefs from the memory stack for "where is X (now)?" questions.

This builds the belief the planner decides on from what :class:`~robomem.stack.MemoryStack`
remembers: every remembered object of the asked label is a *remembered* hypothesis with
P(still there) from a per-category hazard (``moves_per_day``, exponential survival); the rest of the
mass is spread over the house's rooms by the :class:`SemanticPrior` (*prior* hypotheses). Where the
retrieval package's calibrated "still there" probabilities are available, pass them as
``still_there`` instead."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import numpy as np

from robomem.planning.belief import Belief, Hypothesis, still_there_probability
from robomem.planning.detection import DetectionModel
from robomem.planning.errors import InvalidPlanningSettingError, UnsupportedQuestionError
from robomem.planning.prior import SemanticPrior, room_probabilities

__all__ = ["RoomInfo", "parse_question", "parse_where_question", "MemoryRecall", "DEFAULT_MOVES_PER_DAY"]

#: Moves per day by category (a household's habits; 0 = never moves). Unknown: ``default``.
DEFAULT_MOVES_PER_DAY: dict[str, float] = {
    "plant": 0.0, "vase": 0.0, "clock": 0.0, "candle": 0.0, "toothbrush": 0.0, "soap": 0.0, "cutting_board": 0.0,
    "plate": 0.1, "bowl": 0.16, "fruit_bowl": 0.1, "pillow": 0.1, "towel": 0.2, "notebook": 0.2, "pen": 0.2,
    "bottle": 0.3, "pan": 0.1, "umbrella": 0.3, "keys": 1.8, "phone": 2.0, "mug": 1.4, "cup": 1.0, "remote": 1.2,
    "glasses": 1.2, "wallet": 1.1, "laptop": 1.1, "headphones": 0.7, "bag": 0.8, "backpack": 0.8, "book": 0.6,
    "toy": 1.0,
}

_WHERE = re.compile(r"^\s*where\s+(?:is|are)\s+(?:the\s+|my\s+|a\s+)?([a-z][a-z _-]*?)\s*(?:now|right now|at the moment)?\s*\??\s*$",
                    re.IGNORECASE)


_WHICH_ROOM = re.compile(r"^\s*(?:which|what)\s+room\s+(?:is|are)\s+(?:the\s+|my\s+|a\s+)?([a-z][a-z _-]*?)\s+in\s*(?:now|right now)?\s*\??\s*$",
                         re.IGNORECASE)


#: Words the patterns can capture that name no thing ("where is the?", "where is it?").
_NOT_A_THING = frozenset({"the", "my", "a", "an", "it", "this", "that", "there", "here", "he", "she", "they", "them",
                          "what", "which", "who", "everything", "something", "anything"})


def _label(text: str, question: Any) -> str:
    label = text.strip().replace(" ", "_").replace("-", "_").lower()
    if label.strip("_") in _NOT_A_THING:
        raise UnsupportedQuestionError(f"cannot tell what the question asks about: {question!r}")
    return label


def parse_question(question: Any) -> tuple[str, str]:
    """``(kind, label)``: kind "where_now" ("where is the X?") or "which_room" ("which room is the
    X in?"); a dict/object may give ``kind`` and ``label``. Anything else raises
    :class:`UnsupportedQuestionError`."""
    if isinstance(question, str):
        m = _WHICH_ROOM.match(question)
        if m:
            return "which_room", _label(m.group(1), question)
        return "where_now", parse_where_question(question)
    kind = (question.get("kind") if isinstance(question, Mapping) else getattr(question, "kind", None)) or "where_now"
    if kind not in ("where_now", "which_room"):
        raise UnsupportedQuestionError(f"unsupported question kind {kind!r}; the planner acts on where_now and which_room")
    return kind, parse_where_question(question)


def parse_where_question(question: Any) -> str:
    """The label asked about in "where is the X?" (spaces → underscores), or a dict/object with a
    ``label``/``target`` field. Anything else raises :class:`UnsupportedQuestionError`."""
    if isinstance(question, Mapping):
        label = question.get("label") or question.get("target")
    elif isinstance(question, str):
        m = _WHERE.match(question)
        if not m:
            raise UnsupportedQuestionError(f"not a 'where is X?' question: {question!r}")
        label = _label(m.group(1), question)
    else:
        label = getattr(question, "label", None) or getattr(question, "target", None)
    if not isinstance(label, str) or not label.strip():
        raise UnsupportedQuestionError(f"cannot tell what the question asks about: {question!r}")
    return label


@dataclass(frozen=True)
class RoomInfo:
    """A room the robot can explore: its type and where to stand to look around it."""

    room_type: str
    position: tuple


class MemoryRecall:
    """``recall(question) -> Belief`` over a memory stack.

    ``rooms``: room id → :class:`RoomInfo`; ``now_ns``: the current time (an int or a callable);
    ``still_there``: optional callable ``(WhereAnswer, now_ns) -> probability`` (e.g. retrieval's
    hazard model); else ``moves_per_day`` (category → rate) with ``default_moves_per_day``;
    ``prior``: the semantic prior (learned from the stack's current placements when None);
    ``room_answer_accuracy``: P(answer right | the target is in a room but not yet seen there);
    ``known_labels``: when given, questions about other labels are unsupported; ``room_of``: position
    → room id in the ids of ``rooms``; when given it decides the rooms of remembered places and of
    the placements the prior learns from (the stack's stored room ids may come from its own room
    segmentation, numbered differently from ``rooms``); ``detection``: a
    :class:`~robomem.planning.detection.DetectionModel` giving each look's detection probability by
    the asked category (else every category gets ``verify_detection`` / ``explore_detection``)."""

    def __init__(self, stack, rooms: Mapping[int, RoomInfo], now_ns, *, still_there: Optional[Callable] = None,
                 moves_per_day: Optional[Mapping[str, float]] = None, default_moves_per_day: float = 0.5,
                 prior: Optional[SemanticPrior] = None, room_answer_accuracy: float = 0.2,
                 verify_detection: float = 0.9, explore_detection: float = 0.75, verify_look_s: float = 10.0,
                 explore_look_s: float = 40.0, known_labels=None, room_of: Optional[Callable] = None,
                 detection: Optional[DetectionModel] = None) -> None:
        for r, info in rooms.items():
            if not isinstance(info, RoomInfo):
                raise InvalidPlanningSettingError(f"rooms[{r!r}] must be a RoomInfo, got {type(info).__name__}")
        self.stack, self.rooms, self._now = stack, dict(rooms), now_ns
        self.still_there = still_there
        self.moves_per_day = dict(DEFAULT_MOVES_PER_DAY if moves_per_day is None else moves_per_day)
        self.default_moves_per_day = float(default_moves_per_day)
        self.prior = prior
        self.room_answer_accuracy = room_answer_accuracy
        self.verify_detection, self.explore_detection = verify_detection, explore_detection
        self.verify_look_s, self.explore_look_s = verify_look_s, explore_look_s
        self.known_labels = None if known_labels is None else set(known_labels)
        self.room_of = room_of
        if detection is not None and not isinstance(detection, DetectionModel):
            raise InvalidPlanningSettingError(f"detection must be a DetectionModel, got {type(detection).__name__}")
        self.detection = detection

    def detections(self, label: str) -> tuple[float, float]:
        """(verify, explore) detection probabilities of a look for ``label``."""
        if self.detection is None:
            return self.verify_detection, self.explore_detection
        return self.detection.detection(label, "verify"), self.detection.detection(label, "explore")

    def now(self) -> int:
        return int(self._now() if callable(self._now) else self._now)

    def _prior(self, now: int) -> SemanticPrior:
        if self.prior is not None:
            return self.prior
        types = {r: i.room_type for r, i in self.rooms.items()}
        return SemanticPrior.from_placements(self.stack.placements_at(now), types, self.room_of)

    def p_still(self, answer, now: int) -> float:
        if self.still_there is not None:
            return float(self.still_there(answer, now))
        if not answer.current:
            return 0.0
        rate = self.moves_per_day.get(answer.label, self.default_moves_per_day)
        return still_there_probability(rate, max(0.0, (now - answer.last_seen_ns) / 1e9))

    def __call__(self, question: Any) -> Belief:
        kind, label = parse_question(question)
        if self.known_labels is not None and label not in self.known_labels:
            raise UnsupportedQuestionError(f"unknown object {label!r}")
        now = self.now()
        answers = self.stack.where_is(label)
        d_verify, d_explore = self.detections(label)
        hs = []
        n = max(1, len(answers))
        for a in answers:
            pos = tuple(float(v) for v in np.asarray(a.position, dtype=np.float64)[:3])
            room = self.room_of(pos) if self.room_of is not None else a.room_id   # the ids of ``rooms``
            hs.append(Hypothesis(f"obj:{a.object_id}", self.p_still(a, now) / n, pos, room,
                                 answer={"object_id": a.object_id, "position": list(pos), "room_id": room,
                                         "receptacle_id": a.receptacle_id, "last_seen_ns": a.last_seen_ns},
                                 detection=d_verify, look_time_s=self.verify_look_s))
        rest = max(0.0, 1.0 - sum(h.probability for h in hs))
        q = room_probabilities(self._prior(now), label, {r: i.room_type for r, i in self.rooms.items()})
        for r, p in q.items():
            hs.append(Hypothesis(f"room:{r}", rest * p, self.rooms[r].position, r,
                                 answer={"room_id": r, "room_type": self.rooms[r].room_type},
                                 answer_accuracy=1.0 if kind == "which_room" else self.room_answer_accuracy,
                                 detection=d_explore,
                                 look_time_s=self.explore_look_s, kind="prior"))
        return Belief(label, tuple(hs), {"kind": kind, "asked_at_ns": now, "remembered": len(answers)})
