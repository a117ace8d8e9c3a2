"""Geometric segmentation for frames without an instance image (plain RGB-D such as TUM).

Large planes (floor, walls, table tops) are removed with RANSAC, the remaining points are
voxel-downsampled and clustered with DBSCAN (Open3D); each cluster of reasonable size becomes an
unlabelled ``"object"`` segment. Cluster ids are per frame: the tracker makes them stable."""
from __future__ import annotations

import numpy as np

from robomem.frame import Frame
from robomem.perception.grouping import UNLABELLED, Segment, segments_from_groups
from robomem.pose import transform_points


def geometric_segments(
    frame: Frame,
    *,
    stride: int = 2,
    max_range: float = 3.0,
    voxel: float = 0.02,
    plane_distance: float = 0.015,
    plane_min_fraction: float = 0.05,
    min_plane_extent: float = 0.5,
    max_planes: int = 4,
    cluster_eps: float = 0.04,
    cluster_min_points: int = 15,
    min_points: int = 20,
    max_extent: float = 1.2,
    seed: int = 0,
) -> list[Segment]:
    """Unlabelled object segments of ``frame`` (see module doc). Planes holding at least
    ``plane_min_fraction`` of the points and spanning at least ``min_plane_extent`` metres in two
    directions are removed (up to ``max_planes``); clusters with
    fewer than ``min_points`` voxels or larger than ``max_extent`` metres (walls, furniture
    remnants) are dropped. Deterministic for a given ``seed``."""
    import open3d as o3d

    pts_cam, pix = frame.intrinsics.backproject(frame.depth, stride=stride)
    keep = pts_cam[:, 2] <= max_range
    pts_cam, pix = pts_cam[keep], pix[keep]
    if len(pts_cam) < min_points:
        return []
    pts = transform_points(frame.T_world_camera, pts_cam)
    # Voxel keys first (numpy) so each voxel keeps a representative pixel for colour and range.
    keys = np.floor(pts / voxel).astype(np.int64)
    _, first = np.unique(keys, axis=0, return_index=True)
    pts, pts_cam, pix = pts[first], pts_cam[first], pix[first]
    o3d.utility.random.seed(seed)
    remaining = np.arange(len(pts))
    for _ in range(max_planes):
        if len(remaining) < 3 * min_points:
            break
        pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts[remaining]))
        _, inliers = pc.segment_plane(plane_distance, 3, 200)
        inliers = np.asarray(inliers, dtype=np.int64)
        if len(inliers) < plane_min_fraction * len(pts):
            break
        # Only a structure-sized, connected plane goes (desk, floor, wall). RANSAC's inliers can
        # also be the coplanar tops of many objects (books, keyboard): those are not connected.
        ipc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts[remaining[inliers]]))
        lab = np.asarray(ipc.cluster_dbscan(2.5 * voxel, 4, print_progress=False))
        if (lab >= 0).sum() == 0:
            break
        sizes = np.bincount(lab[lab >= 0])
        big = np.argmax(sizes)
        q = pts[remaining[inliers[lab == big]]]
        # Objects standing on a desk cut its plane into pieces: the big pieces all go.
        part = inliers[np.isin(lab, np.flatnonzero(sizes >= 0.2 * sizes[big]))]
        ext = np.sort(np.percentile(q, 98, axis=0) - np.percentile(q, 2, axis=0))
        if ext[1] < min_plane_extent:
            break
        mask = np.ones(len(remaining), bool)
        mask[part] = False
        remaining = remaining[mask]
    if len(remaining) < min_points:
        return []
    pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts[remaining]))
    lab = np.asarray(pc.cluster_dbscan(cluster_eps, cluster_min_points, print_progress=False))
    good = lab >= 0
    if not good.any():
        return []
    idx, lab = remaining[good], lab[good]
    rgb = None
    if frame.rgb is not None:
        rgb_img = frame.rgb[::stride, ::stride] if stride > 1 else frame.rgb
        rgb = rgb_img.reshape(-1, 3)[pix[idx]]
    segs = segments_from_groups(pts[idx], lab.astype(np.int64) + 1, pts_cam[idx, 2], rgb, {},
                                min_pixels=min_points)
    return [s for s in segs if float(np.max(s.extent)) <= max_extent and s.label == UNLABELLED]
