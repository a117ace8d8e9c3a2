"""Folding a batch of observations into placements (pure computation, no database).

:func:`plan_batch` turns validated observation columns plus the objects' open placements into a
plan: placements to extend, to close and to open. The caller writes the plan in one transaction and
only then applies it to its cache, so a failed write leaves the cache as committed."""
from __future__ import annotations

import numpy as np

from robomem.memory.records import ObservationColumns


class Seg:
    """A placement being folded (mutable; copied before change so the cache stays as committed)."""

    __slots__ = ("pid", "oid", "ax", "ay", "az", "room", "rec", "t0", "t1", "n", "sx", "sy", "sz", "cs", "closed",
                 "t_changed")

    def __init__(self, pid, oid, ax, ay, az, room, rec, t0, t1, n, sx, sy, sz, cs, closed=False, t_changed=False):
        self.pid, self.oid, self.ax, self.ay, self.az = pid, oid, ax, ay, az
        self.room, self.rec, self.t0, self.t1, self.n = room, rec, t0, t1, n
        self.sx, self.sy, self.sz, self.cs, self.closed, self.t_changed = sx, sy, sz, cs, closed, t_changed

    def copy(self) -> "Seg":
        return Seg(self.pid, self.oid, self.ax, self.ay, self.az, self.room, self.rec, self.t0, self.t1, self.n,
                    self.sx, self.sy, self.sz, self.cs, self.closed, self.t_changed)


def plan_batch(cols: ObservationColumns, opened: dict, known: dict, disappear: dict[int, list[int]],
               tolerance_m: float) -> dict:
    """Fold a validated batch into placement changes without touching the database or the
    cached state (segments taken from the cache are copied before they are changed)."""
    plan = {"objects": {}, "update": [], "new": [], "latest": {}, "open": {}, "n_extended": 0, "ext": None}
    n = len(cols)
    tol2 = tolerance_m ** 2
    if n:
        order = np.lexsort((cols.stamp_ns, cols.object_id))
        oid = cols.object_id[order]
        st = cols.stamp_ns[order]
        pos = cols.position[order]
        conf = cols.confidence[order]
        room = cols.room_id[order]
        rec = cols.receptacle_id[order]
        uniq, starts, counts = np.unique(oid, return_index=True, return_counts=True)
        ends = starts + counts
        m = len(uniq)
        # Vectorised fast path: a whole group consistent with the object's open placement.
        uniq_l = uniq.tolist()
        segs = [opened.get(o) for o in uniq_l]
        has = np.array([sg is not None for sg in segs], bool)
        anc = np.full((m, 3), np.nan)   # anchor (first sighting) of the open placement; NaN: none
        sxyz_old = np.zeros((m, 3))
        aroom = np.full(m, -1, np.int64)
        arec = np.full(m, -1, np.int64)
        t0_old = np.zeros(m, np.int64)
        t1_old = np.zeros(m, np.int64)
        n_old = np.zeros(m, np.int64)
        cs_old = np.zeros(m)
        if has.any():
            hk = np.flatnonzero(has)
            hs = [segs[k] for k in hk.tolist()]
            anc[hk] = [(sg.ax, sg.ay, sg.az) for sg in hs]
            sxyz_old[hk] = [(sg.sx, sg.sy, sg.sz) for sg in hs]
            aroom[hk] = [sg.room for sg in hs]
            arec[hk] = [sg.rec for sg in hs]
            t0_old[hk] = [sg.t0 for sg in hs]
            t1_old[hk] = [sg.t1 for sg in hs]
            n_old[hk] = [sg.n for sg in hs]
            cs_old[hk] = [sg.cs for sg in hs]
        rep = np.repeat(np.arange(m), counts)
        d2 = ((pos - anc[rep]) ** 2).sum(axis=1)
        ok = (d2 <= tol2) & ((room == aroom[rep]) | (room < 0) | (aroom[rep] < 0)) \
            & ((rec == arec[rep]) | (rec < 0) | (arec[rep] < 0))
        # An unknown room/receptacle that this batch learns goes through the sequential path,
        # which fills it in (so a later different value counts as a move).
        learn = ((aroom < 0) & np.logical_or.reduceat(room >= 0, starts)) \
            | ((arec < 0) & np.logical_or.reduceat(rec >= 0, starts))
        all_ok = np.logical_and.reduceat(ok, starts) & ~learn & has
        if disappear:
            all_ok &= ~np.isin(uniq, np.fromiter(disappear, np.int64))
        # Second fast path: the group starts a new placement (moved or first sighting) and all
        # of it is consistent with that first sighting.
        first = pos[starts]
        d2f = ((pos - first[rep]) ** 2).sum(axis=1)
        okf = (d2f <= tol2) & (room == room[starts][rep]) & (rec == rec[starts][rep])
        fresh = (np.logical_and.reduceat(okf, starts) & ~ok[starts] & ~all_ok).tolist()
        sums = np.add.reduceat(pos, starts, axis=0)
        csum = np.add.reduceat(conf, starts)
        tmin = np.minimum.reduceat(st, starts)
        tmax = np.maximum.reduceat(st, starts)
        ek = np.flatnonzero(all_ok)
        if ek.size:
            t0n = np.minimum(t0_old[ek], tmin[ek])
            plan["ext"] = ([segs[k] for k in ek.tolist()], t0n, np.maximum(t1_old[ek], tmax[ek]),
                           n_old[ek] + counts[ek], sxyz_old[ek] + sums[ek], cs_old[ek] + csum[ek],
                           t0n < t0_old[ek])
            plan["n_extended"] += int(ek.size)
        # Objects whose row may change: new ones, and those with a different label or attributes.
        labels, attrs = cols.label, cols.attributes
        last = order[ends - 1].tolist()
        tmin_l = tmin.tolist()
        for k, o in enumerate(uniq_l):
            li = last[k]
            if o not in known or attrs[li] or labels[li] != known[o]:
                plan["objects"][o] = (labels[li], attrs[li], tmin_l[k])
        sums_l, csum_l, tmax_l, counts_l = sums.tolist(), csum.tolist(), tmax.tolist(), counts.tolist()
        first_l = first.tolist()
        room_f = room[starts].tolist()
        rec_f = rec[starts].tolist()
        all_ok_l = all_ok.tolist()
        for k, o in enumerate(uniq_l):
            if all_ok_l[k]:
                continue
            if fresh[k] and o not in disappear:
                ex = segs[k]
                if ex is not None:
                    ex = ex.copy()
                    ex.closed = True
                    plan["update"].append(ex)
                x, y, z = first_l[k]
                seg = Seg(None, o, x, y, z, room_f[k], rec_f[k], tmin_l[k], tmax_l[k], counts_l[k], sums_l[k][0],
                           sums_l[k][1], sums_l[k][2], csum_l[k])
                plan["new"].append(seg)
                plan["latest"][o] = seg
                plan["open"][o] = seg
            else:
                a, b = starts[k], ends[k]
                _fold_sequential(plan, opened, o, st[a:b].tolist(), pos[a:b].tolist(), conf[a:b].tolist(),
                                      room[a:b].tolist(), rec[a:b].tolist(), disappear.get(o, ()), tol2)
    for o, stamps in disappear.items():
        if o not in plan["open"] and o in opened:
            _fold_sequential(plan, opened, o, [], [], [], [], [], stamps, tol2)
    return plan


def _fold_sequential(plan: dict, opened: dict, o: int, st: list, pos: list, conf: list, room: list, rec: list,
                     gone_stamps, tol2: float) -> None:
    existing = opened.get(o)
    ex = existing.copy() if existing is not None else None
    ex_touched = False
    ex_extended = False
    cur = ex
    new_segs: list[Seg] = []
    gone = sorted(int(g) for g in gone_stamps)
    gi = 0
    n = len(st)
    for i in range(n + 1):
        t = st[i] if i < n else None
        while gi < len(gone) and (t is None or gone[gi] < t):
            if cur is not None and gone[gi] >= cur.t0:
                cur.closed = True  # disappeared: the last sighting ends the placement
                ex_touched |= cur is ex
                cur = None
            gi += 1
        if i == n:
            break
        x, y, z = pos[i]
        if cur is not None:
            if ((x - cur.ax) ** 2 + (y - cur.ay) ** 2 + (z - cur.az) ** 2 <= tol2
                    and (room[i] == cur.room or room[i] < 0 or cur.room < 0)
                    and (rec[i] == cur.rec or rec[i] < 0 or cur.rec < 0)):
                if cur.room < 0 <= room[i]:
                    cur.room = room[i]
                if cur.rec < 0 <= rec[i]:
                    cur.rec = rec[i]
                if t < cur.t0:
                    cur.t0 = t
                    cur.t_changed = True
                if t > cur.t1:
                    cur.t1 = t
                cur.n += 1
                cur.sx += x; cur.sy += y; cur.sz += z
                cur.cs += conf[i]
                if cur is ex:
                    ex_touched = ex_extended = True
                continue
            cur.closed = True  # moved: close and open a new placement below
            ex_touched |= cur is ex
        cur = Seg(None, o, x, y, z, room[i], rec[i], t, t, 1, x, y, z, conf[i])
        new_segs.append(cur)
    if ex is not None and ex_touched:
        plan["update"].append(ex)
        plan["n_extended"] += int(ex_extended)
    plan["new"].extend(new_segs)
    if new_segs:
        plan["latest"][o] = new_segs[-1]  # its id is assigned at insert time
        plan["open"][o] = new_segs[-1]
    elif ex is not None:
        plan["open"][o] = ex
