"""Long-term store: placement folding, queries, validation, file safety, schema, disk full,
snapshots, keyframes, forgetting, trajectory."""
from __future__ import annotations

import hashlib
import sqlite3

import numpy as np
import pytest

from robomem.errors import InvalidInputError
from robomem.memory import (
    CorruptStoreError,
    ForgettingPolicy,
    LongTermMemory,
    NotARobomemStoreError,
    OutOfOrderError,
    ReadOnlyStoreError,
    StoreError,
    StoreFullError,
    StoreVersionError,
    TrajectoryThinner,
    UnknownObjectError,
)
from robomem.memory.schema import APPLICATION_ID, SCHEMA_VERSION, connect
from robomem.observations import EventKind, ObjectEvent, ObjectObservation

T0 = 1_760_000_000_000_000_000
S = 10**9


def obs(oid, t, pos, label="mug", conf=0.9, room=1, rec=None):
    p = np.asarray(pos, dtype=np.float64)
    return ObjectObservation(oid, label, t, p, p - 0.05, p + 0.05, conf, room_id=room, receptacle_id=rec)


def dump(path) -> list:
    c = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(c.iterdump())
    finally:
        c.close()


def sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def store(tmp_path):
    s = LongTermMemory(tmp_path / "s.db")
    yield s
    s.close()


# ----------------------------------------------------------------------------- placements
def test_consistent_sightings_extend_one_placement(store):
    rng = np.random.default_rng(0)
    for k in range(10):
        store.ingest([obs(1, T0 + (10 * k + j) * S // 10, [1, 2, 0.8] + rng.normal(0, 0.02, 3)) for j in range(10)])
    (p,) = store.history(1)
    assert p.n_observations == 100 and p.current
    assert p.t_start_ns == T0 and p.t_end_ns == T0 + 99 * S // 10
    assert np.allclose(p.position, [1, 2, 0.8], atol=0.01)
    assert store.stats()["placements"] == 1 and store.stats()["observations"] == 100


def test_move_closes_placement_and_opens_new_one(store):
    store.ingest([obs(1, T0, [0, 0, 1]), obs(1, T0 + S, [0.05, 0, 1])])
    store.ingest([obs(1, T0 + 5 * S, [3, 0, 1], room=2)],
                 [ObjectEvent(EventKind.MOVED, 1, "mug", T0 + 5 * S, np.array([3., 0, 1]), np.array([0., 0, 1]))])
    h = store.history(1)
    assert [(p.t_start_ns, p.t_end_ns, p.n_observations, p.current) for p in h] == \
        [(T0, T0 + S, 2, False), (T0 + 5 * S, T0 + 5 * S, 1, True)]
    assert store.current_placement(1).room_id == 2
    assert store.placement_at(1, T0 + 2 * S).placement_id == h[0].placement_id
    assert store.placement_at(1, T0 - 1) is None
    assert [e.kind for e in store.events(1)] == [EventKind.MOVED]
    # receptacle change at the same spot is a move too
    store.ingest([obs(1, T0 + 6 * S, [3, 0, 1], room=2, rec=7)])
    store.ingest([obs(1, T0 + 7 * S, [3, 0, 1], room=2, rec=8)])
    assert len(store.history(1)) == 3


def test_disappeared_event_closes_the_placement(store):
    store.ingest([obs(1, T0, [0, 0, 1])])
    store.ingest([], [ObjectEvent(EventKind.DISAPPEARED, 1, "mug", T0 + 3 * S, np.array([0., 0, 1]))])
    p = store.current_placement(1)
    assert not p.current and p.t_end_ns == T0  # last sighting, kept as the last known placement
    store.ingest([obs(1, T0 + 9 * S, [0, 0, 1])])  # back at the same spot: a new placement
    assert [q.n_observations for q in store.history(1)] == [1, 1]
    assert store.current_placement(1).current


def _reference_fold(stream, tol):
    """Naive per-observation fold used to check the batched/vectorised one."""
    open_, rows = {}, []
    for o in sorted(stream, key=lambda o: (o.stamp_ns, o.object_id)):
        cur = open_.get(o.object_id)
        p = np.asarray(o.position)
        if cur is not None and np.sum((p - cur["a"]) ** 2) <= tol ** 2 and cur["room"] == o.room_id:
            cur["t1"] = o.stamp_ns
            cur["n"] += 1
            cur["s"] = cur["s"] + p
            continue
        cur = {"oid": o.object_id, "a": p, "room": o.room_id, "t0": o.stamp_ns, "t1": o.stamp_ns, "n": 1, "s": p.copy()}
        open_[o.object_id] = cur
        rows.append(cur)
    return sorted((r["oid"], r["t0"], r["t1"], r["n"], *np.round(r["s"] / r["n"], 6)) for r in rows)


@pytest.mark.parametrize("batch", [1, 7, 500])
def test_batched_fold_equals_reference(tmp_path, batch):
    rng = np.random.default_rng(3)
    homes = rng.uniform(-5, 5, (20, 3))
    stream = []
    for f in range(300):
        if rng.random() < 0.1:
            homes[rng.integers(20)] = rng.uniform(-5, 5, 3)
        for i in rng.choice(20, 5, replace=False):
            stream.append(obs(int(i), T0 + f * S // 30, homes[i] + rng.normal(0, 0.03, 3), room=int(i) % 3))
    with LongTermMemory(tmp_path / "f.db", synchronous="NORMAL") as s:
        for k in range(0, len(stream), batch):
            s.ingest(stream[k:k + batch])
        got = sorted((p.object_id, p.t_start_ns, p.t_end_ns, p.n_observations, *np.round(p.position, 6))
                     for i in range(20) for p in s.history(i))
    assert got == _reference_fold(stream, 0.25)


def test_reopen_continues_open_placements(tmp_path):
    with LongTermMemory(tmp_path / "r.db") as s:
        s.ingest([obs(1, T0, [1, 1, 1]), obs(2, T0, [2, 2, 2])])
    with LongTermMemory(tmp_path / "r.db") as s:
        s.ingest([obs(1, T0 + S, [1.02, 1, 1]), obs(2, T0 + S, [4, 2, 2])])
        assert [p.n_observations for p in s.history(1)] == [2]
        assert [p.n_observations for p in s.history(2)] == [1, 1]


def test_columnar_ingest_matches_record_ingest(tmp_path):
    rng = np.random.default_rng(5)
    oid = rng.integers(0, 50, 2000)
    st = T0 + np.arange(2000) * 10**6
    pos = rng.uniform(-1, 1, (50, 3))[oid] + rng.normal(0, 0.01, (2000, 3))
    with LongTermMemory(tmp_path / "a.db") as a, LongTermMemory(tmp_path / "b.db") as b:
        a.ingest_arrays(oid, st, pos, "box")
        b.ingest([obs(int(i), int(t), p, label="box", conf=1.0, room=None) for i, t, p in zip(oid, st, pos)])
        for i in range(50):
            ha, hb = a.history(i), b.history(i)
            assert [(p.t_start_ns, p.t_end_ns, p.n_observations) for p in ha] == \
                [(p.t_start_ns, p.t_end_ns, p.n_observations) for p in hb]


# ----------------------------------------------------------------------------- queries
def test_objects_in_box_matches_brute_force(tmp_path):
    rng = np.random.default_rng(11)
    with LongTermMemory(tmp_path / "q.db") as s:
        homes = rng.uniform(0, 20, (100, 3))
        for f in range(60):
            homes[rng.integers(100, size=5)] = rng.uniform(0, 20, (5, 3))
            s.ingest_arrays(np.arange(100), np.full(100, T0 + f * 60 * S), homes, "x")
        rows = [p for i in range(100) for p in s.history(i)]
        for _ in range(30):
            lo = rng.uniform(0, 15, 3)
            hi = lo + rng.uniform(1, 8, 3)
            t0 = T0 + int(rng.uniform(0, 60)) * 60 * S
            t1 = t0 + int(rng.uniform(0, 20)) * 60 * S
            got = {p.placement_id for p in s.objects_in_box(lo, hi, t0, t1)}
            want = {p.placement_id for p in rows
                    if np.all(p.position >= lo) and np.all(p.position <= hi) and p.t_start_ns <= t1
                    and (p.current or p.t_end_ns >= t0)}
            assert got == want
        at = T0 + 30 * 60 * S + 1
        last = {}
        for p in rows:
            if p.t_start_ns <= at and (p.object_id not in last or p.t_start_ns > last[p.object_id].t_start_ns):
                last[p.object_id] = p
        got = {p.object_id: p.placement_id for p in s.placements_at(at)}
        assert got == {o: p.placement_id for o, p in last.items()} and len(got) == 100


def test_where_is_label_and_last_seen(store):
    store.ingest([obs(1, T0, [0, 0, 1]), obs(2, T0 + S, [5, 0, 1]), obs(3, T0, [1, 1, 1], label="book")])
    w = store.where_is("mug")
    assert [p.object_id for p in w] == [2, 1]
    assert store.last_seen(2) == T0 + S and store.last_seen(99) is None
    assert store.where_is("cat") == [] and store.current_placement(99) is None
    assert {o.object_id for o in store.objects("book")} == {3}


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", ["nan", "inf", "unknown_event", "old", "future", "neg_stamp", "conf", "label",
                                 "keyframe_unknown", "shape"])
def test_bad_input_is_rejected_and_store_unchanged(tmp_path, bad):
    path = tmp_path / "b.db"
    s = LongTermMemory(path, reorder_tolerance_ns=5 * S)
    s.ingest([obs(1, T0 + 100 * S, [0, 0, 1]), obs(2, T0 + 100 * S, [1, 0, 1])])
    before = dump(path)
    t = T0 + 101 * S
    good = obs(1, t, [0, 0, 1])
    cases = {
        "nan": lambda: s.ingest([good, obs(2, t, [np.nan, 0, 1])]),
        "inf": lambda: s.ingest_arrays([1, 2], [t, t], [[0, 0, 1], [np.inf, 0, 0]], "mug"),
        "unknown_event": lambda: s.ingest([good], [ObjectEvent(EventKind.MOVED, 77, "mug", t, np.zeros(3))]),
        "old": lambda: s.ingest([good, obs(2, T0 + 50 * S, [1, 0, 1])]),
        "future": lambda: s.ingest([good, obs(2, T0 + 10**9 * S, [1, 0, 1])]),
        "neg_stamp": lambda: s.ingest([good, obs(2, -5, [1, 0, 1])]),
        "conf": lambda: s.ingest([good, obs(2, t, [1, 0, 1], conf=1.5)]),
        "label": lambda: s.ingest([good, obs(2, t, [1, 0, 1], label="")]),
        "keyframe_unknown": lambda: s.add_keyframe(np.zeros((48, 64, 3), np.uint8), t, [1, 55]),
        "shape": lambda: s.ingest([good, ObjectObservation(2, "mug", t, np.zeros(2), np.zeros(3), np.zeros(3))]),
    }
    expected = {"unknown_event": UnknownObjectError, "keyframe_unknown": UnknownObjectError,
                "old": OutOfOrderError, "future": OutOfOrderError}.get(bad, InvalidInputError)
    with pytest.raises(expected) as ei:
        cases[bad]()
    assert isinstance(ei.value, ValueError) and str(ei.value)
    assert dump(path) == before
    # and the store still works normally afterwards
    s.ingest([good])
    assert s.current_placement(1).n_observations == 2
    s.close()


# ----------------------------------------------------------------------------- file safety
def test_foreign_files_are_refused_and_untouched(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("hello, I am not a database\n" * 100)
    other = tmp_path / "other.db"
    c = sqlite3.connect(other)
    c.execute("CREATE TABLE t(x)")
    c.execute("INSERT INTO t VALUES (1)")
    c.commit()
    c.close()
    for p in (text, other):
        h = sha(p)
        for ro in (False, True):
            with pytest.raises(NotARobomemStoreError, match="not a robomem store"):
                LongTermMemory(p, readonly=ro)
        assert sha(p) == h
    with pytest.raises(NotARobomemStoreError):
        LongTermMemory(tmp_path)  # a directory


def test_corrupt_store_gives_clear_error_and_is_not_overwritten(tmp_path):
    p = tmp_path / "c.db"
    with LongTermMemory(p) as s:
        s.ingest([obs(i, T0, [i, 0, 0]) for i in range(300)])
    data = bytearray(p.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the schema page after the header
    p.write_bytes(bytes(data))
    h = sha(p)
    with pytest.raises(CorruptStoreError):
        LongTermMemory(p)
    assert sha(p) == h


def test_damage_deep_in_the_file_is_caught_by_verify(tmp_path):
    p = tmp_path / "deep.db"
    with LongTermMemory(p) as s:
        s.ingest_arrays(np.arange(20000), np.full(20000, T0), np.random.default_rng(0).uniform(0, 9, (20000, 3)), "x")
    data = bytearray(p.read_bytes())
    page = 4096
    mid = (len(data) // page // 2) * page
    data[mid:mid + 3 * page] = b"\x5a" * (3 * page)
    p.write_bytes(bytes(data))
    h = sha(p)
    with pytest.raises(CorruptStoreError, match="quick_check|malformed"):
        LongTermMemory(p, verify=True)
    assert sha(p) == h
    # without verify: integrity_check reports it and a read of the damaged part raises a store error
    with LongTermMemory(p, readonly=True) as s:
        assert s.check_integrity() != "ok"
        reads = [lambda: s.placements_at(T0), lambda: s.objects_in_box(None, None, T0, T0), lambda: s.objects(),
                 lambda: [s.history(i) for i in range(0, 20000, 7)]]
        errors = 0
        for read in reads:
            try:
                read()
            except CorruptStoreError:
                errors += 1  # never a raw sqlite3 error
        assert errors >= 1
    assert sha(p) == h


def test_newer_schema_is_refused(tmp_path):
    p = tmp_path / "v.db"
    LongTermMemory(p).close()
    c = sqlite3.connect(p)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    c.commit()
    c.close()
    h = sha(p)
    with pytest.raises(StoreVersionError):
        LongTermMemory(p)
    assert sha(p) == h


def test_migration_from_v1_keeps_data(tmp_path):
    p = tmp_path / "m.db"
    c = connect(p, migrate_to=1)
    assert c.execute("PRAGMA user_version").fetchone()[0] == 1
    c.execute("INSERT INTO objects(id, label, first_seen_ns, current_placement) VALUES (4, 'cup', ?, 1)", (T0,))
    c.execute("INSERT INTO placements VALUES (1, 4, ?, ?, 1, 2, 3, NULL, NULL, 3, 3.0, 0, NULL)", (T0, T0 + S))
    c.execute("INSERT INTO placement_rtree VALUES (1, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 0, 1e30)")
    c.execute("INSERT INTO meta VALUES ('time_origin_ns', ?)", (str(T0),))
    c.close()
    with pytest.raises(StoreVersionError):
        LongTermMemory(p, readonly=True)  # readers never migrate
    with LongTermMemory(p) as s:
        assert s.stats()["schema_version"] == SCHEMA_VERSION
        assert s.current_placement(4).n_observations == 3
        s.ingest([obs(4, T0 + 2 * S, [1, 2, 3])])
        assert s.current_placement(4).n_observations == 4
        assert s.connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_readonly_store_refuses_writes(tmp_path):
    p = tmp_path / "ro.db"
    with pytest.raises(StoreError):
        LongTermMemory(p, readonly=True)
    assert not p.exists()
    with LongTermMemory(p) as w:
        w.ingest([obs(1, T0, [0, 0, 0])])
        with LongTermMemory(p, readonly=True) as r:
            with pytest.raises(ReadOnlyStoreError):
                r.ingest([obs(1, T0 + S, [0, 0, 0])])
            with pytest.raises(ReadOnlyStoreError):
                r.begin_session("x", T0)
            assert r.current_placement(1).n_observations == 1
            w.ingest([obs(1, T0 + S, [0, 0, 0])])
            assert r.current_placement(1).n_observations == 2  # sees the writer's new commit


def test_second_writer_is_refused_while_readers_are_welcome(tmp_path):
    p = tmp_path / "w.db"
    w = LongTermMemory(p)
    w.ingest([obs(1, T0, [0, 0, 0])])
    with pytest.raises(StoreError, match="already open for writing"):
        LongTermMemory(p)
    with LongTermMemory(p, readonly=True) as r:
        assert r.current_placement(1) is not None
    w.ingest([obs(1, T0 + S, [0, 0, 0])])
    w.close()
    with LongTermMemory(p) as w2:  # after the first writer closed
        assert w2.current_placement(1).n_observations == 2


def test_disk_full_fails_write_and_keeps_earlier_data(tmp_path):
    p = tmp_path / "full.db"
    s = LongTermMemory(p, max_bytes=400 * 1024)
    rng = np.random.default_rng(2)
    acked, f = [], 0
    with pytest.raises(StoreFullError, match="full"):
        while f < 10_000:
            ids = np.arange(f * 50, f * 50 + 50)  # new objects every batch: the store must grow
            s.ingest_arrays(ids, np.full(50, T0 + f * S), rng.uniform(0, 9, (50, 3)), "item")
            acked.append(ids)
            f += 1
    assert f > 5
    before = dump(p)
    # the failed batch left nothing behind and later writes that fit still work
    assert s.stats()["objects"] == 50 * f
    with pytest.raises(StoreFullError):
        s.ingest_arrays(np.arange(10**6, 10**6 + 500), np.full(500, T0 + f * S), rng.uniform(0, 9, (500, 3)), "item")
    assert dump(p) == before
    s.ingest_arrays([0], [T0 + f * S], [s.current_placement(0).position], "item")
    s.close()
    with LongTermMemory(p) as s2:
        assert s2.check_integrity() == "ok"
        assert s2.stats()["objects"] == 50 * f
        assert all(s2.current_placement(int(i)) is not None for i in np.concatenate(acked)[::97])
        s2.ingest_arrays(np.arange(10**6, 10**6 + 500), np.full(500, T0 + f * S), rng.uniform(0, 9, (500, 3)), "item")


# ----------------------------------------------------------------------------- sessions / snapshots
def test_session_snapshots_reconstruct_each_sessions_graph(tmp_path):
    from robomem.scenegraph import SceneGraph

    g = SceneGraph()
    g.add_node("room", 1, label="kitchen")
    g.add_node("room", 2, label="office")
    taken = {}
    rng = np.random.default_rng(4)
    with LongTermMemory(tmp_path / "g.db") as s:
        pos = {i: rng.uniform(0, 5, 3) for i in range(6)}
        for day in range(3):
            t = T0 + day * 86400 * S
            sid = s.begin_session(f"day{day}", t)
            if day:
                for i in rng.choice(6, 2, replace=False):
                    pos[int(i)] = rng.uniform(0, 5, 3)
            for i, p in pos.items():
                g.add_node("object", i, label="cup", position=p, room=1 + (i % 2))
                g.add_edge(f"object:{i}", f"room:{1 + i % 2}", "in_room")
            s.ingest([obs(i, t + 60 * S, p, label="cup", room=1 + i % 2) for i, p in pos.items()])
            assert s.end_session(t + 3600 * S, g) == sid
            taken[sid] = (g.copy(), t + 3600 * S)
        for sid, (graph, t_end) in taken.items():
            rebuilt = s.scene_graph(sid)
            assert isinstance(rebuilt, SceneGraph) and rebuilt == graph
            # the placements table agrees with the snapshot about where each object was
            at = {p.object_id: p.position for p in s.placements_at(t_end)}
            for n in rebuilt.objects():
                assert np.allclose(at[n["id"]], n["position"])
        assert taken[1][0] != taken[3][0]
        assert [x["name"] for x in s.sessions()] == ["day0", "day1", "day2"]


# ----------------------------------------------------------------------------- keyframes / forgetting
def test_keyframes_stay_within_budget_and_keep_important_ones(tmp_path):
    rng = np.random.default_rng(8)
    with LongTermMemory(tmp_path / "k.db", keyframe_budget_bytes=200_000) as s:
        s.ingest([obs(i, T0, [i, 0, 0]) for i in range(10)] + [obs(99, T0, [9, 9, 0])])
        only_view_of_99 = s.add_keyframe(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), T0, [99],
                                         importance=0.1)
        important = None
        for k in range(80):
            img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
            kid = s.add_keyframe(img, T0 + k * S, [k % 10], importance=1.0 if k == 3 else 0.2)
            if k == 3:
                important = kid
            assert s.keyframe_bytes() <= 200_000
        kfs = s.keyframes()
        assert len(kfs) < 80 and important in {k.keyframe_id for k in kfs}
        assert only_view_of_99 in {k.keyframe_id for k in kfs}  # sole evidence of object 99 is kept
        assert {k.keyframe_id for k in kfs} != set(range(1, len(kfs) + 1))  # old routine ones were evicted
        img = s.keyframe_image(kfs[0].keyframe_id)
        assert img.dtype == np.uint8 and img.shape == (kfs[0].height, kfs[0].width, 3) and max(img.shape) <= 160
        assert all(3 in k.object_ids for k in s.keyframes(object_id=3))


def test_forgetting_spares_last_known_placement_and_events(tmp_path):
    with LongTermMemory(tmp_path / "fg.db") as s:
        # object 1: a one-off low-confidence blip elsewhere, then a long stay
        s.ingest([obs(1, T0, [9, 9, 0], conf=0.3)])
        s.ingest([obs(1, T0 + S + j, [0, 0, 0]) for j in range(20)],
                 [ObjectEvent(EventKind.MOVED, 1, "mug", T0 + S, np.zeros(3))])
        # object 2: only ever a single weak sighting -> its only placement is its last known one
        s.ingest([obs(2, T0 + 2 * S, [5, 5, 0], conf=0.1)])
        rep = s.forget(T0 + 30 * 86400 * S, ForgettingPolicy(min_retention=0.05))
        assert rep.placements_deleted == 1
        assert [p.n_observations for p in s.history(1)] == [20]
        assert s.current_placement(2) is not None
        assert len(s.events(1)) == 1
        # row budget
        for k in range(30):
            s.ingest([obs(3, T0 + (10 + k) * S, [k, 0, 0])])
        s.forget(T0 + 40 * S, ForgettingPolicy(min_retention=0.0, max_placements=10))
        assert s.stats()["placements"] <= 10
        assert s.current_placement(3).position[0] == 29 and s.current_placement(1) is not None


# ----------------------------------------------------------------------------- trajectory
def test_trajectory_thinning_and_robot_queries(tmp_path):
    th = TrajectoryThinner(waypoint_spacing_m=1.0)
    pts, poses = [], []
    t = T0
    # 10 s still in room 1, walk 6 m at 1 m/s into room 2 (door at x=3), 20 s still, walk back.
    for k in range(100):
        poses.append((t + k * S // 10, (0.0, 0.0, 0.0), 1))
    t = poses[-1][0]
    for k in range(1, 61):
        x = k * 0.1
        poses.append((t + k * S // 10, (x, 0.0, 0.0), 1 if x < 3 else 2))
    t = poses[-1][0]
    for k in range(1, 201):
        poses.append((t + k * S // 10, (6.0, 0.0, 0.0), 2))
    t = poses[-1][0]
    for k in range(1, 61):
        x = 6 - k * 0.1
        poses.append((t + k * S // 10, (x, 0.0, 0.0), 1 if x < 3 else 2))
    for stamp, p, room in poses:
        pts += th.update(stamp, p, 0.0, room)
    pts += th.finish()
    assert len(pts) < len(poses) / 10
    with LongTermMemory(tmp_path / "t.db") as s:
        s.ingest(trajectory=pts)
        # standing still: exact; walking: within the waypoint spacing
        for stamp, p, room in poses[::37]:
            r = s.robot_position_at(stamp)
            assert np.linalg.norm(r.position - p) <= 1.0 + 1e-9, (stamp, r.position, p)
        r = s.robot_position_at(poses[50][0])
        assert np.allclose(r.position, 0) and r.room_id == 1
        (v,) = s.room_visits(2)
        assert v.t_exit_ns is not None
        t_enter = next(st for st, p, room in poses if room == 2)
        t_exit = max(st for st, p, room in poses if room == 2)
        assert v.t_enter_ns == t_enter and v.t_exit_ns == t_exit
        assert abs(v.duration_ns - (t_exit - t_enter)) == 0
        last1 = s.last_visit(1)
        assert last1.t_exit_ns == poses[-1][0]
        assert s.robot_position_at(poses[-1][0] + S) is None  # after the track ended
        assert s.robot_position_at(T0 - 1) is None
