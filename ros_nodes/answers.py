"""The query node's one switch point: a question (words) or a structured query (JSON) in, an answer
dict out, in the schema ``robomem.retrieval``'s ``Answer.to_dict()`` uses: ``kind``, ``value``,
``text``, ``confidence``, ``evidence``, ``query``.

Questions in words and structured queries in ``robomem.retrieval``'s schema (``{"type": ...}``) are
answered by :meth:`robomem.MemoryStack.ask` / :meth:`~robomem.MemoryStack.query`. The live
``{"kind": "where_is", "label": ...}`` form is answered here from :meth:`robomem.MemoryStack.where_is`
with the room type from the node's current room segmentation."""
from __future__ import annotations

import json
from typing import Any, Optional

import numpy as np

from robomem.errors import InvalidInputError


class QueryError(InvalidInputError):
    """The query is malformed or of a kind this memory cannot answer."""


def answer_query(stack, question: str = "", query: Optional[dict] = None) -> dict:
    """Answer ``question`` or ``query`` (exactly one) from ``stack``; returns the answer dict."""
    if bool(question) == bool(query):
        raise QueryError("give exactly one of question (words) or query_json (structured)")
    if question:
        return stack.ask(question).to_dict()
    if "type" in query:   # robomem.retrieval's query schema (the one every interface shares)
        return stack.query(query).to_dict()
    # {"kind": "where_is", "label": ...}: the live where-is of this node, with the room type from the
    # current room segmentation (rooms found after a sighting included), answered in the same shape.
    if query.get("kind") != "where_is":
        raise QueryError(f"unsupported query {query!r}: give robomem.retrieval's JSON ({{\"type\": ...}}) "
                         "or {\"kind\": \"where_is\", \"label\": ...}")
    label = query.get("label")
    if not isinstance(label, str) or not label:
        raise QueryError("where_is needs a non-empty string 'label'")
    return _where_is(stack, label, query)


def parse_query_json(text: str) -> Optional[dict]:
    """The structured query of a ``Query`` request (None when empty)."""
    if not text.strip():
        return None
    try:
        q = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QueryError(f"query_json is not valid JSON: {exc}") from None
    if not isinstance(q, dict):
        raise QueryError("query_json must be a JSON object")
    return q


def _rooms(stack) -> tuple[dict, Any]:
    g = getattr(stack, "scene_graph", None)
    if g is None:
        return {}, None
    return {int(a["id"]): a for a in g.rooms()}, getattr(g, "room_map", None)


def _where_is(stack, label: str, query: dict) -> dict:
    found = stack.where_is(label)
    rooms, room_map = _rooms(stack)
    evidence = []
    for a in found:
        pos = np.asarray(a.position, dtype=np.float64)
        room = a.room_id
        if room_map is not None:   # the current room segmentation (rooms may be found after the sighting)
            r = int(room_map.room_at(pos[None, :2])[0])
            room = r if r > 0 else room
        info = rooms.get(int(room)) if room is not None else None
        evidence.append({"type": "placement" if a.source == "long-term" else "sighting", "object_id": int(a.object_id),
                         "label": a.label, "position": [float(v) for v in pos],
                         "room_id": None if room is None else int(room),
                         "room_type": None if info is None else info.get("room_type"),
                         "since_ns": int(a.since_ns), "last_seen_ns": int(a.last_seen_ns), "current": bool(a.current),
                         "keyframe_ids": [int(k) for k in a.keyframe_ids], "source": a.source})
    if not evidence:
        return {"kind": "where_is", "query": query, "value": None, "confidence": 0.0, "evidence": [],
                "text": f"I have not seen a {label.replace('_', ' ')}."}
    best = evidence[0]
    where = f" in the {best['room_type'].replace('_', ' ')}" if best["room_type"] else ""
    x, y, z = best["position"]
    text = (f"The {label.replace('_', ' ')} is{where} at ({x:.2f}, {y:.2f}, {z:.2f})" if best["current"] else
            f"The {label.replace('_', ' ')} was last seen{where} at ({x:.2f}, {y:.2f}, {z:.2f})")
    if len(evidence) > 1:
        text += f"; {len(evidence) - 1} more {label.replace('_', ' ')}(s) remembered"
    conf = (0.9 if best["current"] else 0.5) / (1.0 + 0.25 * (len(evidence) - 1))
    value = {k: best[k] for k in ("object_id", "label", "position", "room_id", "room_type", "last_seen_ns", "current")}
    return {"kind": "where_is", "query": query, "value": value, "confidence": round(conf, 3),
            "evidence": evidence, "text": text + "."}
