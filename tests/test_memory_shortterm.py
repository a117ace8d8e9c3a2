"""Short-term (working) memory: bounded size and the recency x importance x novelty policy."""
from __future__ import annotations

import numpy as np
import pytest

from robomem.errors import InvalidInputError
from robomem.memory import ShortTermMemory
from robomem.observations import EventKind, ObjectEvent, ObjectObservation

S = 10**9


def obs(oid, t, label="mug", conf=1.0, x=0.0):
    p = np.array([x, 0.0, 1.0])
    return ObjectObservation(oid, label, t, p, p - 0.1, p + 0.1, conf)


def test_scores_follow_the_documented_formula():
    stm = ShortTermMemory(capacity=100, half_life_ns=10 * S)
    stm.add([obs(1, 0, conf=0.8), obs(1, 10 * S, conf=0.8), obs(2, 20 * S, conf=0.5),
             ObjectEvent(EventKind.MOVED, 2, "mug", 20 * S, np.zeros(3))])
    items = stm.items()
    got = dict(zip([(type(i).__name__, i.object_id, i.stamp_ns) for i in items], stm.scores()[np.lexsort(
        (stm._seq, stm._stamp))]))
    # recency = 2^(-(20 s - t)/10 s); importance = weight * conf; novelty = 1/(1 + newer items of the object)
    assert got[("ObjectObservation", 1, 0)] == pytest.approx(0.25 * 0.5 * 0.8 * 0.5)
    assert got[("ObjectObservation", 1, 10 * S)] == pytest.approx(0.5 * 0.5 * 0.8 * 1.0)
    assert got[("ObjectObservation", 2, 20 * S)] == pytest.approx(1.0 * 0.5 * 0.5 * 0.5)
    assert got[("ObjectEvent", 2, 20 * S)] == pytest.approx(1.0 * 1.0 * 1.0 * 1.0)


def test_capacity_is_a_hard_bound_and_latest_per_object_survives():
    stm = ShortTermMemory(capacity=30, half_life_ns=60 * S)
    rng = np.random.default_rng(0)
    last = {}
    for f in range(200):
        ids = rng.choice(20, 5, replace=False)
        stm.add([obs(int(i), f * S // 10, x=float(f)) for i in ids])
        for i in ids:
            last[int(i)] = f * S // 10
        assert len(stm) <= 30
    assert stm.evicted == 1000 - 30
    for oid, t in last.items():
        assert stm.last_observation(oid).stamp_ns == t  # newest record of every object is kept


def test_events_outlive_routine_sightings():
    stm = ShortTermMemory(capacity=10, half_life_ns=30 * S)
    stm.add([ObjectEvent(EventKind.MOVED, 99, "keys", 0, np.zeros(3))])
    for k in range(1, 40):
        stm.add([obs(k % 5, k * S // 10)])
    assert any(isinstance(i, ObjectEvent) and i.object_id == 99 for i in stm)
    assert stm.events([EventKind.MOVED])[0].object_id == 99
    # with enough time the event fades too (recency wins eventually)
    stm.add([obs(k % 5, 1000 * S + k) for k in range(20)])
    assert not stm.events()


def test_just_now_queries():
    stm = ShortTermMemory(capacity=100)
    stm.add([obs(1, 0, "mug"), obs(2, 5 * S, "book"), obs(1, 9 * S, "mug", x=2.0), obs(3, 10 * S, "mug")])
    assert [o.object_id for o in stm.just_seen(2 * S)] == [3, 1]
    assert stm.last_observation(1).position[0] == 2.0
    assert [o.object_id for o in stm.last_of_label("mug")] == [3, 1]
    assert stm.last(2).label == "book" and stm.last(42) is None


def test_bad_items_change_nothing():
    stm = ShortTermMemory(capacity=5)
    stm.add([obs(1, 0)])
    with pytest.raises(InvalidInputError):
        stm.add([obs(2, S), "not an observation"])
    with pytest.raises(InvalidInputError):
        stm.add([obs(2, -1)])
    assert len(stm) == 1
    with pytest.raises(InvalidInputError):
        ShortTermMemory(capacity=0)
