"""Spark-DSG (Hydra) JSON import/export.

Spark-DSG's JSON holds ``nodes`` (``id`` = NodeSymbol: a character in the top byte + a 56-bit index,
``layer``, ``attributes`` with a ``type`` such as ``ObjectNodeAttributes``) and undirected
``edges`` (``source``, ``target``, ``info``). Layers: 2 objects (and agents, a dynamic layer with
``prefix``), 3 places, 4 rooms, 5 buildings.

Import maps objects/places/rooms/buildings onto robomem's layers (index = the symbol's index),
edges onto typed edges by the layers they join, and keeps every Spark attribute robomem does not
use in the node attribute ``spark`` (and agents / header fields in ``graph.metadata``), so that
import -> export reproduces the file's nodes and edges. Graphs built by robomem export with
Spark-DSG's attribute layout (object ``name`` = robomem label)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from robomem.scenegraph.graph import SceneGraph, SceneGraphError, parse_node_id

SPARK_LAYER = {"object": 2, "place": 3, "room": 4, "building": 5}
LAYER_OF = {v: k for k, v in SPARK_LAYER.items()}
SYMBOL_CHAR = {"object": "O", "place": "p", "room": "R", "building": "B"}
ATTR_TYPE = {"object": "ObjectNodeAttributes", "place": "PlaceNodeAttributes",
             "room": "RoomNodeAttributes", "building": "SemanticNodeAttributes"}
_INDEX_MASK = (1 << 56) - 1


def _edge_type(lu: str, lv: str) -> tuple[str, bool]:
    """robomem edge type for Spark layers (lu, lv) and whether u/v must be swapped so the robomem
    edge points the documented way."""
    order = {"building": 0, "room": 1, "place": 2, "object": 3}
    if lu == lv:
        return {"place": "connected", "room": "adjacent", "object": "near", "building": "adjacent"}[lu], False
    pair = {lu, lv}
    if pair == {"object", "room"}:
        return "in_room", lu == "room"
    if pair == {"object", "place"}:
        return "nearest_place", lu == "place"
    # Parent layer contains child layer.
    return "contains", order[lu] > order[lv]


def from_spark_dsg(d: dict) -> SceneGraph:
    """Build a :class:`SceneGraph` from a parsed Spark-DSG JSON document."""
    if not isinstance(d, dict) or "nodes" not in d or "edges" not in d:
        raise SceneGraphError("not a Spark-DSG JSON document (needs 'nodes' and 'edges')")
    g = SceneGraph()
    agents, other_edges = [], []
    names: dict[int, str] = {}
    try:
        for n in d["nodes"]:
            sym, layer = int(n["id"]), int(n["layer"])
            attrs = dict(n["attributes"])
            if "prefix" in n or layer not in LAYER_OF:
                agents.append(n)
                continue
            ours = LAYER_OF[layer]
            idx = sym & _INDEX_MASK
            char = chr(sym >> 56)
            bb = attrs.get("bounding_box") or {}
            kw = {"position": attrs.get("position", [0.0, 0.0, 0.0])}
            if bb.get("type") not in (None, "INVALID"):
                kw["bbox_min"], kw["bbox_max"] = bb["min"], bb["max"]
            if ours == "object":
                name = str(attrs.get("name", ""))
                kw["label"] = name if name and not name.startswith(f"{char}(") else f"class_{attrs.get('semantic_label', 0)}"
            if ours == "place":
                kw["distance"] = attrs.get("distance")
            if "color" in attrs:
                kw["rgb"] = list(attrs["color"])
            extra = {k: v for k, v in n.items() if k not in ("id", "layer", "attributes")}
            kw["spark"] = {"symbol_char": char, "attributes": attrs, "node": extra}
            names[sym] = g.add_node(ours, idx, **kw)
        for e in d["edges"]:
            s, t = int(e["source"]), int(e["target"])
            if s not in names or t not in names:
                other_edges.append(e)
                continue
            u, v = names[s], names[t]
            etype, swap = _edge_type(parse_node_id(u)[0], parse_node_id(v)[0])
            if swap:
                u, v = v, u
            info = dict(e.get("info", {}))
            extra = {k: x for k, x in e.items() if k not in ("source", "target", "info")}
            kw = {"spark": {"info": info, "swapped": swap, "edge": extra}}
            if "weight" in info:
                kw["distance" if etype == "connected" else "weight"] = info["weight"]
            if g.nx.has_edge(u, v, key=etype):
                other_edges.append(e)  # a second edge of one type between two nodes: kept verbatim
                continue
            g.add_edge(u, v, etype, **kw)
    except (KeyError, TypeError, ValueError) as exc:
        raise SceneGraphError(f"malformed Spark-DSG JSON: {exc!r}") from None
    header = {k: v for k, v in d.items() if k not in ("nodes", "edges")}
    g.metadata["spark"] = {"header": header, "agents": agents, "other_edges": other_edges}
    return g


def to_spark_dsg(graph: SceneGraph) -> dict:
    """Spark-DSG JSON document for ``graph``."""
    spark_meta = graph.metadata.get("spark") or {}
    header = dict(spark_meta.get("header") or {"directed": False, "layer_ids": [2, 3, 4, 5],
                                               "mesh_edges": [], "mesh_layer_id": 1, "multigraph": False})
    nodes, sym_of = [], {}
    for nid, a in graph.nodes():
        layer, idx = parse_node_id(nid)
        sp = a.get("spark") or {}
        sym = (ord(sp.get("symbol_char", SYMBOL_CHAR[layer])) << 56) | idx
        sym_of[nid] = sym
        if "attributes" in sp:
            attrs = sp["attributes"]
        else:
            attrs = _native_attributes(layer, a)
        nodes.append({"attributes": attrs, "id": sym, "layer": SPARK_LAYER[layer], **sp.get("node", {})})
    nodes.extend(spark_meta.get("agents") or [])
    edges = []
    for u, v, d in graph.edges():
        sp = d.get("spark") or {}
        if sp.get("swapped"):
            u, v = v, u
        info = sp.get("info") or {"type": "EdgeAttributes", "weight": float(d.get("distance", d.get("weight", 1.0))),
                                  "weighted": "distance" in d or "weight" in d}
        edges.append({"info": info, "source": sym_of[u], "target": sym_of[v], **sp.get("edge", {})})
    edges.extend(spark_meta.get("other_edges") or [])
    return {**header, "edges": edges, "nodes": nodes}


def _native_attributes(layer: str, a: dict) -> dict:
    pos = [float(x) for x in np.asarray(a.get("position", [0.0, 0.0, 0.0]), dtype=float)]
    if a.get("bbox_min") is not None and a.get("bbox_max") is not None:
        lo, hi = np.asarray(a["bbox_min"], float), np.asarray(a["bbox_max"], float)
        bb = {"max": hi.tolist(), "min": lo.tolist(), "type": "AABB", "world_P_center": ((lo + hi) / 2).tolist(),
              "world_R_center": {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0}}
    else:
        bb = {"max": [0.0] * 3, "min": [0.0] * 3, "type": "INVALID", "world_P_center": [0.0] * 3,
              "world_R_center": {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0}}
    last = int(a.get("last_seen_ns") or 0)
    out = {"bounding_box": bb, "color": list(a.get("rgb") or [0, 0, 0]), "is_active": False,
           "last_update_time_ns": last, "name": "", "position": pos, "semantic_label": 0,
           "type": ATTR_TYPE[layer]}
    if layer == "object":
        out.update(name=str(a.get("label", "")), registered=True, mesh_connections=[],
                   world_R_object={"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0})
    elif layer == "room":
        out["name"] = f"R({a['id']})"
    elif layer == "building":
        out["name"] = f"B({a['id']})"
    elif layer == "place":
        out.update(distance=float(a.get("distance") or 0.0), num_basis_points=0, deformation_connections=[],
                   mesh_vertex_labels=[], pcl_mesh_connections=[], voxblox_mesh_connections=[])
    return out


def load_spark_dsg(path) -> SceneGraph:
    """Read a Spark-DSG JSON file."""
    try:
        d = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SceneGraphError(f"cannot read Spark-DSG JSON {path}: {exc}") from None
    return from_spark_dsg(d)


def save_spark_dsg(graph: SceneGraph, path) -> None:
    """Write ``graph`` as Spark-DSG JSON."""
    Path(path).write_text(json.dumps(to_spark_dsg(graph)))


__all__ = ["from_spark_dsg", "to_spark_dsg", "load_spark_dsg", "save_spark_dsg", "SPARK_LAYER"]
