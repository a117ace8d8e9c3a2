"""Native JSON and GraphML files for :class:`SceneGraph` (Spark-DSG JSON is in ``spark_dsg``)."""
from __future__ import annotations

import json
from pathlib import Path

import networkx as nx

from robomem.scenegraph.graph import SceneGraph, SceneGraphError

_JSON_PREFIX = "json:"


def save_json(graph: SceneGraph, path) -> None:
    """Write the native JSON form (:meth:`SceneGraph.to_dict`)."""
    Path(path).write_text(json.dumps(graph.to_dict()))


def load_json(path) -> SceneGraph:
    """Read a file written by :func:`save_json`."""
    try:
        d = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SceneGraphError(f"cannot read scene graph JSON {path}: {exc}") from None
    return SceneGraph.from_dict(d)


def _enc(v):
    # GraphML holds scalars only; everything else (arrays, lists, None, dicts) travels as JSON text.
    if isinstance(v, (bool, int, float, str)) and not (isinstance(v, str) and v.startswith(_JSON_PREFIX)):
        return v
    return _JSON_PREFIX + json.dumps(v)


def _dec(v):
    if isinstance(v, str) and v.startswith(_JSON_PREFIX):
        return json.loads(v[len(_JSON_PREFIX):])
    return v


def to_networkx(graph: SceneGraph) -> nx.MultiDiGraph:
    """A plain networkx copy with only GraphML-safe attribute values."""
    d = graph.to_dict()
    G = nx.MultiDiGraph()
    G.graph["format"] = d["format"]
    G.graph["room_map"] = _enc(d["room_map"])
    G.graph["metadata"] = _enc(d["metadata"])
    for n in d["nodes"]:
        G.add_node(n["nid"], **{k: _enc(v) for k, v in n["attrs"].items()})
    for e in d["edges"]:
        G.add_edge(e["source"], e["target"], key=e["attrs"]["type"], **{k: _enc(x) for k, x in e["attrs"].items()})
    return G


def from_networkx(G: nx.MultiDiGraph) -> SceneGraph:
    """Inverse of :func:`to_networkx`."""
    nodes = [{"nid": n, "attrs": {k: _dec(v) for k, v in a.items()}} for n, a in G.nodes(data=True)]
    edges = [{"source": u, "target": v, "attrs": {k: _dec(x) for k, x in a.items() if k != "id"}}
             for u, v, a in G.edges(data=True)]
    d = {"format": G.graph.get("format"), "nodes": nodes, "edges": edges,
         "room_map": _dec(G.graph.get("room_map")), "metadata": _dec(G.graph.get("metadata"))}
    return SceneGraph.from_dict(d)


def save_graphml(graph: SceneGraph, path) -> None:
    """Write GraphML (non-scalar attributes are JSON strings prefixed ``json:``)."""
    nx.write_graphml(to_networkx(graph), str(path))


def load_graphml(path) -> SceneGraph:
    """Read a file written by :func:`save_graphml`."""
    try:
        G = nx.read_graphml(str(path), force_multigraph=True)
    except Exception as exc:  # networkx raises several unrelated types for a bad file
        raise SceneGraphError(f"cannot read GraphML {path}: {exc}") from None
    if not isinstance(G, nx.MultiDiGraph):
        G = nx.MultiDiGraph(G)
    return from_networkx(G)
