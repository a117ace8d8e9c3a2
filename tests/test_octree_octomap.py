"""robomem's octree against OctoMap itself (through pyoctomap): same voxel states on real TUM RGB-D
frames, and .bt files that each side reads from the other."""
from __future__ import annotations

import numpy as np
import pytest

from robomem.mapping import OccupancyOctree

from octomap_compat import make_octomap, octomap_leaves, state_agreement

pyoctomap = pytest.importorskip("pyoctomap")

RES = 0.05
#: Every STRIDE-th pixel in each image direction; 1 = every pixel of all 10 fixture frames.
STRIDE = 1



def _subsampled(frame):
    depth = frame.depth[::STRIDE, ::STRIDE]
    valid = np.isfinite(depth) & (depth > 0)
    rays = frame.intrinsics.pixel_rays[::STRIDE, ::STRIDE][valid]
    pts = rays * depth[valid][:, None]
    from robomem.pose import transform_points
    return np.ascontiguousarray(transform_points(frame.T_world_camera, pts))


@pytest.mark.slow
@pytest.mark.parametrize("discretize,max_range", [(False, -1.0), (True, -1.0), (False, 1.5), (True, 1.5)])
def test_agrees_with_octomap_on_tum(tum_frames, discretize, max_range):
    ours = OccupancyOctree(RES)
    theirs = make_octomap(RES)
    for f in tum_frames:
        pts = _subsampled(f)
        origin = f.camera_position
        ours.insert_points(pts, origin, discretize=discretize, max_range=max_range)
        theirs.insertPointCloud(pts, origin, max_range, False, discretize)
    k_ours, v_ours = ours.leaves()
    k_oct, v_oct = octomap_leaves(theirs, RES)
    agree, n, bad = state_agreement(k_ours, v_ours >= 0, k_oct, v_oct >= 0)
    assert n > (10_000 if max_range < 0 else 5_000)
    assert agree >= 0.999, f"{bad} of {n} voxels disagree"
    # Stronger: the log-odds themselves match where both know the voxel.
    lo_ours = ours.logodds_at((k_oct - 32768 + 0.5) * RES)
    both = ~np.isnan(lo_ours)
    assert both.mean() >= 0.999
    assert np.mean(lo_ours[both] == v_oct[both]) >= 0.999


def test_octomap_reads_robomem_bt(tmp_path, tum_frames):
    ours = OccupancyOctree(RES)
    for f in tum_frames[:3]:
        ours.insert_points(_subsampled(f), f.camera_position)
    path = tmp_path / "robomem.bt"
    ours.write_bt(path)
    theirs = pyoctomap.OcTree(0.1)
    assert theirs.readBinary(str(path))
    assert theirs.getResolution() == pytest.approx(RES)
    k_oct, v_oct = octomap_leaves(theirs, RES)
    k_ours, v_ours = ours.leaves()
    occ_ours = {tuple(k) for k in k_ours[v_ours >= 0].tolist()}
    occ_oct = {tuple(k) for k in k_oct[v_oct >= 0].tolist()}
    assert len(occ_ours) > 1000 and occ_ours == occ_oct
    free_ours = {tuple(k) for k in k_ours[v_ours < 0].tolist()}
    assert free_ours == {tuple(k) for k in k_oct[v_oct < 0].tolist()}


def test_robomem_reads_octomap_bt_and_writes_the_same_bytes(tmp_path, tum_frames):
    theirs = make_octomap(RES)
    for f in tum_frames[:3]:
        theirs.insertPointCloud(_subsampled(f), f.camera_position, -1.0, False, False)
    path = tmp_path / "octomap.bt"
    assert theirs.writeBinary(str(path))
    ours = OccupancyOctree.read_bt(path)
    k_oct, v_oct = octomap_leaves(theirs, RES)
    k_ours, v_ours = ours.leaves()
    agree, n, bad = state_agreement(k_ours, v_ours >= 0, k_oct, v_oct >= 0)
    assert n > 1000 and bad == 0
    again = tmp_path / "again.bt"
    ours.write_bt(again)
    assert again.read_bytes() == path.read_bytes()  # identical pruned tree, identical file


@pytest.mark.parametrize("discretize", [False, True])
def test_far_points_and_max_range_like_octomap(discretize):
    # Points beyond the key range (±1638 m at 5 cm) and beyond max range, plus ordinary ones.
    rng = np.random.default_rng(7)
    pts = np.concatenate([rng.uniform(-3, 3, (2000, 3)), [[5000.0, 20.0, 1.0], [-1e5, 3.0, 2.0], [0.4, 0.3, 0.2]]])
    origin = np.array([0.11, -0.07, 0.23])
    for max_range in (-1.0, 2.0):
        ours = OccupancyOctree(RES)
        theirs = make_octomap(RES)
        ours.insert_points(pts, origin, discretize=discretize, max_range=max_range)
        theirs.insertPointCloud(np.ascontiguousarray(pts), origin, max_range, False, discretize)
        k_ours, v_ours = ours.leaves()
        k_oct, v_oct = octomap_leaves(theirs, RES)
        agree, n, bad = state_agreement(k_ours, v_ours >= 0, k_oct, v_oct >= 0)
        assert n > 1000 and bad == 0
