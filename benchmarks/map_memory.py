"""The map inside the memory (issue 11): observe() timing with the map vs without (same run), the
stored map read back, and furniture moved between two sessions in generated houses.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/map_memory.py timing [--profile] [--out t.jsonl]
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/map_memory.py moves --seeds 0 1 2 3 4 5 6 7 8 9 10 11
"""
from __future__ import annotations

import argparse
import dataclasses
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


RHYTHMS = {"demo": None, "10hz": 10**8}  # frame spacing in data time: the tour's own 2 s, or 10 Hz


def _frames(seed: int, views: int):
    """The demo tour's two sessions (frames, t_start, t_end, name) for ``seed``."""
    from sim.scenario import Scenario, ScenarioConfig

    scene = sim.generate_house(seed=seed)
    scenario = Scenario(scene, ScenarioConfig(days=1, seed=seed))
    env = sim.EmbeddedSim(scene, width=320, height=240, hfov_deg=90)
    out = []
    for k in range(2):
        frames = list(scenario.session_frames(k, env, views_per_room=views))
        s = scenario.log.session(k)
        out.append((frames, s.t_start, s.t_end, s.name))
    return out


def _restamp(sessions, spacing_ns):
    """The same frames ``spacing_ns`` apart in data time (sessions an hour apart)."""
    if spacing_ns is None:
        return sessions
    out, t = [], sessions[0][1]
    for frames, _, _, name in sessions:
        t0 = t
        fr = [dataclasses.replace(f, stamp_ns=t0 + 1 + i * spacing_ns) for i, f in enumerate(frames)]
        t = t0 + 2 + len(frames) * spacing_ns
        out.append((fr, t0, t, name))
        t += 3600 * 10**9
    return out


class _Timed:
    """One stack of the comparison with its per-frame timings: the whole observe(), the map's
    insert and persist (the map part) and perception, through the stack's own calls."""

    def __init__(self, path, kw) -> None:
        self.stack = robomem.open(path, **kw)
        self.path = path
        self.full, self.ins, self.pfr, self.per, self.perc = [], [], [], [], []
        self.cur = {"ins": 0.0, "per": 0.0, "perc": 0.0}
        m, cur = self.stack.map, self.cur
        if m is not None:
            i0, p0 = m.insert, m.persist

            def tins(f, _i=i0):
                t = time.perf_counter(); r = _i(f); cur["ins"] += time.perf_counter() - t; return r  # noqa: E702

            def tper(*a, _p=p0):
                t = time.perf_counter(); r = _p(*a); dt = time.perf_counter() - t  # noqa: E702
                cur["per"] += dt  # noqa: E702
                if r:  # a write that stored blocks (flushes with nothing changed are not counted)
                    self.per.append(dt)
                return r
            m.insert, m.persist = tins, tper
        pipe = self.stack.perception
        pr0 = pipe.process

        def tproc(f, _p=pr0):
            t = time.perf_counter(); r = _p(f); cur["perc"] += time.perf_counter() - t; return r  # noqa: E702
        pipe.process = tproc

    def observe(self, f, profile=None) -> None:
        self.cur.update(ins=0.0, per=0.0, perc=0.0)
        if profile is not None:
            profile.enable()
        t = time.perf_counter()
        self.stack.observe(f)
        dt = time.perf_counter() - t
        if profile is not None:
            profile.disable()
        self.full.append(dt)
        self.ins.append(self.cur["ins"])
        self.pfr.append(self.cur["per"])
        self.perc.append(self.cur["perc"])

    def finish(self) -> dict:
        stack = self.stack
        objs = stack.long_term.objects()
        no_room = sum(1 for o in objs if (p := stack.long_term.current_placement(o.object_id)) is None
                      or p.room_id is None)
        g = stack.scene_graph_of_session(2)
        visits = sum(len(stack.room_visits(r)) for r in range(1, 30))
        written = stack.map.octree.copy() if stack.map is not None else None
        stack.close()
        same = None
        if written is not None:
            with robomem.open(self.path, readonly=True) as ro:
                same = _same(ro.map.octree, written)
        ms = lambda v: (np.array(v) * 1e3).tolist()  # noqa: E731
        return {"observe_ms": ms(self.full), "insert_ms": ms(self.ins), "persist_ms_per_frame": ms(self.pfr),
                "perception_ms": ms(self.perc), "persist_calls": len(self.per), "persist_ms_per_call": ms(self.per),
                "objects": len(objs), "no_room": no_room, "rooms": g.num_nodes("room") if g else 0,
                "places": g.num_nodes("place") if g else 0, "visits": visits, "reopened_equal": same}


def _run_lockstep(d, sessions, settings: dict, profile_label=None, profile=None) -> dict:
    """observe() every frame of ``sessions`` on one fresh store per setting, the settings in
    lockstep (frame by frame, the order rotating), so that load changes hit every setting alike."""
    Path(d).mkdir(parents=True, exist_ok=True)
    runs = {label: _Timed(Path(d) / f"{k}.db", kw) for k, (label, kw) in enumerate(settings.items())}
    labels = list(runs)
    i = 0
    for frames, t0, t1, name in sessions:
        for r in runs.values():
            r.stack.begin_session(name, t0)
        for f in frames:
            for label in labels[i % len(labels):] + labels[:i % len(labels)]:
                runs[label].observe(f, profile if label == profile_label else None)
            i += 1
        for r in runs.values():
            r.stack.end_session(t1)
    return {label: r.finish() for label, r in runs.items()}


SETTINGS = {"no map (baseline)": {"map": None},
            "map, persist at every consolidation (old rhythm)": {"map_persist_interval_ns": 0},
            "map (default: persist every 5 s of data time)": {}}
DEFAULT = "map (default: persist every 5 s of data time)"


def timing(seed: int = 3, views: int = 12, rhythms=("demo", "10hz"), out: str | None = None,
           profile: bool = False) -> None:
    """Median observe() per 320x240 frame on the demo house (examples/house_memory.py's tour) with
    the tour's own frame spacing (2 s) and at 10 Hz data time; without the map, with the map
    persisted at every consolidation (the old rhythm) and with the default map rhythm, all in the
    same run, frame by frame in lockstep; the map part (insert + persist in that frame) separately."""
    import cProfile
    import json
    import pstats

    base = _frames(seed, views)
    n = sum(len(s[0]) for s in base)
    print(f"demo house seed {seed}: {n} frames 320x240 over 2 sessions; load {os.getloadavg()[0]:.1f}")
    rows = []
    prof = cProfile.Profile() if profile else None
    with tempfile.TemporaryDirectory() as d:
        for k, rhythm in enumerate(rhythms):
            sessions = _restamp(base, RHYTHMS[rhythm])
            res = _run_lockstep(Path(d) / str(k), sessions, SETTINGS)
            for label, r in res.items():
                r.update(rhythm=rhythm, setting=label, load=os.getloadavg()[0])
                rows.append(r)
                if out:
                    with open(out, "a") as fh:
                        fh.write(json.dumps(r) + "\n")
                print(f"  {rhythm} / {label}: observe median {np.median(r['observe_ms']):.1f} ms", flush=True)
    print("| frame rhythm | setting | observe() median ms (p90) | ratio to no map | map part median ms (p90) | "
          "map insert median ms | map write median ms (writes) | perception median ms | objects without room "
          "| rooms / places (session 2) | room visits | reopened map equal |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        f = np.array(r["observe_ms"])
        b = next(x for x in rows if x["rhythm"] == r["rhythm"] and x["setting"].startswith("no map"))
        mp = np.array(r["insert_ms"]) + np.array(r["persist_ms_per_frame"])
        has_map = not r["setting"].startswith("no map")
        pc = np.array(r["persist_ms_per_call"])
        print(f"| {r['rhythm']} | {r['setting']} | {np.median(f):.1f} ({np.percentile(f, 90):.1f}) | "
              f"{np.median(f) / np.median(b['observe_ms']):.2f} | "
              + (f"{np.median(mp):.1f} ({np.percentile(mp, 90):.1f}) | {np.median(r['insert_ms']):.1f} | "
                 f"{np.median(pc) if len(pc) else float('nan'):.1f} ({r['persist_calls']}) | " if has_map else "– | – | – | ")
              + f"{np.median(r['perception_ms']):.1f} | {r['no_room']} of {r['objects']} | {r['rooms']} / {r['places']} "
              f"| {r['visits']} | {r['reopened_equal'] if has_map else '–'} |")
    if prof is not None:  # a separate pass: the profiler's overhead must not reach the table
        with tempfile.TemporaryDirectory() as d:
            _run_lockstep(Path(d), _restamp(base, RHYTHMS[rhythms[-1]]), {DEFAULT: {}}, DEFAULT, prof)
        print(f"\ncProfile of observe() ({rhythms[-1]}, map default; a separate pass), top 40 by cumulative time:")
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


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
    ap.add_argument("--rhythms", nargs="+", default=list(RHYTHMS), choices=list(RHYTHMS))
    ap.add_argument("--views", type=int, default=12, help="timing: views per room of the tour")
    ap.add_argument("--out", help="timing: append one JSON line per run to this file")
    ap.add_argument("--profile", action="store_true", help="timing: cProfile the last map run's observe() calls")
    a = ap.parse_args()
    if a.what == "timing":
        timing(views=a.views, rhythms=tuple(a.rhythms), out=a.out, profile=a.profile)
    else:
        moves(a.seeds, a.styles)
