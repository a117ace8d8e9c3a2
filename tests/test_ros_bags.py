"""`ingest_bag` replays a ROS 2 bag (MCAP and rosbag2 sqlite3) of RGB-D + camera info + /tf +
instance images and labels into a store, written here with the pure-Python rosbags writer (no ROS
needed), and skips malformed messages."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("rosbags")


def _write_bag(path, storage: str, n: int = 24):
    import sim
    from rosbags.rosbag2 import StoragePlugin, Writer

    from robomem.pose import matrix_to_quaternion
    from ros_nodes.bags import typestore
    ts = typestore()
    T_ = ts.types
    Time = T_["builtin_interfaces/msg/Time"]
    Header = T_["std_msgs/msg/Header"]
    scene = sim.generate_house(4, None, n_rooms=3, n_objects=20)
    env = sim.EmbeddedSim(scene, seed=4, turn_deg=30.0)
    s = env.agent_state()
    env.set_agent_state(sim.AgentState(s.position, s.yaw, math.radians(-20)))
    frames = [env.step("turn_left").frame for _ in range(n)]

    def hdr(ns, frame="camera_optical"):
        return Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id=frame)

    def image(arr, enc, ns):
        arr = np.ascontiguousarray(arr)
        return T_["sensor_msgs/msg/Image"](header=hdr(ns), height=arr.shape[0], width=arr.shape[1], encoding=enc,
                                           is_bigendian=0, step=arr.strides[0], data=arr.view(np.uint8).reshape(-1))
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with Writer(path, version=9, storage_plugin=plugin) as w:
        c = {k: w.add_connection(t, m, typestore=ts) for k, t, m in (
            ("rgb", "/camera/rgb", "sensor_msgs/msg/Image"), ("depth", "/camera/depth", "sensor_msgs/msg/Image"),
            ("inst", "/camera/instances", "sensor_msgs/msg/Image"),
            ("labels", "/camera/labels", "robomem_msgs/msg/InstanceLabels"),
            ("info", "/camera/camera_info", "sensor_msgs/msg/CameraInfo"), ("tf", "/tf", "tf2_msgs/msg/TFMessage"))}
        K = env.intrinsics
        for k, f in enumerate(frames):
            ns = f.stamp_ns
            T = f.T_world_camera
            q = matrix_to_quaternion(T)
            tr = T_["geometry_msgs/msg/TransformStamped"](
                header=hdr(ns, "map"), child_frame_id="camera_optical",
                transform=T_["geometry_msgs/msg/Transform"](
                    translation=T_["geometry_msgs/msg/Vector3"](x=T[0, 3], y=T[1, 3], z=T[2, 3]),
                    rotation=T_["geometry_msgs/msg/Quaternion"](x=q[0], y=q[1], z=q[2], w=q[3])))
            msgs = [
                ("tf", T_["tf2_msgs/msg/TFMessage"](transforms=[tr])),
                ("info", T_["sensor_msgs/msg/CameraInfo"](
                    header=hdr(ns), height=K.height, width=K.width, distortion_model="plumb_bob", d=np.zeros(5),
                    k=np.array([K.fx, 0, K.cx, 0, K.fy, K.cy, 0, 0, 1.0]), r=np.eye(3).ravel(), p=np.zeros(12),
                    binning_x=0, binning_y=0,
                    roi=T_["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                               do_rectify=False))),
                ("labels", T_["robomem_msgs/msg/InstanceLabels"](header=hdr(ns), ids=np.array(list(f.labels), np.uint32),
                                                                 labels=list(f.labels.values()))),
                ("inst", image(f.instance_ids.astype(np.uint16), "16UC1", ns)),
                ("depth", image(f.depth, "32FC1", ns)),
                ("rgb", image(f.rgb, "yuv422" if k == 5 else "rgb8", ns)),     # frame 5: wrong encoding
            ]
            for key, m in msgs:
                w.write(c[key], ns + 1000, ts.serialize_cdr(m, c[key].msgtype))
    return scene, frames


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_ingest_bag_into_a_store(tmp_path, storage):
    import robomem
    from ros_nodes.bags import BagError, ingest_bag
    scene, frames = _write_bag(tmp_path / "bag", storage)
    rep = ingest_bag(tmp_path / "bag", tmp_path / "m.db")
    assert rep["frames"] == len(frames) - 1 and rep["instances"]
    assert rep["dropped"] == {"frame (encoding)": 1}
    seen = Counter(lab for f in frames for iid, lab in f.labels.items()
                   if lab not in ("wall", "floor", "ceiling") and (f.instance_ids == iid).sum() > 200)
    assert rep["objects"] >= 0.8 * len(seen) > 0
    truth = {o.category: o for o in scene.objects.values()}
    uniq = [lab for lab in seen if sum(o.category == lab for o in scene.objects.values()) == 1]
    with robomem.open(tmp_path / "m.db", readonly=True) as mem:
        assert uniq
        for lab in uniq:
            got = mem.where_is(lab)
            assert got, lab
            lo, hi = truth[lab].bbox()
            assert np.all(got[0].position >= np.asarray(lo) - 0.15) and np.all(got[0].position <= np.asarray(hi) + 0.15)
    with pytest.raises(BagError, match="does not exist"):
        ingest_bag(tmp_path / "nope", tmp_path / "x.db")
