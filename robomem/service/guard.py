"""ASGI middleware in front of the HTTP service: per-client rate limit, bearer-token check and a
request-body size limit (with a strict UTF-8 check), each answering a 4xx JSON error
``{"error": ..., "message": ...}`` before the application sees the request."""
from __future__ import annotations

import hmac
import json
import time
from typing import Optional

#: Hosts the service may bind to without a token (loopback as named on the command line).
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_TOKEN_CHARS = 16
#: Largest request head (request line + headers) accepted, bytes, whichever HTTP parser uvicorn runs.
MAX_HEAD_BYTES = 16 * 1024


def error_body(error: str, message: str, **extra) -> bytes:
    return json.dumps({"error": error, "message": message, **extra}).encode()


async def send_error(send, status: int, error: str, message: str, headers: Optional[list] = None) -> None:
    body = error_body(error, message)
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": hdrs + list(headers or [])})
    await send({"type": "http.response.body", "body": body})


async def send_json(send, body: bytes, status: int = 200) -> None:
    """Send a complete JSON response (what the app's JSON responses look like on the wire)."""
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """Token bucket per client key: ``rate`` requests per second, bursts up to ``burst``.
    ``rate <= 0`` disables it. Per process: with N workers a client gets up to N x rate."""

    def __init__(self, rate: float, burst: Optional[float] = None, max_clients: int = 10_000) -> None:
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, 2 * rate))
        self.max_clients = int(max_clients)
        self._buckets: dict = {}

    def allow(self, key, now: Optional[float] = None) -> tuple[bool, float]:
        """(allowed, seconds until the next token when refused)."""
        if self.rate <= 0:
            return True, 0.0
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._store(key, tokens - 1.0, now)
            return True, 0.0
        self._store(key, tokens, now)
        return False, (1.0 - tokens) / self.rate

    def _store(self, key, tokens: float, now: float) -> None:
        if key not in self._buckets and len(self._buckets) >= self.max_clients:
            # forget full buckets (idle clients) first; they restart full anyway
            full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.burst]
            for k in full or list(self._buckets)[: self.max_clients // 2]:
                del self._buckets[k]
        self._buckets[key] = (tokens, now)


class Guard:
    """Pure ASGI middleware: rate limit, token, body size, UTF-8 (in that order: token guessing is
    rate-limited too, and an unauthenticated client never gets its body read)."""

    def __init__(self, app, *, token: Optional[str], max_body_bytes: int, limiter: RateLimiter,
                 open_paths: frozenset = frozenset(), fast=None) -> None:
        self.app = app
        self.fast = fast     # robomem.service.fastpath.FastRoutes: hot endpoints past the checks
        self._token = None if token is None else token.encode()
        self.max_body_bytes = int(max_body_bytes)
        self.limiter = limiter
        self.open_paths = open_paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        client = scope.get("client") or ("?", 0)
        ok, wait = self.limiter.allow(client[0])
        if not ok:
            return await send_error(send, 429, "rate_limited",
                                    f"more than {self.limiter.rate:g} requests/s from {client[0]}; retry in {wait:.2f} s",
                                    [(b"retry-after", str(max(1, round(wait + 0.5))).encode())])
        headers = dict(scope.get("headers") or ())
        if self._token is not None and scope.get("path") not in self.open_paths:
            auth = headers.get(b"authorization", b"")
            scheme, _, given = auth.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), self._token):
                msg = "missing bearer token" if not auth else "wrong bearer token"
                return await send_error(send, 401, "unauthorized", msg + " (send 'Authorization: Bearer <token>')",
                                        [(b"www-authenticate", b'Bearer realm="robomem"')])
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            if self.fast is not None and scope.get("method") == "GET":
                out = self.fast.get(scope.get("path"))
                if out is not None:
                    return await send_json(send, out)
            return await self.app(scope, receive, send)
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype != b"application/json":
            return await send_error(send, 415, "unsupported_media_type",
                                    f"send the request body as JSON with 'Content-Type: application/json' "
                                    f"(got {ctype.decode('latin-1') or 'none'!r})")
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                n = int(declared)
            except ValueError:
                return await send_error(send, 400, "bad_request", "content-length is not a number")
            if n > self.max_body_bytes:
                return await send_error(send, 413, "body_too_large",
                                        f"request body of {n} bytes exceeds the limit of {self.max_body_bytes} bytes")
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            part = msg.get("body", b"")
            size += len(part)
            if size > self.max_body_bytes:
                return await send_error(send, 413, "body_too_large",
                                        f"request body exceeds the limit of {self.max_body_bytes} bytes")
            chunks.append(part)
            if not msg.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            body.decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            return await send_error(send, 400, "bad_encoding",
                                    f"request body is not valid UTF-8 (byte {exc.start}); send UTF-8 JSON")
        if self.fast is not None and self.fast.handles(scope.get("method"), scope.get("path")):
            out = self.fast.answer(scope["path"], body)
            if out is not None:
                return await send_json(send, out)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)
