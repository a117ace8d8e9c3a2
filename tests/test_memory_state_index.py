"""The placements' "valid until" chain and its R*Tree (schema v4): kept exact by every write path
(ingest with moves, reordered sightings and disappearances, forgetting), built by the v3 -> v4
migration, and answering "where was everything in a box at t" like a per-object look-up does."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from robomem.memory import ForgettingPolicy, LongTermMemory
from robomem.memory.schema import OPEN_T, connect
from robomem.observations import EventKind, ObjectEvent, ObjectObservation

T0 = 1_760_000_000_000_000_000
S = 10**9


def obs(oid, t, pos, label="mug", room=1):
    p = np.asarray(pos, dtype=np.float64)
    return ObjectObservation(oid, label, t, p, p - 0.05, p + 0.05, 0.9, room_id=room)


def chain_errors(path) -> list:
    """Rows whose t_next or state R*Tree entry differs from a recomputation from the table."""
    c = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        origin = int(c.execute("SELECT value FROM meta WHERE key = 'time_origin_ns'").fetchone()[0])
        want = c.execute("SELECT id, t_start, lead(t_start) OVER (PARTITION BY object_id ORDER BY t_start, id) "
                         "FROM placements").fetchall()
        got = {pid: nx for pid, nx in c.execute("SELECT id, t_next FROM placements")}
        rt = {r[0]: r for r in c.execute("SELECT id, t0, t1, x0, x1 FROM state_rtree")}
        pr = {r[0]: r for r in c.execute("SELECT id, x0, x1 FROM placement_rtree")}
        bad = []
        for pid, ts, nx in want:
            r = rt.get(pid)
            t1 = OPEN_T if nx is None else (nx - origin) * 1e-9
            if got[pid] != nx or r is None or abs(r[1] - (ts - origin) * 1e-9) > 1.0 or \
                    abs(r[2] - t1) > max(1.0, abs(t1) * 1e-6) or r[3:] != pr[pid][1:]:
                bad.append((pid, got[pid], nx, r))
        if len(rt) != len(want):
            bad.append(("rtree rows", len(rt), len(want)))
        return bad
    finally:
        c.close()


def test_chain_follows_moves_reorders_disappearances_and_forgetting(tmp_path):
    p = tmp_path / "s.db"
    rng = np.random.default_rng(3)
    homes = {o: rng.uniform(0, 10, 3) for o in range(12)}
    t = T0
    with LongTermMemory(p) as s:
        for step in range(60):
            t += 60 * S
            batch, events = [], []
            for o in rng.choice(12, 5, replace=False).tolist():
                if rng.random() < 0.3:
                    homes[o] = rng.uniform(0, 10, 3)          # moved
                for j in range(int(rng.integers(1, 4))):       # several sightings, some out of order
                    batch.append(obs(o, t - int(rng.integers(0, 5)) * S + j, homes[o] + rng.normal(0, 0.01, 3)))
            if step % 7 == 3:
                gone = int(rng.integers(0, 12))
                if s.knows_object(gone):
                    events.append(ObjectEvent(EventKind.DISAPPEARED, gone, "mug", t + 1, homes[gone]))
            s.ingest(batch, events)
            if step % 20 == 19:
                s.forget(t + 400 * 86400 * S, ForgettingPolicy(max_placements=40))
            assert not chain_errors(p), step
        # a second writer process would start from the table: the mirror it loads is the same
        with LongTermMemory(p, readonly=True) as r:
            latest = {o: pl.placement_id for o, pl in
                      ((o, r.placement_at(o, t + S)) for o in range(12)) if pl is not None}
    with LongTermMemory(p) as s:
        s._load_writer_state()
        assert {o: v[0] for o, v in s._chain_last.items()} == latest


def test_v3_store_migrates_with_its_chain(tmp_path):
    p = tmp_path / "v3.db"
    c = connect(p, migrate_to=3)
    c.execute("INSERT INTO meta VALUES ('time_origin_ns', ?)", (str(T0),))
    rows = [(1, 4, T0, T0 + S, 1.0, 2.0, 3.0), (2, 4, T0 + 5 * S, T0 + 6 * S, 4.0, 2.0, 3.0),
            (3, 5, T0 + 2 * S, T0 + 3 * S, 1.0, 1.0, 1.0), (4, 4, T0 + 9 * S, T0 + 9 * S, 1.0, 2.0, 3.0)]
    for pid, oid, t0, t1, x, y, z in rows:
        c.execute("INSERT INTO placements VALUES (?, ?, ?, ?, ?, ?, ?, 1, NULL, 1, 0.9, 0, NULL)",
                  (pid, oid, t0, t1, x, y, z))
        c.execute("INSERT INTO placement_rtree VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (pid, x - .25, x + .25, y - .25, y + .25, z - .25, z + .25, (t0 - T0) * 1e-9, OPEN_T))
    c.execute("INSERT INTO objects VALUES (4, 'mug', '{}', ?, 4), (5, 'cup', '{}', ?, 3)", (T0, T0 + 2 * S))
    c.close()
    with LongTermMemory(p) as s:
        assert s.stats()["schema_version"] == 4
        nxt = dict(s.read("SELECT id, t_next FROM placements"))
        assert nxt == {1: T0 + 5 * S, 2: T0 + 9 * S, 3: None, 4: None}
        assert not chain_errors(p)
        s.ingest([obs(4, T0 + 20 * S, [7.0, 7.0, 1.0])])     # a move: placement 4 now ends at T0 + 20 s
        assert s.read("SELECT t_next FROM placements WHERE id = 4")[0][0] == T0 + 20 * S
    assert not chain_errors(p)


@pytest.mark.parametrize("seed", [0, 1])
def test_state_index_answers_like_per_object_lookups(tmp_path, seed):
    from robomem.memory.state_index import state_in_box
    p = tmp_path / "s.db"
    rng = np.random.default_rng(seed)
    with LongTermMemory(p) as s:
        for day in range(6):
            homes = rng.uniform(0, 8, (30, 3))
            s.ingest([obs(o, T0 + day * 3600 * S + k * S, homes[o] + rng.normal(0, 0.01, 3))
                      for k in range(3) for o in rng.choice(30, 20, replace=False).tolist()])
        for _ in range(40):
            t = T0 + int(rng.integers(0, 7 * 3600)) * S
            lo = rng.uniform(0, 5, 3)
            hi = lo + rng.uniform(1, 4, 3)
            got = sorted(r[0] for r in state_in_box(s, lo, hi, t))
            want = sorted(pl.placement_id for o in range(30) for pl in [s.placement_at(o, t)]
                          if pl is not None and np.all(pl.position >= lo) and np.all(pl.position <= hi))
            assert got == want
