"""Handlers for questions about the robot's own history: where was I, when was I last in a room
and for how long, what did I see (in a room / between two times)."""
from __future__ import annotations

from robomem.retrieval.answer import Answer, dont_know
from robomem.retrieval.queries import LastVisit, SeenBetween, WhereWasI

NS = 1_000_000_000


def _where_was_i(ctx, q: WhereWasI) -> Answer:
    from robomem.retrieval.render import fmt_time
    r = ctx.stack.long_term.robot_position_at(q.at_ns)
    if r is None:
        return dont_know(q, f"I have no track of myself {fmt_time(q.at_ns, ctx.now)}")
    room = ctx.v.room_name(r.room_id)
    pos = [float(c) for c in r.position]
    where = f"in the {room}" if room else f"at ({pos[0]:.2f}, {pos[1]:.2f}, {pos[2]:.2f})"
    return Answer("pose", {"stamp_ns": q.at_ns, "position": pos, "room_id": r.room_id, "room": room},
                  f"{fmt_time(q.at_ns, ctx.now)[0].upper()}{fmt_time(q.at_ns, ctx.now)[1:]} I was {where}.", 0.95, (), q)


def _last_visit(ctx, q: LastVisit) -> Answer:
    from robomem.retrieval.render import fmt_time
    rooms = ctx.v.resolve_room(q.room)
    if not rooms:
        return dont_know(q, f"I don't know a room called {q.room!r}" if ctx.v.rooms() else "no rooms are known in this map")
    visits = [v for r in rooms for v in [ctx.stack.long_term.last_visit(r, ctx.now)] if v is not None]
    if not visits:
        return dont_know(q, f"I have no record of being in the {q.room}")
    v = max(visits, key=lambda v: v.t_enter_ns)
    dur = v.stay_ns / NS  # time actually in the room (summarised old visits: their dwell, not their span)
    name = ctx.v.room_name(v.room_id) or str(q.room)
    value = {"room_id": v.room_id, "room": name, "t_enter_ns": v.t_enter_ns, "t_exit_ns": v.t_exit_ns,
             "duration_s": round(dur, 3)}
    if q.measure == "duration":
        text = f"I stayed in the {name} for {dur / 60:.0f} min ({fmt_time(v.t_enter_ns, ctx.now)})."
    else:
        text = f"I was last in the {name} {fmt_time(v.t_enter_ns, ctx.now)}, for {dur / 60:.0f} min."
    return Answer("visit", value, text, 0.95, (), q)


def _seen_between(ctx, q: SeenBetween) -> Answer:
    from robomem.retrieval.render import fmt_time, obj_dict as _obj_dict
    t1 = ctx.now if q.t1_ns is None else q.t1_ns
    if q.room is not None:
        rooms = set(ctx.v.resolve_room(q.room))
        if not rooms:
            return dont_know(q, f"I don't know a room called {q.room!r}" if ctx.v.rooms() else "no rooms are known in this map")
        box = ctx.v.room_box(sorted(rooms))
        ps = [] if box is None else ctx.v.seen_in(q.t0_ns, t1, box, sorted(rooms))
    else:
        ps = ctx.v.seen_in(q.t0_ns, t1)
    seen = {}
    for p in ps:
        seen.setdefault(p.object_id, p)
    ev = ctx.evidence(list(seen.values()), t1)
    names = sorted({e.label.replace("_", " ") for e in ev})
    text = (f"Between {fmt_time(q.t0_ns, ctx.now)} and {fmt_time(t1, ctx.now)} I saw "
            + (", ".join(names) if names else "nothing") + ".")
    return Answer("objects", [_obj_dict(e, ctx) for e in ev], text, 0.9, tuple(ev), q)


HANDLERS = {WhereWasI: _where_was_i, LastVisit: _last_visit, SeenBetween: _seen_between}
