"""The answering engine: one function per query type over the long-term store, the short-term
memory and the stored scene-graph snapshots. Read-only. ``answer(stack, q)`` dispatches."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from robomem.memory.records import Placement
from robomem.retrieval import labels as _labels
from robomem.retrieval.answer import Answer, Evidence, dont_know
from robomem.retrieval.errors import InvalidQueryError
from robomem.retrieval.render import NS, fmt_time
from robomem.retrieval.render import obj_dict as _obj_dict
from robomem.retrieval.queries import (
    QUERY_TYPES, Changes, Contents, Count, Exists, History, LastVisit, Near, Query, Relation, SeenBetween, Target,
    Unsupported, WhenSeen, WhereIs, WhereWasI, WhichRoom)
from robomem.retrieval.store_view import StoreView, view_of

MAX_EVIDENCE_KEYFRAMES = 3   # keyframe look-ups for the top-ranked objects only
#: Room/receptacle queries at time t look at placements seen in [t - LOOKBACK_NS, t] (R*Tree): an
#: object not seen for longer than this before t is not reported there.
LOOKBACK_NS = 7 * 86_400 * NS


class _Ctx:
    def __init__(self, stack, now_ns: Optional[int]) -> None:
        self.stack = stack
        self.v: StoreView = view_of(stack)
        clock = self.v.now_ns()
        self.now = int(now_ns) if now_ns is not None else clock
        self.clock = clock
        self.relaxed: Optional[str] = None     # set when a description had to be dropped
        self._names: dict = {}                 # object id -> label as said (receptacles named in answers)
        self._seen: dict = {}                  # object id -> (label, first, last seen, last missed by now)

    # ------------------------------------------------------------------ naming
    def label_of(self, oid: Optional[int]) -> Optional[str]:
        if oid is None:
            return None
        if oid not in self._names:
            info = self.v.objects_info([oid], attributes=False)
            self._names[oid] = info[oid][0].replace("_", " ") if oid in info else None
        return self._names[oid]

    def place_text(self, p: Placement) -> str:
        parts = []
        rec = self.label_of(p.receptacle_id)
        if rec:
            parts.append(f"on the {rec}")
        room = self.v.room_name(p.room_id)
        if room:
            parts.append(f"in the {room}")
        if not parts:
            x, y, z = (float(c) for c in p.position)
            parts.append(f"at ({x:.2f}, {y:.2f}, {z:.2f})")
        return " ".join(parts)

    def time_of(self, at_ns: Optional[int], session: Optional[int]) -> Optional[int]:
        """The query's moment: ``at_ns``, the end of stored session ``session``, or now."""
        if session is not None:
            s = next((s for s in self.v.sessions() if s["session_id"] == session), None)
            if s is None:
                raise InvalidQueryError(f"session {session} is not in this store")
            return s["t_end_ns"] if s["t_end_ns"] is not None else self.now
        return self.now if at_ns is None else at_ns

    # ------------------------------------------------------------------ targets
    def labels_for(self, phrase: str) -> tuple[list[str], str]:
        return _labels.resolve(phrase, self.v.labels())

    def candidates(self, target: Target, t_ns: Optional[int]) -> tuple[list[Placement], str]:
        """Placements (at ``t_ns``, or last known when None/now) of the objects ``target`` names,
        after attribute filters; and a reason when empty."""
        if target.object_id is not None:
            ps = self.v.at(None, self.now if t_ns is None else t_ns, [target.object_id])
            if not ps:
                return [], f"object {target.object_id} was never observed"
            labs = [ps[0].label]
        else:
            labs, how = self.labels_for(target.label)
            if not labs:
                return [], f"I have never seen anything called {target.label!r}"
            ps = []
            for lab in labs:
                ps += self.v.current(lab, self._seen, self.now) if t_ns is None or t_ns >= self.now else \
                    self.v.at(lab, t_ns)
            if t_ns is not None and t_ns < self.now:
                ps += self._first_in_session(labs, t_ns, {p.object_id for p in ps})
        if t_ns is None or t_ns >= self.now:
            ps = self._with_short_term(ps, labs)
        if not ps:
            return [], f"no {target.label or target.object_id} had been seen by then"
        kept, why = self.filter(ps, target, t_ns)
        if not kept and (target.on is not None or target.room is not None) and target.color is None:
            # The description (where it is / was) matches nothing I saw: answer for every object with
            # the label rather than nothing, and say so (confidence is halved by the caller's evidence).
            self.relaxed = why
            return ps, ""
        return kept, why

    def _first_in_session(self, labs: list[str], t_ns: int, have: set) -> list[Placement]:
        """Objects first seen later in the same stored session as ``t_ns``: things do not move
        while the robot is looking around, so their first placement answers for ``t_ns`` too."""
        ses = next((s for s in self.v.sessions() if s["t_start_ns"] <= t_ns <= (s["t_end_ns"] or self.now)), None)
        if ses is None:
            return []
        end = ses["t_end_ns"] or self.now
        out = []
        for lab in labs:
            ids = [p.object_id for p in self.v.at(lab, end) if p.object_id not in have]
            if not ids:
                continue
            firsts = self.v.read("SELECT object_id, min(t_start) FROM placements WHERE object_id IN (%s) "
                                 "GROUP BY object_id" % ",".join("?" * len(ids)), ids)
            for oid, t_first in firsts:
                if t_ns < t_first <= end:
                    out += self.v.at(None, t_first, [oid])
        return out

    def _with_short_term(self, ps: list[Placement], labs: list[str]) -> list[Placement]:
        by_id = {p.object_id: p for p in ps}
        for lab in labs:
            for o in self.stack.short_term.last_of_label(lab):
                p = by_id.get(o.object_id)
                if p is None or o.stamp_ns > p.t_end_ns:
                    moved = p is None or float(np.linalg.norm(np.asarray(o.position) - p.position)) > 0.25
                    by_id[o.object_id] = Placement(-1, o.object_id, o.label, o.stamp_ns if moved else p.t_start_ns,
                                                   o.stamp_ns, np.asarray(o.position, dtype=np.float64), o.room_id,
                                                   o.receptacle_id, 1, float(o.confidence), True, None)
        return list(by_id.values())

    def filter(self, ps: list[Placement], target: Target, t_ns: Optional[int] = None) -> tuple[list[Placement], str]:
        """Keep the placements matching the target's attributes. Room and receptacle describe the
        object at ``target.at_ns`` (None: now), which may differ from the query's time ``t_ns``."""
        what = target.label or f"object {target.object_id}"
        ref = {p.object_id: p for p in ps}
        desc_now = target.at_ns is None
        query_now = t_ns is None or t_ns >= self.now
        if (target.room is not None or target.on is not None) and desc_now != query_now or (
                not desc_now and target.at_ns != t_ns):
            when = self.now if desc_now else target.at_ns
            ref = {p.object_id: p for p in self.v.at(None, when, list(ref))}
            if desc_now:
                ref = {o: p for o, p in ref.items() if p.current}
        if target.room is not None:
            rooms = self.v.resolve_room(target.room)
            if not rooms:
                return [], (f"I don't know a room called {target.room!r}" if self.v.rooms()
                            else "no rooms are known in this map")
            ps = [p for p in ps if ref.get(p.object_id) is not None and ref[p.object_id].room_id in rooms]
            if not ps:
                return [], f"no {what} in the {target.room}"
        if target.on is not None:
            rec_ps, _ = self.candidates(target.on, None)
            rec_ids = {p.object_id for p in rec_ps}
            ps = [p for p in ps if ref.get(p.object_id) is not None and ref[p.object_id].receptacle_id in rec_ids]
            if not ps:
                return [], f"no {what} on the {target.on.label or target.on.object_id}"
        if target.color is not None:
            info = self.v.objects_info([p.object_id for p in ps])
            ps = [p for p in ps if str(info.get(p.object_id, ("", {}, 0))[1].get("color", "")).lower() == target.color]
            if not ps:
                return [], f"no {target.color} {what} is known"
        if target.size is not None and len(ps) > 1:
            info = self.v.objects_info([p.object_id for p in ps])
            vol = {p.object_id: _volume(info.get(p.object_id, ("", {}, 0))[1]) for p in ps}
            if all(v is not None for v in vol.values()):
                pick = (max if target.size == "large" else min)(ps, key=lambda p: vol[p.object_id])
                ps = [pick]
        return ps, ""

    # ------------------------------------------------------------------ evidence & belief
    def evidence(self, ps: list[Placement], t_ns: Optional[int]) -> list[Evidence]:
        """Evidence for each placement, ranked most likely first (belief that it is (still) there at
        ``t_ns``/now, then most recently seen)."""
        if not ps:
            return []
        t = self.now if t_ns is None else t_ns
        # label, first, last seen, last missed (read with the candidates when they are now's)
        hint = self._seen if t == self.now else {}
        seen = self.v.objects_seen([p.object_id for p in ps if p.object_id not in hint], t)
        rows, asked = [], []
        for p in ps:
            oid, t_end, t_start = p.object_id, p.t_end_ns, p.t_start_ns
            label, first, last, m = hint.get(oid) or seen.get(oid) or (p.label, t_start, None, None)
            rows.append((p, label, first, m, t_end if last is None or last < t_end else last))
            if t_end < t:
                asked.append((oid, label, t_end, m if (m is not None and m >= t_start) else None))
        probs = iter(self.v.belief.p_still_there_many(asked, t))
        args = []
        for p, label, first, m, last in rows:
            prob = 1.0 if p.t_end_ns >= t else round(next(probs), 4)
            args.append([p.object_id, label, tuple(p.position.tolist()), p.room_id, p.receptacle_id, first, last, m,
                         p.t_start_ns, prob, (), "short-term" if p.placement_id < 0 else "long-term"])
        args.sort(key=lambda a: (-a[9], -(a[6] or 0)))       # most likely first, then most recently seen
        top = args[:MAX_EVIDENCE_KEYFRAMES]
        kfs = self.stack.long_term.keyframe_ids_of([a[0] for a in top]) if top else {}
        for a in top:
            a[10] = kfs.get(a[0], ())
        return [Evidence._from_values(a) for a in args]


def _volume(attrs: dict) -> Optional[float]:
    for k in ("volume_m3", "volume"):
        if isinstance(attrs.get(k), (int, float)):
            return float(attrs[k])
    ext = attrs.get("extent") or attrs.get("size_m")
    if isinstance(ext, (list, tuple)) and len(ext) == 3:
        return float(np.prod(ext))
    return None


def _pl(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---------------------------------------------------------------------------------------- handlers
def _where(ctx: _Ctx, q: WhereIs) -> Answer:
    t = None if (q.at_ns is None and q.session is None) else ctx.time_of(q.at_ns, q.session)
    ps, why = ctx.candidates(q.target, t)
    if not ps:
        return dont_know(q, why)
    ev = ctx.evidence(ps, t)
    by_id = {p.object_id: p for p in ps}
    top = ev[0]
    name = top.label.replace("_", " ")
    when = "" if t is None else f" at {fmt_time(t, ctx.now)}"
    text = (f"The {name} {'was' if t is not None else 'is'} {ctx.place_text(by_id[top.object_id])}{when} "
            f"(last seen {fmt_time(top.last_seen_ns, ctx.now)}; {top.p_still_there:.0%} likely still there).")
    if len(ev) > 1:
        text += " Also: " + "; ".join(f"{ctx.place_text(by_id[e.object_id])} ({e.p_still_there:.0%})" for e in ev[1:6])
        text += " …" if len(ev) > 6 else "."
    conf = top.p_still_there if len(ev) == 1 else top.p_still_there * top.p_still_there / sum(e.p_still_there for e in ev)
    value = [_obj_dict(e, ctx) for e in ev]
    if q.target.object_id is not None and t is None:
        return _with_identity_doubt(ctx, q, ev, value, text, conf)
    return Answer("objects", value, text, conf, tuple(ev), q)


def _with_identity_doubt(ctx: _Ctx, q: WhereIs, ev: list, value: list, text: str, conf: float) -> Answer:
    """"Unsure which one": when perception could not tell this object from look-alikes that moved
    with it (the stored ``identity_candidates`` attribute, see docs/scenegraph.md), the asked object
    may be any of them. The answer keeps the object's own place first and adds each look-alike's
    current place with the probability that the asked object is the one there (``identity_p``);
    the confidence is the own place's share."""
    oid = q.target.object_id
    cands = ctx.v.objects_info([oid]).get(oid, ("", {}, 0))[1].get("identity_candidates") or []
    probs = {int(k): float(p) for k, p in cands if isinstance(k, int) and isinstance(p, (int, float))}
    others = {k: p for k, p in probs.items() if k != oid}
    if not others:
        return Answer("objects", value, text, conf, tuple(ev), q)
    own = probs.get(oid, max(0.0, 1.0 - sum(others.values())))
    alt_ps = [p for p in ctx.v.at(None, ctx.now, sorted(others)) if p.object_id != oid]
    alt_ev = sorted(ctx.evidence(alt_ps, None), key=lambda e: -others.get(e.object_id, 0.0))
    by_id = {p.object_id: p for p in alt_ps}
    value = [dict(v, identity_p=round(own, 4)) for v in value] + \
        [dict(_obj_dict(e, ctx), identity_p=round(others[e.object_id], 4)) for e in alt_ev]
    if alt_ev:
        text += (" Unsure which one: it looked like " + "; ".join(
            f"the {e.label.replace('_', ' ')} {ctx.place_text(by_id[e.object_id])} ({others[e.object_id]:.0%})"
            for e in alt_ev) + f" — {own:.0%} that it is the one above.")
    return Answer("objects", value, text, conf * own, tuple(ev) + tuple(alt_ev), q)


def _when_seen(ctx: _Ctx, q: WhenSeen) -> Answer:
    ps, why = ctx.candidates(q.target, None)
    if not ps:
        return dont_know(q, why)
    ev = ctx.evidence(ps, None)
    if q.which == "first":
        best = min(ev, key=lambda e: e.first_seen_ns)
        t = best.first_seen_ns
    else:
        best = max(ev, key=lambda e: e.last_seen_ns)
        t = best.last_seen_ns
    text = f"I {'first' if q.which == 'first' else 'last'} saw the {best.label.replace('_', ' ')} {fmt_time(t, ctx.now)}."
    return Answer("time", {"stamp_ns": t, "object_id": best.object_id}, text, 1.0 if len(ev) == 1 else 1.0 / len(ev),
                  tuple([best] + [e for e in ev if e is not best]), q)


def _scope_filter(ctx: _Ctx, room, receptacle: Optional[Target]):
    """(predicate over placements, reason when the scope cannot be resolved)."""
    if room is not None:
        ids = ctx.v.resolve_room(room)
        if not ids:
            return None, f"I don't know a room called {room!r}" if ctx.v.rooms() else "no rooms are known in this map"
        s = set(ids)
        return (lambda p: p.room_id in s), ""
    if receptacle is not None:
        if receptacle.object_id is not None:
            rec_ids = {receptacle.object_id}
        else:
            labs, _ = ctx.labels_for(receptacle.label)
            rec_ps, why = ctx.candidates(receptacle, None) if labs else ([], "")
            rec_ids = {p.object_id for p in rec_ps}
            if not rec_ids:
                return None, why or f"I have never seen a {receptacle.label}"
        return (lambda p: p.receptacle_id in rec_ids), ""
    return (lambda p: True), ""


def _state_at(ctx: _Ctx, ids: list[int], t: int, known: Optional[dict] = None) -> dict:
    """object id -> placement it was (believed) at at ``t``; objects known gone at ``t`` left out.
    ``known``: placements at ``t`` already looked up (object id -> placement)."""
    known = known or {}
    ps = dict(known)
    rest = [i for i in ids if i not in known]
    if rest:
        ps.update((p.object_id, p) for p in ctx.v.at(None, t, rest))
    missed = ctx.v.last_missed(list(ps), before_ns=t)
    return {o: p for o, p in ps.items() if not (not p.current and missed.get(o) is not None
                                                  and missed[o] >= p.t_end_ns and p.t_end_ns <= t)}


def _contents(ctx: _Ctx, q: Contents) -> Answer:
    t = ctx.time_of(q.at_ns, q.session)
    pred, why = _scope_filter(ctx, q.room, q.receptacle)
    if pred is None:
        return dont_know(q, why)
    known = _in_scope_at(ctx, q.room, q.receptacle, t, t - LOOKBACK_NS)
    ps = [p for p in _state_at(ctx, list(known), t, known).values() if pred(p)]
    ev = ctx.evidence(ps, t)
    where = f"in the {q.room}" if q.room is not None else f"on the {q.receptacle.label or q.receptacle.object_id}"
    names = [e.label.replace("_", " ") for e in ev]
    text = f"{where[0].upper()}{where[1:]}: " + (", ".join(names) if names else "nothing I know of") + "."
    conf = float(np.prod([e.p_still_there for e in ev])) if ev else 0.8
    return Answer("objects", [_obj_dict(e, ctx) for e in ev], text, conf, tuple(ev), q)


def _in_scope_at(ctx: _Ctx, room, receptacle: Optional[Target], t: int, since: int) -> dict:
    """object id -> placement at ``t`` of the objects then in the room (on/near the receptacle:
    in a box around it), last seen at or after ``since`` or still open there (the state R*Tree)."""
    box = _scope_box(ctx, room, receptacle)
    if box is None:
        return {}
    rooms = ctx.v.resolve_room(room) if room is not None else None
    return {p.object_id: p for p in ctx.v.state_in(box, t, since_ns=since, room_ids=rooms)}


def _scope_box(ctx: _Ctx, room, receptacle: Optional[Target]):
    """A box that holds everything in the room / on the receptacle (for R*Tree look-ups)."""
    if room is not None:
        return ctx.v.room_box(ctx.v.resolve_room(room))
    if receptacle is not None:
        ps, _ = ctx.candidates(receptacle, None)
        if not ps:
            return None
        pos = np.array([p.position for p in ps])
        return pos.min(axis=0) - (2.5, 2.5, 2.0), pos.max(axis=0) + (2.5, 2.5, 2.5)
    return None


def _receptacle_ids(ctx: _Ctx, rec: Target) -> set:
    if rec.object_id is not None:
        return {rec.object_id}
    ps, _ = ctx.candidates(rec, None)
    return {p.object_id for p in ps}


def _changes(ctx: _Ctx, q: Changes) -> Answer:
    t1 = ctx.now if q.t1_ns is None else q.t1_ns
    if t1 < q.t0_ns:
        raise InvalidQueryError(f"Changes: t0_ns {q.t0_ns} is after t1 {t1} (now)")
    pred, why = _scope_filter(ctx, q.room, q.receptacle)
    if pred is None:
        return dont_know(q, why)
    if q.room is None and q.receptacle is None:
        ids = sorted(ctx.v.changed_ids(q.t0_ns, t1))
        before, after = _state_at(ctx, ids, q.t0_ns), _state_at(ctx, ids, t1)
    else:   # what was in scope at t0 or at t1 (the state R*Tree), each one's place at the other time
        box = _scope_box(ctx, q.room, q.receptacle)
        rooms = ctx.v.resolve_room(q.room) if q.room is not None else None
        b_in, a_in = ({}, {}) if box is None else ctx.v.states_in(box, q.t0_ns, t1, q.t0_ns - LOOKBACK_NS, rooms)
        ids = sorted(set(b_in) | set(a_in))
        before, after = _state_at(ctx, ids, q.t0_ns, b_in), _state_at(ctx, ids, t1, a_in)
    changes = []
    for oid in ids:
        b, a = before.get(oid), after.get(oid)
        b_in, a_in = b is not None and pred(b), a is not None and pred(a)
        if not (b_in or a_in) or (b is not None and a is not None and b.placement_id == a.placement_id):
            continue
        if b is not None and a is not None and _same_place(a, b):
            continue     # still on the same surface (or within the move tolerance): not a change of place
        kind = "moved" if (b is not None and a is not None) else ("appeared" if a is not None else "disappeared")
        changes.append({"object_id": oid, "label": (a or b).label, "kind": kind,
                        "before": None if b is None else _pl_dict(ctx, b), "after": None if a is None else _pl_dict(ctx, a)})
    changes = _net_reidentified(changes, before, after)
    text = ("; ".join(f"the {c['label'].replace('_', ' ')} {c['kind']}" for c in changes) or "Nothing changed") + "."
    text = text[0].upper() + text[1:]
    ev = ctx.evidence([after.get(c["object_id"]) or before[c["object_id"]] for c in changes], t1)
    return Answer("changes", changes, text, 0.9 if changes else 0.8, tuple(ev), q)


def _net_reidentified(changes: list, before: dict, after: dict) -> list:
    """Drop pairs of one thing lost and found again in place under a new id: an object of label L
    that disappeared and another of label L that appeared at the same place (:func:`_same_place`)
    — perception lost track of it, nothing changed. ``before`` / ``after``: object id -> placement
    at the two times."""
    gone = [c for c in changes if c["kind"] == "disappeared"]
    new = [c for c in changes if c["kind"] == "appeared"]
    drop = set()
    for g in gone:
        for n in new:
            if id(n) not in drop and n["label"] == g["label"] and \
                    _same_place(after[n["object_id"]], before[g["object_id"]]):
                drop.update((id(g), id(n)))
                break
    return [c for c in changes if id(c) not in drop]


#: Two placements on one receptacle whose heights differ by more than this are on different surfaces
#: (shelves of a shelf unit, a table top and the floor under it): a change of place.
SURFACE_DZ_M = 0.15


def _same_place(a: Placement, b: Placement) -> bool:
    """Same receptacle and the same surface of it (height within :data:`SURFACE_DZ_M`), or, off
    receptacles, within the store's move tolerance (0.25 m)."""
    if a.receptacle_id is not None and a.receptacle_id == b.receptacle_id:
        return abs(float(a.position[2]) - float(b.position[2])) <= SURFACE_DZ_M
    (ax, ay, az), (bx, by, bz) = a.position.tolist(), b.position.tolist()
    return a.receptacle_id is None and math.sqrt((ax - bx) ** 2 + (ay - by) ** 2 + (az - bz) ** 2) < 0.25


def _pl_dict(ctx: _Ctx, p: Placement) -> dict:
    return {"position": p.position.tolist(), "room_id": p.room_id, "room": ctx.v.room_name(p.room_id),
            "receptacle_id": p.receptacle_id, "receptacle": ctx.label_of(p.receptacle_id), "since_ns": p.t_start_ns}


def _near(ctx: _Ctx, q: Near) -> Answer:
    t = ctx.time_of(q.at_ns, None)
    anchors, why = ctx.candidates(q.anchor, None if q.at_ns is None else t)
    if not anchors:
        return dont_know(q, why)
    a = ctx.evidence(anchors, None if q.at_ns is None else t)[0]
    center = np.asarray(a.position)
    if q.nearest:
        if q.label is None:
            raise InvalidQueryError("Near.nearest needs a label (which kind of object?)")
        ps, why = ctx.candidates(Target(label=q.label), None if q.at_ns is None else t)
        ps = [p for p in ps if p.current] if q.at_ns is None else list(_state_at(ctx, [p.object_id for p in ps], t).values())
        if not ps:
            return dont_know(q, why or f"no {q.label} is believed to be in the house")
    else:
        labs = ctx.labels_for(q.label)[0] if q.label else [None]
        if q.label and not labs:
            return dont_know(q, f"I have never seen anything called {q.label!r}")
        ps = [p for lab in labs for p in ctx.v.near(center, q.radius_m, t, lab)]
    ps = [p for p in ps if p.object_id != a.object_id]
    if not ps:
        return Answer("objects", [], f"Nothing within {q.radius_m:g} m of the {a.label.replace('_', ' ')}.", 0.7, (a,), q)
    dist = {p.object_id: float(np.hypot(*(p.position[:2] - center[:2]))) for p in ps}
    ps.sort(key=lambda p: dist[p.object_id])
    if q.nearest:
        ps = ps[:1]
    ev = ctx.evidence(ps, None if q.at_ns is None else t)
    ev.sort(key=lambda e: dist[e.object_id])
    vals = [{**_obj_dict(e, ctx), "distance_m": round(dist[e.object_id], 3)} for e in ev]
    text = ", ".join(f"the {e.label.replace('_', ' ')} ({dist[e.object_id]:.1f} m)" for e in ev[:8])
    text = ("Nearest: " if q.nearest else f"Near the {a.label.replace('_', ' ')}: ") + text + "."
    return Answer("objects", vals, text, ev[0].p_still_there, tuple(ev), q)


def _count(ctx: _Ctx, q: Count) -> Answer:
    t = None if q.at_ns is None else q.at_ns
    labs, _ = ctx.labels_for(q.label)
    if not labs:
        return dont_know(q, f"I have never seen anything called {q.label!r}")
    pred, why = _scope_filter(ctx, q.room, q.receptacle)
    if pred is None:
        return dont_know(q, why)
    ps, _ = ctx.candidates(Target(label=q.label), t)
    if t is not None:
        ps = list(_state_at(ctx, [p.object_id for p in ps], t).values())
    else:
        ps = [p for p in ps if p.current]
    ps = [p for p in ps if pred(p)]
    ev = ctx.evidence(ps, t)
    n = len(ev)
    conf = float(np.prod([e.p_still_there for e in ev])) if ev else 0.8
    return Answer("count", {"count": n, "object_ids": [e.object_id for e in ev]},
                  f"{n}.", conf, tuple(ev), q)


def _history(ctx: _Ctx, q: History) -> Answer:
    ps, why = ctx.candidates(q.target, None)
    if not ps:
        return dont_know(q, why)
    ev = ctx.evidence(ps, None)
    oid = ev[0].object_id
    hist = ctx.stack.long_term.history(oid)
    vals = [{**_pl_dict(ctx, p), "t_start_ns": p.t_start_ns, "t_end_ns": p.t_end_ns, "current": p.current} for p in hist]
    text = f"The {ev[0].label.replace('_', ' ')} has been at {len(hist)} place(s): " + "; ".join(
        f"{ctx.place_text(p)} from {fmt_time(p.t_start_ns, ctx.now)} to {fmt_time(p.t_end_ns, ctx.now)}" for p in hist[-5:]) + "."
    return Answer("history", vals, text, 1.0 if len(ev) == 1 else 1.0 / len(ev), tuple(ev[:1]), q)


def _relation(ctx: _Ctx, q: Relation) -> Answer:
    t = None if q.at_ns is None else q.at_ns
    ps, why = ctx.candidates(q.target, t)
    if not ps:
        return dont_know(q, why)
    if q.relation == "on":
        pred, why = _scope_filter(ctx, None, q.other)
    elif q.relation == "in":
        pred, why = _scope_filter(ctx, q.room if q.room is not None else (q.other.label if q.other else None), None)
    else:
        others, why = ctx.candidates(q.other, t)
        cs = [np.asarray(p.position) for p in others]
        pred = (lambda p: any(float(np.linalg.norm(p.position - c)) <= 1.5 for c in cs)) if cs else None
    if pred is None:
        return dont_know(q, why)
    ev = ctx.evidence(ps, t)
    by_id = {p.object_id: p for p in ps}
    yes = [e for e in ev if pred(by_id[e.object_id])]
    best = yes[0] if yes else ev[0]
    ans = bool(yes)
    conf = best.p_still_there if ans else 1.0 - min(e.p_still_there for e in ev) * 0.0 - 0.0
    text = (f"Yes, the {best.label.replace('_', ' ')} is {ctx.place_text(by_id[best.object_id])}." if ans else
            f"No, the {best.label.replace('_', ' ')} is {ctx.place_text(by_id[best.object_id])}.")
    return Answer("boolean", {"answer": ans, "object_ids": [e.object_id for e in yes]}, text, conf,
                  tuple(yes or ev), q)


def _exists(ctx: _Ctx, q: Exists) -> Answer:
    t = None if q.at_ns is None else q.at_ns
    target = q.target if q.room is None else Target(**{**{k: getattr(q.target, k) for k in
                                                         ("label", "object_id", "color", "size", "on")},
                                                      "room": q.room, "at_ns": q.at_ns})
    labs = ctx.labels_for(target.label)[0] if target.label else [True]
    if not labs:
        return dont_know(q, f"I have never seen anything called {target.label!r}")
    ps, why = ctx.candidates(target, t)
    if t is not None:
        ps = list(_state_at(ctx, [p.object_id for p in ps], t).values())
        ps, _ = ctx.filter(ps, target, t)
    ev = ctx.evidence(ps, t)
    if not ev:
        return Answer("boolean", {"answer": False, "object_ids": []}, f"No: {why}.", 0.7, (), q)
    return Answer("boolean", {"answer": True, "object_ids": [e.object_id for e in ev]},
                  f"Yes, {_pl(len(ev), ev[0].label.replace('_', ' '))}.", max(e.p_still_there for e in ev), tuple(ev), q)


def _which_room(ctx: _Ctx, q: WhichRoom) -> Answer:
    t = None if q.at_ns is None else q.at_ns
    ps, why = ctx.candidates(q.target, t)
    if not ps:
        return dont_know(q, why)
    ev = ctx.evidence(ps, t)
    top = ev[0]
    if top.room_id is None:
        return dont_know(q, f"the {top.label.replace('_', ' ')}'s room is not known (no room map)")
    name = ctx.v.room_name(top.room_id) or f"room {top.room_id}"
    return Answer("room", {"room_id": top.room_id, "room_name": name, "object_id": top.object_id},
                  f"In the {name}.", top.p_still_there, tuple(ev), q)


def _unsupported(ctx: _Ctx, q: Unsupported) -> Answer:
    return Answer("unsupported", {"reason": q.reason}, f"I can't answer that: {q.reason}.", 1.0, (), q)


def answer(stack, query: Query, now_ns: Optional[int] = None) -> Answer:
    """Answer a typed query against ``stack`` (read-only). ``now_ns`` overrides the store clock."""
    from robomem.retrieval import robot   # robot-history handlers (own module)
    if type(query) not in QUERY_TYPES.values():
        raise InvalidQueryError(f"not a robomem query: {type(query).__name__}")
    if now_ns is not None and (isinstance(now_ns, bool) or not isinstance(now_ns, int) or not 0 <= now_ns <= 2**62):
        raise InvalidQueryError(f"now_ns must be an integer stamp in [0, 2**62], got {now_ns!r}")
    ctx = _Ctx(stack, now_ns)
    if isinstance(query, Unsupported):
        return _unsupported(ctx, query)
    if ctx.clock is None:
        return dont_know(query, "the memory is empty")
    handler = _HANDLERS.get(type(query)) or robot.HANDLERS[type(query)]
    a = handler(ctx, query)
    if ctx.relaxed and a.known:
        a = Answer(a.kind, a.value, f"({ctx.relaxed}; answering for every one I know.) {a.text}", a.confidence * 0.5,
                   a.evidence, a.query)
    return a


_HANDLERS = {WhereIs: _where, WhenSeen: _when_seen, Contents: _contents, Changes: _changes, Near: _near,
             Count: _count, History: _history, Relation: _relation, Exists: _exists, WhichRoom: _which_room}

__all__ = ["answer", "fmt_time", "LastVisit", "SeenBetween", "WhereWasI"]
