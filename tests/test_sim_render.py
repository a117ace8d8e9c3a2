"""EmbeddedSim: geometry of rendered frames, labels, actions, clock, scene edits."""
import math

import numpy as np
import open3d as o3d
import pytest

import sim
from robomem.frame import Frame
from sim.categories import CATEGORY_INDEX
from sim.embedded import EmbeddedSim, build_geometry
from sim.houses import generate_house
from tests.sim_fixtures import two_rooms


def at(x, y, yaw=0.0, pitch=0.0):
    return sim.AgentState(np.array([x, y, 0.0]), yaw, pitch)


def test_depth_of_a_known_wall_and_the_pose_convention():
    s = two_rooms()
    with EmbeddedSim(s, width=64, height=48, initial_state=at(3.0, 1.5, math.pi)) as env:
        f = env.observe()
        assert isinstance(f, Frame) and isinstance(env, sim.Simulator)
        # Inner face of the x = 0 wall is at x = 0.05; every wall pixel has z-depth 2.95.
        ids = f.instance_ids
        wall = np.array([f.labels[int(i)] == "wall" for i in ids.reshape(-1)]).reshape(ids.shape)
        centre = f.depth[20:28, 28:36]
        assert wall[20:28, 28:36].all()
        assert np.abs(centre - 2.95).max() < 1e-4
        # Optical frame for yaw = pi: looking along -x, image right = +y, image down = -z.
        T = f.T_world_camera
        assert T[:3, 2] == pytest.approx([-1, 0, 0], abs=1e-12)
        assert T[:3, 0] == pytest.approx([0, 1, 0], abs=1e-12)
        assert T[:3, 1] == pytest.approx([0, 0, -1], abs=1e-12)
        assert T[2, 3] == pytest.approx(env.sensor_height)
        # Floor below the horizon: bottom row is floor, top row ceiling.
        assert set(f.labels[int(i)] for i in ids[-1, 16:48]) == {"floor"}
        assert set(f.labels[int(i)] for i in ids[0, 16:48]) == {"ceiling"}
    pose = sim.camera_pose(at(0, 0, 0.0, math.radians(30)), 1.0)
    assert pose[:3, 2] == pytest.approx([math.cos(math.radians(30)), 0, math.sin(math.radians(30))])


def test_known_object_at_the_image_centre_and_semantic_image():
    s = two_rooms()
    wardrobe = s.add_object("wardrobe", (3.0, 1.5), yaw=math.pi / 2)
    with EmbeddedSim(s, width=65, height=49, initial_state=at(1.0, 1.5, 0.0)) as env:
        obs = env.render()
        f = obs.frame
        assert f.instance_ids[24, 32] == wardrobe.instance_id
        assert f.labels[wardrobe.instance_id] == "wardrobe"
        # Yawed by 90 deg, the wardrobe's 1.6 m local y extent runs along world x: front face at
        # x = 3 - 0.8 = 2.2, 1.2 m from the camera.
        assert f.depth[24, 32] == pytest.approx(3.0 - 0.8 - 1.0, abs=1e-4)
        assert not f.missing_labels()
        lut = np.zeros(max(f.labels) + 1, dtype=np.uint16)
        for iid, cat in f.labels.items():
            lut[iid] = CATEGORY_INDEX[cat]
        assert np.array_equal(obs.semantic, lut[f.instance_ids])


def test_backprojected_depth_lands_on_the_mesh_within_1mm():
    scene = generate_house(2)
    g = build_geometry(scene)
    rcs = o3d.t.geometry.RaycastingScene()
    rcs.add_triangles(o3d.core.Tensor(g.vertices.astype(np.float32)), o3d.core.Tensor(g.triangles.astype(np.uint32)))
    env = EmbeddedSim(scene, width=96, height=72, hfov_deg=80, seed=2)
    rng = np.random.default_rng(0)
    worst = 0.0
    n = 0
    for k in range(5):
        st = env.agent_state()
        st.position = env.pathfinder.sample_navigable_point(rng)
        st.yaw = float(rng.uniform(-math.pi, math.pi))
        st.pitch = float(rng.uniform(-0.5, 0.5))
        f = env.render(st).frame
        P = f.points_world  # robomem CameraIntrinsics.backproject + pose
        d = rcs.compute_distance(o3d.core.Tensor(P.astype(np.float32))).numpy()
        worst = max(worst, float(d.max()))
        n += len(P)
    assert n > 5 * 96 * 72 * 0.9
    assert worst < 1e-3


def test_actions_clock_and_collisions():
    s = two_rooms()
    env = EmbeddedSim(s, width=32, height=24, initial_state=at(1.0, 1.5, math.pi), step_ns=50_000_000)
    t0 = env.clock_ns
    assert t0 == sim.DEFAULT_START_NS
    r = env.step("move_forward")
    assert not r.collided and env.agent_state().position[:2] == pytest.approx([0.75, 1.5])
    assert r.frame.stamp_ns == t0 + 50_000_000 == env.clock_ns
    hits = [env.step("move_forward").collided for _ in range(4)]
    assert hits[-1] and hits[-2]
    x = env.agent_state().position[0]
    # Stopped by the wall (inner face x = 0.05) at about one agent radius (0.18 m), never inside it.
    assert 0.05 + 0.18 - 1e-9 <= x <= 0.05 + 0.18 + 0.06
    env.step("turn_left")
    assert env.agent_state().yaw == pytest.approx(math.remainder(math.pi + math.radians(10), 2 * math.pi))
    env.step("look_up")
    env.step("look_up")
    assert env.agent_state().pitch == pytest.approx(math.radians(20))
    assert env.step("stop").frame.T_world_camera[2, 2] > 0  # looking up
    with pytest.raises(sim.SimulatorError, match="fly"):
        env.step("fly")
    # Sliding: a step diagonally into the wall still moves along it and reports the collision.
    env.set_agent_state(at(0.3, 1.5, math.radians(135)))
    r = env.step("move_forward")
    p = env.agent_state().position
    assert r.collided and p[1] > 1.55 and env.pathfinder.is_navigable(p)


def test_scene_edits_are_rendered():
    s = two_rooms()
    table = s.add_object("table", (2.0, 1.5), size=(0.8, 0.8, 0.75))
    counter = s.add_object("counter", (6.6, 1.5))
    book = s.place_object_on("book", f"{table.instance_id}/top", position=(2.0, 1.5), yaw=0.0)
    env = EmbeddedSim(s, width=80, height=60, initial_state=at(1.0, 1.5, 0.0, -0.6))
    assert book.instance_id in env.observe().labels
    s.move_object(book.instance_id, f"{counter.instance_id}/top")
    assert book.instance_id not in env.observe().labels
    semantic = {o.instance_id: o for o in env.semantic_scene}
    assert semantic[book.instance_id].room == "kitchen"
    with pytest.raises(sim.SimulatorError):
        EmbeddedSim(s, sensor_height=-1)


def test_loaded_glb_part_renders_with_its_instance():
    from pathlib import Path

    from sim.meshes import scene_from_mesh_file

    path = Path(__file__).parent / "data" / "habitat-test-assets" / "simple_room.glb"
    scene = scene_from_mesh_file(path, {"Cube.002": "table"}, up="z")
    (top,) = scene.objects.values()
    lo, hi = top.bbox()
    z = float((lo[2] + hi[2]) / 2)
    env = EmbeddedSim(scene, width=33, height=25, initial_state=sim.AgentState(np.array([-3.0, 0.25, 0.0]), 0.0),
                      sensor_height=z)
    f = env.observe()
    assert f.instance_ids[12, 16] == top.instance_id and f.labels[top.instance_id] == "table"
    assert f.depth[12, 16] == pytest.approx(lo[0] + 3.0, abs=1e-4)
    assert top.name == "Cube.002"


def test_agent_state_and_settings_are_validated():
    with pytest.raises(sim.SimulatorError, match="position"):
        sim.AgentState(np.array([0.0, np.nan, 0.0]), 0.0)
    with pytest.raises(sim.SimulatorError, match="pitch"):
        sim.AgentState(np.zeros(3), 0.0, 2.0)
    env = EmbeddedSim(two_rooms(), width=16, height=12)
    with pytest.raises(sim.SimulatorError, match="AgentState"):
        env.set_agent_state((1.0, 1.0, 0.0))
    with pytest.raises(ValueError, match="hfov"):
        EmbeddedSim(two_rooms(), hfov_deg=200)
    env.close()
    with pytest.raises(sim.SimulatorError, match="closed"):
        env.observe()
