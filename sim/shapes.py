"""Parametric shapes of furniture and small objects, in the object's local frame: origin at the
centre of the base, z up, the front facing local +x. Everything is a union of boxes (or a
cylinder), which keeps scenes light for ray casting and gives exact receptacle surfaces."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

#: Thickness of boards (shelves, table tops, sofa backs), metres.
BOARD = 0.03


@dataclass(frozen=True)
class Surface:
    """A horizontal surface in local coordinates: rectangle (xmin, ymin, xmax, ymax) at height z,
    with ``clearance`` metres of free space above it."""

    name: str
    rect: tuple[float, float, float, float]
    z: float
    clearance: float


def _box(cx, cy, cz, ex, ey, ez):
    return (np.array([cx, cy, cz]), np.array([ex, ey, ez]))


def shape_boxes(shape: str, size, state=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(centre, extents) boxes making up ``shape`` of overall ``size`` (x, y, z). ``state`` ("open"
    / "closed") sets the door of a ``"fridge"`` (a hollow box with interior shelves whose door,
    hinged on its -y side, swings out to stand perpendicular to the front when open)."""
    sx, sy, sz = (float(v) for v in size)
    if shape in ("open_cabinet", "fridge"):
        # Hollow carcass open at the front (+x): back, two sides, bottom, top, interior boards.
        boxes = [_box(-(sx - BOARD) / 2, 0, sz / 2, BOARD, sy, sz),
                 _box(0, -(sy - BOARD) / 2, sz / 2, sx, BOARD, sz), _box(0, (sy - BOARD) / 2, sz / 2, sx, BOARD, sz),
                 _box(0, 0, sz - BOARD / 2, sx, sy, BOARD)]
        for z in interior_levels(shape, sz):
            boxes.append(_box(0, 0, z - BOARD / 2, sx, sy, BOARD))
        if shape == "fridge":
            if state == "open":
                boxes.append(_box(sx / 2 + sy / 2, -(sy - BOARD) / 2, sz / 2, sy, BOARD, sz))
            else:
                boxes.append(_box(sx / 2 - BOARD / 2, 0, sz / 2, BOARD, sy, sz))
        return boxes
    if shape == "table":
        leg = min(0.06, sx / 4, sy / 4)
        top = min(0.04, sz / 3)
        boxes = [_box(0, 0, sz - top / 2, sx, sy, top)]
        for px in (-1, 1):
            for py in (-1, 1):
                boxes.append(_box(px * (sx - leg) / 2, py * (sy - leg) / 2, (sz - top) / 2, leg, leg, sz - top))
        return boxes
    if shape == "shelf":
        boards = max(2, int(round(sz / 0.4)))
        boxes = [_box(0, -(sy - BOARD) / 2, sz / 2, sx, BOARD, sz), _box(0, (sy - BOARD) / 2, sz / 2, sx, BOARD, sz),
                 _box(-(sx - BOARD) / 2, 0, sz / 2, BOARD, sy, sz)]
        for z in shelf_levels(sz, boards):
            boxes.append(_box(0, 0, z - BOARD / 2, sx, sy, BOARD))
        return boxes
    if shape in ("sofa", "chair"):
        seat = 0.45 if shape == "chair" else min(0.45, sz * 0.55)
        back = min(0.2 if shape == "sofa" else 0.06, sx / 3)
        boxes = [_box(0, 0, seat / 2, sx, sy, seat), _box(-(sx - back) / 2, 0, (sz + seat) / 2, back, sy, sz - seat)]
        return boxes
    if shape == "bed":
        base = min(0.5, sz)
        boxes = [_box(0, 0, base / 2, sx, sy, base)]
        if sz > base + 0.05:
            boxes.append(_box(-(sx - 0.06) / 2, 0, sz / 2, 0.06, sy, sz))
        return boxes
    return [_box(0, 0, sz / 2, sx, sy, sz)]


def interior_levels(shape: str, sz: float) -> list[float]:
    """Top faces of the interior boards of an open cabinet (bottom + one middle board) or a fridge
    (bottom + boards every ~0.4 m)."""
    if shape == "open_cabinet":
        return [BOARD, BOARD + (sz - 2 * BOARD) / 2]
    n = max(2, int(round(sz / 0.4)))
    return [BOARD + i * (sz - 2 * BOARD) / n for i in range(n)]


def shelf_levels(sz: float, boards: int) -> list[float]:
    """Heights of the top faces of the shelf boards, bottom board first."""
    return [BOARD + i * (sz - BOARD) / (boards - 1) for i in range(boards)]


def shape_surfaces(shape: str, size) -> list[Surface]:
    """Receptacle surfaces offered by ``shape``: a table/cabinet top, a sofa/chair seat, bed top,
    or every shelf board (the top board has unlimited clearance)."""
    sx, sy, sz = (float(v) for v in size)
    inf = float("inf")
    if shape in ("table", "cabinet"):
        return [Surface("top", (-sx / 2, -sy / 2, sx / 2, sy / 2), sz, inf)]
    if shape == "bed":
        # The headboard occupies the back 6 cm.
        return [Surface("top", (-sx / 2 + 0.06, -sy / 2, sx / 2, sy / 2), min(0.5, sz), inf)]
    if shape in ("sofa", "chair"):
        seat = 0.45 if shape == "chair" else min(0.45, sz * 0.55)
        back = min(0.2 if shape == "sofa" else 0.06, sx / 3)
        return [Surface("seat", (-sx / 2 + back, -sy / 2, sx / 2, sy / 2), seat, inf)]
    if shape in ("open_cabinet", "fridge"):
        levels = interior_levels(shape, sz)
        front = sx / 2 - (BOARD if shape == "fridge" else 0.0)   # behind a fridge's closed door
        inner = (-sx / 2 + BOARD, -sy / 2 + BOARD, front, sy / 2 - BOARD)
        ceil = [*levels[1:], sz]
        out = [Surface(f"shelf{i}", inner, z, top - BOARD - z) for i, (z, top) in enumerate(zip(levels, ceil))]
        out.append(Surface("top", (-sx / 2, -sy / 2, sx / 2, sy / 2), sz, inf))
        return out
    if shape == "shelf":
        boards = max(2, int(round(sz / 0.4)))
        levels = shelf_levels(sz, boards)
        inner = (-sx / 2 + BOARD, -sy / 2 + BOARD, sx / 2, sy / 2 - BOARD)
        out = []
        for i, z in enumerate(levels[:-1]):
            out.append(Surface(f"shelf{i}", inner, z, levels[i + 1] - BOARD - z))
        out.append(Surface("top", (-sx / 2, -sy / 2, sx / 2, sy / 2), sz, inf))
        return out
    return []


def shape_mesh(shape: str, size, state=None) -> trimesh.Trimesh:
    """Local triangle mesh of ``shape`` with overall ``size``."""
    sx, sy, sz = (float(v) for v in size)
    if shape == "cylinder":
        m = trimesh.creation.cylinder(radius=0.5, height=1.0, sections=16)
        m.apply_scale((sx, sy, sz))
        m.apply_translation((0, 0, sz / 2))
        return m
    parts = []
    for c, e in shape_boxes(shape, size, state):
        b = trimesh.creation.box(extents=e)
        b.apply_translation(c)
        parts.append(b)
    return parts[0] if len(parts) == 1 else trimesh.util.concatenate(parts)
