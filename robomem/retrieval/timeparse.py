"""Time expressions in questions, relative to the store's own clock (``now_ns``), UTC.

Phrases are found with a few patterns ("yesterday evening", "two hours ago", "since 9:00", "on
day 2", "this morning", "last Tuesday", "between Monday evening and yesterday morning", "at
08:00", "in session 3") and their date/clock part is read by ``dateparser`` with the store clock
as its relative base. A part of the day names its *end*, the latest moment still described by
it (morning → 12:00, afternoon → 17:00, evening → 23:00, night → 23:59), clamped to ``now``: the
state "yesterday evening" is the state at the end of that evening as the robot knew it. A day
without a clock time is its end too ("on Tuesday" → Tuesday 23:59:59)."""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Optional

NS = 1_000_000_000
DAY_NS = 86_400 * NS

PART_END = {"morning": (12, 0), "afternoon": (17, 0), "evening": (23, 0), "night": (23, 59), "tonight": (23, 59)}

_WD = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH = r"(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"
_NUM = r"(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a couple of|a few)"
_CLOCK = r"(?:\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?|noon|midnight|\d{1,2}\s*o'?clock)"
_PART = r"(?:morning|afternoon|evening|night)"
_DAY = (rf"(?:today|yesterday|the day before yesterday|(?:last|this past|this|on)\s+{_WD}|{_WD}"
        rf"|(?:on\s+)?day\s+\d+|{_NUM}\s+days?\s+ago|(?:on\s+)?(?:{_WD},?\s+)?{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
        rf"|(?:on\s+)?\d{{4}}-\d{{2}}-\d{{2}})")
_POINT = (rf"(?:{_DAY}\s*,?\s*(?:at|around|about)\s+{_CLOCK}"
          rf"|(?:at|around|about)\s+{_CLOCK}\s*,?\s*(?:on\s+)?{_DAY}"
          rf"|(?:this|yesterday|last)\s+{_PART}|tonight"
          rf"|{_DAY}\s*,?\s*(?:in the\s+)?{_PART}"
          rf"|{_NUM}\s+(?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?)\s+ago(?:\s+in the\s+{_PART})?"
          rf"|earlier today|{_DAY}"
          rf"|(?:at|around|about)\s+{_CLOCK}|{_CLOCK}"
          rf"|in the\s+{_PART})")

_RANGE_RE = re.compile(rf"\b(?:between\s+(?P<a>{_POINT})\s+and\s+(?P<b>{_POINT})"
                       rf"|from\s+(?P<c>{_POINT})\s+(?:to|until|till)\s+(?P<d>{_POINT}))\b")
_COMPARED_RE = re.compile(rf"\b(?P<b>{_POINT})\s*,?\s*(?:compared (?:to|with)|versus|vs|relative to)\s+(?P<a>{_POINT})\b")
_SINCE_RE = re.compile(rf"\b(?:since|after|compared (?:to|with)|as of|over the (?:last|past))\s+(?P<a>{_POINT}|{_NUM}\s+(?:minutes?|hours?|days?))\b")
_LASTN_RE = re.compile(rf"\b(?:in|during|over|within) the (?:last|past)\s+(?P<n>{_NUM})\s+(?P<u>minutes?|hours?|days?)\b")
_SESSION_RE = re.compile(r"\b(?:in|during|on)\s+(?:the\s+)?(?:session|run|tour)\s+(?:number\s+)?(?P<k>\d+)\b")
_POINT_RE = re.compile(rf"\b(?:(?:on|at|by|around|about|during|before)\s+)?(?P<a>{_POINT})\b")
_NOW_RE = re.compile(r"\b(?:right now|now|at the moment|currently|at present|these days|still)\b")

_WORDNUM = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a few": 3}


class TimePhraseError(ValueError):
    """A time phrase was found but cannot be placed on the clock."""


@dataclass(frozen=True)
class TimeSpec:
    """What a question says about time: a moment (``at_ns``), a range (``t0_ns``..``t1_ns``, t1
    None = now), or a stored session number; ``text`` is the phrase as found."""

    at_ns: Optional[int] = None
    t0_ns: Optional[int] = None
    t1_ns: Optional[int] = None
    session: Optional[int] = None
    text: str = ""
    span_ns: int = 0      # length of the period a point phrase names (a day, a part of the day)

    @property
    def empty(self) -> bool:
        return self.at_ns is None and self.t0_ns is None and self.session is None


def _utc(t: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(t // NS, tz=_dt.timezone.utc).replace(tzinfo=None)


def _ns(d: _dt.datetime) -> int:
    return int(d.replace(tzinfo=_dt.timezone.utc).timestamp()) * NS


def _dateparse(phrase: str, base: _dt.datetime) -> Optional[_dt.datetime]:
    import dateparser
    return dateparser.parse(phrase, languages=["en"], settings={
        "RELATIVE_BASE": base, "PREFER_DATES_FROM": "past", "TIMEZONE": "UTC", "RETURN_AS_TIMEZONE_AWARE": False})


def resolve_point(phrase: str, now_ns: int, start_ns: Optional[int] = None) -> int:
    """The moment a point phrase names (see the module doc), never after ``now_ns``."""
    p = " ".join(phrase.lower().replace(",", " ").split())
    p = re.sub(r"^(?:on|at|by|around|about|during|before)\s+", "", p)
    base = _utc(now_ns)
    part = None
    m = re.search(rf"(?:\s*in the\s+|\s+|^)({_PART})$", p) or re.search(r"^(tonight)$", p)
    if m:
        part = m.group(1)
        p = p[:m.start()].strip()
        if p in ("", "this"):
            p = "today"
        elif p == "last":
            p = "yesterday"
    if p == "earlier today":
        return now_ns
    m = re.fullmatch(r"day\s+(\d+)", p)
    if m:
        k = int(m.group(1))
        if k < 1:
            raise TimePhraseError(f"day {k}: days are counted from 1")
        first = _utc(start_ns if start_ns is not None else now_ns)
        d = _dt.datetime(first.year, first.month, first.day) + _dt.timedelta(days=k - 1)
        return min(now_ns, _ns(d + _dt.timedelta(hours=23, minutes=59, seconds=59)) if part is None
                   else _ns(d.replace(hour=PART_END[part][0], minute=PART_END[part][1])))
    m = re.fullmatch(rf"({_NUM})\s+(seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?)\s+ago", p)
    if m and part is None:
        n = _WORDNUM.get(m.group(1)) or int(m.group(1))
        unit = m.group(2).rstrip("s")
        secs = {"second": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400, "week": 604800}[unit]
        return max(0, now_ns - n * secs * NS)
    has_clock = re.search(_CLOCK, p) is not None and not re.fullmatch(rf"{_NUM}\s+days?\s+ago", p)
    if re.fullmatch(_WD, p.replace("last ", "").replace("this past ", "").replace("this ", "")):
        wd = p.split()[-1]
        d = _dateparse(wd, base)
        if d is not None and d.date() >= base.date():
            d -= _dt.timedelta(days=7)
    elif p == "today":
        d = base
    else:
        d = _dateparse(p, base)
    if d is None:
        raise TimePhraseError(f"cannot read the time phrase {phrase!r}")
    if part is not None:
        d = d.replace(hour=PART_END[part][0], minute=PART_END[part][1], second=0)
    elif not has_clock and not re.search(r"\bago\b", p):
        d = d.replace(hour=23, minute=59, second=59)
    elif has_clock and p in ("noon", "midnight") or (has_clock and d > base and not re.search(_DAY, p)):
        if d > base:
            d -= _dt.timedelta(days=1)
    return max(0, min(now_ns, _ns(d)))


def span_of(phrase: str) -> int:
    """Length of the period a point phrase names: 6 h for a part of the day, 24 h for a day, 1 h
    for a clock time or "N ago"."""
    p = phrase.lower()
    if re.search(_PART, p) or "tonight" in p:
        return 6 * 3600 * NS
    if re.search(_CLOCK, p) or re.search(r"\bago\b", p) or "earlier" in p:
        return 3600 * NS
    return DAY_NS


def extract(text: str, now_ns: int, start_ns: Optional[int] = None) -> tuple[str, TimeSpec]:
    """(text with the time phrase removed, what it says). No phrase: ``TimeSpec()`` (now)."""
    t = text
    m = _SESSION_RE.search(t)
    if m:
        return _cut(t, m), TimeSpec(session=int(m.group("k")), text=m.group(0))
    m = _RANGE_RE.search(t)
    if m:
        a, b = (m.group("a"), m.group("b")) if m.group("a") else (m.group("c"), m.group("d"))
        t0, t1 = resolve_point(a, now_ns, start_ns), resolve_point(b, now_ns, start_ns)
        return _cut(t, m), TimeSpec(t0_ns=min(t0, t1), t1_ns=max(t0, t1), text=m.group(0))
    m = _COMPARED_RE.search(t)
    if m:
        t0, t1 = resolve_point(m.group("a"), now_ns, start_ns), resolve_point(m.group("b"), now_ns, start_ns)
        return _cut(t, m), TimeSpec(t0_ns=min(t0, t1), t1_ns=max(t0, t1), text=m.group(0))
    m = _LASTN_RE.search(t)
    if m:
        t0 = resolve_point(f"{m.group('n')} {m.group('u')} ago", now_ns, start_ns)
        return _cut(t, m), TimeSpec(t0_ns=t0, text=m.group(0))
    m = _SINCE_RE.search(t)
    if m:
        a = m.group("a")
        if not a.endswith("ago") and re.fullmatch(rf"{_NUM}\s+(?:minutes?|hours?|days?)", a):
            a += " ago"
        return _cut(t, m), TimeSpec(t0_ns=resolve_point(a, now_ns, start_ns), text=m.group(0))
    m = _POINT_RE.search(t)
    if m:
        a = m.group("a")
        return _cut(t, m), TimeSpec(at_ns=resolve_point(a, now_ns, start_ns), text=m.group(0), span_ns=span_of(a))
    m = _NOW_RE.search(t)
    if m:
        return _cut(t, m), TimeSpec(text=m.group(0))
    return t, TimeSpec()


def _cut(t: str, m: re.Match) -> str:
    return " ".join((t[:m.start()] + " " + t[m.end():]).split())
