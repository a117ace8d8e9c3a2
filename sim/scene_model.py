"""The parts a :class:`~sim.scene.Scene` is made of — rooms, doors, wall openings (windows and
exterior doors), walls, receptacles, objects — and the small geometric helpers they share. Plain
data with derived geometry; every check and every mutation lives in :mod:`sim.scene` and
:mod:`sim.placement`."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import shapely
import trimesh
from shapely import affinity
from shapely.geometry import LineString, Polygon, box as shapely_box  # noqa: F401
from shapely.validation import explain_validity

from sim.categories import CATEGORIES, shape_for_state
from sim.errors import InvalidPolygonError, SceneError
from sim.shapes import shape_mesh

#: Instance ids of objects are in [1, STRUCTURE_ID_BASE); walls, floors and ceilings use ids above.
STRUCTURE_ID_BASE = 1_000_000
WALL_ID_BASE = STRUCTURE_ID_BASE + 500_000

#: Geometric tolerance (metres) for "on the boundary" / "inside" tests.
EPS = 1e-6
#: Overlap area (m^2) tolerated between footprints before they count as colliding.
OVERLAP_AREA = 1e-4
#: Interpenetration depth (metres) tolerated between solids (flush placement touches, never enters).
PENETRATION = 2e-3
MIN_ROOM_AREA = 1.0
#: Wall placements: centred on the room outline (the original model) or, for walls that bound a
#: single room (the house's exterior), entirely outside it so furniture can stand flush on the outline.
WALL_PLACEMENTS = ("centred", "outside")

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
class WallOpening:
    """A window or an exterior door in the wall of one room: centre (x, y) on the room outline,
    ``width`` along the wall, from ``bottom`` to ``top`` metres above the room's floor. ``kind`` is
    ``"window"`` or ``"door"`` (an exterior door: bottom 0, leads outside)."""

    room: str
    center: np.ndarray
    width: float
    bottom: float
    top: float
    kind: str = "window"


@dataclass
class Wall:
    """One straight wall segment from ``start`` to ``end`` (x, y) between heights ``z0`` and ``z1``,
    with door ``openings`` as (s0, s1, top) intervals along the segment and ``windows`` as
    (s0, s1, bottom, top) holes. ``offset`` shifts the solid sideways (along the left normal of
    start -> end): 0 for a wall centred on the outline, +-thickness/2 for one outside it."""

    instance_id: int
    start: np.ndarray
    end: np.ndarray
    thickness: float
    z0: float
    z1: float
    rooms: tuple[str, ...]
    openings: list[tuple[float, float, float]] = field(default_factory=list)
    windows: list[tuple[float, float, float, float]] = field(default_factory=list)
    offset: float = 0.0

    @property
    def normal(self) -> np.ndarray:
        """Unit left normal of start -> end (x, y)."""
        d = (self.end - self.start) / max(self.length, 1e-12)
        return np.array([-d[1], d[0]])

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
        shift = self.normal * self.offset
        # A centred wall's true ends reach half the thickness past the outline corner to close it;
        # an outside wall stops at the corner (its neighbour outside the next side closes the
        # inner face; extending it would poke into the room at a concave corner).
        ext = t / 2 if self.offset == 0.0 else 0.0

        def piece(s0, s1, z0, z1):
            if s1 - s0 > EPS and z1 - z0 > EPS:
                c = self.start + d * (s0 + s1) / 2 + shift
                out.append((np.array([c[0], c[1], (z0 + z1) / 2]), np.array([s1 - s0, t, z1 - z0]), yaw))

        def column(s0, s1):
            # A stretch of wall with window holes: solid between the holes' vertical intervals.
            if not any(a < s1 - EPS and b > s0 + EPS for a, b, _, _ in self.windows):
                piece(s0, s1, self.z0, self.z1)
                return
            # Split the stretch at the window edges so each piece has one set of holes.
            edges = sorted({s0, s1, *[min(max(a, s0), s1) for a, _, _, _ in self.windows],
                            *[min(max(b, s0), s1) for _, b, _, _ in self.windows]})
            for e0, e1 in zip(edges[:-1], edges[1:]):
                mid = (e0 + e1) / 2
                hz = sorted((self.z0 + lo, self.z0 + hi) for a, b, lo, hi in self.windows if a <= mid <= b)
                z = self.z0
                for b, tp in hz:
                    piece(e0, e1, z, min(b, self.z1))
                    z = max(z, tp)
                piece(e0, e1, z, self.z1)

        s = -ext
        for a, b, top in cuts:
            column(s, a)
            piece(a, b, min(top, self.z1), self.z1)
            s = b
        column(s, L + ext)
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
    #: Door state of furniture with a door ("open" / "closed"; None: a plain solid box).
    state: Optional[str] = None
    #: Built with ``check=False`` (saved as such, so loading skips the same checks).
    unchecked: bool = False

    @property
    def kind(self) -> str:
        return CATEGORIES[self.category].kind

    @property
    def shape(self) -> str:
        """Parametric shape actually built (a fridge with a door state is hollow)."""
        return shape_for_state(self.category, self.state)

    @property
    def front(self) -> np.ndarray:
        """Unit (x, y) direction the object's front faces (local +x turned by ``yaw``)."""
        return np.array([math.cos(self.yaw), math.sin(self.yaw)])

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
        return shape_mesh(self.shape, self.size, self.state)

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

