"""`HabitatSim`: the simulator contract (``sim.base.Simulator``) over a real ``habitat_sim``.

``habitat_sim`` is conda-only, so it is imported lazily: importing this module never fails, and
constructing :class:`HabitatSim` without habitat_sim raises :class:`HabitatUnavailableError` with
the install command. Everything that crosses this module's boundary is converted to robomem's
conventions (REP-103 world, optical camera pose, float32 depth in metres, uint32 instance ids,
``stamp_ns`` from a simulated clock) with :mod:`sim.frames`.

Used habitat_sim API (0.2.x / 0.3.x): ``Configuration``, ``SimulatorConfiguration`` (``scene_id``,
``scene_dataset_config_file``, ``enable_physics``, ``gpu_device_id``, ``random_seed``),
``agent.AgentConfiguration`` (``sensor_specifications``, ``action_space``, ``height``, ``radius``),
``agent.ActionSpec``/``ActuationSpec``, ``CameraSensorSpec`` (``uuid``, ``sensor_type``,
``resolution`` [H, W], ``hfov``, ``position``, ``orientation``), ``SensorType.COLOR/DEPTH/SEMANTIC``,
``Simulator.step`` (observations with ``"collided"``), ``get_sensor_observations``,
``agent.get_state``/``set_state`` with ``SixDOFPose`` sensor states, ``pathfinder``
(``is_navigable``, ``find_path`` + ``ShortestPath``, ``get_random_navigable_point``, ``seed``,
``snap_point``) and ``semantic_scene.objects`` (``semantic_id``, ``category.name()``,
``aabb.center``/``aabb.sizes``, ``region``).
"""
from __future__ import annotations

import importlib
import inspect
import math
from typing import Any, Optional

import numpy as np

from robomem.camera import CameraIntrinsics
from robomem.errors import InvalidInputError
from robomem.frame import Frame
from sim import frames as F
from sim.base import (
    DEFAULT_FORWARD_STEP,
    DEFAULT_PITCH_DEG,
    DEFAULT_START_NS,
    DEFAULT_TURN_DEG,
    AgentState,
    SemanticObject,
    SimulatorError,
    StepResult,
    check_action,
)

#: Sensor uuids this backend configures.
COLOR, DEPTH, SEMANTIC = "color", "depth", "semantic"

INSTALL_HINT = (
    "habitat_sim is not installed. It is distributed through conda only, e.g.\n"
    "    conda create -n habitat python=3.9 cmake=3.14.0 && conda activate habitat\n"
    "    conda install habitat-sim withbullet headless -c conda-forge -c aihabitat\n"
    "then `pip install -e .` robomem into that environment (see docs/habitat.md). "
    "Without Habitat use sim.EmbeddedSim."
)


class HabitatUnavailableError(ImportError):
    """``habitat_sim`` cannot be imported (it is conda-only); the message says how to install it."""


def habitat_available() -> bool:
    """True when ``habitat_sim`` can be imported in this environment."""
    try:
        importlib.import_module("habitat_sim")
    except Exception:  # an ImportError or a broken native library: either way, unavailable
        return False
    return True


def import_habitat() -> Any:
    """Import and return the ``habitat_sim`` module or raise :class:`HabitatUnavailableError`."""
    try:
        return importlib.import_module("habitat_sim")
    except Exception as exc:
        raise HabitatUnavailableError(f"{INSTALL_HINT}\n(import failed: {exc})") from exc


def make_configuration(
    scene_id: str,
    *,
    scene_dataset_config_file: Optional[str] = None,
    width: int = 320,
    height: int = 240,
    hfov_deg: float = 90.0,
    sensor_height: float = 1.25,
    forward_step: float = DEFAULT_FORWARD_STEP,
    turn_deg: float = DEFAULT_TURN_DEG,
    pitch_deg: float = DEFAULT_PITCH_DEG,
    semantic: bool = True,
    enable_physics: bool = False,
    gpu_device_id: int = 0,
    agent_radius: float = 0.1,
    agent_height: float = 1.5,
    seed: int = 0,
) -> Any:
    """A ``habitat_sim.Configuration`` with one agent carrying co-located COLOR, DEPTH (and
    SEMANTIC) cameras ``sensor_height`` metres above its base, and the contract's actions."""
    hs = import_habitat()
    _check_positive(width=width, height=height, sensor_height=sensor_height, forward_step=forward_step,
                    turn_deg=turn_deg, pitch_deg=pitch_deg, agent_radius=agent_radius, agent_height=agent_height)
    if not 0 < hfov_deg < 180:
        raise SimulatorError(f"hfov_deg must be in (0, 180), got {hfov_deg}")
    backend = hs.SimulatorConfiguration()
    backend.scene_id = str(scene_id)
    if scene_dataset_config_file:
        backend.scene_dataset_config_file = str(scene_dataset_config_file)
    backend.enable_physics = bool(enable_physics)
    backend.gpu_device_id = int(gpu_device_id)
    backend.random_seed = int(seed)

    kinds = [(COLOR, hs.SensorType.COLOR), (DEPTH, hs.SensorType.DEPTH)]
    if semantic:
        kinds.append((SEMANTIC, hs.SensorType.SEMANTIC))
    specs = []
    for uuid, kind in kinds:
        spec = hs.CameraSensorSpec()
        spec.uuid = uuid
        spec.sensor_type = kind
        spec.resolution = [int(height), int(width)]
        spec.hfov = float(hfov_deg)
        spec.position = [0.0, float(sensor_height), 0.0]
        spec.orientation = [0.0, 0.0, 0.0]
        specs.append(spec)

    agent = hs.agent.AgentConfiguration()
    agent.height = float(agent_height)
    agent.radius = float(agent_radius)
    agent.sensor_specifications = specs
    A, S = hs.agent.ActionSpec, hs.agent.ActuationSpec
    agent.action_space = {
        "move_forward": A("move_forward", S(amount=float(forward_step))),
        "turn_left": A("turn_left", S(amount=float(turn_deg))),
        "turn_right": A("turn_right", S(amount=float(turn_deg))),
        "look_up": A("look_up", S(amount=float(pitch_deg))),
        "look_down": A("look_down", S(amount=float(pitch_deg))),
    }
    return hs.Configuration(backend, [agent])


def _check_positive(**values: float) -> None:
    for name, v in values.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
            raise SimulatorError(f"{name} must be a positive number, got {v!r}")


def _vec(p) -> np.ndarray:
    # habitat_sim accepts numpy float32 (3,) arrays wherever it takes a magnum Vector3.
    return np.asarray(p, dtype=np.float32)


def habitat_aabb_to_rep(center, sizes) -> tuple[np.ndarray, np.ndarray]:
    """REP-103 (min, max) corners of a Habitat axis-aligned box given by centre and sizes. The
    frame change only permutes and flips axes, so the box stays axis-aligned."""
    c = np.array([center[0], center[1], center[2]], dtype=np.float64)
    h = 0.5 * np.abs(np.array([sizes[0], sizes[1], sizes[2]], dtype=np.float64))
    a, b = F.habitat_to_rep_points(c - h), F.habitat_to_rep_points(c + h)
    return np.minimum(a, b), np.maximum(a, b)


class HabitatPathFinder:
    """The contract's ``PathFinder`` over ``habitat_sim``'s navmesh ``PathFinder``; REP-103 in/out."""

    def __init__(self, habitat_pathfinder: Any, habitat_module: Any) -> None:
        self._pf = habitat_pathfinder
        self._hs = habitat_module

    @property
    def is_loaded(self) -> bool:
        return bool(self._pf.is_loaded)

    def _to_hab(self, point, name: str) -> np.ndarray:
        return _vec(F.rep_to_habitat_points(_point3(point, name)))

    def is_navigable(self, point) -> bool:
        return bool(self._pf.is_navigable(self._to_hab(point, "point")))

    def find_path(self, start, goal) -> tuple[np.ndarray, float]:
        path = self._hs.ShortestPath()
        path.requested_start = self._to_hab(start, "start")
        path.requested_end = self._to_hab(goal, "goal")
        found = self._pf.find_path(path)
        dist = float(path.geodesic_distance)
        if not found or not math.isfinite(dist):
            return np.zeros((0, 3)), math.inf
        pts = np.array([[p[0], p[1], p[2]] for p in path.points], dtype=np.float64).reshape(-1, 3)
        return F.habitat_to_rep_points(pts), dist

    def geodesic_distance(self, start, goal) -> float:
        return self.find_path(start, goal)[1]

    def sample_navigable_point(self, rng: np.random.Generator) -> np.ndarray:
        # Habitat samples with its own RNG; seeding it from the caller's generator keeps runs
        # reproducible from the caller's seed alone.
        self._pf.seed(int(rng.integers(0, 2**31 - 1)))
        p = np.array(self._pf.get_random_navigable_point(), dtype=np.float64)
        if not np.all(np.isfinite(p)):
            raise SimulatorError("habitat pathfinder found no navigable point (is a navmesh loaded?)")
        return F.habitat_to_rep_points(p)

    def snap_point(self, point) -> np.ndarray:
        p = np.array(self._pf.snap_point(self._to_hab(point, "point")), dtype=np.float64)
        if not np.all(np.isfinite(p)):
            raise SimulatorError(f"no navigable point near {np.asarray(point).tolist()}")
        return F.habitat_to_rep_points(p)


def _point3(point, name: str) -> np.ndarray:
    try:
        p = np.asarray(point, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be 3 numbers, got {point!r}") from None
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        raise InvalidInputError(f"{name} must be 3 finite numbers, got {point!r}")
    return p


class HabitatSim:
    """A Habitat scene (HM3D, Replica, MP3D, any ``.glb`` with a navmesh) behind the same
    interface as ``EmbeddedSim``. Frames come out in robomem conventions.

    ``instance_ids`` are Habitat semantic ids (``SemanticObject.semantic_id``); ``labels`` map the
    ids present in a frame to ``category.name()``. Scenes without semantic annotation give
    all-zero instance images and an empty ``semantic_scene``.
    """

    def __init__(
        self,
        scene_id: str,
        *,
        scene_dataset_config_file: Optional[str] = None,
        width: int = 320,
        height: int = 240,
        hfov_deg: float = 90.0,
        sensor_height: float = 1.25,
        forward_step: float = DEFAULT_FORWARD_STEP,
        turn_deg: float = DEFAULT_TURN_DEG,
        pitch_deg: float = DEFAULT_PITCH_DEG,
        start_ns: int = DEFAULT_START_NS,
        step_ns: int = 100_000_000,
        semantic: bool = True,
        enable_physics: bool = False,
        gpu_device_id: int = 0,
        agent_radius: float = 0.1,
        agent_height: float = 1.5,
        seed: int = 0,
    ) -> None:
        if isinstance(start_ns, bool) or not isinstance(start_ns, (int, np.integer)) or start_ns < 0:
            raise SimulatorError(f"start_ns must be a non-negative integer, got {start_ns!r}")
        if isinstance(step_ns, bool) or not isinstance(step_ns, (int, np.integer)) or step_ns <= 0:
            raise SimulatorError(f"step_ns must be a positive integer, got {step_ns!r}")
        self._hs = import_habitat()
        cfg = make_configuration(
            scene_id, scene_dataset_config_file=scene_dataset_config_file, width=width, height=height,
            hfov_deg=hfov_deg, sensor_height=sensor_height, forward_step=forward_step, turn_deg=turn_deg,
            pitch_deg=pitch_deg, semantic=semantic, enable_physics=enable_physics,
            gpu_device_id=gpu_device_id, agent_radius=agent_radius, agent_height=agent_height, seed=seed)
        self._sim = self._hs.Simulator(cfg)
        self._agent = self._sim.initialize_agent(0)
        self._infer_kwarg = "infer_sensor_states" in inspect.signature(self._agent.set_state).parameters
        self._semantic = bool(semantic)
        self.intrinsics = CameraIntrinsics.from_fov(int(width), int(height), float(hfov_deg))
        self.sensor_height = float(sensor_height)
        self.clock_ns = int(start_ns)
        self.step_ns = int(step_ns)
        self._pitch_step = math.radians(pitch_deg)
        self.pathfinder = HabitatPathFinder(self._sim.pathfinder, self._hs)
        self._objects = self._read_semantic_scene()
        self._labels = {o.instance_id: o.category for o in self._objects}

    # -- ground truth ---------------------------------------------------------------------------
    def _read_semantic_scene(self) -> list[SemanticObject]:
        scene = self._sim.semantic_scene
        out: list[SemanticObject] = []
        if scene is None:
            return out
        for obj in scene.objects:
            if obj is None:
                continue
            sid = int(getattr(obj, "semantic_id", 0))
            if sid <= 0:
                continue
            cat = obj.category.name() if obj.category is not None else "unknown"
            lo, hi = habitat_aabb_to_rep(obj.aabb.center, obj.aabb.sizes)
            room = None
            region = getattr(obj, "region", None)
            if region is not None and region.category is not None:
                room = f"{region.category.name()}_{str(region.id).lstrip('_')}"
            out.append(SemanticObject(sid, cat, lo, hi, room))
        return out

    @property
    def semantic_scene(self) -> list[SemanticObject]:
        return list(self._objects)

    @property
    def habitat_simulator(self) -> Any:
        """The underlying ``habitat_sim.Simulator`` (Habitat frame!) for anything not wrapped."""
        return self._sim

    # -- agent ----------------------------------------------------------------------------------
    def _camera_pose(self) -> np.ndarray:
        s = self._agent.get_state().sensor_states[COLOR]
        return F.habitat_camera_pose_to_optical(s.position, s.rotation)

    def agent_state(self) -> AgentState:
        st = self._agent.get_state()
        pos = F.habitat_to_rep_points(np.asarray(st.position, dtype=np.float64))
        yaw = F.habitat_quat_to_yaw(st.rotation)
        fwd = self._camera_pose()[:3, 2]
        pitch = math.asin(max(-1.0, min(1.0, float(fwd[2]))))
        return AgentState(pos, yaw, pitch)

    def set_agent_state(self, state: AgentState) -> None:
        if not isinstance(state, AgentState):
            raise SimulatorError(f"set_agent_state expects an AgentState, got {type(state).__name__}")
        from habitat_sim.utils.common import quat_from_coeffs  # noqa: WPS433 (lazy, conda-only)

        hs = self._hs
        pos_hab = F.rep_to_habitat_points(state.position)
        q_agent = F.yaw_to_habitat_quat(state.yaw)
        # Sensor states are world poses; giving them explicitly (infer_sensor_states=False) is how
        # Habitat accepts a camera pitch that differs from the sensor spec's orientation.
        T_cam = F.rep_camera_pose(state.position, state.yaw, state.pitch, self.sensor_height)
        cam_pos, cam_q = F.optical_pose_to_habitat_camera(T_cam)
        new = hs.agent.AgentState()
        new.position = _vec(pos_hab)
        new.rotation = quat_from_coeffs(q_agent)
        uuids = [COLOR, DEPTH] + ([SEMANTIC] if self._semantic else [])
        new.sensor_states = {u: hs.agent.SixDOFPose(position=_vec(cam_pos), rotation=quat_from_coeffs(cam_q))
                             for u in uuids}
        if self._infer_kwarg:
            self._agent.set_state(new, reset_sensors=False, infer_sensor_states=False)
        else:
            # habitat-sim < 0.2.2: set_state has no infer_sensor_states and always applies the
            # given sensor_states.
            self._agent.set_state(new, reset_sensors=False)

    # -- sensing --------------------------------------------------------------------------------
    def _frame(self, obs: dict) -> Frame:
        rgb = np.ascontiguousarray(np.asarray(obs[COLOR])[..., :3], dtype=np.uint8)
        depth = np.asarray(obs[DEPTH], dtype=np.float32)
        ids = None
        labels: dict[int, str] = {}
        if self._semantic and SEMANTIC in obs:
            ids = np.asarray(obs[SEMANTIC]).astype(np.uint32, copy=False)
            present = np.unique(ids)
            labels = {int(i): self._labels[int(i)] for i in present if int(i) in self._labels}
        return Frame(depth=depth, intrinsics=self.intrinsics, T_world_camera=self._camera_pose(),
                     stamp_ns=self.clock_ns, rgb=rgb, instance_ids=ids, labels=labels)

    def observe(self) -> Frame:
        return self._frame(self._sim.get_sensor_observations())

    def step(self, action: str) -> StepResult:
        check_action(action)
        if action == "stop":
            self.clock_ns += self.step_ns
            return StepResult(self.observe(), False)
        if action in ("look_up", "look_down"):
            new_pitch = self.agent_state().pitch + (self._pitch_step if action == "look_up" else -self._pitch_step)
            if abs(new_pitch) >= math.pi / 2 - 1e-6:
                # Habitat would tip the camera past vertical; the contract keeps pitch in (-90, 90) deg.
                self.clock_ns += self.step_ns
                return StepResult(self.observe(), False)
        obs = self._sim.step(action)
        collided = bool(obs.get("collided", False))
        self.clock_ns += self.step_ns
        return StepResult(self._frame(obs), collided)

    def close(self) -> None:
        if self._sim is not None:
            self._sim.close()
            self._sim = None

    def __enter__(self) -> "HabitatSim":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
