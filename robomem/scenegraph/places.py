"""Places: a sparse free-space graph for navigation.

Places are picked on the 2-D grid's free space where the clearance (distance to the nearest
non-free cell) is locally largest: one per ``spacing`` x ``spacing`` block (so they lie near the
medial axis), plus one in the middle of every door between two rooms when a room map is given.
Two places are connected when they are within ``connect_radius`` and the straight segment between
them keeps ``clearance`` from obstacles everywhere."""
from __future__ import annotations

from typing import Optional

import networkx as nx
import numpy as np
from scipy import ndimage

from robomem.errors import InvalidInputError
from robomem.scenegraph.graph import RoomMap, SceneGraph, SceneGraphError, node_id


def extract_places(grid, *, spacing: float = 1.0, clearance: float = 0.2, connect_radius: float = 2.2,
                   room_map: Optional[RoomMap] = None) -> tuple[np.ndarray, np.ndarray, list]:
    """(positions (K, 2) world xy, clearance (K,) metres, edges [(i, j, length)]) for ``grid``."""
    data = np.asarray(grid.data)
    if data.ndim != 2 or data.size == 0:
        raise InvalidInputError(f"grid data must be a non-empty 2-D array, got shape {data.shape}")
    res = float(grid.resolution)
    ox, oy = float(grid.origin[0]), float(grid.origin[1])
    free = data == 0
    dt = ndimage.distance_transform_edt(free) * res
    b = max(1, int(round(spacing / res)))
    H, W = dt.shape
    Hp, Wp = -(-H // b) * b, -(-W // b) * b
    pad = np.zeros((Hp, Wp))
    pad[:H, :W] = dt
    blocks = pad.reshape(Hp // b, b, Wp // b, b).transpose(0, 2, 1, 3).reshape(Hp // b, Wp // b, b * b)
    arg = blocks.argmax(axis=2)
    best = np.take_along_axis(blocks, arg[..., None], axis=2)[..., 0]
    bi, bj = np.nonzero(best >= clearance)
    rows = bi * b + arg[bi, bj] // b
    cols = bj * b + arg[bi, bj] % b
    cells = [np.stack([rows, cols], 1)]
    if room_map is not None and room_map.labels.shape == dt.shape:
        cells.append(_door_cells(room_map.labels, dt, clearance))
    rc = np.concatenate(cells).astype(np.int64)
    if len(rc) == 0:
        return np.zeros((0, 2)), np.zeros(0), []
    rc = np.unique(rc, axis=0)
    pos = np.stack([ox + (rc[:, 1] + 0.5) * res, oy + (rc[:, 0] + 0.5) * res], 1)
    clear = dt[rc[:, 0], rc[:, 1]]
    traversable = dt >= clearance * 0.8
    d = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=2)
    ii, jj = np.nonzero(np.triu(d <= connect_radius, k=1))
    if len(ii) == 0:
        return pos, clear, []
    # Every candidate segment sampled every half cell, all pairs in one pass: sample k of a pair with
    # n samples is at t = k / (n - 1) (the last exactly 1), as np.linspace(0, 1, n) computes it.
    dij = d[ii, jj]
    n = np.ceil(dij / (0.5 * res)).astype(np.int64) + 1
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    k = np.arange(int(n.sum())) - np.repeat(starts, n)
    t = k.astype(np.float64) * np.repeat(1.0 / (n - 1), n)
    t[starts + n - 1] = 1.0
    pi, pj = np.repeat(ii, n), np.repeat(jj, n)
    r = np.rint(rc[pi, 0] + t * (rc[pj, 0] - rc[pi, 0])).astype(np.int64)
    c = np.rint(rc[pi, 1] + t * (rc[pj, 1] - rc[pi, 1])).astype(np.int64)
    ok = np.logical_and.reduceat(traversable[r, c], starts)
    edges = [(int(i), int(j), float(x)) for i, j, x, o in zip(ii, jj, dij, ok) if o]
    return pos, clear, edges


def _door_cells(labels: np.ndarray, dt: np.ndarray, clearance: float) -> np.ndarray:
    """One cell per connected piece of boundary between two different rooms (the one with the most
    clearance), so paths can cross doors."""
    out = []
    border = np.zeros(labels.shape, bool)
    pair_a = np.zeros(labels.shape, np.int64)
    pair_b = np.zeros(labels.shape, np.int64)
    a, b = labels[:, :-1], labels[:, 1:]
    m = (a != b) & (a > 0) & (b > 0)
    border[:, :-1] |= m
    pair_a[:, :-1][m], pair_b[:, :-1][m] = np.minimum(a, b)[m], np.maximum(a, b)[m]
    a, b = labels[:-1, :], labels[1:, :]
    m = (a != b) & (a > 0) & (b > 0)
    border[:-1, :] |= m
    pair_a[:-1, :][m], pair_b[:-1, :][m] = np.minimum(a, b)[m], np.maximum(a, b)[m]
    comp, n = ndimage.label(border, structure=np.ones((3, 3)))
    for k in range(1, n + 1):
        rr, cc = np.nonzero(comp == k)
        best = np.argmax(dt[rr, cc])
        if dt[rr[best], cc[best]] >= clearance:
            out.append((rr[best], cc[best]))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def add_places(graph: SceneGraph, positions: np.ndarray, clearance: np.ndarray, edges: list, *,
               floor_z: float = 0.0) -> None:
    """Replace the place layer with ``positions`` (ids 1..K), ``connected`` edges (``distance``),
    ``contains`` edges from rooms (when the graph has a room map) and each object's
    ``nearest_place`` edge."""
    graph.clear_layer("place")
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    rooms = graph.room_map.room_at(pos) if graph.room_map is not None and len(pos) else np.zeros(len(pos), int)
    for k, ((x, y), c, r) in enumerate(zip(pos, clearance, rooms), start=1):
        nid = graph.add_node("place", k, position=[x, y, floor_z], distance=float(c),
                             room=int(r) if r > 0 else None)
        rid = node_id("room", int(r))
        if r > 0 and graph.has_node(rid):
            graph.add_edge(rid, nid, "contains")
    for i, j, d in edges:
        graph.add_edge(node_id("place", i + 1), node_id("place", j + 1), "connected", distance=float(d))
    link_objects_to_places(graph)


def link_objects_to_places(graph: SceneGraph) -> None:
    """(Re)connect every object to its nearest place (``nearest_place`` edge). Runs every frame
    once places exist: the nearest places are found in one vectorised step and only the edges that
    change are touched."""
    G = graph.nx
    have = {(u, v) for u, v, k in G.edges(keys=True) if k == "nearest_place"}
    places = list(graph.nodes("place"))
    objs = list(graph.nodes("object"))
    want = set()
    if places and objs:
        P = np.array([a["position"][:2] for _, a in places], dtype=np.float64)
        O = np.array([np.asarray(a["position"][:2], dtype=np.float64) for _, a in objs])
        near = np.argmin(np.linalg.norm(O[:, None, :] - P[None, :, :], axis=2), axis=1)
        want = {(nid, places[k][0]) for (nid, _), k in zip(objs, near.tolist())}
    G.remove_edges_from([(u, v, "nearest_place") for u, v in have - want])
    for u, v in want - have:
        graph.add_edge(u, v, "nearest_place")


def place_graph(graph: SceneGraph) -> nx.Graph:
    """Undirected networkx graph of places (node = place name, edge weight = ``distance``)."""
    G = nx.Graph()
    for nid, a in graph.nodes("place"):
        G.add_node(nid, position=a["position"])
    for u, v, d in graph.edges("connected"):
        G.add_edge(u, v, weight=d.get("distance", 1.0))
    return G


def shortest_path(graph: SceneGraph, start, goal) -> tuple[np.ndarray, float]:
    """Waypoints (N, 3) through the place graph from ``start`` to ``goal`` (world points, (2,) or
    (3,)) and the path length; each end is joined to its nearest place. Returns an empty array and
    ``inf`` when no path exists. Raises :class:`SceneGraphError` when the graph has no places."""
    G = place_graph(graph)
    if G.number_of_nodes() == 0:
        raise SceneGraphError("the scene graph has no places; run add_places first")
    names = list(G.nodes)
    P = np.array([G.nodes[n]["position"] for n in names], dtype=np.float64)
    s = np.asarray(start, dtype=np.float64)
    g = np.asarray(goal, dtype=np.float64)
    si = int(np.argmin(np.linalg.norm(P[:, :2] - s[:2], axis=1)))
    gi = int(np.argmin(np.linalg.norm(P[:, :2] - g[:2], axis=1)))
    try:
        route = nx.shortest_path(G, names[si], names[gi], weight="weight")
    except nx.NetworkXNoPath:
        return np.zeros((0, 3)), float("inf")
    pts = [np.r_[s[:2], P[si, 2]]] + [P[names.index(n)] for n in route] + [np.r_[g[:2], P[gi, 2]]]
    pts = np.array(pts)
    return pts, float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
