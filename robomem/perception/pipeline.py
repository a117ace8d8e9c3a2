"""`PerceptionPipeline`: one call per frame runs map + segments + tracker + scene-graph update."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from robomem.frame import Frame
from robomem.observations import EventKind, ObjectEvent, ObjectObservation
from robomem.perception.segments import extract_segments
from robomem.perception.tracker import DISAPPEARED, ObjectTracker, StaleFrameError, TrackedObject
from robomem.scenegraph.graph import SceneGraph, node_id
from robomem.scenegraph.places import add_places, extract_places, link_objects_to_places
from robomem.scenegraph.relations import update_object_relations
from robomem.scenegraph.rooms import (add_rooms, fill_room_notches, merge_same_type_rooms, segment_rooms,
                                      update_room_types)


@dataclass
class FrameResult:
    """Output of :meth:`PerceptionPipeline.process` for one frame."""

    observations: list[ObjectObservation]
    events: list[ObjectEvent]
    stamp_ns: int
    num_segments: int = 0
    skipped: list[str] = field(default_factory=list)   # why (parts of) the frame were not used
    #: id -> id it was folded into, this frame: duplicates merged, and provisional objects found to
    #: be an older object moved (the older id is kept); the folded ids are not used again
    merged: dict = field(default_factory=dict)


class PerceptionPipeline:
    """Runs each frame through the octree (if given), segmentation, the object tracker and the scene
    graph.

    Settings: ``segment_settings`` (kwargs of :func:`extract_segments`; ``missing_labels`` defaults
    to ``"skip"`` here: unlabelled instances are dropped and reported in ``FrameResult.skipped``),
    ``tracker_settings`` (kwargs of :class:`ObjectTracker`), ``structure_every`` (recompute rooms
    and places from the octree every N frames; 0 = only when :meth:`update_structure` is called),
    ``room_band`` (z range in metres of the octree slice used for rooms and places: above most
    furniture, below door tops), ``room_settings`` / ``place_settings`` (kwargs of
    :func:`segment_rooms` / :func:`extract_places`), ``integrate_depth`` (insert each frame's depth
    into ``octree``; False when another owner, e.g. the memory stack's map, already does),
    ``notch_radius`` (metres; rooms take the occupied/unknown cells in their notches, see
    :func:`~robomem.scenegraph.rooms.fill_room_notches`; 0 = off).
    """

    def __init__(self, octree=None, *, segment_settings: Optional[dict] = None,
                 tracker_settings: Optional[dict] = None, structure_every: int = 50,
                 room_band: tuple[float, float] = (1.4, 1.9), room_settings: Optional[dict] = None,
                 place_settings: Optional[dict] = None, floor_z: float = 0.0, integrate_depth: bool = True,
                 notch_radius: float = 1.0) -> None:
        self.octree = octree
        self.integrate_depth = bool(integrate_depth)  # False: the octree is filled by its owner (the stack's map)
        self.segment_settings = {"missing_labels": "skip", **(segment_settings or {})}
        self.tracker = ObjectTracker(**(tracker_settings or {}))
        self.scene_graph = SceneGraph()
        self.structure_every = int(structure_every)
        self.room_band = room_band
        self.room_settings = dict(room_settings or {})
        self.place_settings = dict(place_settings or {})
        self.floor_z = floor_z
        self.notch_radius = float(notch_radius)   # rooms.fill_room_notches after segmentation (0 = off)
        self.frames_processed = 0
        #: number of room/place (re)segmentations so far (a consumer can tell when rooms changed)
        self.structure_version = 0

    def new_session(self) -> None:
        """Start a new session (e.g. a new day); see :meth:`ObjectTracker.new_session`."""
        self.tracker.new_session()

    def process(self, frame: Frame) -> FrameResult:
        """Process one frame. Raises :class:`StaleFrameError` (a ``ValueError``) for a frame older
        than the last one and :class:`LabelMismatchError` only if ``missing_labels="error"`` was
        configured; in both cases nothing changes. A frame without valid depth is skipped
        (``FrameResult.skipped`` says so)."""
        if not isinstance(frame, Frame):
            from robomem.errors import InvalidInputError
            raise InvalidInputError(f"process() needs a robomem.Frame, got {type(frame).__name__}")
        last = self.tracker.last_stamp_ns
        if last is not None and frame.stamp_ns < last:
            raise StaleFrameError(f"frame stamp {frame.stamp_ns} ns is older than the last processed frame "
                                  f"({last} ns); frames must be processed in time order")
        skipped: list[str] = []
        if not frame.valid_mask.any():
            return FrameResult([], [], frame.stamp_ns, 0, ["frame has no valid depth reading"])
        settings = dict(self.segment_settings)
        report: dict = {}
        segments = extract_segments(frame, report=report, **settings)   # may raise before any state changes
        missing = report.get("missing_labels")
        if missing and settings.get("missing_labels") == "skip":
            skipped.append(f"instance ids without a label were ignored: {sorted(missing)[:10]}")
        if self.octree is not None and self.integrate_depth:
            self.octree.insert_depth(frame.depth, frame.intrinsics, frame.T_world_camera, stamp_ns=frame.stamp_ns)
        upd = self.tracker.update(frame, segments)
        self._update_graph(upd)
        self.frames_processed += 1
        if self.octree is not None and self.structure_every > 0 and self.frames_processed % self.structure_every == 0:
            self.update_structure()
        return self._result(upd, frame.stamp_ns, len(segments), skipped)

    def end_session(self) -> Optional[FrameResult]:
        """The session's frames are all in: objects seen through this session and not seen again
        disappear (or are folded into their provisional sighting), see
        :meth:`ObjectTracker.end_session`. Returns their events (stamped with the last frame's
        stamp) as a :class:`FrameResult`, or None before any frame."""
        if self.tracker.last_stamp_ns is None:
            return None
        upd = self.tracker.end_session()
        if upd.events or upd.merged:
            self._update_graph(upd)
        return self._result(upd, self.tracker.last_stamp_ns, 0, [])

    def _result(self, upd, stamp_ns: int, num_segments: int, skipped: list) -> FrameResult:
        by_object: dict[int, list] = {}
        for o, s in upd.matches:
            by_object.setdefault(o.object_id, []).append(s)
        observations = [self._observation(self.tracker.objects[oid], segs, stamp_ns)
                        for oid, segs in by_object.items() if oid in self.tracker.objects]
        # An object found moved by a fold (its provisional twin, seen at the new place earlier,
        # became an alias) is reported at its new place in this frame, so a consumer keeping one
        # place per object (the memory store) learns of the move under the kept id.
        for e in upd.events:
            o = self.tracker.objects.get(e.object_id)
            if e.kind == EventKind.MOVED and e.object_id not in by_object and o is not None:
                observations.append(self._observation(o, [], stamp_ns))
                by_object[e.object_id] = []
        events = [self._annotate(e) for e in upd.events]
        # the tracker reports every alias it makes (duplicates and folds) in upd.merged, in the frame
        # it makes it; resolved to the id kept now
        merged = {int(k): int(self.tracker.resolve(k)) for k in upd.merged}
        return FrameResult(observations, events, stamp_ns, num_segments, skipped, merged)

    # -- graph --------------------------------------------------------------------------------
    def _update_graph(self, upd) -> None:
        g = self.scene_graph
        for alias in upd.merged:          # every alias is reported here in the frame it is made
            g.remove_node(node_id("object", alias))
        touched = {o.object_id for o, _ in upd.matches} | {e.object_id for e in upd.events}
        # Look-alikes whose identity became unsure this session (set when another one moved).
        touched |= {oid for oid, o in self.tracker.objects.items()
                    if o.identity_session == self.tracker.session and o.identity_candidates}
        for oid in touched:
            o = self.tracker.objects.get(oid)
            if o is not None:
                write_object_node(g, o)
        update_object_relations(g, points=self._points())
        if g.num_nodes("place"):
            link_objects_to_places(g)

    def update_structure(self, grid=None) -> None:
        """Recompute rooms (ids kept stable), room types and places from ``grid`` (an
        ``OccupancyGrid2D``) or, if None, from the octree slice ``room_band``."""
        if grid is None:
            if self.octree is None:
                return
            grid = self.octree.project_2d(self.floor_z + self.room_band[0], self.floor_z + self.room_band[1])
        g = self.scene_graph
        seg = segment_rooms(grid, **self.room_settings)
        objs = [a for a in g.objects() if a.get("state") != "disappeared"]
        if objs:
            seg = merge_same_type_rooms(seg, np.array([a["position"][:2] for a in objs]),
                                        [a["label"] for a in objs])
        seg = fill_room_notches(seg, grid, self.notch_radius)
        add_rooms(g, seg, floor_z=self.floor_z)
        update_object_relations(g, points=self._points())
        update_room_types(g)
        pos, clear, edges = extract_places(grid, room_map=g.room_map, **self.place_settings)
        add_places(g, pos, clear, edges, floor_z=self.floor_z)
        self.structure_version += 1

    def _points(self) -> dict:
        return {oid: o.points for oid, o in self.tracker.objects.items()}

    def _observation(self, o: TrackedObject, segs: list, stamp: int) -> ObjectObservation:
        # One observation per object and frame, even when several segments (pieces) matched it.
        a = self.scene_graph.get_object(o.object_id) or {}
        if not segs:        # not seen in this frame (moved by a fold): its fused geometry only
            return ObjectObservation(
                object_id=o.object_id, label=o.label, stamp_ns=stamp, position=o.centroid.copy(),
                bbox_min=o.bbox_min.copy(), bbox_max=o.bbox_max.copy(), confidence=1.0,
                room_id=a.get("room"), receptacle_id=a.get("receptacle"), color=o.color, num_points=0,
                attributes={"relation": a.get("relation"), "state": a.get("state")})
        big = max(segs, key=lambda s: s.num_pixels)
        return ObjectObservation(
            object_id=o.object_id, label=o.label, stamp_ns=stamp, position=o.centroid.copy(),
            bbox_min=o.bbox_min.copy(), bbox_max=o.bbox_max.copy(), confidence=1.0,
            room_id=a.get("room"), receptacle_id=a.get("receptacle"), color=o.color,
            num_points=int(sum(s.num_pixels for s in segs)),
            attributes={"relation": a.get("relation"), "state": a.get("state"),
                        "segment_bbox_min": np.min([s.bbox_min for s in segs], axis=0),
                        "segment_bbox_max": np.max([s.bbox_max for s in segs], axis=0),
                        "obb_yaw": big.obb_yaw, "obb_extent": big.obb_extent.copy(),
                        "obb_center": big.obb_center.copy(), "num_segments": len(segs),
                        "identity_candidates": [[int(k), float(v)] for k, v in o.identity_candidates.items()]})

    def _annotate(self, e: ObjectEvent) -> ObjectEvent:
        a = self.scene_graph.get_object(e.object_id) or {}
        return dataclasses.replace(e, room_id=a.get("room"), receptacle_id=a.get("receptacle"),
                                   previous_receptacle_id=a.get("previous_receptacle"))


def write_object_node(graph: SceneGraph, o: TrackedObject) -> None:
    """Upsert the object node for tracked object ``o`` (a moved object remembers its previous
    receptacle and position)."""
    prev = graph.get_object(o.object_id)
    extra = {}
    if prev is not None and np.linalg.norm(np.asarray(prev["position"]) - o.centroid) > 0.3:
        extra = {"previous_position": prev["position"], "previous_receptacle": prev.get("receptacle")}
    graph.add_node("object", o.object_id, label=o.label, position=o.centroid, bbox_min=o.bbox_min,
                   bbox_max=o.bbox_max, color=o.color, state="disappeared" if o.state == DISAPPEARED else "present",
                   first_seen_ns=o.first_seen_ns, last_seen_ns=o.last_seen_ns,
                   num_observations=o.num_observations,
                   identity_candidates=[[int(k), float(v)] for k, v in o.identity_candidates.items()], **extra)
