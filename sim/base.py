"""The simulator contract shared by every backend (embedded Open3D, Habitat) and their users.

Conventions (see docs/simulation.md): REP-103 world (x forward, y left, z up, metres); a frame's
``T_world_camera`` is the *optical* camera pose (z forward, x right, y down). For yaw = 0 and
pitch = 0 the camera looks along world +x, image right is world -y and image down is world -z.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Protocol, runtime_checkable

import numpy as np

from robomem.camera import CameraIntrinsics
from robomem.errors import InvalidInputError
from robomem.frame import Frame
from robomem.pose import R_BODY_OPTICAL

#: Discrete actions every backend accepts.
ACTIONS = ("move_forward", "turn_left", "turn_right", "look_up", "look_down", "stop")

#: Default start of the simulated clock: 2026-11-02T08:00:00Z in ns since the epoch.
DEFAULT_START_NS = 1_793_606_400 * 1_000_000_000

#: Default discrete action sizes.
DEFAULT_FORWARD_STEP = 0.25
DEFAULT_TURN_DEG = 10.0
DEFAULT_PITCH_DEG = 10.0


class SimulatorError(InvalidInputError):
    """A simulator was given an invalid action, state or setting. Nothing was changed."""


@dataclass
class AgentState:
    """Where the agent is: its base on the floor (REP-103 world), heading and camera pitch."""

    position: np.ndarray  # (3,) float64; z = floor height under the agent
    yaw: float  # radians about +z; 0 = looking along +x
    pitch: float = 0.0  # camera pitch, radians; + = looking up

    def __post_init__(self) -> None:
        try:
            p = np.array(self.position, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise SimulatorError(f"AgentState.position must be 3 numbers, got {self.position!r}") from None
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            raise SimulatorError(f"AgentState.position must be 3 finite numbers, got {self.position!r}")
        for name in ("yaw", "pitch"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v):
                raise SimulatorError(f"AgentState.{name} must be a finite number (radians), got {v!r}")
        if abs(self.pitch) >= math.pi / 2:
            raise SimulatorError(f"AgentState.pitch must be within (-pi/2, pi/2), got {self.pitch}")
        self.position = p
        self.yaw = float(math.remainder(float(self.yaw), 2 * math.pi))
        self.pitch = float(self.pitch)

    def copy(self) -> "AgentState":
        return AgentState(self.position.copy(), self.yaw, self.pitch)


@dataclass
class StepResult:
    """What one discrete action produced: the new view and whether the motion was blocked."""

    frame: Frame
    collided: bool


@dataclass(frozen=True)
class SemanticObject:
    """One object of the simulated world as ground truth: id, category, world AABB, room."""

    instance_id: int
    category: str
    bbox_min: np.ndarray
    bbox_max: np.ndarray
    room: Optional[str] = None

    @property
    def center(self) -> np.ndarray:
        return (np.asarray(self.bbox_min) + np.asarray(self.bbox_max)) / 2.0


@runtime_checkable
class PathFinder(Protocol):
    """Navigation queries for a cylindrical agent on the floor. Points are (3,) REP-103 world."""

    def is_navigable(self, point: np.ndarray) -> bool: ...

    def find_path(self, start: np.ndarray, goal: np.ndarray) -> tuple[np.ndarray, float]:
        """(N, 3) waypoints and the geodesic length; (empty (0, 3), inf) when no path exists."""
        ...

    def geodesic_distance(self, start: np.ndarray, goal: np.ndarray) -> float: ...

    def sample_navigable_point(self, rng: np.random.Generator) -> np.ndarray: ...

    def snap_point(self, point: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Simulator(Protocol):
    """What robomem needs from a simulator. ``EmbeddedSim`` and ``HabitatSim`` implement it."""

    intrinsics: CameraIntrinsics
    sensor_height: float
    clock_ns: int
    pathfinder: PathFinder

    @property
    def semantic_scene(self) -> list[SemanticObject]: ...

    def agent_state(self) -> AgentState: ...

    def set_agent_state(self, state: AgentState) -> None: ...

    def observe(self) -> Frame: ...

    def step(self, action: str) -> StepResult: ...

    def close(self) -> None: ...


def check_action(action: str) -> str:
    """Return ``action`` if it is one of :data:`ACTIONS`, else raise :class:`SimulatorError`."""
    if action not in ACTIONS:
        raise SimulatorError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    return action


def camera_pose(state: AgentState, sensor_height: float) -> np.ndarray:
    """Optical camera pose ``T_world_camera`` (4, 4) of an agent state, camera ``sensor_height``
    metres above the agent base. Pitch rotates about the body's left axis (+ = looking up)."""
    cy, sy = math.cos(state.yaw), math.sin(state.yaw)
    cp, sp = math.cos(state.pitch), math.sin(state.pitch)
    R_world_body = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    # Rotation about body +y by -pitch tips the forward axis up for positive pitch.
    R_pitch = np.array([[cp, 0.0, -sp], [0.0, 1.0, 0.0], [sp, 0.0, cp]])
    T = np.eye(4)
    T[:3, :3] = _matmul3(_matmul3(R_world_body, R_pitch), R_BODY_OPTICAL)
    T[:3, 3] = state.position + (0.0, 0.0, float(sensor_height))
    return T


def _matmul3(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    # Elementwise 3x3 product: keeps BLAS (and its thread pool) out of the per-frame path.
    return (A[:, :, None] * B[None, :, :]).sum(axis=1)
