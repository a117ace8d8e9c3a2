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

import json
import math
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from sim.question_phrasing import Phrasing
from sim.question_words import (COUNT_UNITS, HOUR_NS, NS, NUMBER_WORDS, ago_words, capitalize, confusable,
                                fixture_names, join_words, object_names, plural, session_phrase, since_phrase,
                                stamp_phrase)
from sim.scenario_log import GroundTruthLog, Placement, ScenarioError, Session, load_json_text_or_file

#: Re-exported: the phrasing helpers were part of this module before the split.
__all__ = ["QUESTION_CATEGORIES", "CATEGORY_TITLES", "Question", "QuestionGenerator", "questions_to_json",
           "questions_from_json", "confusable", "fixture_names", "plural", "session_phrase", "since_phrase",
           "stamp_phrase"]

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


class QuestionGenerator(Phrasing):
    """Generates questions from a :class:`GroundTruthLog`, seeded.

    ``nearest_margin``: a "nearest" question is asked only when the runner-up is at least this
    many metres farther (horizontal distance), so the answer is not a matter of centimetres.
    """

    def __init__(self, log: GroundTruthLog, seed: int = 0, nearest_margin: float = 0.5) -> None:
        if not isinstance(log, GroundTruthLog):
            raise ScenarioError(f"QuestionGenerator needs a GroundTruthLog, got {type(log).__name__}")
        if not log.sessions:
            raise ScenarioError("the log has no sessions to ask about")
        super().__init__(log, np.random.default_rng(seed))
        self.seed = int(seed)
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

    # ------------------------------------------------------------------ helpers
    def _qid(self) -> str:
        self._count += 1
        return str(uuid.uuid5(_NAMESPACE, f"{self.log.meta.get('name', 'scenario')}/{self.seed}/{self._count}"))

    def _make(self, cat: str, s: Session, question: str, answer: str, structured: dict) -> Question:
        structured = {"category": cat, "asked_at_ns": s.t_end, "session": s.index, **structured}
        episode = f"{self.log.meta.get('name', 'scenario')}/{self.log.meta.get('scene', 'scene')}"
        return Question(self._qid(), capitalize(question), capitalize(answer), cat, episode, s.index, s.t_end, structured)

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
                when = ago_words(h, "hour")
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
            one, many = COUNT_UNITS.get(cat, (object_names(cat)[0][0], plural(cat)))
            if n == 1:
                parts.append(f"an {one}" if one[0] in "aeiou" else f"a {one}")
            else:
                word = NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)
                parts.append(f"{word} {many}")
        return join_words(parts) + "."

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
            ans = join_words([self._change_text(c) for c in changes]) + "." if changes else "nothing changed."
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
