"""Belief over time: P(an object is still where it was last seen).

Model (a per-category hazard with a pooled prior, updated from the stored moves):

* An object leaves its place at a constant rate λ (a memoryless hazard), so after Δt without
  news it is still there with probability ``exp(-λ Δt)``.
* λ is estimated from the store's own placement history. A *stay* is one stored placement; it
  ended in a move when a later placement of the same object exists (or a disappearance closed
  it). Exposure = observed duration of every stay (``t_end - t_start``) plus, for a stay that
  ended, half the unobserved gap until the next placement began (the move happened somewhere in
  the gap; its middle is the unbiased guess for a uniform move time).
* Pooled prior: λ₀ = (moves + 1) / (exposure + 1 day) over the whole store. Per label
  (category): Gamma(α₀ = ``prior_moves``, β₀ = ``prior_moves`` / λ₀) updated with the label's
  moves m_c and exposure E_c → λ_c = (α₀ + m_c) / (β₀ + E_c). Per object: the category posterior
  is the prior (weight ``object_prior_moves`` pseudo-moves) updated with the object's own moves
  → λ_x. A category that never moved stays near λ₀ until it has exposure; one that moves often
  converges to its own rate.
* The prediction integrates over λ's posterior Gamma(a, b): P(still there | Δt) =
  (b / (b + Δt))^a — a little less confident than plugging in the mean, which keeps rarely seen
  categories calibrated.
* A place that was in view while the object was absent (a stored *disappeared* event after the
  last sighting) sets P to ``p_after_miss`` (perception misses objects now and then).

Times are the store clock's nanoseconds; rates per second internally."""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Callable, Optional

NS = 1_000_000_000
DAY_S = 86_400.0


@dataclass(frozen=True)
class Hazard:
    """Posterior Gamma(shape ``a``, rate ``b`` seconds) of the leave rate."""

    a: float
    b: float

    @property
    def rate_per_day(self) -> float:
        return self.a / self.b * DAY_S

    def p_still_there(self, dt_ns: int) -> float:
        dt = max(0.0, dt_ns / NS)
        return float(math.exp(-self.a * math.log1p(dt / self.b)))

    def updated(self, moves: float, exposure_s: float, weight: Optional[float] = None) -> "Hazard":
        a, b = self.a, self.b
        if weight is not None:         # rescale the prior to `weight` pseudo-moves, same mean
            b, a = b * weight / a, weight
        return Hazard(a + moves, b + exposure_s)


_PER_OBJECT = (
    "SELECT object_id, count(*) - 1 + max(cc), sum(t_end - t_start), sum(CASE WHEN g > 0 THEN g ELSE 0 END), "
    "max(CASE WHEN op THEN t_start END), sum(CASE WHEN op THEN t_end - t_start ELSE 0 END) "
    "FROM (SELECT p.object_id, p.t_start, p.t_end, (p.closed = 1 AND p.id = o.current_placement) AS cc, "
    "(p.closed = 0 AND p.id = o.current_placement) AS op, "
    "lead(p.t_start) OVER (PARTITION BY p.object_id ORDER BY p.t_start) - p.t_end AS g "
    "FROM placements p JOIN objects o ON o.id = p.object_id {where}) GROUP BY object_id")


class BeliefModel:
    """Hazard estimates for one store, computed lazily from its placements. Call :meth:`reset`
    when the store changed (the engine does, keyed on SQLite's data version)."""

    prior_moves = 1.0
    object_prior_moves = 3.0
    p_after_miss = 0.05

    def __init__(self, long_term, clock: Optional[Callable[[], Optional[int]]] = None) -> None:
        self.lt = long_term
        #: the store clock (ns), for the open stays' exposure in the pooled prior; None: the
        #: open stays count up to their last sighting only
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self, keep_prior: bool = False) -> None:
        """Forget the per-label rates (and the pooled prior unless ``keep_prior``)."""
        if not keep_prior:
            self._global: Optional[Hazard] = None
            # object id -> (moves, exposure s, open stay's start s or None, open stay's observed s)
            self._pooled: Optional[dict] = None
            # moves, exposure of the closed stays (s), number of open stays, sum of their starts (s),
            # sum of their observed durations (s)
            self._totals = [0.0, 0.0, 0.0, 0.0, 0.0]
        self._by_label: dict[str, tuple[Hazard, dict]] = {}

    def changed(self, object_ids) -> None:
        """The store changed: forget the per-label rates (one indexed query each when next
        needed) and fold the objects ``object_ids`` (those with new placements or events) into the
        pooled prior incrementally, instead of rescanning every placement. The open stays of the
        other objects (re-seen in place, or not) grow with the store clock: their exposure is
        counted at query time from their start times, so it needs no rescan either."""
        with self._lock:
            self._by_label = {}
            if self._pooled is None:
                return
            ids = sorted(int(i) for i in object_ids or ())
            for k in range(0, len(ids), 500):
                chunk = ids[k:k + 500]
                fresh = self._per_object(f"WHERE p.object_id IN ({','.join('?' * len(chunk))})", tuple(chunk))
                for oid in chunk:
                    self._fold(self._pooled.get(oid), -1.0)
                    self._fold(fresh.get(oid), 1.0)
                    if oid in fresh:
                        self._pooled[oid] = fresh[oid]
                    else:
                        self._pooled.pop(oid, None)
            self._global = None

    def _fold(self, row, sign: float) -> None:
        if row is None:
            return
        moves, exposure, open_start, open_obs = row
        t = self._totals
        t[0] += sign * moves
        t[1] += sign * (exposure - open_obs)
        t[4] += sign * open_obs
        if open_start is not None:
            t[2] += sign
            t[3] += sign * open_start

    def _prior(self, moves: float, exposure_s: float) -> Hazard:
        lam0 = (max(moves, 0.0) + 1.0) / (max(exposure_s, 0.0) + DAY_S)
        return Hazard(self.prior_moves, self.prior_moves / lam0)

    def _per_object(self, where: str, params: tuple) -> dict:
        """object id -> (moves, exposure s, open stay's start s or None, open stay's observed s)
        for the placements selected by ``where``. Exposure counts every stay up to its last
        sighting (the open one too) plus half of each gap that ended in a move."""
        out = {}
        for oid, moves, observed, gaps, open_start, open_obs in self.lt.read(_PER_OBJECT.format(where=where), params):
            out[oid] = (float(moves), (float(observed) + float(gaps) / 2.0) / NS,
                        None if open_start is None else float(open_start) / NS, float(open_obs or 0) / NS)
        return out

    def _pooled_exposure(self) -> float:
        """Closed stays' exposure plus every open stay up to the store clock (Σ (now − start), from
        the count and the sum of starts: O(1)); without a clock, up to their last sightings."""
        moves, closed, n_open, sum_start, open_obs = self._totals
        now = self.clock() if self.clock is not None else None
        if now is None:
            return closed + open_obs
        return closed + max(open_obs, n_open * (now / NS) - sum_start)

    def global_hazard(self) -> Hazard:
        with self._lock:
            if self._global is None:
                if self._pooled is None:
                    self._pooled = self._per_object("", ())
                    self._totals = [0.0, 0.0, 0.0, 0.0, 0.0]
                    for row in self._pooled.values():
                        self._fold(row, 1.0)
                self._global = self._prior(self._totals[0], self._pooled_exposure())
            return self._global

    def _label(self, label: str) -> tuple[Hazard, dict]:
        g = self.global_hazard()
        with self._lock:
            hit = self._by_label.get(label)
            if hit is None:
                per = self._per_object("WHERE o.label = ?", (label,))
                h = g.updated(sum(v[0] for v in per.values()), sum(v[1] for v in per.values()))
                if len(self._by_label) > 4096:
                    self._by_label.clear()
                hit = self._by_label[label] = (h, per)
            return hit

    def label_hazard(self, label: str) -> Hazard:
        return self._label(label)[0]

    def object_hazard(self, object_id: int, label: str) -> Hazard:
        h, per = self._label(label)
        m, e = per.get(int(object_id), (0.0, 0.0))[:2]
        return h.updated(m, e, weight=self.object_prior_moves)

    def p_still_there_many(self, items, now_ns: int) -> list[float]:
        """:meth:`p_still_there` for many ``(object_id, label, last_seen_ns, last_missed_ns)`` at
        once (the same numbers, without a Hazard object per item)."""
        out, rates = [], {}
        w = self.object_prior_moves
        for oid, label, seen, missed in items:
            if missed is not None and missed >= seen:
                out.append(self.p_after_miss)
                continue
            hit = rates.get(label)
            if hit is None:
                hit = rates[label] = self._label(label)
            h, per = hit
            m, e = per.get(int(oid), (0.0, 0.0))[:2]
            a, b = w + m, h.b * w / h.a + e
            dt = max(0.0, (now_ns - seen) / NS)
            out.append(float(math.exp(-a * math.log1p(dt / b))))
        return out

    def p_still_there(self, object_id: int, label: str, last_seen_ns: int, now_ns: int,
                      last_missed_ns: Optional[int] = None) -> float:
        """P(object is still where it was last seen, at ``now_ns``)."""
        if last_missed_ns is not None and last_missed_ns >= last_seen_ns:
            return self.p_after_miss
        return self.object_hazard(object_id, label).p_still_there(now_ns - last_seen_ns)
