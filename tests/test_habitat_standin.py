"""HabitatSim against a stand-in for ``habitat_sim``.

habitat_sim is conda-only and cannot be installed here, so this module registers a small
stand-in package that reproduces the parts of habitat_sim's Python API HabitatSim uses, with the
same agent/sensor math as habitat_sim/agent/agent.py (get_state: sensor world rotation = agent
rotation * sensor local rotation; set_state with infer_sensor_states=False: local = agent^-1 *
world) and the same default controls (turn_left = +angle about local y, look_up = +angle about the
sensor's local x, move_forward = -z). It checks HabitatSim's own logic: configuration, frame
conversion at the boundary, pitch handling, clock, pathfinder and semantic-scene conversion.
Where habitat_sim is installed, tests/test_habitat.py runs the same interface for real.
"""
import math
import sys
import types

import numpy as np
import pytest

from robomem.pose import quaternion_to_matrix
from sim import frames as F
from sim.base import AgentState, Simulator, camera_pose


# ---------------------------------------------------------------------- the stand-in package
class Quat:
    """numpy-quaternion's attribute layout (w, x, y, z) with Hamilton product and inverse."""

    def __init__(self, w=1.0, x=0.0, y=0.0, z=0.0):
        self.w, self.x, self.y, self.z = float(w), float(x), float(y), float(z)

    def __mul__(self, o):
        a = np.array([self.x, self.y, self.z, self.w])
        b = np.array([o.x, o.y, o.z, o.w])
        ax, ay, az, aw = a
        bx, by, bz, bw = b
        return Quat(aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                    aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw)

    def inverse(self):
        return Quat(self.w, -self.x, -self.y, -self.z)

    def matrix(self):
        return quaternion_to_matrix([self.x, self.y, self.z, self.w])


def _axis(axis, deg):
    h = math.radians(deg) / 2
    a = np.asarray(axis, float) * math.sin(h)
    return Quat(math.cos(h), *a)


def make_standin(old_set_state_signature=False):
    hs = types.ModuleType("habitat_sim")
    agent_mod = types.ModuleType("habitat_sim.agent")
    utils = types.ModuleType("habitat_sim.utils")
    common = types.ModuleType("habitat_sim.utils.common")
    common.quat_from_coeffs = lambda c: Quat(c[3], c[0], c[1], c[2])
    utils.common = common
    hs.utils = utils
    hs.agent = agent_mod

    class SensorType:
        COLOR, DEPTH, SEMANTIC = "COLOR", "DEPTH", "SEMANTIC"

    class CameraSensorSpec:
        def __init__(self):
            self.uuid, self.sensor_type, self.resolution, self.hfov = "", None, [480, 640], 90.0
            self.position, self.orientation = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]

    class SimulatorConfiguration:
        def __init__(self):
            self.scene_id, self.scene_dataset_config_file = "", "default"
            self.enable_physics, self.gpu_device_id, self.random_seed = False, 0, 0

    class Configuration:
        def __init__(self, sim_cfg, agents):
            self.sim_cfg, self.agents = sim_cfg, agents

    class ActuationSpec:
        def __init__(self, amount):
            self.amount = amount

    class ActionSpec:
        def __init__(self, name, actuation):
            self.name, self.actuation = name, actuation

    class AgentConfiguration:
        def __init__(self):
            self.height, self.radius, self.sensor_specifications, self.action_space = 1.5, 0.1, [], {}

    class SixDOFPose:
        def __init__(self, position=np.zeros(3), rotation=None):
            self.position, self.rotation = np.asarray(position, float), rotation or Quat()

    class HAgentState:
        def __init__(self):
            self.position, self.rotation, self.sensor_states = np.zeros(3), Quat(), {}

    class Agent:
        def __init__(self, cfg):
            self.cfg = cfg
            self.pos, self.rot = np.zeros(3), Quat()
            self.local = {s.uuid: (np.asarray(s.position, float), Quat()) for s in cfg.sensor_specifications}

        def get_state(self):
            st = HAgentState()
            st.position, st.rotation = self.pos.copy(), self.rot
            R = self.rot.matrix()
            st.sensor_states = {u: SixDOFPose(self.pos + R @ t, self.rot * q) for u, (t, q) in self.local.items()}
            return st

        def _set(self, state, reset_sensors, infer):
            self.pos, self.rot = np.asarray(state.position, float), state.rotation
            if reset_sensors:
                self.local = {s.uuid: (np.asarray(s.position, float), Quat()) for s in self.cfg.sensor_specifications}
            if not infer:
                Rinv = self.rot.inverse().matrix()
                for u, v in state.sensor_states.items():
                    self.local[u] = (Rinv @ (np.asarray(v.position, float) - self.pos), self.rot.inverse() * v.rotation)

        if old_set_state_signature:
            def set_state(self, state, reset_sensors=True, is_initial=False):
                self._set(state, reset_sensors, infer=False)
        else:
            def set_state(self, state, reset_sensors=True, infer_sensor_states=True, is_initial=False):
                self._set(state, reset_sensors, infer_sensor_states)

        def act(self, name):
            amount = self.cfg.action_space[name].actuation.amount
            if name == "move_forward":
                new = self.pos + self.rot.matrix() @ [0, 0, -amount]
                if abs(new[0]) > 4 or abs(new[2]) > 4:    # walls of the stand-in room
                    return True
                self.pos = new
            elif name in ("turn_left", "turn_right"):
                self.rot = self.rot * _axis([0, 1, 0], amount if name == "turn_left" else -amount)
            elif name in ("look_up", "look_down"):
                q = _axis([1, 0, 0], amount if name == "look_up" else -amount)
                self.local = {u: (t, r * q) for u, (t, r) in self.local.items()}
            return False

    class ShortestPath:
        def __init__(self):
            self.requested_start = self.requested_end = None
            self.points, self.geodesic_distance = [], math.inf

    class PathFinder:
        is_loaded = True

        def __init__(self):
            self.rng = np.random.default_rng(0)

        def is_navigable(self, p):
            return abs(p[0]) <= 4 and abs(p[2]) <= 4 and abs(p[1]) < 0.1

        def find_path(self, path):
            a, b = np.asarray(path.requested_start, float), np.asarray(path.requested_end, float)
            if not (self.is_navigable(a) and self.is_navigable(b)):
                return False
            path.points = [a.astype(np.float32), b.astype(np.float32)]
            path.geodesic_distance = float(np.linalg.norm(b - a))
            return True

        def seed(self, s):
            self.rng = np.random.default_rng(s)

        def get_random_navigable_point(self):
            return np.array([self.rng.uniform(-4, 4), 0.0, self.rng.uniform(-4, 4)], dtype=np.float32)

        def snap_point(self, p):
            if abs(p[0]) > 100:
                return np.array([np.nan] * 3, dtype=np.float32)
            return np.array([np.clip(p[0], -4, 4), 0.0, np.clip(p[2], -4, 4)], dtype=np.float32)

    class _Named:
        def __init__(self, name):
            self._n = name

        def name(self):
            return self._n

    class _Box:
        def __init__(self, center, sizes):
            self.center, self.sizes = np.asarray(center, np.float32), np.asarray(sizes, np.float32)

    class _Region:
        id = "_2"
        category = _Named("kitchen")

    class _Obj:
        def __init__(self, sid, cat, center, sizes):
            self.semantic_id, self.category, self.aabb, self.region = sid, _Named(cat), _Box(center, sizes), _Region()

    class _SemanticScene:
        # Habitat lists a None slot and a background object (semantic id 0) in real scenes too.
        objects = [None, _Obj(0, "background", [0, 0, 0], [1, 1, 1]), _Obj(7, "chair", [1.0, 0.5, -2.0], [0.4, 1.0, 0.2])]

    class Simulator:
        def __init__(self, cfg):
            self.cfg = cfg
            self.pathfinder = PathFinder()
            self.semantic_scene = _SemanticScene()
            self._agent = None
            self.closed = False

        def initialize_agent(self, i):
            self._agent = Agent(self.cfg.agents[0])
            return self._agent

        def get_sensor_observations(self):
            H, W = self.cfg.agents[0].sensor_specifications[0].resolution
            sem = np.zeros((H, W), np.uint32)
            sem[: H // 2] = 7
            sem[-1, -1] = 42   # an id without annotation: no label
            return {"color": np.full((H, W, 4), 200, np.uint8), "depth": np.full((H, W), 2.5, np.float32),
                    "semantic": sem}

        def step(self, action):
            collided = self._agent.act(action)
            obs = self.get_sensor_observations()
            obs["collided"] = collided
            return obs

        def close(self):
            self.closed = True

    for name, obj in dict(SensorType=SensorType, CameraSensorSpec=CameraSensorSpec,
                          SimulatorConfiguration=SimulatorConfiguration, Configuration=Configuration,
                          Simulator=Simulator, ShortestPath=ShortestPath).items():
        setattr(hs, name, obj)
    for name, obj in dict(ActuationSpec=ActuationSpec, ActionSpec=ActionSpec, AgentConfiguration=AgentConfiguration,
                          SixDOFPose=SixDOFPose, AgentState=HAgentState).items():
        setattr(agent_mod, name, obj)
    return {"habitat_sim": hs, "habitat_sim.agent": agent_mod, "habitat_sim.utils": utils,
            "habitat_sim.utils.common": common}


@pytest.fixture(params=[False, True], ids=["api-0.2.2+", "api-old-set_state"])
def env(request, monkeypatch):
    for name, mod in make_standin(old_set_state_signature=request.param).items():
        monkeypatch.setitem(sys.modules, name, mod)
    from sim.habitat import HabitatSim

    s = HabitatSim("standin.glb", width=33, height=25, hfov_deg=90, sensor_height=1.25, start_ns=1000, step_ns=50)
    yield s
    s.close()


# ---------------------------------------------------------------------- tests
def test_configuration_and_contract(env):
    assert isinstance(env, Simulator)
    cfg = env.habitat_simulator.cfg
    specs = cfg.agents[0].sensor_specifications
    assert [s.uuid for s in specs] == ["color", "depth", "semantic"]
    assert all(s.resolution == [25, 33] and s.position == [0.0, 1.25, 0.0] for s in specs)
    assert cfg.agents[0].action_space["turn_left"].actuation.amount == 10.0
    assert cfg.sim_cfg.scene_id == "standin.glb"


def test_observe_converts_to_robomem_frame(env):
    f = env.observe()
    assert f.rgb.shape == (25, 33, 3) and f.rgb.dtype == np.uint8
    assert f.depth.dtype == np.float32 and f.instance_ids.dtype == np.uint32
    assert f.labels == {7: "chair"} and f.stamp_ns == 1000
    np.testing.assert_allclose(f.T_world_camera, camera_pose(AgentState(np.zeros(3), 0.0), 1.25), atol=1e-9)


@pytest.mark.parametrize("yaw,pitch", [(0.0, 0.0), (0.7, 0.2), (-2.5, -0.4)])
def test_state_round_trip_matches_contract_camera(env, yaw, pitch):
    target = AgentState(np.array([1.0, -2.0, 0.0]), yaw, pitch)
    env.set_agent_state(target)
    back = env.agent_state()
    np.testing.assert_allclose(back.position, target.position, atol=1e-9)
    assert math.isclose(math.remainder(back.yaw - yaw, 2 * math.pi), 0.0, abs_tol=1e-9)
    assert math.isclose(back.pitch, pitch, abs_tol=1e-9)
    np.testing.assert_allclose(env.observe().T_world_camera, camera_pose(target, 1.25), atol=1e-9)
    # The Habitat-side agent really is where the REP-103 state says.
    st = env.habitat_simulator._agent.get_state()
    np.testing.assert_allclose(st.position, F.rep_to_habitat_points(target.position), atol=1e-9)


def test_actions_move_in_rep103(env):
    env.set_agent_state(AgentState(np.zeros(3), 0.0))
    r = env.step("move_forward")
    assert not r.collided and r.frame.stamp_ns == 1050 and env.clock_ns == 1050
    np.testing.assert_allclose(env.agent_state().position, [0.25, 0.0, 0.0], atol=1e-9)   # +x is forward
    env.step("turn_left")
    assert math.isclose(env.agent_state().yaw, math.radians(10), abs_tol=1e-9)
    env.step("move_forward")
    p = env.agent_state().position
    assert p[1] > 0   # after a left turn, forward has a +y (left) component
    env.step("look_up")
    assert math.isclose(env.agent_state().pitch, math.radians(10), abs_tol=1e-9)
    np.testing.assert_allclose(env.observe().T_world_camera, camera_pose(env.agent_state(), 1.25), atol=1e-9)
    for _ in range(12):   # the contract keeps pitch inside (-90, 90) degrees
        env.step("look_up")
    assert env.agent_state().pitch < math.pi / 2
    assert math.isclose(env.agent_state().pitch, math.radians(80), abs_tol=1e-9)
    env.step("stop")
    env.set_agent_state(AgentState(np.array([3.9, 0.0, 0.0]), 0.0))
    assert env.step("move_forward").collided
    np.testing.assert_allclose(env.agent_state().position, [3.9, 0.0, 0.0], atol=1e-9)
    with pytest.raises(ValueError, match="unknown action"):
        env.step("jump")


def test_pathfinder_and_semantic_scene_in_rep103(env):
    pf = env.pathfinder
    assert pf.is_navigable([1.0, 2.0, 0.0]) and not pf.is_navigable([9.0, 0.0, 0.0])
    pts, d = pf.find_path([0.0, 0.0, 0.0], [3.0, 4.0, 0.0])
    np.testing.assert_allclose(pts[-1], [3.0, 4.0, 0.0], atol=1e-6)
    assert math.isclose(d, 5.0, rel_tol=1e-6) and math.isclose(pf.geodesic_distance([0, 0, 0], [3, 4, 0]), 5.0, rel_tol=1e-6)
    pts, d = pf.find_path([0.0, 0.0, 0.0], [30.0, 0.0, 0.0])
    assert d == math.inf and pts.shape == (0, 3)
    a = pf.sample_navigable_point(np.random.default_rng(5))
    b = pf.sample_navigable_point(np.random.default_rng(5))
    np.testing.assert_allclose(a, b)
    assert a[2] == 0.0 and pf.is_navigable(a)
    np.testing.assert_allclose(pf.snap_point([9.0, 0.5, 0.0]), [4.0, 0.5, 0.0], atol=1e-6)
    with pytest.raises(ValueError, match="no navigable point"):
        pf.snap_point([0.0, -500.0, 0.0])
    with pytest.raises(ValueError, match="3 finite numbers"):
        pf.is_navigable([1.0, float("nan"), 0.0])
    objs = env.semantic_scene
    assert [(o.instance_id, o.category, o.room) for o in objs] == [(7, "chair", "kitchen_2")]
    np.testing.assert_allclose(objs[0].bbox_min, [1.9, -1.2, 0.0], atol=1e-6)
    np.testing.assert_allclose(objs[0].bbox_max, [2.1, -0.8, 1.0], atol=1e-6)


def test_bad_settings_rejected(monkeypatch):
    for name, mod in make_standin().items():
        monkeypatch.setitem(sys.modules, name, mod)
    from sim.habitat import HabitatSim

    with pytest.raises(ValueError, match="hfov"):
        HabitatSim("x.glb", hfov_deg=200)
    with pytest.raises(ValueError, match="width"):
        HabitatSim("x.glb", width=0)
    with pytest.raises(ValueError, match="step_ns"):
        HabitatSim("x.glb", step_ns=0)
    s = HabitatSim("x.glb", width=8, height=6)
    with pytest.raises(ValueError, match="AgentState"):
        s.set_agent_state((0, 0, 0))
    s.close()
    assert s.habitat_simulator is None
