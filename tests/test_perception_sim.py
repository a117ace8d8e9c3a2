"""End-to-end perception on a generated house from the embedded simulator (ground-truth instance
images): full exploration, scene graph scored against the simulator's ground truth, then objects
are moved between sessions and the agent re-explores. The 5-house version is
``benchmarks/perception.py``."""
from __future__ import annotations

import pytest

pytest.importorskip("open3d")
sim = pytest.importorskip("sim")


@pytest.mark.slow
def test_house_exploration_objects_rooms_relations_and_moves():
    from benchmarks.perception import run_house
    r, pipe = run_house(3, verbose=False)
    o, rooms = r["objects"], r["rooms"]
    assert o.gt >= 30
    assert o.matched / o.gt >= 0.95 and o.matched / o.pred >= 0.95
    assert o.duplicates == 0
    assert o.label_ok == o.matched
    assert o.on_total >= 15 and o.on_ok / o.on_total >= 0.9
    assert rooms["matched"] == rooms["gt"] and rooms["type_ok"] >= 0.8 * rooms["matched"]
    # Moves: detected with the old id (identical objects trading places count apart).
    assert r["moves_eligible"] >= 4
    assert (r["moves_detected"] + r["moves_swapped"]) / r["moves_eligible"] >= 0.8
    assert r["false_change_events"] <= 1
    g = pipe.scene_graph
    # The graph is complete and serialisable: every present object sits in a room, places connect.
    assert g.num_nodes("room") == rooms["gt"] and g.num_nodes("place") > 10
    assert all(a["room"] is not None for a in g.objects() if a["state"] == "present")
    from robomem.scenegraph import SceneGraph
    assert SceneGraph.from_dict(g.to_dict()) == g
