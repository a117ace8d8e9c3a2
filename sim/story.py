"""One household story end to end in the embedded simulator, for ``make demo`` and its report.

Day 1 (the scenario's first session): the robot explores a generated house from scratch with
frontier exploration on its own map (:func:`sim.explore.explore`), every frame going through
robomem's memory stack (map, perception, short/long-term memory). Overnight the household moves
things, brings new things and takes some away (:class:`sim.scenario.Scenario`). Day 2 (the third
session, next morning): the robot is asked questions in words; each goes through ``stack.ask``
(:class:`robomem.planning.AnswerRecall`) into the value-of-information agent
(:class:`robomem.planning.Agent`), which answers from memory or goes to look
(:class:`sim.agent_env.MapAgentWorld`: paths, travel costs and reachability on the robot's own map,
the one day 1 built, with its driven trail and the obstacles it bumped into; the simulator only
executes the motion, collision-checked). The FIRST answer of each question is scored against the
scenario's ground truth.

:func:`run_story` returns a :class:`Story` (JSON-able record plus what the report draws);
:mod:`sim.report` turns it into the HTML page."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

import robomem
import sim
from robomem.planning import Agent, AnswerRecall, Budget
from sim.agent_env import MapAgentWorld, SimAgentWorld
from sim.errors import SceneError
from sim.explore import explore, observed_floor_fraction
from sim.navigation import MapRobot
from sim.scenario import Scenario, ScenarioConfig

__all__ = ["StoryConfig", "Story", "run_story", "pick_questions", "WHERE_TOL_M", "ROOM_ANSWER_ACCURACY"]

#: A "where" answer is right within this horizontal distance of the object's true position.
WHERE_TOL_M = 0.5
#: What the agent's recall credits a "where" answer that names only a room (the target not seen
#: there; the library's default is 0.2): the judge wants a position within WHERE_TOL_M, which a room
#: answer never has, so the model's value of that answer, and the confidence the agent stops with,
#: must be 0 too. With 0.2 the eval's 0.0-0.2 confidence bins held 39 of voi-0.02's 240 present
#: answers (20 houses), none right.
ROOM_ANSWER_ACCURACY = 0.0


@dataclass
class StoryConfig:
    """What the story runs: the house (``house_seed``, ``style``, ``n_rooms``, ``n_objects``), the
    scenario seed, the camera (``width`` × 3/4, ``hfov_deg``), the simulator's turn step, the
    exploration path budget and the agent's per-question budget."""

    house_seed: int = 2
    style: str = "corridor"
    n_rooms: int = 3
    n_objects: int = 20
    scenario_seed: int = 2
    width: int = 120
    hfov_deg: float = 90.0
    turn_deg: float = 30.0
    explore_budget_m: float = 80.0
    agent_steps: int = 6
    progress: bool = True

    def validate(self) -> None:
        if self.style not in sim.LAYOUT_STYLES:
            raise SceneError(f"style must be one of {sim.LAYOUT_STYLES}, got {self.style!r}")
        for name in ("width", "agent_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise SceneError(f"{name} must be a positive integer, got {v!r}")
        if not self.explore_budget_m > 0:
            raise SceneError(f"explore_budget_m must be positive, got {self.explore_budget_m!r}")


@dataclass
class Story:
    """Everything the report needs: ``record`` (JSON-able summary, questions, scores) and the live
    objects to draw from (the scene at day 2, the scenario's log, the open memory ``stack``)."""

    config: StoryConfig
    scene: Any
    scenario: Scenario
    stack: Any
    record: dict = field(default_factory=dict)
    day1_trail: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    keyframes: dict = field(default_factory=dict)   # question index -> [(keyframe id, caption, image array)]

    def close(self) -> None:
        self.stack.close()


def _unique_at(log, t: int) -> dict[str, Any]:
    """Category -> placement for the categories with exactly one object present at ``t``."""
    by: dict[str, list] = {}
    for p in log.objects_present(t):
        by.setdefault(p.category, []).append(p)
    return {c: ps[0] for c, ps in by.items() if len(ps) == 1}


def pick_questions(log, asked_at: int, seen_before: int, remembered: Optional[set] = None) -> list[dict]:
    """The day-2 questions: one that appeared overnight (never seen), a moved object ("where is"),
    another moved one ("which room"), one that stayed put, a question about yesterday and one
    robomem cannot answer. Only categories unique in the house at both times, so the truth is one object;
    seen on day 1 where the question needs it (``remembered``: the labels the memory holds after
    day 1; None = the log's sightings decide). Deterministic for a log."""
    now = _unique_at(log, asked_at)
    before = _unique_at(log, seen_before)
    moved, stayed, new = [], [], []
    for cat, p in sorted(now.items()):
        b = log.location_at(p.object_id, seen_before)
        seen = log.last_seen(p.object_id, seen_before + 1) is not None and (remembered is None or cat in remembered)
        if b is None:
            if cat not in before and log.last_seen(p.object_id, asked_at) is None:
                new.append(p)
        elif cat in before and seen:
            (moved if b.receptacle_id != p.receptacle_id else stayed).append(p)
    qs: list[dict] = []

    def add(kind: str, text: str, p, why: str, truth_t: int) -> None:
        qs.append({"kind": kind, "text": text, "label": p.category if p else None,
                   "object_id": None if p is None else p.object_id, "why": why,
                   "truth_position": None if p is None else [float(v) for v in p.position],
                   "truth_room": None if p is None else p.room, "truth_at_ns": truth_t})

    def name(p) -> str:
        return p.category.replace("_", " ")

    def be(p, now: bool = True) -> str:
        plural = p.category.endswith("s") and not p.category.endswith("ss")
        return ("are" if plural else "is") if now else ("were" if plural else "was")

    if new:
        add("where_now", f"where {be(new[0])} the {name(new[0])}?", new[0],
            "appeared overnight: the robot has never seen one", asked_at)
    if moved:
        add("where_now", f"where {be(moved[0])} the {name(moved[0])}?", moved[0], "moved overnight", asked_at)
    if len(moved) > 1:
        add("which_room", f"which room {be(moved[1])} the {name(moved[1])} in?", moved[1], "moved overnight", asked_at)
    if stayed:
        add("where_now", f"where {be(stayed[0])} the {name(stayed[0])}?", stayed[0], "stayed where it was", asked_at)
    past = moved[2] if len(moved) > 2 else (moved[0] if moved else (stayed[0] if stayed else None))
    if past is not None:
        b = log.location_at(past.object_id, seen_before)
        add("where_past", f"where {be(past, False)} the {name(past)} yesterday morning?", b, "about the past: memory only",
            seen_before)
    qs.append({"kind": "unsupported", "text": "can you make me a sandwich?", "label": None, "object_id": None,
               "why": "outside what memory knows", "truth_position": None, "truth_room": None,
               "truth_at_ns": asked_at})
    return qs


def _answer_position(ep) -> Optional[list]:
    a = ep.answer
    if isinstance(a, dict):
        if a.get("position") is not None:
            return [float(v) for v in a["position"]]
        ev = (a.get("evidence") or [None])[0] if "evidence" in a else None
        if isinstance(ev, dict) and ev.get("position") is not None:
            return [float(v) for v in ev["position"]]
    return None


def _answer_room(ep, world: SimAgentWorld) -> Optional[str]:
    a = ep.answer
    if isinstance(a, dict):
        if a.get("room_id") is not None:
            return world.room_names.get(int(a["room_id"]))
        pos = _answer_position(ep)
        if pos is not None:
            return world.scene.room_at(np.asarray(pos[:2]))
    return None


def score(q: dict, ep, world: SimAgentWorld) -> tuple[bool, str]:
    """Whether the episode's (first) answer is right, and why, against the ground truth in ``q``."""
    if q["kind"] == "unsupported":
        ok = ep.cannot_answer and ep.steps == 0
        return ok, "said it cannot answer and did not move" if ok else "should have said it cannot answer"
    if ep.cannot_answer:
        return False, "said it cannot answer"
    if q["kind"] == "which_room":
        room = _answer_room(ep, world)
        ok = room == q["truth_room"]
        return ok, f"answered room {room}, truth {q['truth_room']}"
    pos = _answer_position(ep)
    if pos is None:
        return False, "no position in the answer"
    err = math.dist(pos[:2], q["truth_position"][:2])
    return err < WHERE_TOL_M, f"{err:.2f} m from the true position (right within {WHERE_TOL_M} m)"


def _ns_to_s(log, t: int) -> float:
    return (int(t) - int(log.session(0).t_start)) / 1e9


def run_story(out_dir: Path, config: Optional[StoryConfig] = None) -> Story:
    """Run the story, keeping the memory store at ``out_dir / "house.db"`` (replaced if present)."""
    cfg = config or StoryConfig()
    cfg.validate()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("house.db*"):
        old.unlink()
    t_wall = time.perf_counter()
    scene = sim.generate_house(seed=cfg.house_seed, style=cfg.style, n_rooms=cfg.n_rooms, n_objects=cfg.n_objects)
    scenario = Scenario(scene, ScenarioConfig(days=2, seed=cfg.scenario_seed, name="demo"))
    log = scenario.log
    s_day1, s_day2 = log.session(0), log.session(2)
    scenario.goto_session(0)
    env = sim.EmbeddedSim(scene, width=cfg.width, height=cfg.width * 3 // 4, hfov_deg=cfg.hfov_deg,
                          seed=cfg.house_seed, turn_deg=cfg.turn_deg, start_ns=s_day1.t_start, step_ns=10**9)
    dock = env.agent_state().position.copy()
    stack = robomem.open(out_dir / "house.db")
    rec: dict = {"config": dict(cfg.__dict__), "house": {"name": scene.name, "style": cfg.style,
                                                          "rooms": {r.room_id: r.room_type for r in scene.rooms.values()},
                                                          "objects": len(log.object_ids)}}
    try:
        # ---------------------------------------------------------------- day 1: explore
        stack.begin_session("day 1 exploration", env.clock_ns)

        def observe(frame):
            scenario.record_frame(frame)
            stack.observe(frame)

        t0 = time.perf_counter()
        robot = MapRobot(env, lambda: stack.map.octree, observe)
        res = explore(robot, "gain", path_budget_m=cfg.explore_budget_m, progress=cfg.progress,
                      desc="day 1: exploring the house")
        stack.end_session(env.clock_ns)
        coverage, area = observed_floor_fraction(stack.map.octree, env.pathfinder, dock)
        trail = np.asarray(robot.count.trail, dtype=float)
        seen_ids = {o for o in log.object_ids if log.last_seen(o, env.clock_ns + 1) is not None}
        present1 = {p.object_id for p in log.objects_present(s_day1.t_start)}
        rec["day1"] = {"stop_reason": res.stop_reason, "path_m": res.distance_m, "steps": res.steps,
                       "frames": res.frames, "collisions": res.collisions, "coverage": coverage,
                       "reachable_floor_m2": area, "wall_s": time.perf_counter() - t0,
                       "objects_present": len(present1), "objects_seen": len(seen_ids & present1),
                       "objects_in_memory": len(stack.placements_at(env.clock_ns)),
                       "t_start_s": 0.0, "t_end_s": _ns_to_s(log, env.clock_ns)}
        day1_end = env.clock_ns

        # ---------------------------------------------------------------- overnight changes
        changes = log.changes_between(day1_end, s_day2.t_start)
        rec["changes"] = [{"kind": c.kind, "object_id": c.object_id, "category": c.category,
                           "from": None if c.before is None else {"room": c.before.room,
                                                                  "on": c.before.fixture_category,
                                                                  "position": list(c.before.position)},
                           "to": None if c.after is None else {"room": c.after.room, "on": c.after.fixture_category,
                                                               "position": list(c.after.position)},
                           "t_s": _ns_to_s(log, _change_time(log, c, day1_end, s_day2.t_start)),
                           "seen_day1": c.object_id in seen_ids} for c in changes]

        # ---------------------------------------------------------------- day 2: questions
        scenario.goto_session(2)
        env.clock_ns = s_day2.t_start
        stack.begin_session("day 2 questions", env.clock_ns)
        world = MapAgentWorld(scene, env, stack, scenario, trail=[[float(x), float(y)] for x, y in trail],
                              bumps=[[float(x), float(y)] for x, y in robot.bumps])
        rooms = world.rooms()
        remembered = {p.label for p in stack.placements_at(day1_end)}
        questions = pick_questions(log, s_day2.t_start, day1_end, remembered)
        rec["questions"] = []
        story = Story(cfg, scene, scenario, stack, rec, trail)
        for i, q in enumerate(questions):
            world.pose, world.target = tuple(float(v) for v in dock), q["label"]
            recall = AnswerRecall(stack, rooms, lambda: env.clock_ns, room_of=world.room_of,
                                  room_answer_accuracy=ROOM_ANSWER_ACCURACY)
            agent = Agent(recall, world.path_length, world.act, budget=Budget(max_steps=cfg.agent_steps))
            frames0, t_q, legs0 = world.stats.frames, env.clock_ns, len(world.legs)
            ep = agent.run(q["text"], world.pose)
            ok, why = score(q, ep, world)
            a = recall.last_answer
            # the motion as driven (planned on the robot's map, executed by the simulator)
            legs = [[[float(x), float(y)] for x, y in leg] for leg in world.legs[legs0:]]
            qrec = {**q, "index": i, "episode": ep.to_dict(), "right": bool(ok), "verdict": why,
                    "answer_text": getattr(a, "text", None), "answer_kind": getattr(a, "kind", None),
                    "answer_confidence": getattr(a, "confidence", None),
                    "memory_evidence": [e.to_dict() for e in getattr(a, "evidence", ())][:6],
                    "answer_position": _answer_position(ep), "answer_room": _answer_room(ep, world),
                    "legs": legs, "frames": world.stats.frames - frames0, "t_s": _ns_to_s(log, t_q),
                    "room_names": {str(k): v for k, v in world.room_names.items()}}
            rec["questions"].append(qrec)
            story.keyframes[i] = _evidence_keyframes(stack, ep, a)
            env.clock_ns += 30 * 10**9    # a pause between questions
        stack.end_session(env.clock_ns)
        rec["day2"] = {"t_start_s": _ns_to_s(log, s_day2.t_start), "t_end_s": _ns_to_s(log, env.clock_ns)}
        rec["events"] = [{"kind": str(getattr(e.kind, "value", e.kind)), "object_id": int(e.object_id),
                          "label": _label_of(stack, int(e.object_id)), "t_s": _ns_to_s(log, e.stamp_ns),
                          "position": [float(v) for v in e.position]} for e in stack.events()]
        qs = rec["questions"]
        rec["score"] = {"right": sum(q["right"] for q in qs), "asked": len(qs),
                        "path_m": sum(q["episode"]["path_m"] for q in qs), "steps": sum(q["episode"]["steps"] for q in qs)}
        rec["wall_s"] = time.perf_counter() - t_wall
        env.close()
        return story
    except BaseException:
        stack.close()
        raise


def _label_of(stack, object_id: int) -> Optional[str]:
    w = stack.where_is_object(object_id)
    return None if w is None else w.label


def _change_time(log, c, t0: int, t1: int) -> int:
    """When a net change happened (the start of the new placement, or the end of the old one)."""
    if c.after is not None and t0 <= c.after.t_start <= t1:
        return int(c.after.t_start)
    if c.before is not None and c.before.t_end is not None:
        return int(c.before.t_end)
    return int(t0)


def _evidence_keyframes(stack, ep, answer, limit: int = 3) -> list:
    """Stored keyframes that show the answer: those of the object the agent answered with (seen on
    the way or remembered), else those retrieval cited. [(keyframe id, caption, RGB array)]"""
    ids: list = []
    ev = ep.evidence or {}
    oid = (ev.get("answer") or {}).get("object_id") if isinstance(ev.get("answer"), dict) else None
    if oid is not None:
        kfs = sorted(stack.long_term.keyframes(object_id=int(oid)), key=lambda k: -k.stamp_ns)
        ids += [(k.keyframe_id, f"object {oid}, {k.stamp_ns}") for k in kfs]
    for e in getattr(answer, "evidence", ()) or ():
        ids += [(int(k), f"object {e.object_id} ({e.label})") for k in e.keyframe_ids]
    out, seen = [], set()
    for kid, cap in ids:
        if kid in seen:
            continue
        seen.add(kid)
        try:
            img = stack.long_term.keyframe_image(int(kid))
        except (KeyError, ValueError):
            continue
        meta = next((k for k in stack.long_term.keyframes() if k.keyframe_id == kid), None)
        out.append((int(kid), cap, img, None if meta is None else int(meta.stamp_ns)))
        if len(out) >= limit:
            break
    return out
