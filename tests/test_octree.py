"""OccupancyOctree: update rules, max range, queries, decay, persistence and bad input."""
from __future__ import annotations

import numpy as np
import pytest

from robomem.camera import CameraIntrinsics
from robomem.errors import InvalidImageError, InvalidInputError, InvalidMapError, InvalidPoseError
from robomem.mapping import FREE, OCCUPIED, UNKNOWN, Decay, OccupancyGrid2D, OccupancyOctree
from robomem.mapping import octree as octree_module
from robomem.mapping.logodds import logodds
from robomem.pose import R_BODY_OPTICAL

RES = 0.1
HIT, MISS = logodds(0.7), logodds(0.4)
LMIN, LMAX = logodds(0.12), logodds(0.97)


def wall_points(x=2.0, half=0.5, step=0.02):
    """A dense square patch of points on the plane x = ``x`` (centred on the x axis)."""
    g = np.arange(-half, half + 1e-9, step)
    yy, zz = np.meshgrid(g, g)
    return np.stack([np.full(yy.size, x), yy.ravel(), zz.ravel()], axis=1)


def snapshot(m: OccupancyOctree):
    keys, vals = m.leaves()
    order = np.lexsort(keys.T)
    return keys[order], vals[order], m.update_count


def assert_same_map(a, b):
    ka, va, ua = a
    kb, vb, ub = b
    assert ua == ub
    np.testing.assert_array_equal(ka, kb)
    np.testing.assert_array_equal(va, vb)


# ---------------------------------------------------------------- update rules
def test_single_ray_log_odds_and_states():
    m = OccupancyOctree(RES)
    m.insert_points(np.array([[1.05, 0.05, 0.05]]), (0.05, 0.05, 0.05))
    assert m.logodds_at([[1.05, 0.05, 0.05]])[0] == HIT
    free = np.array([[x, 0.05, 0.05] for x in np.arange(0.05, 1.0, RES)])
    assert np.all(m.logodds_at(free) == MISS)
    assert m.state_at([[1.05, 0.05, 0.05]])[0] == OCCUPIED
    assert np.all(m.state_at(free) == FREE)
    assert m.state_at([[1.15, 0.05, 0.05]])[0] == UNKNOWN  # behind the surface
    assert np.isnan(m.probability_at([[5.0, 5.0, 5.0]])[0])
    assert m.probability_at([[1.05, 0.05, 0.05]])[0] == pytest.approx(0.7, abs=1e-6)
    assert m.counts() == {"free": 10, "occupied": 1, "known": 11, "blocks": 2}


def test_each_cell_updated_once_per_scan_and_endpoints_win():
    m = OccupancyOctree(RES)
    # Two returns in one voxel, and a ray whose path crosses the first endpoint voxel.
    pts = np.array([[1.02, 0.05, 0.05], [1.08, 0.06, 0.04], [2.05, 0.05, 0.05]])
    m.insert_points(pts, (0.05, 0.05, 0.05))
    assert m.logodds_at([[1.05, 0.05, 0.05]])[0] == HIT  # one hit, not two, and not also a miss
    assert m.logodds_at([[0.55, 0.05, 0.05]])[0] == MISS  # crossed by three rays, one miss


def test_clamping_and_threshold():
    m = OccupancyOctree(RES)
    for _ in range(12):
        m.insert_points(np.array([[1.05, 0.05, 0.05]]), (0.05, 0.05, 0.05))
    assert m.logodds_at([[1.05, 0.05, 0.05]])[0] == LMAX
    assert m.logodds_at([[0.55, 0.05, 0.05]])[0] == LMIN
    # float32 accumulation exactly as OctoMap: hit + hit
    m2 = OccupancyOctree(RES)
    for _ in range(2):
        m2.insert_points(np.array([[1.05, 0.05, 0.05]]), (0.05, 0.05, 0.05))
    assert m2.logodds_at([[1.05, 0.05, 0.05]])[0] == np.float32(HIT + HIT)
    # A stricter threshold makes a single hit (p = 0.7) count as free.
    strict = OccupancyOctree(RES, occupancy_threshold=0.8)
    strict.insert_points(np.array([[1.05, 0.05, 0.05]]), (0.05, 0.05, 0.05))
    assert strict.state_at([[1.05, 0.05, 0.05]])[0] == FREE
    assert len(strict.occupied_voxels()) == 0


def test_custom_sensor_model():
    m = OccupancyOctree(RES, prob_hit=0.9, prob_miss=0.3, clamp_min=0.2, clamp_max=0.95)
    m.insert_points(np.array([[0.55, 0.05, 0.05]]), (0.05, 0.05, 0.05))
    assert m.logodds_at([[0.55, 0.05, 0.05]])[0] == logodds(0.9)
    assert m.logodds_at([[0.25, 0.05, 0.05]])[0] == logodds(0.3)


# ---------------------------------------------------------------- max range
@pytest.mark.parametrize("discretize", [False, True])
def test_max_range_clears_but_marks_nothing(discretize):
    m = OccupancyOctree(RES, max_range=1.0)
    m.insert_points(np.array([[3.05, 0.05, 0.05]]), (0.05, 0.05, 0.05), discretize=discretize)
    assert len(m.occupied_voxels()) == 0
    assert m.state_at([[0.55, 0.05, 0.05]])[0] == FREE
    assert m.state_at([[3.05, 0.05, 0.05]])[0] == UNKNOWN
    assert m.state_at([[2.05, 0.05, 0.05]])[0] == UNKNOWN
    free_x = m.free_voxels()[:, 0]
    assert free_x.max() < 1.05 + 1e-9  # cleared up to max range, the voxel at max range excluded
    # a per-call max range overrides the map's
    m.insert_points(np.array([[3.05, 0.05, 0.05]]), (0.05, 0.05, 0.05), max_range=-1, discretize=discretize)
    assert m.state_at([[3.05, 0.05, 0.05]])[0] == OCCUPIED


def test_discretized_matches_exact_for_one_point_per_voxel():
    pts = np.array([[1.05, 0.45, 0.15], [1.05, -0.35, 0.25], [1.55, 0.05, -0.45]])
    a, b = OccupancyOctree(RES), OccupancyOctree(RES)
    a.insert_points(pts, (0.05, 0.05, 0.05))
    b.insert_points(pts, (0.05, 0.05, 0.05), discretize=True)
    assert_same_map(snapshot(a), snapshot(b))


# ---------------------------------------------------------------- queries
def test_multi_resolution_max_child_rule():
    m = OccupancyOctree(RES)
    keys = np.array([[32768, 32768, 32768], [32769, 32768, 32768], [32770, 32768, 32768]])
    m._set_voxels(keys, np.array([LMIN, LMAX, LMIN], dtype=np.float32))
    # depth 15 parents: (16384,16384,16384) holds one free + one occupied child -> occupied;
    # (16385, 16384, 16384) holds one free child -> free
    occ = m.occupied_voxels(depth=15)
    free = m.free_voxels(depth=15)
    np.testing.assert_allclose(occ, [[0.1, 0.1, 0.1]])
    np.testing.assert_allclose(free, [[0.3, 0.1, 0.1]])
    assert m.voxel_size(15) == pytest.approx(0.2)
    # coarser still: everything in one occupied node
    assert len(m.occupied_voxels(depth=12)) == 1 and len(m.free_voxels(depth=12)) == 0
    keys12, vals12 = m.voxels_at_depth(12)
    assert vals12[0] == LMAX
    with pytest.raises(InvalidInputError):
        m.occupied_voxels(depth=0)
    with pytest.raises(InvalidInputError):
        m.occupied_voxels(depth=17)


def test_bbox_queries():
    m = OccupancyOctree(RES)
    m.insert_points(wall_points(), (0.0, 0.0, 0.0))
    occ = m.occupied_voxels()
    inside = m.occupied_voxels((1.9, 0.0, 0.0), (2.2, 0.3, 0.3))
    assert 0 < len(inside) < len(occ)
    assert np.all((inside >= [1.9, 0.0, 0.0]) & (inside <= [2.2 + RES, 0.3 + RES, 0.3 + RES]))
    free_in = m.free_voxels((0.0, -0.1, -0.1), (1.0, 0.1, 0.1))
    assert len(free_in) > 0 and np.all(free_in[:, 0] <= 1.05 + 1e-9)


def test_frontiers():
    m = OccupancyOctree(RES)
    g = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3) + 32768
    m._set_voxels(g, np.full(len(g), LMIN, dtype=np.float32))
    f = m.frontiers()
    assert len(f) == 26  # every voxel of the 3x3x3 free cube but the centre touches unknown space
    centre = np.array([0.15, 0.15, 0.15])
    assert not np.any(np.all(np.isclose(f, centre), axis=1))
    # an occupied voxel is never a frontier
    m._set_voxels(np.array([[32768, 32768, 32768]]), np.array([LMAX], np.float32))
    assert len(m.frontiers()) == 25
    assert len(m.frontiers(bbox=((0.0, 0.0, 0.0), (0.09, 0.29, 0.29)))) == 8  # the x = 0 layer


def test_cast_ray():
    m = OccupancyOctree(RES)
    m.insert_points(wall_points(), (0.0, 0.0, 0.0))
    hit = m.cast_ray((0.0, 0.0, 0.0), (1.0, 0.0, 0.0))
    assert hit is not None and hit[0] == pytest.approx(2.05)
    assert m.cast_ray((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), max_range=1.0) is None
    assert m.cast_ray((0.0, 0.0, 0.0), (-1.0, 0.0, 0.0), max_range=5.0) is None
    # unknown stops the ray when not ignored (space behind the sensor is unknown)
    assert m.cast_ray((0.0, 0.0, 0.0), (-1.0, 0.0, 0.0), ignore_unknown=False) is None
    with pytest.raises(InvalidInputError):
        m.cast_ray((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))


def test_changed_since():
    m = OccupancyOctree(RES)
    origin = (0.0, 0.0, 0.0)
    m.insert_points(wall_points(2.0), origin)
    first = m.update_count
    assert len(m.changed_since(0)) == m.num_voxels
    m.insert_points(wall_points(2.0), origin)
    assert len(m.changed_since(first)) == 0  # same observation: no state changes
    mark = m.update_count
    for _ in range(5):  # the wall moved back: 2 hits are undone by 5 misses
        m.insert_points(wall_points(3.0), origin)
    pts, states = m.changed_since(mark, return_states=True)
    assert len(pts) > 0
    old_wall = np.isclose(pts[:, 0], 2.05)
    assert old_wall.any() and np.all(states[old_wall] == FREE)
    assert np.any(np.isclose(pts[:, 0], 3.05) & (states == OCCUPIED))


def test_project_2d():
    m = OccupancyOctree(RES)
    m.insert_points(wall_points(2.0), (0.0, 0.0, 0.0))
    grid = m.project_2d(-0.2, 0.2)
    assert isinstance(grid, OccupancyGrid2D)
    assert grid.value_at([[2.05, 0.05]])[0] == 100
    assert grid.value_at([[1.0, 0.0]])[0] == 0
    assert grid.value_at([[2.5, 0.0]])[0] == -1  # behind the wall (outside the grid)
    assert grid.occupied_mask.sum() > 0 and grid.free_mask.sum() > 0
    r, c = grid.world_to_cell(np.array([[2.05, 0.05]]))
    np.testing.assert_allclose(grid.cell_to_world(np.stack([r, c], 1)), [[2.05, 0.05]])
    fixed = m.project_2d(-0.2, 0.2, bbox=(-1.0, -1.0, 3.0, 1.0))
    assert fixed.data.shape == (20, 40)  # 2 m x 4 m at 0.1 m
    assert fixed.value_at([[2.05, 0.05]])[0] == 100
    with pytest.raises(InvalidInputError):
        m.project_2d(1.0, 0.0)


def test_memory_and_counts():
    m = OccupancyOctree(RES)
    assert m.num_voxels == 0
    m.insert_points(wall_points(), (0.0, 0.0, 0.0))
    c = m.counts()
    assert c["known"] == c["free"] + c["occupied"] == m.num_voxels > 0
    assert m.memory_bytes >= c["blocks"] * 512 * 6  # float32 log-odds + uint16 change index per voxel
    assert "OccupancyOctree" in repr(m)


def test_insert_depth_matches_points():
    K = CameraIntrinsics(64, 48, 50.0, 50.0, 31.5, 23.5)
    depth = np.full((48, 64), 2.02, dtype=np.float32)
    depth[:10, :10] = np.nan
    depth[10:12] = 0.0
    depth[12, :] = -1.0
    depth[13, :] = np.inf
    T = np.eye(4)
    T[:3, :3] = R_BODY_OPTICAL
    T[:3, 3] = (0.3, 0.2, 1.0)
    a, b = OccupancyOctree(RES), OccupancyOctree(RES)
    n = a.insert_depth(depth, K, T)
    pts, _ = K.backproject(depth)
    assert n == len(pts) == 48 * 64 - 100 - 64 * 4
    b.insert_points(pts.astype(np.float64) @ T[:3, :3].T + T[:3, 3], T[:3, 3])
    # Both paths round to float32 at different steps, so only voxels at a boundary may differ.
    ka, va, _ = snapshot(a)
    kb, vb, _ = snapshot(b)
    common = {tuple(k) for k in ka.tolist()} & {tuple(k) for k in kb.tolist()}
    assert len(common) >= 0.99 * max(len(ka), len(kb))
    assert np.allclose(a.occupied_voxels()[:, 0], 2.35)  # camera looks along world +x from x=0.3
    c = OccupancyOctree(RES)
    c.insert_depth(depth, K, T, stride=2)
    assert 0 < c.num_voxels <= a.num_voxels


def test_tiled_and_hashed_paths_agree(monkeypatch):
    rng = np.random.default_rng(3)
    pts = rng.uniform(-3, 3, size=(3000, 3))
    origin = (0.1, 0.2, 0.3)
    ref_exact, ref_disc = OccupancyOctree(RES, max_range=2.5), OccupancyOctree(RES, max_range=2.5)
    ref_exact.insert_points(pts, origin)
    ref_disc.insert_points(pts, origin, discretize=True)
    monkeypatch.setattr(octree_module, "MAX_BOX_CELLS", 4096)  # forces tiles and the hash dedup
    t_exact, t_disc = OccupancyOctree(RES, max_range=2.5), OccupancyOctree(RES, max_range=2.5)
    t_exact.insert_points(pts, origin)
    t_disc.insert_points(pts, origin, discretize=True)
    assert_same_map(snapshot(ref_exact), snapshot(t_exact))
    assert_same_map(snapshot(ref_disc), snapshot(t_disc))


def _scans_with_both_markers(monkeypatch, dense: bool, discretize: bool):
    """Three overlapping scans through the branch-free marking kernel (box swept for marked blocks)
    or the block-tracking one; small chunks and a point box too large for the ``seen`` grid make
    repeated end voxels reach the marking kernel in different chunks."""
    monkeypatch.setattr(octree_module, "DENSE_CELLS_PER_POINT", 1 << 20 if dense else 0)
    monkeypatch.setattr(octree_module, "MAX_BOX_CELLS", 1 << 16)
    monkeypatch.setattr(octree_module, "CHUNK", 700)
    rng = np.random.default_rng(11)
    m = OccupancyOctree(RES, max_range=1.2)
    changes = []
    for k in range(3):
        pts = rng.uniform(-3, 3, size=(2500, 3))
        pts = np.concatenate([pts, pts[rng.permutation(len(pts))], wall_points(0.8, 0.4, 0.03)])
        m.insert_points(pts, (0.05 * k, 0.1, -0.05 * k), discretize=discretize)
        changes.append(m.changed_since(k))
    return m, changes


@pytest.mark.parametrize("discretize", [False, True])
def test_branch_free_and_block_tracking_markers_agree(monkeypatch, discretize):
    a, ca = _scans_with_both_markers(monkeypatch, True, discretize)
    b, cb = _scans_with_both_markers(monkeypatch, False, discretize)
    assert a.counts()["occupied"] > 0 and a.counts()["free"] > 0
    assert_same_map(snapshot(a), snapshot(b))
    for x, y in zip(ca, cb):
        assert len(x) > 0
        np.testing.assert_array_equal(x[np.lexsort(x.T)], y[np.lexsort(y.T)])
    assert a.memory_bytes == b.memory_bytes


# ---------------------------------------------------------------- decay
def test_decay_fades_occupied_evidence():
    m = OccupancyOctree(RES, decay=Decay(half_life_s=1.0))
    p = np.array([[1.05, 0.05, 0.05]])
    for i in range(12):
        m.insert_points(p, (0.05, 0.05, 0.05), stamp_ns=0)
    assert m.logodds_at(p)[0] == LMAX
    free_before = m.logodds_at([[0.55, 0.05, 0.05]])[0]
    mark = m.update_count
    m.decay_to(1_000_000_000)  # one half-life
    assert m.logodds_at(p)[0] == pytest.approx(LMAX / 2, rel=1e-6)
    assert m.logodds_at([[0.55, 0.05, 0.05]])[0] == free_before  # free evidence is kept
    m.decay_to(6_000_000_000)  # 6 half-lives: below forget_probability 0.55 -> unknown
    assert m.state_at(p)[0] == UNKNOWN
    pts, states = m.changed_since(mark, return_states=True)
    assert len(pts) == 1 and states[0] == UNKNOWN
    # insertion stamps drive the decay too, and what is seen now is applied after decaying
    m.insert_points(p, (0.05, 0.05, 0.05), stamp_ns=7_000_000_000)
    assert m.logodds_at(p)[0] == HIT


def test_decay_off_by_default():
    m = OccupancyOctree(RES)
    p = np.array([[1.05, 0.05, 0.05]])
    m.insert_points(p, (0.05, 0.05, 0.05), stamp_ns=0)
    m.insert_points(np.array([[0.05, 1.05, 0.05]]), (0.05, 0.05, 0.05), stamp_ns=10**12)
    assert m.logodds_at(p)[0] == HIT
    with pytest.raises(InvalidInputError):
        m.decay_to(10**13)
    with pytest.raises(InvalidInputError):
        Decay(half_life_s=0)
    with pytest.raises(InvalidInputError):
        Decay(half_life_s=1.0, forget_probability=0.4)


# ---------------------------------------------------------------- persistence
def test_native_round_trip(tmp_path):
    m = OccupancyOctree(RES, prob_hit=0.8, max_range=4.0, decay=Decay(30.0))
    m.insert_points(wall_points(), (0.0, 0.0, 0.0), stamp_ns=5)
    path = tmp_path / "map.rmap"
    m.save(path)
    m2 = OccupancyOctree.load(path)
    assert_same_map(snapshot(m), snapshot(m2))
    assert (m2.resolution, m2.prob_hit, m2.max_range, m2.decay) == (RES, 0.8, 4.0, Decay(30.0))
    np.testing.assert_array_equal(m.changed_since(0), m2.changed_since(0))
    m2.insert_points(wall_points(3.0), (0.0, 0.0, 0.0))  # the loaded map keeps working
    assert m2.state_at([[3.05, 0.05, 0.05]])[0] == OCCUPIED


def test_native_load_rejects_bad_files(tmp_path):
    junk = tmp_path / "junk.rmap"
    junk.write_bytes(b"not a map at all")
    with pytest.raises(InvalidMapError):
        OccupancyOctree.load(junk)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    with pytest.raises(InvalidMapError):
        OccupancyOctree.load(foreign)
    m = OccupancyOctree(RES)
    m.insert_points(wall_points(), (0.0, 0.0, 0.0))
    good = tmp_path / "good.rmap"
    m.save(good)
    truncated = tmp_path / "trunc.rmap"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InvalidMapError):
        OccupancyOctree.load(truncated)
    with np.load(good) as z:
        parts = dict(z)
    bad = tmp_path / "bad.rmap"
    parts["logodds"] = parts["logodds"][:, :100]
    np.savez(bad, **parts)
    with pytest.raises(InvalidMapError):
        OccupancyOctree.load(bad)
    with pytest.raises(InvalidMapError):
        OccupancyOctree.load(tmp_path / "missing.rmap")


def test_bt_round_trip_without_octomap(tmp_path):
    m = OccupancyOctree(RES)
    m.insert_points(wall_points(), (0.0, 0.0, 0.0))
    path = tmp_path / "map.bt"
    m.write_bt(path)
    assert path.read_bytes().startswith(b"# Octomap OcTree binary file\n")
    m2 = OccupancyOctree.read_bt(path)
    assert m2.resolution == RES
    for a, b in ((m.occupied_voxels(), m2.occupied_voxels()), (m.free_voxels(), m2.free_voxels())):
        np.testing.assert_array_equal(a[np.lexsort(a.T)], b[np.lexsort(b.T)])
    # maximum likelihood: every voxel is at a clamping bound after reading
    assert set(np.unique(m2.leaves()[1]).tolist()) <= {float(LMIN), float(LMAX)}
    empty = tmp_path / "empty.bt"
    OccupancyOctree(RES).write_bt(empty)
    assert OccupancyOctree.read_bt(empty).num_voxels == 0


def test_bt_reader_rejects_bad_files(tmp_path):
    m = OccupancyOctree(RES)
    m.insert_points(wall_points(), (0.0, 0.0, 0.0))
    good = tmp_path / "good.bt"
    m.write_bt(good)
    raw = good.read_bytes()
    cases = {
        "foreign.bt": b"# something else\nid OcTree\nsize 3\nres 0.1\ndata\n\x00\x00",
        "trunc.bt": raw[: len(raw) - 10],
        "badres.bt": raw.replace(b"res 0.1", b"res -1"),
        "noid.bt": raw.replace(b"id OcTree", b"id Nope"),
        "nodata.bt": raw.split(b"data\n")[0],
    }
    for name, content in cases.items():
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(InvalidMapError):
            OccupancyOctree.read_bt(p)
    with pytest.raises(InvalidMapError):
        OccupancyOctree.read_bt(tmp_path / "missing.bt")


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("res", [0, -0.1, float("nan"), float("inf"), "0.1", None])
def test_bad_resolution(res):
    with pytest.raises(InvalidMapError):
        OccupancyOctree(res)


@pytest.mark.parametrize("kwargs", [
    {"prob_hit": 0.4}, {"prob_miss": 0.6}, {"clamp_min": 0.0}, {"clamp_max": 1.0},
    {"clamp_min": 0.9, "clamp_max": 0.8}, {"occupancy_threshold": 1.5}, {"max_range": float("nan")},
    {"decay": 5.0},
])
def test_bad_settings(kwargs):
    with pytest.raises(InvalidInputError):
        OccupancyOctree(RES, **kwargs)


def _bad_pose(kind):
    T = np.eye(4)
    if kind == "nan":
        T[0, 3] = np.nan
    elif kind == "scaled":
        T[:3, :3] *= 1.1
    elif kind == "reflection":
        T[0, 0] = -1
    elif kind == "shape":
        T = np.eye(3)
    elif kind == "last_row":
        T[3, 0] = 1.0
    return T


def test_bad_input_leaves_map_unchanged():
    K = CameraIntrinsics(8, 6, 5.0, 5.0, 3.5, 2.5)
    m = OccupancyOctree(RES)
    m.insert_points(wall_points(), (0.0, 0.0, 0.0))
    before = snapshot(m)
    good_depth = np.ones((6, 8), np.float32)
    attempts = [
        (InvalidImageError, lambda: m.insert_depth(np.ones((6, 8, 1), np.float32), K, np.eye(4))),
        (InvalidImageError, lambda: m.insert_depth(np.ones((6, 8), np.uint16), K, np.eye(4))),
        (InvalidImageError, lambda: m.insert_depth(np.ones((6, 8), np.int32), K, np.eye(4))),
        (InvalidImageError, lambda: m.insert_depth(np.ones((5, 8), np.float32), K, np.eye(4))),
        (InvalidImageError, lambda: m.insert_depth([[1.0]], K, np.eye(4))),
        (InvalidInputError, lambda: m.insert_depth(good_depth, "K", np.eye(4))),
        (InvalidInputError, lambda: m.insert_depth(good_depth, K, np.eye(4), stride=0)),
        (InvalidInputError, lambda: m.insert_depth(good_depth, K, np.eye(4), stamp_ns=-1)),
        (InvalidInputError, lambda: m.insert_depth(good_depth, K, np.eye(4), max_range="far")),
        (InvalidInputError, lambda: m.insert_points(np.ones((4, 2)), (0, 0, 0))),
        (InvalidInputError, lambda: m.insert_points(np.ones(3), (0, 0, 0))),
        (InvalidInputError, lambda: m.insert_points(np.array([["a", "b", "c"]]), (0, 0, 0))),
        (InvalidInputError, lambda: m.insert_points(np.ones((4, 3)), (0, 0))),
        (InvalidInputError, lambda: m.insert_points(np.ones((4, 3)), (0, np.nan, 0))),
        (InvalidInputError, lambda: m.insert_points(np.ones((4, 3)), (0, 0, 0), stamp_ns=1.5)),
        (InvalidInputError, lambda: m.state_at(np.ones((2, 4)))),
        (InvalidInputError, lambda: m.state_at(np.array([[np.nan, 0, 0]]))),
        (InvalidInputError, lambda: m.changed_since(-1)),
        (InvalidInputError, lambda: m.occupied_voxels(bbox_min=(0, 0))),
        (InvalidInputError, lambda: m.project_2d(0.0, float("nan"))),
        (InvalidInputError, lambda: m.project_2d(0.0, 1.0, bbox=(0, 0, -1, 1))),
    ]
    for kind in ("nan", "scaled", "reflection", "shape", "last_row"):
        attempts.append((InvalidPoseError, lambda kind=kind: m.insert_depth(good_depth, K, _bad_pose(kind))))
    for err, call in attempts:
        with pytest.raises(err):
            call()
        assert issubclass(err, ValueError)
        assert_same_map(before, snapshot(m))


def test_invalid_readings_are_ignored():
    K = CameraIntrinsics(16, 12, 10.0, 10.0, 7.5, 5.5)
    T = np.eye(4)
    T[:3, :3] = R_BODY_OPTICAL
    depth = np.full((12, 16), 1.5, np.float32)
    clean = OccupancyOctree(RES)
    clean.insert_depth(depth, K, T)
    dirty_depth = depth.copy()
    dirty_depth[0, :4] = [np.nan, np.inf, 0.0, -2.0]
    dirty = OccupancyOctree(RES)
    n = dirty.insert_depth(dirty_depth, K, T)
    assert n == 12 * 16 - 4
    # points: non-finite rows are skipped, the rest inserted
    pts = np.array([[1.05, 0.05, 0.05], [np.nan, 0, 0], [np.inf, 1, 1]])
    m = OccupancyOctree(RES)
    assert m.insert_points(pts, (0.05, 0.05, 0.05)) == 1
    assert m.state_at(pts[:1])[0] == OCCUPIED
    assert m.insert_points(np.zeros((0, 3)), (0, 0, 0)) == 0


def test_changed_since_across_the_uint16_wrap():
    m = OccupancyOctree(RES)
    m._update_count = 65_530  # change indices are stored modulo 65535 per voxel
    origin = (0.05, 0.05, 0.05)
    m.insert_points(np.array([[1.05, 0.05, 0.05]]), origin)  # update 65531
    for _ in range(8):  # updates 65532 .. 65539: nothing changes state
        m.insert_points(np.array([[1.05, 0.05, 0.05]]), origin)
    mark = m.update_count
    m.insert_points(np.array([[0.05, 1.05, 0.05]]), origin)  # new voxels in the same block
    pts = m.changed_since(mark)
    assert len(pts) == 10 and np.all(np.isclose(pts[:, 0], 0.05))
    assert len(m.changed_since(65_530)) == 21 and len(m.changed_since(65_531)) == 10


# ---------------------------------------------------------------- storage growth
def test_block_pool_grows_in_place_and_keeps_rows():
    """The pool's memory maps are resized in place (no second copy at peak); a view held elsewhere
    forces the copying fallback, which must keep the rows too and leave that view valid."""
    from robomem.mapping.store import BlockStore, _mapping_of
    st = BlockStore(4)
    st.n_blocks_arr[0] = 4
    st.logodds[:4] = np.arange(4, dtype=np.float32)[:, None]
    st.block_keys[:4] = [7, 8, 9, 10]
    mm = _mapping_of(st.logodds)
    st.reserve(100)
    assert st.capacity >= 104
    assert _mapping_of(st.logodds) is mm  # same mapping, resized
    np.testing.assert_array_equal(st.logodds[:4, 5], [0, 1, 2, 3])
    np.testing.assert_array_equal(st.block_keys[:4], [7, 8, 9, 10])
    held = st.logodds
    st.reserve(st.capacity)  # must grow again while `held` pins the old mapping
    assert _mapping_of(st.logodds) is not _mapping_of(held)
    np.testing.assert_array_equal(st.logodds[:4, 5], [0, 1, 2, 3])
    np.testing.assert_array_equal(held[:4, 5], [0, 1, 2, 3])
    st.compact()
    assert st.capacity == 4
    np.testing.assert_array_equal(st.logodds[:, 511], [0, 1, 2, 3])


def test_map_unchanged_by_pool_growth_path(monkeypatch):
    """Same map whether the pool grows in place or by copying."""
    from robomem.mapping import store as store_module
    rng = np.random.default_rng(5)
    scans = [(rng.uniform(-2, 2, size=(3000, 3)), rng.uniform(-0.2, 0.2, size=3)) for _ in range(3)]
    a = OccupancyOctree(RES)
    for p, o in scans:
        a.insert_points(p, o, discretize=True)
    monkeypatch.setattr(store_module, "_mapping_of", lambda arr: None)  # force the copying path
    b = OccupancyOctree(RES)
    for p, o in scans:
        b.insert_points(p, o, discretize=True)
    assert_same_map(snapshot(a), snapshot(b))
