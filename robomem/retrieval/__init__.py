"""Retrieval: typed spatial-episodic queries over a robomem store, answered with evidence and a
calibrated belief, and natural-language questions parsed into those queries (offline).

    import robomem
    from robomem.retrieval import WhereIs, Target, parse, answer, ask

    stack = robomem.open("house.db", readonly=True)
    a = ask(stack, "where did I leave my keys?")          # or stack.ask(...)
    a.kind, a.text, a.confidence, a.evidence[0].last_seen_ns
    answer(stack, WhereIs(Target(label="mug", color="red")))
    parse("what was on the kitchen table yesterday morning?", now_ns=...)   # no store needed
    query_from_dict({"type": "where_is", "target": {"label": "keys"}})      # the JSON form

One JSON schema for every interface: :func:`query_to_dict` / :func:`query_from_dict` for queries
(:func:`query_json_schema` gives the JSON Schema), ``Answer.to_dict`` / ``Answer.from_dict`` for
answers. See docs/retrieval.md."""
from __future__ import annotations

from typing import Optional, Union

from robomem.retrieval.answer import ANSWER_KINDS, Answer, Evidence
from robomem.retrieval.engine import answer
from robomem.retrieval.errors import InvalidQueryError, InvalidQuestionError
from robomem.retrieval.nl import parse
from robomem.retrieval.queries import (
    QUERY_TYPES, Changes, Contents, Count, Exists, History, LastVisit, Near, Query, Relation, SeenBetween, Target,
    Unsupported, WhenSeen, WhereIs, WhereWasI, WhichRoom, query_from_dict, query_json_schema, query_to_dict)


def ask(stack, text: Union[str, bytes], now_ns: Optional[int] = None) -> Answer:
    """Answer a question in words. Time phrases are relative to ``now_ns`` (default: the store's
    own clock, its newest record); "day 1" is the day of the store's first session."""
    from robomem.retrieval.store_view import view_of
    v = view_of(stack)
    clock = v.now_ns() if now_ns is None else now_ns
    sessions = v.sessions()
    start = sessions[0]["t_start_ns"] if sessions else None
    q = parse(text, clock, start_ns=start)
    return answer(stack, q, now_ns)


__all__ = ["ask", "answer", "parse", "Answer", "Evidence", "ANSWER_KINDS", "Query", "QUERY_TYPES", "Target",
           "WhereIs", "WhenSeen", "Contents", "Changes", "Near", "Count", "History", "Relation", "Exists", "WhichRoom",
           "WhereWasI", "LastVisit", "SeenBetween", "Unsupported", "query_to_dict", "query_from_dict",
           "query_json_schema", "InvalidQueryError", "InvalidQuestionError"]
