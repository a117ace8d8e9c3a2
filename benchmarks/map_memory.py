"""The map inside the memory (issue 11): observe() timing with the map vs without (same run), the
stored map read back, and furniture moved between two sessions in generated houses.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/map_memory.py timing
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/map_memory.py moves --seeds 0 1 2 3 4 5 6 7 8 9 10 11
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import robomem  # noqa: E402
import sim  # noqa: E402
from robomem.mapping import OccupancyOctree  # noqa: E402
from sim.base import AgentState  # noqa: E402
from sim.errors import SceneError  # noqa: E402


def timing(seed: int = 3, views: int = 12) -> None:
    """Median observe() per 320x240 frame on the demo house (examples/house_memory.py's tour),
    default settings with the map and with map=None, in the same run; the map part separately."""
    from sim.scenario import Scenario, ScenarioConfig

    scene = sim.generate_house(seed=seed)
    scenario = Scenario(scene, ScenarioConfig(days=1, seed=seed))
    env = sim.EmbeddedSim(scene, width=320, height=240, hfov_deg=90)
    sessions = [list(scenario.session_frames(k, env, views_per_room=views)) for k in range(2)]
    with tempfile.TemporaryDirectory() as d:
        res = {}
        for label, kw in (("no map (baseline)", {"map": None}), ("map (default)", {})):
            path = Path(d) / f"{len(res)}.db"
            full, mapt, persist = [], [], []
            with robomem.open(path, **kw) as stack:
                if stack.map is not None:  # time the map's two parts through the stack's own calls
                    ins, per = stack.map.insert, stack.map.persist

                    def tins(f, _i=ins):
                        t = time.perf_counter(); r = _i(f); mapt.append(time.perf_counter() - t); return r  # noqa: E702

                    def tper(*a, _p=per):
                        t = time.perf_counter(); r = _p(*a); persist.append(time.perf_counter() - t); return r  # noqa: E702
                    stack.map.insert, stack.map.persist = tins, tper
                for k, frames in enumerate(sessions):
                    s = scenario.log.session(k)
                    stack.begin_session(s.name, s.t_start)
                    for f in frames:
                        t = time.perf_counter()
                        stack.observe(f)
                        full.append(time.perf_counter() - t)
                    stack.end_session(s.t_end)
                objs = stack.long_term.objects()
                no_room = sum(1 for o in objs if (p := stack.long_term.current_placement(o.object_id)) is None
                              or p.room_id is None)
                g = stack.scene_graph_of_session(2)
                visits = sum(len(stack.room_visits(r)) for r in range(1, 30))
                written = stack.map.octree.copy() if stack.map is not None else None
            same = None
            if written is not None:
                with robomem.open(path, readonly=True) as ro:
                    same = _same(ro.map.octree, written)
            res[label] = (full, mapt, persist, len(objs), no_room, g, visits, same)
    print(f"demo house seed {seed}: {len(sessions[0]) + len(sessions[1])} frames 320x240 over 2 sessions")
    print("| setting | observe() median ms (p90) | map insert median ms | map persist median ms (calls) | "
          "objects | objects without room | rooms / places in session-2 snapshot | room visits | reopened map equal |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, (full, mapt, persist, n, nr, g, v, same) in res.items():
        f = np.array(full) * 1e3
        print(f"| {label} | {np.median(f):.1f} ({np.percentile(f, 90):.1f}) | "
              f"{np.median(mapt) * 1e3 if mapt else float('nan'):.1f} | "
              f"{np.median(persist) * 1e3 if persist else float('nan'):.1f} ({len(persist)}) | {n} | {nr} | "
              f"{g.num_nodes('room') if g else 0} / {g.num_nodes('place') if g else 0} | {v} | {same} |")


def _same(a: OccupancyOctree, b: OccupancyOctree) -> bool:
    ka, va = a.leaves()
    kb, vb = b.leaves()
    oa, ob = np.lexsort(ka.T), np.lexsort(kb.T)
    return bool(np.array_equal(ka[oa], kb[ob]) and np.array_equal(va[oa], vb[ob]))


def _tour(env, scene, stack, t: int, views: int = 12, pitch: float = -0.35, frames_out=None) -> int:
    for room in sorted(scene.rooms.values(), key=lambda r: r.room_id):
        try:
            spot = env.pathfinder.snap_point(room.centroid)
        except (ValueError, RuntimeError):
            continue
        for v in range(views):
            env.set_agent_state(AgentState(spot, 2 * math.pi * v / views, pitch))
            env.clock_ns = t
            f = env.observe()
            stack.map.insert(f)
            stack.record(t, robot_position=f.T_world_camera[:3, 3])
            if frames_out is not None:
                frames_out.append(f)
            t += 10**9
    return t


def _move_furniture(scene, rng, n: int) -> list:
    moved = []
    pieces = [o for o in scene.furniture() if o.receptacle_id is None]
    rng.shuffle(pieces)
    for o in pieces:
        if len(moved) == n:
            break
        room = scene.rooms.get(o.room) if o.room else None
        if room is None:
            continue
        old = tuple(np.array(b) for b in o.bbox())
        for r in [r for r in scene.receptacles.values() if r.owner_id == o.instance_id]:
            for small in scene.objects_on(r.receptacle_id):
                scene.remove_object(small.instance_id)
        cat, size, yaw, iid = o.category, o.size.copy(), o.yaw, o.instance_id
        scene.remove_object(iid)
        minx, miny, maxx, maxy = room.polygon.bounds
        for _ in range(200):
            p = rng.uniform([minx, miny], [maxx, maxy])
            try:
                new = scene.add_object(cat, position=p, size=size, yaw=yaw, instance_id=iid)
            except SceneError:
                continue
            nb = tuple(np.array(b) for b in new.bbox())
            if np.all(nb[0][:2] > old[1][:2] + 0.2) or np.all(nb[1][:2] < old[0][:2] - 0.2) or \
                    nb[0][0] > old[1][0] + 0.2 or nb[1][0] < old[0][0] - 0.2 or \
                    nb[0][1] > old[1][1] + 0.2 or nb[1][1] < old[0][1] - 0.2:
                moved.append((cat, old, nb))
                break
            scene.remove_object(iid)
        else:
            scene.add_object(cat, position=old[0][:2] * 0 + (old[0][:2] + old[1][:2]) / 2, size=size, yaw=yaw,
                             instance_id=iid, check=False)
    return moved


def _inside(p, box, pad=0.0):
    return np.all((p >= box[0] - pad) & (p <= box[1] + pad), axis=1)


def moves(seeds, styles) -> None:
    rows = []
    for style in styles:
        for seed in seeds:
            scene = sim.generate_house(seed=seed, style=style)
            env = sim.EmbeddedSim(scene, width=320, height=240, hfov_deg=90, seed=seed)
            with tempfile.TemporaryDirectory() as d, robomem.open(Path(d) / "m.db", perception=None) as stack:
                t = 1_793_606_400 * 10**9
                stack.begin_session("before", t)
                t = _tour(env, scene, stack, t)
                stack.end_session(t)
                t1 = t
                before = stack.map.octree.copy()
                moved = _move_furniture(scene, np.random.default_rng(seed), 2)
                t += 3600 * 10**9
                stack.begin_session("after", t)
                frames = []
                t = _tour(env, scene, stack, t, frames_out=frames)
                stack.end_session(t)
                after = stack.map.octree
                s2 = OccupancyOctree(after.resolution, max_range=after.max_range)
                for f in frames:
                    s2.insert_depth(f.depth, f.intrinsics, f.T_world_camera, discretize=True)
                ch = stack.map_changes(t1, t)
                vac_n = vac_ok = occ_n = occ_ok = found = 0
                for cat, old, new in moved:
                    res = after.resolution
                    occ_before = before.occupied_voxels(old[0] - res, old[1] + res)
                    cand = occ_before[(occ_before[:, 2] > 0.1) & ~_inside(occ_before, new, res)]
                    seen = s2.state_at(cand) == 0 if len(cand) else np.zeros(0, bool)  # session 2 saw it free
                    cand = cand[seen]
                    vac_n += len(cand)
                    vac_ok += int((after.state_at(cand) == 0).sum()) if len(cand) else 0
                    occ_s2 = s2.occupied_voxels(new[0] - res, new[1] + res)
                    cand = occ_s2[(occ_s2[:, 2] > 0.1) & ~_inside(occ_s2, old, res)]
                    if len(cand):  # session 2 alone holds them occupied with p >= 0.7 (not mixed evidence)
                        cand = cand[s2.probability_at(cand) >= 0.7 - 1e-6]
                    occ_n += len(cand)
                    occ_ok += int((after.state_at(cand) == 1).sum()) if len(cand) else 0
                    hit_old = any(np.all(r.bbox_max >= old[0] - 0.1) and np.all(r.bbox_min <= old[1] + 0.1)
                                  for r in ch.regions)
                    hit_new = any(np.all(r.bbox_max >= new[0] - 0.1) and np.all(r.bbox_min <= new[1] + 0.1)
                                  for r in ch.regions)
                    found += hit_old and hit_new
                row = (style, seed, len(moved), vac_ok / max(vac_n, 1), vac_n, occ_ok / max(occ_n, 1), occ_n, found,
                       len(ch.regions))
                rows.append(row)
                print(f"{style}-{seed}: moved {len(moved)}, vacated free {row[3]:.3f} of {vac_n}, new occupied "
                      f"{row[5]:.3f} of {occ_n}, pieces found by map_changes {found}/{len(moved)}, "
                      f"{len(ch.regions)} change regions", flush=True)
    print("| style | houses | pieces moved | vacated voxels free | newly occupied voxels occupied | "
          "pieces found by map_changes | change regions per house |")
    print("|---|---|---|---|---|---|---|")
    for style in styles + ["all"]:
        rs = [r for r in rows if style == "all" or r[0] == style]
        vn, on = sum(r[4] for r in rs), sum(r[6] for r in rs)
        vf = sum(r[3] * r[4] for r in rs) / max(vn, 1)
        of = sum(r[5] * r[6] for r in rs) / max(on, 1)
        print(f"| {style} | {len(rs)} | {sum(r[2] for r in rs)} | {vf:.3f} (n={vn}) | {of:.3f} (n={on}) | "
              f"{sum(r[7] for r in rs)}/{sum(r[2] for r in rs)} | {np.mean([r[8] for r in rs]):.1f} |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["timing", "moves"])
    ap.add_argument("--seeds", nargs="+", type=int, default=list(range(3)))
    ap.add_argument("--styles", nargs="+", default=list(sim.LAYOUT_STYLES))
    a = ap.parse_args()
    if a.what == "timing":
        timing()
    else:
        moves(a.seeds, a.styles)
