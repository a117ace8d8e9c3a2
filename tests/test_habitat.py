"""HabitatSim. The parts that need habitat_sim skip when it is not importable (it is conda-only);
the import guard and the box conversion run everywhere."""
import math
from pathlib import Path

import numpy as np
import pytest

from sim import frames as F
from sim.base import AgentState, Simulator
from sim.habitat import (HabitatSim, HabitatUnavailableError, habitat_aabb_to_rep, habitat_available,
                         import_habitat)

HAVE_HABITAT = habitat_available()
needs_habitat = pytest.mark.skipif(not HAVE_HABITAT, reason="habitat_sim is not importable (conda-only)")
SIMPLE_ROOM = Path(__file__).parent / "data" / "habitat-test-assets" / "simple_room.glb"


@pytest.mark.skipif(HAVE_HABITAT, reason="habitat_sim is installed")
def test_missing_habitat_gives_install_hint():
    with pytest.raises(HabitatUnavailableError, match="conda install habitat-sim"):
        import_habitat()
    with pytest.raises(ImportError, match="EmbeddedSim"):
        HabitatSim(str(SIMPLE_ROOM))


def test_aabb_conversion_stays_axis_aligned():
    lo, hi = habitat_aabb_to_rep([1.0, 0.5, -2.0], [0.4, 1.0, 0.2])
    # Habitat x in [0.8, 1.2], y in [0, 1], z in [-2.1, -1.9] -> REP x = -z, y = -x, z = y.
    np.testing.assert_allclose(lo, [1.9, -1.2, 0.0])
    np.testing.assert_allclose(hi, [2.1, -0.8, 1.0])
    corners = np.array([[x, y, z] for x in (0.8, 1.2) for y in (0.0, 1.0) for z in (-2.1, -1.9)])
    rep = F.habitat_to_rep_points(corners)
    np.testing.assert_allclose(rep.min(0), lo)
    np.testing.assert_allclose(rep.max(0), hi)


@pytest.fixture
def hsim():
    s = HabitatSim(str(SIMPLE_ROOM), width=65, height=49, semantic=False)  # odd: centre pixel on the axis
    yield s
    s.close()


@needs_habitat
def test_habitat_implements_contract(hsim):
    assert isinstance(hsim, Simulator)
    f = hsim.observe()
    assert f.rgb.shape == (49, 65, 3) and f.depth.dtype == np.float32
    assert np.isfinite(f.depth).any()


@needs_habitat
def test_habitat_state_round_trip_and_clock(hsim):
    s0 = hsim.agent_state()
    target = AgentState(s0.position, 0.7, 0.2)
    hsim.set_agent_state(target)
    back = hsim.agent_state()
    np.testing.assert_allclose(back.position, s0.position, atol=1e-5)
    assert math.isclose(back.yaw, 0.7, abs_tol=1e-5) and math.isclose(back.pitch, 0.2, abs_tol=1e-5)
    from sim.base import camera_pose
    np.testing.assert_allclose(hsim.observe().T_world_camera, camera_pose(target, hsim.sensor_height), atol=1e-5)
    t0 = hsim.clock_ns
    r = hsim.step("turn_left")
    assert hsim.clock_ns > t0 and r.frame.stamp_ns == hsim.clock_ns
    assert math.isclose(math.remainder(hsim.agent_state().yaw - 0.7 - math.radians(10), 2 * math.pi), 0, abs_tol=1e-4)


@needs_habitat
def test_habitat_depth_matches_geometry(hsim):
    # The depth at the principal point equals the distance Habitat's own ray cast reports along
    # the converted optical axis: checks the pose conversion against Habitat's geometry.
    hsim.set_agent_state(AgentState(hsim.agent_state().position, 0.0, 0.0))
    f = hsim.observe()
    d = float(f.depth[f.depth.shape[0] // 2, f.depth.shape[1] // 2])
    hab = hsim.habitat_simulator
    import habitat_sim
    cam = f.T_world_camera
    origin = F.rep_to_habitat_points(cam[:3, 3])
    direction = F.R_HAB_REP @ cam[:3, 2]
    try:
        hits = hab.cast_ray(habitat_sim.geo.Ray(origin.astype(np.float32), direction.astype(np.float32)))
    except Exception as exc:  # ray casting needs a physics backend in some builds
        pytest.skip(f"cast_ray unavailable: {exc}")
    assert hits.has_hits() and d > 0
    assert abs(hits.hits[0].ray_distance - d) < 0.02
