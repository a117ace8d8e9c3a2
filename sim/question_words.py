"""The words of the scenario questions: synonyms for objects, furniture and rooms, plurals, and
relative times ("yesterday evening", "two hours ago", "on Tuesday at 07:45"). Pure functions of
their arguments (and of a random generator where a synonym is drawn); no ground truth."""
from __future__ import annotations

import datetime as _dt
from typing import Optional

import numpy as np

from sim.scenario_log import Session

NS = 1_000_000_000
HOUR_NS = 3600 * NS
DAY_NS = 86_400 * NS

# -- vocabulary ------------------------------------------------------------------------------------
# (text, plural?) synonyms per object category; unlisted categories use the name with spaces.
_OBJECT_NAMES: dict[str, list[tuple[str, bool]]] = {
    "mug": [("mug", False), ("coffee mug", False)],
    "keys": [("keys", True), ("house keys", True), ("set of keys", False)],
    "remote": [("remote", False), ("TV remote", False), ("remote control", False)],
    "phone": [("phone", False), ("smartphone", False), ("mobile phone", False)],
    "glasses": [("glasses", True), ("pair of glasses", False), ("reading glasses", True)],
    "laptop": [("laptop", False), ("laptop computer", False)],
    "bag": [("bag", False), ("handbag", False)],
    "backpack": [("backpack", False), ("rucksack", False)],
    "headphones": [("headphones", True), ("headset", False)],
    "bottle": [("bottle", False), ("water bottle", False)],
    "notebook": [("notebook", False), ("notepad", False)],
    "wallet": [("wallet", False), ("purse", False)],
}
_PLURAL_ONLY = {"keys", "glasses", "headphones"}
_FIXTURE_NAMES: dict[str, list[str]] = {
    "counter": ["counter", "kitchen counter", "countertop"], "sofa": ["sofa", "couch"],
    "nightstand": ["nightstand", "bedside table"], "tv_stand": ["TV stand", "TV cabinet"],
    "console_table": ["console table", "hall table"], "bookshelf": ["bookshelf", "bookcase"],
    "kitchen_island": ["kitchen island"], "dresser": ["dresser", "chest of drawers"],
    "sink_cabinet": ["sink cabinet", "bathroom vanity"], "coffee_table": ["coffee table"],
    "dining_table": ["dining table"], "kitchen_table": ["kitchen table"], "shoe_rack": ["shoe rack"],
    "shelf": ["shelf unit", "shelving unit"],
}
#: Counting nouns for categories whose name is already plural.
COUNT_UNITS = {"keys": ("set of keys", "sets of keys"), "glasses": ("pair of glasses", "pairs of glasses"),
          "headphones": ("pair of headphones", "pairs of headphones")}
_ROOM_NAMES: dict[str, list[str]] = {
    "living_room": ["living room", "lounge"], "office": ["office", "study"], "hallway": ["hallway", "hall"],
    "entrance": ["entrance", "entryway"], "dining_room": ["dining room"], "laundry": ["laundry room"],
}
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                 "eleven", "twelve"]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _plain(cat: str) -> str:
    return cat.replace("_", " ")


def object_names(category: str) -> list[tuple[str, bool]]:
    """Synonyms ``(text, is_plural)`` for an object category."""
    return _OBJECT_NAMES.get(category, [(_plain(category), category in _PLURAL_ONLY)])


def fixture_names(category: str) -> list[str]:
    return _FIXTURE_NAMES.get(category, [_plain(category)])


def room_type_names(room_type: str) -> list[str]:
    return _ROOM_NAMES.get(room_type, [_plain(room_type)])


def confusable(category: str, other: str) -> bool:
    """True when a reference to ``category`` could also mean ``other``: the same category, or
    ``other``'s name ends in this one's ("the table" vs a coffee table, "the bowl" vs a fruit
    bowl)."""
    return category == other or _plain(other).endswith(" " + _plain(category))


def plural(category: str) -> Optional[str]:
    """Plural noun for counting questions; None for categories that are already plural."""
    if category in _PLURAL_ONLY:
        return None
    return plural_noun(_plain(category))


def plural_noun(word: str) -> str:
    return word + ("es" if word.endswith(("sh", "ch", "s", "x")) else "s")


def ago_words(n: int, unit: str) -> str:
    word = NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)
    if n == 1:
        return f"an {unit} ago" if unit == "hour" else f"a {unit} ago"
    return f"{word} {unit}s ago"


def _utc(t: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(t / NS, tz=_dt.timezone.utc)


def _day(t: int) -> int:
    return t // DAY_NS


def session_phrase(session: Session, now_ns: int, rng: np.random.Generator) -> str:
    """Relative phrase for a past session seen from ``now_ns``: "this morning", "yesterday
    evening", "on Tuesday morning", "three days ago in the evening", "on Monday, November 2, in the
    morning". Unique within the scenario for any session before ``now_ns``."""
    dd = _day(now_ns) - _day(session.t_start)
    name = session.name
    if dd == 0:
        return f"this {name}" if name != "evening" or _utc(now_ns).hour < 24 else f"this {name}"
    if dd == 1:
        return f"yesterday {name}"
    d = _utc(session.t_start)
    if dd < 7:
        return str(rng.choice([f"on {_WEEKDAYS[d.weekday()]} {name}", f"{ago_words(dd, 'day')} in the {name}"]))
    return str(rng.choice([f"on {_WEEKDAYS[d.weekday()]}, {d.strftime('%B')} {d.day}, in the {name}",
                           f"{ago_words(dd, 'day')} in the {name}"]))


def since_phrase(when: str) -> str:
    """"on Tuesday morning" -> "Tuesday morning" after "since"/"compared to"."""
    return when[3:] if when.startswith("on ") else when


def stamp_phrase(t: int, now_ns: int) -> str:
    """Day-relative clock time: "today at 07:52", "yesterday at 18:40", "on Tuesday at 07:45"."""
    dd = _day(now_ns) - _day(t)
    d = _utc(t)
    hm = d.strftime("%H:%M")
    if dd == 0:
        return f"today at {hm}"
    if dd == 1:
        return f"yesterday at {hm}"
    if dd < 7:
        return f"on {_WEEKDAYS[d.weekday()]} at {hm}"
    return f"on {_WEEKDAYS[d.weekday()]}, {d.strftime('%B')} {d.day}, at {hm}"


def join_words(items: list[str]) -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def capitalize(s: str) -> str:
    return s[:1].upper() + s[1:]
