"""Association of per-frame segments with tracked objects (see :mod:`robomem.perception.tracker`
for the rules): appearance descriptors and costs, voxel-overlap and box-inside scores, the
one-to-one Hungarian assignment, and the assignment of unmatched sightings to missing look-alike
objects by appearance. ``AssociationMixin`` is mixed into :class:`ObjectTracker`."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from robomem.perception.segments import UNLABELLED, Segment

from robomem.perception.tracker_types import DISAPPEARED, PRESENT, TrackedObject


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
                    size_scale: float = 0.1, partial_views: bool = False) -> float:
    """Distance of two :func:`appearance_descriptor` s (0 = alike; about 1 per scale unit).

    Sizes compare the two largest extents only: the smallest (thickness) is the one a single view
    measures worst. ``partial_views``: a box that fits inside the other (sorted extents) costs
    nothing for size -- one of the two may be a partial view (a plate on a high shelf seen edge-on
    from below, a book seen between its neighbours); only a box longer one way and narrower the
    other pays for size."""
    d = a[2][1:] - b[2][1:]
    if partial_views:
        cost = min(float(np.clip(d, 0, None).mean()), float(np.clip(-d, 0, None).mean())) / size_scale
    else:
        cost = float(np.abs(d).mean()) / size_scale
    if a[0] is not None and b[0] is not None:
        cost += float(np.linalg.norm(a[0] - b[0])) / color_scale + abs(a[1] - b[1]) / value_scale
    return cost


#: Scales of the assignment cost among look-alikes (see :meth:`AssociationMixin._pair_costs`):
#: chromaticity is the one cue that tells near-identical instances apart (it does not change with
#: shading), so it is weighed finely there; brightness and the box change with the view.
FINE_SCALES = {"color_scale": 0.003, "value_scale": 1.0, "size_scale": 0.1}


def identity_probabilities(cost: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``-cost / temperature`` (inf cost -> probability 0; an all-inf row
    -> all 0): how likely each column (an old object) is to be the row (a sighting)."""
    c = np.asarray(cost, dtype=np.float64)
    finite = np.isfinite(c)
    z = np.where(finite, -c / temperature, -np.inf)
    m = np.max(np.where(finite, z, -1e300), axis=1, keepdims=True)
    e = np.where(finite, np.exp(z - m), 0.0)
    tot = e.sum(axis=1, keepdims=True)
    return np.divide(e, tot, out=np.zeros_like(e), where=tot > 0)


def _put_candidates(o: "TrackedObject", p: dict, session: int) -> None:
    tot = sum(p.values())
    o.identity_candidates = dict(sorted(((k, v / tot) for k, v in p.items()), key=lambda kv: -kv[1]))
    o.identity_session = session


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


class AssociationMixin:
    """Association steps of :class:`~robomem.perception.tracker.ObjectTracker` (uses its state)."""

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
                if s > 0 and self._replaces(seg, o, large):
                    # Another instance of the label put where ``o`` was: not ``o`` (see below).
                    self._replaced.add(o.object_id)
                    self._refused_for[id(seg)] = o.object_id
                    s = 0.0
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

    def _replaces(self, seg: Segment, o: TrackedObject, large: bool) -> bool:
        """Is ``seg`` -- at the place of the small labelled object ``o``, the first sighting there
        in this session -- another instance of ``o``'s label put there? Its fine appearance cost
        against ``o`` exceeds ``replace_cost`` (chromaticity: a mug of another colour where the
        red mug stood). Objects are then told apart by look, not by place; the old object counts
        a miss (its place shows something else) and may be found moved elsewhere."""
        if self.replace_cost is None or large or o.label == UNLABELLED or o.state != PRESENT \
                or o.last_session >= self.session or seg.mean_rgb is None or o.rgb_weight <= 0:
            return False
        return appearance_cost(_seg_desc(seg), _obj_desc(o), **FINE_SCALES) > self.replace_cost

    def _is_missing(self, o: TrackedObject) -> bool:
        return o.state == DISAPPEARED or o.misses > 0

    def _old_pool(self, label: str, exclude: set) -> list:
        """Old objects of ``label`` a new sighting could be: missing ones, and (as competitors that
        defer a decision) present ones not yet seen in this session."""
        return [o for o in self.objects.values()
                if o.label == label and o.object_id not in exclude
                and (self._is_missing(o) or o.last_session < self.session)]

    def _hungarian(self, cost: np.ndarray, gate: np.ndarray = None) -> list:
        """(row, col) pairs of a minimum-cost assignment with finite cost within the gate
        (``gate``: the cost compared with ``max_appearance_cost``, default ``cost`` itself)."""
        big = 1e6
        gate = cost if gate is None else gate
        c = np.where(np.isfinite(cost), cost, big)
        rows, cols = linear_sum_assignment(c)
        return [(int(r), int(k)) for r, k in zip(rows, cols)
                if np.isfinite(cost[r, k]) and gate[r, k] <= self.max_appearance_cost]

    def _pair_costs(self, descs_new: list, descs_old: list, allowed: np.ndarray) -> tuple:
        """(fine, gate) cost matrices of new sightings (rows) against old objects (columns):
        ``gate`` is :func:`appearance_cost` at its default scales (is it the same kind of thing at
        all), tolerant of partial views (a box that fits in the other costs nothing for size: a
        sighting seen only in part, or an old object that was); ``fine`` weighs chromaticity finely
        (:data:`FINE_SCALES`) and compares sizes both ways, to tell look-alikes apart. Pairs not
        ``allowed`` cost inf in both."""
        fine = np.full(allowed.shape, np.inf)
        gate = np.full(allowed.shape, np.inf)
        for a, dn in enumerate(descs_new):
            for b, do in enumerate(descs_old):
                if allowed[a, b]:
                    gate[a, b] = appearance_cost(dn, do, partial_views=True)
                    if gate[a, b] <= self.max_appearance_cost:
                        fine[a, b] = appearance_cost(dn, do, **FINE_SCALES)
        return fine, gate

    def _set_identity(self, kept: TrackedObject, olds: list, probs: np.ndarray) -> None:
        """Record on ``kept`` (the old object a sighting was assigned to) which old objects the
        sighting could be: ``identity_candidates`` = {old id: probability} when the assignment is
        not sure (the kept id's probability below ``sure_identity``). The confusion is mutual: each
        other candidate gets the kept id as a candidate with the same probability (the two may
        have been swapped). A sure assignment leaves candidates set earlier in this session."""
        p = {olds[b].object_id: float(probs[b]) for b in np.flatnonzero(probs >= self.min_candidate_probability)}
        if p.get(kept.object_id, 0.0) >= self.sure_identity or not p:
            if kept.identity_session != self.session:
                kept.identity_candidates = {}
            return
        p.setdefault(kept.object_id, float(probs[olds.index(kept)]))
        _put_candidates(kept, p, self.session)
        for oid, q in p.items():
            x = self.objects.get(oid)
            if x is None or x is kept:
                continue
            mine = dict(x.identity_candidates) if x.identity_session == self.session else {}
            mine[kept.object_id] = q
            mine[x.object_id] = max(0.0, 1.0 - sum(v for k, v in mine.items() if k != x.object_id))
            _put_candidates(x, mine, self.session)

    def _assign_moves(self, segs: list, matched: set) -> dict:
        """Unmatched segment index -> missing old object it is (moved), by appearance."""
        out: dict[int, TrackedObject] = {}
        labels = {s.label for s in segs if s.label != UNLABELLED}
        for label in labels:
            rows = [i for i, s in enumerate(segs) if s.label == label]
            olds = self._old_pool(label, matched)
            if not any(self._is_missing(o) for o in olds):
                continue
            allowed = np.array([[np.linalg.norm(o.centroid - segs[i].centroid) >= self.move_min_distance
                                 for o in olds] for i in rows], dtype=bool).reshape(len(rows), len(olds))
            fine, gate = self._pair_costs([_seg_desc(segs[i]) for i in rows], [_obj_desc(o) for o in olds], allowed)
            probs = identity_probabilities(fine, self.identity_temperature)
            for a, b in self._hungarian(fine, gate):
                if self._is_missing(olds[b]):
                    out[rows[a]] = olds[b]
                    self._pending_identity[olds[b].object_id] = (olds, probs[a])
        return out

    # -- change evidence --------------------------------------------------------------------------
