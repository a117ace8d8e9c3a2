"""Property test (hypothesis): random valid and invalid record / observe / session / query calls,
interleaved. Stack A gets every call; stack B only the calls A accepted. Every refusal is a robomem
error, A keeps working after it, and at the end both files hold exactly the same rows, i.e. the
store equals what the accepted calls alone produce."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robomem.errors import RobomemError
from robomem.memory import StoreError
from robomem.observations import EventKind, ObjectEvent, ObjectObservation
from robomem.stack import open as open_stack
from tests.test_memory_hardening import DAY, S, T0, dump, synthetic_frame

STAMP_KINDS = ("ok", "ok", "ok", "ok", "future", "old", "int64_max", "huge", "negative")


def _stamp(i: int, kind: str) -> int:
    t = T0 + i * S
    return {"ok": t, "future": t + 2 * DAY, "old": T0 - 3600 * S, "int64_max": 2**63 - 1, "huge": 2**64,
            "negative": -1}[kind]


def _obs(oid, t, label="mug", x=1.0, **kw):
    p = np.array([x, 2.0, 0.5])
    return ObjectObservation(oid, label, t, p, p - 0.05, p + 0.05, 0.9, **kw)


record_op = st.fixed_dictionaries({
    "op": st.just("record"), "stamp": st.sampled_from(STAMP_KINDS),
    "ids": st.lists(st.integers(1, 6), min_size=0, max_size=3, unique=True),
    "bad": st.sampled_from(["none"] * 6 + ["surrogate", "attr", "uint64", "bigid", "nan_pos", "event_unknown"]),
    "moved": st.booleans(), "image": st.booleans(), "x": st.sampled_from([1.0, 1.0, 3.0]),
})
session_op = st.fixed_dictionaries({"op": st.sampled_from(["begin", "end"]),
                                    "stamp": st.sampled_from(["ok", "ok", "old", "future", "negative"])})
query_op = st.fixed_dictionaries({"op": st.just("query"), "which": st.integers(0, 9)})
observe_op = st.fixed_dictionaries({"op": st.just("observe"), "stamp": st.sampled_from(["ok", "ok", "future", "old"])})
flush_op = st.fixed_dictionaries({"op": st.just("flush")})
ops = st.lists(st.one_of(record_op, record_op, session_op, query_op, observe_op, flush_op), min_size=12, max_size=30)

_IMG = np.kron(np.random.default_rng(0).integers(0, 255, (6, 8, 3)), np.ones((10, 10, 1))).astype(np.uint8)


def _apply(stack, i: int, op: dict):
    kind = op["op"]
    if kind == "record":
        t = _stamp(i, op["stamp"])
        obs = [_obs(oid, t, x=op["x"]) for oid in op["ids"]]
        events = []
        bad = op["bad"]
        if bad == "surrogate":
            obs.append(_obs(9, t, label="bad\udcff"))
        elif bad == "attr":
            obs.append(_obs(9, t, attributes={"f": object()}))
        elif bad == "uint64":
            obs.append(_obs(np.uint64(2**63 + 1), t))
        elif bad == "bigid":
            obs.append(_obs(2**64, t))
        elif bad == "nan_pos":
            obs.append(_obs(9, t, x=float("nan")))
        elif bad == "event_unknown":
            events.append(ObjectEvent(EventKind.MOVED, 77, "ghost", t, np.zeros(3), np.ones(3)))
        if op["moved"] and op["ids"]:
            events.append(ObjectEvent(EventKind.APPEARED, op["ids"][0], "mug", t, np.array([op["x"], 2.0, 0.5])))
        stack.record(t, obs, events, robot_position=(0.1 * i, 0.0, 0.5), robot_yaw=0.3 * i, robot_room=1,
                     image=_IMG if op["image"] else None)
    elif kind == "begin":
        stack.begin_session(f"s{i}", _stamp(i, op["stamp"]))
    elif kind == "end":
        stack.end_session(_stamp(i, op["stamp"]))
    elif kind == "observe":
        stack.observe(synthetic_frame(_stamp(i, op["stamp"])))
    elif kind == "flush":
        stack.flush()
    else:
        q = [lambda: stack.where_is("mug"), lambda: stack.where_is_object(1), lambda: stack.events(kinds=["moved"]),
             lambda: stack.placements_at(T0 + i * S), lambda: stack.where_was_i(T0 + i * S),
             lambda: stack.where_is_object("abc"), lambda: stack.events(kinds=["bogus"]),
             lambda: stack.placements_at("x"), lambda: stack.where_was_i(math.nan),
             lambda: stack.objects_in_box(None, None, 5, 1)][op["which"]]
        q()


@pytest.mark.slow
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=ops)
def test_rejected_calls_change_nothing_and_the_stack_keeps_working(tmp_path_factory, plan):
    pytest.importorskip("robomem.perception")
    d = tmp_path_factory.mktemp("prop")
    a = open_stack(d / "a.db", consolidation_interval_ns=0)
    b = open_stack(d / "b.db", consolidation_interval_ns=0)
    accepted = 0
    try:
        for i, op in enumerate(plan, start=1):
            try:
                _apply(a, i, op)
            except RobomemError:
                continue  # refused: B never sees it
            except Exception as exc:  # pragma: no cover - the property under test
                raise AssertionError(f"call {i} {op} raised a non-robomem {type(exc).__name__}: {exc}") from exc
            accepted += 1
            _apply(b, i, op)  # what A accepted, a fresh stack accepts too
    finally:
        for s in (a, b):
            try:
                s.close()
            except StoreError:  # pragma: no cover
                raise
    assert dump(d / "a.db") == dump(d / "b.db")
