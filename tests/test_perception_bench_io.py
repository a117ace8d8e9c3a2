"""The perception benchmark's saved states and per-style report (``benchmarks/perception_io.py``):
frames and grid come back identical, and the style table names the worst and the mean style."""
from __future__ import annotations

import numpy as np

from benchmarks.perception_io import load_state, save_state, state_path, style_rows
from robomem import CameraIntrinsics, Frame
from robomem.mapping.grid2d import OccupancyGrid2D


def _frame(k: int) -> Frame:
    cam = CameraIntrinsics.from_fov(8, 6, 90.0)
    rng = np.random.default_rng(k)
    return Frame(depth=rng.uniform(0.5, 3, (6, 8)).astype(np.float32), intrinsics=cam, T_world_camera=np.eye(4),
                 stamp_ns=10**18 + k, rgb=rng.integers(0, 255, (6, 8, 3), dtype=np.uint8),
                 instance_ids=rng.integers(0, 3, (6, 8)).astype(np.uint32), labels={1: "mug", 2: "table"})


def test_saved_state_loads_back_identical(tmp_path):
    frames, frames2 = [_frame(0), _frame(1)], [_frame(2)]
    grid = OccupancyGrid2D(np.array([[0, 100], [-1, 0]], np.int8), 0.05, (1.0, -2.0))
    p = state_path(tmp_path / "s", "real", 7)
    save_state(p, frames, grid, frames2)
    d = load_state(p)
    assert p.name == "real-7.pkl"
    for a, b in zip(frames + frames2, d["frames"] + d["frames2"]):
        np.testing.assert_array_equal(a.depth, b.depth)
        np.testing.assert_array_equal(a.rgb, b.rgb)
        np.testing.assert_array_equal(a.instance_ids, b.instance_ids)
        assert a.stamp_ns == b.stamp_ns and dict(a.labels) == dict(b.labels)
    np.testing.assert_array_equal(d["grid"].data, grid.data)
    assert d["grid"].origin == grid.origin
    save_state(p, frames, grid)
    assert load_state(p)["frames2"] is None


def test_style_rows_give_worst_and_mean_style():
    rows = [dict(style="a", rooms_matched=9, rooms_gt=10, type_ok=9, in_room_ok=19, in_room_n=20),
            dict(style="a", rooms_matched=5, rooms_gt=5, type_ok=5, in_room_ok=10, in_room_n=10),
            dict(style="b", rooms_matched=4, rooms_gt=5, type_ok=3, in_room_ok=10, in_room_n=10)]
    out = {r[0]: r[1:] for r in style_rows(rows)}
    assert out["a"] == (2, 14 / 15, 1.0, 29 / 30)
    assert out["b"] == (1, 0.8, 0.75, 1.0)
    assert out["worst style"] == (3, 0.8, 0.75, 29 / 30)
    np.testing.assert_allclose(out["mean of styles"][1:], [(14 / 15 + 0.8) / 2, 0.875, (29 / 30 + 1) / 2])


def test_summary_of_a_jsonl_keeps_the_last_line_per_house(tmp_path, capsys):
    import json

    from benchmarks.perception_io import summarize_jsonl
    base = dict(rooms_gt=4, type_ok=4, in_room_ok=10, in_room_n=10, cpu_ms_median=20.0)
    lines = [dict(base, style="real", seed=1, name="house-real-1", rooms_matched=2, moves_eligible=10, moves_detected=5,
                  moves_swapped=0, moves_where_ok=5, false_change_events=1, change_events=10),
             dict(base, style="real", seed=1, name="house-real-1", rooms_matched=4, moves_eligible=10, moves_detected=9,
                  moves_swapped=1, moves_where_ok=10, false_change_events=0, change_events=10, moves_unsure=1)]
    p = tmp_path / "r.jsonl"
    p.write_text("".join(json.dumps(x) + "\n" for x in lines))
    summarize_jsonl(p)
    out = capsys.readouterr().out
    assert "| real | 1 | 1.000 | 1.000 | 1.000 |" in out
    assert "kept own id 9/10 = 0.900" in out and "where-is within 0.5 m 10/10 = 1.000" in out and "unsure 1" in out
