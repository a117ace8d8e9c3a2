"""The HTTP JSON service (``robomem serve STORE``): FastAPI over a read-only store.

* binds to 127.0.0.1 by default; binding to any other address requires a bearer token
  (:func:`check_bind`), and a token given on loopback is enforced too;
* request bodies above ``max_body_bytes`` get 413, bodies that are not UTF-8 get 400, malformed
  JSON 400, unknown fields / wrong types / out-of-range values 422, over-rate clients 429 — all as
  ``{"error": ..., "message": ...}``;
* the store is opened with ``robomem.open(path, readonly=True)`` (SQLite ``mode=ro`` +
  ``query_only``): the service never writes, and serves while another process ingests;
* endpoints are ``async`` and call the (sub-millisecond) SQLite queries directly on the event
  loop: one store connection per worker process, no thread hand-off. Scale with ``workers``.

See docs/service.md for the endpoints, schema and examples."""
from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Optional

from starlette.requests import Request

from robomem.errors import InvalidInputError
from robomem.service import browse, engine
from robomem.service.fastpath import FastRoutes
from robomem.service.guard import LOCAL_HOSTS, MAX_HEAD_BYTES, MIN_TOKEN_CHARS, Guard, RateLimiter, error_body
from robomem.service import models as m

ENV_CONFIG = "ROBOMEM_SERVE_CONFIG"
API = "/v1"


@dataclass(frozen=True)
class ServeConfig:
    """Settings of one service. ``rate_per_s``: requests per second per client address and worker
    (0 = unlimited), ``burst``: bucket size (default 2 x rate)."""

    store: str
    host: str = "127.0.0.1"
    port: int = 8765
    token: Optional[str] = None
    max_body_bytes: int = 16 * 1024
    rate_per_s: float = 200.0
    burst: Optional[float] = None
    workers: int = 1
    log_level: str = "warning"
    telemetry: bool = False
    warm: bool = True
    fast: bool = True    # hot endpoints past the framework, answers cached per store version (fastpath.py)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "ServeConfig":
        raw = os.environ.get(ENV_CONFIG)
        if not raw:
            raise InvalidInputError(f"{ENV_CONFIG} is not set")
        return cls(**json.loads(raw))


def check_bind(host: str, token: Optional[str]) -> None:
    """Refuse to serve on a non-loopback address without a token, or with a weak one."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise InvalidInputError(f"token must be at least {MIN_TOKEN_CHARS} characters long")
    if host not in LOCAL_HOSTS and token is None:
        raise InvalidInputError(f"binding to {host} needs a bearer token (--token-file or ROBOMEM_TOKEN); "
                                f"without one the service only binds to 127.0.0.1")


def _json(data, status: int = 200):
    from starlette.responses import Response
    return Response(json.dumps(data, separators=(",", ":")).encode(), status, media_type="application/json")


def _error(status: int, error: str, message: str, **extra):
    from starlette.responses import Response
    return Response(error_body(error, message, **extra), status, media_type="application/json")


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _clean_errors(errors) -> list:
    out = []
    for e in errors:
        out.append({"loc": [str(x) for x in e.get("loc", ())], "type": e.get("type"), "msg": e.get("msg")})
    return out[:20]


def create_app(config: ServeConfig, stack=None):
    """The ASGI application. ``stack``: an already open (read-only) stack, else ``config.store``
    is opened read-only at startup and closed at shutdown."""
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    import robomem
    from robomem.memory.errors import StoreError

    check_bind(config.host, config.token)
    state: dict = {"stack": stack}

    @asynccontextmanager
    async def lifespan(app):
        own = state["stack"] is None
        if own:
            state["stack"] = robomem.open(config.store, readonly=True, perception=None)
        if config.warm:
            engine.warm_up()     # load the label-embedding model before the first request, not during it
        try:
            yield
        finally:
            if own:
                state["stack"].close()

    # FastAPI's built-in OpenTelemetry hooks cost a provider lookup per request; off unless asked for
    telemetry = {"tracing": False, "metrics": False, "logs": False} if not config.telemetry else None
    app = FastAPI(title="robomem", version=robomem.__version__, lifespan=lifespan, telemetry=telemetry,
                  description="Read-only queries over a robomem store: where things are, what changed, "
                              "where the robot was, and questions in words. See docs/service.md.",
                  responses={400: {"model": m.Error}, 401: {"model": m.Error}, 413: {"model": m.Error},
                             422: {"model": m.Error}, 429: {"model": m.Error}})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc):
        errs = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errs):
            ctx = next((e.get("ctx", {}) for e in errs if e.get("type") == "json_invalid"), {})
            return _error(400, "malformed_json", f"request body is not valid JSON ({ctx.get('error', 'parse error')})")
        first = errs[0] if errs else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body") or "body"
        return _error(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}", detail=_clean_errors(errs))

    @app.exception_handler(InvalidInputError)
    async def _bad_value(request, exc):
        return _error(422, "invalid_request", str(exc))

    @app.exception_handler(engine.EngineUnavailableError)
    async def _no_engine(request, exc):
        return _error(501, "not_available", str(exc))

    @app.exception_handler(StoreError)
    async def _store(request, exc):
        return _error(503, "store_error", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc):
        if exc.status_code == 400:     # FastAPI's body parser gave up (e.g. JSON nested too deeply)
            return _error(400, "malformed_json", f"request body is not valid JSON ({exc.detail})")
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, kind, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request, exc):  # pragma: no cover - a bug; never leak a traceback
        return _error(500, "internal_error", f"{type(exc).__name__} while answering; see the server log")

    def st():
        return state["stack"]

    @app.get(API + "/health", summary="liveness")
    async def health():
        return _json({"status": "ok"})

    @app.get(API + "/info", summary="store counts and newest stamp", responses={200: {"model": m.InfoOut}})
    async def info():
        return _json(browse.store_info(st()))

    @app.post(API + "/objects", summary="every object's last known placement",
              responses={200: {"model": list[m.PlacementOut]}})
    async def objects(req: m.ObjectsRequest):
        return _json(browse.objects(st(), req.label, req.at_ns, req.limit))

    @app.post(API + "/where", summary="where every object with a label is", responses={200: {"model": list[m.WhereOut]}})
    async def where(req: m.WhereRequest):
        return _json(browse.where(st(), req.label, req.limit))

    @app.post(API + "/timeline", summary="an object's placements and events in time order",
              responses={200: {"model": list[m.TimelineEntryOut]}})
    async def timeline(req: m.TimelineRequest):
        return _json(browse.timeline(st(), req.object_id, req.label, req.t0_ns, req.t1_ns, req.limit))

    @app.post(API + "/events", summary="appeared / moved / disappeared events", responses={200: {"model": list[m.EventOut]}})
    async def events(req: m.EventsRequest):
        return _json(browse.events(st(), req.object_id, req.t0_ns, req.t1_ns, req.kinds, req.limit))

    @app.post(API + "/where-was-i", summary="the robot's position at a stamp",
              responses={200: {"model": Optional[m.PositionOut]}})
    async def where_was_i(req: m.WhereWasIRequest):
        return _json(browse.where_was_i(st(), req.at_ns))

    @app.post(API + "/visits", summary="the robot's stays in a room", responses={200: {"model": list[m.VisitOut]}})
    async def visits(req: m.VisitsRequest):
        return _json(browse.room_visits(st(), req.room_id, req.t0_ns, req.t1_ns, req.limit))

    @app.post(API + "/ask", summary="a question in words", responses={200: {"model": m.AnswerOut}})
    async def ask(req: m.AskRequest):
        return _json(engine.ask(st(), req.text, req.now_ns))

    @app.post(API + "/query", summary="a typed query (robomem.retrieval JSON schema)",
              responses={200: {"model": m.AnswerOut}},
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/Query"}}}}})
    async def query(request: Request):
        try:
            q = json.loads(await request.body(), parse_constant=_no_constants)
        except (ValueError, RecursionError) as exc:
            return _error(400, "malformed_json", f"request body is not valid JSON ({str(exc) or 'nested too deeply'})")
        return _json(engine.query(st(), q))

    def openapi():
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            doc.setdefault("components", {}).setdefault("schemas", {}).update(_query_components())
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi
    limiter = RateLimiter(config.rate_per_s, config.burst)
    fast = FastRoutes(st) if config.fast else None
    app.add_middleware(Guard, token=config.token, max_body_bytes=config.max_body_bytes, limiter=limiter, fast=fast)
    app.state.fast = fast
    return app


def _query_components() -> dict:
    """The retrieval package's query JSON Schema as OpenAPI components: ``Query`` (one of the
    query types) and each type, with ``#/$defs/X`` references pointing at the components."""
    try:
        schema = engine.query_schema()
    except engine.EngineUnavailableError:  # pragma: no cover
        return {"Query": {"type": "object"}}
    text = json.dumps(schema).replace('"#/$defs/', '"#/components/schemas/')
    schema = json.loads(text)
    comps = dict(schema.pop("$defs", {}))
    schema.pop("$schema", None)
    comps["Query"] = schema
    return comps


def create_app_from_env():
    """Factory for uvicorn workers: the config travels in ``$ROBOMEM_SERVE_CONFIG``."""
    return create_app(ServeConfig.from_env())


def _http_protocol() -> str:
    """httptools (C parser) with the request-head cap of :mod:`robomem.service.http_protocol` when
    installed, else h11 (capped by uvicorn's ``h11_max_incomplete_event_size``)."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "robomem.service.http_protocol:CappedHttpToolsProtocol"


def serve(config: ServeConfig) -> None:
    """Run the service (blocks). Checks the bind/token rule and that the store opens read-only
    before uvicorn starts, so mistakes are reported as one clear line."""
    import uvicorn

    import robomem
    check_bind(config.host, config.token)
    robomem.open(config.store, readonly=True, perception=None).close()
    common = dict(host=config.host, port=config.port, log_level=config.log_level, proxy_headers=False,
                  server_header=False, access_log=False, timeout_keep_alive=30, h11_max_incomplete_event_size=MAX_HEAD_BYTES,
                  http=_http_protocol())   # the event loop: uvicorn's "auto" (uvloop when installed)
    if config.workers > 1:
        os.environ[ENV_CONFIG] = config.to_env()
        # uvicorn kills a worker that does not answer its supervisor's ping within this many seconds;
        # its default (5 s) restarts workers in a loop on a busy machine (importing takes longer)
        common["timeout_worker_healthcheck"] = 60
        uvicorn.run("robomem.service.http:create_app_from_env", factory=True, workers=config.workers, **common)
    else:
        uvicorn.run(create_app(config), **common)
