"""`Scene`: a house made of labelled parts — rooms (floor polygons), walls with door openings,
windows and exterior doors, furniture (oriented boxes with a front, standing on the floor, on other
furniture or hung on a wall), small objects and the receptacle surfaces they rest on (table tops,
shelves, the inside of open cabinets and fridges).

The scene is the single source of truth for simulators (they turn it into triangles) and for
scenarios (they move small objects between receptacles). Every mutating call validates first and
changes nothing when it raises, so a failed placement never leaves the scene half-edited. The parts
live in :mod:`sim.scene_model`, the walls in :mod:`sim.walls`, the placement checks in
:mod:`sim.placement` and the JSON format in :mod:`sim.scene_io`.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import shapely
import trimesh
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box as shapely_box
from shapely.ops import linemerge, unary_union

from sim import scene_io
from sim.base import SemanticObject
from sim.categories import DOOR_SHAPES, DOOR_STATES, category_info, check_room_type
from sim.errors import InvalidPolygonError, PlacementError, SceneError
from sim.placement import check_on_floor, check_on_receptacle, find_spot, rec_yaw
from sim.scene_model import (EPS, MIN_ROOM_AREA, OVERLAP_AREA, STRUCTURE_ID_BASE, WALL_ID_BASE,
                             WALL_PLACEMENTS, Door, Receptacle, Room, SceneObject, Wall, WallOpening,
                             _as_vec, _rect, _straight_run, _straight_runs, as_polygon)
from sim.shapes import shape_surfaces
from sim.walls import build_walls

_WALL_ID_BASE = WALL_ID_BASE
#: Collision models: solids (flush and tucked-in placements pass) or whole footprints (original).
COLLISION_MODELS = ("solid", "footprint")

__all__ = ["Scene", "Room", "Door", "Wall", "WallOpening", "Receptacle", "SceneObject", "as_polygon", "rec_yaw",
           "STRUCTURE_ID_BASE", "EPS", "OVERLAP_AREA", "MIN_ROOM_AREA", "COLLISION_MODELS", "_rect"]


class Scene:
    """A house of rooms, doors, walls, furniture, receptacles and small objects.

    Build it with :meth:`add_room`, :meth:`add_door` (or :meth:`add_opening`), :meth:`add_window`,
    :meth:`add_exterior_door`, :meth:`add_object` and :meth:`place_object_on`; walls follow
    automatically from the room outlines, with holes where doors and windows are. ``version``
    increases on every change so simulators know when to rebuild geometry.

    ``walls``: ``"centred"`` (default; walls straddle the room outlines) or ``"outside"`` (walls
    bounding one room — the house's exterior — lie entirely outside its outline, so a counter can
    stand flush on the outline; walls between two rooms stay centred on the shared outline).
    ``collision``: ``"solid"`` (default; furniture may touch walls and other furniture and be
    tucked under it, but no solid part may enter another) or ``"footprint"`` (the original
    model: whole footprints may not overlap).
    """

    def __init__(self, name: str = "scene", wall_thickness: float = 0.1, walls: str = "centred",
                 collision: str = "solid") -> None:
        self.name = str(name)
        self.wall_thickness = float(wall_thickness)
        if not (math.isfinite(self.wall_thickness) and 0.01 <= self.wall_thickness <= 1.0):
            raise SceneError(f"wall_thickness must be in [0.01, 1] m, got {wall_thickness!r}")
        if walls not in WALL_PLACEMENTS:
            raise SceneError(f"walls must be one of {WALL_PLACEMENTS}, got {walls!r}")
        if collision not in COLLISION_MODELS:
            raise SceneError(f"collision must be one of {COLLISION_MODELS}, got {collision!r}")
        self.wall_placement = walls
        self.collision = collision
        self.rooms: dict[str, Room] = {}
        self.doors: list[Door] = []
        self.wall_openings: list[WallOpening] = []
        self._cache: dict = {}
        self.objects: dict[int, SceneObject] = {}
        self.receptacles: dict[str, Receptacle] = {}
        self.version = 0
        self._next_id = 1
        self._walls: Optional[list[Wall]] = None
        self._walls_union = None

    # ------------------------------------------------------------------ rooms, doors, walls
    def add_room(self, room_id: str, room_type: str, polygon, floor_z: float = 0.0,
                 ceiling_height: float = 2.6) -> Room:
        """Add a room from its floor polygon (shapely Polygon or (N, 2) vertices, world metres).

        Raises :class:`InvalidPolygonError` for self-intersecting, degenerate or too small polygons
        and for overlaps with existing rooms; :class:`UnknownCategoryError` for unknown room types."""
        if not isinstance(room_id, str) or not room_id:
            raise SceneError(f"room id must be a non-empty string, got {room_id!r}")
        if room_id in self.rooms:
            raise SceneError(f"room {room_id!r} already exists")
        check_room_type(room_type)
        poly = as_polygon(polygon, f"room {room_id!r}")
        if poly.area < MIN_ROOM_AREA:
            raise InvalidPolygonError(f"room {room_id!r}: area {poly.area:.3f} m^2 is below the minimum {MIN_ROOM_AREA} m^2")
        if len(poly.interiors):
            raise InvalidPolygonError(f"room {room_id!r}: polygons with holes are not supported")
        for other in self.rooms.values():
            ov = poly.intersection(other.polygon).area
            if ov > OVERLAP_AREA:
                raise InvalidPolygonError(f"room {room_id!r} overlaps room {other.room_id!r} by {ov:.3f} m^2")
        if not (math.isfinite(floor_z) and math.isfinite(ceiling_height)) or ceiling_height < 2.0:
            raise SceneError(f"room {room_id!r}: ceiling height must be >= 2.0 m, got {ceiling_height}")
        k = len(self.rooms)
        room = Room(room_id, room_type, poly, float(floor_z), float(ceiling_height),
                    STRUCTURE_ID_BASE + 2 * k + 1, STRUCTURE_ID_BASE + 2 * k + 2)
        self.rooms[room_id] = room
        self._changed(structure=True)
        return room

    def shared_boundary(self, room_a: str, room_b: str):
        """The part of the outline two rooms share (a shapely line geometry, maybe empty)."""
        a, b = self._room(room_a), self._room(room_b)
        shared = a.polygon.boundary.intersection(b.polygon.boundary)
        lines = [g for g in getattr(shared, "geoms", [shared]) if isinstance(g, LineString) and g.length > EPS]
        if not lines:
            return LineString()
        return linemerge(lines) if len(lines) > 1 else lines[0]

    def add_door(self, room_a: str, room_b: str, width: float = 0.9, height: float = 2.1,
                 position=None) -> Door:
        """Open a door of ``width`` x ``height`` in the wall between two adjacent rooms. ``position``
        (x, y) on the shared wall defaults to the middle of the longest shared piece."""
        if room_a == room_b:
            raise SceneError(f"a door needs two different rooms, got {room_a!r} twice")
        shared = self.shared_boundary(room_a, room_b)
        pieces = [g for g in getattr(shared, "geoms", [shared]) if isinstance(g, LineString) and g.length > EPS]
        if not pieces:
            raise PlacementError(f"rooms {room_a!r} and {room_b!r} share no wall, so no door can join them")
        if not (0.3 <= width <= 10.0) or not (1.0 <= height <= 10.0):
            raise SceneError(f"door between {room_a!r} and {room_b!r}: width {width} / height {height} out of range")
        if position is None:
            # Middle of the longest straight run (a shared outline can turn a corner).
            runs = [(b - a, g, (a + b) / 2) for g in pieces for a, b in _straight_runs(g)]
            _, seg, mid = max(runs, key=lambda r: r[0])
            center = np.asarray(seg.interpolate(mid).coords[0])
        else:
            center = _as_vec(position, 2, "door position")
            dists = [g.distance(Point(center)) for g in pieces]
            seg = pieces[int(np.argmin(dists))]
            if min(dists) > 1e-3:
                raise PlacementError(f"door position {center.tolist()} is not on the wall shared by {room_a!r} and {room_b!r}")
        s = seg.project(Point(center))
        straight = _straight_run(seg, s)
        if straight is None or s - width / 2 < straight[0] - 1e-9 or s + width / 2 > straight[1] + 1e-9:
            raise PlacementError(f"a {width:.2f} m door does not fit on the wall shared by {room_a!r} and {room_b!r} "
                                 f"(shared straight run {0 if straight is None else straight[1] - straight[0]:.2f} m)")
        ceiling = min(self.rooms[room_a].ceiling_height, self.rooms[room_b].ceiling_height)
        door = Door(room_a, room_b, center, float(width), float(min(height, ceiling)))
        self.doors.append(door)
        self._changed(structure=True)
        return door

    def add_opening(self, room_a: str, room_b: str, margin: float = 0.15) -> Door:
        """Remove (almost) the whole wall between two rooms: an open-plan connection."""
        shared = self.shared_boundary(room_a, room_b)
        pieces = [g for g in getattr(shared, "geoms", [shared]) if isinstance(g, LineString) and g.length > EPS]
        if not pieces:
            raise PlacementError(f"rooms {room_a!r} and {room_b!r} share no wall, so no opening can join them")
        runs = [(g, r) for g in pieces for r in _straight_runs(g)]
        seg, run = max(runs, key=lambda gr: gr[1][1] - gr[1][0])
        width = (run[1] - run[0]) - 2 * margin
        center = np.asarray(seg.interpolate((run[0] + run[1]) / 2).coords[0])
        ceiling = min(self.rooms[room_a].ceiling_height, self.rooms[room_b].ceiling_height)
        return self.add_door(room_a, room_b, width=width, height=ceiling, position=center)

    @property
    def walls(self) -> list[Wall]:
        """Wall segments derived from the room outlines, with door openings cut out."""
        if self._walls is None:
            self._walls = build_walls(self)
        return self._walls

    def exterior_boundary(self):
        """The parts of the room outlines that bound a single room (a shapely line geometry)."""
        segs = []
        for w in self.walls:
            if len(w.rooms) == 1:
                segs.append(LineString([w.start, w.end]))
        return linemerge(segs) if segs else LineString()

    def add_window(self, room_id: str, position, width: float = 1.0, sill: float = 0.9,
                   height: float = 1.2) -> WallOpening:
        """Cut a window of ``width`` x ``height`` with its bottom ``sill`` metres above the floor into
        an exterior wall of ``room_id``, centred at ``position`` (x, y) on the room's outline."""
        return self._add_wall_opening(room_id, position, width, float(sill), float(sill) + float(height), "window")

    def add_exterior_door(self, room_id: str, position, width: float = 0.9, height: float = 2.1) -> WallOpening:
        """Open a door to the outside in an exterior wall of ``room_id`` at ``position`` (x, y)."""
        return self._add_wall_opening(room_id, position, width, 0.0, float(height), "door")

    def _add_wall_opening(self, room_id, position, width, bottom, top, kind) -> WallOpening:
        room = self._room(room_id)
        center = _as_vec(position, 2, f"{kind} position")
        width = float(width)
        if not (0.2 <= width <= 10.0):
            raise SceneError(f"{kind} in {room_id!r}: width {width} out of range [0.2, 10]")
        if not (0.0 <= bottom < top <= room.ceiling_height) or (kind == "window" and bottom <= 0.0):
            raise SceneError(f"{kind} in {room_id!r}: vertical extent {bottom:.2f}..{top:.2f} m must lie inside "
                             f"(0, {room.ceiling_height}] m")
        ext = [w for w in self.walls if w.rooms == (room_id,)]
        host = None
        for w in ext:
            d = (w.end - w.start) / w.length
            rel = center - w.start
            s = float(rel @ d)
            if abs(float(rel[0] * d[1] - rel[1] * d[0])) < 1e-3 and s - width / 2 >= -1e-9 and s + width / 2 <= w.length + 1e-9:
                host = w
                center = w.start + d * s
                break
        if host is None:
            raise PlacementError(f"a {width:.2f} m {kind} at {center.tolist()} does not fit on one straight exterior wall "
                                 f"of room {room_id!r}")
        for o in self.wall_openings:
            if o.room == room_id and np.linalg.norm(o.center - center) < (o.width + width) / 2 - 1e-9 \
                    and abs(float((o.center - center) @ ((host.end - host.start) / host.length))) < (o.width + width) / 2:
                raise PlacementError(f"{kind} at {center.tolist()} overlaps the {o.kind} at {o.center.tolist()}")
        op = WallOpening(room_id, center, width, bottom, top, kind)
        self.wall_openings.append(op)
        self._changed(structure=True)
        return op

    def wall_footprints(self) -> list[Polygon]:
        """(x, y) footprints of the solid wall parts that reach the floor (door gaps excluded)."""
        out = []
        for w in self.walls:
            for c, e, yaw in w.boxes():
                if c[2] - e[2] / 2 <= w.z0 + 1e-6:
                    out.append(_rect(c[:2], e[:2], yaw))
        return out

    def room_at(self, xy) -> Optional[str]:
        """Id of the room whose floor contains (x, y), or None."""
        p = Point(float(xy[0]), float(xy[1]))
        for r in self.rooms.values():
            if r.polygon.covers(p):
                return r.room_id
        return None

    def floor_height_at(self, xy) -> float:
        rid = self.room_at(xy)
        return self.rooms[rid].floor_z if rid is not None else 0.0

    @property
    def outline(self) -> Polygon:
        """Union of all room floors."""
        return unary_union([r.polygon for r in self.rooms.values()])

    def room_adjacency(self) -> dict[str, set[str]]:
        """Room id -> rooms joined to it by a door or opening."""
        adj = {r: set() for r in self.rooms}
        for d in self.doors:
            adj[d.room_a].add(d.room_b)
            adj[d.room_b].add(d.room_a)
        return adj

    # ------------------------------------------------------------------ objects
    def new_instance_id(self) -> int:
        while self._next_id in self.objects:
            self._next_id += 1
        return self._next_id

    def add_object(self, category: str, position=None, size=None, yaw: float = 0.0, mesh=None,
                   receptacle_id: Optional[str] = None, instance_id: Optional[int] = None,
                   color=None, name: Optional[str] = None, check: bool = True,
                   state: Optional[str] = None) -> SceneObject:
        """Add furniture or a small object.

        Give either ``position`` (x, y[, z]: centre of the base; z defaults to the floor or the
        receptacle height) with optional ``size`` (x, y, z; default from the category) and ``yaw``,
        or a ``mesh`` (trimesh, world coordinates unless ``position`` is given, then local). Small
        objects need a ``receptacle_id`` (see :meth:`place_object_on` to pick a free spot); furniture
        may have one too (a TV on a TV stand). ``yaw`` turns the object about z; its front faces
        local +x (:attr:`SceneObject.front`). A 3-number position puts furniture at that height
        (wall art hung on a wall). ``state`` ("open" / "closed") gives a fridge its door and hollow
        interior. With ``check`` (default) the object must lie inside a room and no solid part may
        enter a wall or other furniture (see ``collision``), and objects must fit on their
        receptacle; ``check=False`` skips that (the object is saved as unchecked, so the scene loads
        back). Returns the new object."""
        info = category_info(category)
        if info.kind == "structure":
            raise SceneError(f"category {category!r} is structural; walls, floors and ceilings come from rooms")
        iid = self._check_new_id(instance_id)
        yaw = float(yaw)
        if not math.isfinite(yaw):
            raise SceneError(f"{category}: yaw must be finite, got {yaw}")
        if state is not None and (category not in DOOR_SHAPES or state not in DOOR_STATES):
            raise SceneError(f"{category}: state {state!r} is not allowed; door states {DOOR_STATES} apply to "
                             f"{sorted(DOOR_SHAPES)}")
        local = None
        if mesh is not None:
            local, pos, size = self._mesh_local(mesh, position, yaw, category)
        else:
            if position is None:
                raise SceneError(f"{category}: give a position (or a mesh)")
            pos = np.asarray(position, dtype=np.float64).reshape(-1)
            if pos.shape not in ((2,), (3,)) or not np.all(np.isfinite(pos)):
                raise SceneError(f"{category}: position must be 2 or 3 finite numbers, got {position!r}")
            size = np.array(info.size if size is None else _as_vec(size, 3, f"{category} size"), dtype=np.float64)
            if np.any(size <= 0):
                raise SceneError(f"{category}: size must be positive, got {size.tolist()}")
            if pos.shape == (2,):
                z = self.floor_height_at(pos) if receptacle_id is None else self._receptacle(receptacle_id).height
                pos = np.array([pos[0], pos[1], z])
        col = tuple(int(c) for c in (info.color if color is None else color))
        if len(col) != 3 or not all(0 <= c <= 255 for c in col):
            raise SceneError(f"{category}: colour must be 3 integers in 0..255, got {color!r}")
        obj = SceneObject(iid, category, pos, size, yaw, receptacle_id, None, col, local, name, state, not check)
        if receptacle_id is not None:
            rec = self._receptacle(receptacle_id)
            if check:
                check_on_receptacle(self, obj, rec)
            obj.room = rec.room
        else:
            if check and info.kind == "object" and mesh is None:
                raise PlacementError(f"{category} {iid}: small objects rest on a receptacle; pass receptacle_id "
                                     f"or use place_object_on")
            if check:
                check_on_floor(self, obj)
            obj.room = self.room_at(obj.footprint().centroid.coords[0])
        self.objects[iid] = obj
        self._add_auto_receptacles(obj)
        self._next_id = max(self._next_id, iid + 1)
        self._changed()
        return obj

    def place_object_on(self, category: str, receptacle_id: str, position=None, size=None, yaw=None,
                        rng: Optional[np.random.Generator] = None, instance_id: Optional[int] = None,
                        color=None, name: Optional[str] = None, tries: int = 60) -> SceneObject:
        """Put a new small object on a receptacle, at ``position`` (x, y) or at a random free spot.
        Raises :class:`PlacementError` when the receptacle is unknown or has no room for it."""
        info = category_info(category)
        rec = self._receptacle(receptacle_id)
        size = np.array(info.size if size is None else _as_vec(size, 3, f"{category} size"))
        pos, yaw = find_spot(self, category, size, rec, position, yaw, rng, tries, exclude=None)
        return self.add_object(category, position=pos, size=size, yaw=yaw, receptacle_id=receptacle_id,
                               instance_id=instance_id, color=color, name=name)

    def move_object(self, instance_id: int, receptacle_id: str, position=None, yaw=None,
                    rng: Optional[np.random.Generator] = None, tries: int = 60) -> SceneObject:
        """Move a small object onto ``receptacle_id`` (at ``position`` (x, y) or a free spot).
        The scene is unchanged if it raises."""
        obj = self._object(instance_id)
        if obj.kind != "object":
            raise PlacementError(f"{obj.category} {instance_id} is furniture and cannot be moved onto a receptacle")
        rec = self._receptacle(receptacle_id)
        if rng is None:
            rng = np.random.default_rng([instance_id, self.version])
        pos, yaw = find_spot(self, obj.category, obj.size, rec, position, yaw, rng, tries, exclude=instance_id)
        obj.position, obj.yaw, obj.receptacle_id, obj.room = pos, yaw, receptacle_id, rec.room
        self._changed()
        return obj

    def remove_object(self, instance_id: int) -> SceneObject:
        """Remove an object and the receptacles it owned. Furniture still holding objects cannot be
        removed (move those first)."""
        obj = self._object(instance_id)
        owned = [r for r in self.receptacles.values() if r.owner_id == instance_id]
        held = [o.instance_id for r in owned for o in self.objects_on(r.receptacle_id)]
        if held:
            raise PlacementError(f"{obj.category} {instance_id} still holds objects {sorted(held)}; move or remove them first")
        for r in owned:
            del self.receptacles[r.receptacle_id]
        del self.objects[instance_id]
        self._changed()
        return obj

    def set_state(self, instance_id: int, state: str) -> SceneObject:
        """Open or close the door of furniture built with a door state (a fridge)."""
        obj = self._object(instance_id)
        if obj.state is None or state not in DOOR_STATES:
            raise SceneError(f"{obj.category} {instance_id}: state {state!r} not allowed (has door: {obj.state is not None}; "
                             f"states {DOOR_STATES})")
        obj.state = state
        self._changed()
        return obj

    def add_receptacle(self, owner_id: int, polygon, height: float, name: str = "surface",
                       clearance: float = float("inf")) -> Receptacle:
        """Declare a receptacle surface on an object (e.g. a table top of a loaded mesh)."""
        owner = self._object(owner_id)
        poly = as_polygon(polygon, f"receptacle {name!r} of {owner_id}")
        rid = f"{owner_id}/{name}"
        if rid in self.receptacles:
            raise SceneError(f"receptacle {rid!r} already exists")
        if not (math.isfinite(height) and clearance > 0):
            raise SceneError(f"receptacle {rid!r}: height must be finite and clearance positive")
        rec = Receptacle(rid, owner_id, name, poly, float(height), float(clearance), owner.room, auto=False)
        self.receptacles[rid] = rec
        self._changed()
        return rec

    def objects_on(self, receptacle_id: str) -> list[SceneObject]:
        return [o for o in self.objects.values() if o.receptacle_id == receptacle_id]

    def furniture(self) -> list[SceneObject]:
        return [o for o in self.objects.values() if o.kind == "furniture"]

    def small_objects(self) -> list[SceneObject]:
        return [o for o in self.objects.values() if o.kind == "object"]

    def semantic_objects(self) -> list[SemanticObject]:
        """Ground truth for every object: id, category, world AABB and room."""
        out = []
        for o in sorted(self.objects.values(), key=lambda o: o.instance_id):
            lo, hi = o.bbox()
            lo.setflags(write=False)
            hi.setflags(write=False)
            out.append(SemanticObject(o.instance_id, o.category, lo, hi, o.room))
        return out

    def category_of(self, instance_id: int) -> str:
        """Category of any instance id: objects, walls ("wall"), floors, ceilings."""
        if instance_id in self.objects:
            return self.objects[instance_id].category
        if instance_id >= _WALL_ID_BASE:
            return "wall"
        if instance_id > STRUCTURE_ID_BASE:
            return "floor" if (instance_id - STRUCTURE_ID_BASE) % 2 == 1 else "ceiling"
        raise SceneError(f"no instance {instance_id} in scene {self.name!r}")

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        return scene_io.scene_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Scene":
        return scene_io.scene_from_dict(data, factory=cls)

    def save(self, path) -> None:
        scene_io.save_scene(self, path)

    @classmethod
    def load(cls, path) -> "Scene":
        return scene_io.load_scene(path, factory=cls)

    # ------------------------------------------------------------------ internals
    def _changed(self, structure: bool = False) -> None:
        self.version += 1
        self._cache.clear()
        if structure:
            self._walls = None
            self._walls_union = None

    def _room(self, room_id: str) -> Room:
        try:
            return self.rooms[room_id]
        except KeyError:
            raise SceneError(f"unknown room {room_id!r}; rooms are {sorted(self.rooms)}") from None

    def _object(self, instance_id: int) -> SceneObject:
        try:
            return self.objects[int(instance_id)]
        except (KeyError, TypeError, ValueError):
            raise SceneError(f"no object with instance id {instance_id!r} in scene {self.name!r}") from None

    def _receptacle(self, receptacle_id: str) -> Receptacle:
        try:
            return self.receptacles[receptacle_id]
        except (KeyError, TypeError):
            raise PlacementError(f"unknown receptacle {receptacle_id!r}") from None

    def _check_new_id(self, instance_id) -> int:
        if instance_id is None:
            return self.new_instance_id()
        if isinstance(instance_id, bool) or not isinstance(instance_id, (int, np.integer)) or not 0 < instance_id < STRUCTURE_ID_BASE:
            raise SceneError(f"instance id must be an integer in [1, {STRUCTURE_ID_BASE}), got {instance_id!r}")
        if int(instance_id) in self.objects:
            raise SceneError(f"instance id {instance_id} is already used by a {self.objects[int(instance_id)].category}")
        return int(instance_id)

    def _mesh_local(self, mesh, position, yaw, category):
        if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
            raise SceneError(f"{category}: mesh must be a non-empty trimesh.Trimesh")
        if not np.all(np.isfinite(mesh.vertices)):
            raise SceneError(f"{category}: mesh vertices contain NaN or inf")
        m = mesh.copy()
        lo, hi = m.bounds
        base = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]])
        if position is None:
            if yaw != 0.0:
                raise SceneError(f"{category}: a world-coordinate mesh takes no yaw")
            m.apply_translation(-base)
            pos = base
        else:
            pos = _as_vec(position, 3, f"{category} position")
        size = np.maximum(m.extents, 1e-6)
        return m, pos, size

    def _wall_union(self):
        if self._walls_union is None:
            self._walls_union = unary_union(self.wall_footprints())
        return self._walls_union

    def _add_auto_receptacles(self, obj: SceneObject) -> None:
        if obj.mesh is not None or obj.kind != "furniture":
            return
        T = obj.transform
        for s in shape_surfaces(obj.shape, obj.size):
            x0, y0, x1, y1 = s.rect
            poly = affinity.affine_transform(shapely_box(x0, y0, x1, y1),
                                             [T[0, 0], T[0, 1], T[1, 0], T[1, 1], T[0, 3], T[1, 3]])
            rid = f"{obj.instance_id}/{s.name}"
            self.receptacles[rid] = Receptacle(rid, obj.instance_id, s.name, shapely.normalize(poly),
                                               float(obj.position[2] + s.z), s.clearance, obj.room)
