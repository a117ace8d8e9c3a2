"""The embodied-QA evaluation's settings, shared by ``robomem eval`` and
``benchmarks/eqa_eval.py`` (the harness, which drives the simulator: ``robomem`` never imports
``sim``, so the harness is loaded from the source tree when the command runs).

- :func:`add_arguments` / :func:`finish_args`: the command-line options;
- :func:`policies`: the policies compared (memory-only, explore-always, the threshold sweep, the
  value-of-information cost-weight sweep), each with its cost model;
- :func:`parse_range`: "0-4,7" -> [0, 1, 2, 3, 4, 7];
- :func:`load_harness`: the harness module (``benchmarks.eqa_eval``) or a clear error."""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Sequence

from robomem.errors import RobomemError
from robomem.planning.errors import InvalidPlanningSettingError
from robomem.planning.policies import ExploreAlwaysPolicy, MemoryOnlyPolicy, ThresholdPolicy, VoIPolicy
from robomem.planning.voi import CostModel

__all__ = ["add_arguments", "finish_args", "policies", "voi_costs", "TIME_COST_RATIO", "DEFAULT_COST_PER_M", "parse_range",
           "load_harness", "HarnessUnavailableError", "SIMULATORS"]

#: Simulators the harness can drive through the ``sim.base.Simulator`` interface.
SIMULATORS = ("embedded", "habitat")


class HarnessUnavailableError(RobomemError):
    """The evaluation harness (``benchmarks/eqa_eval.py`` and the ``sim`` package) is not here."""


#: The agent's default cost per metre (``CostModel().cost_per_m``): always in the default sweep, so
#: what a user gets by default is measured.
DEFAULT_COST_PER_M = CostModel().cost_per_m

#: Seconds' cost per metre's cost in the VoI sweep: the default cost model's ratio (0.0005 / 0.01).
TIME_COST_RATIO = CostModel().cost_per_s / CostModel().cost_per_m


def voi_costs(w: float) -> CostModel:
    """The VoI sweep's cost model for weight ``w``: cost per metre ``w`` and per second
    ``w * TIME_COST_RATIO`` (travel and the time it takes scale together; with the time cost held
    fixed, lowering ``w`` below ~0.003 changes nothing, since a look's time then costs more than its
    metres)."""
    return CostModel(cost_per_m=w, cost_per_s=w * TIME_COST_RATIO)


def policies(thresholds: Sequence[float], cost_weights: Sequence[float]) -> list[tuple]:
    """(name, policy, cost model) for memory-only, explore-always, ``threshold-<t>`` per threshold
    and ``voi-<w>`` per cost weight ``w`` (:func:`voi_costs`)."""
    out = [("memory-only", MemoryOnlyPolicy(), CostModel()), ("explore-always", ExploreAlwaysPolicy(), CostModel())]
    out += [(f"threshold-{t:g}", ThresholdPolicy(t), CostModel()) for t in thresholds]
    out += [(f"voi-{w:g}", VoIPolicy(), voi_costs(w)) for w in cost_weights]
    return out


def parse_range(text: str, name: str = "seeds") -> list[int]:
    """"0-4,7" -> [0, 1, 2, 3, 4, 7]; raises :class:`InvalidPlanningSettingError` naming ``name``."""
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                a, b = part.split("-")
                out += list(range(int(a), int(b) + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise InvalidPlanningSettingError(f"{name}: expected numbers or ranges like 0-4,7, got {text!r}") from None
    return out


def _floats(name: str):
    def parse(text: str) -> list[float]:
        try:
            return [float(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: expected comma-separated numbers, got {text!r}") from None
    parse.__name__ = "numbers"
    return parse


def _positive_int(name: str):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = 0
        if v < 1:
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {text!r}")
        return v
    parse.__name__ = "int"
    return parse


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The evaluation's options (``robomem eval`` and ``benchmarks/eqa_eval.py``)."""
    ap.add_argument("--houses", type=_positive_int("--houses"), default=10,
                    help="number of houses; styles cycle corridor, bsp, open_plan, l_shaped, real")
    ap.add_argument("--seeds", default=None, help="house seeds, e.g. 0-9 or 3,5,8 (default 0..houses-1)")
    ap.add_argument("--only", default=None, help="run only these house indices (of --houses), e.g. 0-3; to split a run")
    ap.add_argument("--sessions", type=_positive_int("--sessions"), default=3, help="question sessions after the day-0 tour")
    ap.add_argument("--days", type=_positive_int("--days"), default=2, help="days simulated (at least enough for the sessions)")
    ap.add_argument("--questions", type=int, default=4, help="present questions per session")
    ap.add_argument("--memory-questions", type=int, default=1,
                    help="questions per memory category (past, past-and-present, counting, relations) per session")
    ap.add_argument("--history-questions", type=int, default=1, help="robot-history questions per session")
    ap.add_argument("--policies", default=None, help="comma-separated subset of policy names to run")
    ap.add_argument("--thresholds", type=_floats("--thresholds"), default=[0.6, 0.8, 0.95],
                    help="confidence thresholds swept (comma-separated)")
    ap.add_argument("--cost-weights", type=_floats("--cost-weights"), default=[0.0001, 0.0003, 0.001, 0.003, DEFAULT_COST_PER_M, 0.02],
                    help="VoI cost weights swept (comma-separated): cost per metre w, per second w * 0.05; "
                         f"the default includes the agent's own default, {DEFAULT_COST_PER_M:g}")
    ap.add_argument("--sim", choices=SIMULATORS, default="embedded",
                    help="embedded (Open3D, default) or habitat (needs habitat_sim)")
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    ap.add_argument("--tour-views", type=int, default=6)
    ap.add_argument("--explore-views", type=int, default=6)
    ap.add_argument("--verify-views", type=int, default=3)
    ap.add_argument("--max-steps", type=int, default=12, help="budget: steps per question")
    ap.add_argument("--max-path", type=float, default=250.0, help="budget: metres per question")
    ap.add_argument("--recall", choices=("memory", "retrieval"), default="memory",
                    help="present-question beliefs from MemoryStack.where_is + hand-set hazards, or from retrieval")
    ap.add_argument("--detection", choices=("fitted", "constant"), default="fitted",
                    help="detection probability of a look: per category, fitted on other houses (seeds 20-39, "
                         "benchmarks/eqa_detection.json; default), or the constant 0.75 explore / 0.9 verify")
    ap.add_argument("--paths", choices=("map", "sim"), default="map",
                    help="plan paths, travel costs and reachability on the robot's own map (default; the simulator "
                         "only executes the motion) or on the simulator's navigation grid (the earlier set-up)")
    ap.add_argument("--traces", action="store_true", help="keep every decision trace in the JSON")
    ap.add_argument("--jobs", type=_positive_int("--jobs"), default=1, help="houses run in this many processes")
    ap.add_argument("--out", default="out/eqa/eqa_results.json", help="results JSON")
    ap.add_argument("--jsonl", default=None, help="episodes as they finish (default: --out with .jsonl)")
    ap.add_argument("--plot", default=None, help="accuracy-versus-path PNG (default: next to --out)")
    ap.add_argument("--reliability-plot", default=None, help="reliability PNG (default: next to --out)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")


def finish_args(args) -> None:
    """Fill the defaults that depend on other options."""
    out = Path(args.out)
    if args.plot is None:
        args.plot = str(out.with_name(out.stem + "_accuracy_vs_path.png"))
    if args.reliability_plot is None:
        args.reliability_plot = str(out.with_name(out.stem + "_reliability.png"))


def load_harness():
    """The harness module ``benchmarks.eqa_eval`` from the source tree this package lives in."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "benchmarks" / "eqa_eval.py").is_file() or not (root / "sim").is_dir():
        raise HarnessUnavailableError(f"the evaluation harness is not here ({root}/benchmarks/eqa_eval.py and the "
                                      "sim package): run robomem eval from a source checkout")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module("benchmarks.eqa_eval")
