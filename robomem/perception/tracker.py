"""Object tracker: associates per-frame segments with known objects, keeps ids stable across frames
and sessions, fuses geometry, and detects change (moved / disappeared).

Association (per frame): candidate pairs need compatible labels (equal, or one side unlabelled
``"object"`` only when both are) and overlapping boxes; the score is the larger of (a) the share of
the segment's voxels (``match_voxel``) already occupied by the object and (b) the share of the
segment's box inside the object's box. Pairs scoring at least ``min_match_score`` are assigned
one-to-one (Hungarian). Partial views match because both scores are relative to the segment.

Change: a known, unmatched object whose stored surface projects into the frame where the depth
reading is clearly behind it collects a *miss* (see :mod:`robomem.perception.visibility`); occluded
or out-of-view objects collect nothing. ``misses_to_disappear`` misses -> ``disappeared``. An
unmatched segment whose label matches an object that has misses or has disappeared is that object
*moved* (same id). If the new place is seen before the old one is found empty (typical when
re-exploring in a new session), the object appears under a provisional id; when the old object
later disappears, the provisional object (same label, first seen in a later session than the old
one was last seen) is folded into it and a *moved* event is emitted with the old id; the
provisional id is recorded in ``tracker.aliases`` (provisional -> kept id). The fold happens as
soon as the old object has ``misses_to_fold`` misses (default 1: the same evidence that turns an
unmatched segment into a move), so an old place seen only once in the new session suffices.

Which old object a new sighting belongs to (several same-label objects may be missing at once, e.g.
two mugs moved) is decided by appearance, not by distance to the old place: each object keeps a
descriptor fused over its views (sorted box extents and the pixel-weighted mean RGB of its
segments, compared brightness-free as chromaticity plus HSV value) and missing old objects are
assigned to new sightings of the same label by a Hungarian assignment on descriptor distance
(:func:`appearance_cost`). Old objects of that label not yet seen in the current session compete
too: a sighting that looks more like one of them is not folded into a missing one yet; such a
deferred fold is retried every frame of the session.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy.optimize import linear_sum_assignment

from robomem.errors import InvalidInputError
from robomem.frame import Frame
from robomem.observations import EventKind, ObjectEvent
from robomem.perception.segments import STRUCTURAL_CATEGORIES, UNLABELLED, Segment
from robomem.perception.visibility import Visibility, check_visibility, frame_evidence_maps
from robomem.pose import invert_pose

PRESENT = "present"
DISAPPEARED = "disappeared"


class StaleFrameError(InvalidInputError):
    """A frame older than the last processed one; it was not used (state unchanged)."""


@dataclass(eq=False)
class TrackedObject:
    """A persistent object hypothesis (world frame)."""

    object_id: int
    label: str
    points: np.ndarray            # fused surface points (one per fusion voxel, capped)
    bbox_min: np.ndarray
    bbox_max: np.ndarray
    centroid: np.ndarray
    color: Optional[str]
    first_seen_ns: int
    last_seen_ns: int
    first_session: int
    last_session: int
    num_observations: int = 1
    misses: int = 0
    state: str = PRESENT
    fusion_voxel: float = 0.03
    color_votes: dict = field(default_factory=dict)
    placed_ns: int = 0            # when it was first seen at its current place (appeared / moved)
    rgb_sum: np.ndarray = field(default_factory=lambda: np.zeros(3))  # pixel-weighted sum of segment mean RGB
    rgb_weight: float = 0.0

    @property
    def mean_rgb(self) -> Optional[np.ndarray]:
        """Pixel-weighted mean RGB over all fused views (None without colour)."""
        return self.rgb_sum / self.rgb_weight if self.rgb_weight > 0 else None

    @property
    def position(self) -> np.ndarray:
        return self.centroid


@dataclass
class TrackerUpdate:
    """What one frame did: matched (object, segment) pairs, events in emission order, and
    duplicates folded into older objects (absorbed id -> kept id)."""

    matches: list
    events: list
    merged: dict = field(default_factory=dict)


def appearance_descriptor(mean_rgb, bbox_min, bbox_max) -> tuple:
    """``(chromaticity (3,) or None, HSV value or None, log of the sorted box extents (3,))``.

    Chromaticity (RGB / (R+G+B)) and value are used because shading scales all channels of a face
    alike: which faces a view shows changes brightness, not chromaticity."""
    ext = np.sort(np.maximum(np.asarray(bbox_max, float) - np.asarray(bbox_min, float), 0.02))
    if mean_rgb is None:
        return None, None, np.log(ext)
    rgb = np.asarray(mean_rgb, dtype=np.float64)
    return rgb / max(rgb.sum(), 1.0), float(rgb.max()) / 255.0, np.log(ext)


def appearance_cost(a: tuple, b: tuple, color_scale: float = 0.05, value_scale: float = 0.3,
                    size_scale: float = 0.1) -> float:
    """Distance of two :func:`appearance_descriptor` s (0 = alike; about 1 per scale unit).

    Sizes compare the two largest extents only: the smallest (thickness) is the one a single view
    measures worst."""
    cost = float(np.abs(a[2][1:] - b[2][1:]).mean()) / size_scale
    if a[0] is not None and b[0] is not None:
        cost += float(np.linalg.norm(a[0] - b[0])) / color_scale + abs(a[1] - b[1]) / value_scale
    return cost


def _obj_desc(o: "TrackedObject") -> tuple:
    return appearance_descriptor(o.mean_rgb, o.bbox_min, o.bbox_max)


def _seg_desc(seg: Segment) -> tuple:
    return appearance_descriptor(seg.mean_rgb, seg.bbox_min, seg.bbox_max)


def _voxel_dedup(points: np.ndarray, voxel: float) -> np.ndarray:
    """One point (the first) per ``voxel`` cell, in input order."""
    _, first = np.unique(_keys(points, voxel), return_index=True)
    return points[np.sort(first)]


def _keys(points: np.ndarray, voxel: float) -> np.ndarray:
    k = np.floor(points / voxel).astype(np.int64) + (1 << 20)
    return (k[:, 0] << 42) | (k[:, 1] << 21) | k[:, 2]


def _box_inside_share(amin, amax, bmin, bmax, pad: float) -> float:
    """Share of box a's volume inside box b (both padded by ``pad`` so flat boxes have volume)."""
    amin, amax = amin - pad, amax + pad
    bmin, bmax = bmin - pad, bmax + pad
    inter = np.clip(np.minimum(amax, bmax) - np.maximum(amin, bmin), 0, None).prod()
    return float(inter / max((amax - amin).prod(), 1e-12))


class ObjectTracker:
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
    ) -> None:
        self.max_appearance_cost = float(max_appearance_cost)
        self.misses_to_fold = int(misses_to_fold)
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

    def new_session(self) -> None:
        """Mark the start of a new session (e.g. a new day). Sessions also start automatically
        after a gap of ``session_gap_ns`` between frames. Misses collected so far are dropped:
        evidence that an object is gone must come from one session."""
        self.session += 1
        self._pending_folds.clear()
        for o in self.objects.values():
            if o.state == PRESENT:
                o.misses = 0

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
                events.append(self._event(EventKind.MOVED, obj, stamp, previous=prev))
            else:
                obj = self._new_object(seg, stamp)
                events.append(self._event(EventKind.APPEARED, obj, stamp))
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
        events.extend(self._retry_folds(stamp))
        return TrackerUpdate(matches, events, merged)

    def _retry_folds(self, stamp: int) -> list[ObjectEvent]:
        events: list[ObjectEvent] = []
        for oid in sorted(self._pending_folds):
            o = self.objects.get(oid)
            if o is None or not self._is_missing(o):
                self._pending_folds.discard(oid)
                continue
            y = self._provisional_for(o)
            if y is not None:
                self._pending_folds.discard(oid)
                events.extend(self._fold(o, y, stamp))
        return events

    # -- association ----------------------------------------------------------------------------
    def _associate(self, segments: list[Segment]) -> dict[int, int]:
        if not segments or not self.objects:
            return {}
        objs = list(self.objects.values())
        omin = np.array([o.bbox_min for o in objs])
        omax = np.array([o.bbox_max for o in objs])
        pad = 0.1
        score = np.zeros((len(segments), len(objs)))
        obj_keys: dict[int, np.ndarray] = {}
        for si, seg in enumerate(segments):
            near = np.all((seg.bbox_min - pad <= omax) & (seg.bbox_max + pad >= omin), axis=1)
            cand = np.flatnonzero(near)
            if len(cand) == 0:
                continue
            skeys = np.unique(_keys(seg.points, self.match_voxel))
            for oi in cand:
                o = objs[oi]
                if o.label != seg.label:
                    continue
                if oi not in obj_keys:
                    obj_keys[oi] = np.unique(_keys(o.points, self.match_voxel))
                vox = np.isin(skeys, obj_keys[oi], assume_unique=True).mean()
                box = _box_inside_share(seg.bbox_min, seg.bbox_max, o.bbox_min, o.bbox_max, 0.02)
                # Boxes of distinct objects do not interpenetrate, so any overlap with a same-label
                # object is a partial view of it (e.g. the other end of a table).
                # Small objects are seen whole, and lie side by side (books on a shelf): for them
                # touching is no evidence.
                large = float(np.max(o.bbox_max - o.bbox_min)) >= self.large_object
                touch = self.min_match_score if (box > 0.02 and large and o.label != UNLABELLED) else 0.0
                if o.label == UNLABELLED:
                    # Without labels, boxes of neighbouring clusters overlap freely: surfaces decide.
                    box = 0.0
                s = max(vox, box, touch)
                if o.state == DISAPPEARED:
                    # Only a clear re-observation at the same place brings a vanished object back.
                    s = vox
                score[si, oi] = s
        if not score.any():
            return {}
        rows, cols = linear_sum_assignment(-score)
        out = {int(r): objs[c].object_id for r, c in zip(rows, cols) if score[r, c] >= self.min_match_score}
        # A segment left over that lies on an object already matched is another piece of it
        # (over-segmentation, e.g. a monitor split in two by clustering): fuse it there too.
        for r in range(len(segments)):
            if r not in out:
                c = int(np.argmax(score[r]))
                if score[r, c] >= self.min_match_score:
                    out[r] = objs[c].object_id
        return out

    def _is_missing(self, o: TrackedObject) -> bool:
        return o.state == DISAPPEARED or o.misses > 0

    def _old_pool(self, label: str, exclude: set) -> list:
        """Old objects of ``label`` a new sighting could be: missing ones, and (as competitors that
        defer a decision) present ones not yet seen in this session."""
        return [o for o in self.objects.values()
                if o.label == label and o.object_id not in exclude
                and (self._is_missing(o) or o.last_session < self.session)]

    def _hungarian(self, cost: np.ndarray) -> list:
        """(row, col) pairs of a minimum-cost assignment with finite cost within the gate."""
        big = 1e6
        c = np.where(np.isfinite(cost), cost, big)
        rows, cols = linear_sum_assignment(c)
        return [(int(r), int(k)) for r, k in zip(rows, cols)
                if np.isfinite(cost[r, k]) and cost[r, k] <= self.max_appearance_cost]

    def _assign_moves(self, segs: list, matched: set) -> dict:
        """Unmatched segment index -> missing old object it is (moved), by appearance."""
        out: dict[int, TrackedObject] = {}
        labels = {s.label for s in segs if s.label != UNLABELLED}
        for label in labels:
            rows = [i for i, s in enumerate(segs) if s.label == label]
            olds = self._old_pool(label, matched)
            if not any(self._is_missing(o) for o in olds):
                continue
            cost = np.full((len(rows), len(olds)), np.inf)
            odesc = [_obj_desc(o) for o in olds]
            for a, i in enumerate(rows):
                sd = _seg_desc(segs[i])
                for b, o in enumerate(olds):
                    if np.linalg.norm(o.centroid - segs[i].centroid) < self.move_min_distance:
                        continue
                    cost[a, b] = appearance_cost(sd, odesc[b])
            for a, b in self._hungarian(cost):
                if self._is_missing(olds[b]):
                    out[rows[a]] = olds[b]
        return out

    # -- change evidence --------------------------------------------------------------------------
    def _miss_evidence(self, frame: Frame, matched: set, stamp: int, other_mask=None) -> list[ObjectEvent]:
        events: list[ObjectEvent] = []
        T_cw = invert_pose(frame.T_world_camera)
        cam = frame.T_world_camera[:3, 3]
        max_range = self.visibility_settings.get("max_range", 6.0)
        cand = [o for o in self.objects.values() if o.object_id not in matched and o.state == PRESENT]
        if not cand:
            return events
        # Cheap vectorised reject before projecting points: box beyond range, or its bounding
        # sphere entirely behind the camera or outside the field of view.
        bmin = np.array([o.bbox_min for o in cand])
        bmax = np.array([o.bbox_max for o in cand])
        near = np.linalg.norm(np.clip(cam, bmin, bmax) - cam, axis=1) <= max_range
        c = 0.5 * (bmin + bmax)
        rad = 0.5 * np.linalg.norm(bmax - bmin, axis=1)
        R, t = T_cw[:3, :3], T_cw[:3, 3]
        pc = c @ R.T + t
        K = frame.intrinsics
        zc = np.maximum(pc[:, 2], 1e-6)
        half_w = (K.width / 2.0) / K.fx
        half_h = (K.height / 2.0) / K.fy
        slack = rad / zc
        in_fov = ((pc[:, 2] + rad > 0.05) & (np.abs(pc[:, 0] / zc) <= half_w + slack)
                  & (np.abs(pc[:, 1] / zc) <= half_h + slack)) | (pc[:, 2] <= rad)
        # Newcomers seen in this frame (appeared or moved here after ``o`` was last seen) that now
        # fill most of ``o``'s box, or sit mostly inside it, have displaced it: a bag put where a
        # book lay. Two solid things do not share the space.
        newcomers = [self.objects[i] for i in matched if i in self.objects and self.objects[i].label != UNLABELLED]
        maps = None
        for o, ok in zip(cand, near & in_fov):
            if self.objects.get(o.object_id) is not o or o.state != PRESENT:
                continue  # folded into an older object (moved) earlier in this loop
            if o.label != UNLABELLED and any(
                    n.placed_ns > o.last_seen_ns and n.label != o.label
                    and max(_box_inside_share(o.bbox_min, o.bbox_max, n.bbox_min, n.bbox_max, 0.0),
                            _box_inside_share(n.bbox_min, n.bbox_max, o.bbox_min, o.bbox_max, 0.0)) >= 0.5
                    for n in newcomers):
                o.misses += 1
                if o.misses >= self.misses_to_disappear:
                    o.state = DISAPPEARED
                    events.extend(self._on_disappeared(o, stamp))
                continue
            if not ok:
                continue
            if maps is None:
                maps = frame_evidence_maps(frame, other_mask, self.evidence_window)
            vis = check_visibility(frame, o.points, T_camera_world=T_cw, other_mask=maps[1],
                                   depth_min3=maps[0], **self.visibility_settings)
            if vis is Visibility.SEEN_THROUGH:
                o.misses += 1
                if o.misses >= self.misses_to_disappear:
                    o.state = DISAPPEARED
                    events.extend(self._on_disappeared(o, stamp))
                elif o.misses >= self.misses_to_fold:
                    # Its old place looks empty and a same-label object has turned up elsewhere since
                    # it was last seen: the same evidence that makes an unmatched segment a move.
                    events.extend(self._fold_provisional(o, stamp))
        return events

    def _provisional_for(self, o: TrackedObject) -> Optional[TrackedObject]:
        # A provisional object first seen in a later session than ``o`` was last seen, with the same
        # label, is ``o`` at its new place (the new place was seen before the old place was empty).
        # Which provisional is which missing object: Hungarian on appearance over all of them.
        if o.label == UNLABELLED:
            return None
        cands = [y for y in self.objects.values()
                 if y is not o and y.label == o.label and y.state == PRESENT and y.first_session > o.last_session
                 and y.first_seen_ns > o.last_seen_ns]
        if not cands:
            return None
        olds = [o] + [x for x in self._old_pool(o.label, {y.object_id for y in cands}) if x is not o]
        odesc = [_obj_desc(x) for x in olds]
        cost = np.full((len(cands), len(olds)), np.inf)
        for a, y in enumerate(cands):
            yd = _obj_desc(y)
            for b, x in enumerate(olds):
                if y.first_session > x.last_session and y.first_seen_ns > x.last_seen_ns:
                    cost[a, b] = appearance_cost(yd, odesc[b])
        for a, b in self._hungarian(cost):
            if b == 0:
                return cands[a]
        return None

    def _fold_provisional(self, o: TrackedObject, stamp: int) -> list[ObjectEvent]:
        y = self._provisional_for(o)
        if y is None:
            self._pending_folds.add(o.object_id)
            return []
        return self._fold(o, y, stamp)

    def _on_disappeared(self, o: TrackedObject, stamp: int) -> list[ObjectEvent]:
        y = self._provisional_for(o)
        if y is None:
            self._pending_folds.add(o.object_id)
            return [self._event(EventKind.DISAPPEARED, o, stamp)]
        return self._fold(o, y, stamp)

    def _fold(self, o: TrackedObject, y: TrackedObject, stamp: int) -> list[ObjectEvent]:
        """``y`` (provisional) is ``o`` moved: ``o`` takes ``y``'s geometry, ``y``'s id becomes an alias."""
        prev = o.centroid.copy()
        for name in ("points", "bbox_min", "bbox_max", "centroid", "color", "last_seen_ns", "last_session",
                     "color_votes", "placed_ns", "rgb_sum", "rgb_weight"):
            setattr(o, name, getattr(y, name))
        o.num_observations += y.num_observations
        o.misses = 0
        o.state = PRESENT
        del self.objects[y.object_id]
        self.aliases[y.object_id] = o.object_id
        for k, v in list(self.aliases.items()):
            if v == y.object_id:
                self.aliases[k] = o.object_id
        return [self._event(EventKind.MOVED, o, stamp, previous=prev)]

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
                if b is a or b.label != a.label or b.state != PRESENT or b.object_id in merged:
                    continue
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

    @staticmethod
    def _event(kind: EventKind, o: TrackedObject, stamp: int, previous=None) -> ObjectEvent:
        return ObjectEvent(kind=kind, object_id=o.object_id, label=o.label, stamp_ns=stamp,
                           position=o.centroid.copy(),
                           previous_position=None if previous is None else np.asarray(previous).copy())
