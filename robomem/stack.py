"""`MemoryStack`: the whole memory in one object — perception (when available), a short-term
working memory, the durable long-term store, keyframes and the robot's own trajectory.

    stack = robomem.stack.open("house.db")
    stack.begin_session("monday", frame0.stamp_ns)
    for frame in frames:
        stack.observe(frame)
    stack.end_session(frames[-1].stamp_ns)
    stack.where_is("mug")

A second process can open the same file with ``open("house.db", readonly=True)`` and query while
the first one writes."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np

from robomem.errors import InvalidImageError, InvalidInputError
from robomem.frame import Frame
from robomem.memory.consolidation import ConsolidationClock, ForgettingPolicy
from robomem.memory.errors import ReadOnlyStoreError
from robomem.memory.keyframes import KeyframePolicy, check_encoding, image_descriptor
from robomem.memory.longterm import SETTINGS as STORE_SETTINGS
from robomem.memory.longterm import LongTermMemory
from robomem.memory.robot_queries import RobotPosition, RoomVisit
from robomem.memory.records import (
    ForgetReport,
    IngestReport,
    Placement,
    StoredEvent,
    check_id,
    check_json,
    check_stamp,
    check_text,
    check_vec3,
    concat_columns,
    observations_to_columns,
    query_id,
    query_stamp,
    query_text,
    validate_events,
)
from robomem.memory.shortterm import ShortTermMemory
from robomem.memory.trajectory import TrajectoryThinner
from robomem.mapping.map_memory import open_map, pop_map_settings  # map (issue 11)
from robomem.observations import EventKind, ObjectEvent, ObjectObservation

__all__ = ["open", "MemoryStack", "WhereAnswer"]

_CHANGE_EVENTS = (EventKind.APPEARED, EventKind.MOVED, EventKind.DISAPPEARED)


@dataclass(frozen=True)
class WhereAnswer:
    """Answer to "where is X?" with its evidence: the stored placement (or the not yet consolidated
    short-term sighting), when it was last seen there, and keyframes showing the object."""

    object_id: int
    label: str
    position: np.ndarray
    room_id: Optional[int]
    receptacle_id: Optional[int]
    since_ns: int
    last_seen_ns: int
    source: str                      # "long-term" or "short-term"
    placement: Optional[Placement]
    keyframe_ids: tuple
    current: bool                    # False: closed by a move/disappearance, so only the last known place


class MemoryStack:
    """Perception + short-term memory + long-term store on one SQLite file.

    Settings (keyword arguments): ``stm_capacity``, ``stm_half_life_ns`` (:class:`ShortTermMemory`);
    ``consolidation_interval_ns`` (flush short- to long-term every that much data time; 0 = every
    frame; session end always flushes); ``forgetting`` (:class:`ForgettingPolicy`, applied at
    session end); ``keyframe_policy`` (:class:`KeyframePolicy`), ``keyframe_max_side``;
    ``waypoint_spacing_m``, ``stop_radius_m`` (:class:`TrajectoryThinner`); ``perception``: a
    ``PerceptionPipeline`` instance, ``"auto"`` (build one on the first frame if
    ``robomem.perception`` imports) or None; ``perception_settings`` (kwargs for the auto one).
    Remaining keywords go to :class:`LongTermMemory` (``move_tolerance_m``,
    ``keyframe_budget_bytes``, ``max_bytes``, ``synchronous``, ...). Every setting is checked when
    the stack opens (:class:`~robomem.errors.InvalidInputError` naming it), not at the first frame.

    Map (issue 11): ``map="auto"`` (default) gives the stack an occupancy map (:attr:`map`, a
    :class:`~robomem.mapping.map_memory.MapMemory`) that every observed frame updates before
    perception, that perception uses for rooms and places, and that is stored in the same file on
    its own rhythm (``map_persist_interval_ns`` of data time, default 5 s, or
    ``map_persist_frames`` frames; 0 = at every consolidation), at :meth:`flush`, at session end
    (with a snapshot) and at :meth:`close`; ``map_resolution``, ``map_max_range``,
    ``map_discretize``, ``map_decay``, ``map_stride``, ``map_session_prior`` set it
    (:class:`~robomem.mapping.map_memory.MapSettings`); ``map=None`` disables it. When rooms are
    (re)segmented, stored current placements without a room get the room their position lies in.

    Durability: records are durable once consolidated (:meth:`flush`, the consolidation rhythm,
    :meth:`end_session`, :meth:`close`); on a crash at most ``consolidation_interval_ns`` of data
    time of records is lost, and the map loses the frames inserted since its last write (at most
    ``map_persist_interval_ns`` of data time or ``map_persist_frames`` frames); the stored map is
    always the map after a whole frame, never part of one."""

    def __init__(self, path: str | os.PathLike, readonly: bool = False, *, stm_capacity: int = 2048,
                 stm_half_life_ns: int = 30 * 10**9, consolidation_interval_ns: int = 10**9,
                 forgetting: Optional[ForgettingPolicy] = None, keyframe_policy: Optional[KeyframePolicy] = None,
                 keyframe_max_side: int = 160, keyframe_quality: int = 70, keyframe_format: str = "JPEG",
                 waypoint_spacing_m: float = 1.0, stop_radius_m: float = 0.1,
                 perception="auto", perception_settings: Optional[dict] = None, **store_settings) -> None:
        # Every setting is checked here, before the file is touched, not at the first frame.
        check_encoding(keyframe_max_side, keyframe_format, keyframe_quality)
        if forgetting is not None and not isinstance(forgetting, ForgettingPolicy):
            raise InvalidInputError(f"forgetting must be a ForgettingPolicy, got {type(forgetting).__name__}")
        if keyframe_policy is not None and not isinstance(keyframe_policy, KeyframePolicy):
            raise InvalidInputError(f"keyframe_policy must be a KeyframePolicy, got {type(keyframe_policy).__name__}")
        if perception_settings is not None and not isinstance(perception_settings, dict):
            raise InvalidInputError(f"perception_settings must be a dict, got {type(perception_settings).__name__}")
        if not (perception is None or perception == "auto" or hasattr(perception, "process")):
            raise InvalidInputError(f"perception must be None, 'auto' or a pipeline with process(), got {perception!r}")
        map_choice, map_settings = pop_map_settings(store_settings)  # map (issue 11)
        unknown = sorted(set(store_settings) - set(STORE_SETTINGS))
        if unknown:
            raise InvalidInputError(f"unknown MemoryStack setting(s) {unknown}; known store settings: "
                                    f"{list(STORE_SETTINGS)}")
        short_term = ShortTermMemory(stm_capacity, stm_half_life_ns)
        clock = ConsolidationClock(consolidation_interval_ns)
        thinner = TrajectoryThinner(waypoint_spacing_m, stop_radius_m)
        self.long_term = LongTermMemory(path, readonly, **store_settings)
        #: the occupancy map (MapMemory) or None; see the class doc (map, issue 11)
        try:
            self.map = open_map(map_choice, map_settings, self.long_term.connection, readonly)
        except BaseException:
            self.long_term.close()  # a refused map must not leave the writer lock held
            raise
        self.readonly = bool(readonly)
        self.short_term = short_term
        self.clock = clock
        self.forgetting = forgetting or ForgettingPolicy()
        self.long_term.keyframe_half_life_ns = self.forgetting.keyframe_half_life_ns
        self.keyframe_policy = keyframe_policy or KeyframePolicy()
        self.keyframe_max_side = int(keyframe_max_side)
        self.keyframe_quality = int(keyframe_quality)
        self.keyframe_format = keyframe_format
        self.thinner = thinner
        self._perception = perception
        self._perception_settings = dict(perception_settings or {})
        self._pending_obs: list = []      # validated ObservationColumns batches
        self._pending_events: list = []   # validated EventRow
        self._pending_traj: list = []
        self._pending_latest: Optional[int] = None
        self._pending_ids: set = set()    # object ids introduced by pending records
        self._structure_seen = 0          # perception's structure_version whose rooms the store has
        self._rooms_stale = False         # rooms (re)segmented since stored placements got theirs
        if not self.readonly:
            # novelty is judged against every keyframe already kept in the file, across sessions
            self.keyframe_policy.remember(self.long_term.kept_views())

    # ------------------------------------------------------------------ lifecycle
    @property
    def perception(self):
        """The perception pipeline (built on first use when ``perception="auto"``), or None."""
        if isinstance(self._perception, str):
            try:
                from robomem.perception import PerceptionPipeline
            except ImportError:
                self._perception = None
            else:
                extra = {} if self.map is None else {"octree": self.map.octree, "integrate_depth": False}  # map
                self._perception = PerceptionPipeline(**{**extra, **self._perception_settings})
        return self._perception

    @property
    def scene_graph(self):
        """The perception's current scene graph; None until a frame went through perception."""
        p = self._perception
        return None if p is None or isinstance(p, str) else p.scene_graph

    def close(self) -> None:
        """Consolidate what is pending and close the store (WAL checkpointed). Idempotent."""
        if self.long_term.closed:
            return
        try:
            if not self.readonly:
                self._pending_traj.extend(self.thinner.finish())
                self.flush()
        finally:
            self.long_term.close()

    def __enter__(self) -> "MemoryStack":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _writable(self) -> None:
        if self.readonly:
            raise ReadOnlyStoreError(f"{self.long_term.path} is open read-only")

    # ------------------------------------------------------------------ writing
    def begin_session(self, name: str, stamp_ns: int, info: Optional[dict] = None) -> int:
        """Start a session (e.g. a day). Pending records are consolidated into the previous one.
        A session may begin any time after the newest record (not before: :class:`OutOfOrderError`)."""
        self._writable()
        check_text(name, "session name", allow_empty=True)
        check_json(info or {}, "session info")
        self.long_term.check_session_start(stamp_ns, self._pending_latest)
        self.flush()
        sid = self.long_term.begin_session(name, stamp_ns, info)
        if self.map is not None:  # map (issue 11)
            self.map.begin_session()
        p = self._perception
        if p is not None and not isinstance(p, str) and hasattr(p, "new_session"):
            p.new_session()
        self.thinner.reset()
        return sid

    def end_session(self, stamp_ns: int, scene_graph=None) -> int:
        """Consolidate, store the scene-graph snapshot (``scene_graph`` or the perception's graph),
        apply forgetting, and close the session. Returns its id. Raises :class:`SessionError` when
        no session is open and :class:`OutOfOrderError` for a stamp before the session's newest record."""
        self._writable()
        self.long_term.check_session_end(stamp_ns, self._pending_latest)
        self._perception_session_end()
        self._pending_traj.extend(self.thinner.finish())
        self.flush()
        p = self._perception  # map (issue 11): rooms/places from the whole session's map, then its snapshot
        if self.map is not None and not isinstance(p, (str, type(None))) and getattr(p, "octree", None) is not None:
            p.update_structure()
            if self._note_structure():
                self._fill_rooms()
        if self.map is not None:
            self.map.snapshot(self.long_term.session_id, stamp_ns)
        graph = scene_graph if scene_graph is not None else self.scene_graph
        sid = self.long_term.end_session(stamp_ns, graph)
        self.long_term.forget(stamp_ns, self.forgetting)
        self._sync_keyframe_views()
        return sid

    def _perception_session_end(self) -> None:
        """Perception's end-of-session decisions (objects seen through this session and not seen
        again disappear, see ``PerceptionPipeline.end_session``), recorded at its last frame."""
        p = self._perception
        end = getattr(p, "end_session", None) if p is not None and not isinstance(p, str) else None
        if end is None:
            return
        result = end()
        if result is None or not (result.events or result.observations or result.merged):
            return
        self.record(result.stamp_ns, result.observations, result.events + self._retired(result))

    def observe(self, frame: Frame, room_id: Optional[int] = None):
        """Run perception on ``frame`` and remember the result (observations, events, the robot's
        pose, a keyframe when the view is new). ``room_id``: the robot's room if known; otherwise it
        is looked up in the scene graph's room map. Returns the perception's ``FrameResult``.

        All or nothing: the frame is checked against the store (stamp bounds, order against what is
        stored and pending) *before* perception sees it, so a frame the store would refuse never
        changes the tracker or the scene graph."""
        self._writable()
        if not isinstance(frame, Frame):
            raise InvalidInputError(f"observe() needs a robomem.Frame, got {type(frame).__name__}")
        if room_id is not None:
            room_id = check_id(room_id, "observe: room_id")
        stamp = check_stamp(frame.stamp_ns, "observe: frame")
        for iid, label in (frame.labels or {}).items():  # labels become records: check them at the door
            check_text(label, f"observe: frame label of instance {iid}")
        self.long_term.check_batch(np.array([stamp], np.int64), pending_latest=self._pending_latest, what="frame")
        p = self.perception
        if p is None:
            raise InvalidInputError("no perception pipeline available (robomem.perception missing); "
                                    "use record() with observations you produced")
        if self.map is not None:  # map (issue 11): depth into the octree first (DESIGN data flow)
            self.map.insert(frame)
        result = p.process(frame)
        self._note_structure()
        T = frame.T_world_camera
        if room_id is None:
            room_id = self._room_of(T[:3, 3])
        self.record(frame.stamp_ns, result.observations, result.events + self._retired(result), robot_position=T[:3, 3],
                    robot_yaw=math.atan2(T[1, 2], T[0, 2]), robot_room=room_id, image=frame.rgb)
        return result

    def _retired(self, result) -> list:
        """A *disappeared* event for every stored id that perception folded into another object in
        this frame (a duplicate, or a provisional object found to be an older one moved): its
        place is closed, so it is not reported as a second object; the kept id carries on."""
        out = []
        for gone, kept in result.merged.items():
            if gone == kept or not (gone in self._pending_ids or self.long_term.knows_object(gone)):
                continue
            obj = self.perception.tracker.objects.get(kept)
            pl = self.long_term.current_placement(gone)
            pos = pl.position if pl is not None else (obj.centroid if obj is not None else np.zeros(3))
            label = pl.label if pl is not None else (obj.label if obj is not None else "object")
            out.append(ObjectEvent(EventKind.DISAPPEARED, gone, label, result.stamp_ns, np.asarray(pos, float)))
        return out

    def _note_structure(self) -> bool:
        """Mark the stored rooms stale when perception (re)segmented rooms; True if it did."""
        v = getattr(self._perception, "structure_version", 0)
        if v != self._structure_seen:
            self._structure_seen = v
            self._rooms_stale = True
        return self._rooms_stale

    def _fill_rooms(self) -> int:
        """Give the stored current placements that have no room the room their position lies in
        (rooms from the scene graph's room map; positions outside every room stay without).
        Returns how many got one."""
        self._rooms_stale = False
        g = self.scene_graph
        rm = getattr(g, "room_map", None) if g is not None else None
        if rm is None:
            return 0
        pids, xyz = self.long_term.current_placements_without_room()
        if len(pids) == 0:
            return 0
        rooms = rm.room_at(xyz[:, :2])
        ok = rooms > 0
        return self.long_term.set_placement_rooms(pids[ok], rooms[ok])

    def _room_of(self, xyz: np.ndarray) -> Optional[int]:
        g = self.scene_graph
        rm = getattr(g, "room_map", None) if g is not None else None
        if rm is None:
            return None
        r = int(rm.room_at(np.asarray(xyz[:2])[None])[0])
        return r if r > 0 else None

    def record(self, stamp_ns: int, observations: Sequence[ObjectObservation] = (),
               events: Sequence[ObjectEvent] = (), *, robot_position=None, robot_yaw: Optional[float] = None,
               robot_room: Optional[int] = None, image: Optional[np.ndarray] = None) -> None:
        """Remember already-perceived records of one moment (the path :meth:`observe` takes after
        perception). Everything is validated first, including all that will be encoded later
        (labels, attributes, the keyframe image); bad input raises and changes nothing."""
        self._writable()
        stamp_ns = check_stamp(stamp_ns, "record")
        if image is not None and (not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3
                                  or image.shape[2] != 3 or min(image.shape[:2]) < 1):
            raise InvalidImageError(f"image must be (H, W, 3) uint8, got {getattr(image, 'shape', None)} "
                                    f"{getattr(image, 'dtype', None)}")
        if robot_position is not None:
            robot_position = check_vec3(robot_position, "robot_position")
        if robot_yaw is not None and (isinstance(robot_yaw, bool) or not isinstance(robot_yaw, (int, float, np.floating))
                                      or not math.isfinite(robot_yaw)):
            raise InvalidInputError(f"robot_yaw must be a finite number (rad), got {robot_yaw!r}")
        robot_room = check_id(robot_room, "robot_room", optional=True)
        observations, events = list(observations), list(events)
        cols = observations_to_columns(observations)
        ev_rows = validate_events(events)
        stamps = np.concatenate([cols.stamp_ns, np.array([e.stamp_ns for e in ev_rows] + [stamp_ns], np.int64)])
        lt = self.long_term
        batch_ids = set(cols.object_id.tolist())
        # Order and object ids against everything stored or pending, before any state changes.
        lt.check_batch(stamps, [e.object_id for e in ev_rows if e.kind != EventKind.APPEARED],
                       pending_latest=self._pending_latest, pending_object_ids=self._pending_ids | batch_ids)
        had_event = any(e.kind in _CHANGE_EVENTS for e in ev_rows)
        visible = [o.object_id for o in observations]
        kf = None
        if image is not None and visible:
            desc = image_descriptor(image)
            if self.keyframe_policy.wants(stamp_ns, visible, had_event, robot_position, robot_yaw, desc):
                kf = lt.prepare_keyframe(image, stamp_ns, visible, importance=1.0 if had_event else 0.5,
                                         max_side=self.keyframe_max_side, fmt=self.keyframe_format,
                                         quality=self.keyframe_quality, position=robot_position, yaw=robot_yaw)
        # ---- validated: from here on nothing raises on input
        traj = []
        if robot_position is not None:
            traj = self.thinner.update(stamp_ns, robot_position, robot_yaw, robot_room)
        self.short_term.add(observations + events)
        if len(cols):
            self._pending_obs.append(cols)
        self._pending_events.extend(ev_rows)
        self._pending_traj.extend(traj)
        self._pending_ids |= batch_ids | {e.object_id for e in ev_rows if e.kind == EventKind.APPEARED}
        hi = int(stamps.max())
        self._pending_latest = hi if self._pending_latest is None else max(self._pending_latest, hi)
        m = self.map
        if kf is not None or self.clock.due(stamp_ns):
            self._flush(with_map=m is not None and m.settings.persist_interval_ns == 0)
            self.clock.mark(stamp_ns)
        if m is not None and m.persist_due():  # map (issue 11): the map's own, slower rhythm
            m.persist(self._pending_latest)
        if kf is not None:
            lt.store_keyframe(kf)
            self.keyframe_policy.taken(stamp_ns, visible, robot_position, robot_yaw, kf.descriptor)
            self._sync_keyframe_views()

    def _sync_keyframe_views(self) -> None:
        """After eviction/forgetting, compare new views only with keyframes still stored."""
        if self.long_term.keyframe_count() < len(self.keyframe_policy.views):
            self.keyframe_policy.remember(self.long_term.kept_views())

    def flush(self) -> Optional[IngestReport]:
        """Consolidate pending short-term records into the long-term store (one transaction) and
        write the map's changed blocks (another one). When it returns both are durable. On failure
        (e.g. disk full) the records stay pending and the map blocks unwritten."""
        return self._flush(with_map=True)

    def _flush(self, with_map: bool) -> Optional[IngestReport]:
        self._writable()
        if with_map and self.map is not None:  # map (issue 11): changed map blocks
            self.map.persist(self._pending_latest)
        rep = self._ingest_pending()
        if self._rooms_stale:  # map (issue 11): rooms were (re)segmented: stored placements learn theirs
            self._fill_rooms()
        return rep

    def _ingest_pending(self) -> Optional[IngestReport]:
        if not (self._pending_obs or self._pending_events or self._pending_traj):
            return None
        rep = self.long_term.ingest_validated(concat_columns(self._pending_obs), self._pending_events,
                                              self._pending_traj)
        self._pending_obs, self._pending_events, self._pending_traj = [], [], []
        self._pending_ids = set()
        return rep

    def forget(self, now_ns: int, policy: Optional[ForgettingPolicy] = None) -> ForgetReport:
        self._writable()
        rep = self.long_term.forget(now_ns, policy or self.forgetting)
        self._sync_keyframe_views()
        return rep

    # ------------------------------------------------------------------ queries
    def where_is(self, label: str) -> list[WhereAnswer]:
        """Every object with ``label`` and where it is (last known), most recently seen first. A
        sighting still in short-term memory wins over an older stored one."""
        label = query_text(label, "where_is: label")
        ps = self.long_term.where_is(label)
        kfs = self.long_term.keyframe_ids_of([p.object_id for p in ps]) if ps else {}
        answers = {a.object_id: a for a in (self._answer(p, kfs.get(p.object_id, ())) for p in ps)}
        for o in self.short_term.last_of_label(label):
            a = answers.get(o.object_id)
            if a is None or o.stamp_ns > a.last_seen_ns:
                answers[o.object_id] = self._stm_answer(o, a)
        return sorted(answers.values(), key=lambda a: -a.last_seen_ns)

    def where_is_object(self, object_id: int) -> Optional[WhereAnswer]:
        object_id = query_id(object_id, "where_is_object: object_id")
        p = self.long_term.current_placement(object_id)
        a = None if p is None else self._answer(p)
        o = self.short_term.last_observation(object_id)
        if o is not None and (a is None or o.stamp_ns > a.last_seen_ns):
            a = self._stm_answer(o, a)
        return a

    def _answer(self, p: Placement, kf: Optional[tuple] = None) -> WhereAnswer:
        if kf is None:
            kf = self.long_term.keyframe_ids_of([p.object_id]).get(p.object_id, ())
        return WhereAnswer(p.object_id, p.label, p.position, p.room_id, p.receptacle_id, p.t_start_ns, p.t_end_ns,
                           "long-term", p, kf, p.current)

    def _stm_answer(self, o: ObjectObservation, stored: Optional[WhereAnswer]) -> WhereAnswer:
        room = o.room_id if o.room_id is not None else self._room_of(np.asarray(o.position, dtype=np.float64))
        return WhereAnswer(o.object_id, o.label, np.asarray(o.position, dtype=np.float64), room,
                           o.receptacle_id, o.stamp_ns, o.stamp_ns, "short-term",
                           stored.placement if stored else None, stored.keyframe_ids if stored else (), True)

    def last_seen(self, object_id: int) -> Optional[int]:
        a = self.where_is_object(query_id(object_id, "last_seen: object_id"))
        return None if a is None else a.last_seen_ns

    def just_seen(self, window_ns: int = 2 * 10**9) -> list[ObjectObservation]:
        return self.short_term.just_seen(window_ns)

    def placements_at(self, stamp_ns: int) -> list[Placement]:
        return self.long_term.placements_at(query_stamp(stamp_ns, "placements_at: stamp_ns"))

    def objects_in_box(self, lo, hi, t0_ns: int, t1_ns: int, label: Optional[str] = None) -> list[Placement]:
        return self.long_term.objects_in_box(lo, hi, t0_ns, t1_ns, label)

    def events(self, object_id: Optional[int] = None, t0_ns: Optional[int] = None, t1_ns: Optional[int] = None,
               kinds: Optional[Iterable] = None) -> list[StoredEvent]:
        return self.long_term.events(object_id, t0_ns, t1_ns, kinds)

    def where_was_i(self, stamp_ns: int) -> Optional[RobotPosition]:
        return self.long_term.robot_position_at(query_stamp(stamp_ns, "where_was_i: stamp_ns"))

    def last_visit(self, room_id: int, before_ns: Optional[int] = None) -> Optional[RoomVisit]:
        return self.long_term.last_visit(room_id, before_ns)

    def room_visits(self, room_id: int, t0_ns: Optional[int] = None, t1_ns: Optional[int] = None) -> list[RoomVisit]:
        return self.long_term.room_visits(room_id, t0_ns, t1_ns)

    def scene_graph_of_session(self, session_id: int):
        return self.long_term.scene_graph(query_id(session_id, "scene_graph_of_session: session_id"))

    # ------------------------------------------------------------------ retrieval (robomem.retrieval)
    def query(self, q, now_ns: Optional[int] = None):
        """Answer a typed query (``robomem.retrieval`` dataclass or its JSON dict) -> ``Answer``."""
        from robomem import retrieval
        if isinstance(q, dict):
            q = retrieval.query_from_dict(q)
        return retrieval.answer(self, q, now_ns)

    def ask(self, text, now_ns: Optional[int] = None):
        """Answer a question in words (times relative to the store's clock) -> ``Answer``."""
        from robomem import retrieval
        return retrieval.ask(self, text, now_ns)

    # map (issue 11) -------------------------------------------------------------------------
    def map_at(self, stamp_ns: Optional[int] = None, *, session_id: Optional[int] = None):
        """The occupancy map as of ``stamp_ns`` or session ``session_id`` (see :meth:`MapMemory.map_at`)."""
        return self._need_map().map_at(stamp_ns, session_id=session_id)

    def map_changes(self, t1_ns: int, t2_ns: Optional[int] = None, **settings):
        """Voxels and regions that changed state between two times (see :meth:`MapMemory.changes`)."""
        return self._need_map().changes(t1_ns, t2_ns, **settings)

    def _need_map(self):
        if self.map is None:
            raise InvalidInputError("this stack has no map (opened with map=None)")
        return self.map


def open(path: str | os.PathLike, readonly: bool = False, **settings) -> MemoryStack:  # noqa: A001
    """Open (or create) a memory store at ``path``. See :class:`MemoryStack` for ``settings``."""
    return MemoryStack(path, readonly, **settings)
