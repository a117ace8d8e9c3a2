"""Seeded procedural houses: room layouts in several styles, doors, furniture typical of each room
type and small objects on plausible receptacles. Every generated house is checked with the
pathfinder: every room is reachable from every other for the default agent.

Layout styles:
- ``"corridor"``: a hallway spine with rooms on both sides, each opening onto the hallway;
- ``"bsp"``: a rectangle split recursively (binary space partition), doors on a random spanning
  tree of the adjacency graph plus an occasional extra door;
- ``"open_plan"``: a BSP house whose living room, kitchen (and dining room) are joined by wide
  openings instead of doors;
- ``"l_shaped"``: a BSP house where two neighbouring cells merge into one L-shaped room
  (non-rectangular floor, a concave corner).
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import shapely
from shapely.geometry import Point, Polygon, box
from shapely.ops import unary_union

from sim.categories import CATEGORIES, instance_appearance
from sim.errors import PlacementError, SceneError
from sim.pathfinder import GridPathFinder
from sim.scene import Scene, _rect

LAYOUT_STYLES = ("corridor", "bsp", "open_plan", "l_shaped")

#: Furniture per room type: (category, placement "wall" | "center", probability).
FURNITURE_PLAN = {
    "living_room": [("sofa", "wall", 1.0), ("coffee_table", "center", 1.0), ("tv_stand", "wall", 0.9),
                    ("bookshelf", "wall", 0.8), ("armchair", "wall", 0.6), ("sideboard", "wall", 0.5),
                    ("plant_pot", "wall", 0.4), ("shelf", "wall", 0.3)],
    "kitchen": [("counter", "wall", 1.0), ("counter", "wall", 0.7), ("fridge", "wall", 1.0), ("stove", "wall", 0.9),
                ("kitchen_table", "center", 0.7), ("chair", "center", 0.6), ("kitchen_island", "center", 0.25)],
    "dining_room": [("dining_table", "center", 1.0), ("chair", "center", 0.8), ("chair", "center", 0.6),
                    ("sideboard", "wall", 0.8), ("shelf", "wall", 0.4)],
    "bedroom": [("bed", "wall", 1.0), ("nightstand", "wall", 0.9), ("nightstand", "wall", 0.4),
                ("wardrobe", "wall", 0.8), ("dresser", "wall", 0.5), ("desk", "wall", 0.3), ("chair", "center", 0.3)],
    "bathroom": [("sink_cabinet", "wall", 1.0), ("toilet", "wall", 1.0), ("bathtub", "wall", 0.6), ("shelf", "wall", 0.5)],
    "office": [("desk", "wall", 1.0), ("office_chair", "center", 0.9), ("bookshelf", "wall", 1.0),
               ("shelf", "wall", 0.5), ("armchair", "wall", 0.3)],
    "hallway": [("console_table", "wall", 0.9), ("shoe_rack", "wall", 0.8), ("bench", "wall", 0.5)],
    "laundry": [("washing_machine", "wall", 1.0), ("shelf", "wall", 0.8)],
}

_OBJECT_WEIGHTS = {"mug": 3, "cup": 2, "book": 4, "keys": 2, "remote": 2, "laptop": 2, "plant": 2, "bag": 2,
                   "bottle": 2, "bowl": 1.5, "plate": 1.5, "phone": 2, "glasses": 1, "wallet": 1, "notebook": 2,
                   "headphones": 1, "vase": 1, "candle": 1, "clock": 1, "backpack": 1, "towel": 1.5,
                   "toothbrush": 1, "soap": 1, "pillow": 1.5, "toy": 1, "umbrella": 0.5, "pen": 1,
                   "fruit_bowl": 1, "cutting_board": 1, "pan": 1}

_GRID = 0.1


def _q(v: float) -> float:
    return round(round(v / _GRID) * _GRID, 6)


def generate_house(seed: int = 0, style: Optional[str] = None, n_rooms: Optional[int] = None,
                   n_objects: Optional[int] = None, agent_radius: float = 0.18) -> Scene:
    """A random, fully connected, furnished house, identical for identical arguments.

    ``style`` is one of :data:`LAYOUT_STYLES` (random when None), ``n_rooms`` 3..8 (random when
    None), ``n_objects`` 20..80 small objects (random when None; fewer only if receptacles run out).
    """
    rng = np.random.default_rng(seed)
    style = style if style is not None else str(rng.choice(LAYOUT_STYLES))
    if style not in LAYOUT_STYLES:
        raise SceneError(f"unknown layout style {style!r}; expected one of {LAYOUT_STYLES}")
    n_rooms = int(n_rooms if n_rooms is not None else rng.integers(3, 9))
    if not 3 <= n_rooms <= 8:
        raise SceneError(f"n_rooms must be in 3..8, got {n_rooms}")
    n_objects = int(n_objects if n_objects is not None else rng.integers(20, 81))
    if not 0 <= n_objects <= 200:
        raise SceneError(f"n_objects must be in 0..200, got {n_objects}")
    scene = Scene(f"house-{style}-{seed}", collision="footprint")
    if style == "corridor":
        _corridor_layout(scene, rng, n_rooms)
    else:
        _bsp_layout(scene, rng, n_rooms, open_plan=(style == "open_plan"), merge_l=(style == "l_shaped"))
    _furnish(scene, rng, agent_radius)
    _scatter_objects(scene, rng, n_objects)
    return scene


# ---------------------------------------------------------------------- layouts
def _room_types(n: int, rng) -> list[str]:
    core = ["living_room", "kitchen", "bathroom", "bedroom"]
    extra = ["bedroom", "office", "dining_room", "bedroom", "laundry", "office"]
    rng.shuffle(extra)
    types = core + extra
    return types[:n]


def _assign_types(polys: list, rng) -> list[str]:
    """Room types by size: the largest is the living room, the smallest the bathroom."""
    n = len(polys)
    types = _room_types(n, rng)
    order = np.argsort([-_poly(r).area for r in polys], kind="stable")
    out = [""] * n
    big = [t for t in types if t in ("living_room", "kitchen", "dining_room")]
    small = [t for t in types if t in ("bathroom", "laundry")]
    mid = [t for t in types if t not in big and t not in small]
    seq = big + mid + small
    for rank, idx in enumerate(order):
        out[idx] = seq[rank]
    return out


def _corridor_layout(scene: Scene, rng, n_rooms: int) -> None:
    n_side = n_rooms - 1
    north = max(1, n_side // 2 + int(rng.integers(0, 2)) * (n_side % 2))
    south = n_side - north
    hall_w = _q(rng.uniform(1.3, 1.7))
    widths_n = [_q(rng.uniform(2.8, 4.6)) for _ in range(north)]
    widths_s = [_q(rng.uniform(2.8, 4.6)) for _ in range(south)]
    length = max(sum(widths_n), sum(widths_s), 4.0)
    # Stretch the shorter side's last room so both sides end flush with the hallway.
    if widths_n:
        widths_n[-1] = _q(widths_n[-1] + length - sum(widths_n))
    if widths_s:
        widths_s[-1] = _q(widths_s[-1] + length - sum(widths_s))
    length = _q(length)
    rects = []
    x = 0.0
    depth_n = _q(rng.uniform(3.0, 4.5))
    for w in widths_n:
        rects.append((x, hall_w, x + w, hall_w + depth_n))
        x += w
    x = 0.0
    depth_s = _q(rng.uniform(3.0, 4.5))
    for w in widths_s:
        rects.append((x, -depth_s, x + w, 0.0))
        x += w
    types = _assign_types(rects, rng)
    scene.add_room("hallway_0", "hallway", box(0.0, 0.0, length, hall_w))
    ids = _add_typed_rooms(scene, rects, types)
    for rid in ids:
        scene.add_door(rid, "hallway_0", width=0.9)
    # An occasional door between neighbours on the same side (e.g. kitchen - dining room).
    for a, b in zip(ids[:-1], ids[1:]):
        if rng.random() < 0.25 and scene.shared_boundary(a, b).length >= 1.5:
            scene.add_door(a, b, width=0.9)


def _poly(r):
    return r if isinstance(r, Polygon) else box(*r)


def _add_typed_rooms(scene: Scene, rects, types) -> list[str]:
    counts: dict[str, int] = {}
    ids = []
    for r, t in zip(rects, types):
        k = counts.get(t, 0)
        counts[t] = k + 1
        rid = f"{t}_{k}"
        scene.add_room(rid, t, _poly(r))
        ids.append(rid)
    return ids


def _bsp_layout(scene: Scene, rng, n_rooms: int, open_plan: bool, merge_l: bool = False) -> None:
    area = n_rooms * rng.uniform(11.0, 16.0)
    aspect = rng.uniform(1.0, 1.6)
    W = _q(math.sqrt(area * aspect))
    D = _q(area / W)
    rects = [(0.0, 0.0, W, D)]
    min_side = 2.4
    target = n_rooms + 1 if merge_l else n_rooms
    while len(rects) < target:
        rects.sort(key=lambda r: -(r[2] - r[0]) * (r[3] - r[1]))
        for i, (x0, y0, x1, y1) in enumerate(rects):
            w, d = x1 - x0, y1 - y0
            vertical = w >= d if abs(w - d) > 0.5 else bool(rng.random() < 0.5)
            span = w if vertical else d
            if span < 2 * min_side:
                vertical = not vertical
                span = w if vertical else d
                if span < 2 * min_side:
                    continue
            t = _q(rng.uniform(max(min_side, 0.35 * span), min(span - min_side, 0.65 * span)))
            if vertical:
                new = [(x0, y0, x0 + t, y1), (x0 + t, y0, x1, y1)]
            else:
                new = [(x0, y0, x1, y0 + t), (x0, y0 + t, x1, y1)]
            rects[i:i + 1] = new
            break
        else:
            break  # nothing splittable; accept fewer rooms (still >= 3 for the sizes above)
    rects = _merge_l(rects, rng) if merge_l and len(rects) > 3 else rects
    types = _assign_types(rects, rng)
    if open_plan:
        _kitchen_next_to_living(rects, types)
    ids = _add_typed_rooms(scene, rects, types)
    adj = {a: [b for b in ids if b != a and scene.shared_boundary(a, b).length >= 1.3] for a in ids}
    joined = set()
    if open_plan:
        living = next(r for r in ids if r.startswith("living_room"))
        for other in adj[living]:
            if scene.rooms[other].room_type in ("kitchen", "dining_room"):
                scene.add_opening(living, other)
                joined.add(frozenset((living, other)))
    # Random spanning tree (Prim-like growth) so every room is reachable.
    start = ids[int(rng.integers(len(ids)))]
    tree = {start}
    for pair in joined:
        if start in pair:
            tree |= pair
    while len(tree) < len(ids):
        frontier = [(a, b) for a in sorted(tree) for b in adj[a] if b not in tree]
        if not frontier:
            raise SceneError("BSP layout produced disconnected rooms")  # cannot happen for a partition
        a, b = frontier[int(rng.integers(len(frontier)))]
        if frozenset((a, b)) not in joined:
            scene.add_door(a, b, width=0.9)
            joined.add(frozenset((a, b)))
        tree.add(b)
        for pair in list(joined):
            if b in pair:
                tree |= pair
    extra = [(a, b) for a in ids for b in adj[a] if a < b and frozenset((a, b)) not in joined]
    if extra and rng.random() < 0.5:
        a, b = extra[int(rng.integers(len(extra)))]
        scene.add_door(a, b, width=0.9)


def _shared_length(a, b) -> float:
    """Length of the outline two rooms share (0 when they only touch at a corner)."""
    return float(_poly(a).boundary.intersection(_poly(b).boundary).length)


def _merge_l(rects, rng) -> list:
    """Merge one pair of neighbouring rectangles whose union is an L (not a rectangle)."""
    pairs = []
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            shared = _shared_length(rects[i], rects[j])
            if shared < 1.3:
                continue
            union = unary_union([box(*rects[i]), box(*rects[j])])
            if isinstance(union, Polygon) and abs(union.area - union.minimum_rotated_rectangle.area) > 0.5:
                pairs.append((i, j, union))
    if not pairs:
        return rects
    i, j, union = pairs[int(rng.integers(len(pairs)))]
    merged = shapely.normalize(union.simplify(0))
    return [r for k, r in enumerate(rects) if k not in (i, j)] + [merged]


def _kitchen_next_to_living(rects, types) -> None:
    """Open plan needs the kitchen beside the living room: swap types with the largest
    neighbour of the living room when they are apart."""
    li = types.index("living_room")
    nbrs = [j for j in range(len(rects)) if j != li and _shared_length(rects[li], rects[j]) >= 1.3]
    if not nbrs or any(types[j] in ("kitchen", "dining_room") for j in nbrs):
        return
    j = max(nbrs, key=lambda j: _poly(rects[j]).area)
    ki = types.index("kitchen")
    types[j], types[ki] = types[ki], types[j]


# ---------------------------------------------------------------------- furniture
def _door_zones(scene: Scene, room_id: str):
    zones = []
    for d in scene.doors:
        if room_id in (d.room_a, d.room_b):
            r = d.width / 2 + 0.25
            zones.append(Point(d.center).buffer(max(r, 1.0) if d.width < 2 else r, cap_style="square"))
    return zones


def _furnish(scene: Scene, rng, agent_radius: float) -> None:
    for room in list(scene.rooms.values()):
        plan = FURNITURE_PLAN.get(room.room_type, [])
        zones = _door_zones(scene, room.room_id)
        inner = room.polygon.buffer(-scene.wall_thickness / 2 - 0.02, join_style="mitre")
        placed = []
        for cat, where, p in plan:
            if rng.random() > p:
                continue
            obj = _place_furniture(scene, rng, room, inner, zones, cat, where)
            if obj is not None:
                placed.append(obj.instance_id)
        room_placed = placed
        # Keep the room enterable and traversable: drop centre pieces, then others, until connected.
        pf = GridPathFinder(scene, agent_radius)
        while not _room_ok(pf, scene, room.room_id) and room_placed:
            scene.remove_object(room_placed.pop())
            pf = GridPathFinder(scene, agent_radius)


def _room_ok(pf: GridPathFinder, scene: Scene, room_id: str) -> bool:
    """Navigable space of the room is one island that reaches every door of the room."""
    k = pf.room_ids.index(room_id)
    labels = pf.components[(pf.room_grid == k) & pf.navigable]
    if labels.size == 0:
        return False
    main = set(np.unique(labels).tolist())
    if len(main) != 1:
        return False
    for d in scene.doors:
        if room_id in (d.room_a, d.room_b):
            iy, ix = pf.world_to_cell(d.center)
            if pf.components[iy, ix] not in main:
                return False
    return True


def _place_furniture(scene: Scene, rng, room, inner, zones, cat: str, where: str, tries: int = 40):
    size = np.array(CATEGORIES[cat].size, dtype=np.float64) * rng.uniform(0.9, 1.1, 3)
    size[2] = CATEGORIES[cat].size[2]
    coords = np.asarray(room.polygon.exterior.coords)
    for _ in range(tries):
        if where == "wall":
            i = int(rng.integers(len(coords) - 1))
            a, b = coords[i], coords[i + 1]
            L = float(np.hypot(*(b - a)))
            if L < size[1] + 0.2:
                continue
            d = (b - a) / L
            n = np.array([-d[1], d[0]])
            if not room.polygon.contains(Point((a + b) / 2 + n * 0.2)):
                n = -n
            s = rng.uniform(size[1] / 2 + 0.1, L - size[1] / 2 - 0.1)
            c = a + d * s + n * (size[0] / 2 + scene.wall_thickness / 2 + 0.03)
            yaw = math.atan2(n[1], n[0])
        else:
            minx, miny, maxx, maxy = inner.buffer(-0.6).bounds if not inner.buffer(-0.6).is_empty else inner.bounds
            if maxx <= minx or maxy <= miny:
                return None
            c = np.array([rng.uniform(minx, maxx), rng.uniform(miny, maxy)])
            yaw = float(rng.integers(4)) * math.pi / 2
        fp = _rect(c, size[:2], yaw)
        if not inner.covers(fp) or any(z.intersects(fp) for z in zones):
            continue
        if any(fp.distance(o.footprint()) < 0.05 for o in scene.furniture()):
            continue
        try:
            return scene.add_object(cat, position=(c[0], c[1]), size=size, yaw=yaw)
        except PlacementError:
            continue
    return None


# ---------------------------------------------------------------------- small objects
def _scatter_objects(scene: Scene, rng, n_objects: int) -> None:
    cats = list(_OBJECT_WEIGHTS)
    w = np.array([_OBJECT_WEIGHTS[c] for c in cats], dtype=np.float64)
    w /= w.sum()
    by_owner: dict[str, list[str]] = {}
    for rec in scene.receptacles.values():
        by_owner.setdefault(scene.objects[rec.owner_id].category, []).append(rec.receptacle_id)
    placed = 0
    attempts = 0
    # Appearance draws come from a child stream so the placement stream (and with it the layout of
    # everything else) does not depend on them.
    looks = rng.spawn(1)[0]
    while placed < n_objects and attempts < n_objects * 15:
        attempts += 1
        cat = cats[int(rng.choice(len(cats), p=w))]
        info = CATEGORIES[cat]
        size, color = instance_appearance(cat, looks)
        options = [r for owner in info.receptacles for r in by_owner.get(owner, [])
                   if scene.receptacles[r].clearance >= size[2]]
        if not options:
            continue
        rid = options[int(rng.integers(len(options)))]
        try:
            scene.place_object_on(cat, rid, size=size, color=color, rng=rng, tries=15)
            placed += 1
        except PlacementError:
            continue
