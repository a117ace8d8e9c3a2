"""``robomem mcp STORE`` as a subprocess, driven over stdio by the ``mcp`` SDK's client: the tools
are listed, each returns the same JSON as the Python function, bad arguments (unknown, out of
range, reversed) come back as tool errors with a message, and the store is untouched."""
from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from tests.service_store import S, T0, build_store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mcp") / "house.db"
    build_store(path)
    return path


def test_mcp_tools_over_stdio(store):
    from mcp import Client, StdioServerParameters

    import robomem
    from robomem.retrieval import Target, WhereIs, answer, ask
    from robomem.service import browse

    with robomem.open(store, readonly=True, perception=None) as stack:
        expect = {
            ("where", (("label", "mug"),)): {"objects": browse.where(stack, "mug")},
            ("objects", ()): {"objects": browse.objects(stack)},
            ("objects", (("label", "mug"), ("at_ns", T0 + 5 * S))): {"objects": browse.objects(stack, "mug", T0 + 5 * S)},
            ("timeline", (("object_id", 2),)): {"timeline": browse.timeline(stack, object_id=2)},
            ("events", (("kinds", ("disappeared",)),)): {"events": browse.events(stack, kinds=["disappeared"])},
            ("where_was_i", (("at_ns", T0 + 3 * S),)): {"position": browse.where_was_i(stack, T0 + 3 * S)},
            ("visits", (("room_id", 2),)): {"visits": browse.room_visits(stack, 2)},
            ("info", ()): browse.store_info(stack),
            ("ask", (("text", "where did I leave my keys?"),)): {"answer": ask(stack, "where did I leave my keys?").to_dict()},
            ("query", (("query", (("type", "where_is"), ("target", (("label", "mug"),)))),)):
                {"answer": answer(stack, WhereIs(Target("mug"))).to_dict()},
        }
    before = store.read_bytes()
    bad = [("where", {"label": "mug", "colour": "red"}, "colour"),
           ("where_was_i", {"at_ns": -1}, "at_ns"),
           ("events", {"t0_ns": 10, "t1_ns": 5}, "reversed"),
           ("timeline", {}, "exactly one"),
           ("where", {"label": "x" * 1000}, "label"),
           ("where", {"label": "mug'; DROP TABLE objects; --"}, None),
           ("ask", {"text": ""}, "text"),
           ("query", {"query": {"type": "where_is", "target": {"label": "mug"}, "limit": 3}}, "unknown field"),
           ("query", {"query": {"type": "where_was_i", "at_ns": -1}}, "at_ns")]

    async def session():
        params = StdioServerParameters(command=sys.executable, args=["-m", "robomem.cli", "mcp", str(store)],
                                       env={"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}, cwd=str(ROOT))
        got, errors = {}, []
        with anyio.fail_after(90):
            async with Client(params) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                for (name, args), _ in expect.items():
                    r = await client.call_tool(name, {k: _json_arg(v) for k, v in args})
                    assert not r.is_error, r.content
                    got[(name, args)] = r.structured_content
                for name, args, _ in bad:
                    r = await client.call_tool(name, args)
                    errors.append((r.is_error, r.content[0].text if r.content else "", r.structured_content))
        return names, got, errors

    names, got, errors = anyio.run(session)
    assert {"where", "objects", "timeline", "events", "where_was_i", "visits", "ask", "query", "info"} <= names
    assert got == expect
    for (name, args, words), (is_error, text, structured) in zip(bad, errors):
        if words is None:     # an SQL-looking label is just a label nobody has
            assert not is_error and structured == {"objects": []}
        else:
            assert is_error and words in text, (name, text)
    assert got[("ask", (("text", "where did I leave my keys?"),))]["answer"]["evidence"][0]["object_id"] == 4
    assert store.read_bytes() == before


def _json_arg(v):
    """The hashable spelling of an argument in ``expect`` back to JSON: a tuple of pairs is an
    object, a tuple of values a list."""
    if isinstance(v, tuple) and v and all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in v):
        return {k: _json_arg(x) for k, x in v}
    if isinstance(v, tuple):
        return [_json_arg(x) for x in v]
    return v
