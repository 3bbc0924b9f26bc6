"""Bulk actions over a filter: preview the count first, never touch more than was confirmed.

The preview returns the ids it counted; applying with them acts on exactly that set (those still
in a state the action applies to) and reports how many matching records arrived since, instead of
refusing: while an engine runs, "all matching" grows all the time, and a technician must be able
to act on what they saw.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from syncops.services import audit
from syncops.services.actions import snapshot, spec, transition_values
from syncops.services.actor import Actor
from syncops.services.errors import ActionError, ReasonRequired
from syncops.store.db import Store
from syncops.store.filters import RecordFilter, where_clauses
from syncops.store.tables import Record

R = Record.__table__
CHUNK = 500


@dataclass
class BulkPreview:
    action: str
    count: int
    by_state: dict[str, int]
    tenants: list[str]
    description: str
    ids: tuple[int, ...] = ()  # the records counted: apply(ids=...) acts on these and no others


@dataclass
class BulkResult:
    action: str
    touched: int
    confirmed: int
    arrived_later: int = 0  # matching now but not counted: left alone, for another look
    gone: int = 0  # counted, but changed meanwhile (no longer in a state the action applies to)


def _matching(conn, f: RecordFilter, states: tuple[str, ...], now: float):
    stmt = select(R.c.id, R.c.version, R.c.state, R.c.tenant, R.c.attempts, R.c.error_category).where(
        *where_clauses(f, now), R.c.state.in_(list(states)))
    return conn.execute(stmt).all()


def preview(store: Store, action: str, f: RecordFilter) -> BulkPreview:
    s = spec(action)
    with store.read() as conn:
        rows = _matching(conn, f, s.from_states, store.clock())
    return BulkPreview(action, len(rows), dict(Counter(r.state for r in rows)),
                       sorted({r.tenant for r in rows}), f.describe(), tuple(r.id for r in rows))


def apply(store: Store, action: str, f: RecordFilter, *, actor: Actor, confirmed_count: int,
          reason: str | None = None, ids: tuple[int, ...] | None = None) -> BulkResult:
    """Act on every record matching `f` that the action applies to.

    With `ids` (the preview's): act on those only, and report the ones that arrived since.
    Without: refuse when more records match now than the human confirmed (the engine may have
    failed more since the preview): they must look again rather than act blind.
    """
    s = spec(action)
    reason = (reason or "").strip() or None
    if s.reason_required and not reason:
        raise ReasonRequired(f"bulk {action} needs a reason (it is kept in the audit trail)")
    if f.is_empty():
        raise ActionError("a bulk action needs at least one filter; to act on everything, say so with a state filter")
    now = store.clock()
    with store.write() as conn:
        rows = _matching(conn, f, s.from_states, now)
        later = gone = 0
        if ids is not None:
            counted = set(ids)
            if len(counted) > confirmed_count:
                raise ActionError(f"{len(counted)} records given, more than the {confirmed_count} you confirmed")
            later = sum(1 for r in rows if r.id not in counted)
            rows = [r for r in rows if r.id in counted]
            gone = len(counted) - len(rows)
        elif len(rows) > confirmed_count:
            raise ActionError(f"{len(rows)} records match now, more than the {confirmed_count} you confirmed; "
                              f"nothing was changed: preview again")
        changed = act_on_rows(conn, action, rows, actor=actor, now=now, reason=reason)
        gone += len(rows) - len(changed)  # claimed by an engine in between
        rows = changed
        # The extra figures only when there are some: a plain bulk reads as before.
        summary = ({"count": len(rows)} | ({"arrived_later": later} if later else {})
                   | ({"changed_meanwhile": gone} if gone else {}))
        audit.write(conn, [audit.audit_row(actor, now, f"bulk_{action}", "bulk", f.describe(),
                                           after=summary, reason=reason, tenant=f.tenant)])
    return BulkResult(action, len(rows), confirmed_count, later, gone)


def act_on_rows(conn, action: str, rows, *, actor: Actor, now: float, reason: str | None) -> list:
    """Apply `action` to `rows` (from `_matching`) in the caller's transaction, each audited;
    returns the rows actually changed. Shared with the canary retry (services.canary)."""
    s = spec(action)
    values = transition_values(s, now, reason)
    done: set[int] = set()
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i:i + CHUNK]
        # The state guard matters on PostgreSQL, where the engine may claim a record between
        # the read above and this write (SQLite's BEGIN IMMEDIATE already excludes that).
        done |= set(conn.execute(R.update().where(R.c.id.in_([r.id for r in chunk]),
                                                  R.c.state.in_(s.from_states))
                                 .values(version=R.c.version + 1, **values).returning(R.c.id)).scalars())
    rows = [r for r in rows if r.id in done]
    after_state = {"state": s.to_state}
    audit.write(conn, [audit.audit_row(actor, now, action, "record", str(r.id), tenant=r.tenant,
                                       before=snapshot(r), after=after_state | {"version": r.version + 1},
                                       reason=reason) for r in rows])
    return rows
