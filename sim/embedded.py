"""`EmbeddedSim`: the default simulator — Open3D ray casting over a :class:`Scene`'s labelled
triangles. RGB, depth, instance and semantic images all come from ONE ``cast_rays`` call.

Per frame the work is: ray directions, one cast, and table look-ups indexed by the hit triangle
id, the first and last in single-pass numba kernels (no BLAS: OpenBLAS threads fought Open3D's
and cost 3x). Shading is
flat Lambert under a fixed directional light, so each triangle's shaded colour is computed once
when the geometry is built and a pixel's colour is a single gather.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Optional

import numpy as np
import open3d as o3d
import shapely
import trimesh

from robomem.camera import CameraIntrinsics
from robomem.frame import Frame
from sim.base import (DEFAULT_FORWARD_STEP, DEFAULT_PITCH_DEG, DEFAULT_START_NS, DEFAULT_TURN_DEG, AgentState,
                      SemanticObject, SimulatorError, StepResult, camera_pose, check_action)
from sim._kernels import fill_rays, shade_hits
from sim.categories import CATEGORIES, CATEGORY_INDEX
from sim.pathfinder import GridPathFinder

_LIGHT = np.array([0.35, 0.25, 0.9]) / np.linalg.norm([0.35, 0.25, 0.9])
_AMBIENT = 0.45
#: Wall paints, picked per room by a stable hash of its id; outside faces are plain render.
_PAINTS = [(222, 216, 200), (200, 214, 222), (226, 210, 196), (206, 222, 204), (224, 220, 176),
           (214, 204, 224), (196, 206, 200), (230, 226, 222)]
_EXTERIOR = (190, 185, 175)


def _wall_paint(room) -> tuple[int, int, int]:
    return _PAINTS[zlib.crc32(room.room_id.encode()) % len(_PAINTS)]


#: Floor colours by room type (tiles in wet rooms, wood elsewhere) so rooms look different.
_FLOOR_COLORS = {"kitchen": (200, 195, 180), "bathroom": (170, 200, 210), "laundry": (180, 190, 195),
                 "hallway": (160, 140, 115), "bedroom": (165, 125, 90), "office": (140, 110, 80)}


@dataclass
class Observation:
    """Everything one render produced: the robomem ``Frame`` plus the semantic class image
    (uint16, :data:`sim.categories.CATEGORY_INDEX`, 0 = nothing hit)."""

    frame: Frame
    semantic: np.ndarray


@dataclass
class _Geometry:
    scene: o3d.t.geometry.RaycastingScene
    tri_part: np.ndarray  # (T + 1,) part index per triangle; last entry = miss
    part_instance: np.ndarray  # (P + 1,) uint32 instance id per part; last = 0
    part_semantic: np.ndarray  # (P + 1,) uint16 semantic class per part
    part_category: list[str]
    tri_rgb: np.ndarray  # (T + 1, 3) uint8 shaded colour; last = black
    n_triangles: int
    vertices: np.ndarray
    triangles: np.ndarray
    tri_instance: np.ndarray


def scene_parts(scene) -> list[tuple[int, str, tuple[int, int, int], trimesh.Trimesh]]:
    """The labelled triangle parts of a scene: (instance id, category, colour, world mesh) for
    every floor, ceiling, wall segment and object."""
    parts = []
    for room in scene.rooms.values():
        tris = shapely.constrained_delaunay_triangles(room.polygon)
        verts, faces = [], []
        for k, t in enumerate(tris.geoms):
            c = np.asarray(t.exterior.coords)[:3]
            verts.append(c)
            faces.append([3 * k, 3 * k + 1, 3 * k + 2])
        v2 = np.concatenate(verts)
        for iid, cat, z in ((room.floor_instance_id, "floor", room.floor_z),
                            (room.ceiling_instance_id, "ceiling", room.floor_z + room.ceiling_height)):
            v = np.column_stack([v2, np.full(len(v2), z)])
            color = _FLOOR_COLORS.get(room.room_type, CATEGORIES[cat].color) if cat == "floor" else CATEGORIES[cat].color
            parts.append((iid, cat, color, trimesh.Trimesh(v, np.array(faces), process=False)))
    for wall in scene.walls:
        # Each wall is two half-thickness slabs, painted in the colour of the room on its side,
        # so rooms look different; both halves carry the wall's instance id.
        d = (wall.end - wall.start) / max(wall.length, 1e-12)
        n = np.array([-d[1], d[0]])
        mid = (wall.start + wall.end) / 2
        sides = []
        for sign in (1.0, -1.0):
            rid = scene.room_at(mid + sign * n * (wall.thickness / 2 + 0.05))
            sides.append(_wall_paint(scene.rooms[rid]) if rid is not None else _EXTERIOR)
        for k, (c, e, yaw) in enumerate(wall.boxes()):
            for sign, color in zip((1.0, -1.0), sides):
                T = np.eye(4)
                T[:2, :2] = [[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]]
                T[:2, 3] = c[:2] + sign * n * e[1] / 4
                T[2, 3] = c[2]
                half = trimesh.creation.box(extents=(e[0], e[1] / 2, e[2]), transform=T)
                parts.append((wall.instance_id, "wall", color, half))
    for obj in sorted(scene.objects.values(), key=lambda o: o.instance_id):
        parts.append((obj.instance_id, obj.category, obj.color, obj.world_mesh()))
    return parts


def build_geometry(scene) -> _Geometry:
    """Concatenate the scene's parts into one ray-casting mesh with per-triangle look-up tables."""
    parts = scene_parts(scene)
    verts, tris, tri_part = [], [], []
    offset = 0
    for k, (_, _, _, m) in enumerate(parts):
        verts.append(np.asarray(m.vertices, dtype=np.float64))
        tris.append(np.asarray(m.faces, dtype=np.int64) + offset)
        tri_part.append(np.full(len(m.faces), k, dtype=np.int32))
        offset += len(m.vertices)
    V = np.concatenate(verts)
    F = np.concatenate(tris)
    tri_part_arr = np.concatenate(tri_part + [np.array([len(parts)], dtype=np.int32)])
    rcs = o3d.t.geometry.RaycastingScene()
    rcs.add_triangles(o3d.core.Tensor(V.astype(np.float32)), o3d.core.Tensor(F.astype(np.uint32)))
    # Two-sided Lambert: a wall lit from behind still shows its shade from the front.
    e1 = V[F[:, 1]] - V[F[:, 0]]
    e2 = V[F[:, 2]] - V[F[:, 0]]
    n = np.cross(e1, e2)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    shade = _AMBIENT + (1 - _AMBIENT) * np.abs(n[:, 0] * _LIGHT[0] + n[:, 1] * _LIGHT[1] + n[:, 2] * _LIGHT[2])
    colors = np.array([c for _, _, c, _ in parts], dtype=np.float64)
    tri_rgb = np.zeros((len(F) + 1, 3), dtype=np.uint8)
    tri_rgb[:-1] = np.clip(colors[tri_part_arr[:-1]] * shade[:, None], 0, 255).astype(np.uint8)
    part_instance = np.array([p[0] for p in parts] + [0], dtype=np.uint32)
    part_semantic = np.array([CATEGORY_INDEX[p[1]] for p in parts] + [0], dtype=np.uint16)
    return _Geometry(rcs, tri_part_arr, part_instance, part_semantic, [p[1] for p in parts], tri_rgb, len(F),
                     V, F, part_instance[tri_part_arr[:-1]])


class EmbeddedSim:
    """Ray-cast RGB-D + instance simulator over a :class:`sim.scene.Scene` (implements
    :class:`sim.base.Simulator`).

    ``width``/``height``/``hfov_deg``: the pinhole camera. ``sensor_height``: camera above the
    agent base. ``forward_step`` (m), ``turn_deg``, ``pitch_deg``: action sizes. ``step_ns``: clock
    advance per action. ``nthreads``: Open3D ray-casting threads (0 = all cores). ``max_depth``:
    readings beyond it become 0 (None keeps all). The scene may be edited between frames (objects
    moved); geometry and navigation are rebuilt on the next render.
    """

    def __init__(self, scene, width: int = 320, height: int = 240, hfov_deg: float = 90.0,
                 sensor_height: float = 1.25, forward_step: float = DEFAULT_FORWARD_STEP,
                 turn_deg: float = DEFAULT_TURN_DEG, pitch_deg: float = DEFAULT_PITCH_DEG,
                 agent_radius: float = 0.18, nav_resolution: float = 0.05, start_ns: int = DEFAULT_START_NS,
                 step_ns: int = 100_000_000, nthreads: int = 1, max_depth: Optional[float] = None,
                 initial_state: Optional[AgentState] = None, seed: int = 0) -> None:
        self.intrinsics = CameraIntrinsics.from_fov(int(width), int(height), float(hfov_deg))
        if not 0.05 <= sensor_height <= 3.0:
            raise SimulatorError(f"sensor_height must be in [0.05, 3] m, got {sensor_height}")
        for name, v in (("forward_step", forward_step), ("turn_deg", turn_deg), ("pitch_deg", pitch_deg)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise SimulatorError(f"{name} must be a positive number, got {v!r}")
        if isinstance(start_ns, bool) or not isinstance(start_ns, int) or start_ns < 0 or step_ns < 0:
            raise SimulatorError(f"start_ns/step_ns must be non-negative integers, got {start_ns!r}, {step_ns!r}")
        self.scene = scene
        self.sensor_height = float(sensor_height)
        self.forward_step = float(forward_step)
        self.turn = math.radians(turn_deg)
        self.pitch_step = math.radians(pitch_deg)
        self.agent_radius = float(agent_radius)
        self.nav_resolution = float(nav_resolution)
        self.clock_ns = int(start_ns)
        self.step_ns = int(step_ns)
        self.nthreads = int(nthreads)
        self.max_depth = max_depth
        H, W = self.intrinsics.shape
        rays = self.intrinsics.pixel_rays.reshape(-1, 3)
        self._u = np.ascontiguousarray(rays[:, 0])
        self._v = np.ascontiguousarray(rays[:, 1])
        self._rays = np.empty((H * W, 6), dtype=np.float32)
        self._rays_t = o3d.core.Tensor.from_numpy(self._rays)
        self._geom: Optional[_Geometry] = None
        self._geom_version = -1
        self._pf: Optional[GridPathFinder] = None
        self._pf_key = None
        self._pf_version = -1
        self._closed = False
        if initial_state is None:
            p = self.pathfinder.sample_navigable_point(np.random.default_rng(seed))
            initial_state = AgentState(p, 0.0, 0.0)
        self._state = initial_state.copy()

    # ------------------------------------------------------------------ state
    def agent_state(self) -> AgentState:
        return self._state.copy()

    def set_agent_state(self, state: AgentState) -> None:
        """Teleport (no collision check; a pose off the navigable area is allowed but the next
        move_forward will report a collision)."""
        if not isinstance(state, AgentState):
            raise SimulatorError(f"set_agent_state needs an AgentState, got {type(state).__name__}")
        self._state = state.copy()

    @property
    def pathfinder(self) -> GridPathFinder:
        """Navigation over the current scene (rebuilt when floor-standing objects change)."""
        if self._pf is not None and self._pf_version == self.scene.version:
            return self._pf
        self._pf_version = self.scene.version
        key = (id(self.scene), tuple(self.scene.rooms), len(self.scene.doors), tuple(
            (o.instance_id, tuple(np.round(o.position, 6)), round(o.yaw, 6))
            for o in self.scene.objects.values() if o.receptacle_id is None))
        if self._pf is None or key != self._pf_key:
            self._pf = GridPathFinder(self.scene, self.agent_radius, self.nav_resolution)
            self._pf_key = key
        return self._pf

    @property
    def semantic_scene(self) -> list[SemanticObject]:
        return self.scene.semantic_objects()

    def camera_pose(self, state: Optional[AgentState] = None) -> np.ndarray:
        return camera_pose(state or self._state, self.sensor_height)

    # ------------------------------------------------------------------ rendering
    def _geometry(self) -> _Geometry:
        if self._closed:
            raise SimulatorError("simulator is closed")
        if self._geom is None or self._geom_version != self.scene.version:
            self._geom = build_geometry(self.scene)
            self._geom_version = self.scene.version
        return self._geom

    def render(self, state: Optional[AgentState] = None) -> Observation:
        """Render the view from ``state`` (default: the agent's) at the current clock."""
        g = self._geometry()
        T = self.camera_pose(state)
        H, W = self.intrinsics.shape
        fill_rays(self._rays, self._u, self._v, np.ascontiguousarray(T[:3, :3]), T[:3, 3].copy())
        hit = g.scene.cast_rays(self._rays_t, nthreads=self.nthreads)
        n = H * W
        depth = np.empty(n, dtype=np.float32)
        rgb = np.empty((n, 3), dtype=np.uint8)
        inst = np.empty(n, dtype=np.uint32)
        sem = np.empty(n, dtype=np.uint16)
        counts = np.zeros(len(g.part_instance), dtype=np.int64)
        shade_hits(hit["t_hit"].numpy(), hit["primitive_ids"].numpy(), np.uint32(g.n_triangles), g.tri_part,
                   g.tri_rgb, g.part_instance, g.part_semantic,
                   np.float32(np.inf if self.max_depth is None else self.max_depth), depth, rgb, inst, sem, counts)
        present = np.flatnonzero(counts[:-1])
        labels = {int(g.part_instance[k]): g.part_category[k] for k in present}
        depth, rgb, inst, sem = depth.reshape(H, W), rgb.reshape(H, W, 3), inst.reshape(H, W), sem.reshape(H, W)
        for a in (depth, rgb, inst, sem):
            a.setflags(write=False)  # fresh buffers nobody else holds: lets Frame skip its defensive copy
        frame = Frame(depth=depth, intrinsics=self.intrinsics, T_world_camera=T, stamp_ns=self.clock_ns,
                      rgb=rgb, instance_ids=inst, labels=labels)
        return Observation(frame, sem)

    def observe(self) -> Frame:
        return self.render().frame

    # ------------------------------------------------------------------ actions
    def step(self, action: str) -> StepResult:
        """Apply a discrete action, advance the clock by ``step_ns`` and render."""
        check_action(action)
        s = self._state
        collided = False
        if action == "move_forward":
            target = s.position + self.forward_step * np.array([math.cos(s.yaw), math.sin(s.yaw), 0.0])
            end, collided = self.pathfinder.slide(s.position, target)    # slides along an obstacle
            z = self.pathfinder.snap_point(end)[2] if self.pathfinder.is_navigable(end) else s.position[2]
            s = AgentState(np.array([end[0], end[1], z]), s.yaw, s.pitch)
        elif action == "turn_left":
            s = AgentState(s.position, s.yaw + self.turn, s.pitch)
        elif action == "turn_right":
            s = AgentState(s.position, s.yaw - self.turn, s.pitch)
        elif action in ("look_up", "look_down"):
            p = s.pitch + (self.pitch_step if action == "look_up" else -self.pitch_step)
            limit = math.radians(89.0)
            s = AgentState(s.position, s.yaw, min(max(p, -limit), limit))
        self._state = s
        self.clock_ns += self.step_ns
        return StepResult(self.observe(), bool(collided))

    def close(self) -> None:
        self._geom = None
        self._closed = True

    def __enter__(self) -> "EmbeddedSim":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
