"""`Scene`: a house made of labelled parts — rooms (floor polygons), walls with door openings,
furniture, small objects and the receptacle surfaces they rest on.

The scene is the single source of truth for simulators (they turn it into triangles) and for
scenarios (they move small objects between receptacles). Every mutating call validates first and
changes nothing when it raises, so a failed placement never leaves the scene half-edited.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import shapely
import trimesh
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box as shapely_box
from shapely.ops import linemerge, unary_union
from shapely.validation import explain_validity

from sim.base import SemanticObject
from sim.categories import CATEGORIES, category_info, check_room_type, surfaces_of
from sim.errors import InvalidPolygonError, PlacementError, SceneError
from sim.shapes import shape_mesh, shape_surfaces

#: Instance ids of objects are in [1, STRUCTURE_ID_BASE); walls, floors and ceilings use ids above.
STRUCTURE_ID_BASE = 1_000_000
_WALL_ID_BASE = STRUCTURE_ID_BASE + 500_000

#: Geometric tolerance (metres) for "on the boundary" / "inside" tests.
EPS = 1e-6
#: Overlap area (m^2) tolerated between footprints before they count as colliding.
OVERLAP_AREA = 1e-4
MIN_ROOM_AREA = 1.0


@dataclass
class Room:
    """A room: floor polygon (world x, y), floor height and ceiling height above the floor."""

    room_id: str
    room_type: str
    polygon: Polygon
    floor_z: float = 0.0
    ceiling_height: float = 2.6
    floor_instance_id: int = 0
    ceiling_instance_id: int = 0

    @property
    def area(self) -> float:
        return float(self.polygon.area)

    @property
    def centroid(self) -> np.ndarray:
        c = self.polygon.representative_point()
        return np.array([c.x, c.y, self.floor_z])


@dataclass
class Door:
    """An opening in the wall shared by two rooms, centred at ``center`` (x, y) on that wall."""

    room_a: str
    room_b: str
    center: np.ndarray
    width: float
    height: float


@dataclass
class Wall:
    """One straight wall segment from ``start`` to ``end`` (x, y) between heights ``z0`` and ``z1``,
    with door ``openings`` as (s0, s1, top) intervals along the segment."""

    instance_id: int
    start: np.ndarray
    end: np.ndarray
    thickness: float
    z0: float
    z1: float
    rooms: tuple[str, ...]
    openings: list[tuple[float, float, float]] = field(default_factory=list)

    @property
    def length(self) -> float:
        return float(np.hypot(*(self.end - self.start)))

    def boxes(self) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Solid parts as (centre (3,), extents (3,), yaw) boxes: the wall minus its openings plus
        lintels above them. The two true ends are extended by half the thickness to close corners."""
        L = self.length
        if L < EPS:
            return []
        d = (self.end - self.start) / L
        yaw = math.atan2(d[1], d[0])
        t = self.thickness
        cuts = sorted((max(0.0, a), min(L, b), top) for a, b, top in self.openings)
        out = []

        def piece(s0, s1, z0, z1):
            if s1 - s0 > EPS and z1 - z0 > EPS:
                c = self.start + d * (s0 + s1) / 2
                out.append((np.array([c[0], c[1], (z0 + z1) / 2]), np.array([s1 - s0, t, z1 - z0]), yaw))

        s = -t / 2
        for a, b, top in cuts:
            piece(s, a, self.z0, self.z1)
            piece(a, b, min(top, self.z1), self.z1)
            s = b
        piece(s, L + t / 2, self.z0, self.z1)
        return out


@dataclass
class Receptacle:
    """A horizontal surface objects can rest on: world polygon at height ``height`` with
    ``clearance`` metres above it (inf for open tops), owned by a furniture instance."""

    receptacle_id: str
    owner_id: int
    name: str
    polygon: Polygon
    height: float
    clearance: float = float("inf")
    room: Optional[str] = None
    auto: bool = True  # derived from the owner's shape (not serialised)


@dataclass
class SceneObject:
    """Furniture or a small object. ``position`` is the centre of the base (world), ``size`` the
    local (x, y, z) extents, ``yaw`` the rotation about z. ``mesh`` (local frame, base centre at the
    origin) replaces the parametric shape when given."""

    instance_id: int
    category: str
    position: np.ndarray
    size: np.ndarray
    yaw: float = 0.0
    receptacle_id: Optional[str] = None
    room: Optional[str] = None
    color: tuple[int, int, int] = (128, 128, 128)
    mesh: Optional[trimesh.Trimesh] = None
    name: Optional[str] = None

    @property
    def kind(self) -> str:
        return CATEGORIES[self.category].kind

    @property
    def transform(self) -> np.ndarray:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        T = np.eye(4)
        T[:2, :2] = [[c, -s], [s, c]]
        T[:3, 3] = self.position
        return T

    def local_mesh(self) -> trimesh.Trimesh:
        if self.mesh is not None:
            return self.mesh
        return shape_mesh(category_info(self.category).shape, self.size)

    def world_mesh(self) -> trimesh.Trimesh:
        m = self.local_mesh().copy()
        m.apply_transform(self.transform)
        return m

    def footprint(self) -> Polygon:
        """World (x, y) footprint: the rotated base rectangle, or the convex hull of a mesh."""
        if self.mesh is not None:
            v = self.world_mesh().vertices
            return shapely.MultiPoint(v[:, :2]).convex_hull
        return _rect(self.position[:2], self.size[:2], self.yaw)

    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        """World axis-aligned bounding box (min (3,), max (3,))."""
        if self.mesh is not None:
            b = self.world_mesh().bounds
            return b[0].copy(), b[1].copy()
        fp = np.asarray(self.footprint().exterior.coords)
        lo = np.array([fp[:, 0].min(), fp[:, 1].min(), self.position[2]])
        hi = np.array([fp[:, 0].max(), fp[:, 1].max(), self.position[2] + self.size[2]])
        return lo, hi


def _rect(center, size2, yaw) -> Polygon:
    sx, sy = float(size2[0]), float(size2[1])
    r = shapely_box(-sx / 2, -sy / 2, sx / 2, sy / 2)
    r = affinity.rotate(r, yaw, origin=(0, 0), use_radians=True)
    return affinity.translate(r, float(center[0]), float(center[1]))


def as_polygon(polygon, what: str = "polygon") -> Polygon:
    """Validate and return a shapely Polygon from a Polygon or a sequence of (x, y) vertices.
    Raises :class:`InvalidPolygonError` naming ``what`` and the defect."""
    if isinstance(polygon, Polygon):
        poly = polygon
    else:
        try:
            pts = np.asarray(polygon, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidPolygonError(f"{what}: expected a shapely Polygon or (N, 2) vertices, got {type(polygon).__name__}") from None
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
            raise InvalidPolygonError(f"{what}: expected at least 3 (x, y) vertices, got shape {pts.shape}")
        if not np.all(np.isfinite(pts)):
            raise InvalidPolygonError(f"{what}: vertices contain NaN or inf")
        poly = Polygon(pts)
    if not poly.is_empty and not poly.is_valid:
        raise InvalidPolygonError(f"{what}: invalid polygon ({explain_validity(poly)})")
    if poly.is_empty or poly.area <= EPS:
        raise InvalidPolygonError(f"{what}: polygon has zero area")
    return shapely.normalize(poly)


def _as_vec(v, n: int, what: str) -> np.ndarray:
    try:
        a = np.asarray(v, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise SceneError(f"{what}: expected {n} numbers, got {v!r}") from None
    if a.shape != (n,) or not np.all(np.isfinite(a)):
        raise SceneError(f"{what}: expected {n} finite numbers, got {v!r}")
    return a


class Scene:
    """A house of rooms, doors, walls, furniture, receptacles and small objects.

    Build it with :meth:`add_room`, :meth:`add_door` (or :meth:`add_opening`), :meth:`add_object`
    and :meth:`place_object_on`; walls follow automatically from the room outlines, with holes where
    doors are. ``version`` increases on every change so simulators know when to rebuild geometry.
    """

    def __init__(self, name: str = "scene", wall_thickness: float = 0.1) -> None:
        self.name = str(name)
        self.wall_thickness = float(wall_thickness)
        self.rooms: dict[str, Room] = {}
        self.doors: list[Door] = []
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
            self._walls = self._build_walls()
        return self._walls

    def _build_walls(self) -> list[Wall]:
        if not self.rooms:
            return []
        merged = unary_union([r.polygon.exterior for r in self.rooms.values()])
        segs = []
        for line in getattr(merged, "geoms", [merged]):
            c = np.asarray(line.coords)
            segs.extend((c[i], c[i + 1]) for i in range(len(c) - 1))
        walls = []
        for a, b in sorted(segs, key=lambda s: (round(s[0][0], 6), round(s[0][1], 6), round(s[1][0], 6), round(s[1][1], 6))):
            L = float(np.hypot(*(b - a)))
            if L < EPS:
                continue
            mid = Point((a + b) / 2)
            rooms = tuple(r.room_id for r in self.rooms.values() if r.polygon.boundary.distance(mid) < 1e-6)
            rs = [self.rooms[r] for r in rooms] or list(self.rooms.values())
            z0 = min(r.floor_z for r in rs)
            z1 = max(r.floor_z + r.ceiling_height for r in rs)
            d = (b - a) / L
            openings = []
            for door in self.doors:
                rel = door.center - a
                s = float(rel @ d)
                off = abs(float(rel[0] * d[1] - rel[1] * d[0]))
                if off < 1e-6 and -door.width / 2 < s < L + door.width / 2:
                    lo, hi = max(0.0, s - door.width / 2), min(L, s + door.width / 2)
                    if hi > lo + EPS:
                        floor = min(self.rooms[door.room_a].floor_z, self.rooms[door.room_b].floor_z)
                        openings.append((lo, hi, floor + door.height))
            walls.append(Wall(_WALL_ID_BASE + len(walls), a.copy(), b.copy(), self.wall_thickness, z0, z1, rooms, openings))
        return walls

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
                   color=None, name: Optional[str] = None, check: bool = True) -> SceneObject:
        """Add furniture or a small object.

        Give either ``position`` (x, y[, z]: centre of the base; z defaults to the floor or the
        receptacle height) with optional ``size`` (x, y, z; default from the category) and ``yaw``,
        or a ``mesh`` (trimesh, world coordinates unless ``position`` is given, then local). Small
        objects need a ``receptacle_id`` (see :meth:`place_object_on` to pick a free spot). With
        ``check`` (default) the footprint must lie inside a room and not overlap other furniture,
        and objects must fit on their receptacle. Returns the new object."""
        info = category_info(category)
        if info.kind == "structure":
            raise SceneError(f"category {category!r} is structural; walls, floors and ceilings come from rooms")
        iid = self._check_new_id(instance_id)
        yaw = float(yaw)
        if not math.isfinite(yaw):
            raise SceneError(f"{category}: yaw must be finite, got {yaw}")
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
        obj = SceneObject(iid, category, pos, size, yaw, receptacle_id, None, col, local, name)
        if receptacle_id is not None:
            rec = self._receptacle(receptacle_id)
            if check:
                self._check_on_receptacle(obj, rec)
            obj.room = rec.room
        else:
            if check and info.kind == "object" and mesh is None:
                raise PlacementError(f"{category} {iid}: small objects rest on a receptacle; pass receptacle_id "
                                     f"or use place_object_on")
            if check:
                self._check_on_floor(obj)
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
        pos, yaw = self._find_spot(category, size, rec, position, yaw, rng, tries, exclude=None)
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
        pos, yaw = self._find_spot(obj.category, obj.size, rec, position, yaw, rng, tries, exclude=instance_id)
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
        from sim.scene_io import scene_to_dict
        return scene_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Scene":
        from sim.scene_io import scene_from_dict
        return scene_from_dict(data)

    def save(self, path) -> None:
        from sim.scene_io import save_scene
        save_scene(self, path)

    @classmethod
    def load(cls, path) -> "Scene":
        from sim.scene_io import load_scene
        return load_scene(path)

    # ------------------------------------------------------------------ internals
    def _changed(self, structure: bool = False) -> None:
        self.version += 1
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

    def _check_on_floor(self, obj: SceneObject) -> None:
        fp = obj.footprint()
        outline = self.outline
        if outline.is_empty or not outline.buffer(1e-3).covers(fp):
            raise PlacementError(f"{obj.category} at {np.round(obj.position[:2], 3).tolist()} is not inside any room")
        walls = self._wall_union()
        ov = fp.intersection(walls).area if not walls.is_empty else 0.0
        if ov > OVERLAP_AREA:
            raise PlacementError(f"{obj.category} at {np.round(obj.position[:2], 3).tolist()} overlaps a wall by "
                                 f"{ov:.3f} m^2 (walls are {self.wall_thickness} m thick, centred on room outlines)")
        for other in self.objects.values():
            if other.receptacle_id is None and other.kind == "furniture":
                ov = fp.intersection(other.footprint()).area
                if ov > OVERLAP_AREA:
                    raise PlacementError(f"{obj.category} at {np.round(obj.position[:2], 3).tolist()} overlaps "
                                         f"{other.category} {other.instance_id} by {ov:.3f} m^2")

    def _wall_union(self):
        if self._walls_union is None:
            self._walls_union = unary_union(self.wall_footprints())
        return self._walls_union

    def _check_on_receptacle(self, obj: SceneObject, rec: Receptacle, exclude: Optional[int] = None) -> None:
        what = f"{obj.category} on {rec.receptacle_id!r}"
        if category_info(obj.category).kind != "object":
            raise PlacementError(f"{what}: only small objects go on receptacles, {obj.category!r} is furniture")
        if obj.size[2] > rec.clearance + 1e-9:
            raise PlacementError(f"{what}: object is {obj.size[2]:.2f} m tall but the receptacle has {rec.clearance:.2f} m clearance")
        if abs(obj.position[2] - rec.height) > 1e-6:
            raise PlacementError(f"{what}: object base z {obj.position[2]:.3f} is not on the surface at {rec.height:.3f}")
        fp = obj.footprint()
        if not rec.polygon.buffer(1e-6).covers(fp):
            raise PlacementError(f"{what}: footprint at {np.round(obj.position[:2], 3).tolist()} does not fit on the surface")
        for other in self.objects_on(rec.receptacle_id):
            if other.instance_id in (exclude, obj.instance_id):
                continue
            if fp.intersection(other.footprint()).area > OVERLAP_AREA * 0.1:
                raise PlacementError(f"{what}: overlaps {other.category} {other.instance_id}")

    def _find_spot(self, category, size, rec, position, yaw, rng, tries, exclude):
        probe = SceneObject(exclude if exclude is not None else -1, category, np.zeros(3), np.asarray(size, float),
                            0.0, rec.receptacle_id)
        if position is not None:
            p = np.asarray(position, dtype=np.float64).reshape(-1)
            if p.shape not in ((2,), (3,)) or not np.all(np.isfinite(p)):
                raise PlacementError(f"{category}: position must be 2 or 3 finite numbers, got {position!r}")
            probe.position = np.array([p[0], p[1], rec.height])
            probe.yaw = float(yaw if yaw is not None else rec_yaw(self, rec))
            self._check_on_receptacle(probe, rec, exclude)
            return probe.position, probe.yaw
        rng = rng if rng is not None else np.random.default_rng()
        minx, miny, maxx, maxy = rec.polygon.bounds
        last = None
        for _ in range(max(1, tries)):
            probe.yaw = float(yaw if yaw is not None else rec_yaw(self, rec) + rng.choice([0.0, math.pi / 2]) + rng.normal(0, 0.2))
            probe.position = np.array([rng.uniform(minx, maxx), rng.uniform(miny, maxy), rec.height])
            try:
                self._check_on_receptacle(probe, rec, exclude)
                return probe.position, probe.yaw
            except PlacementError as exc:
                last = exc
        if probe.size[2] > rec.clearance:
            raise last
        raise PlacementError(f"no free spot for a {category} on {rec.receptacle_id!r} after {tries} tries ({last})")

    def _add_auto_receptacles(self, obj: SceneObject) -> None:
        if obj.mesh is not None or not surfaces_of(obj.category):
            return
        T = obj.transform
        for s in shape_surfaces(category_info(obj.category).shape, obj.size):
            x0, y0, x1, y1 = s.rect
            poly = affinity.affine_transform(shapely_box(x0, y0, x1, y1),
                                             [T[0, 0], T[0, 1], T[1, 0], T[1, 1], T[0, 3], T[1, 3]])
            rid = f"{obj.instance_id}/{s.name}"
            self.receptacles[rid] = Receptacle(rid, obj.instance_id, s.name, shapely.normalize(poly),
                                               float(obj.position[2] + s.z), s.clearance, obj.room)


def rec_yaw(scene: Scene, rec: Receptacle) -> float:
    """Yaw of the receptacle's owner (objects default to lying square with their surface)."""
    owner = scene.objects.get(rec.owner_id)
    return owner.yaw if owner is not None else 0.0


def _straight_run(seg: LineString, s: float) -> Optional[tuple[float, float]]:
    """The (start, end) arc-length interval of the straight piece of ``seg`` containing ``s``."""
    for a, b in _straight_runs(seg):
        if a - 1e-9 <= s <= b + 1e-9:
            return (a, b)
    return None


def _straight_runs(seg: LineString) -> list[tuple[float, float]]:
    """(start, end) arc-length intervals of the straight pieces of a polyline."""
    c = np.asarray(seg.coords)
    acc = 0.0
    runs = []
    start = 0.0
    for i in range(len(c) - 1):
        L = float(np.hypot(*(c[i + 1] - c[i])))
        if i > 0:
            d0 = c[i] - c[i - 1]
            d1 = c[i + 1] - c[i]
            if abs(d0[0] * d1[1] - d0[1] * d1[0]) > 1e-9 * (np.hypot(*d0) * np.hypot(*d1)):
                runs.append((start, acc))
                start = acc
        acc += L
    runs.append((start, acc))
    return runs
