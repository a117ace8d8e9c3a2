"""Multi-day household scenarios: a house lived in over days, observed in sessions.

A :class:`Scenario` takes a :class:`sim.scene.Scene` and a :class:`ScenarioConfig` (days, sessions
per day, seed, household dynamics) and, up front and deterministically, simulates what happens
between sessions on a private copy of the scene: small objects move between receptacles following
:class:`sim.dynamics.HouseholdDynamics`, some leave the house and come back, a few arrive or go for
good; furniture stays. Every change is written to a :class:`sim.scenario_log.GroundTruthLog`.

The caller's scene is then driven through time with :meth:`Scenario.apply` /
:meth:`Scenario.goto_session`, so any simulator rendering that scene (``EmbeddedSim``) shows the
state of that moment. Frames observed during a session go to :meth:`Scenario.record_frame` so the
log knows exactly when the agent saw each object.

Example::

    scene = sim.generate_house(seed=3)
    scenario = Scenario(scene, ScenarioConfig(days=7, seed=3))
    env = sim.EmbeddedSim(scene)
    for k in range(len(scenario.sessions)):
        for frame in scenario.session_frames(k, env):
            stack.observe(frame)              # robomem
    scenario.log.to_json("truth.json")
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence

import numpy as np

from robomem.frame import Frame
from sim.base import DEFAULT_START_NS, AgentState
from sim.categories import category_info
from sim.dynamics import HouseholdDynamics
from sim.errors import PlacementError, SceneError
from sim.scenario_log import GroundTruthLog, Placement, ScenarioError, Session

NS = 1_000_000_000
DAY_NS = 86_400 * NS
#: Quiet margin between a session and the nearest change, so a change never falls inside a session.
MARGIN_NS = 5 * 60 * NS
#: Random spots tried per receptacle when placing an object.
PLACE_TRIES = 20


@dataclass(frozen=True)
class SessionSpec:
    """A daily observation session: ``name`` ("morning"), start in seconds after midnight (UTC of
    the simulated clock) and duration in seconds."""

    name: str
    start_s: int
    duration_s: int


#: Two sessions a day.
TWO_SESSIONS = (SessionSpec("morning", 7 * 3600 + 30 * 60, 45 * 60), SessionSpec("evening", 18 * 3600 + 30 * 60, 60 * 60))
#: Three sessions a day.
THREE_SESSIONS = (SessionSpec("morning", 7 * 3600 + 30 * 60, 45 * 60), SessionSpec("afternoon", 13 * 3600, 40 * 60),
                  SessionSpec("evening", 18 * 3600 + 30 * 60, 60 * 60))


@dataclass
class ScenarioConfig:
    """Scenario settings. Day 0 is the UTC date of ``start_ns``; session start times get a seeded
    jitter of up to ``jitter_s`` seconds either way."""

    days: int = 7
    sessions: Sequence[SessionSpec] = TWO_SESSIONS
    start_ns: int = DEFAULT_START_NS
    jitter_s: int = 15 * 60
    seed: int = 0
    dynamics: HouseholdDynamics = field(default_factory=HouseholdDynamics)
    name: str = "scenario"

    def validate(self) -> None:
        if isinstance(self.days, bool) or not isinstance(self.days, int) or not 1 <= self.days <= 366:
            raise ScenarioError(f"days must be an integer in [1, 366], got {self.days!r}")
        if not self.sessions:
            raise ScenarioError("a scenario needs at least one session per day")
        if isinstance(self.start_ns, bool) or not isinstance(self.start_ns, (int, np.integer)) or self.start_ns < 0:
            raise ScenarioError(f"start_ns must be a non-negative integer, got {self.start_ns!r}")
        if not isinstance(self.jitter_s, int) or self.jitter_s < 0:
            raise ScenarioError(f"jitter_s must be a non-negative integer, got {self.jitter_s!r}")
        if not isinstance(self.dynamics, HouseholdDynamics):
            raise ScenarioError("dynamics must be a sim.dynamics.HouseholdDynamics")
        names = [s.name for s in self.sessions]
        if len(set(names)) != len(names):
            raise ScenarioError(f"session names must be unique, got {names}")
        prev_end = -math.inf
        for s in self.sessions:
            if not isinstance(s, SessionSpec) or s.duration_s <= 0 or not 0 <= s.start_s:
                raise ScenarioError(f"bad session spec {s!r}")
            lo = s.start_s - self.jitter_s
            if lo - prev_end < 2 * MARGIN_NS / NS:
                raise ScenarioError(f"session {s.name!r} starts too close to the previous one (with jitter "
                                    f"{self.jitter_s} s they need {2 * MARGIN_NS // NS} s between them)")
            prev_end = s.start_s + self.jitter_s + s.duration_s
        if prev_end + 2 * MARGIN_NS / NS > 86_400 + self.sessions[0].start_s - self.jitter_s:
            raise ScenarioError("the last session of a day runs into the next day's first session")


@dataclass(frozen=True)
class _ObjectSpec:
    category: str
    size: np.ndarray
    color: tuple
    name: Optional[str]
    mesh: object


class Scenario:
    """A house through ``days`` days of sessions with its complete ground truth (``log``)."""

    def __init__(self, scene, config: Optional[ScenarioConfig] = None) -> None:
        self.config = config or ScenarioConfig()
        self.config.validate()
        self.scene = scene
        self._rng = np.random.default_rng(self.config.seed)
        self._specs: dict[int, _ObjectSpec] = {}
        self.log = self._build_log_skeleton(scene)
        work = copy.deepcopy(scene)
        self._simulate(work)
        self.log.check()
        self._applied_ns = self.log.start_ns

    # ------------------------------------------------------------------ building
    def _session_times(self) -> list[Session]:
        cfg = self.config
        day0 = (int(cfg.start_ns) // DAY_NS) * DAY_NS
        out = []
        for d in range(cfg.days):
            for spec in cfg.sessions:
                j = int(self._rng.integers(-cfg.jitter_s, cfg.jitter_s + 1)) if cfg.jitter_s else 0
                t0 = day0 + d * DAY_NS + (spec.start_s + j) * NS
                out.append(Session(len(out), d, spec.name, t0, t0 + spec.duration_s * NS))
        return out

    def _build_log_skeleton(self, scene) -> GroundTruthLog:
        sessions = self._session_times()
        log = GroundTruthLog(sessions[0].t_start, sessions[-1].t_end,
                             meta={"name": self.config.name, "scene": getattr(scene, "name", "scene"),
                                   "seed": self.config.seed, "days": self.config.days,
                                   "sessions_per_day": [s.name for s in self.config.sessions]})
        for s in sessions:
            log.add_session(s)
        for r in scene.rooms.values():
            log.add_room(r.room_id, r.room_type)
        for f in sorted(scene.furniture(), key=lambda o: o.instance_id):
            if f.room is None:
                continue  # outside every room: not addressable in questions
            lo, hi = f.bbox()
            log.add_fixture(f.instance_id, f.category, f.room, (lo + hi) / 2, lo, hi)
        for r in sorted(scene.receptacles.values(), key=lambda r: r.receptacle_id):
            if r.owner_id in log.fixtures and r.room is not None:
                log.add_receptacle(r.receptacle_id, r.owner_id, r.name, r.room)
        for o in sorted(scene.small_objects(), key=lambda o: o.instance_id):
            if o.receptacle_id not in log.receptacles:
                continue  # lying on the floor or on an untracked surface: not part of the scenario
            log.add_object(o.instance_id, o.category)
            self._remember(o)
            log.place(o.instance_id, o.receptacle_id, o.position, log.start_ns, o.yaw)
        return log

    def _remember(self, o) -> None:
        self._specs[o.instance_id] = _ObjectSpec(o.category, np.array(o.size, dtype=np.float64), tuple(o.color),
                                                 o.name, o.mesh)

    def _candidates(self, work, category: str, exclude: Optional[str]) -> list[str]:
        allowed = set(category_info(category).receptacles)
        return [rid for rid, r in self.log.receptacles.items()
                if rid != exclude and rid in work.receptacles and self.log.fixtures[r.fixture_id].category in allowed]

    def _pick_targets(self, work, category: str, session_name: str, exclude: Optional[str]) -> list[str]:
        """Candidate receptacles in the order to try: a habit target first (if the habit fires)."""
        cands = self._candidates(work, category, exclude)
        if not cands:
            return []
        order = list(self._rng.permutation(len(cands)))
        cands = [cands[i] for i in order]
        habit = self.config.dynamics.habit_targets(category, session_name)
        if habit and self._rng.random() < self.config.dynamics.habit_strength:
            preferred = [c for c in cands if self.log.fixtures[self.log.receptacles[c].fixture_id].category in habit]
            cands = preferred + [c for c in cands if c not in preferred]
        return cands

    def _try_place(self, work, oid: int, targets: list[str], t: int, new: bool = False) -> bool:
        spec = self._specs[oid]
        # A few receptacles with a modest number of random spots each: a full surface is skipped
        # quickly instead of being searched exhaustively.
        for rid in targets[:5]:
            try:
                if new or oid not in work.objects:
                    o = work.place_object_on(spec.category, rid, size=spec.size, rng=self._rng, instance_id=oid,
                                             color=spec.color, name=spec.name, tries=PLACE_TRIES)
                else:
                    o = work.move_object(oid, rid, rng=self._rng, tries=PLACE_TRIES)
            except PlacementError:
                continue
            self.log.place(oid, rid, o.position, t, o.yaw)
            return True
        return False

    def _random_time(self, a: int, b: int) -> int:
        # Whole seconds: readable stamps, and distinct events rarely collide.
        return a + int(self._rng.integers(0, max(1, (b - a) // NS))) * NS

    def _simulate(self, work) -> None:
        dyn = self.config.dynamics
        log = self.log
        out_of_house: set[int] = set()
        sessions = log.sessions
        for k in range(len(sessions) - 1):
            cur, nxt = sessions[k], sessions[k + 1]
            a, b = cur.t_end + MARGIN_NS, nxt.t_start - MARGIN_NS
            overnight = nxt.day != cur.day
            events: list[tuple[int, int, str]] = []  # (time, object id or -1, kind)
            present = sorted(oid for oid in log.object_ids if oid in work.objects)
            for oid in sorted(out_of_house):
                if overnight or self._rng.random() < 0.8:
                    events.append((self._random_time(a, b), oid, "return"))
            for oid in present:
                cat = log.categories[oid]
                p_out = dyn.carried_out.get(cat, 0.0)
                if not overnight and p_out and self._rng.random() < p_out:
                    events.append((self._random_time(a, a + (b - a) // 2), oid, "leave"))
                    continue
                if self._rng.random() < dyn.mobility_of(cat):
                    t1 = self._random_time(a, b)
                    events.append((t1, oid, "move"))
                    if self._rng.random() < dyn.second_move and b - t1 > 2 * NS:
                        events.append((self._random_time(t1 + NS, b), oid, "move"))
            if overnight:
                for _ in range(int(self._rng.poisson(dyn.departure_rate))):
                    events.append((self._random_time(a, b), -1, "depart"))
                for _ in range(int(self._rng.poisson(dyn.arrival_rate))):
                    events.append((self._random_time(a, b), -1, "arrive"))
            events.sort(key=lambda e: (e[0], e[1], e[2]))
            for t, oid, kind in events:
                self._apply_event(work, t, oid, kind, nxt.name, out_of_house)

    def _apply_event(self, work, t: int, oid: int, kind: str, next_name: str, out_of_house: set[int]) -> None:
        dyn = self.config.dynamics
        log = self.log
        if kind in ("move", "return"):
            if kind == "move" and oid not in work.objects:
                return  # it left earlier in this gap
            hist = log.placements[oid]
            if hist and hist[-1].t_start >= t:
                return  # two events of one object at the same second: keep the first
            cur = work.objects[oid].receptacle_id if oid in work.objects else None
            if self._try_place(work, oid, self._pick_targets(work, log.categories[oid], next_name, cur), t):
                out_of_house.discard(oid)
        elif kind == "leave":
            if oid in work.objects and log.placements[oid][-1].t_start < t:
                work.remove_object(oid)
                log.remove(oid, t)
                out_of_house.add(oid)
        elif kind == "depart":
            pool = [o for o in log.object_ids if o in work.objects and log.categories[o] in dyn.departures
                    and log.placements[o][-1].t_start < t]
            if pool:
                oid = int(pool[int(self._rng.integers(len(pool)))])
                work.remove_object(oid)
                log.remove(oid, t)
        elif kind == "arrive":
            cat = str(dyn.arrivals[int(self._rng.integers(len(dyn.arrivals)))])
            oid = work.new_instance_id()
            info = category_info(cat)
            self._specs[oid] = _ObjectSpec(cat, np.array(info.size, dtype=np.float64), tuple(info.color), None, None)
            log.add_object(oid, cat)
            targets = self._pick_targets(work, cat, next_name, None)
            if not self._try_place(work, oid, targets, t, new=True):
                # Nowhere to put it: the object never arrives. Drop it from the log again.
                del log.categories[oid], log.placements[oid], self._specs[oid]

    # ------------------------------------------------------------------ driving the scene
    @property
    def sessions(self) -> list[Session]:
        return list(self.log.sessions)

    def state_at(self, t: int) -> dict[int, Placement]:
        """Object id -> placement of every object in the house at ``t``."""
        return {p.object_id: p for p in self.log.objects_present(t)}

    def apply(self, t: int) -> None:
        """Bring ``self.scene`` to the state at time ``t``: objects that differ are taken off and put
        back where the log says (same instance ids), so renderers show that moment. If the scene
        was edited outside the scenario so that this fails, the previous state is restored and
        :class:`ScenarioError` names the conflict."""
        target = self.state_at(t)
        try:
            self._set_state(target)
        except SceneError as exc:
            try:
                self._set_state(self.state_at(self._applied_ns))
            except SceneError:
                pass  # the scene is inconsistent beyond repair; the error below says why
            raise ScenarioError(f"cannot bring scene {getattr(self.scene, 'name', '')!r} to time {t}: {exc} "
                                f"(was the scene edited outside the scenario?)") from exc
        self._applied_ns = int(t)

    def _set_state(self, target: dict[int, Placement]) -> None:
        scene = self.scene
        stale = []
        for oid in sorted(set(self.log.categories) & set(scene.objects)):
            o = scene.objects[oid]
            p = target.get(oid)
            if p is None or o.receptacle_id != p.receptacle_id or not np.allclose(o.position, p.position, atol=1e-9):
                stale.append(oid)
        # Take everything that differs off first, then put it back: in the target state nothing
        # overlaps, so no intermediate state can collide.
        for oid in stale:
            scene.remove_object(oid)
        for oid, p in sorted(target.items()):
            if oid in scene.objects:
                continue
            spec = self._specs[oid]
            scene.add_object(spec.category, position=p.position, size=spec.size, yaw=p.yaw,
                             receptacle_id=p.receptacle_id, instance_id=oid, color=spec.color, name=spec.name,
                             mesh=spec.mesh)

    def goto_session(self, index: int) -> Session:
        """Apply the state of session ``index`` (objects do not move during a session)."""
        s = self.log.session(index)
        self.apply(s.t_start)
        return s

    def record_frame(self, frame: Frame, min_pixels: int = 10) -> list[int]:
        """Record sightings of the objects visible in ``frame`` (see ``GroundTruthLog.record_frame``)."""
        return self.log.record_frame(frame, min_pixels)

    def session_frames(self, index: int, env, views_per_room: int = 8, pitch: float = -0.35,
                       period_s: float = 2.0, min_pixels: int = 10) -> Iterator[Frame]:
        """A simple observation tour for session ``index``: the scene is brought to that session's
        state, then in every room the agent stands at a navigable point near the room's centre and
        looks around in ``views_per_room`` headings, one frame every ``period_s`` simulated seconds.
        Yields the frames (stamped inside the session) after recording their sightings."""
        s = self.goto_session(index)
        if views_per_room < 1 or period_s <= 0:
            raise ScenarioError("views_per_room must be >= 1 and period_s > 0")
        t = s.t_start
        step = int(period_s * NS)
        for room in sorted(self.scene.rooms.values(), key=lambda r: r.room_id):
            try:
                spot = env.pathfinder.snap_point(room.centroid)
            except (ValueError, RuntimeError):
                continue
            if self.scene.room_at(spot[:2]) != room.room_id:
                continue  # the nearest free spot is in another room: the tour skips this one
            for v in range(views_per_room):
                if t > s.t_end:
                    return
                env.set_agent_state(AgentState(spot, 2 * math.pi * v / views_per_room, pitch))
                env.clock_ns = t
                frame = env.observe()
                self.log.record_frame(frame, min_pixels)
                yield frame
                t += step


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m sim.scenario``: generate a house, run a scenario with an observation tour per
    session, and write ``truth.json`` (ground-truth log) and ``questions.json`` to ``--out``."""
    import argparse
    from collections import Counter
    from pathlib import Path

    import sim
    from sim.questions import QuestionGenerator, questions_to_json

    ap = argparse.ArgumentParser(prog="python -m sim.scenario", description=main.__doc__)
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--house-seed", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0, help="scenario and question seed")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--three-sessions", action="store_true", help="morning, afternoon and evening")
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    ap.add_argument("--no-render", action="store_true", help="skip the tours (no sightings, no last-seen questions)")
    ap.add_argument("--per-category", type=int, default=5)
    args = ap.parse_args(argv)

    scene = sim.generate_house(seed=args.house_seed)
    cfg = ScenarioConfig(days=args.days, seed=args.seed, sessions=THREE_SESSIONS if args.three_sessions else TWO_SESSIONS,
                         name=f"scenario-{args.house_seed}-{args.seed}")
    scenario = Scenario(scene, cfg)
    frames = 0
    if not args.no_render:
        env = sim.EmbeddedSim(scene, width=args.width, height=args.height)
        for k in range(len(scenario.sessions)):
            frames += sum(1 for _ in scenario.session_frames(k, env))
        env.close()
    log = scenario.log
    qs = QuestionGenerator(log, seed=args.seed).generate(per_category=args.per_category,
                                                         sessions=list(range(1, len(log.sessions))))
    args.out.mkdir(parents=True, exist_ok=True)
    log.to_json(args.out / "truth.json")
    questions_to_json(qs, args.out / "questions.json")
    seen = sum(1 for o in log.object_ids if log.sightings.get(o))
    print(f"{scene.name}: {len(log.sessions)} sessions, {len(log.object_ids)} objects "
          f"({len(log.moves_between(log.start_ns, log.end_ns))} moves), {frames} frames, {seen} objects seen")
    print(f"{len(qs)} questions: {dict(sorted(Counter(q.category for q in qs).items()))}")
    print(f"wrote {args.out / 'truth.json'} and {args.out / 'questions.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
