"""Summaries, acceptance checks, tables and plots of the embodied-QA evaluation
(:mod:`benchmarks.eqa_eval`). Pure functions over the episode records (one dict per question and
policy); no simulator needed, so a partial JSONL file can be summarised while a run goes on:

    python benchmarks/eqa_report.py out/eqa/eqa_records.jsonl --out out/eqa
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

#: Question category (the generator's key) -> the group reported (issue 13's names).
CATEGORY_GROUPS = {"where_now": "present", "which_room": "present", "where_at_time": "past", "last_seen": "past",
                   "changes": "past-and-present", "count_in_room": "counting", "nearest": "relations",
                   "where_was_i": "robot history"}
GROUPS = ("present", "past", "past-and-present", "counting", "relations", "robot history")


def ece(conf, correct, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-width confidence bins."""
    conf, correct = np.asarray(conf, float), np.asarray(correct, float)
    if conf.size == 0:
        return float("nan")
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    e = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            e += m.mean() * abs(conf[m].mean() - correct[m].mean())
    return float(e)


def ece_of_a_calibrated_agent(conf, bins: int = 10, draws: int = 2000, seed: int = 0) -> tuple[float, float]:
    """(mean, 90th percentile) of the ECE that a *perfectly calibrated* agent stopping with these
    confidences would score: each outcome drawn right with its stated probability. On a few hundred
    questions this is far from 0 (e.g. 0.05-0.07 for 120-240 questions with many low or middling
    confidences), so it is the yardstick an observed ECE is read against."""
    conf = np.asarray(conf, float)
    if conf.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    sims = np.array([ece(conf, rng.random(conf.size) < conf, bins) for _ in range(draws)])
    return float(sims.mean()), float(np.percentile(sims, 90))


def _stats(rs: list[dict]) -> dict:
    if not rs:
        return {"n": 0}
    return {"n": len(rs), "accuracy": float(np.mean([r["correct"] for r in rs])),
            "mean_path_m": float(np.mean([r["path_m"] for r in rs])),
            "mean_steps": float(np.mean([r["steps"] for r in rs])),
            "mean_wall_s": float(np.mean([r["wall_s"] for r in rs]))}


def summarise(records: list[dict]) -> dict:
    """Per policy: all questions, per category group, present questions about moved / unmoved
    objects, worst house and worst style (present questions), ECE of the stop (present questions:
    the ones where the agent decides whether to look)."""
    out = {}
    by = defaultdict(list)
    for r in records:
        by[r["policy"]].append(r)
    for name, rs in by.items():
        present = [r for r in rs if r["group"] == "present"]
        groups = {g: _stats([r for r in rs if r["group"] == g]) for g in GROUPS}
        houses, styles = defaultdict(list), defaultdict(list)
        for r in present:
            houses[r["house"]].append(r["correct"])
            styles[r.get("style", "?")].append(r["correct"])
        per_style = {k: float(np.mean(v)) for k, v in sorted(styles.items())}
        out[name] = {**_stats(rs), "per_group": groups,
                     "per_category": {c: _stats([r for r in rs if r["category"] == c])
                                      for c in sorted({r["category"] for r in rs})},
                     "present": _stats(present),
                     "present_moved": _stats([r for r in present if r["moved"]]),
                     "present_unmoved": _stats([r for r in present if not r["moved"]]),
                     "worst_house_accuracy": float(min(np.mean(v) for v in houses.values())) if houses else None,
                     "per_style_present": per_style,
                     "worst_style": min(per_style.items(), key=lambda kv: kv[1]) if per_style else None,
                     "ece": ece([r["confidence"] for r in present], [r["correct"] for r in present]),
                     "ece_calibrated_agent": dict(zip(("mean", "p90"), ece_of_a_calibrated_agent(
                         [r["confidence"] for r in present], draws=500))),
                     "cannot_answer": int(sum(r["cannot_answer"] for r in rs)),
                     "answerable_accuracy": _stats([r for r in rs if r.get("answerable", True)]).get("accuracy")}
    return out


def _curve(summary: dict, prefix: str) -> list[tuple[float, float, str]]:
    return sorted((s["present"]["mean_path_m"], s["present"]["accuracy"], n) for n, s in summary.items()
                  if n.startswith(prefix) and s["present"]["n"])


def acceptance(summary: dict) -> dict:
    """Issue 13's checks on present questions (where acting matters): the best VoI point within 2
    points of explore-always at <= 40% of its path; VoI's curve (best VoI accuracy at a path no
    longer than the threshold point's) on or above every threshold point; memory-only on moved
    objects; ECE of the stop; steps and path saved against explore-always."""
    out: dict = {}
    ex = summary.get("explore-always", {}).get("present")
    voi = _curve(summary, "voi-")
    thr = _curve(summary, "threshold-")
    if ex and ex["n"] and voi:
        ok = [(p, a, n) for p, a, n in voi if p <= 0.4 * ex["mean_path_m"] and a >= ex["accuracy"] - 0.02]
        best = max(ok, key=lambda t: (t[1], -t[0])) if ok else max(voi, key=lambda t: t[1])
        s = summary[best[2]]["present"]
        out["voi_vs_explore"] = {"met": bool(ok), "policy": best[2], "voi_accuracy": best[1],
                                 "explore_accuracy": ex["accuracy"], "path_ratio": best[0] / max(ex["mean_path_m"], 1e-9),
                                 "steps_saved": ex["mean_steps"] - s["mean_steps"],
                                 "path_saved_m": ex["mean_path_m"] - s["mean_path_m"],
                                 "wall_ratio": s["mean_wall_s"] / max(ex["mean_wall_s"], 1e-9)}
    if voi and thr:
        rows = []
        for p, a, n in thr:
            reach = [va for vp, va, _ in voi if vp <= p + 1e-9]
            rows.append({"threshold": n, "path_m": p, "accuracy": a, "voi_best_within_path": max(reach) if reach else None,
                         "voi_at_or_above": bool(reach) and max(reach) >= a - 1e-9})
        out["voi_over_threshold"] = {"met": all(r["voi_at_or_above"] for r in rows), "points": rows}
    mo = summary.get("memory-only", {}).get("present_moved")
    if mo and mo["n"]:
        acting = {n: s["present_moved"]["accuracy"] for n, s in summary.items() if n != "memory-only" and s["present_moved"]["n"]}
        out["memory_only_moved"] = {"memory_only": mo["accuracy"], "acting_min": min(acting.values()) if acting else None,
                                    "met": bool(acting) and mo["accuracy"] + 0.1 <= min(acting.values())}
    out["ece"] = {n: s["ece"] for n, s in summary.items()}
    return out


def pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def markdown(summary: dict) -> str:
    """Per policy: accuracy, path, steps and wall time over all questions and per category group."""
    head = ["policy", "n", "all", *GROUPS, "present moved", "path m", "steps", "wall s", "ECE (stop)"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, s in summary.items():
        g = s["per_group"]
        rows.append("| " + " | ".join([name, str(s["n"]), pct(s["accuracy"]),
                                        *[f"{pct(g[k].get('accuracy'))}" for k in GROUPS],
                                        pct(s["present_moved"].get("accuracy")), f"{s['mean_path_m']:.1f}",
                                        f"{s['mean_steps']:.2f}", f"{s['mean_wall_s']:.2f}", f"{s['ece']:.3f}"]) + " |")
    return "\n".join(rows)


def markdown_groups(summary: dict) -> str:
    """Per policy and category group: n, accuracy, path m, steps, wall s."""
    rows = ["| policy | group | n | accuracy | path m | steps | wall s |", "|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        for g in GROUPS:
            x = s["per_group"][g]
            if x["n"]:
                rows.append(f"| {name} | {g} | {x['n']} | {pct(x['accuracy'])} | {x['mean_path_m']:.1f} | "
                            f"{x['mean_steps']:.2f} | {x['mean_wall_s']:.2f} |")
    return "\n".join(rows)


def markdown_styles(summary: dict) -> str:
    styles = sorted({k for s in summary.values() for k in s["per_style_present"]})
    rows = ["| policy | " + " | ".join(styles) + " | worst style |", "|---|" + "---|" * (len(styles) + 1)]
    for name, s in summary.items():
        w = s["worst_style"]
        rows.append(f"| {name} | " + " | ".join(pct(s["per_style_present"].get(k)) for k in styles)
                    + f" | {w[0]} {pct(w[1])} |")
    return "\n".join(rows)


def _groups_of(summary: dict) -> dict:
    groups = defaultdict(list)
    for name in summary:
        groups[name.split("-")[0] if name.startswith(("threshold", "voi")) else name].append(name)
    return groups


def plot(summary: dict, path: Path) -> None:
    """Accuracy against mean path per question, every policy; present questions (left) and all
    questions (right)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    style = {"memory-only": ("s", "tab:gray"), "explore-always": ("^", "tab:red"), "threshold": ("o", "tab:blue"),
             "voi": ("D", "tab:green")}
    labels = {"memory-only": "memory-only", "explore-always": "explore-always",
              "threshold": "confidence threshold (sweep τ)", "voi": "value of information (sweep cost weight w)"}
    for ax, key, title in ((axes[0], "present", "present questions (where / which room now)"),
                           (axes[1], None, "all questions (every category)")):
        ys_all: list = []
        for g, names in _groups_of(summary).items():
            pts = sorted(((summary[n][key] if key else summary[n])["mean_path_m"],
                          100 * (summary[n][key] if key else summary[n])["accuracy"], n) for n in names
                         if (summary[n][key] if key else summary[n]).get("n"))
            if not pts:
                continue
            m, c = style.get(g, ("x", "black"))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=m, color=c, label=labels.get(g, g),
                    linestyle="-" if len(pts) > 1 else "none")
            same: dict = defaultdict(list)              # points that coincide share one label
            for x, y, n in pts:
                if n.startswith(("threshold", "voi")):
                    same[(round(x, 1), round(y, 1))].append(n.split("-", 1)[1])
            for i, ((x, y), vals) in enumerate(sorted(same.items())):
                thr = g == "threshold"
                off = (4, -12 - 8 * (i % 2)) if thr else (4, 6 + 8 * (i % 2))
                ax.annotate(("τ=" if thr else "w=") + ", ".join(vals), (x, y), textcoords="offset points",
                            xytext=off, fontsize=7, color=c)
            ys_all.extend(p[1] for p in pts)
        if ys_all:
            ax.set_ylim(min(ys_all) - 6, max(ys_all) + 6)
        ax.set_xlabel("mean path per question (m)")
        ax.set_ylabel("accuracy (% of first answers right)")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=7)
    n_q = max((s["present"]["n"] for s in summary.values()), default=0)
    fig.suptitle(f"Embodied QA over days: accuracy versus path per policy ({n_q} present questions per policy)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reliability(records: list, path: Path, bins: int = 5) -> None:
    """Reliability diagram of the stop (present questions): stated confidence against the fraction
    right, per acting policy."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle=":", label="perfect calibration")
    by = defaultdict(list)
    for r in records:
        if r["group"] == "present":
            by[r["policy"]].append(r)
    for name, rs in sorted(by.items()):
        if not name.startswith(("voi", "threshold", "explore")):
            continue
        conf = np.array([r["confidence"] for r in rs])
        ok = np.array([r["correct"] for r in rs], float)
        idx = np.minimum((conf * bins).astype(int), bins - 1)
        xs, ys = [], []
        for b in range(bins):
            m = idx == b
            if m.sum() >= 3:
                xs.append(conf[m].mean())
                ys.append(ok[m].mean())
        ax.plot(xs, ys, marker="o", linestyle="--" if name.startswith("threshold") else "-",
                label=f"{name} (ECE {ece(conf, ok):.3f}, n={len(rs)})")
    ax.set_xlabel("confidence when the agent stopped")
    ax.set_ylabel("fraction of answers right")
    ax.set_title("Calibration of the stop, present questions\n(5 bins, bins with >= 3 answers)", fontsize=10)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(summary: dict, records: list) -> str:
    houses = sorted({(r["house"], r.get("style", "?")) for r in records})
    sessions = sorted({(r["house"], r["session"]) for r in records})
    lines = [f"{len(houses)} houses {houses}, {len(sessions)} house-sessions, {len(records)} episodes",
             markdown(summary), "", markdown_styles(summary), "", json.dumps(acceptance(summary), indent=1)]
    return "\n".join(lines)


def write_outputs(records: list, json_path: Path, plot_path: Path | None = None,
                  reliability_path: Path | None = None, extra: dict | None = None) -> dict:
    """The results JSON (summary, acceptance checks, records) and the two plots; returns the summary."""
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    summary = summarise(records)
    json_path.write_text(json.dumps({**(extra or {}), "summary": summary, "acceptance": acceptance(summary),
                                     "records": records}, indent=1))
    if plot_path is not None:
        plot(summary, Path(plot_path))
    if reliability_path is not None:
        plot_reliability(records, Path(reliability_path))
    return summary


def read_records(paths) -> list[dict]:
    """Records from eqa_results.json files or eqa_records.jsonl files (partial runs welcome)."""
    records = []
    for f in paths:
        text = Path(f).read_text()
        if str(f).endswith(".jsonl"):
            records += [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            records += json.loads(text)["records"]
    return records


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="summarise eqa_eval records (JSON or JSONL, partial runs too)")
    ap.add_argument("inputs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("out/eqa"), help="folder for the results JSON and plots")
    args = ap.parse_args(argv)
    records = read_records(args.inputs)
    summary = write_outputs(records, args.out / "eqa_results.json", args.out / "eqa_accuracy_vs_path.png",
                            args.out / "eqa_reliability.png", {"merged": [str(p) for p in args.inputs]})
    print(report(summary, records))
    print(markdown_groups(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
