"""The hot HTTP endpoints without the framework's per-request machinery, and their answers cached
per store version.

``POST /v1/where`` and ``POST /v1/query`` are what clients call over and over. For them the guard
(:mod:`robomem.service.guard`, which has already applied the rate limit, token, size and UTF-8
checks) asks :meth:`FastRoutes.answer` first: it validates the body with the same pydantic model /
the same retrieval-package parser the FastAPI routes use, answers, and keeps the response bytes
keyed by (path, body) until SQLite's ``data_version`` moves (another process wrote). Only the
happy path is taken here: anything that does not validate or raises returns ``None`` and the
request goes through the FastAPI app unchanged, which words the error exactly as before. Answers
depend only on the stored data (``now`` is the store's clock), so a cached response is the one
the app would give for the same store version."""
from __future__ import annotations

import json
from typing import Callable, Optional

import orjson

from robomem.service import browse, engine
from robomem.service import models as m

#: Responses kept per store version (the cache is dropped when it is full or the store changes).
MAX_CACHED = 4096
#: Bodies longer than this are answered but not cached.
MAX_CACHED_BODY = 1024


def dumps(data) -> bytes:
    """The service's JSON encoding (compact, UTF-8): orjson (several times faster), or the
    standard library for what orjson refuses (integers beyond 64 bits, non-string keys)."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":")).encode()


_HEALTH = dumps({"status": "ok"})


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


class FastRoutes:
    """Happy-path answers for the hot endpoints, cached per store version. ``get_stack``
    returns the service's open (read-only) stack, or None before start-up."""

    def __init__(self, get_stack: Callable[[], object], max_cached: int = MAX_CACHED) -> None:
        self._get_stack = get_stack
        self.max_cached = int(max_cached)
        self._version = None
        self._cache: dict = {}
        self.hits = 0
        self.misses = 0
        self._routes = {"/v1/where": self._where, "/v1/query": self._query}

    def get(self, path: str) -> Optional[bytes]:
        """The body of ``GET path`` when it is answered here (``/v1/health``), else None."""
        return _HEALTH if path == "/v1/health" else None

    def handles(self, method: str, path: str) -> bool:
        return method == "POST" and path in self._routes

    def _where(self, stack, body: bytes) -> bytes:
        req = m.WhereRequest.model_validate_json(body)
        return dumps(browse.where(stack, req.label, req.limit))

    def _query(self, stack, body: bytes) -> bytes:
        q = json.loads(body, parse_constant=_no_constants)
        return dumps(engine.query(stack, q))

    def _store_version(self, stack):
        c = stack.long_term.connection
        return c.execute("PRAGMA data_version").fetchone()[0], c.total_changes

    def answer(self, path: str, body: bytes) -> Optional[bytes]:
        """The 200 response body for ``POST path`` with ``body``, or None: let the app answer."""
        stack = self._get_stack()
        fn = self._routes.get(path)
        if stack is None or fn is None:
            return None
        try:
            version = self._store_version(stack)
        except Exception:
            return None
        if version != self._version:
            self._version = version
            self._cache = {}
        key = (path, body)
        hit = self._cache.get(key)
        if hit is not None:
            self.hits += 1
            return hit
        try:
            out = fn(stack, body)
        except Exception:        # invalid input or a store error: the app answers (and words the error)
            return None
        self.misses += 1
        if len(body) <= MAX_CACHED_BODY:
            if len(self._cache) >= self.max_cached:
                self._cache = {}
            self._cache[key] = out
        return out
