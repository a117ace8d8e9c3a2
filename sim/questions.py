"""Questions with exact answers from a scenario's ground truth (``GroundTruthLog``).

Categories (:data:`QUESTION_CATEGORIES`): where is X now; where was X at a time / in a session;
when was X last seen; what is on a piece of furniture (now or then); what changed in a room or on a
piece of furniture between two times; how many X are in a room; which X is nearest to Y; which
room X is in. Each :class:`Question` has varied natural language (several templates, synonyms,
relative times such as "yesterday evening" or "two hours ago"), a natural-language answer and a
``structured`` form with ids and stamps for scoring. Questions serialise to JSON in an
OpenEQA-like schema (``question``, ``answer``, ``category``, ``question_id``, ``episode_history``)
plus ``session``, ``asked_at_ns`` and ``structured``.

Only unambiguous questions are asked: an object is named by its category when it is the only one,
otherwise by where it was at a stated time (when that picks exactly one); furniture by category,
or category + room; rooms by type, or type + a piece of furniture only that room has.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from sim.scenario_log import GroundTruthLog, Placement, ScenarioError, Session, load_json_text_or_file

NS = 1_000_000_000
HOUR_NS = 3600 * NS
DAY_NS = 86_400 * NS

QUESTION_CATEGORIES = ("where_now", "where_at_time", "last_seen", "receptacle_contents", "changes",
                       "count_in_room", "nearest", "which_room")

#: Names used for OpenEQA-style ``category`` strings (the structured form keeps the short key).
CATEGORY_TITLES = {
    "where_now": "object localization (now)", "where_at_time": "object localization (past)",
    "last_seen": "episodic recall (last seen)", "receptacle_contents": "receptacle contents",
    "changes": "change detection", "count_in_room": "counting", "nearest": "spatial relation (nearest)",
    "which_room": "room localization",
}

_NAMESPACE = uuid.UUID("6f1c3a52-9a7e-4a41-8f0e-2f7d0b6c9e11")

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
_UNITS = {"keys": ("set of keys", "sets of keys"), "glasses": ("pair of glasses", "pairs of glasses"),
          "headphones": ("pair of headphones", "pairs of headphones")}
_ROOM_NAMES: dict[str, list[str]] = {
    "living_room": ["living room", "lounge"], "office": ["office", "study"], "hallway": ["hallway", "hall"],
    "entrance": ["entrance", "entryway"], "dining_room": ["dining room"], "laundry": ["laundry room"],
}
_NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
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


def _ago_words(n: int, unit: str) -> str:
    word = _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)
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
        return str(rng.choice([f"on {_WEEKDAYS[d.weekday()]} {name}", f"{_ago_words(dd, 'day')} in the {name}"]))
    return str(rng.choice([f"on {_WEEKDAYS[d.weekday()]}, {d.strftime('%B')} {d.day}, in the {name}",
                           f"{_ago_words(dd, 'day')} in the {name}"]))


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


def _join(items: list[str]) -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


@dataclass
class Question:
    """One question with its exact answer. ``category`` is the short key (see
    :data:`QUESTION_CATEGORIES`); ``structured`` holds ids/stamps for scoring."""

    question_id: str
    question: str
    answer: str
    category: str
    episode_history: str
    session: int
    asked_at_ns: int
    structured: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["category_title"] = CATEGORY_TITLES[self.category]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Question":
        try:
            q = cls(str(d["question_id"]), str(d["question"]), str(d["answer"]), str(d["category"]),
                    str(d["episode_history"]), int(d["session"]), int(d["asked_at_ns"]), dict(d["structured"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ScenarioError(f"malformed question entry: {exc!r}") from None
        if q.category not in QUESTION_CATEGORIES:
            raise ScenarioError(f"unknown question category {q.category!r}; expected one of {QUESTION_CATEGORIES}")
        return q


def questions_to_json(questions: Sequence[Question], path: Union[str, Path, None] = None, indent: int = 1) -> str:
    """OpenEQA-like JSON list of questions; also written to ``path`` when given."""
    text = json.dumps([q.to_dict() for q in questions], indent=indent)
    if path is not None:
        Path(path).write_text(text)
    return text


def questions_from_json(text_or_path: Union[str, Path]) -> list[Question]:
    """Questions from JSON text or a file written by :func:`questions_to_json`."""
    data = load_json_text_or_file(text_or_path, "questions file", ("[", "{"))
    if not isinstance(data, list):
        raise ScenarioError("questions JSON must be a list of question objects")
    return [Question.from_dict(d) for d in data]


def _where(p: Optional[Placement]) -> Optional[dict]:
    if p is None:
        return None
    return {"object_id": p.object_id, "receptacle_id": p.receptacle_id, "fixture_id": p.fixture_id,
            "fixture_category": p.fixture_category, "room": p.room}


def _xy_dist(a, b) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


class QuestionGenerator:
    """Generates questions from a :class:`GroundTruthLog`, seeded.

    ``nearest_margin``: a "nearest" question is asked only when the runner-up is at least this
    many metres farther (horizontal distance), so the answer is not a matter of centimetres.
    """

    def __init__(self, log: GroundTruthLog, seed: int = 0, nearest_margin: float = 0.5) -> None:
        if not isinstance(log, GroundTruthLog):
            raise ScenarioError(f"QuestionGenerator needs a GroundTruthLog, got {type(log).__name__}")
        if not log.sessions:
            raise ScenarioError("the log has no sessions to ask about")
        self.log = log
        self.seed = int(seed)
        self.rng = np.random.default_rng(seed)
        self.nearest_margin = float(nearest_margin)
        self._count = 0

    # ------------------------------------------------------------------ public
    def generate(self, per_category: int = 4, sessions: Optional[Sequence[int]] = None,
                 categories: Sequence[str] = QUESTION_CATEGORIES) -> list[Question]:
        """Up to ``per_category`` questions of each category asked at the end of each session in
        ``sessions`` (default: the last session, and the middle one when there are 3+)."""
        if isinstance(per_category, bool) or not isinstance(per_category, int) or per_category < 0:
            raise ScenarioError(f"per_category must be a non-negative integer, got {per_category!r}")
        for c in categories:
            if c not in QUESTION_CATEGORIES:
                raise ScenarioError(f"unknown question category {c!r}; expected one of {QUESTION_CATEGORIES}")
        n = len(self.log.sessions)
        if sessions is None:
            sessions = sorted({n - 1, n // 2}) if n >= 3 else [n - 1]
        out: list[Question] = []
        for k in sessions:
            s = self.log.session(k)
            for cat in categories:
                makers = getattr(self, f"_q_{cat}")(s)
                out.extend(makers[:per_category])
        return out

    # ------------------------------------------------------------------ referring expressions
    def obj_name(self, category: str) -> tuple[str, bool]:
        names = object_names(category)
        text, pl = names[int(self.rng.integers(len(names)))]
        return text, pl

    def fixture_ref(self, fixture_id: int) -> Optional[str]:
        """"the coffee table" / "the chair in the kitchen", or None when neither is unique."""
        log = self.log
        f = log.fixture(fixture_id)
        names = fixture_names(f.category)
        name = names[int(self.rng.integers(len(names)))]
        same = [g for g in log.fixtures.values() if confusable(f.category, g.category)]
        if len(same) == 1:
            return f"the {name}"
        if sum(g.room == f.room for g in same) == 1:
            room = self.room_ref(f.room, avoid=f.category)
            if room is not None:
                return f"the {name} in {room}"
        return None

    def room_ref(self, room: str, canonical: bool = False, avoid: Optional[str] = None) -> Optional[str]:
        """"the kitchen" / "the bedroom with the desk", or None when no unique description exists.
        ``canonical`` uses the first synonym (answers), otherwise a random one (questions);
        ``avoid`` is a furniture category not to describe the room by."""
        log = self.log
        r = log.rooms[room]
        names = room_type_names(r.room_type)
        name = names[0] if canonical else names[int(self.rng.integers(len(names)))]
        same = [o for o in log.rooms.values() if o.room_type == r.room_type]
        if len(same) == 1:
            return f"the {name}"
        mine = {f.category for f in log.fixtures.values() if f.room == room}
        others = {f.category for f in log.fixtures.values() if f.room != room and log.rooms[f.room].room_type == r.room_type}
        unique = sorted(mine - others - {avoid})   # "the chair in the bedroom with the chair" says nothing
        if unique:
            return f"the {name} with the {fixture_names(unique[0])[0]}"
        return None

    def place_phrase(self, p: Placement) -> str:
        """"on the counter in the kitchen" for an answer (answers may be less strict than questions:
        the structured form carries the ids)."""
        f = self.log.fixtures[p.fixture_id]
        fname = fixture_names(f.category)[0]
        surface = ""
        if p.surface.startswith("shelf"):
            try:
                surface = f"{['bottom', 'second', 'third', 'fourth', 'fifth'][int(p.surface[5:])]} shelf of the "
            except (ValueError, IndexError):
                surface = "a shelf of the "
        return f"on the {surface}{fname} in {self.room_answer(p.room)}"

    def room_answer(self, room: str) -> str:
        """Room name for answers: its unique description, else "one of the bedrooms" (the
        structured answer has the room id)."""
        ref = self.room_ref(room, canonical=True)
        if ref is not None:
            return ref
        name = room_type_names(self.log.rooms[room].room_type)[0]
        return f"one of the {plural_noun(name)}"

    def object_ref(self, oid: int, t_ref: int, now_ns: int, allow_plain: bool = True) -> Optional[tuple[str, bool]]:
        """A phrase naming object ``oid`` unambiguously, and whether it takes a plural verb: "the
        mug" (only mug in the house at ``t_ref``), "the mug that is on the desk" (``t_ref`` is now)
        or "the mug that was on the desk yesterday morning" (only mug on that piece of furniture
        then). None when ``oid`` was not in the house at ``t_ref`` or no such phrase is unique."""
        log = self.log
        p = log.location_at(oid, t_ref)
        if p is None:
            return None
        cat = log.categories[oid]
        text, pl = self.obj_name(cat)
        peers = [q for q in log.objects_present(t_ref) if confusable(cat, q.category)]
        if allow_plain and len(peers) == 1:
            return f"the {text}", pl
        if sum(q.fixture_id == p.fixture_id for q in peers) != 1:
            return None
        fref = self.fixture_ref(p.fixture_id)
        if fref is None:
            return None
        if t_ref >= now_ns:
            return f"the {text} that {'are' if pl else 'is'} on {fref}", pl
        s = log.session_at(t_ref)
        when = session_phrase(s, now_ns, self.rng) if s is not None else stamp_phrase(t_ref, now_ns)
        return f"the {text} that {'were' if pl else 'was'} on {fref} {when}", pl

    def _ref_at_some_time(self, oid: int, times: list[int], now_ns: int,
                          allow_plain: bool) -> Optional[tuple[str, bool, int]]:
        """(phrase, plural, reference time) from the first of ``times`` that gives a unique phrase."""
        for t in times:
            found = self.object_ref(oid, t, now_ns, allow_plain)
            if found is not None:
                return found[0], found[1], t
        return None

    def _ref_not_revealing(self, oid: int, now_ns: int, past: list[int]) -> Optional[tuple[str, bool, int]]:
        # Plain name if unique now; otherwise where it was in a past session (naming where it is
        # now would give the answer away).
        found = self.object_ref(oid, now_ns, now_ns, allow_plain=True)
        if found is not None and " that " not in found[0]:
            return found[0], found[1], now_ns
        return self._ref_at_some_time(oid, past, now_ns, allow_plain=False)

    # ------------------------------------------------------------------ helpers
    def _qid(self) -> str:
        self._count += 1
        return str(uuid.uuid5(_NAMESPACE, f"{self.log.meta.get('name', 'scenario')}/{self.seed}/{self._count}"))

    def _make(self, cat: str, s: Session, question: str, answer: str, structured: dict) -> Question:
        structured = {"category": cat, "asked_at_ns": s.t_end, "session": s.index, **structured}
        episode = f"{self.log.meta.get('name', 'scenario')}/{self.log.meta.get('scene', 'scene')}"
        return Question(self._qid(), _cap(question), _cap(answer), cat, episode, s.index, s.t_end, structured)

    def _past_sessions(self, s: Session) -> list[Session]:
        return [x for x in self.log.sessions if x.index < s.index]

    def _shuffled(self, items: list) -> list:
        return [items[i] for i in self.rng.permutation(len(items))]

    def _movers_first(self, oids: list[int]) -> list[int]:
        # Objects that moved make informative questions; static ones still come, after them.
        oids = self._shuffled(list(oids))
        return sorted(oids, key=lambda o: len(self.log.placements[o]) <= 1)

    # ------------------------------------------------------------------ categories
    def _q_where_now(self, s: Session) -> list[Question]:
        now = s.t_end
        out = []
        past = [x.t_start for x in reversed(self._past_sessions(s))]
        for oid in self._movers_first([p.object_id for p in self.log.objects_present(now)]):
            p = self.log.location_at(oid, now)
            found = self._ref_not_revealing(p.object_id, now, past)
            if found is None:
                continue
            ref, pl, t_ref = found
            be = "are" if pl else "is"
            if " that " in ref:
                # A reference ending in a time reads badly before "now": put it up front.
                it = "are they" if pl else "is it"
                q = str(self.rng.choice([f"{ref}: where {it} now?", f"where can I find {ref}?",
                                         f"where did {ref} end up?"]))
            else:
                q = str(self.rng.choice([f"where {be} {ref} now?", f"where can I find {ref}?",
                                         f"where did I leave {ref}?", f"where {be} {ref} at the moment?"]))
            out.append(self._make("where_now", s, q, self.place_phrase(p) + ".",
                                  {"targets": {"object_id": p.object_id, "category": p.category, "ref_time_ns": t_ref},
                                   "time_ns": now, "answer": _where(p)}))
        return out

    def _q_where_at_time(self, s: Session) -> list[Question]:
        now = s.t_end
        out = []
        log = self.log
        past = self._past_sessions(s)
        if not past:
            return out
        change_times = np.array(log.change_times(), dtype=np.int64)
        for oid in self._movers_first(log.object_ids):
            u = self.rng.random()
            if u < 0.25:
                # "N hours ago": only when no object changes within 30 min of that moment.
                h = int(self.rng.integers(1, 13))
                t = now - h * HOUR_NS
                if t < log.start_ns or (len(change_times) and np.min(np.abs(change_times - t)) < HOUR_NS // 2):
                    continue
                when = _ago_words(h, "hour")
                sess_idx = None
            elif u < 0.45:
                # A clock time inside a past session ("yesterday at 07:52"), on a whole minute.
                ses = past[int(self.rng.integers(len(past)))]
                t = ses.t_start + int(self.rng.integers(0, (ses.t_end - ses.t_start) // (60 * NS) + 1)) * 60 * NS
                t = min(ses.t_end, t - t % (60 * NS) + (60 * NS if t % (60 * NS) else 0))
                when = stamp_phrase(t, now)
                sess_idx = ses.index
            else:
                ses = past[int(self.rng.integers(len(past)))]
                t = (ses.t_start + ses.t_end) // 2
                when = session_phrase(ses, now, self.rng)
                sess_idx = ses.index
            p = log.location_at(oid, t)
            if p is None:
                continue
            # Plain name if unique then; else where it is now. Naming it by its place at ``t`` would
            # give the answer away.
            found = self.object_ref(oid, t, now, allow_plain=True)
            if found is not None and " that " in found[0]:
                found = None
            found = (found[0], found[1], t) if found else self._ref_at_some_time(oid, [now], now, allow_plain=True)
            if found is None:
                continue
            ref, pl, t_ref = found
            be = "were" if pl else "was"
            if " that " in ref:
                q = f"{when}, where {be} {ref}?"   # time first: "the mug that is on X <time>" misparses
            else:
                q = str(self.rng.choice([f"where {be} {ref} {when}?", f"{when}, where {be} {ref}?",
                                         f"where had I put {ref} {when}?"]))
            out.append(self._make("where_at_time", s, q, self.place_phrase(p) + ".",
                                  {"targets": {"object_id": oid, "category": p.category, "ref_time_ns": t_ref},
                                   "time_ns": t, "time_session": sess_idx, "answer": _where(p)}))
        return out

    def _q_last_seen(self, s: Session) -> list[Question]:
        now = s.t_end
        log = self.log
        out = []
        for oid in self._movers_first(log.object_ids):
            seen = log.last_seen(oid, now)
            if seen is None:
                continue
            times = ([now] if log.location_at(oid, now) is not None else []) + [seen]
            found = self._ref_at_some_time(oid, times, now, allow_plain=True)
            if found is None:
                continue
            ref, _, t_ref = found
            q = str(self.rng.choice([f"when did I last see {ref}?", f"when was {ref} last seen?",
                                     f"what is the last time I saw {ref}?"]))
            ses = log.session_at(seen)
            out.append(self._make("last_seen", s, q, f"{stamp_phrase(seen, now)}.",
                                  {"targets": {"object_id": oid, "category": log.categories[oid], "ref_time_ns": t_ref},
                                   "time_ns": now,
                                   "answer": {"stamp_ns": seen, "session": None if ses is None else ses.index}}))
        return out

    def _contents_answer(self, items: list[Placement]) -> str:
        if not items:
            return "nothing."
        counts = Counter(p.category for p in items)
        parts = []
        for cat, n in sorted(counts.items()):
            one, many = _UNITS.get(cat, (object_names(cat)[0][0], plural(cat)))
            if n == 1:
                parts.append(f"an {one}" if one[0] in "aeiou" else f"a {one}")
            else:
                word = _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)
                parts.append(f"{word} {many}")
        return _join(parts) + "."

    def _q_receptacle_contents(self, s: Session) -> list[Question]:
        now = s.t_end
        log = self.log
        out = []
        past = self._past_sessions(s)
        with_surfaces = sorted({r.fixture_id for r in log.receptacles.values()})
        for fid in self._shuffled(with_surfaces):
            ref = self.fixture_ref(fid)
            if ref is None:
                continue
            if past and self.rng.random() < 0.5:
                ses = past[int(self.rng.integers(len(past)))]
                t, when, be = (ses.t_start + ses.t_end) // 2, session_phrase(ses, now, self.rng), "was"
                sess_idx = ses.index
            else:
                t, when, be, sess_idx = now, str(self.rng.choice(["now", "right now", "at the moment"])), "is", None
            items = log.objects_on(fid, t)
            q = str(self.rng.choice([f"what {be} on {ref} {when}?", f"which objects {'were' if be == 'was' else 'are'} "
                                     f"on {ref} {when}?", f"{when}, what {be} lying on {ref}?"]))
            out.append(self._make("receptacle_contents", s, q, self._contents_answer(items),
                                  {"targets": {"fixture_id": fid, "fixture_category": log.fixtures[fid].category},
                                   "time_ns": t, "time_session": sess_idx,
                                   "answer": {"object_ids": sorted(p.object_id for p in items),
                                              "categories": dict(sorted(Counter(p.category for p in items).items()))}}))
        return out

    def _change_text(self, c) -> str:
        name, pl = object_names(c.category)[0]
        if c.kind == "appeared":
            return f"a {name} appeared {self.place_phrase(c.after)}" if not pl else f"{name} appeared {self.place_phrase(c.after)}"
        if c.kind == "disappeared":
            return f"the {name} {'were' if pl else 'was'} taken away from {self.place_phrase(c.before)[3:]}"
        return (f"the {name} {'were' if pl else 'was'} moved from {self.place_phrase(c.before)[3:]} "
                f"to {self.place_phrase(c.after)[3:]}")

    def _q_changes(self, s: Session) -> list[Question]:
        now = s.t_end
        log = self.log
        past = self._past_sessions(s)
        out = []
        if not past:
            return out
        scopes = [("room", r) for r in sorted(log.rooms)] + [("fixture", f) for f in sorted({r.fixture_id for r in log.receptacles.values()})]
        for kind, key in self._shuffled(scopes):
            ses = past[int(self.rng.integers(len(past)))]
            t1 = (ses.t_start + ses.t_end) // 2
            when = since_phrase(session_phrase(ses, now, self.rng))
            # Sometimes between two past sessions rather than "since then".
            later = [x for x in past if x.index > ses.index]
            ses2 = later[int(self.rng.integers(len(later)))] if later and self.rng.random() < 0.35 else None
            t2 = now if ses2 is None else (ses2.t_start + ses2.t_end) // 2
            when2 = None if ses2 is None else since_phrase(session_phrase(ses2, now, self.rng))
            if kind == "room":
                ref = self.room_ref(key)
                changes = log.changes_between(t1, t2, room=key) if ref else []
                where = f"in {ref}"
            else:
                ref = self.fixture_ref(key)
                changes = log.changes_between(t1, t2, receptacle=key) if ref else []
                where = f"on {ref}"
            if ref is None or (not changes and self.rng.random() > 0.3):
                continue
            if ses2 is None:
                q = str(self.rng.choice([f"what changed {where} since {when}?", f"what is different {where} compared to {when}?",
                                         f"has anything moved {where} since {when}?"]))
            else:
                q = str(self.rng.choice([f"what changed {where} between {when} and {when2}?",
                                         f"what was different {where} {session_phrase(ses2, now, self.rng)} compared to {when}?"]))
            ans = _join([self._change_text(c) for c in changes]) + "." if changes else "nothing changed."
            out.append(self._make("changes", s, q, ans, {
                "targets": {"room": key} if kind == "room" else {"fixture_id": key},
                "t1_ns": t1, "t2_ns": t2, "t1_session": ses.index, "t2_session": None if ses2 is None else ses2.index,
                "answer": {"changes": [{"object_id": c.object_id, "category": c.category, "kind": c.kind,
                                        "from_receptacle_id": None if c.before is None else c.before.receptacle_id,
                                        "to_receptacle_id": None if c.after is None else c.after.receptacle_id,
                                        "from_room": None if c.before is None else c.before.room,
                                        "to_room": None if c.after is None else c.after.room} for c in changes]}}))
        return out

    def _q_count_in_room(self, s: Session) -> list[Question]:
        now = s.t_end
        log = self.log
        out = []
        present_cats = set(log.categories.values())
        # "How many bowls" is unclear when there are fruit bowls too: skip such categories.
        cats = sorted(c for c in present_cats if plural(c) and not any(confusable(c, o) for o in present_cats - {c}))
        pairs = [(c, r) for c in cats for r in sorted(log.rooms)]
        for cat, room in self._shuffled(pairs):
            ref = self.room_ref(room)
            if ref is None:
                continue
            n = len(log.objects_in_room(room, now, cat))
            if n == 0 and self.rng.random() > 0.25:
                continue  # keep some zero counts, but mostly ask about what is there
            noun = plural(cat)
            q = str(self.rng.choice([f"how many {noun} are in {ref}?", f"how many {noun} are there in {ref} right now?",
                                     f"count the {noun} in {ref}."]))
            out.append(self._make("count_in_room", s, q, f"{n}.", {
                "targets": {"category": cat, "room": room}, "time_ns": now,
                "answer": {"count": n, "object_ids": sorted(p.object_id for p in log.objects_in_room(room, now, cat))}}))
        return out

    def _q_nearest(self, s: Session) -> list[Question]:
        now = s.t_end
        log = self.log
        out = []
        present = log.objects_present(now)
        by_cat: dict[str, list[Placement]] = {}
        for p in present:
            by_cat.setdefault(p.category, []).append(p)
        multi = {c: ps for c, ps in by_cat.items() if len(ps) >= 2 and not any(confusable(c, o) for o in set(by_cat) - {c})}
        anchors = [f for f in log.fixtures.values()]
        for cat, ps in self._shuffled(sorted(multi.items())):
            for f in self._shuffled(anchors):
                d = sorted((_xy_dist(p.position, f.position), p.object_id) for p in ps)
                if d[1][0] - d[0][0] < self.nearest_margin:
                    continue
                ref = self.fixture_ref(f.fixture_id)
                if ref is None:
                    continue
                best = next(p for p in ps if p.object_id == d[0][1])
                text, pl = self.obj_name(cat)
                q = str(self.rng.choice([f"which {text} is nearest to {ref}?", f"which {text} is closest to {ref}?",
                                         f"of all the {plural(cat) or text} in the house, which one is nearest to {ref}?"]))
                out.append(self._make("nearest", s, q, f"the {object_names(cat)[0][0]} {self.place_phrase(best)}.", {
                    "targets": {"category": cat, "anchor_fixture_id": f.fixture_id}, "time_ns": now,
                    "answer": {"object_id": best.object_id, "distance_m": round(d[0][0], 3),
                               "runner_up_distance_m": round(d[1][0], 3), **{k: v for k, v in _where(best).items() if k != "object_id"}}}))
                break
        return out

    def _q_which_room(self, s: Session) -> list[Question]:
        now = s.t_end
        log = self.log
        out = []
        past = [x.t_start for x in reversed(self._past_sessions(s))]
        for oid in self._movers_first([p.object_id for p in log.objects_present(now)]):
            p = log.location_at(oid, now)
            found = self._ref_not_revealing(p.object_id, now, past)
            if found is None:
                continue
            room = self.room_ref(p.room, canonical=True)
            if room is None:
                continue  # "a bedroom" would not be an answer
            ref, pl, t_ref = found
            be = "are" if pl else "is"
            if " that " in ref:
                it = "are they" if pl else "is it"
                q = str(self.rng.choice([f"{ref}: which room {it} in now?", f"in which room can I find {ref}?"]))
            else:
                q = str(self.rng.choice([f"which room {be} {ref} in?", f"in which room can I find {ref}?",
                                         f"what room {be} {ref} in right now?"]))
            out.append(self._make("which_room", s, q, f"{room[4:] if room.startswith('the ') else room}.", {
                "targets": {"object_id": p.object_id, "category": p.category, "ref_time_ns": t_ref},
                "time_ns": now, "answer": {"room": p.room, "room_type": log.rooms[p.room].room_type}}))
        return out
