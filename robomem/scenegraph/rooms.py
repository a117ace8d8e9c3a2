"""Room segmentation from a 2-D occupancy grid and room-type inference from contents.

Segmentation (door / narrow-passage aware): free cells are eroded by the distance transform so
that openings narrower than ``door_width`` close; each remaining blob ("core") is a room seed;
seeds grow back over the free space (each free cell joins the seed that reaches it first, so a
door is split in its middle); tiny rooms merge into the neighbour they share most boundary with,
and neighbours joined by an opening much wider than a door are merged (one open-plan room)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
from numba import njit
from scipy import ndimage

from robomem.errors import InvalidInputError
from robomem.scenegraph.graph import RoomMap, SceneGraph, node_id

#: Object category -> room type it votes for (weights > 1 for decisive objects).
ROOM_TYPE_VOTES: dict[str, tuple[str, float]] = {
    # bedroom
    "bed": ("bedroom", 3.0), "nightstand": ("bedroom", 2.0), "wardrobe": ("bedroom", 2.0),
    "dresser": ("bedroom", 1.5), "pillow": ("bedroom", 0.3),
    # bathroom
    "toilet": ("bathroom", 3.0), "bathtub": ("bathroom", 3.0), "shower": ("bathroom", 3.0),
    "sink_cabinet": ("bathroom", 3.0), "toothbrush": ("bathroom", 0.5), "soap": ("bathroom", 0.5),
    "towel": ("bathroom", 0.3),
    # kitchen
    "refrigerator": ("kitchen", 3.0), "fridge": ("kitchen", 3.0), "stove": ("kitchen", 3.0),
    "oven": ("kitchen", 2.0), "microwave": ("kitchen", 1.5), "dishwasher": ("kitchen", 2.0),
    "counter": ("kitchen", 3.0), "kitchen_island": ("kitchen", 2.0), "kitchen_table": ("kitchen", 2.0),
    "pan": ("kitchen", 0.5), "cutting_board": ("kitchen", 0.5), "kettle": ("kitchen", 0.5),
    # living room
    "sofa": ("living_room", 3.0), "couch": ("living_room", 3.0), "tv": ("living_room", 2.0),
    "tv_stand": ("living_room", 2.0), "coffee_table": ("living_room", 2.0), "armchair": ("living_room", 1.0),
    "remote": ("living_room", 0.3),
    # dining room
    "dining_table": ("dining_room", 3.0), "sideboard": ("dining_room", 1.0),
    # office
    "desk": ("office", 2.0), "office_chair": ("office", 3.0), "bookshelf": ("office", 0.5),
    "monitor": ("office", 1.5), "computer": ("office", 1.0),
    # hallway / entrance
    "console_table": ("hallway", 3.0), "shoe_rack": ("hallway", 3.0), "bench": ("hallway", 1.5),
    "coat_rack": ("hallway", 2.0), "umbrella": ("hallway", 0.3),
    # laundry
    "washing_machine": ("laundry", 3.0), "dryer": ("laundry", 3.0),
    # contents of kitchens and bedrooms in the realistic houses
    "kitchen_cabinet": ("kitchen", 2.0), "apple": ("kitchen", 0.3), "bread": ("kitchen", 0.3),
    "cereal_box": ("kitchen", 0.3), "milk": ("kitchen", 0.3), "cheese": ("kitchen", 0.3),
    "fork": ("kitchen", 0.2), "knife": ("kitchen", 0.2), "spoon": ("kitchen", 0.2),
    "shirt": ("bedroom", 0.3), "jeans": ("bedroom", 0.3), "sock": ("bedroom", 0.3),
    "laundry_basket": ("laundry", 1.0),
}

#: Room types nearly every home has, largest first: :func:`update_room_types` gives a core type no
#: room was typed as to a room whose contents vote for nothing (the largest such room to the
#: largest missing type) -- an empty kitchen is still the kitchen.
CORE_ROOM_TYPES = ("living_room", "kitchen", "bedroom", "bathroom")
#: Confidence given to a room type that comes from that prior and not from contents.
PRIOR_TYPE_CONFIDENCE = 0.2


def infer_room_type(labels: Iterable[str], votes: Optional[dict] = None) -> tuple[str, float]:
    """(room type, confidence in [0, 1]) from the categories of the objects in a room; ``"unknown"``
    with confidence 0 when no object votes. Confidence is the winner's share of the votes."""
    table = ROOM_TYPE_VOTES if votes is None else votes
    score: Counter = Counter()
    for lab in labels:
        key = str(lab).lower().replace(" ", "_")
        if key in table:
            rtype, w = table[key]
            score[rtype] += w
    if not score:
        return "unknown", 0.0
    (best, w), total = score.most_common(1)[0], sum(score.values())
    return best, float(w / total)


@dataclass
class RoomSegmentation:
    """``labels`` (H, W) int32 room index per cell (0 = none) on the input grid; ``areas`` m² and
    ``centroids`` (x, y) world per room index (dict keys are the indices)."""

    labels: np.ndarray
    resolution: float
    origin: tuple[float, float]
    areas: dict
    centroids: dict
    #: Cells of the virtual walls that closed wall-aligned openings (None when not computed).
    virtual: Optional[np.ndarray] = None

    def room_map(self) -> RoomMap:
        return RoomMap(self.labels, self.resolution, self.origin)


def segment_rooms(grid, *, door_width: float = 1.0, min_room_area: float = 1.5,
                  min_core_area: float = 0.3, merge_opening: float = float("inf"),
                  fill_holes: float = 0.3, level_step: float = 0.05,
                  wall_dilation: float = 0.15, unknown_growth: float = 0.6,
                  max_opening: float = 6.0) -> RoomSegmentation:
    """Segment the free space of ``grid`` (an ``OccupancyGrid2D``-like object with ``data``,
    ``resolution``, ``origin``) into rooms (see module doc). ``fill_holes``: unknown/occupied blobs
    smaller than this many m² fully inside free space count as free (furniture legs, noise)."""
    data = np.asarray(grid.data)
    if data.ndim != 2 or data.size == 0:
        raise InvalidInputError(f"grid data must be a non-empty 2-D array, got shape {data.shape}")
    res = float(grid.resolution)
    if not res > 0:
        raise InvalidInputError(f"grid resolution must be positive, got {res}")
    origin = (float(grid.origin[0]), float(grid.origin[1]))
    free = data == 0
    if fill_holes > 0:
        holes = ~free
        hl, n = ndimage.label(holes)
        if n:
            sizes = np.bincount(hl.ravel(), minlength=n + 1) * res * res
            touches = np.zeros(n + 1, bool)
            border = np.concatenate([hl[0], hl[-1], hl[:, 0], hl[:, -1]])
            touches[border] = True
            small = (sizes <= fill_holes) & ~touches
            small[0] = False
            free = free | small[hl]
    seed_free = free
    if wall_dilation > 0:
        # Thin walls seen at grazing angles come out with gaps; closing them (for the seeds only)
        # keeps a gap from merging two rooms. Doors only get narrower, which seeding wants anyway.
        k = int(np.ceil(wall_dilation / res))
        yy, xx = np.mgrid[-k:k + 1, -k:k + 1]
        occupied = ndimage.binary_dilation(data == 100, structure=(xx * xx + yy * yy) <= k * k)
        seed_free = free & ~occupied
    closed = np.zeros_like(free)
    if max_opening > 0:
        closed = virtual_walls(data == 100, res, max_opening)
        seed_free = seed_free & ~closed
    dt = ndimage.distance_transform_edt(seed_free) * res
    cores = _split_seeds(dt, res, door_width / 2.0, level_step, min_core_area)
    cores = _orphan_seeds(cores, seed_free, res, min_room_area)
    # Grow inside the closed walls first, so a room fills up to its wall line before spilling
    # through a door or a gap in the map; then fill the doorways (split in their middle).
    labels = _grow(cores.astype(np.int32), free & ~closed)
    labels = _grow(labels, free)
    if unknown_growth > 0:
        # Floor hidden behind furniture is unknown in the map but belongs to the room around it.
        labels = _grow(labels, data == -1, max_steps=int(round(unknown_growth / res)))
    labels = _merge_regions(labels, res, min_room_area, merge_opening)
    # Renumber 1..K in raster order of first appearance (deterministic).
    uniq = np.unique(labels[labels > 0])
    remap = np.zeros(labels.max() + 1 if labels.size else 1, np.int32)
    remap[uniq] = np.arange(1, len(uniq) + 1)
    labels = remap[labels]
    areas, cents = {}, {}
    if len(uniq):
        idx = np.arange(1, len(uniq) + 1)
        counts = ndimage.sum_labels(np.ones_like(labels), labels, idx)
        rc = np.array(ndimage.center_of_mass(np.ones_like(labels), labels, idx)).reshape(-1, 2)
        for k, cnt, (r, c) in zip(idx, counts, rc):
            areas[int(k)] = float(cnt * res * res)
            cents[int(k)] = (origin[0] + (c + 0.5) * res, origin[1] + (r + 0.5) * res)
    return RoomSegmentation(labels, res, origin, areas, cents, closed if max_opening > 0 else None)


def virtual_walls(occupied: np.ndarray, res: float, max_opening: float, min_stub: float = 0.1,
                  max_thickness: float = 0.25) -> np.ndarray:
    """Cells closing wall-aligned openings: a gap of at most ``max_opening`` metres on a grid row
    (column) between two thin wall pieces lying along that row (column), each at least
    ``min_stub`` long. Doors and open-plan openings look like this (the wall continues on both
    sides of them); the cross-section of a perpendicular wall does not (it is not thin along the
    row). Axis-aligned walls only."""
    out = np.zeros_like(occupied, dtype=bool)
    t = int(np.ceil(max_thickness / res))
    k = max(1, int(round(min_stub / res)))
    gmax = int(max_opening / res)
    for occ, flip in ((occupied, False), (occupied.T, True)):
        H, W = occ.shape
        pad = np.zeros((H + 2 * t, W), bool)
        pad[t:t + H] = occ
        # Thin along the row: no occupied cell t rows above or below.
        thin = occ & ~pad[:H] & ~pad[2 * t:]
        res_mask = np.zeros_like(occ)
        for r in np.flatnonzero(thin.sum(axis=1) >= 2 * k):
            trow = thin[r]
            orow = occ[r]
            # Runs of occupied cells along the row whose last k cells next to a gap are thin: a
            # wall continuing along the row up to the opening. Only the tip must be thin, so a
            # short stub left of a wall where it meets a perpendicular wall counts too.
            d = np.diff(np.r_[0, orow.astype(np.int8), 0])
            starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)   # [start, end)
            for e, s2 in zip(ends[:-1], starts[1:]):
                gap = s2 - e
                if 0 < gap <= gmax and e - k >= 0 and s2 + k <= W and trow[e - k:e].all() \
                        and trow[s2:s2 + k].all():
                    res_mask[r, e:s2] = True
        out |= res_mask.T if flip else res_mask
    return out


def _split_seeds(dt: np.ndarray, res: float, r0: float, step: float, min_core_area: float) -> np.ndarray:
    """Room seeds from a hierarchy of erosions: start from the free space eroded by ``r0`` (doors
    close) and erode further in ``step`` increments; a seed that falls apart into two or more pieces
    of at least ``min_core_area`` is replaced by those pieces (a constriction between two rooms,
    e.g. an open-plan opening narrower than the rooms it joins)."""
    min_cells = min_core_area / (res * res)
    seeds, n = ndimage.label(dt > r0)
    if n == 0:
        return seeds.astype(np.int32)
    sizes = np.bincount(seeds.ravel(), minlength=n + 1)
    keep = sizes >= min_cells
    keep[0] = False
    remap = np.zeros(n + 1, np.int32)
    remap[keep] = np.arange(1, keep.sum() + 1)
    seeds = remap[seeds]
    next_label = int(seeds.max()) + 1
    r = r0 + step
    dmax = float(dt.max())
    while r < dmax:
        comp, m = ndimage.label(dt > r)
        if m < 2:
            r += step
            continue
        csize = np.bincount(comp.ravel(), minlength=m + 1)
        big = np.flatnonzero(csize >= min_cells)
        big = big[big > 0]
        # Which seed holds each big component (components are nested in exactly one seed): the
        # largest seed label over each component, in one pass (ndimage.maximum sorts the whole grid).
        top = np.zeros(m + 1, seeds.dtype)
        np.maximum.at(top, comp.ravel(), seeds.ravel())
        owner = top[big]
        by_seed: dict[int, list[int]] = {}
        for c, o in zip(big, np.atleast_1d(owner)):
            by_seed.setdefault(int(o), []).append(int(c))
        for o, comps in by_seed.items():
            if o > 0 and len(comps) >= 2:
                region = seeds == o
                seeds[region] = 0
                for c in comps:
                    seeds[comp == c] = next_label
                    next_label += 1
        r += step
    return seeds


def _orphan_seeds(cores: np.ndarray, seed_free: np.ndarray, res: float, min_area: float) -> np.ndarray:
    """Add a seed for every closed-off free region (walls and virtual walls closing its doors) of
    at least ``min_area`` m² that holds no core: a corridor narrower than ``door_width`` plus the
    wall margins erodes away entirely, and without its own seed the rooms off it would share it
    out among themselves."""
    comp, n = ndimage.label(seed_free)
    if n == 0:
        return cores
    sizes = np.bincount(comp.ravel(), minlength=n + 1) * res * res
    has_core = np.zeros(n + 1, bool)
    has_core[comp[cores > 0]] = True
    orphan = (sizes >= min_area) & ~has_core
    orphan[0] = False
    if not orphan.any():
        return cores
    cores = cores.copy()
    nxt = int(cores.max()) + 1
    for c in np.flatnonzero(orphan):
        cores[comp == c] = nxt
        nxt += 1
    return cores


def _grow(labels: np.ndarray, free: np.ndarray, max_steps: int = 1 << 30) -> np.ndarray:
    """Grow labelled seeds over ``free`` cells one ring at a time (4-neighbourhood): an unlabelled
    free cell joins in the first ring that reaches it, taking the largest label among its labelled
    neighbours (what a grey dilation per ring gives, without rescanning the whole grid per ring)."""
    out = np.array(labels, dtype=np.int32, order="C")
    _grow_rings(out, np.ascontiguousarray(free, dtype=np.bool_), int(min(max_steps, 1 << 62)))
    return out


@njit(cache=True)
def _grow_rings(labels, free, max_steps):  # pragma: no cover - compiled
    H, W = labels.shape
    front = np.empty(H * W, np.int64)
    n = 0
    for r in range(H):
        for c in range(W):
            if labels[r, c] > 0:
                front[n] = r * W + c
                n += 1
    cand = np.empty(H * W, np.int64)
    vals = np.empty(H * W, np.int32)
    mark = np.zeros((H, W), np.bool_)
    steps = 0
    while steps < max_steps and n > 0:
        m = 0
        for k in range(n):
            r, c = front[k] // W, front[k] % W
            for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < H and 0 <= cc < W and free[rr, cc] and labels[rr, cc] == 0 and not mark[rr, cc]:
                    mark[rr, cc] = True
                    cand[m] = rr * W + cc
                    m += 1
        # labels of this ring from the state before it (cells labelled in it do not spread yet)
        for k in range(m):
            r, c = cand[k] // W, cand[k] % W
            v = 0
            for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < H and 0 <= cc < W and labels[rr, cc] > v:
                    v = labels[rr, cc]
            vals[k] = v
        for k in range(m):
            r, c = cand[k] // W, cand[k] % W
            labels[r, c] = vals[k]
            mark[r, c] = False
            front[k] = cand[k]
        n = m
        steps += 1


def _boundaries(labels: np.ndarray) -> Counter:
    """Shared boundary length (cells) between each pair of touching labels."""
    cnt: Counter = Counter()
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :])):
        m = (a != b) & (a > 0) & (b > 0)
        if m.any():
            lo, hi = np.minimum(a[m], b[m]), np.maximum(a[m], b[m])
            pairs, c = np.unique(np.stack([lo, hi], 1), axis=0, return_counts=True)
            for (p, q), k in zip(pairs, c):
                cnt[(int(p), int(q))] += int(k)
    return cnt


def _openings(labels: np.ndarray, res: float) -> dict:
    """Width (metres) of the opening between each pair of touching labels: the longer side of the
    box around their boundary cells. Unlike a count of boundary cells it does not grow with a
    ragged growth front inside a door."""
    cells: dict = {}
    for a, b, (dr, dc) in ((labels[:, :-1], labels[:, 1:], (0, 1)), (labels[:-1, :], labels[1:, :], (1, 0))):
        m = (a != b) & (a > 0) & (b > 0)
        if not m.any():
            continue
        rr, cc = np.nonzero(m)
        lo, hi = np.minimum(a[m], b[m]), np.maximum(a[m], b[m])
        for p, q, r, c in zip(lo.tolist(), hi.tolist(), rr.tolist(), cc.tolist()):
            box = cells.get((p, q))
            cells[(p, q)] = (r, r, c, c) if box is None else (min(box[0], r), max(box[1], r), min(box[2], c),
                                                              max(box[3], c))
    return {k: (max(r1 - r0, c1 - c0) + 1) * res for k, (r0, r1, c0, c1) in cells.items()}


def _merge_regions(labels: np.ndarray, res: float, min_area: float, merge_opening: float) -> np.ndarray:
    labels = labels.copy()
    for _ in range(100):
        if labels.max() == 0:
            break
        sizes = np.bincount(labels.ravel()) * res * res
        bounds = _boundaries(labels)
        merged = False
        # Tiny regions first: fold into the neighbour with the longest shared boundary.
        for k in np.argsort(sizes):
            if k == 0 or sizes[k] == 0 or sizes[k] >= min_area:
                continue
            nb = [(c, q if p == k else p) for (p, q), c in bounds.items() if k in (p, q)]
            if nb:
                labels[labels == k] = max(nb)[1]
                merged = True
                break
        if merged:
            continue
        wide = [(c, p, q) for (p, q), c in bounds.items() if c * res >= merge_opening]
        if wide:
            _, p, q = max(wide)
            labels[labels == q] = p
            continue
        break
    return labels


def _stable_ids(new_labels: np.ndarray, seg: RoomSegmentation, old: Optional[RoomMap],
                next_id: int) -> tuple[dict, int]:
    """Map new room indices to ids, reusing an old id when most of the new room lies in it."""
    mapping = {}
    if old is not None:
        rr, cc = np.nonzero(new_labels > 0)
        xy = np.stack([seg.origin[0] + (cc + 0.5) * seg.resolution, seg.origin[1] + (rr + 0.5) * seg.resolution], 1)
        old_ids = old.room_at(xy, snap=0)
        newl = new_labels[rr, cc]
        m = old_ids > 0
        if m.any():
            # (new, old) pairs in lexicographic order, counted through one integer key per pair
            # (np.unique(axis=0) sorts rows as structured records, several times slower).
            a, b = newl[m].astype(np.int64), old_ids[m].astype(np.int64)
            span = int(b.max()) + 1
            keys, counts = np.unique(a * span + b, return_counts=True)
            pairs = np.stack([keys // span, keys % span], 1)
            used = set()
            for idx in np.argsort(-counts):
                n, o = int(pairs[idx, 0]), int(pairs[idx, 1])
                if n in mapping or o in used:
                    continue
                if counts[idx] >= 0.5 * (newl == n).sum():
                    mapping[n] = o
                    used.add(o)
    for n in sorted(seg.areas):
        if n not in mapping:
            mapping[n] = next_id
            next_id += 1
    return mapping, next_id


def add_rooms(graph: SceneGraph, seg: RoomSegmentation, *, floor_z: float = 0.0) -> None:
    """Replace the room layer of ``graph`` with ``seg`` (ids kept stable against the previous
    room map where rooms overlap), link them to building 0 and to each other (``adjacent``), and
    store the room map on the graph. Room types are set by :func:`update_room_types`."""
    old = graph.room_map
    next_id = int(graph.metadata.get("next_room_id", 1))
    mapping, next_id = _stable_ids(seg.labels, seg, old, next_id)
    old_types = {a["id"]: (a.get("room_type"), a.get("room_type_confidence")) for a in graph.rooms()}
    graph.clear_layer("room")
    if not graph.has_node(node_id("building", 0)):
        graph.add_node("building", 0, name="building", position=[0.0, 0.0, 0.0])
    lut = np.zeros(max(seg.areas, default=0) + 1, np.int32)
    for n, rid in mapping.items():
        lut[n] = rid
        rtype, conf = old_types.get(rid, ("unknown", 0.0))
        cx, cy = seg.centroids[n]
        graph.add_node("room", rid, area=seg.areas[n], position=[cx, cy, floor_z], room_type=rtype,
                       room_type_confidence=conf)
        graph.add_edge(node_id("building", 0), node_id("room", rid), "contains")
    labels = lut[seg.labels]
    for (p, q), c in _boundaries(labels).items():
        graph.add_edge(node_id("room", p), node_id("room", q), "adjacent", opening=float(c * seg.resolution))
    graph.room_map = RoomMap(labels, seg.resolution, seg.origin)
    graph.metadata["next_room_id"] = next_id
    bpos = np.mean([a["position"] for a in graph.rooms()], axis=0) if mapping else np.zeros(3)
    graph.node(node_id("building", 0))["position"] = np.asarray(bpos, dtype=np.float64)


def update_room_types(graph: SceneGraph, votes: Optional[dict] = None,
                      core_types: Iterable[str] = CORE_ROOM_TYPES, min_prior_area: float = 4.0) -> None:
    """Set each room's ``room_type``/``room_type_confidence`` from the objects ``in_room`` it, and
    ``room_type_source`` (``"contents"``, ``"prior"`` or ``"none"``). Then each of ``core_types``
    (largest first) that no room got goes to the largest remaining untyped room of at least
    ``min_prior_area`` m², with confidence :data:`PRIOR_TYPE_CONFIDENCE` (pass ``core_types=()``
    to keep such rooms ``"unknown"``)."""
    for rid, a in graph.nodes("room"):
        labels = [graph.node(o)["label"] for o in graph.predecessors(rid, "in_room")]
        a["room_type"], a["room_type_confidence"] = infer_room_type(labels, votes)
        a["room_type_source"] = "none" if a["room_type"] == "unknown" else "contents"
    rooms = [a for _, a in graph.nodes("room")]
    present = {a["room_type"] for a in rooms}
    missing = [t for t in core_types if t not in present]
    untyped = sorted((a for a in rooms if a["room_type"] == "unknown" and a.get("area", 0.0) >= min_prior_area),
                     key=lambda a: (-a.get("area", 0.0), a["id"]))
    for t, a in zip(missing, untyped):
        a["room_type"], a["room_type_confidence"], a["room_type_source"] = t, PRIOR_TYPE_CONFIDENCE, "prior"


def fill_room_notches(seg: RoomSegmentation, grid, radius: float = 1.0) -> RoomSegmentation:
    """Give each room the unlabelled, non-free cells (tall furniture, floor hidden behind it) in
    its notches: the morphological closing of the room by a disk of ``radius`` metres, limited to
    cells no room holds and the grid does not call free. A wardrobe or a fridge against a wall
    stands inside the room, though the map slice sees it as occupied. Run it after any merging
    (filled cells make rooms touch along walls near doors)."""
    if radius <= 0:
        return seg
    data = np.asarray(grid.data)
    if data.shape != seg.labels.shape:
        raise InvalidInputError(f"grid shape {data.shape} does not match the segmentation {seg.labels.shape}")
    res = seg.resolution
    k = int(np.ceil(radius / res)) + 1
    out = seg.labels.copy()
    H, W = out.shape
    for lab in sorted(seg.areas):
        rr, cc = np.nonzero(seg.labels == lab)
        if len(rr) == 0:
            continue
        r0, r1, c0, c1 = max(rr.min() - k, 0), min(rr.max() + k + 1, H), max(cc.min() - k, 0), min(cc.max() + k + 1, W)
        m = np.pad(seg.labels[r0:r1, c0:c1] == lab, k)
        dil = ndimage.distance_transform_edt(~m) * res <= radius
        closed = (ndimage.distance_transform_edt(dil) * res > radius)[k:-k, k:-k]
        sub = out[r0:r1, c0:c1]
        sub[closed & (sub == 0) & (data[r0:r1, c0:c1] != 0)] = lab
    if np.array_equal(out, seg.labels):
        return seg
    idx = np.array(sorted(seg.areas))
    counts = ndimage.sum_labels(np.ones_like(out), out, idx)
    rc = np.array(ndimage.center_of_mass(np.ones_like(out), out, idx)).reshape(-1, 2)
    ox, oy = seg.origin
    areas = {int(i): float(n * res * res) for i, n in zip(idx, counts)}
    cents = {int(i): (ox + (c + 0.5) * res, oy + (r + 0.5) * res) for i, (r, c) in zip(idx, rc)}
    return RoomSegmentation(out, res, seg.origin, areas, cents, seg.virtual)


def _walled_pairs(labels: np.ndarray, virtual: Optional[np.ndarray]) -> dict:
    """(p, q) -> True when most of the boundary between rooms p and q runs along a virtual wall
    (an opening framed by wall stubs on both sides)."""
    if virtual is None or not virtual.any():
        return {}
    near = ndimage.binary_dilation(virtual, iterations=2)
    tot: Counter = Counter()
    hit: Counter = Counter()
    for a, b, va, vb in ((labels[:, :-1], labels[:, 1:], near[:, :-1], near[:, 1:]),
                         (labels[:-1, :], labels[1:, :], near[:-1, :], near[1:, :])):
        msk = (a != b) & (a > 0) & (b > 0)
        if not msk.any():
            continue
        lo, hi = np.minimum(a[msk], b[msk]), np.maximum(a[msk], b[msk])
        v = (va | vb)[msk]
        for p, q, w in zip(lo.tolist(), hi.tolist(), v.tolist()):
            tot[(p, q)] += 1
            hit[(p, q)] += int(w)
    return {k: hit[k] >= 0.5 * n for k, n in tot.items()}


def merge_same_type_rooms(seg: RoomSegmentation, object_xy: np.ndarray, object_labels: list,
                          *, min_opening: float = 1.5, votes: Optional[dict] = None) -> RoomSegmentation:
    """Merge neighbouring rooms joined by an opening wider than a door (``min_opening`` metres of
    shared boundary) whose contents vote for the same room type, or where exactly one of them has
    no votes: an L-shaped living room cut at its inner corner is one room, an open-plan kitchen
    next to a living room stays two, and two empty rooms stay two (no evidence either way). ``object_xy`` (N, 2) / ``object_labels``: the objects to vote."""
    labels = seg.labels.copy()
    rm = RoomMap(labels, seg.resolution, seg.origin)
    xy = np.asarray(object_xy, dtype=np.float64).reshape(-1, 2)
    walled = _walled_pairs(labels, seg.virtual)
    for _ in range(50):
        rooms = rm.room_at(xy) if len(xy) else np.zeros(0, int)
        types = {}
        for k in np.unique(labels[labels > 0]):
            types[int(k)] = infer_room_type([lab for lab, r in zip(object_labels, rooms) if r == k], votes)[0]
        best = None
        for (p, q), c in _openings(labels, seg.resolution).items():
            if c < min_opening:
                continue
            tp, tq = types.get(p, "unknown"), types.get(q, "unknown")
            if "unknown" in (tp, tq) and walled.get((min(p, q), max(p, q)), False):
                continue   # an opening between wall stubs: two rooms by architecture, even if one is empty
            if (tp == tq) != ("unknown" in (tp, tq)):   # same known type, or exactly one unknown
                if best is None or c > best[0]:
                    best = (c, p, q)
        if best is None:
            break
        _, p, q = best
        labels[labels == q] = p
        rm = RoomMap(labels, seg.resolution, seg.origin)
    if np.array_equal(labels, seg.labels):
        return seg
    uniq = np.unique(labels[labels > 0])
    remap = np.zeros(labels.max() + 1, np.int32)
    remap[uniq] = np.arange(1, len(uniq) + 1)
    labels = remap[labels]
    res, (ox, oy) = seg.resolution, seg.origin
    areas, cents = {}, {}
    idx = np.arange(1, len(uniq) + 1)
    if len(idx):
        counts = ndimage.sum_labels(np.ones_like(labels), labels, idx)
        rc = np.array(ndimage.center_of_mass(np.ones_like(labels), labels, idx)).reshape(-1, 2)
        for k, cnt, (r, c) in zip(idx, counts, rc):
            areas[int(k)] = float(cnt * res * res)
            cents[int(k)] = (ox + (c + 0.5) * res, oy + (r + 0.5) * res)
    return RoomSegmentation(labels, res, seg.origin, areas, cents, seg.virtual)
