"""A perception + memory process fed by this process over DDS: malformed messages (wrong encoding,
size mismatch, NaN pose, unknown frame) are logged and dropped, the node keeps running and later
good frames are processed."""
from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from tests.ros_support import ros_graph  # noqa: F401 - fixture


def _frames(n: int):
    import sim
    scene = sim.generate_house(2, None, n_rooms=3, n_objects=20)
    env = sim.EmbeddedSim(scene, seed=2, step_ns=500_000_000)   # frames 0.5 s apart: no borrowed pose
    s = env.agent_state()
    env.set_agent_state(sim.AgentState(s.position, s.yaw, math.radians(-20)))
    return [env.step("turn_left").frame for _ in range(n)], env


@pytest.mark.slow
def test_malformed_messages_are_dropped_and_the_node_keeps_going(ros_graph):  # noqa: F811
    from geometry_msgs.msg import TransformStamped
    from robomem_msgs.msg import InstanceLabels
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import String
    from tf2_msgs.msg import TFMessage

    from robomem.pose import invert_pose  # noqa: F401
    from ros_nodes.base import RELIABLE_QOS, SENSOR_QOS
    from ros_nodes.convert import array_to_image, fill_transform, intrinsics_to_camera_info, set_stamp
    from ros_nodes.procs import RosClient, start_runner, stop
    env_vars, tmp = ros_graph
    proc = start_runner("perception,memory", {"robomem_memory": {"store": str(tmp / "m.db")},
                                              "robomem_perception": {"publish_period_s": 0.2}}, env_vars, tmp, "stack")
    frames, env = _frames(11)
    stats: dict = {}
    try:
        with RosClient("robomem_bad_publisher") as c:
            n = c.node
            pubs = {k: n.create_publisher(Image, f"camera/{k}", SENSOR_QOS) for k in ("rgb", "depth", "instances")}
            p_labels = n.create_publisher(InstanceLabels, "camera/labels", RELIABLE_QOS)
            p_info = n.create_publisher(CameraInfo, "camera/camera_info", SENSOR_QOS)
            p_tf = n.create_publisher(TFMessage, "/tf", RELIABLE_QOS)
            n.create_subscription(String, "perception/stats", lambda m: stats.update(json.loads(m.data)), RELIABLE_QOS)
            c.wait_for(lambda: all(p.get_subscription_count() for p in (*pubs.values(), p_labels, p_info, p_tf)),
                       30, "the perception node's subscriptions")

            def send(f, *, rgb_enc="rgb8", cut_depth=False, nan_pose=False, frame_id="camera_optical"):
                ns = f.stamp_ns
                T = f.T_world_camera.copy()
                ts = TransformStamped()
                set_stamp(ts.header, ns)
                ts.header.frame_id, ts.child_frame_id = "map", "camera_optical"
                fill_transform(ts.transform, T)
                if nan_pose:
                    ts.transform.translation.x = float("nan")
                p_tf.publish(TFMessage(transforms=[ts]))
                p_info.publish(intrinsics_to_camera_info(CameraInfo, f.intrinsics, frame_id, ns))
                lab = InstanceLabels(ids=[int(k) for k in f.labels], labels=list(f.labels.values()))
                set_stamp(lab.header, ns)
                p_labels.publish(lab)
                pubs["instances"].publish(array_to_image(Image, f.instance_ids.astype(np.uint16), "16UC1", frame_id, ns))
                depth = array_to_image(Image, f.depth, "32FC1", frame_id, ns)
                if cut_depth:
                    depth.data = bytes(depth.data)[:-100]
                pubs["depth"].publish(depth)
                rgb = array_to_image(Image, f.rgb, "rgb8", frame_id, ns)
                rgb.encoding = rgb_enc
                pubs["rgb"].publish(rgb)
                time.sleep(0.15)

            k = 0
            while stats.get("processed", 0) < 1:         # best-effort start-up: resend until one frame got through
                assert k < 4, f"no frame processed after {k} tries: {stats}"
                send(frames[k])
                k += 1
                try:
                    c.wait_for(lambda: stats.get("processed", 0) >= 1, 20, "the first good frame")
                except TimeoutError:
                    pass
            c.wait_for(lambda: stats.get("queued") == 0, 20, "an empty queue")
            before = dict(stats)
            send(frames[k], rgb_enc="yuv422")            # wrong encoding
            send(frames[k + 1], cut_depth=True)           # size mismatch
            send(frames[k + 2], nan_pose=True)            # NaN pose -> no transform for that frame either
            send(frames[k + 3], frame_id="nowhere")       # unknown frame
            for f in frames[k + 4:k + 7]:
                send(f)
            c.wait_for(lambda: stats.get("processed", 0) >= before["processed"] + 3, 60, "the good frames after the bad")
            time.sleep(0.5)
            assert proc.poll() is None
    finally:
        rc = stop(proc)
    log = (tmp / "stack.log").read_text()
    assert rc == 0, log[-3000:]
    dropped = stats["dropped"]
    assert stats["processed"] == before["processed"] + 3, (before, stats)
    assert any("encoding" in k for k in dropped), dropped
    assert any("bytes" in k for k in dropped), dropped
    assert dropped.get("transform", 0) >= 1, dropped
    assert sum(v for k, v in dropped.items() if "unknown" in k) - sum(
        v for k, v in before["dropped"].items() if "unknown" in k) == 2, (before, dropped)   # NaN-pose frame + "nowhere"
    assert "dropped transform" in log and "encoding 'yuv422'" in log and "data has" in log   # logged (rate-limited per kind)
