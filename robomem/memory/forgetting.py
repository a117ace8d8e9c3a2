"""Forgetting on the long-term store: decay and budgets of placements and keyframes (a mixin of
:class:`~robomem.memory.longterm.LongTermMemory`; the policy is in :mod:`robomem.memory.consolidation`)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from robomem.memory import consolidation as _cons
from robomem.memory import state_index as _chain
from robomem.memory.records import ForgetReport, check_stamp


class Forgetting:
    """:meth:`forget` of the long-term store (uses its transaction and writer state)."""

    def forget(self, now_ns: int, policy: Optional[_cons.ForgettingPolicy] = None) -> ForgetReport:
        """Apply decay and budgets (see :mod:`robomem.memory.consolidation`). Never deletes an
        object, its current (last known) placement, or any event."""
        now_ns = check_stamp(now_ns, "forget")
        policy = policy or _cons.ForgettingPolicy()
        rep, relinked = ForgetReport(), {}
        with self._tx() as c:
            rows = c.execute("SELECT p.id, p.t_end, p.n_obs, p.conf_sum, p.object_id FROM placements p "
                             "WHERE p.closed = 1 AND NOT EXISTS "
                             "(SELECT 1 FROM objects o WHERE o.current_placement = p.id)").fetchall()
            if rows:
                a = np.array(rows, dtype=np.float64)
                ids = a[:, 0].astype(np.int64)
                ret = _cons.placement_retention(now_ns, a[:, 1].astype(np.int64), a[:, 2], a[:, 3],
                                                policy.placement_half_life_ns, policy.n_reference)
                drop = ret < policy.min_retention
                if policy.max_placements is not None:
                    total = c.execute("SELECT count(*) FROM placements").fetchone()[0]
                    excess = total - int(drop.sum()) - policy.max_placements
                    if excess > 0:
                        keep_idx = np.flatnonzero(~drop)
                        worst = keep_idx[np.argsort(ret[keep_idx], kind="stable")[:excess]]
                        drop[worst] = True
                victims = [(int(i),) for i in ids[drop]]
                if victims:
                    c.executemany("DELETE FROM placements WHERE id = ?", victims)
                    c.executemany("DELETE FROM placement_rtree WHERE id = ?", victims)
                    c.executemany("DELETE FROM state_rtree WHERE id = ?", victims)
                    self._load_origin()
                    relinked = _chain.relink(c, {int(o) for o in a[drop, 4]}, self._origin)
                rep.placements_deleted = len(victims)
            before = c.execute("SELECT coalesce(sum(nbytes), 0) FROM keyframes").fetchone()[0]
            rows = c.execute("SELECT id, stamp_ns, importance FROM keyframes").fetchall()
            if rows:
                a = np.array(rows, dtype=np.float64)
                ret = _cons.keyframe_retention(now_ns, a[:, 1].astype(np.int64), a[:, 2], policy.keyframe_half_life_ns)
                victims = [(int(i),) for i in a[ret < policy.min_retention, 0]]
                if victims:
                    c.executemany("DELETE FROM keyframes WHERE id = ?", victims)
                    c.executemany("DELETE FROM keyframe_objects WHERE keyframe_id = ?", victims)
            self._evict_keyframes(c, now_ns, policy.keyframe_half_life_ns, self.keyframe_budget_bytes)
            after = c.execute("SELECT coalesce(sum(nbytes), 0) FROM keyframes").fetchone()[0]
            rep.keyframes_deleted = len(rows) - c.execute("SELECT count(*) FROM keyframes").fetchone()[0]
            rep.bytes_freed = int(before - after)
        if self._writer_state_loaded:
            self._chain_last.update(relinked)
        return rep
