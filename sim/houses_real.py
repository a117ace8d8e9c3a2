"""The ``"real"`` house style: houses as hard as real ones. An open-plan BSP layout (living room,
kitchen and dining room joined by wide openings) built with walls outside the exterior outline,
windows and an exterior door; furniture flush against the walls, chairs tucked under tables, a TV
on its stand, wall art, bins, plants, laundry baskets, open cabinets and fridges (door open or
closed) with things inside; and 3–8 look-alike instances (near-identical size and colour) of a few
common categories (books, mugs, pillows, remotes, bowls, apples, cutlery, shirts) besides the usual
mix of small objects."""
from __future__ import annotations

import math

import numpy as np
from shapely.geometry import Point

from sim.categories import CATEGORIES, instance_appearance
from sim.errors import PlacementError
from sim.houses import FURNITURE_PLAN, _OBJECT_WEIGHTS, _bsp_layout, _door_zones, _room_ok
from sim.pathfinder import GridPathFinder
from sim.scene import Scene

#: Extra furniture of the real style per room type: (category, placement, probability).
EXTRA_FURNITURE = {
    "living_room": [("wall_art", "art", 0.9), ("trash_bin", "wall", 0.4), ("open_cabinet", "wall", 0.7)],
    "kitchen": [("kitchen_cabinet", "wall", 1.0), ("kitchen_cabinet", "wall", 0.7), ("trash_bin", "wall", 0.9),
                ("wall_art", "art", 0.4)],
    "dining_room": [("wall_art", "art", 0.8), ("open_cabinet", "wall", 0.5)],
    "bedroom": [("wall_art", "art", 0.7), ("laundry_basket", "wall", 0.6), ("open_cabinet", "wall", 0.6),
                ("plant_pot", "wall", 0.3)],
    "office": [("wall_art", "art", 0.6), ("trash_bin", "wall", 0.6), ("plant_pot", "wall", 0.4)],
    "bathroom": [("trash_bin", "wall", 0.6)],
    "hallway": [("wall_art", "art", 0.6)],
    "laundry": [("laundry_basket", "wall", 0.9)],
}
#: Categories that come in look-alike groups, and the group size range.
LOOKALIKE_CATEGORIES = ("book", "mug", "pillow", "remote", "bowl", "apple", "fork", "plate", "shirt", "cup", "spoon")
LOOKALIKES = (3, 8)
_EXTRA_OBJECTS = {"apple": 1.5, "bread": 1, "cereal_box": 1, "milk": 1, "cheese": 1, "fork": 1.5, "knife": 1,
                  "spoon": 1.5, "shirt": 1.5, "jeans": 1, "sock": 1, "succulent": 1}
_TABLES = ("kitchen_table", "dining_table", "desk", "table")


def generate_real_house(seed: int, n_rooms: int, n_objects: int, agent_radius: float = 0.18) -> Scene:
    """A ``"real"``-style house (see module doc), identical for identical arguments."""
    rng = np.random.default_rng([seed, 12])
    scene = Scene(f"house-real-{seed}", wall_thickness=0.12, walls="outside", collision="solid")
    _bsp_layout(scene, rng, n_rooms, open_plan=True)
    _windows(scene, rng)
    for room in list(scene.rooms.values()):
        zones = _door_zones(scene, room.room_id) + [Point(w.center).buffer(0.8) for w in scene.wall_openings
                                                    if w.kind == "door" and w.room == room.room_id]
        placed = []
        plan = FURNITURE_PLAN.get(room.room_type, []) + EXTRA_FURNITURE.get(room.room_type, [])
        for cat, where, p in plan:
            if rng.random() > p:
                continue
            obj = _place(scene, rng, room, zones, cat, where)
            if obj is not None:
                placed.append(obj.instance_id)
                placed.extend(_dress(scene, rng, obj))
        pf = GridPathFinder(scene, agent_radius)
        while not _room_ok(pf, scene, room.room_id) and placed:
            _remove_with_load(scene, placed.pop())
            pf = GridPathFinder(scene, agent_radius)
    _objects(scene, rng, n_objects)
    return scene


def _windows(scene: Scene, rng) -> None:
    ext = [w for w in scene.walls if len(w.rooms) == 1 and w.length >= 1.6]
    done = set()
    for w in sorted(ext, key=lambda w: -w.length):
        room = w.rooms[0]
        if room in done or scene.rooms[room].room_type == "bathroom" and rng.random() < 0.5:
            continue
        d = (w.end - w.start) / w.length
        width = float(min(1.4, w.length - 0.6))
        try:
            scene.add_window(room, w.start + d * w.length / 2, width=width)
            done.add(room)
        except PlacementError:
            continue
    living = next((r for r in scene.rooms if r.startswith("living_room")), None)
    for w in ext:
        if w.rooms[0] == living and w.length >= 3.0:
            d = (w.end - w.start) / w.length
            try:
                scene.add_exterior_door(living, w.start + d * 0.8, width=0.9)
                break
            except PlacementError:
                continue


def _place(scene: Scene, rng, room, zones, cat: str, where: str, tries: int = 40):
    """Furniture flush against a wall (``"wall"``/``"art"``) or free-standing (``"center"``)."""
    size = np.array(CATEGORIES[cat].size, dtype=np.float64) * rng.uniform(0.9, 1.1, 3)
    size[2] = CATEGORIES[cat].size[2]
    if cat == "wall_art":
        size[0] = 0.04
    coords = np.asarray(room.polygon.exterior.coords)
    inner = room.polygon.buffer(-0.01, join_style="mitre")
    t = scene.wall_thickness
    for _ in range(tries):
        z = 0.0
        if where in ("wall", "art"):
            i = int(rng.integers(len(coords) - 1))
            a, b = coords[i], coords[i + 1]
            L = float(np.hypot(*(b - a)))
            if L < size[1] + 0.3:
                continue
            d = (b - a) / L
            n = np.array([-d[1], d[0]])
            if not room.polygon.contains(Point((a + b) / 2 + n * 0.2)):
                n = -n
            s = rng.uniform(size[1] / 2 + 0.15, L - size[1] / 2 - 0.15)
            # Flush: touching the wall face (the outline for an exterior wall, half a wall
            # thickness inside it for a wall shared with another room).
            shared = scene.room_at(a + d * s - n * 0.05) is not None
            c = a + d * s + n * (size[0] / 2 + (t / 2 if shared else 0.0) + 1e-3)
            yaw = math.atan2(n[1], n[0])
            if where == "art":
                z = float(rng.uniform(1.2, 1.5))
        else:
            minx, miny, maxx, maxy = inner.buffer(-0.7).bounds if not inner.buffer(-0.7).is_empty else inner.bounds
            if maxx <= minx or maxy <= miny:
                return None
            c = np.array([rng.uniform(minx, maxx), rng.uniform(miny, maxy)])
            yaw = float(rng.integers(4)) * math.pi / 2
        from sim.scene_model import _rect
        fp = _rect(c, size[:2], yaw)
        if where != "art" and any(zn.intersects(fp) for zn in zones):
            continue
        if where != "art" and any(fp.distance(o.footprint()) < 0.02 for o in scene.furniture()
                                  if o.category != "wall_art"):
            continue
        state = str(rng.choice(["closed", "closed", "open"])) if cat == "fridge" else None
        try:
            return scene.add_object(cat, position=(c[0], c[1], z), size=size, yaw=yaw, state=state)
        except PlacementError:
            continue
    return None


def _dress(scene: Scene, rng, obj) -> list[int]:
    """Furniture that goes with ``obj``: chairs tucked under a table, a TV on its stand."""
    out = []
    if obj.category in _TABLES:
        c, s = math.cos(obj.yaw), math.sin(obj.yaw)
        ax = [np.array([c, s]), np.array([-s, c])]
        sides = [(ax[1], obj.size[1] / 2, obj.size[0]), (-ax[1], obj.size[1] / 2, obj.size[0]),
                 (ax[0], obj.size[0] / 2, obj.size[1]), (-ax[0], obj.size[0] / 2, obj.size[1])]
        want = int(rng.integers(1, 5)) if obj.category != "desk" else 1
        for k in rng.permutation(len(sides))[:want]:
            n, half, _ = sides[k]
            cat = "office_chair" if obj.category == "desk" else "chair"
            depth = CATEGORIES[cat].size[0]
            # Seat half under the top; the back (at the chair's local -x) stays outside the top.
            centre = obj.position[:2] + n * (half + depth / 2 - 0.2)
            try:
                out.append(scene.add_object(cat, position=(centre[0], centre[1]),
                                            yaw=math.atan2(-n[1], -n[0])).instance_id)
            except PlacementError:
                continue
    if obj.category == "tv_stand":
        rid = f"{obj.instance_id}/top"
        try:
            tv = scene.add_object("tv", position=(*obj.position[:2], scene.receptacles[rid].height),
                                  yaw=obj.yaw, receptacle_id=rid, size=(0.08, min(1.2, obj.size[1] - 0.1), 0.7))
            out.append(tv.instance_id)
        except PlacementError:
            pass
    return out


def _remove_with_load(scene: Scene, iid: int) -> None:
    for r in [r for r in scene.receptacles.values() if r.owner_id == iid]:
        for o in scene.objects_on(r.receptacle_id):
            _remove_with_load(scene, o.instance_id)
    if iid in scene.objects:
        scene.remove_object(iid)


def _objects(scene: Scene, rng, n_objects: int) -> None:
    by_owner: dict[str, list[str]] = {}
    for rec in scene.receptacles.values():
        owner = scene.objects[rec.owner_id]
        if owner.category in ("tv",):
            continue
        by_owner.setdefault(owner.category, []).append(rec.receptacle_id)
    looks = rng.spawn(1)[0]

    def put(cat, size, color) -> bool:
        info = CATEGORIES[cat]
        options = [r for owner in info.receptacles for r in by_owner.get(owner, [])
                   if scene.receptacles[r].clearance >= size[2]]
        if not options:
            return False
        rid = options[int(rng.integers(len(options)))]
        try:
            scene.place_object_on(cat, rid, size=size, color=color, rng=rng, tries=15)
            return True
        except PlacementError:
            return False

    placed = 0
    groups = rng.choice(LOOKALIKE_CATEGORIES, size=int(rng.integers(3, 6)), replace=False)
    for cat in groups:
        base_size, base_color = instance_appearance(str(cat), looks)
        for _ in range(int(rng.integers(LOOKALIKES[0], LOOKALIKES[1] + 1))):
            size = tuple(float(v * looks.uniform(0.97, 1.03)) for v in base_size)
            color = tuple(int(np.clip(c + looks.integers(-8, 9), 0, 255)) for c in base_color)
            for _ in range(5):
                if put(str(cat), size, color):
                    placed += 1
                    break
    weights = {**_OBJECT_WEIGHTS, **_EXTRA_OBJECTS}
    cats = list(weights)
    w = np.array([weights[c] for c in cats], dtype=np.float64)
    w /= w.sum()
    attempts = 0
    while placed < n_objects and attempts < n_objects * 15:
        attempts += 1
        cat = cats[int(rng.choice(len(cats), p=w))]
        size, color = instance_appearance(cat, looks)
        placed += int(put(cat, size, color))
