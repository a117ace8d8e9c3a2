"""Validation of the arguments every interface (CLI, HTTP, MCP) passes to the service functions.

Each check raises :class:`~robomem.errors.InvalidInputError` (a ``ValueError``) naming the bad
argument, so the CLI prints it, HTTP answers 422 with it and MCP returns it as a tool error."""
from __future__ import annotations

import datetime as _dt
import math
from typing import Iterable, Optional

from robomem.errors import InvalidInputError
from robomem.observations import EventKind
from robomem.retrieval.queries import MAX_LABEL_CHARS, MAX_TEXT_CHARS, MAX_TIME_NS

#: Largest stamp accepted anywhere (about year 2116 in ns since the Unix epoch), the retrieval
#: package's bound. Stamps are data time as stored (simulators start near 0, robots near the epoch).
MAX_STAMP_NS = MAX_TIME_NS
MAX_ID = 2**62
MAX_LIMIT = 10_000
EVENT_KINDS = ("appeared", "moved", "disappeared")


def check_stamp(value, name: str, optional: bool = False) -> Optional[int]:
    """An integer nanosecond stamp in ``[0, MAX_STAMP_NS]`` (bool, float and text are refused)."""
    if value is None:
        if optional:
            return None
        raise InvalidInputError(f"{name} is required (a stamp in ns)")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer stamp in ns, got {type(value).__name__}")
    if not 0 <= value <= MAX_STAMP_NS:
        raise InvalidInputError(f"{name} must be between 0 and {MAX_STAMP_NS} ns, got {value}")
    return int(value)


def check_range(t0, t1, name0: str = "t0_ns", name1: str = "t1_ns") -> tuple[Optional[int], Optional[int]]:
    """Two optional stamps; when both are given the range must not be reversed."""
    a, b = check_stamp(t0, name0, True), check_stamp(t1, name1, True)
    if a is not None and b is not None and a > b:
        raise InvalidInputError(f"time range is reversed: {name0}={a} > {name1}={b}")
    return a, b


def check_id(value, name: str, optional: bool = False) -> Optional[int]:
    """A non-negative integer id (object, room)."""
    if value is None:
        if optional:
            return None
        raise InvalidInputError(f"{name} is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer, got {type(value).__name__}")
    if not 0 <= value <= MAX_ID:
        raise InvalidInputError(f"{name} must be between 0 and {MAX_ID}, got {value}")
    return int(value)


def check_text(value, name: str, max_chars: int = MAX_LABEL_CHARS, optional: bool = False) -> Optional[str]:
    """Non-empty printable text of bounded length (labels, questions). Text is only ever bound as
    an SQL parameter, so SQL-looking strings are simply labels nobody has."""
    if value is None:
        if optional:
            return None
        raise InvalidInputError(f"{name} is required")
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be text, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise InvalidInputError(f"{name} must not be empty")
    if len(text) > max_chars:
        raise InvalidInputError(f"{name} is {len(text)} characters long; at most {max_chars} are accepted")
    if any(ord(c) < 32 and c not in "\t" for c in text) or "\ufffd" in text:
        raise InvalidInputError(f"{name} contains control characters or undecodable bytes")
    return text


def check_limit(value, name: str = "limit") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise InvalidInputError(f"{name} must be an integer between 1 and {MAX_LIMIT}, got {value!r}")
    return int(value)


def check_kinds(kinds: Optional[Iterable], name: str = "kinds") -> Optional[tuple[str, ...]]:
    if kinds is None:
        return None
    if isinstance(kinds, str):
        kinds = [k for k in kinds.split(",") if k.strip()]
    out = []
    for k in kinds:
        k = k.value if isinstance(k, EventKind) else k
        if not isinstance(k, str) or k.strip() not in EVENT_KINDS:
            raise InvalidInputError(f"{name}: unknown event kind {k!r}; known: {', '.join(EVENT_KINDS)}")
        out.append(k.strip())
    return tuple(out) if out else None


def parse_time(text: str, name: str = "time") -> int:
    """A stamp from the command line: an integer (ns), or an ISO-8601 date/time (UTC when it names
    no zone), e.g. ``2026-02-02T10:00:00Z``. Anything else raises naming ``name``."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(f"{name} must be a stamp in ns or an ISO-8601 time, got {text!r}")
    s = text.strip()
    if s.lstrip("-").isdigit():
        return check_stamp(int(s), name)
    try:
        d = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"{name}: {text!r} is neither a stamp in ns nor an ISO-8601 time") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.timezone.utc)
    secs = d.timestamp()
    if not math.isfinite(secs) or secs < 0:
        raise InvalidInputError(f"{name}: {text!r} is before 1970-01-01")
    return check_stamp(int(round(secs * 1e6)) * 1000, name)


def format_time(stamp_ns: Optional[int]) -> str:
    """A stamp for people: ISO-8601 UTC to the millisecond when it is a plausible wall-clock time
    (after 2000), otherwise seconds of data time (simulators start their clocks near zero)."""
    if stamp_ns is None:
        return "-"
    if stamp_ns >= 946_684_800 * 10**9:
        d = _dt.datetime.fromtimestamp(stamp_ns / 1e9, tz=_dt.timezone.utc)
        return d.strftime("%Y-%m-%d %H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"
    return f"t={stamp_ns / 1e9:.3f}s"


def format_duration(ns: Optional[int]) -> str:
    if ns is None:
        return "-"
    s = ns / 1e9
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"
