"""The real ``robomem`` command (``python -m robomem.cli``) on a store built through the stack:
tables with the right rows, ``--json`` equal to the Python functions, bad arguments -> exit 2 with
a message naming the argument, and the store untouched."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.service_store import DAY, S, T0, build_store

ROOT = Path(__file__).resolve().parents[1]


def robomem_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", COLUMNS="200")
    p = subprocess.run([sys.executable, "-m", "robomem.cli", *args], env=env, capture_output=True, text=True,
                       timeout=120)
    if check:
        assert p.returncode == 0, p.stderr
    return p


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "house.db"
    build_store(path)
    return path


def _rows(out: str) -> list[list[str]]:
    """The body rows of a rich table as lists of stripped cells."""
    return [[c.strip() for c in line.strip("│ ").split("│")] for line in out.splitlines() if line.startswith("│")]


def test_version_and_help():
    assert robomem_cli("--version").stdout.strip() == "0.1.0"
    out = robomem_cli("--help").stdout
    for sub in ("objects", "timeline", "events", "where-was-i", "ask", "serve", "mcp"):
        assert sub in out


def test_objects_table(store):
    out = robomem_cli("objects", str(store)).stdout
    assert out.splitlines()[0].startswith("objects (4)")
    rows = _rows(out)
    assert [(r[0], r[1], r[3], r[8]) for r in rows] == [("1", "mug", "1", "there"), ("2", "mug", "2", "there"),
                                                        ("3", "laptop", "2", "there"), ("4", "keys", "2", "left")]
    assert rows[1][2] == "(6.20, 0.80, 0.75)"
    # as of day 1, only the labelled mugs, both on the kitchen table
    rows = _rows(robomem_cli("objects", str(store), "--label", "mug", "--at", "2026-02-02T02:40:05Z").stdout)
    assert [(r[0], r[3], r[4]) for r in rows] == [("1", "1", "10"), ("2", "1", "10")]


def test_where_table_lists_the_most_recently_seen_first(store):
    rows = _rows(robomem_cli("where", str(store), "mug").stdout)
    assert [r[0] for r in rows] == ["2", "1"] and rows[0][1] == "(6.20, 0.80, 0.75)"


def test_timeline_table(store):
    out = robomem_cli("timeline", str(store), "--object", "2").stdout
    rows = _rows(out)
    assert [r[2] for r in rows] == ["seen at", "seen at", "moved from (1.30, 0.60, 0.80)"]
    assert rows[0][0] == "2026-02-02 02:40:01.000Z" and rows[0][5] == "2026-02-02 02:40:04.000Z"
    assert rows[1][5] == "still there"


def test_events_table_and_filters(store):
    rows = _rows(robomem_cli("events", str(store)).stdout)
    assert [(r[1], r[2]) for r in rows] == [("moved", "2 mug"), ("disappeared", "4 keys")]
    rows = _rows(robomem_cli("events", str(store), "--kind", "disappeared").stdout)
    assert [r[2] for r in rows] == ["4 keys"]
    rows = _rows(robomem_cli("events", str(store), "--until", str(T0 + DAY)).stdout)
    assert rows == []


def test_where_was_i_and_room_visits(store):
    rows = _rows(robomem_cli("where-was-i", str(store), "--at", str(T0 + 3 * S)).stdout)
    assert rows == [["2026-02-02 02:40:03.000Z", "(2.00, 0.00, 0.00)", "1"]]
    rows = _rows(robomem_cli("where-was-i", str(store), "--room", "2").stdout)
    assert [r[2] for r in rows] == ["4.0 s", "4.0 s"]
    out = robomem_cli("where-was-i", str(store), "--at", str(T0 + 10 * DAY)).stdout
    assert "no stored track" in out


def test_ask_and_query_tables(store):
    out = robomem_cli("ask", str(store), "where did I leave my keys?").stdout
    assert "keys" in out.splitlines()[0]
    assert '{"type": "where_is", "target": {"label": "keys"}}' in out          # how it was understood
    rows = [r for r in _rows(out) if len(r) == 11]                              # the evidence table
    assert [r[0] for r in rows] == ["4"] and rows[0][9] != "-"                  # with P(still there)
    out = robomem_cli("query", str(store), '{"type": "where_is", "target": {"label": "mug"}}').stdout
    assert [r[0] for r in _rows(out) if len(r) == 11] == ["2", "1"]            # the moved mug first
    out = robomem_cli("ask", str(store), "what colour are the walls?").stdout
    assert "unsupported" in out
    p = robomem_cli("query", str(store), '{"type": "where_is"}', check=False)
    assert p.returncode == 2 and "target" in p.stderr


def test_json_output_is_the_python_functions_json(store):
    import robomem
    from robomem.service import browse
    with robomem.open(store, readonly=True, perception=None) as stack:
        assert json.loads(robomem_cli("objects", str(store), "--json").stdout) == browse.objects(stack)
        assert json.loads(robomem_cli("timeline", str(store), "--label", "mug", "--json").stdout) == \
            browse.timeline(stack, label="mug")
        assert json.loads(robomem_cli("events", str(store), "--json").stdout) == browse.events(stack)
        from robomem.retrieval import ask
        assert json.loads(robomem_cli("ask", str(store), "where is the mug?", "--json").stdout) == \
            ask(stack, "where is the mug?").to_dict()


@pytest.mark.parametrize("args,words", [
    (["events", "{store}", "--since", "10", "--until", "5"], "reversed"),
    (["events", "{store}", "--since", "yesterday-ish"], "--since"),
    (["objects", "{store}", "--at", "-5"], "--at"),
    (["objects", "{store}", "--limit", "0"], "limit"),
    (["objects", "{store}", "--label", " "], "label"),
    (["objects", "{missing}"], "no store"),
    (["where", "{store}", "x" * 500], "label"),
])
def test_bad_arguments_exit_2_with_a_message(store, tmp_path, args, words):
    before = store.read_bytes()
    args = [a.format(store=store, missing=tmp_path / "none.db") for a in args]
    p = robomem_cli(*args, check=False)
    assert p.returncode == 2 and words in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    assert store.read_bytes() == before
    assert not (tmp_path / "none.db").exists()


def test_docs_service_examples_run(tmp_path):
    """Every ```python and ```bash block of docs/service.md, in order, in an empty directory."""
    import re
    text = (ROOT / "docs" / "service.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(python|bash)\n(.*?)```", text, re.S)
    assert len(blocks) >= 4
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", COLUMNS="200")
    outputs = []
    for lang, code in blocks:
        if lang == "python":
            cmd = [sys.executable, "-c", code]
        else:
            code = re.sub(r"^robomem ", f"{sys.executable} -m robomem.cli ", code, flags=re.M)
            cmd = ["bash", "-e", "-c", code]
        p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, (lang, code[:200], p.stderr[-2000:])
        outputs.append(p.stdout)
    shown = re.search(r"```text\n(.*?)```", text, re.S).group(1)
    assert _rows(shown) == _rows(outputs[1])[:len(_rows(shown))]     # the table shown is the real output
