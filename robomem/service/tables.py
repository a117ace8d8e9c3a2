"""Readable tables (rich) of the JSON records in :mod:`robomem.service.browse` and of answers."""
from __future__ import annotations

import json
from typing import Optional

from robomem.service.params import format_duration, format_time


def _xyz(p) -> str:
    return "-" if p is None else "(" + ", ".join(f"{v:.2f}" for v in p) + ")"


def _opt(v) -> str:
    return "-" if v is None else str(v)


def _table(title: str, columns: list[str]):
    from rich.table import Table
    t = Table(title=title, title_justify="left", show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    return t


def objects_table(rows: list[dict], title: str = "objects"):
    t = _table(f"{title} ({len(rows)})", ["id", "label", "position (m)", "room", "on/in", "since", "last seen",
                                            "obs", "state"])
    for r in rows:
        t.add_row(str(r["object_id"]), r["label"], _xyz(r["position"]), _opt(r["room_id"]), _opt(r["receptacle_id"]),
                  format_time(r["t_start_ns"]), format_time(r["t_end_ns"]), str(r["n_observations"]),
                  "there" if r["current"] else "left")
    return t


def where_table(rows: list[dict], label: str):
    t = _table(f"where is {label}? ({len(rows)})", ["id", "position (m)", "room", "on/in", "since", "last seen",
                                                    "state", "from"])
    for r in rows:
        t.add_row(str(r["object_id"]), _xyz(r["position"]), _opt(r["room_id"]), _opt(r["receptacle_id"]),
                  format_time(r["since_ns"]), format_time(r["last_seen_ns"]), "there" if r["current"] else "left",
                  r["source"])
    return t


def timeline_table(rows: list[dict], title: str = "timeline"):
    t = _table(f"{title} ({len(rows)})", ["time", "object", "what", "position (m)", "room", "until"])
    for r in rows:
        what = "seen at" if r["entry"] == "placement" else r["kind"]
        if r["entry"] == "event" and r["kind"] == "moved":
            what = f"moved from {_xyz(r['previous_position'])}"
        until = (("still there" if r["current"] else format_time(r["t_end_ns"]))
                 if r["entry"] == "placement" else "")
        t.add_row(format_time(r["stamp_ns"]), f"{r['object_id']} {r.get('label') or ''}".strip(), what,
                  _xyz(r["position"]), _opt(r["room_id"]), until)
    return t


def events_table(rows: list[dict]):
    t = _table(f"events ({len(rows)})", ["time", "kind", "object", "position (m)", "from", "room", "on/in"])
    for r in rows:
        t.add_row(format_time(r["stamp_ns"]), r["kind"], f"{r['object_id']} {r.get('label') or ''}".strip(),
                  _xyz(r["position"]), _xyz(r["previous_position"]), _opt(r["room_id"]), _opt(r["receptacle_id"]))
    return t


def position_table(row: Optional[dict], at_ns: int):
    t = _table(f"where was I at {format_time(at_ns)}?", ["time", "position (m)", "room"])
    if row is not None:
        t.add_row(format_time(row["stamp_ns"]), _xyz(row["position"]), _opt(row["room_id"]))
    return t


def visits_table(rows: list[dict], room_id: int):
    t = _table(f"visits to room {room_id} ({len(rows)})", ["entered", "left", "stayed"])
    for r in rows:
        t.add_row(format_time(r["t_enter_ns"]), format_time(r["t_exit_ns"]) if r["t_exit_ns"] is not None else "still there",
                  format_duration(r["duration_ns"]))
    return t


def answer_table(ans: dict):
    """An engine answer (``Answer.to_dict()``): the sentence as title, then how the question was
    understood, the kind, confidence and value, then one row per evidence record (ranked)."""
    from rich.console import Group
    head = _table(ans.get("text", ""), ["", ""])
    head.show_header = False
    q = ans.get("query")
    head.add_row("understood as", "-" if q is None else json.dumps(q, separators=(", ", ": "), default=str))
    head.add_row("kind", str(ans.get("kind")))
    conf = ans.get("confidence")
    head.add_row("confidence", "-" if conf is None else f"{conf:.2f}")
    val = ans.get("value")
    if val is not None and ans.get("kind") != "objects":
        head.add_row("value", json.dumps(val, separators=(", ", ": "), default=str)[:2000])
    ev = ans.get("evidence") or []
    if not ev:
        return head
    t = _table(f"evidence ({len(ev)})", ["id", "label", "position (m)", "room", "on/in", "first seen", "last seen",
                                         "last missed", "since", "P(still there)", "keyframes"])
    for e in ev:
        p = e.get("p_still_there")
        t.add_row(str(e["object_id"]), e.get("label") or "", _xyz(e.get("position")), _opt(e.get("room_id")),
                  _opt(e.get("receptacle_id")), format_time(e.get("first_seen_ns")), format_time(e.get("last_seen_ns")),
                  format_time(e.get("last_missed_ns")), format_time(e.get("since_ns")),
                  "-" if p is None else f"{p:.2f}", ",".join(str(k) for k in e.get("keyframe_ids") or []) or "-")
    return Group(head, t)


def print_table(table, width: int = 160) -> None:
    """Print to stdout (no colour codes when stdout is not a terminal, so output is greppable)."""
    from rich.console import Console
    Console(width=width, soft_wrap=False).print(table)
