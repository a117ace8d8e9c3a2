"""`make demo`'s story and report, opened as a user would: the pipeline of examples/demo.py in a
reduced configuration (smaller camera, a short exploration), then the HTML page checked for every
section and picture, and headless Chromium loading it (every image must load; the screenshot must
show the pictures). Chromium is Debian's `chromium` (`make browser`); without it the browser part
skips, except under CI=true where it fails."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("open3d")

from sim.report import SECTIONS, write_report  # noqa: E402
from sim.story import StoryConfig, run_story  # noqa: E402

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def chromium() -> str:
    """The Chromium binary; skip (or, under CI=true, fail) without one."""
    exe = shutil.which("chromium") or (os.path.exists("/usr/bin/chromium") and "/usr/bin/chromium")
    if not exe:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail("Chromium must be installed in CI to open the demo report; run `make browser`")
        pytest.skip("chromium not installed (`make browser` installs it)")
    return exe


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids, self.imgs, self.text = set(), [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img":
            self.imgs.append(a)

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    story = run_story(out, StoryConfig(width=80, explore_budget_m=6.0, progress=False))
    try:
        page = write_report(story, out)
    finally:
        story.close()
    return page, story.record


def test_report_has_every_part_and_every_picture_is_real(report):
    page, rec = report
    p = _Page()
    p.feed(page.read_text())
    assert set(SECTIONS) <= p.ids
    qs = rec["questions"]
    assert len(qs) >= 2 and {f"q{q['index'] + 1}" for q in qs} <= p.ids
    text = " ".join(p.text)
    for needle in ("Decision trace", "Evidence keyframes", "Memory said", "Agent's answer", "First answers right"):
        assert needle in text
    assert text.count("Decision trace (what it considered") == len(qs)
    assert any(q["kind"] == "unsupported" and q["right"] for q in qs)      # "cannot answer", no motion
    srcs = [a["src"] for a in p.imgs]
    maps = [f"q{q['index'] + 1}.png" for q in qs if not q["episode"]["cannot_answer"]]
    assert maps                                                            # at least one question has a map
    for name in ("map_days.png", "timeline.png", "scene_graph.png", *maps):
        assert name in srcs
    for src in srcs:
        img = np.asarray(Image.open(page.parent / src).convert("RGB"), dtype=np.float64)
        assert img.shape[0] > 20 and img.shape[1] > 20 and img.std() > 10, src      # not blank
    saved = json.loads((page.parent / "story.json").read_text())
    assert saved["label_overlaps"] and all(v == 0 for v in saved["label_overlaps"].values()), saved["label_overlaps"]
    assert saved["score"]["asked"] == len(qs)


def test_report_opens_in_headless_chromium(report, tmp_path):
    page, rec = report
    exe = chromium()
    profile = tmp_path / "profile"
    base = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run([*base, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert "<body" in dom.stdout, dom.stderr[-2000:]
    p = _Page()
    p.feed(dom.stdout)
    import re
    m = re.search(r'data-images-ok="(\d+)"', dom.stdout)
    n = re.search(r'data-images="(\d+)"', dom.stdout)
    assert m and n, "the page's load check did not run"
    assert int(m.group(1)) == int(n.group(1)) == len(p.imgs) > 0          # every picture loaded
    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()], capture_output=True,
                   timeout=120)
    img = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int32)
    assert img.shape[:2] == (2400, 1280)
    nonwhite = (img.sum(axis=2) < 720).mean()
    assert nonwhite > 0.05                                                  # text and pictures, not a blank page
    dark_map = (np.abs(img - np.array([0x3B, 0x42, 0x52])).sum(axis=2) < 30).mean()
    assert dark_map > 0.002                                                 # the robot's map is drawn (occupied cells)
    assert not (np.abs(img - np.array([0xB7, 0x1C, 0x1C])).sum(axis=2) < 10)[:60].mean() > 0.3   # no failure banner


def test_bad_story_settings_are_refused_before_anything_runs(tmp_path):
    from sim.errors import SceneError
    for bad, name in ((dict(style="castle"), "style"), (dict(width=0), "width"), (dict(agent_steps=1.5), "agent_steps"),
                      (dict(explore_budget_m=-1.0), "explore_budget_m")):
        with pytest.raises(SceneError, match=name):
            run_story(tmp_path / "x", StoryConfig(progress=False, **bad))
        assert not (tmp_path / "x").exists()
