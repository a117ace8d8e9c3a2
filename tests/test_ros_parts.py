"""The ROS-free parts of ros_nodes (approximate-time sync, transform buffer, the query switch point)
and the message conversions (these need the ROS message packages)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from robomem.errors import InvalidInputError, InvalidPoseError
from robomem.pose import make_pose, matrix_to_quaternion
from ros_nodes.answers import QueryError, answer_query, parse_query_json
from ros_nodes.sync import ApproximateTimeSync
from ros_nodes.tf_buffer import TfBuffer, UnknownFrameError
from tests.ros_support import require_ros

MS = 1_000_000


def test_sync_pairs_nearest_within_slop_and_drops_the_rest():
    out = []
    s = ApproximateTimeSync(2, 10 * MS, lambda a, b: out.append((a, b)))
    s.add(0, 100 * MS, "a100")
    s.add(1, 130 * MS, "b130")          # 30 ms away: no pair
    assert out == []
    s.add(0, 133 * MS, "a133")          # pairs with b130; a100 is skipped
    assert out == [("a133", "b130")]
    assert s.dropped == 1
    s.add(1, 120 * MS, "b120")          # older than an emitted set: dropped
    assert s.dropped == 2 and len(out) == 1
    for k in range(5):                  # interleaved streams with 3 ms jitter pair one-to-one
        s.add(1, (200 + 66 * k + 3) * MS, f"b{k}")
        s.add(0, (200 + 66 * k) * MS, f"a{k}")
    assert out[1:] == [(f"a{k}", f"b{k}") for k in range(5)]
    with pytest.raises(InvalidInputError, match="stream"):
        s.add(2, 0, "x")
    with pytest.raises(InvalidInputError, match="slop_ns"):
        ApproximateTimeSync(2, -1, print)


def test_sync_with_a_full_queue_matches_the_new_message_not_its_old_index():
    # One stream lags: stream 0 fills its queue; the newest stream-0 message must still be the one
    # matched when stream 1 catches up (an overflow used to shift the index past the end).
    out = []
    s = ApproximateTimeSync(2, 5 * MS, lambda a, b: out.append((a, b)), queue_size=3)
    for i in range(6):
        assert not s.add(0, i * 100 * MS, f"a{i}")
    assert s.add(1, 500 * MS, "b5") and out == [("a5", "b5")]
    # a message older than a full queue is dropped at once, nothing is emitted
    for i in range(6, 9):
        s.add(0, i * 100 * MS, f"a{i}")
    assert not s.add(0, 550 * MS, "late") and len(out) == 1
    # the newest of a full queue, inserted last, is still matched
    s2 = ApproximateTimeSync(2, 5 * MS, lambda a, b: out.append((a, b)), queue_size=2)
    s2.add(1, 300 * MS, "b3")
    s2.add(0, 100 * MS, "a1")
    s2.add(0, 200 * MS, "a2")
    assert s2.add(0, 300 * MS, "a3") and out[-1] == ("a3", "b3")


def test_tf_buffer_chains_nearest_samples_and_rejects_bad_input():
    tf = TfBuffer()
    T_wb = make_pose(np.array([0, 0, math.sin(0.25), math.cos(0.25)]), [1.0, 2.0, 0.0])
    T_bc = make_pose(np.array([0.5, -0.5, 0.5, -0.5]), [0.1, 0.0, 1.2])
    tf.set_transform("map", "base_link", 1000 * MS, T_wb[:3, 3], matrix_to_quaternion(T_wb))
    tf.set_transform("base_link", "cam", 0, T_bc[:3, 3], matrix_to_quaternion(T_bc), static=True)
    got = tf.lookup("map", "cam", 1020 * MS, tolerance_ns=50 * MS)
    assert np.allclose(got, T_wb @ T_bc, atol=1e-9)
    assert np.allclose(tf.lookup("cam", "map", 1000 * MS), np.linalg.inv(T_wb @ T_bc), atol=1e-9)
    with pytest.raises(UnknownFrameError, match="within"):
        tf.lookup("map", "cam", 1200 * MS, tolerance_ns=50 * MS)
    with pytest.raises(UnknownFrameError, match="not connected"):
        tf.lookup("map", "nowhere", 1000 * MS)
    with pytest.raises(InvalidPoseError):
        tf.set_transform("map", "base_link", 1100 * MS, [math.nan, 0, 0], [0, 0, 0, 1])
    with pytest.raises(InvalidPoseError):
        tf.set_transform("map", "base_link", 1100 * MS, [0, 0, 0], [0, 0, 0, 0])
    with pytest.raises(InvalidInputError):
        tf.set_transform("map", "map", 1100 * MS, [0, 0, 0], [0, 0, 0, 1])
    assert tf.latest_stamp("base_link") == 1000 * MS        # bad input changed nothing


def test_answer_switch_point_where_is_with_a_real_store(tmp_path):
    import robomem
    from robomem.observations import ObjectObservation
    with robomem.open(tmp_path / "m.db", perception=None) as st:
        st.begin_session("s", 10**9)
        obs = ObjectObservation(7, "mug", 2 * 10**9, np.array([1.0, 2.0, 0.8]), np.array([0.9, 1.9, 0.75]),
                                np.array([1.1, 2.1, 0.85]), room_id=3)
        st.record(2 * 10**9, [obs])
        a = answer_query(st, query={"kind": "where_is", "label": "mug"})
        assert set(a) == {"kind", "query", "value", "confidence", "evidence", "text"}
        assert a["value"]["object_id"] == 7 and a["value"]["position"] == [1.0, 2.0, 0.8] and a["value"]["room_id"] == 3
        assert a["text"].startswith("The mug is at (1.00, 2.00, 0.80)")
        assert answer_query(st, "Where is my mug?")["value"][0]["object_id"] == 7
        assert answer_query(st, query={"type": "where_is", "target": {"label": "mug"}})["value"][0]["object_id"] == 7
        assert answer_query(st, query={"kind": "where_is", "label": "cat"})["value"] is None
        with pytest.raises(QueryError, match="exactly one"):
            answer_query(st, "where is the mug", {"kind": "where_is", "label": "mug"})
        with pytest.raises(QueryError, match="unsupported"):
            answer_query(st, query={"kind": "count", "label": "mug"})
        with pytest.raises(QueryError, match="label"):
            answer_query(st, query={"kind": "where_is"})
    with pytest.raises(QueryError, match="JSON"):
        parse_query_json("{bad")
    assert parse_query_json("  ") is None


def test_message_conversions_round_trip_and_reject_malformed():
    require_ros()
    from nav_msgs.msg import OccupancyGrid
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField

    from robomem import CameraIntrinsics
    from robomem.mapping import OccupancyGrid2D
    from ros_nodes.convert import (BadMessageError, array_to_image, camera_info_to_intrinsics, cloud_to_points,
                                   depth_to_metres, grid_to_msg, image_to_array, intrinsics_to_camera_info,
                                   points_to_cloud)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    m = array_to_image(Image, rgb, "rgb8", "cam", 5)
    assert np.array_equal(image_to_array(m, ("rgb8",)), rgb)
    bgr = array_to_image(Image, rgb[..., ::-1], "bgr8", "cam", 5)
    assert np.array_equal(image_to_array(bgr, ("rgb8", "bgr8")), rgb)
    mm = rng.integers(0, 5000, (6, 8), dtype=np.uint16)
    assert np.allclose(depth_to_metres(array_to_image(Image, mm, "16UC1", "cam", 5)), mm / 1000.0)
    with pytest.raises(BadMessageError, match="encoding"):
        image_to_array(m, ("32FC1",))
    m.data = bytes(m.data)[:-3]
    with pytest.raises(BadMessageError, match="bytes"):
        image_to_array(m, ("rgb8",))
    K = CameraIntrinsics(8, 6, 5.0, 5.5, 3.5, 2.5)
    assert camera_info_to_intrinsics(intrinsics_to_camera_info(CameraInfo, K, "cam", 0)) == K
    pts = rng.normal(size=(100, 3)).astype(np.float32)
    assert np.array_equal(cloud_to_points(points_to_cloud(PointCloud2, PointField, pts, "map", 0)), pts)
    g = OccupancyGrid2D(np.array([[-1, 0, 100], [0, 100, -1]], np.int8), 0.05, (1.0, -2.0))
    gm = grid_to_msg(OccupancyGrid, g, "map", 0)
    assert (gm.info.width, gm.info.height) == (3, 2) and list(gm.data) == [-1, 0, 100, 0, 100, -1]
    assert (gm.info.origin.position.x, gm.info.origin.position.y) == (1.0, -2.0)
