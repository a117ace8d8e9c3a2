"""Referring expressions for the scenario questions: how to name an object, a piece of furniture or
a room so that exactly one thing in the house fits ("the mug that was on the desk yesterday
morning", "the bedroom with the desk"), and how to phrase a place in an answer.

:class:`Phrasing` holds the ground-truth log and the random generator the synonyms are drawn from;
the question generator (:mod:`sim.questions`), which chooses what to ask, builds on it."""
from __future__ import annotations

from typing import Optional

import numpy as np

from sim.question_words import (confusable, fixture_names, object_names, plural_noun, room_type_names,
                                session_phrase, stamp_phrase)
from sim.scenario_log import GroundTruthLog, Placement


class Phrasing:
    """Unambiguous names for the things of ``log``; synonyms are drawn from ``rng``."""

    def __init__(self, log: GroundTruthLog, rng: np.random.Generator) -> None:
        self.log = log
        self.rng = rng

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
