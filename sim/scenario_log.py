"""`GroundTruthLog`: where every object of a simulated house was at every moment of a scenario,
and when the agent saw it.

The log is plain data: rooms, fixtures (furniture, some of them receptacles), small objects, the
sessions of the scenario, and per object a sorted list of :class:`Placement` intervals
``[t_start, t_end)`` (``t_end`` None = still there at the end). An object with no interval covering
``t`` is not in the house at ``t`` (it was taken away or has not appeared yet). Sightings are the
stamps of frames in which the agent saw an object. Every query is exact, so questions built from
the log have exact answers. Serialises to JSON (:meth:`GroundTruthLog.to_json`).
"""
from __future__ import annotations

import bisect
import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Optional, Union

import numpy as np

from robomem.errors import InvalidInputError

SCHEMA = "robomem.scenario_log/1"


class ScenarioError(InvalidInputError):
    """A scenario or its ground-truth log was given invalid input; nothing was changed."""


class UnknownObjectError(ScenarioError):
    """An object id is not in the log."""


class UnknownReceptacleError(ScenarioError):
    """A receptacle (or fixture) id is not in the log."""


class UnknownRoomError(ScenarioError):
    """A room name is not in the log."""


class TimeOutOfRangeError(ScenarioError):
    """A time lies outside the scenario's time span."""


@dataclass(frozen=True)
class Room:
    name: str          # unique, e.g. "kitchen_0"
    room_type: str     # e.g. "kitchen"


@dataclass(frozen=True)
class Fixture:
    """A piece of furniture (never moves)."""

    fixture_id: int
    category: str
    room: str
    position: tuple[float, float, float]
    bbox_min: tuple[float, float, float]
    bbox_max: tuple[float, float, float]


@dataclass(frozen=True)
class ReceptacleRef:
    """One surface objects rest on (``"<fixture id>/<surface>"``, as ``sim.scene`` names them)."""

    receptacle_id: str
    fixture_id: int
    surface: str       # "top", "shelf", "seat", ...
    room: str


@dataclass(frozen=True)
class Placement:
    """One interval during which an object rested on one receptacle at one position."""

    object_id: int
    category: str
    receptacle_id: str
    fixture_id: int
    fixture_category: str
    surface: str
    room: str
    position: tuple[float, float, float]
    yaw: float
    t_start: int
    t_end: Optional[int] = None  # exclusive; None = until the end of the scenario

    def contains(self, t: int) -> bool:
        return self.t_start <= t and (self.t_end is None or t < self.t_end)


@dataclass(frozen=True)
class Session:
    """An observation session: the agent walks the house between ``t_start`` and ``t_end``."""

    index: int
    day: int
    name: str          # "morning", "afternoon", "evening"
    t_start: int
    t_end: int


@dataclass(frozen=True)
class Change:
    """Net difference of one object between two times: "moved", "appeared" or "disappeared"."""

    kind: str
    object_id: int
    category: str
    before: Optional[Placement]
    after: Optional[Placement]


def _int_time(t, name: str = "time") -> int:
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
        raise ScenarioError(f"{name} must be an integer stamp_ns, got {t!r}")
    return int(t)


def _vec3(p, name: str) -> tuple[float, float, float]:
    try:
        a = np.asarray(p, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ScenarioError(f"{name} must be 3 numbers, got {p!r}") from None
    if a.shape != (3,) or not np.all(np.isfinite(a)):
        raise ScenarioError(f"{name} must be 3 finite numbers, got {p!r}")
    return (float(a[0]), float(a[1]), float(a[2]))


@dataclass
class GroundTruthLog:
    """Complete ground truth of a scenario over ``[start_ns, end_ns]``."""

    start_ns: int
    end_ns: int
    rooms: dict[str, Room] = field(default_factory=dict)
    fixtures: dict[int, Fixture] = field(default_factory=dict)
    receptacles: dict[str, ReceptacleRef] = field(default_factory=dict)
    categories: dict[int, str] = field(default_factory=dict)          # object id -> category
    placements: dict[int, list[Placement]] = field(default_factory=dict)
    sightings: dict[int, list[int]] = field(default_factory=dict)     # object/fixture id -> stamps
    sessions: list[Session] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.start_ns = _int_time(self.start_ns, "start_ns")
        self.end_ns = _int_time(self.end_ns, "end_ns")
        if self.end_ns <= self.start_ns:
            raise ScenarioError(f"end_ns ({self.end_ns}) must be after start_ns ({self.start_ns})")

    # -- building -------------------------------------------------------------------------------
    def add_room(self, name: str, room_type: str) -> None:
        if not name or not isinstance(name, str):
            raise ScenarioError(f"room name must be a non-empty string, got {name!r}")
        if name in self.rooms:
            raise ScenarioError(f"room {name!r} already in the log")
        self.rooms[name] = Room(name, str(room_type))

    def add_fixture(self, fixture_id: int, category: str, room: str, position, bbox_min, bbox_max) -> None:
        fid = _int_time(fixture_id, "fixture_id")
        if fid in self.fixtures or fid in self.categories:
            raise ScenarioError(f"id {fid} already in the log")
        self._room(room)
        self.fixtures[fid] = Fixture(fid, str(category), room, _vec3(position, "position"),
                                     _vec3(bbox_min, "bbox_min"), _vec3(bbox_max, "bbox_max"))

    def add_receptacle(self, receptacle_id: str, fixture_id: int, surface: str, room: str) -> None:
        if not isinstance(receptacle_id, str) or not receptacle_id:
            raise ScenarioError(f"receptacle id must be a non-empty string, got {receptacle_id!r}")
        if receptacle_id in self.receptacles:
            raise ScenarioError(f"receptacle {receptacle_id!r} already in the log")
        fid = self.fixture(fixture_id).fixture_id
        self._room(room)
        self.receptacles[receptacle_id] = ReceptacleRef(receptacle_id, fid, str(surface), room)

    def add_object(self, object_id: int, category: str) -> None:
        oid = _int_time(object_id, "object_id")
        if oid in self.categories or oid in self.fixtures:
            raise ScenarioError(f"id {oid} already in the log")
        if oid <= 0:
            raise ScenarioError(f"object ids must be positive (0 means 'no instance'), got {oid}")
        self.categories[oid] = str(category)
        self.placements[oid] = []

    def add_session(self, session: Session) -> None:
        if session.t_start < self.start_ns or session.t_end > self.end_ns or session.t_end <= session.t_start:
            raise ScenarioError(f"session {session.index} [{session.t_start}, {session.t_end}] must lie in "
                                f"[{self.start_ns}, {self.end_ns}] and have positive length")
        if self.sessions and session.t_start < self.sessions[-1].t_end:
            raise ScenarioError(f"session {session.index} starts before session {self.sessions[-1].index} ends")
        if session.index != len(self.sessions):
            raise ScenarioError(f"session index {session.index} out of order (expected {len(self.sessions)})")
        self.sessions.append(session)

    def place(self, object_id: int, receptacle_id: str, position, t: int, yaw: float = 0.0) -> Placement:
        """From time ``t`` on, ``object_id`` rests on ``receptacle_id`` at ``position``. Ends the
        object's current interval at ``t``. Times per object must not go backwards."""
        oid = self._object(object_id)
        rec = self.receptacle(receptacle_id)
        t = self._time(t)
        pos = _vec3(position, "position")
        if not math.isfinite(float(yaw)):
            raise ScenarioError(f"yaw must be finite, got {yaw!r}")
        hist = self.placements[oid]
        if hist and hist[-1].t_end is None:
            if t <= hist[-1].t_start:
                raise ScenarioError(f"object {oid}: placement at {t} is not after its current one at {hist[-1].t_start}")
            hist[-1] = _replace_end(hist[-1], t)
        elif hist and t < hist[-1].t_end:
            raise ScenarioError(f"object {oid}: placement at {t} is before its removal at {hist[-1].t_end}")
        fx = self.fixtures[rec.fixture_id]
        p = Placement(oid, self.categories[oid], rec.receptacle_id, fx.fixture_id, fx.category, rec.surface,
                      rec.room, pos, float(yaw), t, None)
        hist.append(p)
        return p

    def remove(self, object_id: int, t: int) -> None:
        """The object leaves the house at ``t`` (it can be placed again later)."""
        oid = self._object(object_id)
        t = self._time(t)
        hist = self.placements[oid]
        if not hist or hist[-1].t_end is not None:
            raise ScenarioError(f"object {oid} is not in the house, cannot remove it at {t}")
        if t <= hist[-1].t_start:
            raise ScenarioError(f"object {oid}: removal at {t} is not after its placement at {hist[-1].t_start}")
        hist[-1] = _replace_end(hist[-1], t)

    # -- lookups --------------------------------------------------------------------------------
    def _object(self, object_id) -> int:
        if isinstance(object_id, bool) or not isinstance(object_id, (int, np.integer)) or int(object_id) not in self.categories:
            raise UnknownObjectError(f"unknown object id {object_id!r} (the log has {len(self.categories)} objects)")
        return int(object_id)

    def receptacle(self, receptacle_id: str) -> ReceptacleRef:
        """The receptacle surface with this id, else :class:`UnknownReceptacleError`."""
        r = self.receptacles.get(receptacle_id) if isinstance(receptacle_id, str) else None
        if r is None:
            raise UnknownReceptacleError(f"unknown receptacle {receptacle_id!r} (ids look like '12/top')")
        return r

    def fixture(self, fixture_id: int) -> Fixture:
        ok = isinstance(fixture_id, (int, np.integer)) and not isinstance(fixture_id, bool)
        f = self.fixtures.get(int(fixture_id)) if ok else None
        if f is None:
            raise UnknownReceptacleError(f"unknown furniture id {fixture_id!r}")
        return f

    def receptacles_of(self, fixture_id: int) -> list[str]:
        """Receptacle ids of one piece of furniture (empty if it offers none)."""
        fid = self.fixture(fixture_id).fixture_id
        return sorted(r.receptacle_id for r in self.receptacles.values() if r.fixture_id == fid)

    def _receptacle_set(self, receptacle) -> set[str]:
        # A string names one surface; an integer a whole piece of furniture (all its surfaces).
        if isinstance(receptacle, str):
            return {self.receptacle(receptacle).receptacle_id}
        ids = set(self.receptacles_of(receptacle))
        if not ids:
            raise UnknownReceptacleError(f"furniture {receptacle!r} ({self.fixtures[int(receptacle)].category}) "
                                         f"has no receptacle surfaces")
        return ids

    def _room(self, room: str) -> str:
        if not isinstance(room, str) or room not in self.rooms:
            raise UnknownRoomError(f"unknown room {room!r}; rooms: {', '.join(sorted(self.rooms))}")
        return room

    def _time(self, t) -> int:
        t = _int_time(t)
        if not self.start_ns <= t <= self.end_ns:
            raise TimeOutOfRangeError(f"time {t} is outside the scenario [{self.start_ns}, {self.end_ns}]")
        return t

    def session(self, index: int) -> Session:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.sessions):
            raise ScenarioError(f"unknown session {index!r} (the scenario has {len(self.sessions)} sessions)")
        return self.sessions[int(index)]

    def session_at(self, t: int) -> Optional[Session]:
        """The session running at ``t`` or None between sessions."""
        t = self._time(t)
        for s in self.sessions:
            if s.t_start <= t <= s.t_end:
                return s
        return None

    @property
    def object_ids(self) -> list[int]:
        return sorted(self.categories)

    def category_of(self, some_id: int) -> str:
        if isinstance(some_id, (int, np.integer)) and int(some_id) in self.categories:
            return self.categories[int(some_id)]
        return self.fixture(some_id).category

    # -- queries --------------------------------------------------------------------------------
    def location_at(self, object_id: int, t: int) -> Optional[Placement]:
        """Where ``object_id`` was at ``t``; None when it was not in the house."""
        oid = self._object(object_id)
        t = self._time(t)
        hist = self.placements[oid]
        i = bisect.bisect_right([p.t_start for p in hist], t) - 1
        if i >= 0 and (hist[i].contains(t) or (t == self.end_ns and hist[i].t_end is None)):
            return hist[i]
        return None

    def objects_present(self, t: int) -> list[Placement]:
        """Placements of every object in the house at ``t``, ordered by object id."""
        t = self._time(t)
        out = []
        for oid in self.object_ids:
            p = self.location_at(oid, t)
            if p is not None:
                out.append(p)
        return out

    def objects_on(self, receptacle, t: int) -> list[Placement]:
        """Placements of the objects resting at ``t`` on ``receptacle``: a receptacle id
        (``"12/top"``) or a furniture id (``12``: any of its surfaces)."""
        ids = self._receptacle_set(receptacle)
        return [p for p in self.objects_present(t) if p.receptacle_id in ids]

    def objects_in_room(self, room: str, t: int, category: Optional[str] = None) -> list[Placement]:
        self._room(room)
        return [p for p in self.objects_present(t) if p.room == room and (category is None or p.category == category)]

    def changes_between(self, t1: int, t2: int, room: Optional[str] = None, receptacle=None) -> list[Change]:
        """Net changes from ``t1`` to ``t2``: objects whose receptacle (or presence) differs.
        With ``room`` or ``receptacle`` (id or furniture id), only changes where the object was
        there before or after. An object moved away and back in between is not a change."""
        t1, t2 = self._time(t1), self._time(t2)
        if t2 < t1:
            raise ScenarioError(f"changes_between: t2 ({t2}) is before t1 ({t1})")
        if room is not None:
            self._room(room)
        rset = None if receptacle is None else self._receptacle_set(receptacle)
        out = []
        for oid in self.object_ids:
            a, b = self.location_at(oid, t1), self.location_at(oid, t2)
            ra = None if a is None else a.receptacle_id
            rb = None if b is None else b.receptacle_id
            if ra == rb:
                continue
            if room is not None and not any(p is not None and p.room == room for p in (a, b)):
                continue
            if rset is not None and not ({ra, rb} & rset):
                continue
            kind = "appeared" if a is None else "disappeared" if b is None else "moved"
            out.append(Change(kind, oid, self.categories[oid], a, b))
        return out

    def moves_between(self, t1: int, t2: int) -> list[Placement]:
        """Every placement that started in ``(t1, t2]`` (each individual move, not the net change)."""
        t1, t2 = self._time(t1), self._time(t2)
        return sorted((p for h in self.placements.values() for p in h if t1 < p.t_start <= t2),
                      key=lambda p: (p.t_start, p.object_id))

    def change_times(self) -> list[int]:
        """Sorted distinct times at which any object was placed or removed (after the start)."""
        ts = {p.t_start for h in self.placements.values() for p in h if p.t_start > self.start_ns}
        ts |= {p.t_end for h in self.placements.values() for p in h if p.t_end is not None}
        return sorted(ts)

    # -- sightings ------------------------------------------------------------------------------
    def record_sighting(self, some_id: int, stamp_ns: int) -> None:
        """The agent saw object (or furniture) ``some_id`` at ``stamp_ns``. An object that was not
        in the house then cannot be seen: that raises, since it means mislabelled frames."""
        t = self._time(stamp_ns)
        if isinstance(some_id, (int, np.integer)) and not isinstance(some_id, bool) and int(some_id) in self.fixtures:
            sid = int(some_id)
        else:
            sid = self._object(some_id)
            if self.location_at(sid, t) is None:
                raise ScenarioError(f"object {sid} ({self.categories[sid]}) is not in the house at {t}; cannot be seen")
        stamps = self.sightings.setdefault(sid, [])
        i = bisect.bisect_left(stamps, t)
        if i == len(stamps) or stamps[i] != t:
            stamps.insert(i, t)

    def record_frame(self, frame, min_pixels: int = 10) -> list[int]:
        """Record a sighting for every known object/furniture with at least ``min_pixels`` pixels
        in ``frame.instance_ids``; returns the ids recorded. Unknown ids (walls, floor) are ignored."""
        ids = getattr(frame, "instance_ids", None)
        if ids is None:
            raise ScenarioError("record_frame needs a frame with an instance_ids image")
        t = self._time(frame.stamp_ns)
        vals, counts = np.unique(np.asarray(ids), return_counts=True)
        seen = []
        for v, c in zip(vals.tolist(), counts.tolist()):
            if v == 0 or c < min_pixels:
                continue
            if v in self.fixtures or (v in self.categories and self.location_at(v, t) is not None):
                self.record_sighting(v, t)
                seen.append(v)
        return seen

    def last_seen(self, some_id: int, before_ns: Optional[int] = None) -> Optional[int]:
        """Stamp of the last sighting at or before ``before_ns`` (default: the end); None if never."""
        if not (isinstance(some_id, (int, np.integer)) and not isinstance(some_id, bool) and int(some_id) in self.fixtures):
            self._object(some_id)
        t = self.end_ns if before_ns is None else self._time(before_ns)
        stamps = self.sightings.get(int(some_id), [])
        i = bisect.bisect_right(stamps, t)
        return stamps[i - 1] if i else None

    # -- integrity ------------------------------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`ScenarioError` unless every object's intervals are sorted, non-empty,
        non-overlapping, inside the scenario, on known receptacles, and only the last is open."""
        for oid, hist in self.placements.items():
            for i, p in enumerate(hist):
                if p.object_id != oid or p.category != self.categories[oid]:
                    raise ScenarioError(f"object {oid}: interval {i} names object {p.object_id}/{p.category}")
                rec = self.receptacle(p.receptacle_id)
                if (p.fixture_id, p.room, p.surface) != (rec.fixture_id, rec.room, rec.surface):
                    raise ScenarioError(f"object {oid}: interval {i} disagrees with receptacle {rec.receptacle_id!r}")
                if not self.start_ns <= p.t_start <= self.end_ns:
                    raise ScenarioError(f"object {oid}: interval {i} starts outside the scenario")
                if p.t_end is not None and not p.t_start < p.t_end <= self.end_ns:
                    raise ScenarioError(f"object {oid}: interval {i} is empty or ends outside the scenario")
                if p.t_end is None and i != len(hist) - 1:
                    raise ScenarioError(f"object {oid}: interval {i} is open but not the last one")
                if i and p.t_start < hist[i - 1].t_end:
                    raise ScenarioError(f"object {oid}: intervals {i - 1} and {i} overlap")

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "meta": self.meta,
            "rooms": [asdict(r) for r in self.rooms.values()],
            "fixtures": [asdict(f) for f in self.fixtures.values()],
            "receptacles": [asdict(r) for r in self.receptacles.values()],
            "objects": [{"object_id": oid, "category": cat} for oid, cat in sorted(self.categories.items())],
            "placements": [asdict(p) for oid in self.object_ids for p in self.placements[oid]],
            "sightings": {str(k): v for k, v in sorted(self.sightings.items())},
            "sessions": [asdict(s) for s in self.sessions],
        }

    def to_json(self, path: Union[str, Path, None] = None, indent: Optional[int] = None) -> str:
        """JSON text of the log; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_dict(cls, d: dict) -> "GroundTruthLog":
        """Rebuild a log from :meth:`to_dict` output, validating it (:meth:`check`)."""
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            raise ScenarioError(f"not a scenario log (expected schema {SCHEMA!r}, got "
                                f"{d.get('schema') if isinstance(d, dict) else type(d).__name__!r})")
        try:
            log = cls(d["start_ns"], d["end_ns"], meta=dict(d.get("meta", {})))
            for r in d["rooms"]:
                log.add_room(r["name"], r["room_type"])
            for f in d["fixtures"]:
                log.add_fixture(f["fixture_id"], f["category"], f["room"], f["position"], f["bbox_min"], f["bbox_max"])
            for r in d["receptacles"]:
                log.add_receptacle(r["receptacle_id"], r["fixture_id"], r["surface"], r["room"])
            for o in d["objects"]:
                log.add_object(o["object_id"], o["category"])
            for p in d["placements"]:
                oid = log._object(p["object_id"])
                rec = log.receptacle(p["receptacle_id"])
                fx = log.fixtures[rec.fixture_id]
                t_end = p["t_end"]
                log.placements[oid].append(Placement(
                    oid, log.categories[oid], rec.receptacle_id, fx.fixture_id, fx.category, rec.surface, rec.room,
                    _vec3(p["position"], "position"), float(p["yaw"]), _int_time(p["t_start"]),
                    None if t_end is None else _int_time(t_end)))
            for s in d["sessions"]:
                log.add_session(Session(int(s["index"]), int(s["day"]), str(s["name"]), int(s["t_start"]), int(s["t_end"])))
            for k, stamps in d.get("sightings", {}).items():
                log.sightings[int(k)] = sorted(int(t) for t in stamps)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ScenarioError):
                raise
            raise ScenarioError(f"malformed scenario log: missing or wrong field ({exc!r})") from None
        log.check()
        return log

    @classmethod
    def from_json(cls, text_or_path: Union[str, Path]) -> "GroundTruthLog":
        """Load from JSON text or a path to a JSON file."""
        return cls.from_dict(load_json_text_or_file(text_or_path, "scenario log", ("{",)))


def _replace_end(p: Placement, t_end: int) -> Placement:
    return replace(p, t_end=t_end)


def load_json_text_or_file(text_or_path: Union[str, Path], what: str, opening: tuple[str, ...]) -> object:
    """Parse JSON given as text (it starts with one of ``opening``) or as a path to a file; a file
    that cannot be read or is not JSON raises :class:`ScenarioError` naming ``what``."""
    text = str(text_or_path)
    if isinstance(text_or_path, Path) or not text.lstrip().startswith(opening):
        try:
            text = Path(text_or_path).read_text()
        except OSError as exc:
            raise ScenarioError(f"cannot read {what} {text_or_path}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{what} is not valid JSON: {exc}") from None
