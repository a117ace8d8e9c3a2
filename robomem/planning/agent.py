"""The agent loop: question → recall (a belief) → decide → act (go and look) → update → re-decide
→ answer, with a JSON-serialisable decision trace.

The agent knows the world only through three callables, so the same loop drives the embedded
simulator, Habitat or a real robot:

- ``recall(question) -> Belief`` (raise :class:`UnsupportedQuestionError` for a question it cannot
  parse or act on),
- ``path_length(start_xyz, goal_xyz) -> metres | None`` (None: unreachable),
- ``act(action) -> Outcome`` (go to ``action.goal``, look around, report whether the target was
  seen, where, and the path actually driven)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Protocol

from robomem.planning.belief import Belief, certain_at, update_after_look
from robomem.planning.errors import InvalidPlanningSettingError, UnsupportedQuestionError
from robomem.planning.policies import VoIPolicy
from robomem.planning.voi import Action, Budget, CostModel, PathLength, candidate_actions, score_actions

__all__ = ["Outcome", "Episode", "Agent", "CANNOT_ANSWER"]

CANNOT_ANSWER = "cannot answer"


@dataclass(frozen=True)
class Outcome:
    """What one act produced: ``path_m`` and ``time_s`` actually spent, the robot's ``pose`` (x, y, z)
    after it, and, when the target was seen, ``seen_key`` (a hypothesis key, existing or new),
    ``seen_position``, ``seen_room`` and ``seen_answer``. ``belief``: optionally a fresh recall
    (memory updated on the way); the agent re-applies its own misses to it. ``reached``: False when
    the robot could not get to the goal."""

    path_m: float
    time_s: float
    pose: tuple
    seen_key: Optional[str] = None
    seen_position: Optional[tuple] = None
    seen_room: Optional[int] = None
    seen_answer: Any = None
    belief: Optional[Belief] = None
    reached: bool = True

    def to_dict(self) -> dict:
        return {"path_m": self.path_m, "time_s": self.time_s, "pose": list(self.pose), "seen_key": self.seen_key,
                "seen_position": None if self.seen_position is None else list(self.seen_position),
                "seen_room": self.seen_room, "seen_answer": self.seen_answer, "reached": self.reached}


@dataclass
class Episode:
    """One question's episode: the ``answer`` (or "cannot answer"), ``confidence`` (P(right) when it
    stopped), the ``evidence`` hypothesis, the path, steps, times, why it stopped, unreachable
    places and the decision ``trace`` (one record per decision, JSON-serialisable)."""

    question: Any
    answer: Any = CANNOT_ANSWER
    confidence: float = 0.0
    evidence: Optional[dict] = None
    path_m: float = 0.0
    steps: int = 0
    time_s: float = 0.0
    wall_s: float = 0.0
    stop_reason: str = ""
    cannot_answer: bool = False
    unreachable: list = field(default_factory=list)
    poses: list = field(default_factory=list)
    trace: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"question": self.question if isinstance(self.question, (str, dict)) else str(self.question),
                "answer": self.answer, "confidence": self.confidence, "evidence": self.evidence,
                "path_m": self.path_m, "steps": self.steps, "time_s": self.time_s, "wall_s": self.wall_s,
                "stop_reason": self.stop_reason, "cannot_answer": self.cannot_answer,
                "unreachable": list(self.unreachable), "poses": [list(p) for p in self.poses], "trace": self.trace}


class Recall(Protocol):
    def __call__(self, question: Any) -> Belief: ...


class Act(Protocol):
    def __call__(self, action: Action) -> Outcome: ...


def _finite(x) -> float:
    return x if math.isfinite(x) else None


def _scored_record(s) -> dict:
    d = s.to_dict()
    for k in ("cost", "value"):
        d[k] = _finite(d[k])
    return d


class Agent:
    """Question → answer with the least travel worth it. ``policy``: a decision rule from
    :mod:`robomem.planning.policies` (VoI by default); ``costs``: :class:`CostModel`; ``budget``:
    :class:`Budget` per episode; ``max_looks_per_place``: a place looked at that often without
    seeing the target is not looked at again (no loops); ``relook_detection``: an extra factor on
    a place's detection probability after each look at it (1: none — the belief already gives a
    look from a viewpoint used before no weight and one from a new viewpoint ``costs.new_view``
    of it, :func:`robomem.planning.belief.view_detection`)."""

    def __init__(self, recall: Recall, path_length: PathLength, act: Act, *, policy=None,
                 costs: Optional[CostModel] = None, budget: Optional[Budget] = None,
                 max_looks_per_place: int = 2, relook_detection: float = 1.0) -> None:
        for name, fn in (("recall", recall), ("path_length", path_length), ("act", act)):
            if not callable(fn):
                raise InvalidPlanningSettingError(f"{name} must be callable, got {type(fn).__name__}")
        if not isinstance(max_looks_per_place, int) or max_looks_per_place < 1:
            raise InvalidPlanningSettingError(f"max_looks_per_place must be a positive integer, got {max_looks_per_place!r}")
        self.recall, self.path_length, self.act = recall, path_length, act
        self.policy = policy or VoIPolicy()
        self.costs = costs or CostModel()
        self.budget = budget or Budget()
        self.max_looks_per_place = max_looks_per_place
        if not (isinstance(relook_detection, (int, float)) and 0.0 <= relook_detection <= 1.0):
            raise InvalidPlanningSettingError(f"relook_detection must be in [0, 1], got {relook_detection!r}")
        self.relook_detection = float(relook_detection)

    def run(self, question: Any, pose) -> Episode:
        """Answer ``question`` starting at ``pose`` (x, y, z)."""
        t0 = time.perf_counter()
        ep = Episode(question)
        pose = tuple(float(v) for v in pose)
        ep.poses.append(pose)
        try:
            belief = self.recall(question)
        except UnsupportedQuestionError as e:
            ep.stop_reason = f"cannot answer: {e}"
            ep.cannot_answer = True
            ep.trace.append({"step": 0, "decision": "cannot answer", "reason": str(e)})
            ep.wall_s = time.perf_counter() - t0
            return ep
        misses: list[tuple] = []          # (looks, viewpoint) of every miss, re-applied to a fresh recall
        looks_at: dict[str, int] = {}
        visited: set[str] = set()
        b = self.budget
        while True:
            remaining = Budget(max(0, b.max_steps - ep.steps), max(0.0, b.max_path_m - ep.path_m),
                               max(0.0, b.max_time_s - ep.time_s))
            done = {k for k, n in looks_at.items() if n >= self.max_looks_per_place}
            actions = [a for a in candidate_actions(belief, pose, self.path_length, self.costs) if a.target not in done]
            scored = score_actions(belief, actions, self.costs, remaining, blocked=done | set(ep.unreachable),
                                   path_length=self.path_length)
            for s in scored:
                if s.excluded == "unreachable" and s.action.target not in ep.unreachable:
                    ep.unreachable.append(s.action.target)
            decision = self.policy(belief, scored, self.costs, visited)
            record = {"step": ep.steps, "pose": list(pose), "p_correct_now": belief.p_correct(),
                      "best": None if belief.best() is None else belief.best().key, "reason": decision.reason,
                      "chosen": None if decision.action is None else decision.action.target,
                      "considered": [_scored_record(s) for s in scored]}
            if decision.action is None:
                if remaining.max_steps == 0 or (actions and all(s.excluded == "over budget" for s in scored
                                                                if s.excluded != "unreachable")
                                                and any(s.excluded == "over budget" for s in scored)):
                    ep.stop_reason = "budget: " + decision.reason
                else:
                    ep.stop_reason = decision.reason
                ep.trace.append(record)
                break
            a = decision.action
            out = self.act(a)
            record["outcome"] = out.to_dict()
            ep.trace.append(record)
            ep.steps += 1
            ep.path_m += float(out.path_m)
            ep.time_s += float(out.time_s)
            pose = tuple(float(v) for v in out.pose)
            ep.poses.append(pose)
            looks_at[a.target] = looks_at.get(a.target, 0) + 1
            visited.add(a.target)
            if not out.reached:
                if a.target not in ep.unreachable:
                    ep.unreachable.append(a.target)
                looks_at[a.target] = self.max_looks_per_place
            if out.belief is not None:
                belief = out.belief
                for looks, view in misses:
                    belief = update_after_look(belief, looks, self.relook_detection, view=view)
            if out.seen_key is not None:
                # the look also covered the other places in view: mark them looked at from there
                others = {k: d for k, d in a.looks.items() if k != out.seen_key}
                if out.reached and others:
                    misses.append((others, a.view))
                    belief = update_after_look(belief, others, self.relook_detection, view=a.view)
                belief = certain_at(belief, out.seen_key, out.seen_position, out.seen_room, out.seen_answer,
                                    self.costs.false_positive)
            elif out.reached:
                misses.append((dict(a.looks), a.view))
                belief = update_after_look(belief, a.looks, self.relook_detection, view=a.view)
        best = belief.best()
        ep.confidence = belief.p_correct()
        if best is not None:
            ep.answer = best.answer
            ep.evidence = best.to_dict()
        ep.wall_s = time.perf_counter() - t0
        return ep
