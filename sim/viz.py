"""Pictures of simulator output: colourised depth and instance images, image strips, and a
top-down floor plan with object labels (PIL only)."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw

from robomem.frame import Frame


def depth_to_rgb(depth: np.ndarray, max_depth: float = 8.0) -> np.ndarray:
    """Depth (m) as a near-bright / far-dark grey-blue image; no reading = black."""
    d = np.asarray(depth, dtype=np.float32)
    valid = np.isfinite(d) & (d > 0)
    t = np.clip(np.where(valid, d, 0) / max_depth, 0, 1)
    out = np.zeros(d.shape + (3,), dtype=np.uint8)
    out[..., 0] = (255 * (1 - t) ** 1.5 * valid).astype(np.uint8)
    out[..., 1] = (255 * (1 - t) * valid).astype(np.uint8)
    out[..., 2] = (255 * (1 - 0.5 * t) * valid).astype(np.uint8)
    return out


def instances_to_rgb(ids: np.ndarray) -> np.ndarray:
    """A stable pseudo-random colour per instance id; 0 = black."""
    ids = np.asarray(ids, dtype=np.uint64)
    h = (ids * np.uint64(2654435761)) & np.uint64(0xFFFFFF)
    out = np.stack([(h >> np.uint64(16)) & np.uint64(255), (h >> np.uint64(8)) & np.uint64(255), h & np.uint64(255)],
                   axis=-1).astype(np.uint8)
    out[ids == 0] = 0
    return out


def frame_strip(frames: Sequence[Frame], max_depth: float = 8.0) -> Image.Image:
    """One row per frame: RGB | depth | instances."""
    rows = []
    for f in frames:
        rgb = f.rgb if f.rgb is not None else np.zeros(f.depth.shape + (3,), np.uint8)
        inst = instances_to_rgb(f.instance_ids) if f.instance_ids is not None else np.zeros_like(rgb)
        rows.append(np.concatenate([rgb, depth_to_rgb(f.depth, max_depth), inst], axis=1))
    return Image.fromarray(np.concatenate(rows, axis=0))


def floor_plan(scene, path: Optional[np.ndarray] = None, px_per_m: float = 60.0, labels: bool = True,
               agent_poses: Optional[Sequence] = None) -> Image.Image:
    """Top-down plan: room floors with names, walls (door gaps visible), furniture footprints and
    small objects with their category labels, and an optional path."""
    minx, miny, maxx, maxy = scene.outline.bounds
    pad = 0.6
    W = int((maxx - minx + 2 * pad) * px_per_m)
    H = int((maxy - miny + 2 * pad) * px_per_m)
    img = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(img)

    def px(x, y):  # world +x right, +y up in the picture
        return ((x - minx + pad) * px_per_m, H - (y - miny + pad) * px_per_m)

    palette = {"kitchen": (255, 236, 200), "living_room": (220, 240, 255), "bedroom": (235, 225, 255),
               "bathroom": (210, 250, 250), "office": (235, 250, 215), "hallway": (240, 240, 240),
               "dining_room": (255, 225, 225)}
    for room in scene.rooms.values():
        d.polygon([px(x, y) for x, y in room.polygon.exterior.coords], fill=palette.get(room.room_type, (245, 245, 230)))
    for fp in scene.wall_footprints():
        d.polygon([px(x, y) for x, y in fp.exterior.coords], fill=(60, 60, 60))
    for obj in scene.furniture():
        fp = obj.footprint()
        d.polygon([px(x, y) for x, y in fp.exterior.coords], fill=tuple(int(c * 0.8 + 40) for c in obj.color), outline=(0, 0, 0))
    for room in scene.rooms.values():
        c = room.polygon.representative_point()
        d.text(px(c.x, c.y), room.room_id, fill=(0, 0, 140))
    for obj in scene.small_objects():
        x, y = obj.position[:2]
        u, v = px(x, y)
        d.ellipse([u - 3, v - 3, u + 3, v + 3], fill=obj.color, outline=(0, 0, 0))
        if labels:
            d.text((u + 4, v - 5), obj.category, fill=(120, 0, 0))
    if path is not None and len(path) > 1:
        d.line([px(x, y) for x, y in np.asarray(path)[:, :2]], fill=(230, 0, 0), width=3)
    for st in agent_poses or []:
        u, v = px(*st.position[:2])
        d.ellipse([u - 5, v - 5, u + 5, v + 5], outline=(0, 120, 0), width=2)
        d.line([u, v, u + 14 * math.cos(st.yaw), v - 14 * math.sin(st.yaw)], fill=(0, 120, 0), width=2)
    return img
