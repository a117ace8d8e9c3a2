"""With the defaults every stored object gets its room (issue 11): objects seen only before the
first room segmentation are given theirs when rooms are segmented, in the store, and the answers
say so (a regression: 2 of 44 demo-house objects used to keep room None)."""
from __future__ import annotations

import numpy as np

import robomem


def test_objects_seen_before_the_first_room_segmentation_get_their_room(tmp_path):
    import sim
    from sim.scenario import Scenario, ScenarioConfig

    scene = sim.generate_house(seed=3)
    scenario = Scenario(scene, ScenarioConfig(days=1, seed=3))
    env = sim.EmbeddedSim(scene, width=160, height=120, hfov_deg=90)
    frames = list(scenario.session_frames(0, env, views_per_room=6))
    s = scenario.log.session(0)
    path = tmp_path / "rooms.db"
    roomless_before_rooms = 0
    with robomem.open(path, perception_settings={"structure_every": 12}) as stack:
        stack.begin_session(s.name, s.t_start)
        for i, f in enumerate(frames):
            stack.observe(f)                       # frames 2 s apart: consolidated at every frame
            if i == 10:                            # before the first segmentation: no room known
                roomless_before_rooms = len(stack.long_term.current_placements_without_room()[0])
            if i == 11:                            # rooms segmented at this frame, placements filled
                rm = stack.scene_graph.room_map
                _, xyz = stack.long_term.current_placements_without_room()
                assert rm is not None and np.all(rm.room_at(xyz[:, :2]) == 0), "a placement inside a room kept None"
        stack.end_session(s.t_end)
        objs = stack.long_term.objects()
        rm = stack.scene_graph.room_map
        assert roomless_before_rooms > 0 and len(objs) > roomless_before_rooms
        for o in objs:
            p = stack.long_term.current_placement(o.object_id)
            assert p.room_id is not None, f"object {o.object_id} ({o.label}) has no room"
            assert p.room_id == int(rm.room_at(p.position[None, :2])[0])
        answers = [a for o in objs for a in stack.where_is(o.label)]
        assert answers and all(a.room_id is not None for a in answers)
    with robomem.open(path, readonly=True) as ro:     # stored, not only in the writer's memory
        assert all(ro.long_term.current_placement(o.object_id).room_id is not None for o in objs)
        assert len(ro.long_term.current_placements_without_room()[0]) == 0
