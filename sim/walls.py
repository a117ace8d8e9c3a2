"""Walls derived from a scene's room outlines: one straight segment per piece of outline, door
openings and (for walls bounding one room) windows and exterior doors cut out, centred on the
outline or, with ``walls="outside"``, pushed outside the house's exterior outline."""
from __future__ import annotations

import numpy as np
from shapely.geometry import Point
from shapely.ops import unary_union

from sim.scene_model import EPS, WALL_ID_BASE, Wall


def build_walls(scene) -> list[Wall]:
    """Wall segments of ``scene`` (a :class:`~sim.scene.Scene`), in a deterministic order."""
    if not scene.rooms:
        return []
    merged = unary_union([r.polygon.exterior for r in scene.rooms.values()])
    segs = []
    for line in getattr(merged, "geoms", [merged]):
        c = np.asarray(line.coords)
        segs.extend((c[i], c[i + 1]) for i in range(len(c) - 1))
    walls = []
    t = scene.wall_thickness
    for a, b in sorted(segs, key=lambda s: (round(s[0][0], 6), round(s[0][1], 6), round(s[1][0], 6), round(s[1][1], 6))):
        L = float(np.hypot(*(b - a)))
        if L < EPS:
            continue
        mid = Point((a + b) / 2)
        rooms = tuple(r.room_id for r in scene.rooms.values() if r.polygon.boundary.distance(mid) < 1e-6)
        rs = [scene.rooms[r] for r in rooms] or list(scene.rooms.values())
        z0 = min(r.floor_z for r in rs)
        z1 = max(r.floor_z + r.ceiling_height for r in rs)
        d = (b - a) / L
        openings = []
        for door in scene.doors:
            span = _on_segment(a, d, L, door.center, door.width)
            if span is not None:
                floor = min(scene.rooms[door.room_a].floor_z, scene.rooms[door.room_b].floor_z)
                openings.append((*span, floor + door.height))
        windows = []
        offset = 0.0
        if len(rooms) == 1:
            room = scene.rooms[rooms[0]]
            for w in scene.wall_openings:
                if w.room != room.room_id:
                    continue
                span = _on_segment(a, d, L, w.center, w.width)
                if span is None:
                    continue
                if w.kind == "door":
                    openings.append((*span, room.floor_z + w.top))
                else:
                    windows.append((*span, room.floor_z - z0 + w.bottom, room.floor_z - z0 + w.top))
            if scene.wall_placement == "outside":
                n = np.array([-d[1], d[0]])
                inside_left = room.polygon.contains(Point(*(np.asarray(mid.coords[0]) + n * 1e-3)))
                offset = -t / 2 if inside_left else t / 2
        walls.append(Wall(WALL_ID_BASE + len(walls), a.copy(), b.copy(), t, z0, z1, rooms, openings,
                          windows, offset))
    return walls


def _on_segment(a, d, L, center, width):
    """(s0, s1) arc-length span of an opening centred at ``center`` on the segment, or None."""
    rel = np.asarray(center, dtype=np.float64) - a
    s = float(rel @ d)
    off = abs(float(rel[0] * d[1] - rel[1] * d[0]))
    if off < 1e-6 and -width / 2 < s < L + width / 2:
        lo, hi = max(0.0, s - width / 2), min(L, s + width / 2)
        if hi > lo + EPS:
            return lo, hi
    return None
