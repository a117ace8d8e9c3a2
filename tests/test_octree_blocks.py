"""The octree's public block export/import (used by the stack's map store): round trips, the
modified-block tracking every writer relies on, and refusal of bad blocks."""
from __future__ import annotations

import numpy as np
import pytest

from robomem.errors import InvalidInputError, InvalidMapError
from robomem.mapping import Decay, OccupancyOctree

RNG = np.random.default_rng(5)


def _scan(tree, seed, stamp=None):
    rng = np.random.default_rng(seed)
    pts = rng.uniform([-2, -2, 0], [2, 2, 2], (400, 3))
    tree.insert_points(pts, rng.uniform(-0.5, 0.5, 3), discretize=True, stamp_ns=stamp)


def _same(a, b):
    ka, va = a.leaves()
    kb, vb = b.leaves()
    oa, ob = np.lexsort(ka.T), np.lexsort(kb.T)
    return np.array_equal(ka[oa], kb[ob]) and np.array_equal(va[oa], vb[ob])


def test_blocks_round_trip_and_counters():
    t = OccupancyOctree(0.05, max_range=6.0)
    for i in range(3):
        _scan(t, i, stamp=10 + i)
    keys, rows = t.blocks()
    assert len(keys) == t.num_blocks and rows.shape == (len(keys), 512)
    assert np.array_equal(t.block_indices(keys), np.arange(len(keys)))
    assert t.block_indices([keys.max() + 1])[0] == -1
    _, view_rows = t.blocks(copy=False)
    with pytest.raises(ValueError):
        view_rows[0, 0] = 1.0                       # views are read-only
    u = OccupancyOctree(0.05, max_range=6.0)
    u.set_blocks(keys, rows)
    u.restore_counters(t.update_count, t.last_stamp_ns)
    assert _same(t, u) and u.update_count == t.update_count and u.last_stamp_ns == 12
    u.restore_counters(1, None)                     # never lowers the update count
    assert u.update_count == t.update_count


def test_modified_blocks_cover_every_change():
    t = OccupancyOctree(0.05, max_range=6.0, decay=Decay(half_life_s=1.0))
    _scan(t, 0, stamp=0)
    assert np.array_equal(t.take_modified_blocks(), np.arange(t.num_blocks))
    assert len(t.take_modified_blocks()) == 0        # taken: starts over
    _, before = t.blocks()
    n0 = t.num_blocks
    _scan(t, 1)                                     # no stamp: no decay, only this scan's blocks
    mod = t.take_modified_blocks()
    _, after = t.blocks()
    changed = np.flatnonzero((after[:n0].view(np.uint32) != before.view(np.uint32)).any(axis=1))
    assert set(changed) <= set(mod) and set(range(n0, t.num_blocks)) <= set(mod)
    assert len(mod) < t.num_blocks                  # not everything
    _scan(t, 2, stamp=2 * 10**9)                    # decay touches every block
    assert len(t.take_modified_blocks()) == t.num_blocks
    t.cap_confidence(0.4, 0.6)
    assert len(t.take_modified_blocks()) == t.num_blocks
    t.set_voxels([[32768, 32768, 32768]], [0.5])
    assert list(t.take_modified_blocks()) == list(t.block_indices([(4096) | (4096 << 13) | (4096 << 26)]))
    c = t.copy()
    _scan(c, 3)
    assert len(t.take_modified_blocks()) == 0       # a copy tracks its own changes


def test_cap_confidence_keeps_states():
    t = OccupancyOctree(0.05)
    for i in range(4):
        _scan(t, 0)
    k, v = t.leaves()
    t.cap_confidence(0.4, 0.58)
    k2, v2 = t.leaves()
    assert np.array_equal(k, k2) and np.array_equal(v >= 0, v2 >= 0)
    assert v2.max() <= np.log(0.58 / 0.42) + 1e-6 and v2.min() >= np.log(0.4 / 0.6) - 1e-6
    with pytest.raises(InvalidInputError):
        t.cap_confidence(0.6, 0.7)


@pytest.mark.parametrize("rows, err", [
    (np.full((1, 512), 99.0, np.float32), InvalidMapError),     # outside the clamping range
    (np.full((1, 512), np.inf, np.float32), InvalidMapError),
    (np.zeros((1, 511), np.float32), InvalidInputError),        # wrong shape
])
def test_bad_blocks_are_refused_and_change_nothing(rows, err):
    t = OccupancyOctree(0.05)
    _scan(t, 0)
    before = t.copy()
    with pytest.raises(err):
        t.set_blocks([5], rows)
    with pytest.raises(InvalidInputError):
        t.set_blocks([-1], np.zeros((1, 512), np.float32))
    with pytest.raises(InvalidInputError):
        t.restore_counters(-1, None)
    assert _same(t, before) and t.num_blocks == before.num_blocks
