"""Browsing the store: the listings behind ``robomem objects / timeline / events / where-was-i``,
the matching HTTP endpoints and MCP tools. Every function takes a (read-only) :class:`MemoryStack`
and validated arguments and returns plain JSON values (dicts, lists, ints, floats, strings), so
all interfaces print or send exactly the same records.

Record shapes (every stamp is integer ns of data time; positions are ``[x, y, z]`` in metres):

* placement: ``object_id, label, position, room_id, receptacle_id, t_start_ns, t_end_ns,
  n_observations, mean_confidence, current, session_id``
* event: ``event_id, kind, object_id, label, stamp_ns, position, previous_position, room_id,
  receptacle_id, previous_receptacle_id, session_id``
* robot position: ``stamp_ns, position, room_id``
* room visit: ``room_id, t_enter_ns, t_exit_ns, last_pose_ns, duration_ns``"""
from __future__ import annotations

from typing import Optional

import numpy as np

from robomem.memory.records import Placement, StoredEvent
from robomem.memory.robot_queries import RobotPosition, RoomVisit
from robomem.service.params import (
    MAX_STAMP_NS,
    check_id,
    check_kinds,
    check_limit,
    check_range,
    check_stamp,
    check_text,
)

__all__ = ["objects", "where", "timeline", "events", "where_was_i", "room_visits", "placement_json", "event_json",
           "store_info"]


def _xyz(v) -> Optional[list]:
    return None if v is None else [round(float(x), 6) for x in np.asarray(v, dtype=np.float64).reshape(3)]


def placement_json(p: Placement) -> dict:
    return {"object_id": int(p.object_id), "label": p.label, "position": _xyz(p.position), "room_id": p.room_id,
            "receptacle_id": p.receptacle_id, "t_start_ns": int(p.t_start_ns), "t_end_ns": int(p.t_end_ns),
            "n_observations": int(p.n_observations), "mean_confidence": round(float(p.mean_confidence), 6),
            "current": bool(p.current), "session_id": p.session_id}


def event_json(e: StoredEvent, label: Optional[str] = None) -> dict:
    return {"event_id": int(e.event_id), "kind": e.kind.value, "object_id": int(e.object_id), "label": label,
            "stamp_ns": int(e.stamp_ns), "position": _xyz(e.position), "previous_position": _xyz(e.previous_position),
            "room_id": e.room_id, "receptacle_id": e.receptacle_id,
            "previous_receptacle_id": e.previous_receptacle_id, "session_id": e.session_id}


def position_json(p: RobotPosition) -> dict:
    return {"stamp_ns": int(p.stamp_ns), "position": _xyz(p.position), "room_id": p.room_id}


def visit_json(v: RoomVisit) -> dict:
    return {"room_id": int(v.room_id), "t_enter_ns": int(v.t_enter_ns), "t_exit_ns": v.t_exit_ns,
            "last_pose_ns": int(v.last_pose_ns), "duration_ns": int(v.duration_ns)}


def _labels(stack, object_ids) -> dict:
    out = {}
    for oid in set(object_ids):
        rec = stack.long_term.object(oid)
        out[oid] = rec.label if rec is not None else None
    return out


def objects(stack, label: Optional[str] = None, at_ns: Optional[int] = None, limit: int = 1000) -> list[dict]:
    """Every object with its last known placement (as of ``at_ns``, default: now), optionally only
    those with ``label``; ordered by object id, at most ``limit``."""
    label = check_text(label, "label", optional=True)
    at = check_stamp(at_ns, "at_ns", optional=True)
    limit = check_limit(limit)
    rows = stack.placements_at(MAX_STAMP_NS if at is None else at)
    if label is not None:
        rows = [p for p in rows if p.label == label]
    return [placement_json(p) for p in rows[:limit]]


def where(stack, label: str, limit: int = 100) -> list[dict]:
    """Where every object labelled ``label`` is (last known), most recently seen first, with the
    keyframes that show it. The stack's ``where_is`` as JSON."""
    label = check_text(label, "label")
    limit = check_limit(limit)
    out = []
    for a in stack.where_is(label)[:limit]:
        out.append({"object_id": int(a.object_id), "label": a.label, "position": _xyz(a.position),
                    "room_id": a.room_id, "receptacle_id": a.receptacle_id, "since_ns": int(a.since_ns),
                    "last_seen_ns": int(a.last_seen_ns), "current": bool(a.current), "source": a.source,
                    "keyframe_ids": [int(k) for k in a.keyframe_ids]})
    return out


def timeline(stack, object_id: Optional[int] = None, label: Optional[str] = None, t0_ns: Optional[int] = None,
             t1_ns: Optional[int] = None, limit: int = 1000) -> list[dict]:
    """An object's history (or that of every object labelled ``label``): its placements and events
    in time order, each entry ``{"stamp_ns", "entry": "placement"|"event", ...record}``, restricted
    to entries overlapping ``[t0_ns, t1_ns]``."""
    oid = check_id(object_id, "object_id", optional=True)
    label = check_text(label, "label", optional=True)
    if (oid is None) == (label is None):
        from robomem.errors import InvalidInputError
        raise InvalidInputError("timeline needs exactly one of object_id or label")
    t0, t1 = check_range(t0_ns, t1_ns)
    limit = check_limit(limit)
    lt = stack.long_term
    ids = [oid] if oid is not None else [r.object_id for r in lt.objects(label)]
    names = _labels(stack, ids)
    lo, hi = (0 if t0 is None else t0), (MAX_STAMP_NS if t1 is None else t1)
    entries = []
    for i in ids:
        for p in lt.history(i):
            end = MAX_STAMP_NS if p.current else p.t_end_ns
            if p.t_start_ns <= hi and end >= lo:
                entries.append((p.t_start_ns, 0, {"stamp_ns": int(p.t_start_ns), "entry": "placement",
                                                  **placement_json(p)}))
        for e in stack.events(object_id=i, t0_ns=t0, t1_ns=t1):
            entries.append((e.stamp_ns, 1, {"stamp_ns": int(e.stamp_ns), "entry": "event",
                                            **event_json(e, names.get(i))}))
    entries.sort(key=lambda x: (x[0], x[1], x[2]["object_id"]))
    return [e[2] for e in entries[:limit]]


def events(stack, object_id: Optional[int] = None, t0_ns: Optional[int] = None, t1_ns: Optional[int] = None,
           kinds=None, limit: int = 1000) -> list[dict]:
    """Stored appeared / moved / disappeared events, oldest first."""
    oid = check_id(object_id, "object_id", optional=True)
    t0, t1 = check_range(t0_ns, t1_ns)
    ks = check_kinds(kinds)
    limit = check_limit(limit)
    rows = stack.events(object_id=oid, t0_ns=t0, t1_ns=t1, kinds=ks)[:limit]
    names = _labels(stack, [e.object_id for e in rows])
    return [event_json(e, names.get(e.object_id)) for e in rows]


def where_was_i(stack, at_ns: int) -> Optional[dict]:
    """Where the robot was at ``at_ns`` (None outside every stored track)."""
    p = stack.where_was_i(check_stamp(at_ns, "at_ns"))
    return None if p is None else position_json(p)


def room_visits(stack, room_id: int, t0_ns: Optional[int] = None, t1_ns: Optional[int] = None,
                limit: int = 1000) -> list[dict]:
    """The robot's stays in room ``room_id`` (enter .. exit), oldest first."""
    rid = check_id(room_id, "room_id")
    t0, t1 = check_range(t0_ns, t1_ns)
    limit = check_limit(limit)
    return [visit_json(v) for v in stack.room_visits(rid, t0, t1)[:limit]]


def store_info(stack) -> dict:
    """Counts and the newest stamp of the store (what ``GET /v1/info`` returns)."""
    import robomem
    lt = stack.long_term
    stats = lt.stats()
    return {"robomem_version": robomem.__version__, "schema_version": stats["schema_version"],
            "objects": stats["objects"], "placements": stats["placements"], "events": stats["events"],
            "sessions": stats["sessions"], "observations": stats["observations"],
            "latest_stamp_ns": lt.latest_stamp_ns, "readonly": bool(stack.readonly)}
