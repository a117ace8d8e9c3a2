"""Navigation for a cylindrical agent on an occupancy grid derived from a :class:`Scene`.

Free space = room floors minus the footprints of walls and floor-standing furniture; a cell is
navigable when its centre is farther than the agent radius from any non-free cell (Euclidean
distance transform). Paths are Dijkstra on the 8-connected navigable grid (no corner cutting),
then shortened by string-pulling with line-of-sight checks, so geodesic lengths approach the
true shortest collision-free length instead of the 8-connected over-estimate (up to 8 %).
"""
from __future__ import annotations

import math

import numpy as np
import shapely
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from shapely.ops import unary_union

from sim.base import SimulatorError


class GridPathFinder:
    """:class:`sim.base.PathFinder` over a scene's floor plan.

    ``resolution``: grid cell size (m). ``agent_radius``: cylinder radius (m). ``agent_height``:
    objects whose bottom is above this (over the floor) do not block. ``max_climb``: objects lower
    than this (rugs) do not block."""

    def __init__(self, scene, agent_radius: float = 0.18, resolution: float = 0.05,
                 agent_height: float = 1.5, max_climb: float = 0.05) -> None:
        if not (0 < resolution <= 0.5) or not (0 <= agent_radius < 2.0):
            raise SimulatorError(f"pathfinder: resolution {resolution} must be in (0, 0.5] m and agent radius "
                                 f"{agent_radius} in [0, 2) m")
        if not scene.rooms:
            raise SimulatorError("pathfinder: the scene has no rooms")
        self.scene = scene
        self.agent_radius = float(agent_radius)
        self.resolution = float(resolution)
        self.agent_height = float(agent_height)
        self.max_climb = float(max_climb)
        self.version = scene.version
        self._build()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        scene, res = self.scene, self.resolution
        minx, miny, maxx, maxy = scene.outline.bounds
        pad = 2 * res
        self.origin = np.array([minx - pad, miny - pad])
        self.shape = (int(math.ceil((maxy - miny + 2 * pad) / res)), int(math.ceil((maxx - minx + 2 * pad) / res)))
        ny, nx = self.shape
        xs = self.origin[0] + (np.arange(nx) + 0.5) * res
        ys = self.origin[1] + (np.arange(ny) + 0.5) * res
        X, Y = np.meshgrid(xs, ys)
        self.floor_z = np.zeros(self.shape)
        inside = np.zeros(self.shape, dtype=bool)
        for room in scene.rooms.values():
            m = shapely.contains_xy(room.polygon, X, Y)
            inside |= m
            self.floor_z[m] = room.floor_z
        self.room_grid = np.full(self.shape, -1, dtype=np.int32)
        self.room_ids = list(scene.rooms)
        for k, room in enumerate(scene.rooms.values()):
            self.room_grid[shapely.contains_xy(room.polygon, X, Y)] = k
        blockers = list(scene.wall_footprints())
        for obj in scene.objects.values():
            if obj.receptacle_id is not None:
                continue
            lo, hi = obj.bbox()
            floor = scene.floor_height_at(obj.position[:2])
            if lo[2] - floor < self.agent_height and hi[2] - floor > self.max_climb:
                blockers.append(obj.footprint())
        blocked = np.zeros(self.shape, dtype=bool)
        if blockers:
            # Rasterise blockers by cell centre, then grow by half a cell so thin walls always
            # register even when they fall between centres.
            u = unary_union(blockers).buffer(res * 0.5, join_style="mitre")
            shapely.prepare(u)
            blocked = shapely.contains_xy(u, X, Y)
        self.free = inside & ~blocked
        dist = ndimage.distance_transform_edt(self.free) * res
        # A free cell next to a blocked one has distance 1 cell; the obstacle edge is half a cell nearer.
        self.clearance = dist - 0.5 * res
        self.navigable = self.free & (self.clearance >= self.agent_radius)
        _, idx = ndimage.distance_transform_edt(~self.navigable, return_indices=True)
        self._nearest = idx
        self._build_graph()

    def _build_graph(self) -> None:
        nav = self.navigable
        ny, nx = self.shape
        ids = np.arange(ny * nx).reshape(ny, nx)
        rows, cols, w = [], [], []
        res = self.resolution
        for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
            a = nav[max(0, -dy):ny - max(0, dy), max(0, -dx):nx - max(0, dx)]
            ys0, ys1 = max(0, -dy), ny - max(0, dy)
            xs0, xs1 = max(0, -dx), nx - max(0, dx)
            src = nav[ys0:ys1, xs0:xs1]
            dst = nav[ys0 + dy:ys1 + dy, xs0 + dx:xs1 + dx]
            ok = src & dst
            if dx and dy:  # no corner cutting through a blocked orthogonal neighbour
                ok &= nav[ys0 + dy:ys1 + dy, xs0:xs1] & nav[ys0:ys1, xs0 + dx:xs1 + dx]
            s = ids[ys0:ys1, xs0:xs1][ok]
            d = ids[ys0 + dy:ys1 + dy, xs0 + dx:xs1 + dx][ok]
            rows.append(s)
            cols.append(d)
            w.append(np.full(s.size, res * (math.sqrt(2) if dx and dy else 1.0)))
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        ww = np.concatenate(w)
        n = ny * nx
        self.graph = coo_matrix((np.concatenate([ww, ww]), (np.concatenate([r, c]), np.concatenate([c, r]))),
                                shape=(n, n)).tocsr()
        _, labels = connected_components(self.graph, directed=False)
        labels = labels.reshape(self.shape).copy()
        labels[~nav] = -1
        self.components = labels
        self._trees: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ grid helpers
    def world_to_cell(self, point) -> tuple[int, int]:
        p = np.asarray(point, dtype=np.float64).reshape(-1)
        if p.shape not in ((2,), (3,)) or not np.all(np.isfinite(p)):
            raise SimulatorError(f"point must be 2 or 3 finite numbers, got {point!r}")
        ix = int(math.floor((p[0] - self.origin[0]) / self.resolution))
        iy = int(math.floor((p[1] - self.origin[1]) / self.resolution))
        return iy, ix

    def cell_to_world(self, iy: int, ix: int) -> np.ndarray:
        x = self.origin[0] + (ix + 0.5) * self.resolution
        y = self.origin[1] + (iy + 0.5) * self.resolution
        return np.array([x, y, self.floor_z[iy, ix]])

    def _in_grid(self, iy, ix) -> bool:
        return 0 <= iy < self.shape[0] and 0 <= ix < self.shape[1]

    # ------------------------------------------------------------------ PathFinder protocol
    def is_navigable(self, point) -> bool:
        """Whether the agent's centre may stand at ``point`` (x, y[, z])."""
        iy, ix = self.world_to_cell(point)
        return self._in_grid(iy, ix) and bool(self.navigable[iy, ix])

    def snap_point(self, point) -> np.ndarray:
        """Nearest navigable point (a cell centre on the floor), or the point itself when navigable."""
        p = np.asarray(point, dtype=np.float64).reshape(-1)
        iy, ix = self.world_to_cell(p)
        iy = min(max(iy, 0), self.shape[0] - 1)
        ix = min(max(ix, 0), self.shape[1] - 1)
        if self.navigable[iy, ix]:
            return np.array([p[0], p[1], self.floor_z[iy, ix]])
        if not self.navigable.any():
            raise SimulatorError("pathfinder: no navigable space in the scene")
        jy, jx = self._nearest[0][iy, ix], self._nearest[1][iy, ix]
        return self.cell_to_world(jy, jx)

    def sample_navigable_point(self, rng: np.random.Generator) -> np.ndarray:
        """Uniformly random navigable cell centre of the largest connected island."""
        labels = self.components
        if not self.navigable.any():
            raise SimulatorError("pathfinder: no navigable space in the scene")
        counts = np.bincount(labels[labels >= 0])
        cells = np.flatnonzero(labels.reshape(-1) == int(np.argmax(counts)))
        iy, ix = np.unravel_index(cells[rng.integers(cells.size)], self.shape)
        return self.cell_to_world(int(iy), int(ix))

    def find_path(self, start, goal) -> tuple[np.ndarray, float]:
        """Shortest collision-free path: ((N, 3) waypoints from start to goal, length in metres);
        ((0, 3), inf) when either end is not navigable or they are not connected."""
        s = np.asarray(start, dtype=np.float64).reshape(-1)
        g = np.asarray(goal, dtype=np.float64).reshape(-1)
        empty = (np.zeros((0, 3)), math.inf)
        if not (self.is_navigable(s) and self.is_navigable(g)):
            return empty
        cs, cg = self.world_to_cell(s), self.world_to_cell(g)
        if self.components[cs] != self.components[cg]:
            return empty
        nx = self.shape[1]
        si, gi = cs[0] * nx + cs[1], cg[0] * nx + cg[1]
        if si == gi:
            pts = np.array([self._on_floor(s), self._on_floor(g)])
            return pts, float(np.hypot(*(pts[1, :2] - pts[0, :2])))
        pred = self._predecessors(si)
        cells = [gi]
        while cells[-1] != si:
            cells.append(int(pred[cells[-1]]))
            if cells[-1] < 0:
                return empty
        cells.reverse()
        pts = [self._on_floor(s)] + [self.cell_to_world(c // nx, c % nx) for c in cells[1:-1]] + [self._on_floor(g)]
        pts = self._string_pull(np.array(pts))
        length = float(np.sum(np.hypot(*(np.diff(pts[:, :2], axis=0).T))))
        return pts, length

    def _predecessors(self, source: int) -> np.ndarray:
        # Queries often share a start (distances from one object to many): keep a few trees.
        pred = self._trees.pop(source, None)
        if pred is None:
            _, pred = dijkstra(self.graph, indices=source, return_predecessors=True)
            if len(self._trees) >= 8:
                self._trees.pop(next(iter(self._trees)))
        self._trees[source] = pred
        return pred

    def geodesic_distance(self, start, goal) -> float:
        return self.find_path(start, goal)[1]

    # ------------------------------------------------------------------ extras
    def segment_free(self, a, b) -> bool:
        """Whether the straight segment a -> b (x, y) stays on navigable cells."""
        a = np.asarray(a, dtype=np.float64)[:2]
        b = np.asarray(b, dtype=np.float64)[:2]
        n = max(2, int(math.ceil(np.hypot(*(b - a)) / (self.resolution * 0.25))) + 1)
        t = np.linspace(0.0, 1.0, n)
        x = a[0] + (b[0] - a[0]) * t
        y = a[1] + (b[1] - a[1]) * t
        ix = np.floor((x - self.origin[0]) / self.resolution).astype(np.int64)
        iy = np.floor((y - self.origin[1]) / self.resolution).astype(np.int64)
        if ix.min() < 0 or iy.min() < 0 or ix.max() >= self.shape[1] or iy.max() >= self.shape[0]:
            return False
        return bool(self.navigable[iy, ix].all())

    def furthest_free(self, a, b) -> tuple[np.ndarray, bool]:
        """Move from a toward b until the first non-navigable sample: (end point, blocked)."""
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        L = float(np.hypot(*(b[:2] - a[:2])))
        n = max(2, int(math.ceil(L / (self.resolution * 0.25))) + 1)
        last = a
        for t in np.linspace(0.0, 1.0, n)[1:]:
            p = a + (b - a) * t
            if not self.is_navigable(p):
                return last, True
            last = p
        return b, False

    def slide(self, a, b) -> tuple[np.ndarray, bool]:
        """Move from a toward b like a navmesh agent: :meth:`furthest_free`, and when blocked the
        longer free motion of the two axis-aligned components of the step (sliding along the
        obstacle). (end point, blocked)."""
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        end, blocked = self.furthest_free(a, b)
        if blocked:
            for axis_target in (np.array([b[0], a[1], a[2]]), np.array([a[0], b[1], a[2]])):
                e2, _ = self.furthest_free(a, axis_target)
                if np.hypot(*(e2[:2] - a[:2])) > np.hypot(*(end[:2] - a[:2])) + 1e-9:
                    end = e2
        return end, blocked

    def room_components(self) -> dict[str, set[int]]:
        """Room id -> ids of the navigable islands that touch it (one id each when connected)."""
        out = {}
        for k, rid in enumerate(self.room_ids):
            labels = self.components[(self.room_grid == k) & self.navigable]
            out[rid] = set(np.unique(labels).tolist())
        return out

    def all_rooms_connected(self) -> bool:
        """True when every room has navigable space and all of it is one island."""
        comps = self.room_components()
        if any(not c for c in comps.values()):
            return False
        return len(set().union(*comps.values())) == 1

    def _on_floor(self, p: np.ndarray) -> np.ndarray:
        iy, ix = self.world_to_cell(p)
        return np.array([p[0], p[1], self.floor_z[iy, ix]])

    def _string_pull(self, pts: np.ndarray) -> np.ndarray:
        out = [pts[0]]
        i = 0
        n = len(pts)
        while i < n - 1:
            j = n - 1
            while j > i + 1 and not self.segment_free(pts[i], pts[j]):
                j -= 1
            out.append(pts[j])
            i = j
        return np.array(out)
