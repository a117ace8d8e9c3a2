"""The engine's cached store view while another connection writes: changes are folded in from the
rows added since the last look (new labels, room boxes, the pooled belief prior) and give the same
answers as a fresh view; the HTTP fast path answers from a cache that follows the store version."""
from __future__ import annotations

import json

import numpy as np
import pytest

import robomem
from robomem.memory import LongTermMemory
from robomem.retrieval import Contents, Target, WhereIs
from robomem.retrieval.store_view import StoreView, view_of
from robomem.service import fastpath

S = 10**9
T0 = 1_793_577_600 * S


def _ingest(lt, ids, t, xyz, labels, rooms):
    ids = np.asarray(ids, np.int64)
    lt.ingest_arrays(ids, np.full(len(ids), t, np.int64), np.asarray(xyz, float), labels,
                     room_ids=np.asarray(rooms, np.int64))


@pytest.fixture()
def store(tmp_path):
    path = tmp_path / "inc.db"
    rng = np.random.default_rng(3)
    with LongTermMemory(path) as lt:
        lt.begin_session("day1", T0)
        ids = np.arange(1, 41)
        for k in range(3):
            _ingest(lt, ids, T0 + (k + 1) * S, rng.uniform(0, 5, (40, 3)) * 0 + ids[:, None] * 0.5,
                    [f"thing{i % 8}" for i in ids], ids % 3)
        lt.end_session(T0 + 10 * S)
    return path


def _pooled(view: StoreView):
    g = view.belief.global_hazard()
    return g.a, g.b


def test_incremental_refresh_matches_a_fresh_view(store):
    reader = robomem.open(store, readonly=True, perception=None)
    try:
        v = view_of(reader)
        assert v.belief.global_hazard() is not None
        v.labels(), v.room_box([0, 1, 2])
        t = T0 + 86400 * S
        with LongTermMemory(store) as lt:
            lt.begin_session("day2", t)
            # five objects move (new placements), one new object with a new label, a new room
            _ingest(lt, [1, 2, 3, 4, 5], t + S, np.full((5, 3), 9.0) + np.arange(5)[:, None], ["thing1", "thing2",
                    "thing3", "thing4", "thing5"], [7] * 5)
            _ingest(lt, [500], t + 2 * S, [[12.0, 12.0, 0.5]], ["teapot"], [7])
            lt.end_session(t + 10 * S)
        v2 = view_of(reader)
        assert v2 is v and v.belief._pooled is not None          # refreshed in place, not rebuilt
        assert "teapot" in v.labels().values()
        lo, hi = v.room_box([7])
        assert np.all(lo <= [9.0, 9.0, 9.0]) and np.all(hi >= [12.0, 12.0, 13.0 - 0.5])
        fresh = StoreView(reader)
        fresh.refresh()
        assert _pooled(v) == pytest.approx(_pooled(fresh), rel=1e-9)
        assert v.belief.global_hazard().a == fresh.belief.global_hazard().a
        assert set(v.labels().items()) == set(fresh.labels().items())
        a = reader.query(WhereIs(Target(label="teapot")))
        assert a.kind == "objects" and a.evidence[0].object_id == 500
        c = reader.query(Contents(room=7))
        assert sorted(e.object_id for e in c.evidence) == [1, 2, 3, 4, 5, 500]
        assert reader.long_term.latest_stamp_ns == t + 2 * S     # the store clock, kept in meta
    finally:
        reader.close()


def test_fast_path_cache_follows_the_store_version(store):
    reader = robomem.open(store, readonly=True, perception=None)
    try:
        fast = fastpath.FastRoutes(lambda: reader)
        body = json.dumps({"type": "where_is", "target": {"label": "thing1"}}).encode()
        first = fast.answer("/v1/query", body)
        assert fast.answer("/v1/query", body) is first and fast.hits == 1
        where = json.loads(fast.answer("/v1/where", b'{"label": "thing1"}'))
        assert {w["object_id"] for w in where} == {1, 9, 17, 25, 33}
        # invalid bodies are left to the app (which words the error): unknown field, wrong type,
        # malformed JSON, an unknown query type
        for path, bad in [("/v1/where", b'{"label": "thing1", "colour": "red"}'), ("/v1/where", b'{"label": 5}'),
                          ("/v1/where", b'{"label": "thing1", "limit": "5"}'), ("/v1/query", b'{"type": "nope"}'),
                          ("/v1/query", b'{"type": "where_is",'), ("/v1/query", b'{"type": "where_is"}')]:
            assert fast.answer(path, bad) is None, bad
        with LongTermMemory(store) as lt:
            lt.begin_session("day2", T0 + 86400 * S)
            _ingest(lt, [1], T0 + 86401 * S, [[30.0, 30.0, 1.0]], ["thing1"], [2])
            lt.end_session(T0 + 86410 * S)
        after = json.loads(fast.answer("/v1/query", body))
        assert after != json.loads(first)
        assert after["evidence"][0]["object_id"] == 1 and after["evidence"][0]["position"] == [30.0, 30.0, 1.0]
    finally:
        reader.close()


def _first_session_two_on_receptacle_9(lt, positions, labels) -> None:
    """Session "a" at T0: objects 1 and 2 on receptacle 9 (the third entry), each seen twice, room 1."""
    lt.begin_session("a", T0)
    for k in range(2):
        lt.ingest_arrays(np.array([1, 2, 9]), np.full(3, T0 + (k + 1) * S, np.int64), np.array(positions), labels,
                         receptacle_ids=np.array([9, 9, -1]), room_ids=np.array([1, 1, 1]))
    lt.end_session(T0 + 10 * S)


def test_a_move_to_another_shelf_of_the_same_unit_is_a_change(tmp_path):
    """Same receptacle, other surface (height differs by more than SURFACE_DZ_M): moved; same
    receptacle and surface, a few cm sideways: no change (the scenario truth counts surfaces)."""
    from robomem.retrieval import Changes
    path = tmp_path / "shelf.db"
    with LongTermMemory(path) as lt:
        _first_session_two_on_receptacle_9(lt, [[1.0, 1.0, 1.2], [1.5, 1.0, 1.2], [1.2, 1.0, 0.9]],
                                           ["toy", "book", "shelf unit"])
        t = T0 + 86400 * S
        lt.begin_session("b", t)
        for k in range(2):   # the toy is now on the bottom shelf; the book slid 0.3 m along its shelf
            lt.ingest_arrays(np.array([1, 2]), np.full(2, t + (k + 1) * S, np.int64),
                             np.array([[1.0, 1.0, 0.1], [1.8, 1.0, 1.2]]), ["toy", "book"],
                             receptacle_ids=np.array([9, 9]), room_ids=np.array([1, 1]))
        lt.end_session(t + 10 * S)
    with robomem.open(path, readonly=True, perception=None) as st:
        a = st.query(Changes(T0 + 5 * S, t + 5 * S))
        assert [(c["object_id"], c["kind"]) for c in a.value] == [(1, "moved")]


def test_open_stays_grow_the_pooled_prior_without_a_rebuild(store):
    """Objects re-seen in place add no placement rows, only longer open stays: the pooled prior's
    exposure follows the store clock (Σ over open stays of now − start), so the cached view gives
    the same prior as a fresh one, and a longer quiet history means a slower prior leave rate."""
    reader = robomem.open(store, readonly=True, perception=None)
    try:
        v = view_of(reader)
        before = v.belief.global_hazard()
        n_open = v.belief._totals[2]
        assert n_open == 40
        t = T0 + 3 * 86400 * S
        with LongTermMemory(store) as lt:       # all 40 things re-seen where they were, 3 days later
            lt.begin_session("day4", t)
            _ingest(lt, np.arange(1, 41), t + S, np.arange(1, 41)[:, None] * 0.5 * np.ones((1, 3)),
                    [f"thing{i % 8}" for i in range(1, 41)], np.arange(1, 41) % 3)
            lt.end_session(t + 10 * S)
            assert lt.read("SELECT count(*) FROM placements")[0][0] == 40     # no new rows
        v2 = view_of(reader)
        assert v2 is v and v.belief._pooled is not None                      # not rebuilt
        after = v.belief.global_hazard()
        assert after.b > before.b + 40 * 2.9 * 86400                         # ~3 more days per stay
        fresh = StoreView(reader)
        fresh.refresh()
        assert _pooled(v) == pytest.approx(_pooled(fresh), rel=1e-9)
        last = t + S
        assert v.belief.p_still_there(1, "thing1", last, last + 86400 * S) > 0.5
    finally:
        reader.close()


def test_a_thing_lost_and_found_again_in_place_under_a_new_id_is_no_change(tmp_path):
    """Perception lost the wallet (a *disappeared* event) and found it again where it was under a
    new id: no change. A wallet gone and a key ring new in its place are two changes."""
    from robomem.observations import EventKind, ObjectEvent
    from robomem.retrieval import Changes
    path = tmp_path / "lost.db"
    with LongTermMemory(path) as lt:
        _first_session_two_on_receptacle_9(lt, [[1.0, 1.0, 0.8], [2.0, 1.0, 0.8], [1.5, 1.0, 0.7]],
                                           ["wallet", "remote", "table"])
        t = T0 + 86400 * S
        lt.begin_session("b", t)
        lt.ingest(events=[ObjectEvent(EventKind.DISAPPEARED, 1, "wallet", t + S, np.array([1.0, 1.0, 0.8])),
                          ObjectEvent(EventKind.DISAPPEARED, 2, "remote", t + S, np.array([2.0, 1.0, 0.8]))])
        lt.ingest_arrays(np.array([5, 6]), np.full(2, t + 2 * S, np.int64), np.array([[1.05, 1.0, 0.8], [2.0, 1.0, 0.8]]),
                         ["wallet", "keys"], receptacle_ids=np.array([9, 9]), room_ids=np.array([1, 1]))
        lt.end_session(t + 10 * S)
    with robomem.open(path, readonly=True, perception=None) as st:
        a = st.query(Changes(T0 + 5 * S, t + 5 * S))
        assert sorted((c["label"], c["kind"]) for c in a.value) == [("keys", "appeared"), ("remote", "disappeared")]
        assert all(set(c) == {"object_id", "label", "kind", "before", "after"} for c in a.value)
