"""Sessions (e.g. one day's run) and scene-graph snapshots on the long-term store."""
from __future__ import annotations

import hashlib
import json
import zlib
from typing import Optional

import numpy as np

from robomem.memory.errors import CorruptStoreError, InvalidObservationError, OutOfOrderError, SessionError
from robomem.memory.records import check_id, check_json, check_stamp, check_text, dumps


class SessionStore:
    """Session and snapshot methods of :class:`~robomem.memory.longterm.LongTermMemory` (a mixin: it
    uses the store's transaction and read helpers)."""

    def begin_session(self, name: str, stamp_ns: int, info: Optional[dict] = None) -> int:
        """Start a session (e.g. one day's run); later records are tagged with its id. An
        unfinished earlier session is closed at ``stamp_ns``. A session may begin any time after the
        newest stored record (a robot switched off for a week), never before it
        (:class:`OutOfOrderError`)."""
        stamp_ns = check_stamp(stamp_ns, "begin_session")
        check_text(name, "session name", allow_empty=True)
        info_json = check_json(info or {}, "session info")
        self._load_writer_state()
        self.check_session_start(stamp_ns)
        with self._tx() as c:
            c.execute("UPDATE sessions SET t_end = ? WHERE t_end IS NULL", (stamp_ns,))
            sid = c.execute("INSERT INTO sessions(name, t_start, info) VALUES (?, ?, ?)",
                            (name, stamp_ns, info_json)).lastrowid
        self.session_id = sid
        self._session_start = stamp_ns
        return sid

    def check_session_start(self, stamp_ns: int, pending_latest: Optional[int] = None) -> None:
        """Raise unless a session may begin at ``stamp_ns``: not before the newest stored (or
        ``pending_latest``) record, nor before the start of the session it would close."""
        stamp_ns = check_stamp(stamp_ns, "begin_session")
        self._load_writer_state()
        newest = max([v for v in (self._latest, pending_latest, self._session_start) if v is not None], default=None)
        if newest is not None and stamp_ns < newest:
            raise OutOfOrderError(f"begin_session: stamp {stamp_ns} is before the newest stored record or session "
                                  f"start ({newest}); a session cannot begin in the past")

    def check_session_end(self, stamp_ns: int, pending_latest: Optional[int] = None) -> int:
        """Raise unless the open session may end at ``stamp_ns`` (a session is open, the stamp is not
        before its start nor before its newest record); returns the session id."""
        stamp_ns = check_stamp(stamp_ns, "end_session")
        self._load_writer_state()
        if self.session_id is None:
            raise SessionError("end_session: no session is open (call begin_session first)")
        newest = max([v for v in (self._latest, pending_latest, self._session_start) if v is not None], default=None)
        if newest is not None and stamp_ns < newest:
            raise OutOfOrderError(f"end_session: stamp {stamp_ns} is before the session's start or its newest "
                                  f"record ({newest})")
        self._check_order(np.array([stamp_ns], np.int64), "end_session")
        return self.session_id

    def end_session(self, stamp_ns: int, scene_graph=None) -> int:
        """End the current session at ``stamp_ns``; store ``scene_graph`` (a SceneGraph or its
        ``to_dict()``) as the session's snapshot in the same transaction. Returns the session id.
        Raises :class:`SessionError` when no session is open, :class:`OutOfOrderError` for a stamp
        before the session's start or newest record."""
        sid = self.check_session_end(stamp_ns)
        stamp_ns = int(stamp_ns)
        blob = None if scene_graph is None else _encode_graph(scene_graph)
        with self._tx() as c:
            c.execute("UPDATE sessions SET t_end = ? WHERE id = ?", (stamp_ns, sid))
            if blob is not None:
                c.execute("INSERT INTO snapshots(session_id, stamp_ns, codec, sha256, data) VALUES (?, ?, ?, ?, ?)",
                          (sid, stamp_ns, "zlib-json", blob[1], blob[0]))
        self.session_id = None
        self._session_start = None
        return sid

    def save_snapshot(self, scene_graph, stamp_ns: int, session_id: Optional[int] = None) -> int:
        """Store a scene-graph snapshot (zlib-compressed JSON of ``to_dict()``); returns its id."""
        stamp_ns = check_stamp(stamp_ns, "save_snapshot")
        sid = self.session_id if session_id is None else check_id(session_id, "session_id")
        if sid is None:
            raise InvalidObservationError("save_snapshot needs a session (begin_session first or pass session_id)")
        if not self._read("SELECT 1 FROM sessions WHERE id = ?", (sid,)):
            raise InvalidObservationError(f"unknown session id {sid}")
        data, sha = _encode_graph(scene_graph)
        with self._tx() as c:
            return c.execute("INSERT INTO snapshots(session_id, stamp_ns, codec, sha256, data) VALUES (?, ?, ?, ?, ?)",
                             (sid, stamp_ns, "zlib-json", sha, data)).lastrowid

    def sessions(self) -> list[dict]:
        return [{"session_id": r[0], "name": r[1], "t_start_ns": r[2], "t_end_ns": r[3], "info": json.loads(r[4])}
                for r in self._read("SELECT id, name, t_start, t_end, info FROM sessions ORDER BY id")]

    def snapshot_dict(self, session_id: int, at_ns: Optional[int] = None) -> Optional[dict]:
        """The session's last snapshot (or its last one at or before ``at_ns``) as a dict."""
        sql = "SELECT codec, sha256, data FROM snapshots WHERE session_id = ?"
        params: list = [int(session_id)]
        if at_ns is not None:
            sql += " AND stamp_ns <= ?"
            params.append(int(at_ns))
        rows = self._read(sql + " ORDER BY stamp_ns DESC, id DESC LIMIT 1", params)
        if not rows:
            return None
        codec, sha, data = rows[0]
        raw = zlib.decompress(data)
        if hashlib.sha256(raw).hexdigest() != sha:
            raise CorruptStoreError(f"{self.path}: snapshot of session {session_id} fails its checksum")
        return json.loads(raw)

    def scene_graph(self, session_id: int, at_ns: Optional[int] = None):
        """The scene graph of a session as a ``robomem.scenegraph.SceneGraph`` (a dict when that
        package is not available)."""
        d = self.snapshot_dict(session_id, at_ns)
        if d is None:
            return None
        try:
            from robomem.scenegraph import SceneGraph
        except ImportError:
            return d
        return SceneGraph.from_dict(d)


def _encode_graph(graph) -> tuple[bytes, str]:
    d = graph.to_dict() if hasattr(graph, "to_dict") else graph
    if not isinstance(d, dict):
        raise InvalidObservationError(f"scene graph must be a SceneGraph or a dict, got {type(graph).__name__}")
    try:
        raw = dumps(d).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidObservationError(f"scene graph is not JSON-serialisable: {exc}") from None
    return zlib.compress(raw, 6), hashlib.sha256(raw).hexdigest()


