"""`ShortTermMemory`: the bounded working memory of what was just perceived.

Replacement policy. When the buffer exceeds ``capacity`` the items with the lowest score are
dropped::

    score     = recency * importance * novelty
    recency   = 2 ** (-(t_newest - t_item) / half_life)        (1 for the newest item)
    importance= kind_weight[kind] * confidence                  (events: confidence 1)
    novelty   = 1 / (1 + k)   where k = number of newer items about the same object

kind_weight defaults: appeared, moved, disappeared = 1.0; observation = 0.5; updated = 0.3.
So the newest record of each object has novelty 1 and outlives its own older repeats, changes
(events) outlive routine sightings, and everything fades with age. Ties go to the older item."""
from __future__ import annotations

import math
from typing import Iterable, Optional, Union

import numpy as np

from robomem.errors import InvalidInputError
from robomem.observations import EventKind, ObjectEvent, ObjectObservation

Item = Union[ObjectObservation, ObjectEvent]

DEFAULT_KIND_WEIGHTS = {"observation": 0.5, EventKind.UPDATED.value: 0.3, EventKind.APPEARED.value: 1.0,
                        EventKind.MOVED.value: 1.0, EventKind.DISAPPEARED.value: 1.0}


def _kind(item: Item) -> str:
    return "observation" if isinstance(item, ObjectObservation) else EventKind(item.kind).value


class ShortTermMemory:
    """Bounded in-process buffer of recent :class:`ObjectObservation` and :class:`ObjectEvent`.

    ``capacity``: maximum number of items kept; ``half_life_ns``: recency half-life (data time);
    ``kind_weights``: importance per kind (see module docstring). Not durable: the long-term store
    is (see :class:`~robomem.memory.longterm.LongTermMemory`)."""

    def __init__(self, capacity: int = 2048, half_life_ns: int = 30 * 10**9,
                 kind_weights: Optional[dict] = None) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity < 1:
            raise InvalidInputError(f"capacity must be a positive integer, got {capacity!r}")
        if not (isinstance(half_life_ns, (int, float, np.integer)) and math.isfinite(half_life_ns) and half_life_ns > 0):
            raise InvalidInputError(f"half_life_ns must be positive, got {half_life_ns!r}")
        self.capacity = int(capacity)
        self.half_life_ns = float(half_life_ns)
        self.kind_weights = dict(DEFAULT_KIND_WEIGHTS)
        if kind_weights:
            for k, v in kind_weights.items():
                key = k if k == "observation" else EventKind(k).value
                if not (isinstance(v, (int, float)) and v > 0):
                    raise InvalidInputError(f"kind weight for {key} must be > 0, got {v!r}")
                self.kind_weights[key] = float(v)
        self._items = np.empty(0, dtype=object)
        self._stamp = np.empty(0, np.int64)
        self._oid = np.empty(0, np.int64)
        self._imp = np.empty(0, np.float64)
        self._seq = np.empty(0, np.int64)
        self._next_seq = 0
        self._last_by_id: dict[int, int] = {}
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self.items())

    def add(self, items: Iterable[Item]) -> int:
        """Insert observations/events; returns how many items were evicted to stay within capacity."""
        new = list(items)
        if not new:
            return 0
        st = np.empty(len(new), np.int64)
        oid = np.empty(len(new), np.int64)
        imp = np.empty(len(new), np.float64)
        for i, it in enumerate(new):
            if not isinstance(it, (ObjectObservation, ObjectEvent)):
                raise InvalidInputError(f"item {i}: expected ObjectObservation or ObjectEvent, got {type(it).__name__}")
            s = it.stamp_ns
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
                raise InvalidInputError(f"item {i}: stamp_ns must be a non-negative integer, got {s!r}")
            st[i] = s
            oid[i] = int(it.object_id)
            conf = float(getattr(it, "confidence", 1.0))
            imp[i] = self.kind_weights[_kind(it)] * min(max(conf, 0.0), 1.0)
        arr = np.empty(len(new), dtype=object)
        arr[:] = new
        self._items = np.concatenate([self._items, arr])
        self._stamp = np.concatenate([self._stamp, st])
        self._oid = np.concatenate([self._oid, oid])
        self._imp = np.concatenate([self._imp, imp])
        self._seq = np.concatenate([self._seq, np.arange(self._next_seq, self._next_seq + len(new))])
        self._next_seq += len(new)
        n_evict = len(self._items) - self.capacity
        if n_evict > 0:
            score = self.scores()
            # lowest score first; ties: older (smaller seq) first
            victims = np.lexsort((self._seq, score))[:n_evict]
            keep = np.ones(len(self._items), bool)
            keep[victims] = False
            self._items = self._items[keep]
            self._stamp, self._oid = self._stamp[keep], self._oid[keep]
            self._imp, self._seq = self._imp[keep], self._seq[keep]
            self.evicted += n_evict
        self._reindex()
        return max(n_evict, 0)

    def _reindex(self) -> None:
        # Latest item per object: position of the maximum (stamp, seq) within each object group.
        order = np.lexsort((self._seq, self._stamp, self._oid))
        oid_sorted = self._oid[order]
        last = np.flatnonzero(np.r_[oid_sorted[1:] != oid_sorted[:-1], True])
        self._last_by_id = dict(zip(oid_sorted[last].tolist(), order[last].tolist()))

    def scores(self) -> np.ndarray:
        """Current replacement scores of the buffered items (same order as :meth:`items`)."""
        n = len(self._items)
        if n == 0:
            return np.empty(0)
        recency = np.exp2(-(self._stamp.max() - self._stamp) / self.half_life_ns)
        # k = number of newer items about the same object: rank from the end within each object group.
        order = np.lexsort((self._seq, self._stamp, self._oid))
        oid_sorted = self._oid[order]
        group_start = np.r_[0, np.flatnonzero(oid_sorted[1:] != oid_sorted[:-1]) + 1]
        group_end = np.r_[group_start[1:], n]
        sizes = group_end - group_start
        pos_in_group = np.arange(n) - np.repeat(group_start, sizes)
        newer = np.empty(n, np.int64)
        newer[order] = np.repeat(sizes, sizes) - 1 - pos_in_group
        novelty = 1.0 / (1.0 + newer)
        return recency * self._imp * novelty

    def items(self) -> list[Item]:
        """Buffered items, oldest first."""
        order = np.lexsort((self._seq, self._stamp))
        return self._items[order].tolist()

    def just_seen(self, window_ns: int = 2 * 10**9) -> list[ObjectObservation]:
        """Latest observation of every object seen within ``window_ns`` of the newest item
        ("what did I just see?"), newest first."""
        if len(self._items) == 0:
            return []
        newest = int(self._stamp.max())
        best: dict[int, ObjectObservation] = {}
        for i in np.flatnonzero(self._stamp >= newest - int(window_ns)).tolist():
            it = self._items[i]
            if isinstance(it, ObjectObservation):
                b = best.get(it.object_id)
                if b is None or it.stamp_ns >= b.stamp_ns:
                    best[it.object_id] = it
        return sorted(best.values(), key=lambda o: -o.stamp_ns)

    def last(self, object_id: int) -> Optional[Item]:
        """Newest buffered item about ``object_id`` (observation or event)."""
        i = self._last_by_id.get(int(object_id))
        return None if i is None else self._items[i]

    def last_observation(self, object_id: int) -> Optional[ObjectObservation]:
        idx = np.flatnonzero(self._oid == int(object_id))
        best = None
        for i in idx.tolist():
            it = self._items[i]
            if isinstance(it, ObjectObservation) and (best is None or it.stamp_ns >= best.stamp_ns):
                best = it
        return best

    def last_of_label(self, label: str) -> list[ObjectObservation]:
        """Newest buffered observation of each object with ``label``, newest first."""
        best: dict[int, ObjectObservation] = {}
        for it in self._items.tolist():
            if isinstance(it, ObjectObservation) and it.label == label:
                b = best.get(it.object_id)
                if b is None or it.stamp_ns >= b.stamp_ns:
                    best[it.object_id] = it
        return sorted(best.values(), key=lambda o: -o.stamp_ns)

    def events(self, kinds: Optional[Iterable] = None) -> list[ObjectEvent]:
        ks = None if kinds is None else {EventKind(k) for k in kinds}
        return [it for it in self.items() if isinstance(it, ObjectEvent) and (ks is None or EventKind(it.kind) in ks)]

    def clear(self) -> None:
        self.__init__(self.capacity, self.half_life_ns, self.kind_weights)
