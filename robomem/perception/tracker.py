"""Object tracker: associates per-frame segments with known objects, keeps ids stable across frames
and sessions, fuses geometry, and detects change (moved / disappeared).

Association (per frame): candidate pairs need compatible labels (equal, or one side unlabelled
``"object"`` only when both are) and overlapping boxes; the score is the larger of (a) the share of
the segment's voxels (``match_voxel``) already occupied by the object and (b) the share of the
segment's box inside the object's box. Pairs scoring at least ``min_match_score`` are assigned
one-to-one (Hungarian). Partial views match because both scores are relative to the segment.

Change: a known, unmatched object whose stored surface projects into the frame where the depth
reading is clearly behind it collects a *miss* (see :mod:`robomem.perception.visibility`); occluded
or out-of-view objects collect nothing. ``misses_to_disappear`` misses -> ``disappeared``; when a
session ends (:meth:`ObjectTracker.end_session`), ``misses_at_session_end`` misses of an object not
sighted in that session are enough (a tour looks at a place from one or two headings). An
unmatched segment whose label matches an object that has misses or has disappeared is that object
*moved* (same id). If the new place is seen before the old one is found empty (typical when
re-exploring in a new session), the object appears under a provisional id; when the old object
later disappears, the provisional object (same label, first seen in a later session than the old
one was last seen) is folded into it and a *moved* event is emitted with the old id; the
provisional id is recorded in ``tracker.aliases`` (provisional -> kept id). The fold happens as
soon as the old object has ``misses_to_fold`` misses (default 1: the same evidence that turns an
unmatched segment into a move), so an old place seen only once in the new session suffices.

A sighting at a small object's place, the first there in a session, whose colour differs from the
object's far beyond the view-to-view spread (fine appearance cost > ``replace_cost``) is another
instance of the label put there (a blue mug where the red mug stood): it is not matched to the old
object, the old object counts a miss (its place shows something else) and the newcomer is never
folded into it or merged with it; the old object may then be found moved elsewhere.

Which old object a new sighting belongs to (several same-label objects may be missing at once, e.g.
two mugs moved) is decided by appearance, not by distance to the old place: each object keeps a
descriptor fused over its views (sorted box extents and the pixel-weighted mean RGB of its
segments, compared brightness-free as chromaticity plus HSV value) and missing old objects are
assigned to new sightings of the same label by a Hungarian assignment on descriptor distance
(:func:`appearance_cost`). Old objects of that label not yet seen in the current session compete
too: a sighting that looks more like one of them is not folded into a missing one yet; such a
deferred fold is retried every frame of the session.

A sighting first made in a later session can also be folded into an old look-alike whose place
this session has not re-checked (neither seen in place nor seen absent: inside a closed fridge,
behind furniture) when its appearance makes that look-alike at least ``fold_probability`` likely
against the other unverified look-alikes and a truly new object (``new_object_cost``); otherwise
those look-alikes become identity candidates of the sighting (see ``_fold_unverified``). Folds
are reported in ``TrackerUpdate.merged`` with the duplicates.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from robomem.errors import InvalidInputError
from robomem.frame import Frame
from robomem.observations import EventKind, ObjectEvent
from robomem.perception.segments import STRUCTURAL_CATEGORIES, UNLABELLED, Segment

from robomem.perception.association import (AssociationMixin, _box_inside_share, _voxel_dedup,  # noqa: F401
                                            appearance_cost, appearance_descriptor)
from robomem.perception.change_events import ChangeEventsMixin
from robomem.perception.tracker_types import (DISAPPEARED, PRESENT, StaleFrameError, TrackedObject,  # noqa: F401
                                              TrackerUpdate)


class ObjectTracker(AssociationMixin, ChangeEventsMixin):
    """Stateful tracker; see the module doc. ``objects`` maps id -> :class:`TrackedObject`."""

    def __init__(
        self,
        *,
        match_voxel: float = 0.08,
        min_match_score: float = 0.3,
        fusion_voxel: float = 0.03,
        max_points: int = 3000,
        misses_to_disappear: int = 3,
        visibility_settings: Optional[dict] = None,
        session_gap_ns: int = 30 * 60 * 10**9,
        move_min_distance: float = 0.3,
        structural: frozenset = STRUCTURAL_CATEGORIES,
        merge_overlap: float = 0.5,
        large_object: float = 0.5,
        evidence_window: int = 1,
        misses_to_fold: int = 1,
        max_appearance_cost: float = 5.0,
        identity_temperature: float = 1.0,
        sure_identity: float = 0.9,
        min_candidate_probability: float = 0.05,
        new_object_cost: Optional[float] = 3.0,
        fold_probability: float = 0.9,
        misses_at_session_end: Optional[int] = 2,
        replace_cost: Optional[float] = 20.0,
    ) -> None:
        if not 0.0 < sure_identity <= 1.0:
            raise InvalidInputError(f"sure_identity must be in (0, 1], got {sure_identity}")
        if not 0.0 <= min_candidate_probability < 1.0:
            raise InvalidInputError(f"min_candidate_probability must be in [0, 1), got {min_candidate_probability}")
        if not identity_temperature > 0:
            raise InvalidInputError(f"identity_temperature must be positive, got {identity_temperature}")
        self.identity_temperature = float(identity_temperature)
        if new_object_cost is not None and not new_object_cost > 0:
            raise InvalidInputError(f"new_object_cost must be positive or None, got {new_object_cost}")
        #: Fine appearance cost of the "truly new object" hypothesis against unverified old
        #: look-alikes (see ``_fold_unverified``); None switches that rule off.
        self.new_object_cost = None if new_object_cost is None else float(new_object_cost)
        if not 0.0 < fold_probability <= 1.0:
            raise InvalidInputError(f"fold_probability must be in (0, 1], got {fold_probability}")
        self.fold_probability = float(fold_probability)
        # Provisional id -> old id it was folded into during the current frame (TrackerUpdate.merged).
        self._folds: dict[int, int] = {}
        self.sure_identity = float(sure_identity)
        self.min_candidate_probability = float(min_candidate_probability)
        # Old object id -> (candidate old objects, probabilities) of the assignment that just made
        # it move; taken by the move/fold that follows (see ``_take_identity``).
        self._pending_identity: dict = {}
        self.max_appearance_cost = float(max_appearance_cost)
        self.misses_to_fold = int(misses_to_fold)
        if misses_at_session_end is not None and not 1 <= int(misses_at_session_end):
            raise InvalidInputError(f"misses_at_session_end must be >= 1 or None, got {misses_at_session_end}")
        #: Misses that make an object *disappeared* when its session ends without it being seen
        #: again (see :meth:`end_session`); None switches the session-end decision off.
        self.misses_at_session_end = None if misses_at_session_end is None else int(misses_at_session_end)
        self.evidence_window = int(evidence_window)
        self.large_object = large_object
        self.merge_overlap = merge_overlap
        self.structural = frozenset(structural)
        self.match_voxel = match_voxel
        self.min_match_score = min_match_score
        self.fusion_voxel = fusion_voxel
        self.max_points = max_points
        self.misses_to_disappear = misses_to_disappear
        self.visibility_settings = dict(visibility_settings or {})
        self.session_gap_ns = session_gap_ns
        self.move_min_distance = move_min_distance
        self.objects: dict[int, TrackedObject] = {}
        self.aliases: dict[int, int] = {}
        # Missing objects whose fold was deferred because a same-label object not yet seen this
        # session looked more like the provisional sighting; retried every frame of the session.
        self._pending_folds: set[int] = set()
        if replace_cost is not None and not replace_cost > 0:
            raise InvalidInputError(f"replace_cost must be positive or None, got {replace_cost}")
        #: Fine appearance cost (:data:`~robomem.perception.association.FINE_SCALES`) above which
        #: the first sighting in a session at a small object's place is another instance of its
        #: label put there, not the object itself (see ``_associate``); None switches it off.
        self.replace_cost = None if replace_cost is None else float(replace_cost)
        # Old object ids whose place showed another instance of their label in the current frame.
        self._replaced: set[int] = set()
        # Object id created from a sighting refused for an old object -> that old object's id: the
        # newcomer is never that old object moved (it stands where the old one was).
        self._replacements: dict[int, int] = {}
        self._refused_for: dict = {}
        self.session = 0
        self.last_stamp_ns: Optional[int] = None
        self._next_id = 1

    def resolve(self, object_id: int) -> int:
        """Current id of ``object_id`` (ids folded into another object map to that object's id)."""
        seen = set()
        while object_id in self.aliases and object_id not in seen:
            seen.add(object_id)
            object_id = self.aliases[object_id]
        return object_id

    def identity_candidates(self, object_id: int) -> dict[int, float]:
        """Which old objects the thing now tracked under ``object_id`` could be, when re-identifying
        it among look-alikes was not sure: {old object id: probability} (most probable first; the
        kept id is among them), or {} when sure (or unknown id)."""
        o = self.objects.get(self.resolve(int(object_id)))
        return dict(o.identity_candidates) if o is not None else {}

    def where_candidates(self, object_id: int) -> list[tuple[int, float]]:
        """Where object ``object_id`` may be, as (id whose current place may hold it, probability):
        first the object's own place (the tracker's answer, what the scene graph stores under the
        id), then, when a look-alike re-identification was not sure, the places of the look-alikes
        it may have been confused with, most probable first; ``[(object_id, 1.0)]`` when sure, []
        for an unknown id."""
        oid = self.resolve(int(object_id))
        o = self.objects.get(oid)
        if o is None:
            return []
        p = {oid: o.identity_candidates.get(oid, 1.0) if o.identity_candidates else 1.0}
        for x in self.objects.values():
            if x is not o and oid in x.identity_candidates:
                p[x.object_id] = p.get(x.object_id, 0.0) + x.identity_candidates[oid]
        tot = sum(p.values())
        out = [(k, v / tot) for k, v in p.items()]
        return sorted(out, key=lambda kv: (kv[0] != oid, -kv[1]))

    def _take_identity(self, o: TrackedObject) -> None:
        pend = self._pending_identity.pop(o.object_id, None)
        if pend is None:
            if o.identity_session != self.session:
                o.identity_candidates = {}
        else:
            self._set_identity(o, *pend)

    def new_session(self) -> None:
        """Mark the start of a new session (e.g. a new day). Sessions also start automatically
        after a gap of ``session_gap_ns`` between frames. Misses collected so far are dropped:
        evidence that an object is gone must come from one session."""
        self.session += 1
        self._pending_folds.clear()
        for o in self.objects.values():
            if o.state == PRESENT:
                o.misses = 0

    def end_session(self) -> TrackerUpdate:
        """The session's frames are all in: every present object not sighted in this session and
        seen through (missed) at least ``misses_at_session_end`` times in it is *disappeared* (or,
        when a provisional same-label sighting of this session is it, *moved* there: a fold), even
        when it got fewer than ``misses_to_disappear`` misses. A tour looks at a place from one or
        two headings, so an object carried out collects one or two misses per session and would
        otherwise stay "present" at its old place for ever. An object sighted in this session keeps
        the per-frame rule (``misses_to_disappear``): seen in place, a couple of later misses are
        more likely a view's rim error than the thing leaving while the robot looked around (an
        unmoved spoon next to a moved look-alike, held-out house real-401 of
        ``benchmarks/perception.py``). The events are stamped with the last frame's stamp. Call
        before :meth:`new_session` (which drops the misses)."""
        events: list[ObjectEvent] = []
        if self.misses_at_session_end is None or self.last_stamp_ns is None:
            return TrackerUpdate([], events, {})
        stamp = self.last_stamp_ns
        for o in sorted(self.objects.values(), key=lambda x: x.object_id):
            if self.objects.get(o.object_id) is not o or o.state != PRESENT:
                continue     # folded into another object earlier in this loop
            if o.misses >= self.misses_at_session_end and o.last_session < self.session:
                o.state = DISAPPEARED
                events.extend(self._on_disappeared(o, stamp))
        self._pending_folds.clear()
        self._pending_identity.clear()
        merged, self._folds = dict(self._folds), {}
        return TrackerUpdate([], events, merged)

    # -- main step ----------------------------------------------------------------------------
    def update(self, frame: Frame, segments: list[Segment]) -> TrackerUpdate:
        """Associate ``segments`` (from ``frame``) with known objects, fuse, and emit events.

        Raises :class:`StaleFrameError` for a frame older than the last one (nothing changes)."""
        stamp = frame.stamp_ns
        if self.last_stamp_ns is not None and stamp < self.last_stamp_ns:
            raise StaleFrameError(
                f"frame stamp {stamp} ns is older than the last processed frame ({self.last_stamp_ns} ns); "
                "frames must be processed in time order")
        if self.last_stamp_ns is not None and stamp - self.last_stamp_ns > self.session_gap_ns:
            self.new_session()
        self.last_stamp_ns = stamp
        events: list[ObjectEvent] = []
        matches: list[tuple[TrackedObject, Segment]] = []
        pairs = self._associate(segments)
        matched_objs = set()
        unmatched = []
        for si, seg in enumerate(segments):
            oid = pairs.get(si)
            if oid is None:
                unmatched.append(seg)
                continue
            obj = self.objects[oid]
            was_gone = obj.state == DISAPPEARED
            self._fuse(obj, seg, stamp)
            matched_objs.add(oid)
            matches.append((obj, seg))
            if was_gone:
                events.append(self._event(EventKind.APPEARED, obj, stamp))
        # Unmatched segments: a moved known object, or a new one.
        movers = self._assign_moves(unmatched, matched_objs)
        for si, seg in enumerate(unmatched):
            obj = movers.get(si)
            if obj is not None:
                prev = obj.centroid.copy()
                self._reset_geometry(obj, seg, stamp)
                self._take_identity(obj)
                events.append(self._event(EventKind.MOVED, obj, stamp, previous=prev))
            else:
                obj = self._new_object(seg, stamp)
                events.append(self._event(EventKind.APPEARED, obj, stamp))
                refused = self._refused_for.get(id(seg))
                if refused is not None:
                    self._replacements[obj.object_id] = refused
            matched_objs.add(obj.object_id)
            matches.append((obj, seg))
        # One UPDATED per re-observed object (after fusion), unless something bigger happened to it.
        noted = {e.object_id for e in events}
        for oid in dict.fromkeys(o.object_id for o, _ in matches):
            if oid not in noted and oid in self.objects:
                events.append(self._event(EventKind.UPDATED, self.objects[oid], stamp))
        merged = self._merge_duplicates({o.object_id for o, _ in matches})
        if merged:
            gone = set(merged)
            matches = [(self.objects[merged[o.object_id]] if o.object_id in gone else o, sg) for o, sg in matches]
            # An object that appeared this frame and was folded into an older one never existed.
            events = [e for e in events if e.object_id not in gone]
            noted = {e.object_id for e in events}
            for kept in dict.fromkeys(merged.values()):
                if kept not in noted and kept in self.objects:
                    events.append(self._event(EventKind.UPDATED, self.objects[kept], stamp))
            matched_objs = {merged.get(i, i) for i in matched_objs}
        other = None
        if frame.instance_ids is not None:
            # Pixels that certainly show something other than an unmatched object: no instance,
            # structure (ids with a label but no segment of their own are excluded only if they were
            # matched), or a segment matched to some object this frame.
            seg_ids = {s.instance_id for s in segments}
            other_ids = [i for i, lab in frame.labels.items() if i not in seg_ids and lab in self.structural]
            other_ids += [s.instance_id for _, s in matches]
            other = (frame.instance_ids == 0) | np.isin(frame.instance_ids, np.array(other_ids, dtype=np.uint32))
        events.extend(self._miss_evidence(frame, matched_objs, stamp, other))
        self._replaced = set()
        self._refused_for = {}
        events.extend(self._retry_folds(stamp))
        events.extend(self._fold_unverified(stamp))
        self._pending_identity.clear()
        if self._folds:
            # Provisional objects folded into the old object they are (moved): reported with the
            # duplicates, so a consumer drops the provisional id.
            merged = {**merged, **self._folds}
            self._folds = {}
        return TrackerUpdate(matches, events, merged)

    def _merge_duplicates(self, touched: set) -> dict[int, int]:
        """Fold same-label objects whose boxes mostly overlap a just-updated object into the older
        one (partial views of one object seen from sides that share no surface)."""
        merged: dict[int, int] = {}
        for oid in sorted(touched):
            if oid in merged or oid not in self.objects:
                continue
            a = self.objects[oid]
            if a.state != PRESENT or a.label == UNLABELLED:
                continue
            for b in list(self.objects.values()):
                if b is a or b.label != a.label or b.state != PRESENT or b.object_id in merged \
                        or self._replacements.get(a.object_id) == b.object_id \
                        or self._replacements.get(b.object_id) == a.object_id:
                    continue     # (a newcomer put where a look-alike of another colour was)
                share = max(_box_inside_share(b.bbox_min, b.bbox_max, a.bbox_min, a.bbox_max, 0.02),
                            _box_inside_share(a.bbox_min, a.bbox_max, b.bbox_min, b.bbox_max, 0.02))
                if share < self.merge_overlap:
                    continue
                keep, drop = (a, b) if a.object_id < b.object_id else (b, a)
                self._absorb(keep, drop)
                merged[drop.object_id] = keep.object_id
                if drop is a:
                    break
                a = keep
        for k, v in list(merged.items()):
            while v in merged:
                v = merged[v]
            merged[k] = v
        for k, v in merged.items():
            self.aliases[k] = v
        for k, v in list(self.aliases.items()):
            if v in merged:
                self.aliases[k] = merged[v]
        return merged

    def _absorb(self, keep: TrackedObject, drop: TrackedObject) -> None:
        pts = _voxel_dedup(np.concatenate([keep.points, drop.points]), keep.fusion_voxel)
        while len(pts) > self.max_points:
            keep.fusion_voxel *= 1.5
            pts = _voxel_dedup(pts, keep.fusion_voxel)
        keep.points, keep.centroid = pts, pts.mean(0)
        keep.bbox_min = np.minimum.reduce([keep.bbox_min, drop.bbox_min, pts.min(0)])
        keep.bbox_max = np.maximum.reduce([keep.bbox_max, drop.bbox_max, pts.max(0)])
        for c, n in drop.color_votes.items():
            keep.color_votes[c] = keep.color_votes.get(c, 0) + n
        if keep.color_votes:
            keep.color = max(keep.color_votes, key=keep.color_votes.get)
        keep.rgb_sum = keep.rgb_sum + drop.rgb_sum
        keep.rgb_weight += drop.rgb_weight
        keep.num_observations += drop.num_observations
        keep.first_seen_ns = min(keep.first_seen_ns, drop.first_seen_ns)
        keep.last_seen_ns = max(keep.last_seen_ns, drop.last_seen_ns)
        keep.first_session = min(keep.first_session, drop.first_session)
        keep.last_session = max(keep.last_session, drop.last_session)
        keep.misses = 0
        del self.objects[drop.object_id]

    # -- geometry -------------------------------------------------------------------------------
    def _new_object(self, seg: Segment, stamp: int) -> TrackedObject:
        oid = self._next_id
        self._next_id += 1
        pts = _voxel_dedup(seg.points, self.fusion_voxel)
        o = TrackedObject(oid, seg.label, pts, seg.bbox_min.copy(), seg.bbox_max.copy(), seg.centroid.copy(),
                          seg.color, stamp, stamp, self.session, self.session, fusion_voxel=self.fusion_voxel,
                          placed_ns=stamp)
        if seg.color:
            o.color_votes[seg.color] = seg.num_pixels
        self._add_rgb(o, seg)
        self.objects[oid] = o
        return o

    def _reset_geometry(self, o: TrackedObject, seg: Segment, stamp: int) -> None:
        o.points = _voxel_dedup(seg.points, self.fusion_voxel)
        o.fusion_voxel = self.fusion_voxel
        o.bbox_min, o.bbox_max, o.centroid = seg.bbox_min.copy(), seg.bbox_max.copy(), seg.centroid.copy()
        o.color_votes = {seg.color: seg.num_pixels} if seg.color else {}
        o.color = seg.color
        o.rgb_sum, o.rgb_weight = np.zeros(3), 0.0
        self._add_rgb(o, seg)
        o.state, o.misses = PRESENT, 0
        o.last_seen_ns, o.last_session = stamp, self.session
        o.placed_ns = stamp
        o.num_observations += 1

    def _fuse(self, o: TrackedObject, seg: Segment, stamp: int) -> None:
        pts = _voxel_dedup(np.concatenate([o.points, seg.points]), o.fusion_voxel)
        while len(pts) > self.max_points:
            # Coarsen instead of dropping points at random so the extent is kept.
            o.fusion_voxel *= 1.5
            pts = _voxel_dedup(pts, o.fusion_voxel)
        o.points = pts
        # The box is the union of the per-frame (outlier-filtered) segment boxes, not the extent of
        # the fused voxel points: those keep one point per fusion voxel (3 cm or coarser), which
        # pulls every face of the box inwards by up to a voxel -- most of a 5-9 cm object.
        o.bbox_min = np.minimum.reduce([o.bbox_min, seg.bbox_min, pts.min(axis=0)])
        o.bbox_max = np.maximum.reduce([o.bbox_max, seg.bbox_max, pts.max(axis=0)])
        o.centroid = pts.mean(axis=0)
        if seg.color:
            o.color_votes[seg.color] = o.color_votes.get(seg.color, 0) + seg.num_pixels
            o.color = max(o.color_votes, key=o.color_votes.get)
        self._add_rgb(o, seg)
        o.state, o.misses = PRESENT, 0
        o.last_seen_ns, o.last_session = stamp, self.session
        o.num_observations += 1

    @staticmethod
    def _add_rgb(o: TrackedObject, seg: Segment) -> None:
        if seg.mean_rgb is not None:
            w = float(max(seg.num_pixels, 1))
            o.rgb_sum = o.rgb_sum + w * np.asarray(seg.mean_rgb, dtype=np.float64)
            o.rgb_weight += w
