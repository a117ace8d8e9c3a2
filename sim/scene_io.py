"""JSON (de)serialisation of scenes. The file is rebuilt through the public scene-building API, so
a loaded scene passes exactly the checks a hand-built one does; every error names the file and
the entry (``rooms[2].polygon``) that is wrong."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import trimesh

from sim.errors import SceneError, SceneFileError

FORMAT = "robomem-sim-scene"
FORMAT_VERSION = 1


def scene_to_dict(scene) -> dict:
    """Plain-JSON dict of a scene (rooms, doors, objects, hand-declared receptacles)."""
    rooms = [{"id": r.room_id, "type": r.room_type,
              "polygon": [list(map(float, xy)) for xy in list(r.polygon.exterior.coords)[:-1]],
              "floor_z": r.floor_z, "ceiling_height": r.ceiling_height} for r in scene.rooms.values()]
    doors = [{"rooms": [d.room_a, d.room_b], "center": [float(v) for v in d.center], "width": d.width,
              "height": d.height} for d in scene.doors]
    # Furniture (floor-standing) first so receptacles exist when small objects are re-added.
    order = sorted(scene.objects.values(), key=lambda o: (o.receptacle_id is not None, o.instance_id))
    objects = []
    for o in order:
        e = {"instance_id": o.instance_id, "category": o.category, "position": [float(v) for v in o.position],
             "size": [float(v) for v in o.size], "yaw": o.yaw, "receptacle_id": o.receptacle_id,
             "color": list(o.color), "name": o.name}
        if o.mesh is not None:
            e["mesh"] = {"vertices": o.mesh.vertices.round(6).tolist(), "faces": o.mesh.faces.tolist()}
        objects.append(e)
    receptacles = [{"owner_id": r.owner_id, "name": r.name,
                    "polygon": [list(map(float, xy)) for xy in list(r.polygon.exterior.coords)[:-1]],
                    "height": r.height, "clearance": None if r.clearance == float("inf") else r.clearance}
                   for r in scene.receptacles.values() if not r.auto]
    return {"format": FORMAT, "version": FORMAT_VERSION, "name": scene.name,
            "wall_thickness": scene.wall_thickness, "rooms": rooms, "doors": doors, "objects": objects,
            "receptacles": receptacles}


def _need(d, key, types, where):
    if not isinstance(d, dict):
        raise SceneFileError(f"{where}: expected an object, got {type(d).__name__}")
    if key not in d:
        raise SceneFileError(f"{where}: missing field {key!r}")
    v = d[key]
    if not isinstance(v, types) or isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise SceneFileError(f"{where}.{key}: expected {getattr(types, '__name__', types)}, got {type(v).__name__}")
    return v


def scene_from_dict(data: dict, source: str = "scene"):
    """Rebuild a :class:`Scene` from :func:`scene_to_dict` output, validating every entry."""
    from sim.scene import Scene

    if not isinstance(data, dict):
        raise SceneFileError(f"{source}: top level must be a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise SceneFileError(f"{source}: 'format' must be {FORMAT!r}, got {data.get('format')!r}")
    if data.get("version") != FORMAT_VERSION:
        raise SceneFileError(f"{source}: unsupported version {data.get('version')!r} (expected {FORMAT_VERSION})")
    num = (int, float)
    scene = Scene(str(data.get("name", "scene")), float(data.get("wall_thickness", 0.1)))
    where = source
    try:
        for i, r in enumerate(_need(data, "rooms", list, source)):
            where = f"{source}: rooms[{i}]"
            scene.add_room(_need(r, "id", str, where), _need(r, "type", str, where), _need(r, "polygon", list, where),
                           float(r.get("floor_z", 0.0)), float(r.get("ceiling_height", 2.6)))
        for i, d in enumerate(data.get("doors", [])):
            where = f"{source}: doors[{i}]"
            rooms = _need(d, "rooms", list, where)
            if len(rooms) != 2:
                raise SceneFileError(f"{where}.rooms: expected 2 room ids, got {rooms!r}")
            scene.add_door(rooms[0], rooms[1], float(_need(d, "width", num, where)), float(d.get("height", 2.1)),
                           _need(d, "center", list, where))
        recs = list(data.get("receptacles", []))
        pending = {}
        for i, r in enumerate(recs):
            pending.setdefault(r.get("owner_id") if isinstance(r, dict) else None, []).append((i, r))
        for i, o in enumerate(_need(data, "objects", list, source)):
            where = f"{source}: objects[{i}]"
            mesh = None
            if o.get("mesh") is not None if isinstance(o, dict) else False:
                m = o["mesh"]
                try:
                    mesh = trimesh.Trimesh(np.asarray(m["vertices"], float), np.asarray(m["faces"], np.int64), process=False)
                except (KeyError, TypeError, ValueError, IndexError) as exc:
                    raise SceneFileError(f"{where}.mesh: malformed ({exc})") from None
                pos = _need(o, "position", list, where)
                # Stored mesh is local (base centre at origin): rebuild with position + yaw.
                obj = scene.add_object(_need(o, "category", str, where), position=pos, yaw=float(o.get("yaw", 0.0)),
                                       mesh=mesh, receptacle_id=o.get("receptacle_id"),
                                       instance_id=_need(o, "instance_id", int, where), color=o.get("color"),
                                       name=o.get("name"), check=False)
            else:
                obj = scene.add_object(_need(o, "category", str, where), position=_need(o, "position", list, where),
                                       size=_need(o, "size", list, where), yaw=float(o.get("yaw", 0.0)),
                                       receptacle_id=o.get("receptacle_id"),
                                       instance_id=_need(o, "instance_id", int, where), color=o.get("color"),
                                       name=o.get("name"))
            for j, r in pending.pop(obj.instance_id, []):
                where = f"{source}: receptacles[{j}]"
                c = r.get("clearance")
                scene.add_receptacle(obj.instance_id, _need(r, "polygon", list, where), float(_need(r, "height", num, where)),
                                     str(r.get("name", "surface")), float("inf") if c is None else float(c))
        if pending:
            raise SceneFileError(f"{source}: receptacles reference unknown owners {sorted(map(str, pending))}")
    except SceneFileError:
        raise
    except SceneError as exc:
        raise type(exc)(f"{where}: {exc}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise SceneFileError(f"{where}: malformed entry ({exc})") from None
    return scene


def save_scene(scene, path) -> None:
    """Write a scene as JSON."""
    Path(path).write_text(json.dumps(scene_to_dict(scene)))


def load_scene(path):
    """Read a JSON scene; a missing, non-JSON or malformed file raises :class:`SceneFileError`."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise SceneFileError(f"cannot read scene file {str(p)!r}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SceneFileError(f"{p.name}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    return scene_from_dict(data, p.name)
