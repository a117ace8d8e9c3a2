"""`robomem eval`: the embodied-QA evaluation end to end on one small house (real rendering, real
perception, real SQLite memories, the real retrieval engine), its outputs, and its bad input."""
import json

import pytest

from benchmarks.eqa_eval import history_questions, house_specs, make_simulator
from benchmarks.eqa_report import GROUPS, acceptance, ece, ece_of_a_calibrated_agent, summarise
from robomem import cli
from robomem.planning import InvalidPlanningSettingError
from robomem.planning.evaluation import parse_range
from sim.house_styles import LAYOUT_STYLES


@pytest.mark.slow
def test_robomem_eval_writes_results_and_plots(tmp_path, capsys):
    out = tmp_path / "results.json"
    plot = tmp_path / "acc_vs_path.png"
    rc = cli.main(["eval", "--houses", "1", "--seeds", "4", "--sessions", "1", "--questions", "2",
                   "--policies", "memory-only,voi-0.02", "--tour-views", "4", "--explore-views", "3",
                   "--out", str(out), "--plot", str(plot), "--no-progress"])
    assert rc == 0
    data = json.loads(out.read_text())
    recs = data["records"]
    assert {r["policy"] for r in recs} == {"memory-only", "voi-0.02"}
    assert {r["style"] for r in recs} == {"corridor"}
    groups = {r["group"] for r in recs}
    assert {"present", "counting", "robot history"} <= groups and groups <= set(GROUPS)
    # memory-only never moves; no policy moves for a memory question (looking cannot change the past)
    assert all(r["path_m"] == 0 and r["steps"] == 0 for r in recs if r["policy"] == "memory-only")
    assert all(r["path_m"] == 0 for r in recs if r["group"] != "present")
    s = data["summary"]["voi-0.02"]
    assert set(s["per_group"]) == set(GROUPS)
    for g in ("present", "robot history"):
        assert {"accuracy", "mean_path_m", "mean_steps", "mean_wall_s"} <= set(s["per_group"][g])
    assert plot.stat().st_size > 10_000 and (tmp_path / "results_reliability.png").stat().st_size > 10_000
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == len(recs)                           # every episode written as its session finished
    assert "| policy |" in capsys.readouterr().out


def test_robomem_eval_runs_houses_in_worker_processes(tmp_path):
    """``--jobs 2`` (the documented command) sends the parsed arguments to worker processes."""
    out = tmp_path / "results.json"
    rc = cli.main(["eval", "--houses", "2", "--sessions", "1", "--questions", "1", "--memory-questions", "0",
                   "--history-questions", "0", "--policies", "memory-only", "--tour-views", "2", "--jobs", "2",
                   "--out", str(out), "--plot", str(tmp_path / "p.png"), "--no-progress"])
    assert rc == 0
    recs = json.loads(out.read_text())["records"]
    assert {r["style"] for r in recs} == {"corridor", "bsp"}


@pytest.mark.parametrize("argv, msg", [
    (["--houses", "0"], "--houses must be a positive integer"),
    (["--thresholds", "a,b"], "--thresholds: expected comma-separated numbers"),
    (["--sim", "gazebo"], "invalid choice"),
])
def test_bad_options_are_refused_before_anything_runs(argv, msg, capsys):
    with pytest.raises(SystemExit):
        cli.main(["eval", *argv])
    assert msg in capsys.readouterr().err


def test_unknown_policy_and_bad_house_index_name_the_argument(tmp_path, capsys):
    base = ["eval", "--houses", "1", "--out", str(tmp_path / "r.json"), "--no-progress"]
    assert cli.main([*base, "--policies", "voi-7"]) == 2
    assert "policies: unknown ['voi-7']" in capsys.readouterr().err
    assert cli.main([*base, "--only", "3"]) == 2
    assert "only: house indices must be in 0..0" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_habitat_without_habitat_sim_is_a_clear_error(tmp_path, capsys):
    from sim.habitat import habitat_available
    if habitat_available():
        pytest.skip("habitat_sim is installed here")
    rc = cli.main(["eval", "--houses", "1", "--sim", "habitat", "--out", str(tmp_path / "r.json"), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "habitat" in err.lower() and "install" in err.lower()
    with pytest.raises(ImportError):
        make_simulator("habitat", None, 160, 120)


def test_houses_cycle_every_style_and_seeds_parse():
    specs = house_specs(10)
    assert [s for _, s in specs[:5]] == list(LAYOUT_STYLES) and {s for _, s in specs} == set(LAYOUT_STYLES)
    assert [seed for seed, _ in house_specs(3, [7, 8, 9])] == [7, 8, 9]
    assert parse_range("0-2,5") == [0, 1, 2, 5]
    with pytest.raises(InvalidPlanningSettingError, match="seeds"):
        house_specs(3, [1])
    with pytest.raises(InvalidPlanningSettingError, match="seeds"):
        parse_range("x-1")


def test_history_questions_name_a_minute_and_its_room():
    class Log:
        def session(self, k):
            return type("S", (), {"t_end": 1_800_000_000 * 10**9 + 7200 * 10**9})()
    t0 = 1_800_000_000 * 10**9          # 2027-01-15 08:00 UTC
    tour = [(t0 + i * 20 * 10**9, 1 + i // 6) for i in range(18)]    # 2 min per room
    import numpy as np
    qs = history_questions(tour, 1, Log(), np.random.default_rng(0), 3)
    assert len(qs) == 3
    for q in qs:
        assert q["text"].startswith("where were you today at ")
        assert q["truth_room"] == [r for t, r in tour if t <= q["time_ns"]][-1]


def _rec(policy, correct, path, conf, group="present", moved=False, house=0):
    return {"policy": policy, "correct": correct, "path_m": path, "steps": int(path > 0), "wall_s": 1.0,
            "confidence": conf, "group": group, "category": "where_now", "moved": moved, "house": house,
            "style": "bsp", "cannot_answer": False}


def test_acceptance_checks_on_hand_built_records():
    recs = [_rec("explore-always", c, 20.0, 0.8, moved=True) for c in (1, 1, 1, 1, 0)]
    recs += [_rec("voi-0.01", c, 6.0, 0.8, moved=True) for c in (1, 1, 1, 1, 0)]
    recs += [_rec("threshold-0.9", c, 10.0, 0.8, moved=True) for c in (1, 1, 1, 0, 0)]
    recs += [_rec("memory-only", c, 0.0, 0.6, moved=True) for c in (0, 0, 0, 0, 1)]
    acc = acceptance(summarise(recs))
    assert acc["voi_vs_explore"]["met"] and acc["voi_vs_explore"]["path_ratio"] == pytest.approx(0.3)
    assert acc["voi_vs_explore"]["steps_saved"] == pytest.approx(0.0)
    assert acc["voi_over_threshold"]["met"]
    assert acc["memory_only_moved"]["met"]
    # a threshold point VoI cannot reach within its path is a failure of the curve check
    recs += [_rec("threshold-0.5", 1, 3.0, 0.9) for _ in range(5)]
    assert not acceptance(summarise(recs))["voi_over_threshold"]["met"]
    assert ece([0.8] * 5, [1, 1, 1, 1, 0]) == pytest.approx(0.0)
    assert ece([1.0, 1.0], [0, 0]) == pytest.approx(1.0)


def test_the_ece_of_a_calibrated_agent_is_sampling_noise_that_shrinks_with_n():
    # certain answers leave no noise; middling ones on few questions a lot, less on more
    assert ece_of_a_calibrated_agent([1.0] * 50) == (0.0, 0.0)
    few, _ = ece_of_a_calibrated_agent([0.5, 0.7, 0.9] * 40)
    many, _ = ece_of_a_calibrated_agent([0.5, 0.7, 0.9] * 400)
    assert 0.03 < few < 0.08 and many < few / 2


def test_voi_sweep_scales_travel_and_time_costs_together():
    from robomem.planning.evaluation import TIME_COST_RATIO, policies
    pols = {name: costs for name, _, costs in policies([0.9], [0.0001, 0.02])}
    assert set(pols) == {"memory-only", "explore-always", "threshold-0.9", "voi-0.0001", "voi-0.02"}
    lo, hi = pols["voi-0.0001"], pols["voi-0.02"]
    assert lo.cost_per_m == 0.0001 and hi.cost_per_m == 0.02
    assert abs(lo.cost_per_s / lo.cost_per_m - TIME_COST_RATIO) < 1e-12 and hi.cost_per_s > 100 * lo.cost_per_s


def test_the_default_sweep_measures_the_agents_default_cost_model():
    import argparse
    from robomem.planning.evaluation import add_arguments, policies
    from robomem.planning.voi import CostModel
    ap = argparse.ArgumentParser()
    add_arguments(ap)
    args = ap.parse_args([])
    pols = {name: costs for name, _, costs in policies(args.thresholds, args.cost_weights)}
    d = CostModel()
    same = [n for n, c in pols.items() if n.startswith("voi-") and c.cost_per_m == pytest.approx(d.cost_per_m)
            and c.cost_per_s == pytest.approx(d.cost_per_s)]
    assert same == [f"voi-{d.cost_per_m:g}"]
