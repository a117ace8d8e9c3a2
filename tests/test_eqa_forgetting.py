"""The forgetting benchmark (``benchmarks/eqa_forgetting.py``): one shared perception gives the
three stacks exactly what one pipeline each gives them, a finished house is resumed from its
partial file, and the summary's paired off-vs-setting figures and worst style are right."""
from __future__ import annotations

import json

from benchmarks.eqa_forgetting import main, summarise


def _run(tmp_path, name, *extra):
    out = tmp_path / f"{name}.json"
    main(["--seeds", "3", "--styles", "l_shaped", "--days", "1", "--views", "1", "--per-category", "1",
          "--width", "80", "--height", "60", "--settings", "off,aggressive", "--out", str(out), *extra])
    return json.loads(out.read_text())


def test_shared_perception_matches_one_pipeline_per_stack_and_resumes(tmp_path, capsys):
    shared = _run(tmp_path, "shared")
    own = _run(tmp_path, "own", "--per-stack-perception")
    a, b = shared["houses"][0], own["houses"][0]
    assert a["sizes"] == b["sizes"] and a["results"] == b["results"]
    assert len(a["sizes"]["off"]) == 2 and a["sizes"]["off"][-1]["placements"] > 0
    lines = (tmp_path / "shared.d" / "house_3_l_shaped.jsonl").read_text().splitlines()
    assert [json.loads(x)["session"] for x in lines] == [0, 1]
    capsys.readouterr()
    again = _run(tmp_path, "shared")
    assert "resumed" in capsys.readouterr().out
    assert again["houses"][0]["results"] == a["results"]


def test_every_stack_records_the_session_end_events(tmp_path):
    # Forgetting never deletes an event, so the stacks must hold the same events after every
    # session. At 320x240 this house's first session ends with perception's session-end
    # disappearances (PerceptionPipeline.end_session); a shared pipeline once handed them to the
    # first stack only (110 against 104 events).
    out = tmp_path / "ends.json"
    main(["--seeds", "0", "--styles", "corridor", "--days", "1", "--views", "6", "--per-category", "1",
          "--width", "320", "--height", "240", "--settings", "off,aggressive", "--out", str(out)])
    sizes = json.loads(out.read_text())["houses"][0]["sizes"]
    assert [s["events"] for s in sizes["off"]] == [s["events"] for s in sizes["aggressive"]]
    assert sizes["off"][-1]["events"] > sizes["off"][0]["events"]


def _house(style, seed, rights):
    """rights: setting -> list of (right, last_2_days) for the same questions."""
    res = [{"setting": s, "session": 0, "question": f"q{i}", "category": "where_now", "right": r, "last_2_days": l}
           for s, rl in rights.items() for i, (r, l) in enumerate(rl)]
    size = {"placements": 1, "keyframes": 1, "keyframe_bytes": 1, "file_bytes": 1, "day": 0}
    return {"seed": seed, "style": style, "results": res, "sizes": {s: [size] for s in rights}}


def test_summary_pairs_answers_and_names_worst_style():
    houses = [_house("a", 0, {"off": [(1, 1), (1, 1), (0, 0), (1, 0)], "aggressive": [(1, 1), (0, 1), (1, 0), (0, 0)]}),
              _house("b", 1, {"off": [(1, 1), (1, 1)], "aggressive": [(1, 1), (1, 1)]})]
    s = summarise(houses, {"off": {}, "aggressive": {}})
    vs = s["aggressive"]["vs_off"]
    assert vs["last_2_days"] == {"n": 4, "delta_points": -25.0, "lost": 1, "gained": 0, "se_points": 25.0}
    assert vs["all"]["lost"] == 2 and vs["all"]["gained"] == 1
    assert vs["per_style_last_2_days"]["a"]["delta_points"] == -50.0
    assert vs["max_cost_points_last_2_days"] == 50.0 and vs["criterion_met_overall"] is False
    assert s["aggressive"]["worst_style_last_2_days"] == "a" and s["off"]["accuracy_last_2_days"] == 1.0
