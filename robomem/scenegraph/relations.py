"""Object relations over a :class:`SceneGraph`: *on* (support), *in* (containment), *near*, *in room*.

All pairwise tests are vectorised over the object boxes (N x N), so recomputing every relation per
frame is cheap for the few hundred objects of a house."""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

from robomem.scenegraph.graph import SceneGraph, node_id


#: metres: supports whose tops are this close in height count as one surface (the widest carries)
FLAT_SUPPORT_DZ = 0.03


def support_matrix(bmin: np.ndarray, bmax: np.ndarray, *, below_tol: float = 0.06, above_tol: float = 0.06,
                   min_xy_overlap: float = 0.5) -> np.ndarray:
    """(N, N) bool: ``S[i, j]`` = object i rests on object j: i's bottom within ``below_tol`` below /
    ``above_tol`` above j's top, at least ``min_xy_overlap`` of i's footprint over j's footprint, and
    j's top below i's top (so a thing is not "on" something taller that merely encloses it)."""
    bottom = bmin[:, 2][:, None]
    top_j = bmax[:, 2][None, :]
    z_ok = (bottom >= top_j - below_tol) & (bottom <= top_j + above_tol) & (bmax[:, 2][:, None] > top_j)
    ov = _xy_overlap(bmin, bmax)
    area_i = np.maximum(np.prod(bmax[:, :2] - bmin[:, :2], axis=1), 1e-6)[:, None]
    S = z_ok & (ov / area_i >= min_xy_overlap)
    np.fill_diagonal(S, False)
    return S


def containment_matrix(bmin: np.ndarray, bmax: np.ndarray, *, min_inside: float = 0.8) -> np.ndarray:
    """(N, N) bool: ``C[i, j]`` = at least ``min_inside`` of box i's volume is inside box j and j is
    larger (volume) than i."""
    pad = 0.01
    lo = np.maximum(bmin[:, None, :], bmin[None, :, :])
    hi = np.minimum(bmax[:, None, :], bmax[None, :, :])
    inter = np.prod(np.clip(hi - lo + 2 * pad, 0, None), axis=2)
    vol = np.prod(bmax - bmin + 2 * pad, axis=1)
    C = (inter / vol[:, None] >= min_inside) & (vol[None, :] > 1.5 * vol[:, None])
    np.fill_diagonal(C, False)
    return C


def box_gap(bmin: np.ndarray, bmax: np.ndarray) -> np.ndarray:
    """(N, N) Euclidean gap between boxes (0 when they touch or overlap)."""
    d = np.maximum(0.0, np.maximum(bmin[:, None, :] - bmax[None, :, :], bmin[None, :, :] - bmax[:, None, :]))
    return np.sqrt((d * d).sum(axis=2))


def _xy_overlap(bmin, bmax):
    lo = np.maximum(bmin[:, None, :2], bmin[None, :, :2])
    hi = np.minimum(bmax[:, None, :2], bmax[None, :, :2])
    return np.prod(np.clip(hi - lo, 0, None), axis=2)


def has_inner_support(points: np.ndarray, bmin: np.ndarray, bmax: np.ndarray, *, margin: float = 0.12,
                      below: float = 0.05, above: float = 0.03, min_points: int = 3) -> bool:
    """True when ``points`` (a container's surface points) include a horizontal surface right
    under the box ``bmin``..``bmax``: points within ``margin`` around its footprint and at its
    bottom height (-``below`` .. +``above``). The object's own footprint hides the surface
    directly below it, so the margin ring is what is usually seen (a sofa seat, a shelf board)."""
    if points is None or len(points) == 0:
        return False
    p = np.asarray(points)
    z0 = bmin[2]
    m = ((p[:, 0] >= bmin[0] - margin) & (p[:, 0] <= bmax[0] + margin) & (p[:, 1] >= bmin[1] - margin)
         & (p[:, 1] <= bmax[1] + margin) & (p[:, 2] >= z0 - below) & (p[:, 2] <= z0 + above))
    return int(m.sum()) >= min_points


def update_object_relations(graph: SceneGraph, *, near_gap: float = 0.4, below_tol: float = 0.06,
                            above_tol: float = 0.06, include_disappeared: bool = False,
                            points: Optional[Mapping[int, np.ndarray]] = None) -> None:
    """Recompute *on*, *in*, *near* and *in_room* edges for all object nodes and set each object's
    ``receptacle`` (id or None), ``relation`` ("on"/"in"/None) and ``room`` (room id or None)
    attributes. Objects whose ``state`` is ``"disappeared"`` are left out unless asked.

    *on* = resting on the top of another object's box, or, with ``points`` (object id -> surface
    points, e.g. from the tracker), on an inner surface of a containing object (a shelf board, a
    sofa seat: see :func:`has_inner_support`); *in* = inside another object's box otherwise."""
    G = graph.nx
    nodes = G.nodes
    all_objs = [(n, nodes[n]) for n in G.nodes if nodes[n].get("layer") == "object"]
    objs = [(n, a) for n, a in all_objs if include_disappeared or a.get("state", "present") != "disappeared"]
    want: dict[str, dict] = {"on": {}, "in": {}, "near": {}, "in_room": {}}
    for _, a in all_objs:
        a["receptacle"], a["relation"], a["room"] = None, None, None
    if objs:
        bmin = np.array([a["bbox_min"] for _, a in objs], dtype=np.float64)
        bmax = np.array([a["bbox_max"] for _, a in objs], dtype=np.float64)
        S = support_matrix(bmin, bmax, below_tol=below_tol, above_tol=above_tol)
        C = containment_matrix(bmin, bmax)
        gap = box_gap(bmin, bmax)
        top = bmax[:, 2]
        vol = np.prod(bmax - bmin, axis=1)
        footprint = np.prod(bmax[:, :2] - bmin[:, :2], axis=1)
        for i in np.flatnonzero(S.any(axis=1) | C.any(axis=1)):
            nid, a = objs[i]
            sup = np.flatnonzero(S[i])
            if len(sup):
                # The highest support surface carries the object (a book on a box on a table is on
                # the box); supports level with it (tops within FLAT_SUPPORT_DZ, e.g. a phone lying
                # flat on the nightstand next to the glasses) go to the widest one (the nightstand).
                level = sup[top[sup] >= top[sup].max() - FLAT_SUPPORT_DZ]
                j = level[np.argmax(footprint[level])]
                rel = "on"
            else:
                cont = np.flatnonzero(C[i])
                j = cont[np.argmin(vol[cont])]
                rel = "in"
                if points is not None and has_inner_support(points.get(objs[j][1]["id"]), bmin[i], bmax[i]):
                    rel = "on"
            a["receptacle"], a["relation"] = objs[j][1]["id"], rel
            want[rel][(nid, objs[j][0])] = {}
        ii, jj = np.nonzero(np.triu(gap <= near_gap, k=1))
        for i, j in zip(ii, jj):
            want["near"][(objs[i][0], objs[j][0])] = {"gap": float(gap[i, j])}
        if graph.room_map is not None:
            cent = np.array([a["position"][:2] for _, a in objs])
            rooms = graph.room_map.room_at(cent)
            for (nid, a), r in zip(objs, rooms):
                rid = node_id("room", int(r)) if r > 0 else None
                if rid is not None and G.has_node(rid):
                    a["room"] = int(r)
                    want["in_room"][(nid, rid)] = {}
    # Apply only the differences: most relations do not change from one frame to the next.
    have: dict[str, set] = {k: set() for k in want}
    for u, v, k in G.edges(keys=True):
        if k in have:
            have[k].add((u, v))
    for etype, edges in want.items():
        G.remove_edges_from([(u, v, etype) for u, v in have[etype] - edges.keys()])
        for (u, v), attrs in edges.items():
            if (u, v) not in have[etype]:
                G.add_edge(u, v, key=etype, type=etype, **attrs)
            elif attrs:
                G.edges[u, v, etype].update(attrs)
