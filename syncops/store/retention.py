"""Retention: finished records age out; failed and quarantined ones never do (they need a human)."""

from __future__ import annotations

from sqlalchemy import select

from syncops.store.db import Store
from syncops.store.tables import TERMINAL_STATES, Attempt, PayloadVersion, Record

R = Record.__table__


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
