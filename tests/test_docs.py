"""Every ```python block in README.md and docs/*.md runs as written.

Each block runs on its own in a fresh Python process, in an empty temporary directory that holds a
link ``tests`` to this repository's tests folder (blocks read the bundled data as
``tests/data/...``), with the repository first on the path and a time budget. A block may be
skipped only when it needs software these tests cannot start (ROS 2, Habitat): its fence says so,
```python no-run, and the file and reason are listed in NO_RUN below, so the two cannot drift."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: docs/service.md's blocks depend on each other (a bash block starts the server the next ones
#: talk to), so tests/test_cli.py::test_docs_service_examples_run runs them in order instead.
RUN_ELSEWHERE = {"service.md"}
DOCS = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name not in RUN_ELSEWHERE)]
BUDGET_S = 240

#: Blocks that are not run, by file: each needs a component the tests cannot start.
NO_RUN = {
    "docs/habitat.md": "needs habitat_sim and the HM3D minival scenes",
}

_FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```\s*$", re.S | re.M)


def _blocks():
    out = []
    for path in DOCS:
        rel = path.relative_to(ROOT).as_posix()
        for k, m in enumerate(_FENCE.finditer(path.read_text())):
            info, code = m.group(1).strip(), m.group(2)
            out.append(pytest.param(rel, info, code, id=f"{rel}#{k + 1}"))
    return out


BLOCKS = _blocks()


def test_docs_have_python_blocks():
    assert any(b.values[0] == "README.md" for b in BLOCKS)
    assert len(BLOCKS) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("doc,info,code", BLOCKS)
def test_code_block_runs(doc, info, code, tmp_path):
    if "no-run" in info:
        assert doc in NO_RUN, f"{doc} marks a block no-run but is not listed in NO_RUN"
        pytest.skip(f"{doc}: {NO_RUN[doc]}")
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=BUDGET_S)
    assert r.returncode == 0, f"{doc} block failed:\n{code}\n--- stderr ---\n{r.stderr[-3000:]}"


def test_no_run_list_matches_the_docs():
    marked = {b.values[0] for b in BLOCKS if "no-run" in b.values[1]}
    assert marked == set(NO_RUN), (marked, set(NO_RUN))
