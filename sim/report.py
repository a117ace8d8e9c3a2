"""The demo report: a static HTML page with PNGs that tells one :class:`sim.story.Story` — the
day-1 exploration, the overnight changes, the timeline, the memory's scene graph and each day-2
question with the memory's answer, the agent's decision trace, the evidence keyframes and whether
the first answer was right.

``write_report(story, out_dir)`` writes ``index.html``, the PNGs and ``story.json`` to ``out_dir``
and returns the path of the page. The page checks itself when opened: a script counts the images
that failed to load and shows a red banner if any did (``data-images-ok`` on ``<body>`` says how
many loaded; the demo test reads it in headless Chromium)."""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
from PIL import Image

from sim.report_figures import (MAP_LEGEND, QUESTION_COLORS, legend_handles, map_axes, map_bounds, new_figure,
                                place_labels, save)

__all__ = ["write_report", "SECTIONS"]

#: Section ids of the page, in order (the test checks each is there).
SECTIONS = ("summary", "day1", "changes", "timeline", "scenegraph", "questions", "howto")


def _grid(story):
    return story.stack.map.octree.project_2d(0.1, 1.5)


def fig_days(story, path: Path) -> int:
    """Top-down robot map with the day-1 exploration path and the day-2 question trips."""
    rec, scene = story.record, story.scene
    grid, bounds = _grid(story), map_bounds(scene)
    fig = new_figure(12, 5.6)
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    d1 = rec["day1"]
    map_axes(ax1, grid, bounds, scene, title=f"Day 1: exploring from scratch ({d1['path_m']:.1f} m, "
                                              f"{d1['frames']} frames, {100 * d1['coverage']:.0f}% of the floor mapped)")
    tr = story.day1_trail
    if len(tr) > 1:
        t = np.linspace(0, 1, len(tr))
        ax1.plot(tr[:, 0], tr[:, 1], color="#bf616a", lw=1.2, alpha=0.5, zorder=3)
        ax1.scatter(tr[:, 0], tr[:, 1], c=t, cmap="plasma", s=6, zorder=4)
        ax1.plot(*tr[0], marker="s", ms=9, color="black", zorder=5)
        ax1.plot(*tr[-1], marker="o", ms=8, mfc="none", mec="black", mew=2, zorder=5)
    h1 = legend_handles(*MAP_LEGEND, ("line", "robot path (dark → bright = earlier → later)",
                                      {"color": "#bf616a", "marker": ".", "mfc": "#f0f921"}),
                        ("marker", "start (dock)", {"marker": "s", "color": "black"}),
                        ("marker", "end of exploration", {"marker": "o", "mfc": "none", "mec": "black"}))
    ax1.legend(handles=h1, loc="upper left", bbox_to_anchor=(0, -0.1), fontsize=7, ncol=2, frameon=False)
    map_axes(ax2, grid, bounds, scene, title="Day 2: trips the agent made to answer the questions")
    handles = list(legend_handles(*MAP_LEGEND))
    ends, texts, cols = [], [], []
    for q in rec["questions"]:
        c = QUESTION_COLORS[q["index"] % len(QUESTION_COLORS)]
        for leg in q["legs"]:
            leg = np.asarray(leg)
            ax2.plot(leg[:, 0], leg[:, 1], color=c, lw=2, zorder=3)
        if q["legs"]:
            ends.append(q["legs"][-1][-1])
            texts.append(f"Q{q['index'] + 1}")
            cols.append(c)
        handles += legend_handles(("line", f"Q{q['index'] + 1}: {q['text']} ({q['episode']['path_m']:.1f} m)",
                                   {"color": c, "lw": 2}))
    if len(tr):
        ax2.plot(*tr[0], marker="s", ms=9, color="black", zorder=5)
    handles += legend_handles(("marker", "dock (every question starts here)", {"marker": "s", "color": "black"}))
    place_labels(ax2, ends, texts, color=cols, fontsize=8)
    ax2.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.1), fontsize=7, ncol=1, frameon=False)
    fig.suptitle("Where the robot went (top-down, on the robot's own map)", fontsize=12)
    return save(fig, path)


def fig_scene_graph(story, path: Path) -> int:
    """The memory's 3-D scene graph seen from above: rooms, places, objects and their edges."""
    g = story.stack.scene_graph
    scene = story.scene
    fig = new_figure(9, 7)
    ax = fig.add_subplot(1, 1, 1)
    map_axes(ax, _grid(story), map_bounds(scene), None, title="The memory's scene graph at the end of day 2 (top view)")
    n_obj = n_room = n_place = 0
    if g is not None:
        nodes = dict(g.nodes())
        for u, v, a in g.edges():
            if u not in nodes or v not in nodes:
                continue
            pu, pv = nodes[u].get("position"), nodes[v].get("position")
            if pu is None or pv is None:
                continue
            t = a.get("type")
            style = {"connected": ("#c9dbb8", 0.6, "-"), "contains": ("#b3c7dd", 0.5, ":"),
                     "nearest_place": ("#b48ead", 0.6, "--"), "in_room": ("#5e81ac", 0.7, "-."),
                     "near": ("#ebcb8b", 0.6, "-")}.get(t, ("#d08770", 1.4, "-"))
            ax.plot([pu[0], pv[0]], [pu[1], pv[1]], color=style[0], lw=style[1], ls=style[2], zorder=2)
        pl = np.array([a["position"][:2] for a in g.places()]) if g.num_nodes("place") else np.zeros((0, 2))
        n_place = len(pl)
        if len(pl):
            ax.scatter(pl[:, 0], pl[:, 1], s=10, color="#a3be8c", zorder=3)
        rooms = list(g.rooms())
        n_room = len(rooms)
        rxy = [r["position"][:2] for r in rooms]
        if rooms:
            ax.scatter([p[0] for p in rxy], [p[1] for p in rxy], marker="s", s=90, color="#5e81ac", zorder=4)
        objs = [o for o in g.objects() if o.get("position") is not None]
        n_obj = len(objs)
        small = [o for o in objs if o.get("receptacle") is not None]
        big = [o for o in objs if o.get("receptacle") is None]
        for group, col, mk in ((big, "#4c566a", "D"), (small, "#d08770", "o")):
            if group:
                ax.scatter([o["position"][0] for o in group], [o["position"][1] for o in group], marker=mk, s=28,
                           color=col, edgecolor="black", lw=0.4, zorder=5)
        place_labels(ax, rxy, [f"room: {r.get('room_type') or '?'}" for r in rooms], color="#2e3440", fontsize=8)
        place_labels(ax, [o["position"][:2] for o in objs], [str(o.get("label")) for o in objs],
                     color=["#2e3440" if o in big else "#a34e2a" for o in objs], fontsize=7)
    h = legend_handles(*MAP_LEGEND,
                       ("marker", f"room node ({n_room})", {"marker": "s", "color": "#5e81ac"}),
                       ("marker", f"place node ({n_place})", {"marker": "o", "color": "#a3be8c", "ms": 4}),
                       ("marker", f"object: furniture ({n_obj} objects in all)",
                        {"marker": "D", "color": "#4c566a"}),
                       ("marker", "object: small thing on furniture", {"marker": "o", "color": "#d08770"}),
                       ("line", "edge: on / in (object → furniture)", {"color": "#d08770", "lw": 1.2}),
                       ("line", "edge: object in room", {"color": "#5e81ac", "ls": "-."}),
                       ("line", "edge: objects near each other", {"color": "#ebcb8b"}),
                       ("line", "edge: places connected", {"color": "#c9dbb8"}),
                       ("line", "edge: room contains place", {"color": "#81a1c1", "ls": ":"}),
                       ("line", "edge: object → nearest place", {"color": "#b48ead", "ls": "--"}))
    ax.legend(handles=h, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    return save(fig, path)


def fig_timeline(story, path: Path) -> int:
    """Three panels on their own time scales: day-1 session, the night, day-2 session; rows for the
    robot, the household's changes (ground truth) and what the memory recorded."""
    rec = story.record
    d1, d2 = rec["day1"], rec["day2"]
    fig = new_figure(12, 4.2)
    spans = [("Day 1 morning (minutes since start)", d1["t_start_s"] - 30, d1["t_end_s"] + 30, 60.0, "min"),
             ("Overnight (hours since day-1 start)", d1["t_end_s"], d2["t_start_s"], 3600.0, "h"),
             ("Day 2 morning (minutes since start)", d2["t_start_s"] - 30, d2["t_end_s"] + 30, 60.0, "min")]
    rows = {"robot": 3, "household (truth)": 2, "memory recorded": 1}
    kinds = {"moved": ("#d08770", ">"), "appeared": ("#a3be8c", "^"), "disappeared": ("#bf616a", "v")}
    axes = [fig.add_subplot(1, 3, k + 1) for k in range(3)]
    for k, (ax, (title, a, b, unit, uname)) in enumerate(zip(axes, spans)):
        ax.set_title(title, fontsize=9)
        ax.set_xlim(a / unit - (b - a) / unit * 0.02, b / unit + (b - a) / unit * 0.02)
        base = spans[k][1] if k != 1 else 0.0
        ax.set_xlim((a - base) / unit, (b - base) / unit)
        ax.set_ylim(0.3, 3.8)
        ax.set_yticks(list(rows.values()))
        ax.set_yticklabels(list(rows.keys()) if k == 0 else [], fontsize=8)
        ax.set_xlabel(f"time ({uname})", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(axis="x", color="0.9")

        def X(t, base=base, unit=unit):
            return (t - base) / unit
        if k == 0:
            ax.barh(3, X(d1["t_end_s"]) - X(d1["t_start_s"]), left=X(d1["t_start_s"]), height=0.35, color="#88c0d0")
            ax.text(X((d1["t_start_s"] + d1["t_end_s"]) / 2), 3.3, "exploration", ha="center", fontsize=8)
        if k == 2:
            ax.barh(3, X(d2["t_end_s"]) - X(d2["t_start_s"]), left=X(d2["t_start_s"]), height=0.35, color="#ebcb8b")
            qs = rec["questions"]
            place_labels(ax, [(X(q["t_s"]), 3.0) for q in qs], [f"Q{q['index'] + 1}" for q in qs], fontsize=7)
        ev = [e for e in rec["events"] if a <= e["t_s"] <= b]
        n_app = sum(e["kind"] == "appeared" for e in ev)
        if n_app:
            ax.text(0.02, 0.06, f"{n_app} objects first seen", transform=ax.transAxes, fontsize=7, color="#4c7a3d")
        ch = [c for c in rec["changes"] if a <= c["t_s"] <= b]
        for c in ch:
            col, mk = kinds.get(c["kind"], ("black", "o"))
            ax.plot(X(c["t_s"]), 2, marker=mk, color=col, ms=8, ls="none", zorder=4)
        place_labels(ax, [(X(c["t_s"]), 2) for c in ch], [c["category"] for c in ch], fontsize=7)
        ev = [e for e in rec["events"] if a <= e["t_s"] <= b]
        for kind, (col, mk) in kinds.items():
            xs = [X(e["t_s"]) for e in ev if e["kind"] == kind]
            if xs:
                ax.plot(xs, [1] * len(xs), marker=mk, color=col, ms=6, ls="none", alpha=0.7, zorder=4)
        if k == 2:
            moved = [e for e in ev if e["kind"] != "appeared"]
            place_labels(ax, [(X(e["t_s"]), 1) for e in moved], [f"{e['label']} {e['kind']}" for e in moved], fontsize=7)
    h = legend_handles(("marker", "moved", {"marker": ">", "color": "#d08770"}),
                       ("marker", "appeared / first seen", {"marker": "^", "color": "#a3be8c"}),
                       ("marker", "disappeared", {"marker": "v", "color": "#bf616a"}),
                       ("patch", "robot exploring", {"fc": "#88c0d0"}),
                       ("patch", "robot answering questions (Qn = question n)", {"fc": "#ebcb8b"}))
    fig.legend(handles=h, loc="lower center", ncol=5, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.04))
    fig.suptitle("Timeline: what the robot did, what changed in the house, what the memory recorded "
                 "(each panel has its own time scale)", fontsize=11)
    fig.subplots_adjust(bottom=0.25, wspace=0.08)
    return save(fig, path)


def fig_question(story, q: dict, path: Path) -> int:
    """One question: the memory's hypotheses (remembered places with P(still there), rooms with
    their prior), the trips, the answer and the truth."""
    scene = story.scene
    fig = new_figure(7.5, 9.5)
    ax = fig.add_subplot(1, 1, 1)
    verdict = "RIGHT" if q["right"] else "WRONG"
    map_axes(ax, _grid(story), map_bounds(scene), scene,
             title=f"Q{q['index'] + 1}: \u201c{q['text']}\u201d \u2014 first answer {verdict}")
    c = QUESTION_COLORS[q["index"] % len(QUESTION_COLORS)]
    for leg in q["legs"]:
        leg = np.asarray(leg)
        ax.plot(leg[:, 0], leg[:, 1], color=c, lw=2.2, zorder=3)
        if len(leg) > 1:
            ax.annotate("", leg[-1], leg[-2], arrowprops=dict(arrowstyle="-|>", color=c, lw=1.5), zorder=3)
    start = q["episode"]["poses"][0] if q["episode"]["poses"] else None
    if start:
        ax.plot(start[0], start[1], marker="s", ms=9, color="black", zorder=5)
    pts, texts, cols = [], [], []
    first = (q["episode"]["trace"] or [{}])[0]
    for s in first.get("considered", []):
        if s["target"].startswith("room:") and s.get("goal") and s.get("p_find") is not None:
            ax.plot(s["goal"][0], s["goal"][1], marker="^", ms=8, mfc="#ebcb8b", mec="black", mew=0.6, zorder=4)
            pts.append(s["goal"][:2])
            texts.append(f"P(find) {s['p_find']:.2f}")
            cols.append("#7a5c00")
        if s["target"].startswith("obj:") and s.get("goal"):
            ev = next((e for e in q["memory_evidence"] if f"obj:{e['object_id']}" == s["target"]), None)
            p = ev["p_still_there"] if ev and ev.get("p_still_there") is not None else None
            ax.plot(s["goal"][0], s["goal"][1], marker="o", ms=10, mfc="none", mec="#d08770", mew=2.2, zorder=5)
            pts.append(s["goal"][:2])
            texts.append("remembered" + (f", P(there) {p:.2f}" if p is not None else ""))
            cols.append("#a34e2a")
    for e in q["memory_evidence"]:
        if q["kind"] in ("where_past",) and e.get("position"):
            ax.plot(e["position"][0], e["position"][1], marker="o", ms=10, mfc="none", mec="#d08770", mew=2.2, zorder=5)
            pts.append(e["position"][:2])
            texts.append("memory: then")
            cols.append("#a34e2a")
    if q.get("truth_position"):
        tp = q["truth_position"]
        ax.plot(tp[0], tp[1], marker="x", ms=11, mew=2.5, color="black", zorder=6)
        pts.append(tp[:2])
        texts.append("truth" + (" (yesterday)" if q["kind"] == "where_past" else " (now)"))
        cols.append("black")
    if q.get("answer_position"):
        ap = q["answer_position"]
        ax.plot(ap[0], ap[1], marker="*", ms=16, color="#2ca02c" if q["right"] else "#d62728", mec="black", zorder=7)
        pts.append(ap[:2])
        texts.append(f"answer, P {q['episode']['confidence']:.2f}")
        cols.append("#1b5e20" if q["right"] else "#b71c1c")
    place_labels(ax, pts, texts, color=cols, fontsize=8)
    h = legend_handles(*MAP_LEGEND,
                       ("marker", "dock (start)", {"marker": "s", "color": "black"}),
                       ("line", f"path taken ({q['episode']['path_m']:.1f} m, {q['episode']['steps']} look"
                        f"{'' if q['episode']['steps'] == 1 else 's'})",
                        {"color": c, "lw": 2}),
                       ("marker", "where memory remembered it (before looking)",
                        {"marker": "o", "mfc": "none", "mec": "#d08770", "mew": 1.5, "ms": 6}),
                       ("marker", "room look-out, P(find) on the first decision",
                        {"marker": "^", "mfc": "#ebcb8b", "mec": "black", "ms": 7}),
                       ("marker", "agent's answer", {"marker": "*", "color": "#2ca02c", "mec": "black", "ms": 12}),
                       ("marker", "ground truth", {"marker": "x", "color": "black", "mew": 2}))
    ax.legend(handles=h, loc="upper left", bbox_to_anchor=(0.0, -0.07), fontsize=8, ncol=2, frameon=False)
    return save(fig, path)


# ---------------------------------------------------------------------------------- HTML
CSS = """body{font-family:sans-serif;max-width:1180px;margin:1em auto;padding:0 1em;color:#222;line-height:1.4}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #5e81ac;padding-bottom:.1em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
th{background:#eceff4}.right{color:#1b5e20;font-weight:bold}.wrong{color:#b71c1c;font-weight:bold}
.q{border:1px solid #d8dee9;border-radius:6px;padding:.6em 1em;margin:1em 0;background:#fafbfc}
.kf{display:inline-block;margin:0 .6em .6em 0;font-size:.8em;vertical-align:top}.kf img{display:block;border:1px solid #999}
img.fig{max-width:100%;border:1px solid #ddd}.chosen{background:#fff3c4}.muted{color:#777}
#imgcheck{display:none;background:#b71c1c;color:white;padding:.5em}.score{font-size:1.3em}"""

CHECK_JS = """window.addEventListener('load',function(){var im=document.images,bad=0;
for(var i=0;i<im.length;i++){if(!im[i].complete||im[i].naturalWidth===0){bad++;}}
document.body.setAttribute('data-images-ok',String(im.length-bad));document.body.setAttribute('data-images',String(im.length));
if(bad){var b=document.getElementById('imgcheck');b.style.display='block';b.textContent=bad+' of '+im.length+' pictures failed to load';}});"""


def _e(x) -> str:
    return html.escape(str(x))


def _fmt(v, nd: int = 3) -> str:
    return "–" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else _e(v))


def _target_name(t: str, q: dict) -> str:
    if t.startswith("room:"):
        return "explore " + _e(q["room_names"].get(t[5:], t))
    return "check remembered " + _e(q["label"] or "") + f" ({_e(t)})"


def _words(text: str, q: dict) -> str:
    """A trace reason with hypothesis keys in words ("room:2" → "living_room_0")."""
    import re
    text = re.sub(r"room:(\d+)", lambda m: q["room_names"].get(m.group(1), m.group(0)), str(text))
    return re.sub(r"obj:(\d+)", lambda m: f"the remembered {q['label'] or 'object'} (object {m.group(1)})", text)


def _trace_html(q: dict) -> str:
    rows = []
    for rec in q["episode"]["trace"]:
        cons = rec.get("considered", [])
        if "p_correct_now" not in rec:        # "cannot answer": parsed before any belief
            rows.append(f"<p><b>Decision {rec['step'] + 1}</b>: {_e(rec.get('decision', ''))} — "
                        f"{_e(rec.get('reason', ''))}. No option to weigh; the robot does not move.</p>")
            continue
        if not cons and q["kind"] == "where_past":
            rows.append(f"<p><b>Decision {rec['step'] + 1}</b>: the question is about the past; looking now cannot "
                        f"change what memory recorded then, so there is nothing to go and see: it answers from "
                        f"memory with P(right) = {_fmt(rec.get('p_correct_now'), 2)}.</p>")
            continue
        head = (f"<p><b>Decision {rec['step'] + 1}</b>: P(right if it answers now) = {_fmt(rec.get('p_correct_now'), 2)}; "
                f"{_e(_words(rec.get('reason', rec.get('decision', '')), q))}</p>")
        if not cons:
            rows.append(head)
            continue
        t = ["<table><tr><th>option</th><th>path m</th><th>P(find)</th><th>P(right) after</th><th>cost</th>"
             "<th>value of looking</th><th>note</th></tr>"]
        t.append(f"<tr><td>answer now</td><td>0</td><td>–</td><td>{_fmt(rec.get('p_correct_now'), 2)}</td><td>0</td>"
                 f"<td>0</td><td>{'chosen' if rec.get('chosen') is None else ''}</td></tr>")
        for s in sorted(cons, key=lambda s: -(s["value"] if s["value"] is not None else -1e9)):
            cls = ' class="chosen"' if s["target"] == rec.get("chosen") else ""
            t.append(f"<tr{cls}><td>{_target_name(s['target'], q)}</td><td>{_fmt(s['path_m'], 1)}</td>"
                     f"<td>{_fmt(s['p_find'], 2)}</td><td>{_fmt(s['expected_p_correct'], 2)}</td><td>{_fmt(s['cost'])}</td>"
                     f"<td>{_fmt(s['value'])}</td><td>{'chosen' if cls else _e(s.get('excluded') or '')}</td></tr>")
        t.append("</table>")
        out = rec.get("outcome")
        if out:
            seen = "saw it" if out.get("seen_key") else ("could not get there" if not out.get("reached", True)
                                                          else "did not see it there")
            t.append(f"<p class=muted>→ went {out['path_m']:.1f} m and looked: {seen}.</p>")
        rows.append(head + "".join(t))
    return "".join(rows)


def write_report(story, out_dir: Path) -> Path:
    """Write the page, its pictures and story.json into ``out_dir``; returns index.html's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rec = story.record
    overlaps = {"map_days.png": fig_days(story, out / "map_days.png"),
                "scene_graph.png": fig_scene_graph(story, out / "scene_graph.png"),
                "timeline.png": fig_timeline(story, out / "timeline.png")}
    qhtml = []
    for q in rec["questions"]:
        i = q["index"]
        name = f"q{i + 1}.png"
        if q["episode"]["cannot_answer"]:
            picture = "<p class=muted>No map: it could not answer, so it did not move.</p>"
        else:
            overlaps[name] = fig_question(story, q, out / name)
            picture = f'<img class=fig src="{name}" alt="Q{i + 1} map">'
        kf = []
        for j, (kid, cap, img, stamp) in enumerate(story.keyframes.get(i, [])):
            kname = f"q{i + 1}_keyframe{j + 1}.png"
            Image.fromarray(np.asarray(img)).save(out / kname)
            h = None if stamp is None else (stamp - story.scenario.log.session(0).t_start) / 3600e9
            when = "" if h is None else (f"day 1 (exploration), {h * 60:.0f} min in" if h < 12 else
                                         f"day 2 (while answering), {h:.1f} h after day-1 start")
            kf.append(f'<div class=kf><img src="{kname}" alt="keyframe {kid}" width="{2 * np.asarray(img).shape[1]}">'
                      f"keyframe {kid}, {_e(when)}<br>shows {_e(q['label'] or '')} ({_e(cap.split(',')[0])})</div>")
        ep = q["episode"]
        cls = "right" if q["right"] else "wrong"
        final = (_e(ep["stop_reason"]) if ep["cannot_answer"] else
                 (f"in {_e(q['answer_room'] or '?')}" + (f", at ({q['answer_position'][0]:.2f}, {q['answer_position'][1]:.2f})"
                                                      if q["answer_position"] else "")))
        qhtml.append(
            f'<div class=q id="q{i + 1}"><h3>Q{i + 1}. \u201c{_e(q["text"])}\u201d <span class=muted>({_e(q["why"])})</span></h3>'
            f"<p><b>Memory said (retrieval, before moving):</b> {_e(q['answer_text'])}</p>"
            f"<p><b>Agent's answer:</b> {final} — confidence {ep['confidence']:.2f}, {ep['steps']} look(s), "
            f"{ep['path_m']:.1f} m driven, {q['frames']} frames. "
            f"<span class={cls}>{'RIGHT' if q['right'] else 'WRONG'}</span> ({_e(q['verdict'])})</p>"
            f"{picture}<h4>Evidence keyframes (images the memory stored)</h4>"
            + ("".join(kf) if kf else "<p class=muted>none: the question is not about an object it has seen.</p>")
            + f"<h4>Decision trace (what it considered, why it went or didn't)</h4>{_trace_html(q)}</div>")
    sc, d1 = rec["score"], rec["day1"]
    ch_rows = "".join(
        f"<tr><td>{_e(c['kind'])}</td><td>{_e(c['category'])}</td>"
        f"<td>{_e(c['from']['on'] + ' in ' + c['from']['room']) if c['from'] else '–'}</td>"
        f"<td>{_e(c['to']['on'] + ' in ' + c['to']['room']) if c['to'] else '–'}</td>"
        f"<td>{'yes' if c['seen_day1'] else 'no'}</td></tr>" for c in rec["changes"])
    qsum = "".join(f"<tr><td><a href='#q{q['index'] + 1}'>Q{q['index'] + 1}</a></td><td>{_e(q['text'])}</td>"
                   f"<td>{q['episode']['steps']}</td><td>{q['episode']['path_m']:.1f}</td>"
                   f"<td class={'right' if q['right'] else 'wrong'}>{'right' if q['right'] else 'wrong'}</td></tr>"
                   for q in rec["questions"])
    house = rec["house"]
    page = f"""<!DOCTYPE html><html lang=en><head><meta charset="utf-8"><title>robomem demo report</title>
<style>{CSS}</style></head><body>
<div id=imgcheck></div>
<h1>robomem demo: a robot remembers a house over two days</h1>
<section id=summary><h2>Summary</h2>
<p class=score>First answers right: <b>{sc['right']}/{sc['asked']}</b> questions; day 2 driving {sc['path_m']:.1f} m
over {sc['steps']} look(s). The story (simulation, memory, agent) took {rec['wall_s']:.0f} s of wall time.</p>
<p>House <code>{_e(house['name'])}</code> ({_e(house['style'])} layout, {len(house['rooms'])} rooms:
{_e(', '.join(sorted(house['rooms'])))}; {house['objects']} small objects). On <b>day 1</b> the robot explores it from scratch
and everything it sees goes into its memory (map, objects, keyframes, scene graph). Overnight the household moves
things. On <b>day 2</b> it is asked questions in words; for each, the value-of-information agent decides whether what
it remembers is enough or whether to go and look, and where. Every first answer is scored against the simulator's
ground truth.</p>
<table><tr><th></th><th>question</th><th>looks</th><th>path m</th><th>first answer</th></tr>{qsum}</table></section>
<section id=day1><h2>Day 1: exploration, and day 2: the trips</h2>
<p>Frontier exploration on the robot's own map: {d1['path_m']:.1f} m driven, {d1['frames']} frames,
{d1['collisions']} collisions, stopped because: {_e(d1['stop_reason'])}; {100 * d1['coverage']:.0f}% of the reachable
floor ({d1['reachable_floor_m2']:.1f} m²) mapped; {d1['objects_seen']} of the {d1['objects_present']} small objects were in
view; the memory holds {d1['objects_in_memory']} objects (furniture included).</p>
<img class=fig src="map_days.png" alt="map with trajectories"></section>
<section id=changes><h2>What changed overnight (ground truth)</h2>
<table><tr><th>change</th><th>object</th><th>from</th><th>to</th><th>seen on day 1?</th></tr>{ch_rows}</table></section>
<section id=timeline><h2>Timeline</h2><img class=fig src="timeline.png" alt="timeline"></section>
<section id=scenegraph><h2>Scene graph in memory</h2>
<p>What the memory built from the frames: rooms (from its own map's segmentation), places (a graph of free space) and
objects with their relations. Labels are the perception's.</p>
<img class=fig src="scene_graph.png" alt="scene graph"></section>
<section id=questions><h2>Questions on day 2</h2>{''.join(qhtml)}</section>
<section id=howto><h2>How to read this</h2><ul>
<li>Maps are top-down views of the <b>robot's own map</b> (white free, dark occupied, grey unknown); room names come from
the simulator's floor plan. The scale bar is 1 m.</li>
<li>"Memory said" is retrieval's answer from memory alone; the agent's answer comes after it decided whether to look.
"P(still there)" is the memory's belief that an object is still where it was last seen.</li>
<li>Decision trace: every option the agent weighed. <i>value of looking</i> = expected gain in P(right) × value of a right
answer − travel cost; it goes when the best value is positive, else answers.</li>
<li>Data: <code>story.json</code> next to this page; the memory store: <code>house.db</code>.</li></ul></section>
<script>{CHECK_JS}</script></body></html>"""
    rec["label_overlaps"] = overlaps
    (out / "story.json").write_text(json.dumps(rec, indent=1, default=str))
    path = out / "index.html"
    path.write_text(page)
    return path
