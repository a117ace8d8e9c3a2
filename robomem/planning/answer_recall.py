"""Beliefs from the retrieval package's answers (``stack.ask`` / ``stack.query`` → ``Answer``).

Present-tense location questions ("where is X?", "which room is X in?") become a belief the planner
can act on: every object in the answer's evidence is a *remembered* hypothesis with retrieval's
calibrated ``p_still_there`` (shared out when several objects match), the rest of the mass goes to
the house's rooms by the semantic prior. Every other known answer (past, counts, changes, the
robot's own history) is about what memory recorded, which looking now cannot change: it becomes a
single hypothesis without a place, so the agent answers at once. ``unsupported`` answers raise
:class:`UnsupportedQuestionError` (the agent says "cannot answer" and does not move).

Only duck typing on the answer (``kind``, ``value``, ``confidence``, ``evidence``, ``query``), so
this module does not import the retrieval package."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping, Optional

from robomem.planning.belief import Belief, Hypothesis
from robomem.planning.detection import DetectionModel
from robomem.planning.errors import UnsupportedQuestionError
from robomem.planning.prior import SemanticPrior, room_probabilities
from robomem.planning.recall import RoomInfo

__all__ = ["AnswerRecall", "belief_from_answer", "ACTIONABLE_QUERIES"]

#: Query types whose answer can change by looking now.
ACTIONABLE_QUERIES = ("where_is", "which_room")


def _query_type(answer) -> Optional[str]:
    q = getattr(answer, "query", None)
    if q is None:
        return None
    t = getattr(q, "type", None) or getattr(q, "TYPE", None)
    if t is None:
        try:
            from robomem.retrieval import query_to_dict   # only when retrieval is installed
            t = query_to_dict(q).get("type")
        except Exception:          # noqa: BLE001 - an unknown query object is simply not actionable
            t = None
    return t


def belief_from_answer(answer, rooms: Mapping[int, RoomInfo], prior: SemanticPrior, *,
                       room_of: Optional[Callable] = None, room_answer_accuracy: float = 0.2,
                       verify_detection: float = 0.9, explore_detection: float = 0.75,
                       verify_look_s: float = 10.0, explore_look_s: float = 40.0,
                       detection: Optional[DetectionModel] = None) -> Belief:
    """The planner's belief for one retrieval ``Answer`` (see the module docstring). ``detection``:
    per-category detection probabilities (else ``verify_detection`` / ``explore_detection`` for every
    category), as in :class:`~robomem.planning.recall.MemoryRecall`."""
    kind = getattr(answer, "kind", None)
    if kind == "unsupported":
        v = getattr(answer, "value", None)
        raise UnsupportedQuestionError((v or {}).get("reason", "unsupported question") if isinstance(v, dict)
                                       else "unsupported question")
    qtype = _query_type(answer)
    q = getattr(answer, "query", None)
    target = getattr(q, "target", None)
    label = getattr(target, "label", None) or ""
    at_ns = getattr(q, "at_ns", None) if q is not None else None
    session = getattr(q, "session", None) if q is not None else None
    present = qtype in ACTIONABLE_QUERIES and at_ns is None and session is None
    if not present:
        if kind == "dont_know":
            return Belief(label or "?", (), {"query_type": qtype, "answer_kind": kind})
        h = Hypothesis("memory", float(getattr(answer, "confidence", 0.0)), answer=answer.to_dict()
                       if hasattr(answer, "to_dict") else getattr(answer, "value", None))
        return Belief(label or "?", (h,), {"query_type": qtype, "answer_kind": kind})
    evidence = [e for e in getattr(answer, "evidence", ()) if getattr(e, "position", None) is not None]
    hs = []
    n = max(1, len(evidence))
    which_room = qtype == "which_room"
    for e in evidence:
        pos = tuple(float(v) for v in e.position)[:3]
        room = room_of(pos) if room_of is not None else e.room_id
        p = e.p_still_there if e.p_still_there is not None else float(answer.confidence)
        hs.append(Hypothesis(f"obj:{e.object_id}", float(p) / n, pos, room,
                             answer={"object_id": e.object_id, "position": list(pos), "room_id": room,
                                     "receptacle_id": e.receptacle_id, "last_seen_ns": e.last_seen_ns},
                             detection=verify_detection, look_time_s=verify_look_s))
    if not label and evidence:
        label = evidence[0].label
    if detection is not None:
        verify_detection, explore_detection = detection.detection(label, "verify"), detection.detection(label, "explore")
        hs = [replace(h, detection=verify_detection) for h in hs]
    rest = max(0.0, 1.0 - sum(h.probability for h in hs))
    q_r = room_probabilities(prior, label, {r: i.room_type for r, i in rooms.items()})
    for r, p in q_r.items():
        hs.append(Hypothesis(f"room:{r}", rest * p, rooms[r].position, r,
                             answer={"room_id": r, "room_type": rooms[r].room_type},
                             answer_accuracy=1.0 if which_room else room_answer_accuracy,
                             detection=explore_detection, look_time_s=explore_look_s, kind="prior"))
    return Belief(label, tuple(hs), {"query_type": qtype, "answer_kind": kind})


class AnswerRecall:
    """``recall(question) -> Belief`` through the stack's retrieval (``stack.ask`` for words,
    ``stack.query`` for typed queries / dicts). ``rooms``, ``now_ns``, ``prior`` (learned from the
    stack's current placements when None) and ``room_of`` as in :class:`MemoryRecall`."""

    def __init__(self, stack, rooms: Mapping[int, RoomInfo], now_ns, *, prior: Optional[SemanticPrior] = None,
                 room_of: Optional[Callable] = None, **belief_settings) -> None:
        self.stack, self.rooms, self._now = stack, dict(rooms), now_ns
        self.prior, self.room_of, self.settings = prior, room_of, belief_settings
        self.last_answer = None

    def now(self) -> int:
        return int(self._now() if callable(self._now) else self._now)

    def __call__(self, question: Any) -> Belief:
        now = self.now()
        try:
            a = self.stack.ask(question, now) if isinstance(question, (str, bytes)) else self.stack.query(question, now)
        except ValueError as exc:            # InvalidQuestionError / InvalidQueryError
            raise UnsupportedQuestionError(str(exc)) from None
        self.last_answer = a
        prior = self.prior
        if prior is None:
            types = {r: i.room_type for r, i in self.rooms.items()}
            prior = SemanticPrior.from_placements(self.stack.placements_at(now), types, self.room_of)
        return belief_from_answer(a, self.rooms, prior, room_of=self.room_of, **self.settings)
