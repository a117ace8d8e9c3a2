"""Validation of incoming records and the plain result records the store returns."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import numpy as np

from robomem.memory.errors import InvalidObservationError, InvalidQueryError
from robomem.observations import EventKind, ObjectEvent, ObjectObservation

_NONE = -1  # room/receptacle "unknown" in the integer columns

#: Largest accepted stamp: 2100-01-01T00:00:00Z in ns since the Unix epoch. Stamps are int64 ns since
#: 1970 (negative = before 1970 is refused); anything past 2100 is a unit mistake, and one such stamp
#: would make every later realistic record "out of order".
MAX_STAMP_NS = 4_102_444_800 * 10**9
#: Largest accepted object / room / receptacle / session id (SQLite INTEGER is int64).
MAX_ID = 2**63 - 1


def check_stamp(stamp, what: str) -> int:
    """``stamp`` as an int in [0, MAX_STAMP_NS] (ns since 1970); raises naming ``what`` otherwise."""
    if isinstance(stamp, bool) or not isinstance(stamp, (int, np.integer)) or not 0 <= stamp <= MAX_STAMP_NS:
        raise InvalidObservationError(f"{what}: stamp_ns must be an integer number of ns since 1970, in "
                                      f"[0, {MAX_STAMP_NS}] (1970..2100), got {stamp!r}")
    return int(stamp)


def check_id(v, what: str, optional: bool = False) -> Optional[int]:
    """``v`` as an int in [0, 2**63 - 1]; raises naming ``what`` otherwise (``None`` passes if ``optional``)."""
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= MAX_ID:
        raise InvalidObservationError(f"{what} must be an integer in [0, 2**63 - 1], got {v!r}")
    return int(v)


def check_text(v, what: str, allow_empty: bool = False) -> str:
    """``v`` as a str that SQLite can store (valid UTF-8: no lone surrogates)."""
    if not isinstance(v, str) or (not v and not allow_empty):
        raise InvalidObservationError(f"{what} must be a {'' if allow_empty else 'non-empty '}string, got {v!r}")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidObservationError(f"{what} is not valid UTF-8 text ({exc.reason} at {exc.start}): {v!r}") from None
    return v


def check_json(d, what: str) -> str:
    """``d`` (a dict) encoded the way the store keeps it; raises naming ``what`` if it cannot be."""
    if not isinstance(d, dict):
        raise InvalidObservationError(f"{what} must be a dict, got {type(d).__name__}")
    try:
        s = dumps(d)
        s.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidObservationError(f"{what} is not JSON-serialisable: {exc}") from None
    return s


def query_id(v, what: str) -> int:
    """A query's id argument as an int, or :class:`InvalidQueryError` naming the argument."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= MAX_ID:
        raise InvalidQueryError(f"{what} must be an integer id in [0, 2**63 - 1], got {v!r}")
    return int(v)


def query_stamp(v, what: str) -> int:
    """A query's time argument (int ns since 1970, up to 2**63 - 1 as "the end of time") as an int,
    or :class:`InvalidQueryError` naming the argument."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= MAX_ID:
        raise InvalidQueryError(f"{what} must be an integer number of ns since 1970 in [0, 2**63 - 1], got {v!r}")
    return int(v)


def query_text(v, what: str) -> str:
    """A query's text argument (e.g. a label) as a str, or :class:`InvalidQueryError`."""
    if not isinstance(v, str):
        raise InvalidQueryError(f"{what} must be a string, got {v!r}")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQueryError(f"{what} is not valid UTF-8 text: {v!r}") from None
    return v


def sql_where(*terms: Optional[tuple]) -> tuple[str, list]:
    """``(" WHERE a AND b", params)`` from the filters a query applies: each term is ``(sql, params)``
    or None (a filter the caller left out); ``("", [])`` when none applies."""
    used = [t for t in terms if t is not None]
    if not used:
        return "", []
    return " WHERE " + " AND ".join(t[0] for t in used), [p for t in used for p in t[1]]


def stamp_range_terms(column: str, t0, t1, name0: str, name1: str) -> tuple:
    """The optional ``column >= t0`` / ``column <= t1`` terms of :func:`sql_where` (a None bound is
    left out; the others are checked with :func:`query_stamp`, errors naming ``name0``/``name1``)."""
    return (None if t0 is None else (f"{column} >= ?", [query_stamp(t0, name0)]),
            None if t1 is None else (f"{column} <= ?", [query_stamp(t1, name1)]))


def query_kinds(kinds, what: str) -> list:
    """Event kinds for a query as their stored values, or :class:`InvalidQueryError`."""
    from robomem.observations import EventKind

    if isinstance(kinds, (str, EventKind)):
        kinds = [kinds]
    try:
        items = list(kinds)
    except TypeError:
        raise InvalidQueryError(f"{what} must be a list of event kinds, got {kinds!r}") from None
    out = []
    for k in items:
        try:
            out.append(EventKind(k).value)
        except ValueError:
            raise InvalidQueryError(f"{what}: unknown event kind {k!r}; known: "
                                    f"{[e.value for e in EventKind]}") from None
    return out


def check_vec3(v, what: str) -> tuple[float, float, float]:
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidObservationError(f"{what} must be 3 numbers, got {v!r}") from None
    if a.shape != (3,):
        raise InvalidObservationError(f"{what} must have shape (3,), got {a.shape}")
    x, y, z = a.tolist()
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
        raise InvalidObservationError(f"{what} is not finite: {a.tolist()}")
    return x, y, z


@dataclass
class ObservationColumns:
    """A batch of observations as parallel columns (what the store ingests)."""

    object_id: np.ndarray      # int64 (n,)
    stamp_ns: np.ndarray       # int64 (n,)
    position: np.ndarray       # float64 (n, 3)
    confidence: np.ndarray     # float64 (n,)
    room_id: np.ndarray        # int64 (n,), -1 = unknown
    receptacle_id: np.ndarray  # int64 (n,), -1 = none
    label: list                # str per observation
    attributes: list           # dict per observation (may be empty)

    def __len__(self) -> int:
        return int(self.object_id.shape[0])


def _vec3_column(values: list, name: str, observations) -> np.ndarray:
    """(n, 3) float64 from per-record vectors, vectorised; the slow per-record check only runs to
    name the offending record."""
    try:
        a = np.asarray(values, dtype=np.float64)
        if a.shape == (len(values), 3) and np.isfinite(a).all():
            return a
    except (TypeError, ValueError):
        pass
    for i, v in enumerate(values):
        check_vec3(v, f"observation {i} (object {observations[i].object_id!r}) {name}")
    raise InvalidObservationError(f"{name} values are not 3 finite numbers each")  # pragma: no cover


def observations_to_columns(observations: Sequence[ObjectObservation]) -> ObservationColumns:
    """Validate observation records and turn them into columns. Raises
    :class:`InvalidObservationError` naming the first bad record."""
    n = len(observations)
    oid = np.empty(n, np.int64)
    st = np.empty(n, np.int64)
    conf = np.empty(n, np.float64)
    room = np.empty(n, np.int64)
    rec = np.empty(n, np.int64)
    labels: list = [None] * n
    attrs: list = [None] * n
    num = (int, float, np.floating, np.integer)
    for i, o in enumerate(observations):
        if not isinstance(o, ObjectObservation):
            raise InvalidObservationError(f"observation {i}: expected ObjectObservation, got {type(o).__name__}")
        v = o.object_id
        if type(v) is not int or not 0 <= v <= MAX_ID:
            v = check_id(v, f"observation {i} object_id")
        oid[i] = v
        v = o.stamp_ns
        if type(v) is not int or not 0 <= v <= MAX_STAMP_NS:
            v = check_stamp(v, f"observation {i} (object {o.object_id!r})")
        st[i] = v
        c = o.confidence
        if isinstance(c, bool) or not isinstance(c, num) or not (0.0 <= c <= 1.0):
            raise InvalidObservationError(f"observation {i} (object {o.object_id!r}): confidence must be in [0, 1], "
                                          f"got {c!r}")
        conf[i] = c
        r = o.room_id
        room[i] = _NONE if r is None else (r if type(r) is int and 0 <= r <= MAX_ID
                                           else check_id(r, f"observation {i} room_id"))
        r = o.receptacle_id
        rec[i] = _NONE if r is None else (r if type(r) is int and 0 <= r <= MAX_ID
                                          else check_id(r, f"observation {i} receptacle_id"))
        labels[i] = check_text(o.label, f"observation {i} (object {o.object_id!r}) label")
        a = o.attributes
        if o.color is not None:
            a = dict(a or {})
            a.setdefault("color", check_text(o.color, f"observation {i} (object {o.object_id!r}) color", True))
        a = a or {}
        if a:  # everything that will be encoded is checked here, at the door
            check_json(a, f"observation {i} (object {o.object_id!r}) attributes")
        attrs[i] = a
    pos = _vec3_column([o.position for o in observations], "position", observations) if n else np.empty((0, 3))
    if n:
        _vec3_column([o.bbox_min for o in observations], "bbox_min", observations)
        _vec3_column([o.bbox_max for o in observations], "bbox_max", observations)
    return ObservationColumns(oid, st, pos, conf, room, rec, labels, attrs)


def concat_columns(parts: list) -> ObservationColumns:
    """Concatenate validated column batches."""
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return observations_to_columns([])
    return ObservationColumns(
        np.concatenate([p.object_id for p in parts]), np.concatenate([p.stamp_ns for p in parts]),
        np.concatenate([p.position for p in parts]), np.concatenate([p.confidence for p in parts]),
        np.concatenate([p.room_id for p in parts]), np.concatenate([p.receptacle_id for p in parts]),
        [x for p in parts for x in p.label], [x for p in parts for x in p.attributes])


def columns_from_arrays(object_ids, stamps_ns, positions, labels, confidences=None, room_ids=None,
                        receptacle_ids=None) -> ObservationColumns:
    """Validate array input for the columnar fast path (vectorised checks)."""
    oid = np.asarray(object_ids)
    st = np.asarray(stamps_ns)
    n = oid.shape[0] if oid.ndim == 1 else -1
    if oid.ndim != 1 or oid.dtype.kind not in "iu" or (n and (oid.min() < 0 or int(oid.max()) > MAX_ID)):
        raise InvalidObservationError("object_ids must be a 1-D array of integers in [0, 2**63 - 1]")
    if st.shape != (n,) or st.dtype.kind not in "iu" or (n and (st.min() < 0 or int(st.max()) > MAX_STAMP_NS)):
        raise InvalidObservationError(f"stamps_ns must be {n} integers in [0, {MAX_STAMP_NS}] (ns since 1970)")
    pos = np.asarray(positions, dtype=np.float64)
    if pos.shape != (n, 3):
        raise InvalidObservationError(f"positions must have shape ({n}, 3), got {pos.shape}")
    bad = ~np.isfinite(pos).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidObservationError(f"position of observation {i} (object {int(oid[i])}) is not finite: {pos[i].tolist()}")
    if isinstance(labels, str):
        labels = [labels] * n
    labels = list(labels)
    if len(labels) != n:
        raise InvalidObservationError(f"labels must be {n} non-empty strings")
    for lab in labels:
        if not isinstance(lab, str):
            check_text(lab, "labels")
    for lab in set(labels):
        check_text(lab, "labels")
    conf = np.ones(n) if confidences is None else np.asarray(confidences, dtype=np.float64)
    if conf.shape != (n,) or not np.all((conf >= 0) & (conf <= 1)):
        raise InvalidObservationError("confidences must be in [0, 1]")

    def ids(v, name):
        if v is None:
            return np.full(n, _NONE, np.int64)
        a = np.asarray(v)
        if a.shape != (n,) or a.dtype.kind not in "iu" or (n and (a.min() < _NONE or int(a.max()) > MAX_ID)):
            raise InvalidObservationError(f"{name} must be {n} integers (-1 = unknown)")
        return a.astype(np.int64)

    return ObservationColumns(oid.astype(np.int64), st.astype(np.int64), pos, conf, ids(room_ids, "room_ids"),
                              ids(receptacle_ids, "receptacle_ids"), labels, [{}] * n)


@dataclass(frozen=True)
class EventRow:
    """A validated :class:`ObjectEvent` (plain Python values)."""

    kind: EventKind
    object_id: int
    label: str
    stamp_ns: int
    position: tuple
    previous_position: Optional[tuple]
    room_id: Optional[int]
    receptacle_id: Optional[int]
    previous_receptacle_id: Optional[int]


def validate_events(events: Iterable[ObjectEvent]) -> list[EventRow]:
    rows = []
    for i, e in enumerate(events):
        if not isinstance(e, ObjectEvent):
            raise InvalidObservationError(f"event {i}: expected ObjectEvent, got {type(e).__name__}")
        what = f"event {i} ({getattr(e.kind, 'value', e.kind)} of object {e.object_id!r})"
        try:
            kind = EventKind(e.kind)
        except ValueError:
            raise InvalidObservationError(f"{what}: unknown event kind {e.kind!r}") from None
        rows.append(EventRow(
            kind, check_id(e.object_id, what + " object_id"), check_text(str(e.label), what + " label", True),
            check_stamp(e.stamp_ns, what),
            check_vec3(e.position, what + " position"),
            None if e.previous_position is None else check_vec3(e.previous_position, what + " previous_position"),
            check_id(e.room_id, what + " room_id", True), check_id(e.receptacle_id, what + " receptacle_id", True),
            check_id(e.previous_receptacle_id, what + " previous_receptacle_id", True)))
    return rows


@dataclass(frozen=True)
class Placement:
    """An object at one place over ``[t_start_ns, t_end_ns]`` (first and last consistent sighting).

    ``current`` is True for the object's latest placement while no move/disappearance closed it:
    the object is believed to still be there."""

    placement_id: int
    object_id: int
    label: str
    t_start_ns: int
    t_end_ns: int
    position: np.ndarray
    room_id: Optional[int]
    receptacle_id: Optional[int]
    n_observations: int
    mean_confidence: float
    current: bool
    session_id: Optional[int]


@dataclass(frozen=True)
class StoredEvent:
    """An appeared / moved / disappeared event as stored (positions as float64 arrays)."""

    event_id: int
    kind: EventKind
    object_id: int
    stamp_ns: int
    position: np.ndarray
    previous_position: Optional[np.ndarray]
    room_id: Optional[int]
    receptacle_id: Optional[int]
    previous_receptacle_id: Optional[int]
    session_id: Optional[int]


@dataclass(frozen=True)
class ObjectRecord:
    """An object's row: stable id, latest label, attributes, first sighting, last known placement."""

    object_id: int
    label: str
    attributes: dict
    first_seen_ns: int
    current_placement_id: Optional[int]


@dataclass(frozen=True)
class IngestReport:
    """What one acknowledged ingest wrote (all of it is durable when the call returns)."""

    n_observations: int
    n_events: int
    placements_opened: int
    placements_extended: int
    new_objects: int
    latest_stamp_ns: Optional[int]


@dataclass
class ForgetReport:
    """What :meth:`LongTermMemory.forget` removed."""

    placements_deleted: int = 0
    keyframes_deleted: int = 0
    bytes_freed: int = 0
    details: dict = field(default_factory=dict)


def dumps(d: dict) -> str:
    return json.dumps(d, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def opt(v: int) -> Optional[int]:
    return None if v is None or v < 0 else int(v)
