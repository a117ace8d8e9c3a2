"""JSON (de)serialisation of scenes. The file is rebuilt through the public scene-building API, so
a loaded scene passes exactly the checks a hand-built one does; every error names the file and
the entry (``rooms[2].polygon``) that is wrong. Objects built with ``check=False`` are stored as
``"checked": false`` and re-added the same way, so every scene that was built loads back identical.

This module does not import :mod:`sim.scene` (the scene class is passed in as ``factory``), so the
two form no import circle."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import trimesh

from sim.errors import SceneError, SceneFileError

FORMAT = "robomem-sim-scene"
FORMAT_VERSION = 1
#: Versions this reader accepts (2 adds wall placement, collision model, windows / exterior doors,
#: door states and unchecked objects; a version-1 file reads as before).
READ_VERSIONS = (1, 2)
WRITE_VERSION = 2


def _depth(scene, o) -> int:
    """How many receptacles deep an object rests (0: on the floor; a remote on a TV on a stand: 2)."""
    d, seen = 0, set()
    while o.receptacle_id is not None and o.instance_id not in seen:
        seen.add(o.instance_id)
        rec = scene.receptacles.get(o.receptacle_id)
        o = scene.objects.get(rec.owner_id) if rec is not None else None
        if o is None:
            break
        d += 1
    return d


def scene_to_dict(scene) -> dict:
    """Plain-JSON dict of a scene (rooms, doors, objects, hand-declared receptacles)."""
    rooms = [{"id": r.room_id, "type": r.room_type,
              "polygon": [list(map(float, xy)) for xy in list(r.polygon.exterior.coords)[:-1]],
              "floor_z": r.floor_z, "ceiling_height": r.ceiling_height} for r in scene.rooms.values()]
    doors = [{"rooms": [d.room_a, d.room_b], "center": [float(v) for v in d.center], "width": d.width,
              "height": d.height} for d in scene.doors]
    # Floor-standing objects first, then what rests on them, level by level, so every receptacle
    # exists before the objects on it are re-added.
    order = sorted(scene.objects.values(), key=lambda o: (_depth(scene, o), o.instance_id))
    objects = []
    for o in order:
        e = {"instance_id": o.instance_id, "category": o.category, "position": [float(v) for v in o.position],
             "size": [float(v) for v in o.size], "yaw": o.yaw, "receptacle_id": o.receptacle_id,
             "color": list(o.color), "name": o.name}
        if o.state is not None:
            e["state"] = o.state
        if o.unchecked:
            e["checked"] = False
        if o.mesh is not None:
            e["mesh"] = {"vertices": o.mesh.vertices.round(6).tolist(), "faces": o.mesh.faces.tolist()}
        objects.append(e)
    receptacles = [{"owner_id": r.owner_id, "name": r.name,
                    "polygon": [list(map(float, xy)) for xy in list(r.polygon.exterior.coords)[:-1]],
                    "height": r.height, "clearance": None if r.clearance == float("inf") else r.clearance}
                   for r in scene.receptacles.values() if not r.auto]
    out = {"format": FORMAT, "version": FORMAT_VERSION, "name": scene.name,
           "wall_thickness": scene.wall_thickness, "rooms": rooms, "doors": doors, "objects": objects,
           "receptacles": receptacles}
    extra = {}
    if scene.wall_placement != "centred":
        extra["walls"] = scene.wall_placement
    if scene.collision != "solid":
        extra["collision"] = scene.collision
    if scene.wall_openings:
        extra["wall_openings"] = [{"room": w.room, "kind": w.kind, "center": [float(v) for v in w.center],
                                   "width": w.width, "bottom": w.bottom, "top": w.top} for w in scene.wall_openings]
    if extra or any(o.state is not None or o.unchecked for o in scene.objects.values()):
        out["version"] = WRITE_VERSION
        out.update(extra)
    return out


def _need(d, key, types, where):
    if not isinstance(d, dict):
        raise SceneFileError(f"{where}: expected an object, got {type(d).__name__}")
    if key not in d:
        raise SceneFileError(f"{where}: missing field {key!r}")
    v = d[key]
    if not isinstance(v, types) or isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise SceneFileError(f"{where}.{key}: expected {getattr(types, '__name__', types)}, got {type(v).__name__}")
    return v


def scene_from_dict(data: dict, source: str = "scene", *, factory=None):
    """Rebuild a scene from :func:`scene_to_dict` output, validating every entry. ``factory`` is
    the scene class (:class:`sim.Scene`; ``Scene.from_dict`` passes itself)."""
    if factory is None:
        raise SceneFileError(f"{source}: scene_from_dict needs the scene class as factory (use sim.Scene.from_dict)")
    if not isinstance(data, dict):
        raise SceneFileError(f"{source}: top level must be a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise SceneFileError(f"{source}: 'format' must be {FORMAT!r}, got {data.get('format')!r}")
    if data.get("version") not in READ_VERSIONS:
        raise SceneFileError(f"{source}: unsupported version {data.get('version')!r} (expected one of {READ_VERSIONS})")
    num = (int, float)
    where = source
    try:
        scene = factory(str(data.get("name", "scene")), float(data.get("wall_thickness", 0.1)),
                        walls=str(data.get("walls", "centred")), collision=str(data.get("collision", "solid")))
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
        for i, w in enumerate(data.get("wall_openings", [])):
            where = f"{source}: wall_openings[{i}]"
            kind = _need(w, "kind", str, where)
            if kind not in ("window", "door"):
                raise SceneFileError(f"{where}.kind: expected 'window' or 'door', got {kind!r}")
            bottom, top = float(_need(w, "bottom", num, where)), float(_need(w, "top", num, where))
            if kind == "window":
                scene.add_window(_need(w, "room", str, where), _need(w, "center", list, where),
                                 float(_need(w, "width", num, where)), bottom, top - bottom)
            else:
                scene.add_exterior_door(_need(w, "room", str, where), _need(w, "center", list, where),
                                        float(_need(w, "width", num, where)), top)
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
                                       name=o.get("name"), check=False, state=o.get("state"))
                obj.unchecked = o.get("checked", True) is False
            else:
                obj = scene.add_object(_need(o, "category", str, where), position=_need(o, "position", list, where),
                                       size=_need(o, "size", list, where), yaw=float(o.get("yaw", 0.0)),
                                       receptacle_id=o.get("receptacle_id"),
                                       instance_id=_need(o, "instance_id", int, where), color=o.get("color"),
                                       name=o.get("name"), state=o.get("state"),
                                       check=o.get("checked", True) is not False)
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


def load_scene(path, *, factory=None):
    """Read a JSON scene as ``factory`` (the scene class); a missing, non-JSON or malformed file
    raises :class:`SceneFileError`."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise SceneFileError(f"cannot read scene file {str(p)!r}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SceneFileError(f"{p.name}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    return scene_from_dict(data, p.name, factory=factory)
