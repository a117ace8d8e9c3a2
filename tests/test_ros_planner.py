"""The planner node across processes over DDS: the simulator bridge in one process, the stack
(perception + memory + query + planner) in another, this process the client. A question about
something memory has never seen makes the planner send ``goal_pose`` goals (the bridge walks there and
turns around on ``cmd_vel``) and publish an answer; a question about an object seen on the tour is
answered through ``planner/ask`` with its position."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from tests.ros_support import ros_graph, unique_small_objects  # noqa: F401 - fixture

SEED = 3
BRIDGE = {"seed": SEED, "n_rooms": 3, "n_objects": 12, "rate_hz": 10.0}
PLANNER = {"max_steps": 1, "turn_rate": 3.0, "explore_turn_deg": 240.0, "verify_turn_deg": 90.0,
           "goal_timeout_s": 40.0, "settle_s": 3.0}


@pytest.mark.slow
def test_planner_sends_goals_and_answers_across_processes(ros_graph):  # noqa: F811
    from geometry_msgs.msg import PoseStamped
    from robomem_msgs.srv import Query
    from std_msgs.msg import Bool, String

    from ros_nodes.base import LATCHED_QOS, RELIABLE_QOS
    from ros_nodes.procs import RosClient, start_runner, stop
    env, tmp = ros_graph
    stack = start_runner("perception,memory,query,planner",
                         {"robomem_memory": {"store": str(tmp / "house.db")},
                          "robomem_perception": {"queue_size": 1000}, "robomem_planner": PLANNER}, env, tmp, "stack")
    bridge = start_runner("bridge", {"robomem_sim_bridge": BRIDGE}, env, tmp, "bridge")
    got: dict = {"stats": None, "done": False, "sent": 0, "goals": [], "answers": []}
    try:
        with RosClient("robomem_planner_client") as c:
            n = c.node
            n.create_subscription(String, "perception/stats", lambda m: got.__setitem__("stats", json.loads(m.data)),
                                  RELIABLE_QOS)
            n.create_subscription(String, "bridge/stats", lambda m: got.__setitem__("sent", json.loads(m.data)["sent"]),
                                  RELIABLE_QOS)
            n.create_subscription(Bool, "bridge/done", lambda m: got.__setitem__("done", m.data), LATCHED_QOS)
            n.create_subscription(PoseStamped, "goal_pose", lambda m: got["goals"].append(m), RELIABLE_QOS)
            n.create_subscription(String, "planner/answer", lambda m: got["answers"].append(json.loads(m.data)),
                                  RELIABLE_QOS)
            ask = n.create_publisher(String, "planner/question", RELIABLE_QOS)
            cli = n.create_client(Query, "planner/ask")
            c.wait_for(lambda: got["done"], 150, "the bridge to finish its tour")
            c.wait_for(lambda: got["stats"] and got["stats"]["queued"] == 0 and got["stats"]["rooms"] > 0
                       and got["stats"]["synced"] >= 0.9 * got["sent"], 180, "the stack to catch up")
            c.wait_for(lambda: ask.get_subscription_count() > 0 and cli.service_is_ready(), 30, "the planner")
            sent_before = got["sent"]
            # Nothing like it was seen: the value of information says go and look (rooms by the prior).
            t0 = time.monotonic()
            ask.publish(String(data="where is the unicorn?"))
            c.wait_for(lambda: got["answers"], 150, "the planner's answer")
            ans = got["answers"][0]
            print(f"episode {time.monotonic() - t0:.1f} s:", ans["text"], {k: v for k, v in ans["plan"].items()
                                                                          if k != "trace"})
            assert set(ans) >= {"kind", "value", "text", "confidence", "evidence", "query", "plan"}
            plan = ans["plan"]
            assert plan["steps"] >= 1 and len(plan["goals"]) == plan["steps"], plan
            assert plan["trace"][0]["chosen"] and plan["trace"][0]["chosen"].startswith("room:"), plan["trace"][0]
            # the goals reached this process as Nav2-style PoseStamped in the map frame, and the robot moved
            assert len(got["goals"]) >= 1 and all(g.header.frame_id == "map" for g in got["goals"])
            g0 = got["goals"][0].pose.position
            assert np.allclose([g0.x, g0.y], plan["goals"][0][:2], atol=1e-3)
            # the bridge drove it: it sends frames only while moving (walking to the goal, turning to look)
            assert got["sent"] > sent_before and plan["path_m"] >= 0.0
            assert ans["value"] is not None and "room_id" in ans["value"], ans
            # A uniquely-labelled object seen on the tour: answered (through the service) with its place.
            truth = {k: v[0] for k, v in unique_small_objects(SEED, BRIDGE["n_rooms"], BRIDGE["n_objects"]).items()}
            checked = 0
            for label, pos in sorted(truth.items()):
                res = c.call(cli, Query.Request(question=f"where is the {label.replace('_', ' ')}?"), timeout=120)
                assert res.success, res.error
                a = json.loads(res.answer_json)
                assert set(a) >= {"kind", "value", "text", "confidence", "evidence", "query", "plan"}
                if a["kind"] != "objects" or not a["value"][0].get("position"):
                    continue                       # not seen on this tour
                err = float(np.linalg.norm(np.asarray(a["value"][0]["position"]) - pos))
                assert err < 0.3, (label, err, a["text"])
                checked += 1
                if checked == 1:
                    break
            assert checked >= 1, truth
            assert stack.poll() is None and bridge.poll() is None
    finally:
        rc_bridge, rc_stack = stop(bridge), stop(stack)
    assert rc_stack == 0 and rc_bridge == 0, (tmp / "stack.log").read_text()[-3000:]
