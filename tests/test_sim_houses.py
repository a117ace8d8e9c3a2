"""Procedural houses: sizes, variety, plausibility, connectivity; the `python -m sim` command."""
import numpy as np
import pytest
from PIL import Image

import sim
from sim.categories import CATEGORIES
from sim.houses import LAYOUT_STYLES, generate_house
from sim.pathfinder import GridPathFinder

CASES = [(0, style) for style in LAYOUT_STYLES] + [(11, "bsp"), (11, "corridor"), (5, None), (7, None)]


@pytest.fixture(scope="module")
def houses():
    return {(seed, style): generate_house(seed, style=style) for seed, style in CASES}


@pytest.mark.parametrize("key", CASES)
def test_generated_house_is_plausible_and_connected(houses, key):
    h = houses[key]
    assert 3 <= len(h.rooms) <= 8
    assert 20 <= len(h.small_objects()) <= 80
    types = {r.room_type for r in h.rooms.values()}
    assert {"kitchen", "living_room"} <= types
    if len(h.rooms) >= 4:
        assert "bathroom" in types
    for o in h.small_objects():
        owner = h.objects[h.receptacles[o.receptacle_id].owner_id]
        assert owner.category in CATEGORIES[o.category].receptacles, (o.category, owner.category)
        assert h.receptacles[o.receptacle_id].polygon.buffer(1e-6).covers(o.footprint())
        assert o.room == owner.room is not None
    for f in h.furniture():
        assert f.room is not None and h.rooms[f.room].polygon.buffer(1e-6).covers(f.footprint())
    pf = GridPathFinder(h)
    assert pf.all_rooms_connected()
    # Every room is reachable from the first by a finite geodesic path.
    anchor = {}
    for k, rid in enumerate(pf.room_ids):
        iy, ix = np.argwhere((pf.room_grid == k) & pf.navigable)[0]
        anchor[rid] = pf.cell_to_world(iy, ix)
    first = anchor[pf.room_ids[0]]
    for rid, p in anchor.items():
        assert np.isfinite(pf.geodesic_distance(first, p)), rid


def test_generator_is_seeded_and_styles_differ(houses):
    assert generate_house(11, style="bsp").to_dict() == houses[(11, "bsp")].to_dict()
    assert houses[(0, "bsp")].to_dict() != houses[(11, "bsp")].to_dict()
    assert any(r.room_type == "hallway" for r in houses[(0, "corridor")].rooms.values())
    open_plan = houses[(0, "open_plan")]
    assert max(d.width for d in open_plan.doors) > 1.5  # a wide opening, not a door
    assert all(d.width == pytest.approx(0.9) for d in houses[(0, "bsp")].doors)
    rooms = houses[(0, "l_shaped")].rooms.values()
    assert any(len(r.polygon.exterior.coords) == 7 for r in rooms)  # an L: six corners
    with pytest.raises(sim.SceneError, match="spiral"):
        generate_house(0, style="spiral")
    with pytest.raises(sim.SceneError, match="n_rooms"):
        generate_house(0, n_rooms=12)


def test_python_m_sim_writes_strip_and_floor_plan(tmp_path):
    from sim.__main__ import main

    assert main(["--seed", "3", "--out", str(tmp_path), "--size", "96x72", "--frames", "4"]) == 0
    strip = Image.open(tmp_path / "strip.png")
    assert strip.size == (3 * 96, 4 * 72)
    plan = Image.open(tmp_path / "floor_plan.png")
    assert plan.size[0] > 300 and plan.size[1] > 300
    assert sim.Scene.load(tmp_path / "scene.json").to_dict() == generate_house(3).to_dict()


def test_small_objects_vary_in_size_and_colour_per_instance(houses, tmp_path):
    """Same-category small objects are not clones: per-instance size (footprint and height factors
    in [0.85, 1.15]) and jittered colour, seeded, and kept through a scene file."""
    h = houses[(0, LAYOUT_STYLES[0])]
    by_cat: dict = {}
    for o in h.small_objects():
        info = CATEGORIES[o.category]
        f = o.size / np.array(info.size)
        assert np.all((f > 0.85 - 1e-9) & (f < 1.15 + 1e-9)), (o.category, f)
        assert abs(f[0] - f[1]) < 1e-9  # one footprint factor: round things stay round
        assert np.all(np.abs(np.array(o.color) - np.array(info.color)) <= 40)
        by_cat.setdefault(o.category, []).append(o)
    twins = [objs for objs in by_cat.values() if len(objs) >= 2]
    assert twins
    assert all(len({(tuple(np.round(o.size, 6)), o.color) for o in objs}) > 1 for objs in twins)
    again = generate_house(0, style=LAYOUT_STYLES[0])
    assert again.to_dict() == h.to_dict()
    h.save(tmp_path / "h.json")
    loaded = sim.Scene.load(tmp_path / "h.json")
    for o in h.small_objects():
        np.testing.assert_allclose(loaded.objects[o.instance_id].size, o.size)
        assert tuple(loaded.objects[o.instance_id].color) == tuple(o.color)
