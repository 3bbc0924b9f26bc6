"""Retention: finished records age out; failed and quarantined ones never do (they need a human).

Per-minute flow statistics age out too, after the records' horizon or STATS_DAYS, whichever
is sooner: every reader looks at most hours back (dashboards, alert windows, /metrics; long
history belongs to Prometheus), and an active flow adds a row every minute.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select

from syncops.store.db import Store
from syncops.store.tables import TERMINAL_STATES, Attempt, FlowMinute, PayloadVersion, Record

R = Record.__table__
M = FlowMinute.__table__
STATS_DAYS = 7.0


def purge(store: Store, *, older_than_days: float, batch: int = 5000) -> int:
    """Delete delivered, superseded and resolved records last changed more than N days ago.

    Works in batches so an engine sharing the store never waits long for the write lock.
    """
    cutoff = store.clock() - older_than_days * 86400
    total = 0
    while True:
        with store.write() as conn:
            ids = conn.execute(select(R.c.id).where(R.c.state.in_(TERMINAL_STATES), R.c.updated_at < cutoff)
                               .limit(batch)).scalars().all()
            if not ids:
                return total
            # Children first: explicit deletes keep PostgreSQL and SQLite (FKs on) identical.
            conn.execute(Attempt.__table__.delete().where(Attempt.__table__.c.record_id.in_(ids)))
            conn.execute(PayloadVersion.__table__.delete().where(PayloadVersion.__table__.c.record_id.in_(ids)))
            conn.execute(R.delete().where(R.c.id.in_(ids)))
            total += len(ids)


_DELETE_MINUTE = M.delete().where(M.c.tenant == bindparam("t"), M.c.flow == bindparam("f"),
                                  M.c.minute == bindparam("m"))


def purge_stats(store: Store, *, older_than_days: float, batch: int = 5000) -> int:
    """Delete per-minute flow statistics older than N days (at most STATS_DAYS), in batches;
    returns the rows deleted."""
    cutoff = int((store.clock() - min(older_than_days, STATS_DAYS) * 86400) // 60)
    total = 0
    while True:
        with store.write() as conn:
            keys = conn.execute(select(M.c.tenant, M.c.flow, M.c.minute).where(M.c.minute < cutoff)
                                .limit(batch)).all()
            if not keys:
                return total
            conn.execute(_DELETE_MINUTE, [dict(t=t, f=f, m=m) for t, f, m in keys])
            total += len(keys)
