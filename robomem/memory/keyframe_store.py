"""Keyframe storage on the long-term store: compressed evidence images within a byte budget."""
from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from robomem.memory import consolidation as _cons
from robomem.memory.errors import InvalidObservationError, UnknownObjectError
from robomem.memory.keyframes import KeptView, check_encoding, decode_image, encode_image, image_descriptor
from robomem.memory.records import check_id, check_stamp, check_vec3, dumps, query_id, sql_where, stamp_range_terms


@dataclass(frozen=True)
class Keyframe:
    """Metadata of a stored keyframe (the image itself: ``keyframe_image(keyframe_id)``).
    ``object_ids``: objects visible in it; ``pose``: 4x4 T_world_camera as nested lists, if given."""

    keyframe_id: int
    stamp_ns: int
    session_id: Optional[int]
    importance: float
    fmt: str
    width: int
    height: int
    nbytes: int
    object_ids: tuple
    pose: Optional[list]


@dataclass(frozen=True)
class PreparedKeyframe:
    """A validated, compressed keyframe not yet stored (see :meth:`KeyframeStore.prepare_keyframe`)."""

    stamp_ns: int
    object_ids: tuple
    importance: float
    fmt: str
    width: int
    height: int
    data: bytes
    meta: str                  # JSON for the pose column: {"T": 4x4 or null, "view": {xyz, yaw, desc}}
    descriptor: np.ndarray


class KeyframeStore:
    """Keyframe methods of :class:`~robomem.memory.longterm.LongTermMemory` (a mixin: it uses the
    store's transaction and read helpers)."""

    def prepare_keyframe(self, rgb: np.ndarray, stamp_ns: int, object_ids: Iterable[int], importance: float = 0.5,
                         pose: Optional[np.ndarray] = None, *, max_side: int = 160, fmt: str = "JPEG",
                         quality: int = 70, position=None, yaw: Optional[float] = None) -> PreparedKeyframe:
        """Validate and compress a keyframe without storing it (nothing changes): the part of
        :meth:`add_keyframe` that can fail on bad input. ``position``/``yaw``: where the view was
        taken from (for the keyframe novelty test; taken from ``pose`` when omitted)."""
        stamp_ns = check_stamp(stamp_ns, "keyframe")
        ids = tuple(sorted({check_id(i, "keyframe object id") for i in object_ids}))
        if isinstance(importance, bool) or not (isinstance(importance, (int, float)) and 0.0 <= importance <= 1.0):
            raise InvalidObservationError(f"keyframe importance must be in [0, 1], got {importance!r}")
        check_encoding(max_side, fmt, quality)
        view: dict = {}
        T = None
        if pose is not None:
            from robomem.pose import validate_pose
            T = validate_pose(pose, "keyframe pose")
            if position is None:
                position = T[:3, 3]
            if yaw is None:
                yaw = math.atan2(T[1, 2], T[0, 2])
        if position is not None:
            view["xyz"] = [round(v, 4) for v in check_vec3(position, "keyframe position")]
        if yaw is not None:
            if isinstance(yaw, bool) or not isinstance(yaw, (int, float, np.floating)) or not math.isfinite(yaw):
                raise InvalidObservationError(f"keyframe yaw must be a finite number, got {yaw!r}")
            view["yaw"] = round(float(yaw), 5)
        data, w, h = encode_image(rgb, max_side=max_side, fmt=fmt, quality=quality)
        if len(data) > self.keyframe_budget_bytes:
            raise InvalidObservationError(f"keyframe of {len(data)} bytes exceeds the whole keyframe budget "
                                          f"({self.keyframe_budget_bytes} bytes)")
        desc = image_descriptor(rgb)
        view["desc"] = desc.tobytes().hex()
        meta = dumps({"T": None if T is None else T.tolist(), "view": view})
        return PreparedKeyframe(stamp_ns, ids, float(importance), fmt, w, h, data, meta, desc)

    def store_keyframe(self, kf: PreparedKeyframe) -> int:
        """Store a :meth:`prepare_keyframe` result (its object ids must be known by now), then evict
        the lowest-retention keyframes until the budget holds. Returns its id."""
        self._load_writer_state()
        unknown = [i for i in kf.object_ids if i not in self._labels]
        if unknown:
            raise UnknownObjectError(f"keyframe tagged with unknown object ids {unknown[:10]}")
        self._check_order(np.array([kf.stamp_ns], np.int64), "keyframe")
        with self._tx() as c:
            kid = c.execute("INSERT INTO keyframes(stamp_ns, session_id, importance, fmt, width, height, nbytes, "
                            "pose, data) VALUES (?,?,?,?,?,?,?,?,?)",
                            (kf.stamp_ns, self.session_id, kf.importance, kf.fmt, kf.width, kf.height, len(kf.data),
                             kf.meta, kf.data)).lastrowid
            c.executemany("INSERT INTO keyframe_objects(object_id, keyframe_id) VALUES (?, ?)",
                          [(i, kid) for i in kf.object_ids])
            self._evict_keyframes(c, kf.stamp_ns, self.keyframe_half_life_ns, self.keyframe_budget_bytes)
        return kid

    def add_keyframe(self, rgb: np.ndarray, stamp_ns: int, object_ids: Iterable[int], importance: float = 0.5,
                     pose: Optional[np.ndarray] = None, *, max_side: int = 160, fmt: str = "JPEG",
                     quality: int = 70) -> int:
        """Compress and store a keyframe tagged with the visible object ids (which must be known),
        then evict the lowest-retention keyframes until the budget holds. Returns its id."""
        return self.store_keyframe(self.prepare_keyframe(rgb, stamp_ns, object_ids, importance, pose,
                                                         max_side=max_side, fmt=fmt, quality=quality))

    def kept_views(self) -> list[KeptView]:
        """The novelty-test view of every stored keyframe (see :class:`KeyframePolicy`), oldest first."""
        out = []
        for r in self._read("SELECT k.id, k.stamp_ns, k.pose, (SELECT group_concat(object_id) FROM keyframe_objects "
                            "WHERE keyframe_id = k.id) FROM keyframes k ORDER BY k.stamp_ns"):
            meta = json.loads(r[2]) if r[2] else {}
            view = meta.get("view") or {}
            ids = frozenset(int(v) for v in r[3].split(",")) if r[3] else frozenset()
            xyz = view.get("xyz")
            if xyz is None and meta.get("T") is not None:
                xyz = [row[3] for row in meta["T"][:3]]
            desc = view.get("desc")
            out.append(KeptView(r[1], ids, None if xyz is None else np.asarray(xyz, np.float64), view.get("yaw"),
                                None if desc is None else np.frombuffer(bytes.fromhex(desc), np.uint8)))
        return out

    def _evict_keyframes(self, c: sqlite3.Connection, now_ns: int, half_life_ns: float, budget: int) -> tuple[int, int]:
        total = c.execute("SELECT coalesce(sum(nbytes), 0) FROM keyframes").fetchone()[0]
        if total <= budget:
            return 0, 0
        rows = np.array(c.execute("SELECT id, stamp_ns, importance, nbytes FROM keyframes").fetchall(), dtype=object)
        kid = rows[:, 0].astype(np.int64)
        score = _cons.keyframe_retention(now_ns, rows[:, 1].astype(np.int64), rows[:, 2].astype(np.float64), half_life_ns)
        nb = rows[:, 3].astype(np.int64)
        # A keyframe that is the only image of some object goes last: it is that object's evidence.
        sole = [r[0] for r in c.execute("SELECT min(keyframe_id) FROM keyframe_objects GROUP BY object_id "
                                        "HAVING count(*) = 1")]
        protect = np.isin(kid, np.asarray(sole, np.int64))
        order = np.lexsort((rows[:, 1].astype(np.int64), score, protect))  # unprotected, lowest retention, oldest
        excess = total - budget
        freed = np.cumsum(nb[order])
        k = int(np.searchsorted(freed, excess) + 1)
        victims = [(int(i),) for i in kid[order[:k]]]
        c.executemany("DELETE FROM keyframes WHERE id = ?", victims)
        c.executemany("DELETE FROM keyframe_objects WHERE keyframe_id = ?", victims)
        return len(victims), int(freed[k - 1])

    def keyframes(self, object_id: Optional[int] = None, t0: Optional[int] = None, t1: Optional[int] = None) -> list[Keyframe]:
        """Keyframe metadata (newest first), optionally only those showing ``object_id``."""
        sql = ("SELECT k.id, k.stamp_ns, k.session_id, k.importance, k.fmt, k.width, k.height, k.nbytes, k.pose, "
               "(SELECT group_concat(object_id) FROM keyframe_objects WHERE keyframe_id = k.id) FROM keyframes k")
        where, params = sql_where(
            None if object_id is None else ("k.id IN (SELECT keyframe_id FROM keyframe_objects WHERE object_id = ?)",
                                            [query_id(object_id, "keyframes: object_id")]),
            *stamp_range_terms("k.stamp_ns", t0, t1, "keyframes: t0", "keyframes: t1"))
        sql += where
        out = []
        for r in self._read(sql + " ORDER BY k.stamp_ns DESC", params):
            ids = tuple(sorted(int(v) for v in r[9].split(","))) if r[9] else ()
            out.append(Keyframe(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], ids,
                                None if r[8] is None else json.loads(r[8]).get("T")))
        return out

    def keyframe_ids_of(self, object_ids, per_object: int = 3) -> dict:
        """object id -> ids of the ``per_object`` newest keyframes showing it (one query for many
        objects; the first ids :meth:`keyframes` ``(object_id=...)`` lists). Objects without one
        are left out."""
        ids = sorted({query_id(o, "keyframe_ids_of: object_id") for o in object_ids})
        out: dict = {}
        for k in range(0, len(ids), 500):
            chunk = ids[k:k + 500]
            for oid, kid in self._read(
                    "SELECT ko.object_id, k.id FROM keyframe_objects ko JOIN keyframes k ON k.id = ko.keyframe_id "
                    f"WHERE ko.object_id IN ({','.join('?' * len(chunk))}) ORDER BY ko.object_id, k.stamp_ns DESC",
                    chunk):
                got = out.setdefault(oid, [])
                if len(got) < per_object:
                    got.append(kid)
        return {o: tuple(v) for o, v in out.items()}

    def keyframe_image(self, keyframe_id: int) -> np.ndarray:
        rows = self._read("SELECT data FROM keyframes WHERE id = ?", (query_id(keyframe_id, "keyframe_id"),))
        if not rows:
            raise UnknownObjectError(f"no keyframe {keyframe_id}")
        return decode_image(rows[0][0])

    def keyframe_count(self) -> int:
        return int(self._read("SELECT count(*) FROM keyframes")[0][0])

    def keyframe_bytes(self) -> int:
        return int(self._read("SELECT coalesce(sum(nbytes), 0) FROM keyframes")[0][0])
