"""Change detection of the tracker (see :mod:`robomem.perception.tracker`): misses from visibility
evidence, disappearance, folding a provisional new sighting into the missing object it is (a
move), and the events emitted. ``ChangeEventsMixin`` is mixed into :class:`ObjectTracker`."""
from __future__ import annotations

from typing import Optional

import numpy as np

from robomem.frame import Frame
from robomem.observations import EventKind, ObjectEvent
from robomem.perception.association import _obj_desc, identity_probabilities
from robomem.perception.segments import UNLABELLED
from robomem.perception.visibility import Visibility, check_visibility, frame_evidence_maps
from robomem.pose import invert_pose

from robomem.perception.tracker_types import DISAPPEARED, PRESENT, TrackedObject  # noqa: F401


class ChangeEventsMixin:
    """Change-event steps of :class:`~robomem.perception.tracker.ObjectTracker` (uses its state)."""

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

    def _fold_unverified(self, stamp: int) -> list[ObjectEvent]:
        """A sighting first made in this session that matched no tracked object, while old
        look-alikes of its label were not yet re-checked this session (neither seen in place nor
        seen absent: their old place may be inside a closed fridge or behind furniture).

        Hypotheses per sighting: each such *unverified* old look-alike ``x`` (appearance gate
        passes, >= ``move_min_distance`` from its old place), at the fine cost (one instance
        measures far closer to itself than to another look-alike), or a truly new object at the
        fixed cost ``new_object_cost``. Probabilities are the softmax of ``-cost`` over them. When
        one unverified look-alike has probability >= ``fold_probability`` (default 0.9; 0.5,
        "more likely than all other hypotheses together", folded 3 unmoved objects into moved
        look-alikes' sightings on the development houses) the sighting is that object, moved: folded into
        it (a ``moved`` event, the sighting's id becomes an alias; one-way, so it cannot
        oscillate); below ``sure_identity`` the kept object records the other look-alikes as
        identity candidates ("unsure which one"). Otherwise the look-alikes with probability >= ``min_candidate_probability``
        are listed on the sighting as identity candidates (``where_candidates`` of each lists the
        sighting's place) and the decision is retried every frame of the session, as the other
        look-alikes get verified."""
        if self.session == 0 or self.new_object_cost is None:
            return []
        provisional = [y for y in self.objects.values()
                       if y.first_session == self.session and y.state == PRESENT and y.label != UNLABELLED]
        if not provisional:
            return []
        events: list[ObjectEvent] = []
        for label in sorted({y.label for y in provisional}):
            ys = [y for y in provisional if y.label == label]
            olds = [x for x in self.objects.values()
                    if x.label == label and x.state == PRESENT and x.misses == 0
                    and x.last_session < self.session and x.first_session < self.session]
            if not olds:
                continue
            allowed = np.array([[y.first_seen_ns > x.last_seen_ns
                                 and np.linalg.norm(x.centroid - y.centroid) >= self.move_min_distance
                                 for x in olds] for y in ys], dtype=bool).reshape(len(ys), len(olds))
            fine, gate = self._pair_costs([_obj_desc(y) for y in ys], [_obj_desc(x) for x in olds], allowed)
            fine = np.where(gate <= self.max_appearance_cost, fine, np.inf)
            costs = np.concatenate([fine, np.full((len(ys), 1), self.new_object_cost)], axis=1)
            probs = identity_probabilities(costs, self.identity_temperature)
            taken: set = set()
            for a in np.argsort(costs[:, :-1].min(axis=1)) if len(olds) else []:
                y = ys[a]
                b = int(np.argmax(probs[a, :-1]))
                if probs[a, b] >= self.fold_probability and olds[b].object_id not in taken \
                        and olds[b].object_id in self.objects and y.object_id in self.objects:
                    x = olds[b]
                    taken.add(x.object_id)
                    self._pending_identity[x.object_id] = (olds, probs[a, :-1])
                    events.extend(self._fold(x, y, stamp))
                    continue
                p = {olds[k].object_id: float(probs[a, k]) for k in range(len(olds))
                     if probs[a, k] >= self.min_candidate_probability}
                if p:
                    p[y.object_id] = float(probs[a, -1])
                    tot = sum(p.values())
                    y.identity_candidates = dict(sorted(((k, v / tot) for k, v in p.items()), key=lambda kv: -kv[1]))
                    y.identity_session = self.session
                elif y.identity_session == self.session:
                    y.identity_candidates = {}
        return events

    # -- association ----------------------------------------------------------------------------

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
        # Decided for all candidates at once: the loop below changes only the candidate it is at
        # (and deletes folded provisionals, which it then skips), never a newcomer.
        displaced = _displaced(cand, newcomers) | np.array([o.object_id in self._replaced for o in cand], dtype=bool)
        maps = None
        for o, ok, disp in zip(cand, near & in_fov, displaced):
            if self.objects.get(o.object_id) is not o or o.state != PRESENT:
                continue  # folded into an older object (moved) earlier in this loop
            if disp:
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
        allowed = np.array([[y.first_session > x.last_session and y.first_seen_ns > x.last_seen_ns
                             and self._replacements.get(y.object_id) != x.object_id for x in olds]
                            for y in cands], dtype=bool).reshape(len(cands), len(olds))
        fine, gate = self._pair_costs([_obj_desc(y) for y in cands], [_obj_desc(x) for x in olds], allowed)
        probs = identity_probabilities(fine, self.identity_temperature)
        for a, b in self._hungarian(fine, gate):
            if b == 0:
                self._pending_identity[o.object_id] = (olds, probs[a])
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
        self._take_identity(o)
        o.misses = 0
        o.state = PRESENT
        del self.objects[y.object_id]
        self.aliases[y.object_id] = o.object_id
        self._folds[y.object_id] = o.object_id
        for k, v in list(self.aliases.items()):
            if v == y.object_id:
                self.aliases[k] = o.object_id
        return [self._event(EventKind.MOVED, o, stamp, previous=prev)]

    @staticmethod
    def _event(kind: EventKind, o: TrackedObject, stamp: int, previous=None) -> ObjectEvent:
        return ObjectEvent(kind=kind, object_id=o.object_id, label=o.label, stamp_ns=stamp,
                           position=o.centroid.copy(),
                           previous_position=None if previous is None else np.asarray(previous).copy())


def _displaced(cand: list, newcomers: list) -> np.ndarray:
    """Per candidate: a labelled candidate with a newcomer of another label, placed after the
    candidate was last seen, that fills at least half of its box or sits at least half inside it
    (``_box_inside_share`` both ways, vectorised over all pairs)."""
    out = np.zeros(len(cand), dtype=bool)
    if not cand or not newcomers:
        return out
    amin = np.array([o.bbox_min for o in cand], dtype=np.float64)
    amax = np.array([o.bbox_max for o in cand], dtype=np.float64)
    bmin = np.array([n.bbox_min for n in newcomers], dtype=np.float64)
    bmax = np.array([n.bbox_max for n in newcomers], dtype=np.float64)
    inter = np.clip(np.minimum(amax[:, None], bmax[None]) - np.maximum(amin[:, None], bmin[None]), 0, None).prod(axis=2)
    share = np.maximum(inter / np.maximum((amax - amin).prod(axis=1), 1e-12)[:, None],
                       inter / np.maximum((bmax - bmin).prod(axis=1), 1e-12)[None, :])
    later = np.array([n.placed_ns for n in newcomers])[None, :] > np.array([o.last_seen_ns for o in cand])[:, None]
    other = np.array([o.label for o in cand], dtype=object)[:, None] != np.array([n.label for n in newcomers],
                                                                                  dtype=object)[None, :]
    labelled = np.array([o.label != UNLABELLED for o in cand])
    return labelled & (later & other & (share >= 0.5)).any(axis=1)
