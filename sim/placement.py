"""Placement checks of a scene: an object must lie inside a room, must not interpenetrate walls or
other furniture (solid against solid, so flush and tucked-in placements pass), and must fit on its
receptacle; plus the search for a free spot on a receptacle. Pure functions of a scene; they raise
:class:`PlacementError` and never change anything."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from sim.categories import category_info
from sim.errors import PlacementError
from sim.scene_model import OVERLAP_AREA, PENETRATION, Receptacle, SceneObject, _rect
from sim.shapes import shape_boxes


def solids(obj: SceneObject) -> list[tuple[object, float, float]]:
    """World solids of an object as (footprint polygon, z0, z1): the boxes of its parametric shape
    turned by its yaw, or its mesh's bounding box."""
    if obj.mesh is not None:
        lo, hi = obj.bbox()
        return [(obj.footprint(), float(lo[2]), float(hi[2]))]
    c, s = math.cos(obj.yaw), math.sin(obj.yaw)
    out = []
    if obj.shape == "cylinder":
        return [(obj.footprint(), float(obj.position[2]), float(obj.position[2] + obj.size[2]))]
    for ctr, ext in shape_boxes(obj.shape, obj.size, obj.state):
        xy = obj.position[:2] + np.array([c * ctr[0] - s * ctr[1], s * ctr[0] + c * ctr[1]])
        z = obj.position[2] + ctr[2]
        out.append((_rect(xy, ext[:2], obj.yaw), float(z - ext[2] / 2), float(z + ext[2] / 2)))
    return out


def wall_solids(scene) -> list[tuple[object, float, float]]:
    """Solids of every wall piece as (footprint, z0, z1) (cached on the scene until it changes)."""
    cache = scene._cache.get("wall_solids")
    if cache is None:
        cache = [(_rect(c[:2], e[:2], yaw), float(c[2] - e[2] / 2), float(c[2] + e[2] / 2))
                 for w in scene.walls for c, e, yaw in w.boxes()]
        scene._cache["wall_solids"] = cache
    return cache


def interpenetration(a: list, b: list) -> float:
    """Largest footprint overlap (m²) among pairs of solids of ``a`` and ``b`` that also overlap
    by more than :data:`PENETRATION` in height (0 when they only touch)."""
    worst = 0.0
    for pa, a0, a1 in a:
        for pb, b0, b1 in b:
            if min(a1, b1) - max(a0, b0) <= PENETRATION or not pa.intersects(pb):
                continue
            worst = max(worst, pa.intersection(pb).area)
    return worst


def check_on_floor(scene, obj: SceneObject, exclude: Optional[int] = None) -> None:
    """A floor-standing (or wall-hung) object: inside the rooms, into no wall, into no furniture.
    ``scene.collision == "footprint"`` (the original model) compares whole footprints instead of
    solids: nothing may stand flush into a centred wall or be tucked under a table."""
    where = f"{obj.category} at {np.round(obj.position[:2], 3).tolist()}"
    fp = obj.footprint()
    outline = scene.outline
    if outline.is_empty or not outline.buffer(1e-3).covers(fp):
        raise PlacementError(f"{where} is not inside any room")
    if scene.collision == "footprint":
        mine = [(fp, -math.inf, math.inf)]
        walls = [(w, -math.inf, math.inf) for w in scene.wall_footprints()]
    else:
        mine = solids(obj)
        walls = wall_solids(scene)
    ov = interpenetration(mine, walls)
    if ov > OVERLAP_AREA:
        hint = ("walls are centred on room outlines" if scene.wall_placement == "centred" else
                "walls between two rooms are centred on the shared outline")
        raise PlacementError(f"{where} overlaps a wall by {ov:.3f} m^2 (walls are {scene.wall_thickness} m thick, "
                             f"{hint}; flush means touching the wall face)")
    for other in scene.objects.values():
        if other.kind != "furniture" or other.instance_id in (exclude, obj.instance_id):
            continue
        if not fp.intersects(other.footprint()):
            continue
        if scene.collision == "footprint":
            if other.receptacle_id is not None:
                continue
            ov = fp.intersection(other.footprint()).area
        else:
            ov = interpenetration(mine, solids(other))
        if ov > OVERLAP_AREA:
            raise PlacementError(f"{where} overlaps {other.category} {other.instance_id} by {ov:.3f} m^2")


def check_on_receptacle(scene, obj: SceneObject, rec: Receptacle, exclude: Optional[int] = None) -> None:
    """An object resting on a receptacle: fits under its clearance, on its surface, beside the
    other things on it. Furniture may stand on furniture (a TV on a TV stand)."""
    what = f"{obj.category} on {rec.receptacle_id!r}"
    if rec.owner_id == obj.instance_id:
        raise PlacementError(f"{what}: an object cannot rest on its own receptacle")
    if obj.size[2] > rec.clearance + 1e-9:
        raise PlacementError(f"{what}: object is {obj.size[2]:.2f} m tall but the receptacle has {rec.clearance:.2f} m clearance")
    if abs(obj.position[2] - rec.height) > 1e-6:
        raise PlacementError(f"{what}: object base z {obj.position[2]:.3f} is not on the surface at {rec.height:.3f}")
    fp = obj.footprint()
    if not rec.polygon.buffer(1e-6).covers(fp):
        raise PlacementError(f"{what}: footprint at {np.round(obj.position[:2], 3).tolist()} does not fit on the surface")
    for other in scene.objects_on(rec.receptacle_id):
        if other.instance_id in (exclude, obj.instance_id):
            continue
        if fp.intersection(other.footprint()).area > OVERLAP_AREA * 0.1:
            raise PlacementError(f"{what}: overlaps {other.category} {other.instance_id}")
    if category_info(obj.category).kind == "furniture":
        ov = interpenetration(solids(obj), wall_solids(scene))
        if ov > OVERLAP_AREA:
            raise PlacementError(f"{what}: overlaps a wall by {ov:.3f} m^2")


def find_spot(scene, category, size, rec, position, yaw, rng, tries, exclude):
    """(position, yaw) of a free spot for an object on ``rec``: the given ``position`` checked, or
    the first of ``tries`` random spots that passes."""
    probe = SceneObject(exclude if exclude is not None else -1, category, np.zeros(3), np.asarray(size, float),
                        0.0, rec.receptacle_id)
    if position is not None:
        p = np.asarray(position, dtype=np.float64).reshape(-1)
        if p.shape not in ((2,), (3,)) or not np.all(np.isfinite(p)):
            raise PlacementError(f"{category}: position must be 2 or 3 finite numbers, got {position!r}")
        probe.position = np.array([p[0], p[1], rec.height])
        probe.yaw = float(yaw if yaw is not None else rec_yaw(scene, rec))
        check_on_receptacle(scene, probe, rec, exclude)
        return probe.position, probe.yaw
    rng = rng if rng is not None else np.random.default_rng()
    minx, miny, maxx, maxy = rec.polygon.bounds
    last = None
    for _ in range(max(1, tries)):
        probe.yaw = float(yaw if yaw is not None else rec_yaw(scene, rec) + rng.choice([0.0, math.pi / 2]) + rng.normal(0, 0.2))
        probe.position = np.array([rng.uniform(minx, maxx), rng.uniform(miny, maxy), rec.height])
        try:
            check_on_receptacle(scene, probe, rec, exclude)
            return probe.position, probe.yaw
        except PlacementError as exc:
            last = exc
    if probe.size[2] > rec.clearance:
        raise last
    kind = category_info(category).kind
    raise PlacementError(f"no free spot for a {category} ({kind}) on {rec.receptacle_id!r} after {tries} tries ({last})")


def rec_yaw(scene, rec: Receptacle) -> float:
    """Yaw of the receptacle's owner (objects default to lying square with their surface)."""
    owner = scene.objects.get(rec.owner_id)
    return owner.yaw if owner is not None else 0.0
