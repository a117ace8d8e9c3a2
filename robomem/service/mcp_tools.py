"""The store's queries as MCP tools (``robomem mcp STORE``), over stdio with the ``mcp`` SDK's
``MCPServer`` (FastMCP in mcp 1.x). Each tool returns the same JSON as the HTTP endpoint of the
same name (:mod:`robomem.service.browse` / :mod:`robomem.service.engine`), wrapped in an object
(``{"objects": [...]}``, ``{"answer": {...}}``) because MCP's structured content is an object.
Bad arguments come back as a tool error carrying the message. The store is opened read-only."""
from __future__ import annotations

import functools
from typing import Annotated, Any, Literal, Optional

from pydantic import Field

from robomem.service import browse, engine
from robomem.service.params import MAX_ID, MAX_LABEL_CHARS, MAX_LIMIT, MAX_STAMP_NS, MAX_TEXT_CHARS

Stamp = Annotated[Optional[int], Field(ge=0, le=MAX_STAMP_NS, description="stamp in ns of data time")]
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL_CHARS)]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
Id = Annotated[int, Field(ge=0, le=MAX_ID)]

INSTRUCTIONS = ("Read-only access to a robot's memory (robomem): where objects are and were, what changed, "
                "where the robot was. Stamps are integer nanoseconds of the store's data time; call `info` "
                "for the newest stamp. `ask` takes a question in words and says how it understood it.")


def build_server(stack):
    """An ``MCPServer`` whose tools query ``stack`` (a read-only :class:`MemoryStack`)."""
    from mcp.server.mcpserver import MCPServer

    import robomem
    server = MCPServer("robomem", instructions=INSTRUCTIONS, version=robomem.__version__, log_level="WARNING")

    def tool(description: str):
        def register(fn):
            server.add_tool(_tool_errors(fn), name=fn.__name__, description=description, structured_output=True)
            return fn
        return register

    @tool(description="Counts of the store and its newest stamp (ns).")
    async def info() -> dict[str, Any]:
        return browse.store_info(stack)

    @tool(description="Every object's last known placement (as of at_ns, default now).")
    async def objects(label: Optional[Label] = None, at_ns: Stamp = None, limit: Limit = 1000) -> dict[str, Any]:
        return {"objects": browse.objects(stack, label, at_ns, limit)}

    @tool(description="Where every object with this label is (last known), most recently seen first.")
    async def where(label: Label, limit: Limit = 100) -> dict[str, Any]:
        return {"objects": browse.where(stack, label, limit)}

    @tool(description="An object's (or every object with a label's) placements and events in time order.")
    async def timeline(object_id: Optional[Id] = None, label: Optional[Label] = None, t0_ns: Stamp = None,
                       t1_ns: Stamp = None, limit: Limit = 1000) -> dict[str, Any]:
        return {"timeline": browse.timeline(stack, object_id, label, t0_ns, t1_ns, limit)}

    @tool(description="Stored appeared / moved / disappeared events, oldest first.")
    async def events(object_id: Optional[Id] = None, t0_ns: Stamp = None, t1_ns: Stamp = None,
                     kinds: Optional[list[Literal["appeared", "moved", "disappeared"]]] = None,
                     limit: Limit = 1000) -> dict[str, Any]:
        return {"events": browse.events(stack, object_id, t0_ns, t1_ns, kinds, limit)}

    @tool(description="Where the robot was at a stamp (null outside every stored track).")
    async def where_was_i(at_ns: Annotated[int, Field(ge=0, le=MAX_STAMP_NS)]) -> dict[str, Any]:
        return {"position": browse.where_was_i(stack, at_ns)}

    @tool(description="The robot's stays in a room (enter, exit, duration), oldest first.")
    async def visits(room_id: Id, t0_ns: Stamp = None, t1_ns: Stamp = None, limit: Limit = 1000) -> dict[str, Any]:
        return {"visits": browse.room_visits(stack, room_id, t0_ns, t1_ns, limit)}

    @tool(description="Answer a question about the robot's memory in words, e.g. 'where is the mug?'. "
                             "The answer carries its evidence, a confidence and the typed query it was understood as.")
    async def ask(text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)],
                  now_ns: Stamp = None) -> dict[str, Any]:
        return {"answer": engine.ask(stack, text, now_ns)}

    @tool(description="Answer a typed query given as a JSON object (robomem.retrieval schema).")
    async def query(query: dict) -> dict[str, Any]:
        return {"answer": engine.query(stack, query)}

    _forbid_unknown_arguments(server)
    return server


def _tool_errors(fn):
    """Bad arguments and store problems reach the client as a tool error with our message (the
    SDK reports any other exception as a crash without its text)."""
    from mcp.server.mcpserver.exceptions import ToolError

    from robomem.errors import RobomemError

    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        try:
            return await fn(*args, **kwargs)
        except (RobomemError, ValueError) as exc:
            raise ToolError(f"{type(exc).__name__}: {exc}") from exc
    return wrapper


def _forbid_unknown_arguments(server) -> None:
    """Make every tool refuse arguments it does not declare (the SDK ignores them by default), as
    the HTTP service refuses unknown fields. Reaches into the SDK's tool registry; if a later SDK
    moves it, unknown arguments are ignored again (the published schema still lists the known)."""
    manager = getattr(server, "_tool_manager", None)
    for t in (manager.list_tools() if manager is not None else []):
        model = t.fn_metadata.arg_model
        model.model_config["extra"] = "forbid"
        model.model_rebuild(force=True)
        t.parameters["additionalProperties"] = False


def _warm_quietly() -> None:
    try:
        engine.warm_up()
    except Exception:  # pragma: no cover - the first question then reports the problem itself
        pass


def run_stdio(store: str) -> None:
    """Serve the tools over stdin/stdout until the client closes the pipe."""
    import threading

    import robomem
    stack = robomem.open(store, readonly=True, perception=None)
    # load the label-embedding model beside the handshake; a first question waits for it (a lock)
    threading.Thread(target=_warm_quietly, name="robomem-warm-up", daemon=True).start()
    try:
        build_server(stack).run("stdio")
    finally:
        stack.close()
