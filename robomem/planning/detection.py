"""How likely one look is to see a target that is there, per category: small and flat things (pens,
phones, remotes, keys) are missed far more often than bags or mugs.

A look is an *explore* (turn round at a room's look-out point) or a *verify* (look at a remembered
place from beside it). :class:`DetectionModel` gives ``d = σ(base_kind + δ_c)``: a base log-odds per
kind of look and a per-category *visibility* shift δ_c (0 for a category it knows nothing of), so a
category that is hard to see from a room's look-out point is also harder to see from close by.
:meth:`DetectionModel.fit` learns it from looks whose truth is known (the target was there; seen
or not): the base rates pooled over the looks, and each category's δ the maximum a posteriori
estimate under a normal prior N(0, ``spread``²) on δ (few looks: a shift near 0, the base rate).
See docs/planning.md."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np

from robomem.planning.errors import InvalidPlanningSettingError

__all__ = ["DetectionModel", "LOOK_KINDS"]

#: The kinds of look a detection is given for.
LOOK_KINDS = ("explore", "verify")


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1.0 - 1e-6)
    return math.log(p / (1.0 - p))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def _check_p(v, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0.0 < float(v) < 1.0:
        raise InvalidPlanningSettingError(f"{name} must be a probability strictly between 0 and 1, got {v!r}")
    return float(v)


@dataclass(frozen=True)
class DetectionModel:
    """P(one look sees the target | it is there) by kind of look and category.

    ``explore``, ``verify``: the detection of a look of that kind at a category of visibility 0;
    ``visibility``: category → log-odds shift δ_c (negative: harder to see)."""

    explore: float = 0.75
    verify: float = 0.9
    visibility: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_p(self.explore, "explore")
        _check_p(self.verify, "verify")
        vis = {}
        for c, v in dict(self.visibility).items():
            if not isinstance(c, str) or isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) \
                    or not math.isfinite(float(v)):
                raise InvalidPlanningSettingError(f"visibility[{c!r}] must be a finite number, got {v!r}")
            vis[c] = float(v)
        object.__setattr__(self, "visibility", vis)

    def detection(self, label: str, kind: str) -> float:
        """P(a look of ``kind`` ("explore"/"verify") sees a ``label`` that is there)."""
        if kind not in LOOK_KINDS:
            raise InvalidPlanningSettingError(f"kind must be one of {LOOK_KINDS}, got {kind!r}")
        base = self.explore if kind == "explore" else self.verify
        shift = self.visibility.get(label, 0.0)
        return base if shift == 0.0 else float(_sigmoid(_logit(base) + shift))

    def to_dict(self) -> dict:
        return {"explore": self.explore, "verify": self.verify, "visibility": dict(self.visibility)}

    @classmethod
    def fit(cls, looks: Iterable[tuple[str, str, bool]], *, spread: float = 1.0, prior: "DetectionModel" = None,
            prior_looks: float = 4.0, iterations: int = 30) -> "DetectionModel":
        """Learn from ``looks``: (category, kind, seen) for looks at a place where the target really
        was. Base rate per kind: (seen + ``prior_looks`` × the ``prior``'s rate) / (looks +
        ``prior_looks``); per category the MAP log-odds shift under N(0, ``spread``²) over all its
        looks of either kind (Newton's method). A kind without looks keeps the prior's rate."""
        prior = prior or cls()
        if not (isinstance(spread, (int, float)) and spread > 0 and math.isfinite(spread)):
            raise InvalidPlanningSettingError(f"spread must be a positive number, got {spread!r}")
        rows = []
        for c, kind, seen in looks:
            if kind not in LOOK_KINDS:
                raise InvalidPlanningSettingError(f"look kind must be one of {LOOK_KINDS}, got {kind!r}")
            rows.append((str(c), kind, bool(seen)))
        base = {}
        for kind in LOOK_KINDS:
            ys = [s for _, k, s in rows if k == kind]
            p0 = getattr(prior, kind)
            base[kind] = (sum(ys) + prior_looks * p0) / (len(ys) + prior_looks)
        by_cat: dict = defaultdict(list)
        for c, kind, seen in rows:
            by_cat[c].append((_logit(base[kind]), float(seen)))
        vis = {}
        for c, obs in by_cat.items():
            b = np.array([o[0] for o in obs])
            y = np.array([o[1] for o in obs])
            d = 0.0
            for _ in range(iterations):          # maximise Σ log Bernoulli(y | σ(b + d)) − d² / 2 spread²
                p = _sigmoid(b + d)
                grad = float(np.sum(y - p)) - d / spread ** 2
                hess = -float(np.sum(p * (1 - p))) - 1.0 / spread ** 2
                step = grad / hess
                d -= step
                if abs(step) < 1e-9:
                    break
            if abs(d) > 1e-6:
                vis[c] = round(d, 3)
        return cls(explore=round(base["explore"], 3), verify=round(base["verify"], 3), visibility=vis)

