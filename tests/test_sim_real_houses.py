"""Scene API for real floor plans: walls outside the outline, flush / tucked / stacked / shelved
furniture, oriented furniture with a front, fridges with a door state, windows, exterior doors,
and save -> load identity (also for scenes built with check=False)."""
import json
import math

import numpy as np
import pytest

import sim
from sim.placement import interpenetration, solids, wall_solids


def hand_house() -> sim.Scene:
    """Two rooms (kitchen | living room) with flush, tucked, stacked and shelved furniture."""
    s = sim.Scene("hand", wall_thickness=0.12, walls="outside")
    s.add_room("kitchen", "kitchen", [(0, 0), (4, 0), (4, 3), (0, 3)])
    s.add_room("living", "living_room", [(4, 0), (9, 0), (9, 3), (4, 3)])
    s.add_door("kitchen", "living", width=1.0)
    s.add_window("living", (6.5, 3.0), width=1.5)
    s.add_exterior_door("kitchen", (0.0, 1.5), width=0.9)
    # Flush against the exterior wall (the outline itself is the wall face).
    s.add_object("counter", (2.0, 0.3), size=(0.6, 2.0, 0.9), yaw=math.pi / 2, instance_id=1)
    # Flush against the interior wall (centred on x = 4): its face is at 4 - 0.06.
    s.add_object("fridge", (4 - 0.06 - 0.35, 2.6), yaw=math.pi, state="closed", instance_id=2)
    s.add_object("kitchen_table", (2.0, 1.9), instance_id=3)
    # A chair tucked under the table: the seat goes under the top, the back stays out.
    s.add_object("chair", (2.0, 1.9 - 0.4 - 0.05), yaw=math.pi / 2, instance_id=4)
    s.add_object("tv_stand", (8.775, 1.5), yaw=math.pi, instance_id=5)
    s.add_object("tv", (8.8, 1.5, 0.5), yaw=math.pi, receptacle_id="5/top", instance_id=6)
    s.add_object("bookshelf", (6.5, 0.175), yaw=math.pi / 2, instance_id=7)
    s.add_object("wall_art", (4.5, 1.5, 1.4), size=(0.04, 0.8, 0.6), instance_id=8)
    s.place_object_on("book", "7/shelf1", position=(6.3, 0.2), instance_id=20)
    s.place_object_on("milk", "2/shelf2", position=(3.6, 2.6), instance_id=21)
    s.place_object_on("mug", "1/top", position=(1.5, 0.3), instance_id=22)
    return s


def test_hand_house_flush_tucked_stacked_shelved_saves_and_loads_identical(tmp_path):
    s = hand_house()
    # Flush really is flush: no solid enters a wall or another solid, and the faces touch.
    for o in s.furniture():
        assert interpenetration(solids(o), wall_solids(s)) <= sim.scene.OVERLAP_AREA
    counter = s.objects[1]
    assert counter.bbox()[0][1] == pytest.approx(0.0)
    assert np.allclose(s.objects[6].front, [-1, 0])            # the TV faces into the room
    assert s.objects[21].position[2] > 0.3 and s.objects[21].receptacle_id == "2/shelf2"
    p = tmp_path / "hand.json"
    s.save(p)
    s2 = sim.Scene.load(p)
    assert json.dumps(s2.to_dict()) == json.dumps(s.to_dict())
    assert [(w.openings, w.windows, w.offset) for w in s2.walls] == [(w.openings, w.windows, w.offset) for w in s.walls]
    assert any(w.windows for w in s.walls) and any(w.offset != 0 for w in s.walls)


def test_flush_placement_is_refused_only_when_it_enters_the_wall():
    s = sim.Scene("c")                                           # centred 0.1 m walls
    s.add_room("k", "kitchen", [(0, 0), (4, 0), (4, 3), (0, 3)])
    with pytest.raises(sim.PlacementError, match="overlaps a wall"):
        s.add_object("counter", (0.3, 1.5))                     # flush on the outline: into the wall
    s.add_object("counter", (0.35, 1.5))                        # flush on the wall face
    o = sim.Scene("o", walls="outside")
    o.add_room("k", "kitchen", [(0, 0), (4, 0), (4, 3), (0, 3)])
    o.add_object("counter", (0.3, 1.5))                         # outline = wall face
    with pytest.raises(sim.PlacementError, match="not inside"):
        o.add_object("nightstand", (0.19, 2.7))                 # 1 cm past the outline: into the wall
    with pytest.raises(sim.PlacementError, match="overlaps"):   # solid into solid
        o.add_object("kitchen_table", (0.8, 1.5))


def test_fridge_door_state_hides_or_shows_the_inside():
    s = sim.Scene("f", walls="outside")
    s.add_room("k", "kitchen", [(0, 0), (4, 0), (4, 3), (0, 3)])
    s.add_object("fridge", (1.0, 1.5), state="closed", instance_id=1)
    assert any(r.startswith("1/shelf") for r in s.receptacles)
    closed = s.objects[1].world_mesh().bounds.copy()
    s.set_state(1, "open")
    assert s.objects[1].world_mesh().bounds[1][0] > closed[1][0] + 0.5   # the door swings out
    with pytest.raises(sim.SceneError, match="state"):
        s.add_object("counter", (3.0, 1.5), state="open")
    with pytest.raises(sim.SceneError, match="state"):
        s.set_state(1, "ajar")


def test_windows_and_exterior_doors_are_validated():
    s = sim.Scene("w")
    s.add_room("a", "bedroom", [(0, 0), (4, 0), (4, 3), (0, 3)])
    s.add_room("b", "office", [(4, 0), (8, 0), (8, 3), (4, 3)])
    with pytest.raises(sim.PlacementError, match="exterior wall"):
        s.add_window("a", (4.0, 1.5))                            # interior wall
    with pytest.raises(sim.PlacementError, match="exterior wall"):
        s.add_window("a", (3.8, 0.0), width=1.0)                # runs past the room's wall
    w = s.add_window("a", (2.0, 0.0), width=1.0)
    with pytest.raises(sim.PlacementError, match="overlaps"):
        s.add_window("a", (2.5, 0.0), width=1.0)
    s.add_exterior_door("b", (8.0, 1.5))
    wall = next(x for x in s.walls if x.windows)
    zs = sorted((c[2] - e[2] / 2, c[2] + e[2] / 2) for c, e, _ in wall.boxes()
                if abs(c[0] - 2.0) < 0.3)
    assert zs[0][1] == pytest.approx(w.bottom) and zs[1][0] == pytest.approx(w.top)


def test_unchecked_scene_saves_and_loads_back(tmp_path):
    s = sim.Scene("u")
    s.add_room("k", "kitchen", [(0, 0), (4, 0), (4, 3), (0, 3)])
    s.add_object("counter", (0.3, 1.5), check=False, instance_id=1)     # into the wall
    s.add_object("sofa", (0.6, 1.5), check=False, instance_id=2)        # into the counter
    s.add_object("mug", (0.3, 1.5, 0.9), receptacle_id="1/top", check=False, instance_id=3)
    p = tmp_path / "u.json"
    s.save(p)
    assert json.dumps(sim.Scene.load(p).to_dict()) == json.dumps(s.to_dict())
    # A hand-edited file that claims a checked overlap is still refused.
    d = s.to_dict()
    for o in d["objects"]:
        o.pop("checked", None)
    with pytest.raises(sim.PlacementError, match="objects"):
        sim.Scene.from_dict(d)


@pytest.mark.slow
@pytest.mark.parametrize("style", sim.LAYOUT_STYLES)
def test_every_generated_house_saves_and_loads_identical(style, tmp_path):
    """10 seeds of every style (50 houses, ~1 s each): the file loads back to the identical scene."""
    for seed in range(10):
        s = sim.generate_house(seed=seed, style=style)
        p = tmp_path / f"{style}-{seed}.json"
        s.save(p)
        assert json.dumps(sim.Scene.load(p).to_dict()) == json.dumps(s.to_dict()), (style, seed)


def test_real_style_house_is_hard_like_real_ones():
    s = sim.generate_house(seed=1, style="real")
    assert s.wall_placement == "outside" and any(w.kind == "window" for w in s.wall_openings)
    counts = {}
    for o in s.small_objects():
        counts.setdefault(o.category, []).append(o)
    groups = [v for v in counts.values() if len(v) >= 3]
    assert len(groups) >= 3
    # Look-alikes: within a group sizes differ by a few per cent and colours by a few units.
    def lookalikes(objs):
        S = np.array([o.size for o in objs])
        return max(int(np.sum(np.all(np.abs(S / S[i] - 1) < 0.07, axis=1))) for i in range(len(S)))
    assert sum(lookalikes(v) >= 3 for v in groups) >= 3
    # Furniture flush against walls (touching a wall face), chairs tucked under tables.
    faces = 0
    for o in s.furniture():
        lo, hi = o.bbox()
        assert interpenetration(solids(o), wall_solids(s)) <= sim.scene.OVERLAP_AREA
        faces += int(any(abs(lo[i] - v) < 0.01 or abs(hi[i] - v) < 0.01 for i in (0, 1)
                         for v in np.asarray(s.outline.exterior.coords)[:, i]))
    assert faces >= 3
    tables = [o for o in s.furniture() if o.category in ("kitchen_table", "dining_table", "desk")]
    chairs = [o for o in s.furniture() if o.category in ("chair", "office_chair")]
    assert any(c.footprint().intersects(t.footprint()) for c in chairs for t in tables)
    inside = [o for o in s.small_objects() if "/shelf" in (o.receptacle_id or "")]
    assert inside
