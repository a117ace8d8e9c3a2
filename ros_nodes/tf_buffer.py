"""A small transform buffer for ``/tf`` and ``/tf_static`` (tf2 has no pip wheel). Pure numpy.

Transforms form a tree (each child frame has one parent). :meth:`TfBuffer.lookup` walks from
both frames up to a common ancestor, taking each dynamic edge at the sample nearest the asked
time (within ``tolerance_ns``; no interpolation) and static edges as they are."""
from __future__ import annotations

import bisect
import threading
from typing import Optional

import numpy as np

from robomem.errors import InvalidInputError, InvalidPoseError
from robomem.pose import invert_pose, make_pose


class UnknownFrameError(InvalidInputError):
    """The asked frames are not connected in the buffer (unknown frame or no sample near the time)."""


class TfBuffer:
    """Transform history per child frame. ``history`` samples are kept per dynamic edge."""

    def __init__(self, history: int = 200) -> None:
        self.history = int(history)
        self._parent: dict[str, str] = {}
        self._static: dict[str, np.ndarray] = {}
        self._stamps: dict[str, list[int]] = {}
        self._poses: dict[str, list[np.ndarray]] = {}
        self._lock = threading.Lock()

    def set_transform(self, parent: str, child: str, stamp_ns: int, translation, rotation_xyzw,
                      static: bool = False) -> None:
        """Store ``T_parent_child`` at ``stamp_ns``. Raises :class:`InvalidPoseError` for a NaN or
        zero-norm transform and :class:`InvalidInputError` for empty/identical frame names (the
        buffer is unchanged)."""
        if not parent or not child or parent.strip("/") == child.strip("/"):
            raise InvalidInputError(f"transform needs two different non-empty frames, got {parent!r} -> {child!r}")
        t = np.asarray(translation, dtype=np.float64)
        q = np.asarray(rotation_xyzw, dtype=np.float64)
        if t.shape != (3,) or q.shape != (4,) or not (np.all(np.isfinite(t)) and np.all(np.isfinite(q))):
            raise InvalidPoseError(f"transform {parent} -> {child}: translation/rotation must be finite")
        if np.linalg.norm(q) < 1e-6:
            raise InvalidPoseError(f"transform {parent} -> {child}: zero quaternion")
        T = make_pose(q, t)
        parent, child = parent.strip("/"), child.strip("/")
        with self._lock:
            self._parent[child] = parent
            if static:
                self._static[child] = T
                return
            st = self._stamps.setdefault(child, [])
            ps = self._poses.setdefault(child, [])
            k = bisect.bisect_right(st, int(stamp_ns))
            st.insert(k, int(stamp_ns))
            ps.insert(k, T)
            if len(st) > self.history:
                del st[0], ps[0]

    def frames(self) -> set[str]:
        with self._lock:
            return set(self._parent) | set(self._parent.values())

    def _edge(self, child: str, stamp_ns: int, tolerance_ns: int) -> np.ndarray:
        if child in self._static:
            return self._static[child]
        st = self._stamps.get(child)
        if not st:
            raise UnknownFrameError(f"no transform for frame {child!r}")
        k = bisect.bisect_left(st, stamp_ns)
        best = min((j for j in (k - 1, k) if 0 <= j < len(st)), key=lambda j: abs(st[j] - stamp_ns))
        if abs(st[best] - stamp_ns) > tolerance_ns:
            raise UnknownFrameError(f"no transform {self._parent[child]} -> {child} within "
                                    f"{tolerance_ns / 1e6:.0f} ms of the asked time")
        return self._poses[child][best]

    def _chain(self, frame: str) -> list[str]:
        chain = [frame]
        while chain[-1] in self._parent and len(chain) < 64:
            chain.append(self._parent[chain[-1]])
        return chain

    def lookup(self, target: str, source: str, stamp_ns: int, tolerance_ns: int = 100_000_000) -> np.ndarray:
        """``T_target_source`` (4, 4) at ``stamp_ns``: maps points in ``source`` to ``target``.
        Raises :class:`UnknownFrameError` when the frames are not connected or a dynamic edge has
        no sample within ``tolerance_ns``."""
        target, source = target.strip("/"), source.strip("/")
        if target == source:
            return np.eye(4)
        with self._lock:
            up_s, up_t = self._chain(source), self._chain(target)
            common = next((f for f in up_s if f in set(up_t)), None)
            if common is None:
                raise UnknownFrameError(f"frames {source!r} and {target!r} are not connected "
                                        f"(known: {sorted(self.frames_unlocked())})")
            T_common_source = np.eye(4)
            for f in up_s[:up_s.index(common)]:
                T_common_source = self._edge(f, stamp_ns, tolerance_ns) @ T_common_source
            T_common_target = np.eye(4)
            for f in up_t[:up_t.index(common)]:
                T_common_target = self._edge(f, stamp_ns, tolerance_ns) @ T_common_target
        return invert_pose(T_common_target) @ T_common_source

    def frames_unlocked(self) -> set[str]:
        return set(self._parent) | set(self._parent.values())

    def latest_stamp(self, child: str) -> Optional[int]:
        with self._lock:
            st = self._stamps.get(child.strip("/"))
            return st[-1] if st else None
