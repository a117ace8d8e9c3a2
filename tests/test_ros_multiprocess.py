"""ROS 2 across processes over DDS: the simulator bridge and the stack (perception + memory +
query) run as separate ``robomem-ros`` processes; this test process is the client. After the bridge
has driven through a generated house, ``Query`` answers where objects are (position and room), and
the occupancy grid and the scene-graph markers arrive here."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest

from tests.ros_support import ros_graph, unique_small_objects  # noqa: F401 - fixture

SEED = 1
BRIDGE = {"seed": SEED, "n_rooms": 3, "n_objects": 20, "rate_hz": 10.0}


@pytest.mark.slow
def test_bridge_and_stack_processes_answer_queries_and_publish_map(ros_graph):  # noqa: F811
    from nav_msgs.msg import OccupancyGrid
    from robomem_msgs.srv import Query
    from std_msgs.msg import Bool, String
    from visualization_msgs.msg import Marker, MarkerArray

    from ros_nodes.base import LATCHED_QOS, RELIABLE_QOS
    from ros_nodes.procs import RosClient, start_runner, stop
    env, tmp = ros_graph
    db = tmp / "house.db"
    # a deep processing queue: this test checks answers, not throughput (benchmarks/ros_pipeline.py does)
    stack = start_runner("perception,memory,query", {"robomem_memory": {"store": str(db)},
                                                     "robomem_perception": {"queue_size": 1000}}, env, tmp, "stack")
    bridge = start_runner("bridge", {"robomem_sim_bridge": BRIDGE}, env, tmp, "bridge")
    got: dict = {"stats": None, "done": False, "grid": None, "markers": None, "sent": 0}
    try:
        with RosClient() as c:
            n = c.node
            n.create_subscription(String, "perception/stats", lambda m: got.__setitem__("stats", json.loads(m.data)),
                                  RELIABLE_QOS)
            n.create_subscription(String, "bridge/stats", lambda m: got.__setitem__("sent", json.loads(m.data)["sent"]),
                                  RELIABLE_QOS)
            n.create_subscription(Bool, "bridge/done", lambda m: got.__setitem__("done", m.data), LATCHED_QOS)
            got["answers"] = []
            n.create_subscription(String, "memory/answers", lambda m: got["answers"].append(m.data), RELIABLE_QOS)
            n.create_subscription(OccupancyGrid, "map", lambda m: got.__setitem__("grid", m), LATCHED_QOS)
            n.create_subscription(MarkerArray, "scene_graph", lambda m: got.__setitem__("markers", m), LATCHED_QOS)
            cli = n.create_client(Query, "query")
            c.wait_for(lambda: got["done"], 150, "the bridge to finish its tour")
            # the stack catches up: everything synced was processed and the rooms were computed
            c.wait_for(lambda: got["stats"] and got["stats"]["queued"] == 0 and got["stats"]["rooms"] > 0
                       and got["stats"]["synced"] >= 0.9 * got["sent"], 180, "the stack to catch up")
            st = got["stats"]
            assert st["processed"] >= 0.9 * got["sent"], (st, got["sent"])
            assert stack.poll() is None and bridge.poll() is None
            c.wait_for(lambda: cli.service_is_ready(), 10, "the query service")
            # a fourth process records the stack's outputs to MCAP while we ask
            rec = subprocess.Popen([sys.executable, "-m", "ros_nodes.cli", "record", str(tmp / "rec")],
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            c.wait_for(lambda: n.count_subscribers("/memory/answers") >= 2, 60, "the recorder to subscribe")
            # Discovery is per pair of endpoints: the recorder counting as a subscriber here does not
            # mean the query node's publisher has matched it yet. Ask until an answer reaches this
            # process (which subscribed earlier), then give the recorder's match a moment.
            warm = c.call(cli, Query.Request(question="where is the sofa?"))
            for _ in range(40):
                if got["answers"]:
                    break
                warm = c.call(cli, Query.Request(question="where is the sofa?"))
                time.sleep(0.25)
            assert got["answers"], warm
            time.sleep(1.0)
            truth = unique_small_objects(SEED, BRIDGE["n_rooms"], BRIDGE["n_objects"])
            checked = []
            for label, (pos, room_type) in sorted(truth.items()):
                res = c.call(cli, Query.Request(query_json=json.dumps({"kind": "where_is", "label": label})))
                assert res.success, res.error
                ans = json.loads(res.answer_json)
                assert set(ans) >= {"kind", "value", "text", "confidence", "evidence", "query"}
                if ans["value"] is None:
                    continue
                assert len(res.evidence_poses) == len(ans["evidence"]) and res.evidence_poses[0].header.frame_id == "map"
                err = float(np.linalg.norm(np.asarray(ans["value"]["position"]) - pos))
                checked.append((label, err, ans["value"]["room_type"], room_type, res.text))
            assert len(checked) >= 3, checked
            assert all(err < 0.3 for _, err, *_ in checked), checked
            rooms_ok = sum(got_t == want for _, _, got_t, want, _ in checked)
            assert rooms_ok >= 0.8 * len(checked), checked
            # the same question in words
            label = checked[0][0]
            res = c.call(cli, Query.Request(question=f"Where is the {label.replace('_', ' ')}?"))
            assert res.success and label.replace("_", " ") in res.text
            bad = c.call(cli, Query.Request(query_json="{not json"))
            assert not bad.success and "JSON" in bad.error
            # map and markers arrived in this (third) process
            c.wait_for(lambda: got["grid"] is not None and got["markers"] is not None, 10, "map and markers")
            g = np.asarray(got["grid"].data, dtype=np.int8)
            assert g.size == got["grid"].info.width * got["grid"].info.height
            assert (g == 100).sum() > 50 and (g == 0).sum() > 500
            cubes = [m for m in got["markers"].markers if m.type == Marker.CUBE]
            assert len(cubes) >= len(checked)
            # Keep answering for a while: the recorder's subscription may match the query node's
            # publisher seconds after both appear in the graph (DDS discovery is per endpoint pair).
            t_end = time.monotonic() + 10.0
            while time.monotonic() < t_end:
                c.call(cli, Query.Request(question=f"Where is the {label.replace('_', ' ')}?"))
                time.sleep(0.2)
            rec.send_signal(signal.SIGINT)                # stop recording: the bag is closed cleanly
            out, _ = rec.communicate(timeout=60)
            text = out.decode()
            counts = json.loads(text[text.index("{"):])
            print("recorded messages per topic:", counts)
            assert counts["/map"] >= 1 and counts["/scene_graph"] >= 1 and counts["/memory/answers"] >= 1, counts
    finally:
        rc_bridge, rc_stack = stop(bridge), stop(stack)
    assert rc_stack == 0 and rc_bridge == 0, (tmp / "stack.log").read_text()[-3000:]
    import robomem
    with robomem.open(db, readonly=True) as mem:        # the memory outlived the process
        assert mem.where_is(checked[0][0])
    from rosbags.highlevel import AnyReader

    from ros_nodes.bags import typestore
    with AnyReader([tmp / "rec"], default_typestore=typestore()) as r:   # the recording is a readable MCAP bag
        topics = Counter(c.topic for c, _, _ in r.messages())
        grid = next(r.deserialize(raw, c.msgtype) for c, _, raw in r.messages() if c.topic == "/map")
    assert topics["/map"] >= 1 and topics["/scene_graph"] >= 1 and topics["/memory/answers"] >= 1
    assert grid.info.width * grid.info.height == len(grid.data)
    print("checked (label, position error m, room type, true room type, text):", *checked, sep="\n  ")
