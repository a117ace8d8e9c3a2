"""`SceneGraph`: a layered, typed graph (building -> room -> place -> object) over networkx.

Nodes are named ``"<layer>:<index>"`` (e.g. ``"object:12"``) so that ids stay readable in JSON and
GraphML; every node carries ``layer`` and ``id`` attributes. Edges are keyed by their type in a
``networkx.MultiDiGraph`` so two nodes can be related in several ways at once (an object can be both
*on* and *near* another). The graph is a data structure only: relations, room segmentation and
place extraction are functions in :mod:`robomem.scenegraph.relations`, ``rooms`` and ``places``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Optional

import networkx as nx
import numpy as np

from robomem.errors import InvalidInputError

#: Layers from top to bottom.
LAYERS = ("building", "room", "place", "object")

#: Edge types and what they mean (u -> v):
#: ``contains`` parent layer contains child (building->room, room->place);
#: ``in_room`` object -> room; ``on`` object -> supporting object; ``in`` object -> containing object;
#: ``near`` object -> object (stored once, smaller id first); ``connected`` place -> place (free
#: line of sight, stored once, attribute ``distance``); ``adjacent`` room -> room (shared door);
#: ``nearest_place`` object -> place.
EDGE_TYPES = ("contains", "in_room", "on", "in", "near", "connected", "adjacent", "nearest_place")

#: Attributes held as numpy float arrays in memory and as lists in serialised forms.
ARRAY_ATTRS = frozenset({"position", "bbox_min", "bbox_max", "obb_center", "obb_extent", "previous_position"})


class SceneGraphError(InvalidInputError):
    """A scene-graph operation got an unknown layer/edge type, a missing node, or malformed data."""


def node_id(layer: str, index: int) -> str:
    """Node name for ``index`` in ``layer`` (e.g. ``node_id("object", 3) == "object:3"``)."""
    if layer not in LAYERS:
        raise SceneGraphError(f"unknown layer {layer!r}; expected one of {LAYERS}")
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
        raise SceneGraphError(f"node index must be a non-negative integer, got {index!r}")
    return f"{layer}:{int(index)}"


def parse_node_id(nid: str) -> tuple[str, int]:
    """Inverse of :func:`node_id`."""
    try:
        layer, idx = nid.split(":")
        return layer, int(idx)
    except (AttributeError, ValueError):
        raise SceneGraphError(f"not a scene-graph node id: {nid!r}") from None


@dataclass(eq=False)
class RoomMap:
    """Room label image over the 2-D grid rooms were segmented from: ``labels[r, c]`` is the room
    index (0 = no room); cell [r, c] covers x in [ox + c*res, ...), y in [oy + r*res, ...)."""

    labels: np.ndarray
    resolution: float
    origin: tuple[float, float]

    def room_at(self, xy: np.ndarray, snap: float = 0.5) -> np.ndarray:
        """Room index (0 = none / outside the grid) for world points (N, 2). Points on a cell
        without a room (furniture, wall) take the nearest room cell within ``snap`` metres."""
        xy = np.atleast_2d(np.asarray(xy, dtype=np.float64))
        c = np.floor((xy[:, 0] - self.origin[0]) / self.resolution).astype(np.int64)
        r = np.floor((xy[:, 1] - self.origin[1]) / self.resolution).astype(np.int64)
        H, W = self.labels.shape
        ok = (r >= 0) & (r < H) & (c >= 0) & (c < W)
        out = np.zeros(len(xy), dtype=np.int64)
        if snap > 0:
            near, dist = self._nearest()
            ok &= True
            rr, cc = r[ok], c[ok]
            lab = near[rr, cc]
            out[ok] = np.where(dist[rr, cc] * self.resolution <= snap, lab, 0)
        else:
            out[ok] = self.labels[r[ok], c[ok]]
        return out

    def _nearest(self):
        cache = getattr(self, "_near_cache", None)
        if cache is None or cache[0] is not self.labels:
            from scipy.ndimage import distance_transform_edt
            if (self.labels > 0).any():
                dist, (ri, ci) = distance_transform_edt(self.labels == 0, return_indices=True)
                near = self.labels[ri, ci]
            else:
                dist = np.full(self.labels.shape, np.inf)
                near = self.labels
            cache = (self.labels, near, dist)
            self._near_cache = cache
        return cache[1], cache[2]

    def to_dict(self) -> dict:
        flat = np.ascontiguousarray(self.labels, dtype=np.int64).ravel()
        # Run-length encoding: room maps are large blobs, so this is ~100x smaller than a dense list.
        if flat.size:
            change = np.flatnonzero(np.diff(flat)) + 1
            starts = np.concatenate([[0], change])
            lengths = np.diff(np.concatenate([starts, [flat.size]]))
            values = flat[starts]
        else:
            values = lengths = np.zeros(0, dtype=np.int64)
        return {"shape": list(self.labels.shape), "resolution": float(self.resolution),
                "origin": [float(self.origin[0]), float(self.origin[1])],
                "rle_values": values.tolist(), "rle_lengths": lengths.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "RoomMap":
        try:
            shape = tuple(int(s) for s in d["shape"])
            values = np.asarray(d["rle_values"], dtype=np.int64)
            lengths = np.asarray(d["rle_lengths"], dtype=np.int64)
            if len(shape) != 2 or values.shape != lengths.shape or lengths.sum() != shape[0] * shape[1]:
                raise ValueError("run lengths do not cover the shape")
            labels = np.repeat(values, lengths).reshape(shape).astype(np.int32)
            return cls(labels, float(d["resolution"]), (float(d["origin"][0]), float(d["origin"][1])))
        except (KeyError, TypeError, ValueError) as exc:
            raise SceneGraphError(f"bad room_map: {exc}") from None


class SceneGraph:
    """Layered scene graph. ``graph.nx`` is the underlying ``networkx.MultiDiGraph``.

    Equality compares :meth:`to_dict` output, so two graphs are equal when they would serialise the
    same way."""

    def __init__(self) -> None:
        self.nx = nx.MultiDiGraph()
        self.room_map: Optional[RoomMap] = None
        self.metadata: dict[str, Any] = {}

    # -- nodes -------------------------------------------------------------------------------
    def add_node(self, layer: str, index: int, **attrs: Any) -> str:
        """Add or update node ``layer:index``; returns its name. Array-like attributes listed in
        :data:`ARRAY_ATTRS` are stored as float64 arrays."""
        nid = node_id(layer, index)
        clean = {k: _to_array(k, v) for k, v in attrs.items()}
        clean["layer"] = layer
        clean["id"] = int(index)
        if self.nx.has_node(nid):
            self.nx.nodes[nid].update(clean)
        else:
            self.nx.add_node(nid, **clean)
        return nid

    def has_node(self, nid: str) -> bool:
        return self.nx.has_node(nid)

    def node(self, nid: str) -> dict:
        """Attribute dict of node ``nid`` (live: edits change the graph)."""
        if not self.nx.has_node(nid):
            raise SceneGraphError(f"no node {nid!r} in the scene graph")
        return self.nx.nodes[nid]

    def remove_node(self, nid: str) -> None:
        if self.nx.has_node(nid):
            self.nx.remove_node(nid)

    def nodes(self, layer: Optional[str] = None) -> Iterator[tuple[str, dict]]:
        """(name, attributes) of the nodes in ``layer`` (all layers if None), sorted by name."""
        if layer is not None and layer not in LAYERS:
            raise SceneGraphError(f"unknown layer {layer!r}; expected one of {LAYERS}")
        for nid in sorted(self.nx.nodes, key=_sort_key):
            a = self.nx.nodes[nid]
            if layer is None or a.get("layer") == layer:
                yield nid, a

    def num_nodes(self, layer: Optional[str] = None) -> int:
        return sum(1 for _ in self.nodes(layer))

    def objects(self) -> Iterator[dict]:
        """Attribute dicts of object nodes (keys include id, label, position, bbox_min, bbox_max,
        room, receptacle, relation)."""
        for _, a in self.nodes("object"):
            yield a

    def rooms(self) -> Iterator[dict]:
        for _, a in self.nodes("room"):
            yield a

    def places(self) -> Iterator[dict]:
        for _, a in self.nodes("place"):
            yield a

    def get_object(self, object_id: int) -> Optional[dict]:
        nid = node_id("object", object_id)
        return self.nx.nodes[nid] if self.nx.has_node(nid) else None

    def clear_layer(self, layer: str) -> None:
        """Remove every node of ``layer`` (and their edges)."""
        self.nx.remove_nodes_from([n for n, _ in list(self.nodes(layer))])

    # -- edges -------------------------------------------------------------------------------
    def add_edge(self, u: str, v: str, etype: str, **attrs: Any) -> None:
        """Add (or update) the ``etype`` edge u -> v. Both nodes must exist."""
        if etype not in EDGE_TYPES:
            raise SceneGraphError(f"unknown edge type {etype!r}; expected one of {EDGE_TYPES}")
        for n in (u, v):
            if not self.nx.has_node(n):
                raise SceneGraphError(f"cannot add {etype!r} edge: no node {n!r}")
        self.nx.add_edge(u, v, key=etype, type=etype, **attrs)

    def remove_edges(self, etype: str, u: Optional[str] = None) -> None:
        """Remove all ``etype`` edges (only those leaving ``u`` if given)."""
        if u is not None:
            if not self.nx.has_node(u):
                return
            todo = [(u, v, k) for _, v, k in self.nx.out_edges(u, keys=True) if k == etype]
        else:
            todo = [(a, b, k) for a, b, k in self.nx.edges(keys=True) if k == etype]
        self.nx.remove_edges_from(todo)

    def edges(self, etype: Optional[str] = None) -> list[tuple[str, str, dict]]:
        """(u, v, attributes) of edges of ``etype`` (all types if None), sorted."""
        out = [(u, v, d) for u, v, k, d in self.nx.edges(keys=True, data=True) if etype is None or k == etype]
        out.sort(key=lambda e: (_sort_key(e[0]), _sort_key(e[1]), e[2].get("type", "")))
        return out

    def successors(self, u: str, etype: str) -> list[str]:
        if not self.nx.has_node(u):
            return []
        return sorted((v for _, v, k in self.nx.out_edges(u, keys=True) if k == etype), key=_sort_key)

    def predecessors(self, v: str, etype: str) -> list[str]:
        if not self.nx.has_node(v):
            return []
        return sorted((u for u, _, k in self.nx.in_edges(v, keys=True) if k == etype), key=_sort_key)

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-serialisable native form (``robomem.scenegraph/1``)."""
        nodes = [{"nid": nid, "attrs": {k: _to_json(v) for k, v in sorted(a.items())}} for nid, a in self.nodes()]
        edges = [{"source": u, "target": v, "attrs": {k: _to_json(x) for k, x in sorted(d.items())}}
                 for u, v, d in self.edges()]
        return {"format": "robomem.scenegraph/1", "nodes": nodes, "edges": edges,
                "room_map": self.room_map.to_dict() if self.room_map is not None else None,
                "metadata": _to_json(self.metadata)}

    @classmethod
    def from_dict(cls, d: dict) -> "SceneGraph":
        """Rebuild a graph from :meth:`to_dict` output. Raises :class:`SceneGraphError` on malformed
        input (nothing partially built is returned)."""
        if not isinstance(d, dict) or d.get("format") != "robomem.scenegraph/1":
            raise SceneGraphError("not a robomem scene graph dict (format 'robomem.scenegraph/1' expected)")
        g = cls()
        try:
            for n in d["nodes"]:
                layer, idx = parse_node_id(n["nid"])
                attrs = {k: v for k, v in n["attrs"].items() if k not in ("layer", "id")}
                g.add_node(layer, idx, **attrs)
            for e in d["edges"]:
                attrs = dict(e["attrs"])
                g.add_edge(e["source"], e["target"], attrs.pop("type"), **attrs)
        except (KeyError, TypeError) as exc:
            raise SceneGraphError(f"malformed scene graph dict: {exc!r}") from None
        if d.get("room_map"):
            g.room_map = RoomMap.from_dict(d["room_map"])
        g.metadata = dict(d.get("metadata") or {})
        return g

    def copy(self) -> "SceneGraph":
        return SceneGraph.from_dict(self.to_dict())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SceneGraph):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        counts = ", ".join(f"{layer}={self.num_nodes(layer)}" for layer in LAYERS)
        return f"SceneGraph({counts}, edges={self.nx.number_of_edges()})"


def _sort_key(nid: str):
    layer, _, idx = str(nid).partition(":")
    try:
        return (LAYERS.index(layer) if layer in LAYERS else len(LAYERS), layer, int(idx))
    except ValueError:
        return (len(LAYERS), layer, 0)


def _to_array(key: str, v: Any) -> Any:
    if key in ARRAY_ATTRS and v is not None:
        a = np.array(v, dtype=np.float64)
        if not np.all(np.isfinite(a)):
            raise SceneGraphError(f"attribute {key!r} must be finite, got {v!r}")
        return a
    return v


def _to_json(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, dict):
        return {str(k): _to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_to_json(x) for x in v]
    return v
