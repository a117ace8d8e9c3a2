"""Scene model: walls with doors, placements, vocabulary, JSON files, mesh loading, bad input."""
import json
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.meshes import load_mesh_parts, scene_from_mesh_file
from tests.sim_fixtures import two_rooms

DATA = Path(__file__).parent / "data"


def test_walls_follow_rooms_and_door_is_a_gap():
    s = two_rooms()
    shared = [w for w in s.walls if set(w.rooms) == {"living", "kitchen"}]
    assert len(shared) == 1
    w = shared[0]
    assert w.openings == [pytest.approx((1.05, 1.95, 2.1))] or w.openings[0][:2] == pytest.approx((1.05, 1.95))
    # Solid parts reaching the floor leave exactly the door gap free at y in (1.05, 1.95).
    from shapely.geometry import Point
    fps = s.wall_footprints()
    assert not any(fp.contains(Point(4.0, 1.5)) for fp in fps)
    assert any(fp.contains(Point(4.0, 0.5)) for fp in fps)
    assert any(fp.contains(Point(4.0, 2.5)) for fp in fps)
    # Exterior: 4 + 3 outer segments besides the shared one.
    assert len(s.walls) == 7
    assert s.room_adjacency() == {"living": {"kitchen"}, "kitchen": {"living"}}


def test_place_move_remove_keep_scene_consistent():
    s = two_rooms()
    table = s.add_object("table", (2.0, 1.5))
    counter = s.add_object("counter", (6.6, 1.5))
    top = f"{table.instance_id}/top"
    ctop = f"{counter.instance_id}/top"
    assert s.receptacles[top].height == pytest.approx(0.75)
    mug = s.place_object_on("mug", top, rng=np.random.default_rng(1))
    assert mug.room == "living" and mug.position[2] == pytest.approx(0.75)
    assert [o.instance_id for o in s.objects_on(top)] == [mug.instance_id]
    s.move_object(mug.instance_id, ctop)
    assert mug.receptacle_id == ctop and mug.room == "kitchen"
    assert s.objects_on(top) == [] and s.objects_on(ctop) == [mug]
    assert s.receptacles[ctop].polygon.covers(mug.footprint())
    # Explicit position on the counter.
    s.move_object(mug.instance_id, ctop, position=(6.6, 1.0))
    assert mug.position == pytest.approx([6.6, 1.0, 0.9])
    sem = {o.instance_id: o for o in s.semantic_objects()}
    assert sem[mug.instance_id].room == "kitchen" and sem[mug.instance_id].category == "mug"
    assert sem[mug.instance_id].bbox_min[2] == pytest.approx(0.9)
    with pytest.raises(sim.PlacementError, match="still holds"):
        s.remove_object(counter.instance_id)
    s.remove_object(mug.instance_id)
    s.remove_object(counter.instance_id)
    assert ctop not in s.receptacles and counter.instance_id not in s.objects


def test_shelves_offer_levels_with_clearance():
    s = two_rooms()
    shelf = s.add_object("bookshelf", (0.3, 1.5))
    levels = [r for r in s.receptacles.values() if r.owner_id == shelf.instance_id]
    assert len(levels) >= 4 and sum(np.isfinite(r.clearance) for r in levels) == len(levels) - 1
    inner = min((r for r in levels if np.isfinite(r.clearance)), key=lambda r: r.height)
    s.place_object_on("book", inner.receptacle_id, rng=np.random.default_rng(0))
    with pytest.raises(sim.PlacementError, match="clearance"):
        s.place_object_on("book", inner.receptacle_id, size=(0.2, 0.2, 1.0), rng=np.random.default_rng(0))


@pytest.mark.parametrize("call, error, words", [
    (lambda s: s.add_object("mugg", (1, 1)), sim.UnknownCategoryError, ["mugg", "mug"]),
    (lambda s: s.add_room("x", "garage_bay", [(10, 0), (12, 0), (12, 2), (10, 2)]), sim.UnknownCategoryError, ["garage_bay"]),
    (lambda s: s.add_room("bow", "bedroom", [(10, 0), (12, 2), (12, 0), (10, 2)]), sim.InvalidPolygonError, ["bow", "Self-intersection"]),
    (lambda s: s.add_room("ov", "bedroom", [(3, 1), (6, 1), (6, 5), (3, 5)]), sim.InvalidPolygonError, ["ov", "overlaps"]),
    (lambda s: s.add_room("nan", "bedroom", [(10, 0), (float("nan"), 0), (12, 2)]), sim.InvalidPolygonError, ["nan", "NaN"]),
    (lambda s: s.add_room("tiny", "bedroom", [(10, 0), (10.5, 0), (10.5, 0.5)]), sim.InvalidPolygonError, ["tiny", "minimum"]),
    (lambda s: s.add_object("sofa", (20.0, 20.0)), sim.PlacementError, ["sofa", "not inside any room"]),
    (lambda s: s.add_object("sofa", (3.9, 1.5)), sim.PlacementError, ["sofa", "overlaps a wall"]),
    (lambda s: s.add_object("bed", (2.0, 1.5)), sim.PlacementError, ["overlaps", "table"]),
    (lambda s: s.place_object_on("mug", "999/top"), sim.PlacementError, ["999/top"]),
    (lambda s: s.place_object_on("mug", "1/top", position=(3.5, 2.9)), sim.PlacementError, ["does not fit"]),
    (lambda s: s.place_object_on("sofa", "1/top"), sim.PlacementError, ["furniture"]),
    (lambda s: s.place_object_on("laptop", "1/top", size=(2.0, 2.0, 0.1)), sim.PlacementError, ["no free spot", "laptop"]),
    (lambda s: s.add_door("living", "attic"), sim.SceneError, ["attic"]),
    (lambda s: s.add_door("living", "kitchen", width=3.5), sim.PlacementError, ["does not fit"]),
    (lambda s: s.add_door("living", "kitchen", position=(2.0, 2.0)), sim.PlacementError, ["not on the wall"]),
    (lambda s: s.add_object("mug", (1.0, 1.0)), sim.PlacementError, ["receptacle"]),
    (lambda s: s.add_object("table", (1, 1), instance_id=1), sim.SceneError, ["already used"]),
    (lambda s: s.move_object(424242, "1/top"), sim.SceneError, ["424242"]),
    (lambda s: s.move_object(1, "1/top"), sim.PlacementError, ["furniture"]),
    (lambda s: s.add_object("wall", (1, 1)), sim.SceneError, ["structural"]),
])
def test_bad_input_names_the_problem_and_changes_nothing(call, error, words):
    s = two_rooms()
    s.add_object("table", (2.0, 1.5), instance_id=1)
    s.place_object_on("mug", "1/top", position=(2.0, 1.5))
    before = (s.version, json.dumps(s.to_dict()))
    with pytest.raises(error) as exc:
        call(s)
    assert isinstance(exc.value, ValueError)
    for w in words:
        assert w in str(exc.value)
    assert (s.version, json.dumps(s.to_dict())) == before


def test_door_between_non_adjacent_rooms_is_refused():
    s = two_rooms()
    s.add_room("far", "bedroom", [(10, 0), (13, 0), (13, 3), (10, 3)])
    with pytest.raises(sim.PlacementError, match="share no wall"):
        s.add_door("living", "far")


def test_json_round_trip(tmp_path):
    s = two_rooms()
    t = s.add_object("table", (2.0, 1.5), yaw=0.3)
    s.place_object_on("laptop", f"{t.instance_id}/top", rng=np.random.default_rng(3))
    s.add_receptacle(t.instance_id, [(1.9, 1.4), (2.1, 1.4), (2.1, 1.6)], 0.2, name="under", clearance=0.5)
    p = tmp_path / "scene.json"
    s.save(p)
    s2 = sim.Scene.load(p)
    assert s2.to_dict() == s.to_dict()
    assert [w.openings for w in s2.walls] == [w.openings for w in s.walls]
    assert s2.receptacles[f"{t.instance_id}/under"].clearance == 0.5


def _write(tmp_path, data):
    p = tmp_path / "bad.json"
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return p


def test_malformed_scene_files_give_clear_errors(tmp_path):
    good = two_rooms()
    good.add_object("table", (2.0, 1.5))
    d = good.to_dict()
    with pytest.raises(sim.SceneFileError, match="not valid JSON.*line 1"):
        sim.Scene.load(_write(tmp_path, "{rooms: ["))
    with pytest.raises(sim.SceneFileError, match="cannot read scene file"):
        sim.Scene.load(tmp_path / "missing.json")
    with pytest.raises(sim.SceneFileError, match="format"):
        sim.Scene.load(_write(tmp_path, {**d, "format": "other"}))
    bad = json.loads(json.dumps(d))
    del bad["rooms"][1]["polygon"]
    with pytest.raises(sim.SceneFileError, match=r"rooms\[1\]: missing field 'polygon'"):
        sim.Scene.load(_write(tmp_path, bad))
    bad = json.loads(json.dumps(d))
    bad["objects"][0]["category"] = "tabel"
    with pytest.raises(sim.UnknownCategoryError, match=r"objects\[0\].*'tabel'.*table"):
        sim.Scene.load(_write(tmp_path, bad))
    bad = json.loads(json.dumps(d))
    bad["rooms"][0]["polygon"] = [[0, 0], [4, 3], [4, 0], [0, 3]]
    with pytest.raises(sim.InvalidPolygonError, match=r"rooms\[0\].*Self-intersection"):
        sim.Scene.load(_write(tmp_path, bad))
    bad = json.loads(json.dumps(d))
    bad["objects"][0]["position"] = [50, 50, 0]
    with pytest.raises(sim.PlacementError, match=r"objects\[0\].*not inside any room"):
        sim.Scene.load(_write(tmp_path, bad))
    bad = json.loads(json.dumps(d))
    bad["objects"][0]["size"] = "big"
    with pytest.raises(sim.SceneFileError, match=r"objects\[0\]\.size"):
        sim.Scene.load(_write(tmp_path, bad))


def test_glb_loads_with_node_names():
    path = DATA / "habitat-test-assets" / "simple_room.glb"
    parts = load_mesh_parts(path, up="z")
    assert [p.name for p in parts] == ["Cube.002", "Cube.001", "Cube", "Cube.003", "Cube.004", "Cube.005", "Cube.006"]
    assert all(len(p.mesh.faces) == 12 for p in parts)
    by = {p.name: p.mesh for p in parts}
    # The table top (Cube.002) is a thin slab 1.11-1.15 m up, over four legs (Cube.003-006).
    assert by["Cube.002"].bounds[:, 2] == pytest.approx([1.112, 1.152], abs=2e-3)
    for leg in ("Cube.003", "Cube.004", "Cube.005", "Cube.006"):
        assert by[leg].bounds[1, 2] == pytest.approx(by["Cube.002"].bounds[0, 2], abs=0.03)
    # glTF default (y-up) would turn the floor slab on its side.
    assert np.ptp(load_mesh_parts(path)[2].mesh.bounds[:, 2]) > 5
    names = {"Cube.002": "table", "Cube.003": "table", "Cube.001": "wardrobe"}
    scene = scene_from_mesh_file(path, names, up="z")
    got = sorted((o.name, o.category) for o in scene.objects.values())
    assert got == [("Cube.001", "wardrobe"), ("Cube.002", "table"), ("Cube.003", "table")]
    with pytest.raises(sim.UnknownCategoryError, match="cube"):
        scene_from_mesh_file(path, lambda n: "cube", up="z")
    with pytest.raises(sim.SceneFileError, match="unsupported mesh format"):
        load_mesh_parts(DATA / "README.md")
