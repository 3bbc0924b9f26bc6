"""Read queries the console needs beyond syncops.store.queries (owned by the console).

Two things the console does every second or on every keystroke, on stores of a million
records, where the general-purpose queries were too slow:

* `exceptions_page`: a keyset page in id order. The planner answers `state IN (...)
  ORDER BY id DESC LIMIT n` by fetching every exception row and sorting them (~250 ms at
  200k exceptions). Walking id ranges newest-first, each range filtered through the state
  index (which carries the id), finds a page after a few thousand rows instead.
* `change_marker`: a handful of index seeks that change whenever anything the dashboard
  shows changes, so an idle console does not recount the table every second.
"""

from __future__ import annotations

from typing import Any

from dataclasses import replace

from sqlalchemy import func, literal_column, select

from syncops.store import queries
from syncops.store.db import Store
from syncops.store.filters import RecordFilter, where_clauses
from syncops.store.queries import LIST_COLUMNS, Page
from syncops.store.tables import STATES, AuditEvent, EndpointState, FlowControl, FlowCursor, MappingEntry, Record

R = Record.__table__
FIRST_SPAN = 25_000
MAX_SPAN = 400_000


def _id_bounds(conn: Any) -> tuple[int, int]:
    # Two statements: SQLite answers a lone min() or max() from the rowid b-tree in O(log n),
    # but min() and max() in one SELECT scan the whole table.
    lo = conn.execute(select(func.min(R.c.id))).scalar()
    hi = conn.execute(select(func.max(R.c.id))).scalar()
    return (lo or 0), (hi or 0)


def exceptions_page(store: Store, f: RecordFilter, *, limit: int = 200, sort: str = "id",
                    descending: bool = True, after: tuple[Any, int] | None = None) -> Page:
    """Like queries.list_records, but id-ordered pages cost what the page costs."""
    if sort != "id":
        return queries.list_records(store, f, limit=limit, sort=sort, descending=descending, after=after)
    clauses = _page_clauses(f, store.clock())
    rows: list[Any] = []
    span = FIRST_SPAN
    with store.read() as conn:
        lo, hi = _id_bounds(conn)
        if descending:
            edge = hi if after is None else after[1] - 1
            while edge >= lo and len(rows) <= limit:
                stmt = (select(*LIST_COLUMNS).where(*clauses, R.c.id <= edge, R.c.id > edge - span)
                        .order_by(R.c.id.desc()).limit(limit + 1 - len(rows)))
                rows += conn.execute(stmt).all()
                edge -= span
                span = min(span * 2, MAX_SPAN)  # sparse filters: widen the range, fewer round trips
        else:
            edge = lo if after is None else after[1] + 1
            while edge <= hi and len(rows) <= limit:
                stmt = (select(*LIST_COLUMNS).where(*clauses, R.c.id >= edge, R.c.id < edge + span)
                        .order_by(R.c.id.asc()).limit(limit + 1 - len(rows)))
                rows += conn.execute(stmt).all()
                edge += span
                span = min(span * 2, MAX_SPAN)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = (rows[-1].id, rows[-1].id) if more and rows else None
    return Page(rows, nxt)


def _page_clauses(f: RecordFilter, now: float) -> list[Any]:
    """where_clauses, with a planner hint for a tenant filter without a flow.

    Given `tenant = ?` alone, SQLite walks every row of the tenant in ix_records_key (a third
    of the table) for each id range. The state index, which carries the id, is the better
    path; likelihood() tells the planner the tenant test is not selective, so it takes it.
    """
    if not (f.tenant and not f.flow and f.states):
        return where_clauses(f, now)
    return [*where_clauses(replace(f, tenant=None), now),
            func.likelihood(R.c.tenant == f.tenant, literal_column("0.9375"))]


def change_marker(store: Store) -> tuple[Any, ...]:
    """A value that changes whenever records, flows, breakers, mappings or the audit log change.

    Every record transition stamps updated_at in its new state, so the newest updated_at
    per state (one seek each in ix_records_state_updated) moves with every change.
    """
    E, F, C, S, M = (AuditEvent.__table__, FlowControl.__table__, FlowCursor.__table__,
                     EndpointState.__table__, MappingEntry.__table__)
    parts = [select(func.max(R.c.updated_at)).where(R.c.state == s).scalar_subquery() for s in STATES]
    parts += [select(func.max(R.c.id)).scalar_subquery(), select(func.max(E.c.id)).scalar_subquery(),
              select(func.max(F.c.updated_at)).scalar_subquery(), select(func.max(C.c.updated_at)).scalar_subquery(),
              select(func.max(S.c.updated_at)).scalar_subquery(), select(func.max(M.c.updated_at)).scalar_subquery(),
              select(func.count()).select_from(S).scalar_subquery()]
    with store.read() as conn:
        return tuple(conn.execute(select(*parts)).one())
