"""Typed queries: small frozen dataclasses, validated on construction, with one JSON form.

Every query has a ``type`` tag (its class's ``TYPE``) and plain fields. Objects are named by a
:class:`Target` (a label as said, plus optional attributes that pick one among several: colour,
size, room, the receptacle it is on, or a stored object id). Times are integer nanoseconds on the
store's clock (``at_ns``; ranges ``t0_ns``..``t1_ns``); ``session`` is a stored session id.

``query_to_dict(q)`` / ``query_from_dict(d)`` convert to and from JSON-ready dicts; unknown
types or fields, wrong types, absurd or reversed times raise :class:`InvalidQueryError` naming the
field. The same dicts are the request schema of every interface (Python, HTTP, MCP, ROS)."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from robomem.retrieval.errors import InvalidQueryError

#: Latest accepted stamp (year ~2262 is 2**63 ns; anything near it is a bug, not a time).
MAX_TIME_NS = 2**62
MAX_LABEL_CHARS = 120
MAX_TEXT_CHARS = 2000
MAX_RADIUS_M = 1000.0
COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray")
SIZES = ("small", "large")
RELATIONS = ("on", "in", "near")


def _meta(kind: str, **kw) -> Any:
    return field(metadata={"kind": kind}, **kw)


def _check(kind: str, name: str, v: Any, owner: str) -> Any:
    where = f"{owner}.{name}"
    if v is None:
        if kind.endswith("!"):
            raise InvalidQueryError(f"{where} is required")
        return None
    k = kind.rstrip("!")
    if k in ("label", "text"):
        if not isinstance(v, str):
            raise InvalidQueryError(f"{where} must be a string, got {type(v).__name__}")
        limit = MAX_LABEL_CHARS if k == "label" else MAX_TEXT_CHARS
        if len(v) > limit:
            raise InvalidQueryError(f"{where} is longer than {limit} characters")
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidQueryError(f"{where} is not valid Unicode text (lone surrogates)") from None
        if k == "label":
            v = " ".join(v.split()).lower()
            if not v:
                raise InvalidQueryError(f"{where} is empty")
        return v
    if k in ("time", "id", "count"):
        if isinstance(v, bool) or not isinstance(v, int):
            raise InvalidQueryError(f"{where} must be an integer, got {type(v).__name__}")
        hi = MAX_TIME_NS if k == "time" else 2**62
        if not 0 <= v <= hi:
            raise InvalidQueryError(f"{where} = {v} is out of range [0, {hi}]")
        return int(v)
    if k == "radius":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 < v <= MAX_RADIUS_M:
            raise InvalidQueryError(f"{where} must be a finite number in (0, {MAX_RADIUS_M}] metres, got {v!r}")
        return float(v)
    if k == "room":
        if isinstance(v, bool) or not isinstance(v, (int, str)):
            raise InvalidQueryError(f"{where} must be a room id (integer) or a room name, got {type(v).__name__}")
        return _check("id", name, v, owner) if isinstance(v, int) else _check("label", name, v, owner)
    if k == "target":
        if isinstance(v, dict):
            return target_from_dict(v, where)
        if not isinstance(v, Target):
            raise InvalidQueryError(f"{where} must be a Target, got {type(v).__name__}")
        return v
    if k == "bool":
        if not isinstance(v, bool):
            raise InvalidQueryError(f"{where} must be a boolean, got {type(v).__name__}")
        return v
    if k.startswith("enum:"):
        options = k[5:].split("|")
        if v not in options:
            raise InvalidQueryError(f"{where} must be one of {options}, got {v!r}")
        return v
    raise AssertionError(kind)


class _Validated:
    """Validates (and normalises) every field after construction."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for f in dataclasses.fields(self):
            v = _check(f.metadata["kind"], f.name, getattr(self, f.name), owner)
            object.__setattr__(self, f.name, v)
        self._validate()

    def _validate(self) -> None:
        pass


def _check_range(q, a: str = "t0_ns", b: str = "t1_ns") -> None:
    t0, t1 = getattr(q, a), getattr(q, b)
    if t0 is not None and t1 is not None and t1 < t0:
        raise InvalidQueryError(f"{type(q).__name__}: time range is reversed ({a} {t0} > {b} {t1})")


@dataclass(frozen=True)
class Target(_Validated):
    """An object as a question names it: ``label`` as said ("cup", "coffee mug"; matched to stored
    labels semantically), or a stored ``object_id``; optional ``color``, ``size`` ("small"/"large"),
    ``room`` (id or name) and ``on`` (the receptacle it is on, itself a Target: "the mug on the
bookcase in the study"; at ``at_ns`` when given, "the mug that was on the desk yesterday") pick
among several."""

    label: Optional[str] = _meta("label", default=None)
    object_id: Optional[int] = _meta("id", default=None)
    color: Optional[str] = _meta("enum:" + "|".join(COLORS), default=None)
    size: Optional[str] = _meta("enum:" + "|".join(SIZES), default=None)
    room: Union[int, str, None] = _meta("room", default=None)
    on: Optional["Target"] = _meta("target", default=None)
    at_ns: Optional[int] = _meta("time", default=None)

    def _validate(self) -> None:
        if self.label is None and self.object_id is None:
            raise InvalidQueryError("Target needs a label or an object_id")


# ---------------------------------------------------------------------------------------- queries
@dataclass(frozen=True)
class WhereIs(_Validated):
    """Where is X (now; at ``at_ns``; or during stored session ``session``)?"""

    TYPE = "where_is"
    target: Target = _meta("target!")
    at_ns: Optional[int] = _meta("time", default=None)
    session: Optional[int] = _meta("id", default=None)


@dataclass(frozen=True)
class WhenSeen(_Validated):
    """When was X last (``which="last"``) or first seen?"""

    TYPE = "when_seen"
    target: Target = _meta("target!")
    which: str = _meta("enum:last|first", default="last")


@dataclass(frozen=True)
class Contents(_Validated):
    """What is on/in receptacle ``receptacle`` or in ``room`` (now or at ``at_ns``/``session``)?"""

    TYPE = "contents"
    receptacle: Optional[Target] = _meta("target", default=None)
    room: Union[int, str, None] = _meta("room", default=None)
    at_ns: Optional[int] = _meta("time", default=None)
    session: Optional[int] = _meta("id", default=None)

    def _validate(self) -> None:
        if (self.receptacle is None) == (self.room is None):
            raise InvalidQueryError("Contents needs exactly one of receptacle or room")


@dataclass(frozen=True)
class Changes(_Validated):
    """What changed (moved / appeared / disappeared) in a room, on a receptacle, or anywhere
    between ``t0_ns`` and ``t1_ns`` (default: now)?"""

    TYPE = "changes"
    t0_ns: int = _meta("time!")
    t1_ns: Optional[int] = _meta("time", default=None)
    room: Union[int, str, None] = _meta("room", default=None)
    receptacle: Optional[Target] = _meta("target", default=None)

    def _validate(self) -> None:
        _check_range(self)


@dataclass(frozen=True)
class Near(_Validated):
    """Objects near ``anchor`` within ``radius_m`` (optionally only ``label``); ``nearest=True``
    asks for the single closest one ("which mug is nearest to the bookshelf?")."""

    TYPE = "near"
    anchor: Target = _meta("target!")
    radius_m: float = _meta("radius", default=1.5)
    label: Optional[str] = _meta("label", default=None)
    nearest: bool = _meta("bool", default=False)
    at_ns: Optional[int] = _meta("time", default=None)


@dataclass(frozen=True)
class Count(_Validated):
    """How many ``label`` are there (in ``room`` / on ``receptacle``; now or at a time)?"""

    TYPE = "count"
    label: str = _meta("label!")
    room: Union[int, str, None] = _meta("room", default=None)
    receptacle: Optional[Target] = _meta("target", default=None)
    at_ns: Optional[int] = _meta("time", default=None)


@dataclass(frozen=True)
class History(_Validated):
    """Every place X has been, oldest first."""

    TYPE = "history"
    target: Target = _meta("target!")


@dataclass(frozen=True)
class Relation(_Validated):
    """Is X ``relation`` Y ("on" a receptacle, "in" a room, "near" an object)?"""

    TYPE = "relation"
    target: Target = _meta("target!")
    relation: str = _meta("enum:" + "|".join(RELATIONS) + "!")
    other: Optional[Target] = _meta("target", default=None)
    room: Union[int, str, None] = _meta("room", default=None)
    at_ns: Optional[int] = _meta("time", default=None)

    def _validate(self) -> None:
        if self.relation == "in" and self.room is None and self.other is None:
            raise InvalidQueryError("Relation 'in' needs a room (or other)")
        if self.relation != "in" and self.other is None:
            raise InvalidQueryError(f"Relation {self.relation!r} needs other")


@dataclass(frozen=True)
class Exists(_Validated):
    """Is there an X (in ``room``; at ``at_ns``)?"""

    TYPE = "exists"
    target: Target = _meta("target!")
    room: Union[int, str, None] = _meta("room", default=None)
    at_ns: Optional[int] = _meta("time", default=None)


@dataclass(frozen=True)
class WhichRoom(_Validated):
    """Which room is X in (now / at ``at_ns``)?"""

    TYPE = "which_room"
    target: Target = _meta("target!")
    at_ns: Optional[int] = _meta("time", default=None)


@dataclass(frozen=True)
class WhereWasI(_Validated):
    """Where was the robot at ``at_ns``?"""

    TYPE = "where_was_i"
    at_ns: int = _meta("time!")


@dataclass(frozen=True)
class LastVisit(_Validated):
    """When was the robot last in ``room`` (``measure="when"``), or how long did it stay
    (``measure="duration"``)?"""

    TYPE = "last_visit"
    room: Union[int, str] = _meta("room!")
    measure: str = _meta("enum:when|duration", default="when")


@dataclass(frozen=True)
class SeenBetween(_Validated):
    """What did the robot see between ``t0_ns`` and ``t1_ns`` (optionally in ``room``)?"""

    TYPE = "seen_between"
    t0_ns: int = _meta("time!")
    t1_ns: Optional[int] = _meta("time", default=None)
    room: Union[int, str, None] = _meta("room", default=None)

    def _validate(self) -> None:
        _check_range(self)


@dataclass(frozen=True)
class Unsupported(_Validated):
    """A question outside what robomem perceives; ``reason`` says why."""

    TYPE = "unsupported"
    text: str = _meta("text!")
    reason: str = _meta("text!")


QUERY_TYPES: dict[str, type] = {c.TYPE: c for c in (
    WhereIs, WhenSeen, Contents, Changes, Near, Count, History, Relation, Exists, WhichRoom, WhereWasI,
    LastVisit, SeenBetween, Unsupported)}

Query = Union[WhereIs, WhenSeen, Contents, Changes, Near, Count, History, Relation, Exists, WhichRoom,
              WhereWasI, LastVisit, SeenBetween, Unsupported]


# ---------------------------------------------------------------------------------------- JSON
def _value_to_json(v: Any) -> Any:
    if isinstance(v, Target):
        return target_to_dict(v)
    return v


def target_to_dict(t: Target) -> dict:
    return {f.name: _value_to_json(getattr(t, f.name)) for f in dataclasses.fields(t) if getattr(t, f.name) is not None}


def target_from_dict(d: Any, where: str = "target") -> Target:
    if not isinstance(d, dict):
        raise InvalidQueryError(f"{where} must be an object, got {type(d).__name__}")
    names = {f.name for f in dataclasses.fields(Target)}
    unknown = sorted(str(k) for k in d if k not in names)
    if unknown:
        raise InvalidQueryError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(names)}")
    if "label" not in d and "object_id" not in d:
        raise InvalidQueryError(f"{where}: Target needs a label or an object_id")
    try:
        return Target(**d)
    except InvalidQueryError as exc:
        raise InvalidQueryError(f"{where}: {exc}") from None


def query_to_dict(q: Query) -> dict:
    """JSON-ready dict ``{"type": ..., field: value, ...}`` (None fields left out)."""
    if type(q) not in QUERY_TYPES.values():
        raise InvalidQueryError(f"not a robomem query: {type(q).__name__}")
    d = {"type": q.TYPE}
    for f in dataclasses.fields(q):
        v = getattr(q, f.name)
        if v is not None:
            d[f.name] = _value_to_json(v)
    return d


def query_from_dict(d: Any) -> Query:
    """The query a dict describes (see :func:`query_to_dict`); validated, unknown fields rejected."""
    if not isinstance(d, dict):
        raise InvalidQueryError(f"a query must be a JSON object, got {type(d).__name__}")
    t = d.get("type")
    if not isinstance(t, str) or t not in QUERY_TYPES:
        raise InvalidQueryError(f"query.type must be one of {sorted(QUERY_TYPES)}, got {t!r}")
    cls = QUERY_TYPES[t]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(str(k) for k in d if k != "type" and k not in names)
    if unknown:
        raise InvalidQueryError(f"{t}: unknown field(s) {unknown}; allowed: {sorted(names)}")
    missing = [f.name for f in dataclasses.fields(cls) if f.metadata["kind"].endswith("!") and f.name not in d]
    if missing:
        raise InvalidQueryError(f"{t}: missing required field(s) {missing}")
    return cls(**{k: v for k, v in d.items() if k != "type"})


_JSON_KIND = {"label": {"type": "string", "maxLength": MAX_LABEL_CHARS},
              "text": {"type": "string", "maxLength": MAX_TEXT_CHARS},
              "time": {"type": "integer", "minimum": 0, "maximum": MAX_TIME_NS},
              "id": {"type": "integer", "minimum": 0}, "count": {"type": "integer", "minimum": 0},
              "radius": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_M},
              "room": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "maxLength": MAX_LABEL_CHARS}]},
              "target": {"$ref": "#/$defs/Target"}}


def _field_schema(kind: str) -> dict:
    k = kind.rstrip("!")
    if k == "bool":
        return {"type": "boolean"}
    if k.startswith("enum:"):
        return {"enum": k[5:].split("|")}
    return dict(_JSON_KIND[k])


def _class_schema(cls: type, tag: Optional[str]) -> dict:
    props, required = {}, []
    if tag:
        props["type"] = {"const": tag}
        required.append("type")
    for f in dataclasses.fields(cls):
        props[f.name] = _field_schema(f.metadata["kind"])
        if f.metadata["kind"].endswith("!"):
            required.append(f.name)
    return {"type": "object", "description": " ".join((cls.__doc__ or "").split()), "properties": props,
            "required": required, "additionalProperties": False}


def query_json_schema() -> dict:
    """JSON Schema (draft 2020-12) of a query dict: one of the query types."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "robomem query",
            "oneOf": [{"$ref": f"#/$defs/{c.__name__}"} for c in QUERY_TYPES.values()],
            "$defs": {"Target": _class_schema(Target, None),
                      **{c.__name__: _class_schema(c, c.TYPE) for c in QUERY_TYPES.values()}}}
