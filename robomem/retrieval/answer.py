"""`Answer` and `Evidence`: what every query returns, JSON round-trippable.

``kind`` says how to read ``value`` (see :data:`ANSWER_KINDS`); ``text`` is a sentence for people;
``confidence`` in [0, 1]; ``evidence`` one :class:`Evidence` per object involved, ranked (most
likely first); ``query`` the typed query that was answered (how the question was understood)."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional

from robomem.retrieval.errors import InvalidQueryError
from robomem.retrieval.queries import Query, query_from_dict, query_to_dict

#: kind -> meaning of ``value``.
ANSWER_KINDS = {
    "objects": "list of {object_id, label, position, room_id, receptacle_id, p_still_there}, most likely first"
               " (+ identity_p when perception was unsure which look-alike the asked object is)",
    "time": "{stamp_ns, object_id}",
    "count": "{count, object_ids}",
    "boolean": "{answer: true/false, object_ids}",
    "room": "{room_id, room_name, object_id}",
    "changes": "list of {object_id, label, kind (moved/appeared/disappeared), before, after}",
    "history": "list of {position, room_id, receptacle_id, t_start_ns, t_end_ns}, oldest first",
    "pose": "{stamp_ns, position, room_id}",
    "visit": "{room_id, t_enter_ns, t_exit_ns, duration_s}",
    "dont_know": "null: nothing stored answers it (never observed, or no data at that time/room)",
    "unsupported": "{reason}: a question outside what robomem perceives",
}


@dataclass(frozen=True)
class Evidence:
    """Why an object is in an answer. Times are store-clock nanoseconds (None = never/unknown).

    ``first_seen_ns`` / ``last_seen_ns``: first and latest sighting; ``last_missed_ns``: the latest
    time its place was in view and it was absent (a *disappeared* event); ``since_ns``: start of
    the placement the answer refers to; ``p_still_there``: belief that it is still at that place
    now (see :mod:`robomem.retrieval.belief`); ``keyframe_ids``: stored images showing it."""

    object_id: int
    label: str
    position: Optional[tuple] = None
    room_id: Optional[int] = None
    receptacle_id: Optional[int] = None
    first_seen_ns: Optional[int] = None
    last_seen_ns: Optional[int] = None
    last_missed_ns: Optional[int] = None
    since_ns: Optional[int] = None
    p_still_there: Optional[float] = None
    keyframe_ids: tuple = ()
    source: str = "long-term"

    def to_dict(self) -> dict:
        # field by field (dataclasses.asdict deep-copies recursively: ~0.1 ms per item, a third of
        # a where-answer's cost); the order is the field order, as asdict wrote it
        return {"object_id": self.object_id, "label": self.label,
                "position": None if self.position is None else [float(x) for x in self.position],
                "room_id": self.room_id, "receptacle_id": self.receptacle_id, "first_seen_ns": self.first_seen_ns,
                "last_seen_ns": self.last_seen_ns, "last_missed_ns": self.last_missed_ns, "since_ns": self.since_ns,
                "p_still_there": self.p_still_there, "keyframe_ids": [int(k) for k in self.keyframe_ids],
                "source": self.source}

    @classmethod
    def _from_values(cls, values) -> "Evidence":
        """An Evidence from its field values in field order, unchecked (the engine's hot path:
        building a frozen dataclass field by field costs more than the rest of a where-answer)."""
        e = object.__new__(cls)
        e.__dict__.update(zip(_EVIDENCE_FIELDS, values))
        return e

    @classmethod
    def from_dict(cls, d: Any) -> "Evidence":
        if not isinstance(d, dict):
            raise InvalidQueryError(f"evidence must be an object, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InvalidQueryError(f"evidence: unknown field(s) {unknown}")
        d = dict(d)
        if d.get("position") is not None:
            d["position"] = tuple(float(x) for x in d["position"])
        d["keyframe_ids"] = tuple(int(k) for k in d.get("keyframe_ids", ()))
        try:
            return cls(**d)
        except TypeError as exc:
            raise InvalidQueryError(f"evidence: {exc}") from None


_EVIDENCE_FIELDS = tuple(f.name for f in dataclasses.fields(Evidence))


@dataclass(frozen=True)
class Answer:
    """One answer: ``kind`` (a key of :data:`ANSWER_KINDS`), JSON ``value``, ``text``,
    ``confidence`` in [0, 1], ranked ``evidence`` and the ``query`` answered."""

    kind: str
    value: Any
    text: str
    confidence: float
    evidence: tuple = ()
    query: Optional[Query] = None

    def __post_init__(self) -> None:
        if self.kind not in ANSWER_KINDS:
            raise InvalidQueryError(f"Answer.kind must be one of {sorted(ANSWER_KINDS)}, got {self.kind!r}")
        c = float(self.confidence)
        if not (math.isfinite(c) and 0.0 <= c <= 1.0):
            raise InvalidQueryError(f"Answer.confidence must be in [0, 1], got {self.confidence!r}")
        object.__setattr__(self, "confidence", c)
        object.__setattr__(self, "evidence", tuple(self.evidence))

    @property
    def known(self) -> bool:
        """False for "don't know" and "unsupported"."""
        return self.kind not in ("dont_know", "unsupported")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "value": self.value, "text": self.text, "confidence": self.confidence,
                "evidence": [e.to_dict() for e in self.evidence],
                "query": None if self.query is None else query_to_dict(self.query)}

    @classmethod
    def from_dict(cls, d: Any) -> "Answer":
        if not isinstance(d, dict):
            raise InvalidQueryError(f"an answer must be an object, got {type(d).__name__}")
        names = {"kind", "value", "text", "confidence", "evidence", "query"}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InvalidQueryError(f"answer: unknown field(s) {unknown}")
        missing = sorted({"kind", "text", "confidence"} - set(d))
        if missing:
            raise InvalidQueryError(f"answer: missing field(s) {missing}")
        q = d.get("query")
        return cls(d["kind"], d.get("value"), str(d["text"]), d["confidence"],
                   tuple(Evidence.from_dict(e) for e in d.get("evidence") or ()),
                   None if q is None else query_from_dict(q))


def dont_know(query: Optional[Query], why: str) -> Answer:
    return Answer("dont_know", None, f"I don't know: {why}.", 0.0, (), query)
