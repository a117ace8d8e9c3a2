"""Saved states and reports of ``benchmarks/perception.py``: the rendered frames and 2-D grid of a
house (``--save-state`` / ``--replay``: perception and room changes scored again on the same
frames without rendering), one JSON line per house, and the per-style table (worst and mean)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

def state_path(folder, style, seed) -> Path:
    return Path(folder) / f"{style or 'any'}-{seed}.pkl"


def _frame_tuple(f) -> tuple:
    return (f.depth, f.intrinsics, f.T_world_camera, f.stamp_ns, f.rgb, f.instance_ids, dict(f.labels))


def save_state(path: Path, frames, grid, frames2=None) -> None:
    """Rendered frames (both sessions) and the 2-D grid of one house, so that perception and room
    changes can be scored again without rendering (``--replay``)."""
    import pickle
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump({"frames": [_frame_tuple(f) for f in frames], "grid": grid,
                     "frames2": None if frames2 is None else [_frame_tuple(f) for f in frames2]}, fh, protocol=5)


def load_state(path) -> dict:
    import pickle

    from robomem.frame import Frame
    with open(path, "rb") as fh:
        d = pickle.load(fh)
    mk = (lambda t: Frame(depth=t[0], intrinsics=t[1], T_world_camera=t[2], stamp_ns=t[3], rgb=t[4],
                          instance_ids=t[5], labels=t[6]))
    d["frames"] = [mk(t) for t in d["frames"]]
    if d.get("frames2") is not None:
        d["frames2"] = [mk(t) for t in d["frames2"]]
    return d


def write_jsonl(path, r: dict) -> None:
    """One line per house: the scalar figures and the room/object counts."""
    import json
    o = r["objects"]
    row = {k: v for k, v in r.items() if isinstance(v, (int, float, str, bool)) or v is None}
    row.update(rooms_matched=r["rooms"]["matched"], rooms_gt=r["rooms"]["gt"], type_ok=r["rooms"]["type_ok"],
               in_room_ok=r["rooms"].get("in_room_ok", 0), in_room_n=r["rooms"].get("in_room_n", 0),
               ious=[round(float(x), 3) for x in r["rooms"]["ious"]], gt=o.gt, pred=o.pred, matched=o.matched,
               duplicates=o.duplicates, label_ok=o.label_ok, on_ok=o.on_ok, on_total=o.on_total)
    with open(path, "a") as fh:
        fh.write(json.dumps(row) + "\n")


def style_rows(rows) -> list[tuple]:
    """Per style (rows: dicts with style, rooms_matched, rooms_gt, type_ok, in_room_ok, in_room_n):
    (style, houses, rooms share, types share, in-room share), then the worst and the mean style."""
    out = []
    for st in dict.fromkeys(r["style"] for r in rows):
        rs = [r for r in rows if r["style"] == st]
        m = sum(r["rooms_matched"] for r in rs)
        out.append((st, len(rs), m / max(sum(r["rooms_gt"] for r in rs), 1), sum(r["type_ok"] for r in rs) / max(m, 1),
                    sum(r["in_room_ok"] for r in rs) / max(sum(r["in_room_n"] for r in rs), 1)))
    if out:
        cols = list(zip(*[o[2:] for o in out]))
        out.append(("worst style", sum(o[1] for o in out), *(min(c) for c in cols)))
        out.append(("mean of styles", sum(o[1] for o in out[:-1]), *(float(np.mean(c)) for c in cols)))
    return out


def print_style_table(results) -> None:
    rows = [{"style": r["style"], "rooms_matched": r["rooms"]["matched"], "rooms_gt": r["rooms"]["gt"],
             "type_ok": r["rooms"]["type_ok"], "in_room_ok": r["rooms"].get("in_room_ok", 0),
             "in_room_n": r["rooms"].get("in_room_n", 0)} for r in results]
    print("\n| style | houses | rooms matched IoU >= 0.8 | room types (matched) | objects in right room |\n|---|---|---|---|---|")
    for st, n, a, b, c in style_rows(rows):
        print(f"| {st} | {n} | {a:.3f} | {b:.3f} | {c:.3f} |")




def summarize_jsonl(path) -> None:
    """Print the per-style table (worst and mean style) and the move figures of a ``--jsonl``
    file (the last line per house counts, so a house scored again replaces its earlier line)."""
    import json
    rows: dict = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            rows[(r["style"], r["seed"])] = r
    rs = list(rows.values())
    for st in dict.fromkeys(r["style"] for r in rs):
        seeds = sorted(r["seed"] for r in rs if r["style"] == st)
        print(f"{st}: seeds {seeds}")
    print("\n| style | houses | rooms matched IoU >= 0.8 | room types (matched) | objects in right room |\n|---|---|---|---|---|")
    for st, n, a, b, c in style_rows(rs):
        print(f"| {st} | {n} | {a:.3f} | {b:.3f} | {c:.3f} |")
    mv = [r for r in rs if "moves_eligible" in r]
    if mv:
        def tot(k):
            return sum(r.get(k, 0) for r in mv)
        n = max(tot("moves_eligible"), 1)
        print(f"\nmoves ({len(mv)} houses): kept own id {tot('moves_detected')}/{tot('moves_eligible')} = "
              f"{tot('moves_detected') / n:.3f}; +swaps {(tot('moves_detected') + tot('moves_swapped')) / n:.3f}; "
              f"where-is within 0.5 m {tot('moves_where_ok')}/{tot('moves_eligible')} = {tot('moves_where_ok') / n:.3f}; "
              f"false moved/disappeared {tot('false_change_events')}/{tot('change_events')} = "
              f"{tot('false_change_events') / max(tot('change_events'), 1):.3f}; unsure {tot('moves_unsure')}, "
              f"wrong with no doubt {tot('moves_wrong_sure')}")
        worst = min(mv, key=lambda r: r["moves_detected"] / max(r["moves_eligible"], 1))
        print(f"worst house: {worst['name']} {worst['moves_detected']}/{worst['moves_eligible']}")
    cpu = [r["cpu_ms_median"] for r in rs if "cpu_ms_median" in r]
    if cpu:
        print(f"CPU ms/frame (segments + tracker + graph), median of house medians: {float(np.median(cpu)):.1f}")
