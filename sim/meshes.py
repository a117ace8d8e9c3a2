"""Loading labelled meshes (.glb/.gltf/.ply/.obj) with trimesh, keeping one part per scene-graph
node so node names survive as labels (Open3D's loaders merge nodes and lose them)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Union

import numpy as np
import trimesh

from sim.errors import SceneFileError

MESH_SUFFIXES = (".glb", ".gltf", ".ply", ".obj")


@dataclass
class MeshPart:
    """One named node of a mesh file, its triangles in file/world coordinates."""

    name: str
    mesh: trimesh.Trimesh


def load_mesh_parts(path, up: Optional[str] = None) -> list[MeshPart]:
    """Load a mesh file as named parts (one per node with geometry, in scene-graph order).

    ``up`` is the file's up axis, "y" or "z"; default "y" for glTF (its specification) and "z" for
    PLY/OBJ. Y-up parts are rotated into the z-up REP-103 convention ((x, y, z) -> (x, -z, y)).
    Some assets declare z-up elsewhere (Habitat stage configs: ``"up": [0, 0, 1]``); pass
    ``up="z"`` for them. A single unnamed mesh becomes one part named after the file stem."""
    p = Path(path)
    if p.suffix.lower() not in MESH_SUFFIXES:
        raise SceneFileError(f"{p.name}: unsupported mesh format {p.suffix!r}; expected one of {MESH_SUFFIXES}")
    if not p.is_file():
        raise SceneFileError(f"mesh file not found: {str(p)!r}")
    try:
        loaded = trimesh.load(str(p), force=None, process=False)
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise SceneFileError(f"{p.name}: cannot read mesh ({type(exc).__name__}: {exc})") from None
    parts: list[MeshPart] = []
    if isinstance(loaded, trimesh.Scene):
        for node in loaded.graph.nodes_geometry:
            T, geom_name = loaded.graph[node]
            g = loaded.geometry[geom_name]
            if not isinstance(g, trimesh.Trimesh) or len(g.faces) == 0:
                continue
            m = g.copy()
            m.apply_transform(T)
            parts.append(MeshPart(str(node), m))
    elif isinstance(loaded, trimesh.Trimesh):
        if len(loaded.faces):
            parts.append(MeshPart(p.stem, loaded))
    if not parts:
        raise SceneFileError(f"{p.name}: contains no triangles")
    if up is None:
        up = "y" if p.suffix.lower() in (".glb", ".gltf") else "z"
    if up not in ("y", "z"):
        raise SceneFileError(f"up axis must be 'y' or 'z', got {up!r}")
    if up == "y":
        # glTF y-up -> z-up: (x, y, z) -> (x, -z, y).
        R = np.array([[1.0, 0, 0, 0], [0, 0, -1.0, 0], [0, 1.0, 0, 0], [0, 0, 0, 1.0]])
        for part in parts:
            part.mesh.apply_transform(R)
    return parts


def scene_from_mesh_file(path, category_of: Union[Mapping[str, str], Callable[[str], Optional[str]], None] = None,
                         room_type: str = "room", scene=None, up: Optional[str] = None):
    """A :class:`Scene` whose objects are the named parts of a mesh file.

    ``category_of`` maps node names to vocabulary categories (dict or function returning None to
    skip a part). Each added object keeps its node name in ``SceneObject.name``. Unknown categories
    raise :class:`UnknownCategoryError`. When ``scene`` is None a new scene with one room covering
    the parts' footprint (plus 0.5 m) is created."""
    from shapely.geometry import box

    from sim.scene import Scene

    parts = load_mesh_parts(path, up=up)
    mapping = category_of if callable(category_of) else (lambda n, m=dict(category_of or {}): m.get(n))
    if scene is None:
        lo = np.min([pt.mesh.bounds[0] for pt in parts], axis=0)
        hi = np.max([pt.mesh.bounds[1] for pt in parts], axis=0)
        scene = Scene(Path(path).stem)
        scene.add_room("room_0", room_type, box(lo[0] - 0.5, lo[1] - 0.5, hi[0] + 0.5, hi[1] + 0.5), float(lo[2]))
    for pt in parts:
        cat = mapping(pt.name)
        if cat is None:
            continue
        scene.add_object(cat, mesh=pt.mesh, name=pt.name, check=False)
    return scene
