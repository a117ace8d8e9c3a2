"""A small two-day store built through the real stack (``MemoryStack.record``), shared by the CLI,
HTTP and MCP tests: two rooms, two mugs, a laptop and keys; on day 2 one mug moved to the office
and the keys disappeared. Run as a script to build one: ``python tests/service_store.py PATH``."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

S = 10**9
T0 = 1_770_000_000 * S          # 2026-02-02 02:40:00 UTC
DAY = 86400 * S
KITCHEN, OFFICE = 1, 2
TABLE, DESK = 10, 11

# object id -> (label, day-1 position, room, receptacle)
OBJECTS = {
    1: ("mug", (1.0, 0.5, 0.8), KITCHEN, TABLE),
    2: ("mug", (1.3, 0.6, 0.8), KITCHEN, TABLE),
    3: ("laptop", (6.0, 1.0, 0.75), OFFICE, DESK),
    4: ("keys", (6.4, 1.2, 0.75), OFFICE, DESK),
}
MUG2_DAY2 = (6.2, 0.8, 0.75)


def _obs(oid, label, t, pos, room, rec):
    from robomem import ObjectObservation
    p = np.asarray(pos, float)
    return ObjectObservation(oid, label, t, p, p - 0.05, p + 0.05, 0.9, room, rec)


def _tour(stack, t_start, placements, events_at=None):
    """Walk kitchen (x 0..3) then office (x 5..8), 1 m steps, one second apart, seeing the objects
    of the room the robot is in."""
    t = t_start
    for k in range(9):
        x = float(k)
        room = KITCHEN if x <= 3.5 else OFFICE
        seen = [_obs(oid, lab, t, pos, r, rec) for oid, (lab, pos, r, rec) in placements.items() if r == room]
        evs = (events_at or {}).get(k, [])
        stack.record(t, seen, evs, robot_position=(x, 0.0, 0.0), robot_yaw=0.0, robot_room=room)
        t += S
    return t


def build_store(path) -> dict:
    """Write the two-day store at ``path``; returns facts the tests check against."""
    import robomem
    from robomem import EventKind, ObjectEvent
    with robomem.open(path, perception=None, consolidation_interval_ns=0) as stack:
        stack.begin_session("monday", T0)
        day1 = dict(OBJECTS)
        end1 = _tour(stack, T0 + S, day1)
        stack.end_session(end1)
        t2 = T0 + DAY
        stack.begin_session("tuesday", t2)
        day2 = {1: OBJECTS[1], 2: ("mug", MUG2_DAY2, OFFICE, DESK), 3: OBJECTS[3]}
        moved = ObjectEvent(EventKind.MOVED, 2, "mug", t2 + 6 * S, np.asarray(MUG2_DAY2), np.asarray(OBJECTS[2][1]),
                            OFFICE, DESK, TABLE)
        gone = ObjectEvent(EventKind.DISAPPEARED, 4, "keys", t2 + 7 * S, np.asarray(OBJECTS[4][1]), None, OFFICE,
                           DESK)
        end2 = _tour(stack, t2 + S, day2, {5: [moved], 6: [gone]})
        stack.end_session(end2)
    return {"t0": T0, "day2": t2, "end1": end1, "end2": end2}


if __name__ == "__main__":
    print(build_store(Path(sys.argv[1])))
