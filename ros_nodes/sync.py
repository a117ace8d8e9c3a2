"""Approximate-time synchronisation of several streams by timestamp (message_filters has no pip
wheel, so it is written here). Pure Python, no ROS needed.

Policy: every stream keeps a short queue. When a message arrives, the message nearest in time in
each other queue is looked up; if all of them are within ``slop_ns`` of the new one, the set is
emitted and everything up to and including the emitted messages is dropped from the queues (so
a set is emitted once, and late messages older than an emitted set are discarded)."""
from __future__ import annotations

import bisect
import threading
from typing import Any, Callable, Optional

from robomem.errors import InvalidInputError


class ApproximateTimeSync:
    """Match ``n_streams`` streams by stamp (integer ns) within ``slop_ns``; ``callback(*msgs)`` is
    called with one message per stream, in stream order. ``queue_size`` bounds each stream's
    queue (oldest dropped). Thread-safe; the callback runs outside the lock."""

    def __init__(self, n_streams: int, slop_ns: int, callback: Callable[..., Any], queue_size: int = 10) -> None:
        if not isinstance(n_streams, int) or n_streams < 1:
            raise InvalidInputError(f"n_streams must be a positive integer, got {n_streams!r}")
        if not isinstance(slop_ns, int) or slop_ns < 0:
            raise InvalidInputError(f"slop_ns must be a non-negative integer, got {slop_ns!r}")
        if not isinstance(queue_size, int) or queue_size < 1:
            raise InvalidInputError(f"queue_size must be a positive integer, got {queue_size!r}")
        self.n = n_streams
        self.slop_ns = slop_ns
        self.queue_size = queue_size
        self.callback = callback
        self._stamps: list[list[int]] = [[] for _ in range(n_streams)]
        self._msgs: list[list[Any]] = [[] for _ in range(n_streams)]
        self._floor = [-1] * n_streams        # stamps <= floor were consumed or are too old
        self._lock = threading.Lock()
        self.emitted = 0
        self.dropped = 0

    def add(self, stream: int, stamp_ns: int, msg: Any) -> bool:
        """Offer ``msg`` of ``stream`` taken at ``stamp_ns``. Returns True when a set was emitted."""
        if not 0 <= stream < self.n:
            raise InvalidInputError(f"stream must be in 0..{self.n - 1}, got {stream!r}")
        with self._lock:
            out = self._add(stream, int(stamp_ns), msg)
        if out is None:
            return False
        self.callback(*out)
        return True

    def _add(self, stream: int, t: int, msg: Any) -> Optional[list]:
        if t <= self._floor[stream]:
            self.dropped += 1
            return None
        st, ms = self._stamps[stream], self._msgs[stream]
        k = bisect.bisect_right(st, t)
        st.insert(k, t)
        ms.insert(k, msg)
        if len(st) > self.queue_size:
            del st[0], ms[0]
            self.dropped += 1
            k -= 1                       # the new message moved down one place...
            if k < 0:                    # ...or was itself the oldest, and is gone
                return None
        picks = []
        for s in range(self.n):
            if s == stream:
                picks.append(k)
                continue
            j = _nearest(self._stamps[s], t)
            if j is None or abs(self._stamps[s][j] - t) > self.slop_ns:
                return None
            picks.append(j)
        out = []
        for s, j in enumerate(picks):
            out.append(self._msgs[s][j])
            self._floor[s] = max(self._floor[s], self._stamps[s][j])
            self.dropped += j            # older unmatched messages of this stream are skipped
            del self._stamps[s][:j + 1], self._msgs[s][:j + 1]
        self.emitted += 1
        return out


def _nearest(stamps: list[int], t: int) -> Optional[int]:
    if not stamps:
        return None
    k = bisect.bisect_left(stamps, t)
    if k == 0:
        return 0
    if k == len(stamps):
        return k - 1
    return k if stamps[k] - t < t - stamps[k - 1] else k - 1
