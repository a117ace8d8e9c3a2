"""How answers say times and objects (shared by the engine and the robot-history handlers)."""
from __future__ import annotations

import datetime as _dt
from typing import Optional

NS = 1_000_000_000


def fmt_time(t: Optional[int], now: Optional[int] = None) -> str:
    """"today at 08:12" / "yesterday at 19:03" / "on Tue 2026-11-03 at 07:45" (UTC, store clock)."""
    if t is None:
        return "never"
    d = _dt.datetime.fromtimestamp(t / NS, tz=_dt.timezone.utc)
    if now is not None:
        dd = now // (86400 * NS) - t // (86400 * NS)
        if dd == 0:
            return f"today at {d:%H:%M}"
        if dd == 1:
            return f"yesterday at {d:%H:%M}"
    return f"on {d:%a %Y-%m-%d} at {d:%H:%M}"


def obj_dict(e, ctx) -> dict:
    """An evidence item as the JSON object of an answer's value (room and receptacle named)."""
    return {"object_id": e.object_id, "label": e.label, "position": list(e.position) if e.position else None,
            "room_id": e.room_id, "room": ctx.v.room_name(e.room_id), "receptacle_id": e.receptacle_id,
            "receptacle": ctx.label_of(e.receptacle_id), "p_still_there": e.p_still_there}


