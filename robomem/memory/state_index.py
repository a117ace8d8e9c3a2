"""The placements' "valid until" chain and its R*Tree (schema v4), kept by the writer.

Every placement has ``t_next``: the ``t_start`` of the same object's next placement (order
``t_start, id``), NULL for its latest one. ``state_rtree`` holds each placement's box (that of
``placement_rtree``) over ``[t_start, t_next]`` in R*Tree time (``OPEN_T`` while it is the latest),
so "where was everything in this box at t" — the latest placement begun at or before t of every
object — is one R*Tree look-up instead of a scan of every placement that touched the box.

The writer keeps a mirror of each object's latest placement (id, t_start) and links new
placements to it inside the ingest transaction; whatever the mirror cannot decide (a placement
begun before the latest one, a changed ``t_start``, deleted placements) is recomputed from the
table for those objects (:func:`relink`), in the same transaction."""
from __future__ import annotations

import sqlite3
from typing import Iterable, Optional

from robomem.memory.schema import OPEN_T


def load_latest(c: sqlite3.Connection) -> dict:
    """object id -> (placement id, t_start) of its latest placement (t_next IS NULL)."""
    return {oid: (pid, ts) for oid, pid, ts in c.execute(
        "SELECT object_id, id, t_start FROM placements WHERE t_next IS NULL")}


def link_new(new_segs: list, latest: dict, changed_start: Iterable[int]) -> tuple[dict, list, dict, set]:
    """Plan the chain for a batch: (t_next per new placement id, ``(t_next, id)`` updates of stored
    placements, the objects' new latest placements, objects to :func:`relink` from the table).
    ``changed_start``: objects whose stored placement's t_start changed (they are relinked)."""
    refresh = set(int(o) for o in changed_start)
    groups: dict = {}
    for s in new_segs:
        groups.setdefault(s.oid, []).append(s)
    t_next, updates, new_latest = {}, [], {}
    for oid, segs in groups.items():
        if oid in refresh:
            continue
        segs.sort(key=lambda s: (s.t0, s.pid))
        last = latest.get(oid)
        if last is not None and segs[0].t0 < last[1]:
            refresh.add(oid)            # begun before the stored latest one: recompute from the table
            continue
        if last is not None:
            updates.append((segs[0].t0, last[0]))
        for a, b in zip(segs, segs[1:]):
            t_next[a.pid] = b.t0
        new_latest[oid] = (segs[-1].pid, segs[-1].t0)
    return t_next, updates, new_latest, refresh


def write_links(c: sqlite3.Connection, updates: list, origin: int) -> None:
    """Store ``(t_next, placement id)`` updates in the table and the state R*Tree."""
    if updates:
        c.executemany("UPDATE placements SET t_next = ? WHERE id = ?", updates)
        c.executemany("UPDATE state_rtree SET t1 = ? WHERE id = ?",
                      [(rtree_t(t, origin), pid) for t, pid in updates])


def rtree_t(t_next: Optional[int], origin: int) -> float:
    return OPEN_T if t_next is None else (int(t_next) - origin) * 1e-9


def relink(c: sqlite3.Connection, object_ids: Iterable[int], origin: int) -> dict:
    """Recompute ``t_next`` and the state R*Tree's times of every placement of these objects from
    the table. Returns object id -> (placement id, t_start) of each one's latest placement."""
    ids = sorted(int(o) for o in object_ids)
    latest = {}
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        rows = c.execute(
            "SELECT id, object_id, t_start, t_next, lead(t_start) OVER (PARTITION BY object_id ORDER BY t_start, id) "
            f"FROM placements WHERE object_id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
        fix = [(nx, pid) for pid, _, _, old, nx in rows if old != nx]
        if fix:
            c.executemany("UPDATE placements SET t_next = ? WHERE id = ?", fix)
        c.executemany("UPDATE state_rtree SET t0 = ?, t1 = ? WHERE id = ?",
                      [((ts - origin) * 1e-9, rtree_t(nx, origin), pid) for pid, _, ts, _, nx in rows])
        for pid, oid, ts, _, nx in rows:
            if nx is None:
                latest[oid] = (pid, ts)
    return latest


def state_in_box(lt, lo, hi, t_ns: int, cols: str = "p.id", where: str = "", params: Iterable = (),
                 t1_ns: Optional[int] = None) -> list:
    """Rows (``cols`` over ``placements p JOIN objects o``) of the placement each object was at at
    ``t_ns`` — its latest begun at or before ``t_ns`` — whose position lies in the box [lo, hi]
    (None: unbounded), optionally restricted by the SQL condition ``where`` (with ``params``). With
    ``t1_ns``: the placements that held at some time in [t_ns, t1_ns]. One look-up in the state
    R*Tree; reads only (``lt``: an open long-term store)."""
    t1_ns = int(t_ns) if t1_ns is None else int(t1_ns)
    t, t1 = lt.rtree_time(int(t_ns)), lt.rtree_time(t1_ns)
    if t is None:
        return []
    cond, args = ["s.t0 <= ?", "s.t1 >= ?", "p.t_start <= ?", "(p.t_next IS NULL OR p.t_next > ?)"], \
        [t1, t, t1_ns, int(t_ns)]
    if lo is not None:
        for k, ax in enumerate("xyz"):
            a, b = float(lo[k]), float(hi[k])
            cond += [f"s.{ax}1 >= ?", f"s.{ax}0 <= ?", f"p.{ax} BETWEEN ? AND ?"]
            args += [a, b, a, b]
    if where:
        cond.append(f"({where})")
        args += list(params)
    return lt.read(f"SELECT {cols} FROM state_rtree s JOIN placements p ON p.id = s.id JOIN objects o "
                   "ON o.id = p.object_id WHERE " + " AND ".join(cond), args)
