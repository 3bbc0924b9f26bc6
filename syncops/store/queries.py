"""Read-side queries for consoles, the CLI and monitoring. All indexed; nothing loads a whole table."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Sequence

from sqlalchemy import and_, func, or_, select

from syncops.store.db import Store
from syncops.store.filters import RecordFilter, where_clauses
from syncops.store.stats import percentile
from syncops.store.tables import (
    EXCEPTION_STATES, FAILED, IN_FLIGHT, OPEN_STATES, PENDING, RETRY_WAIT,
    Attempt, AuditEvent, EndpointState, EngineHeartbeat, FlowControl, FlowCursor, FlowMinute,
    PayloadVersion, Record,
)

R = Record.__table__
LIST_COLUMNS = (R.c.id, R.c.tenant, R.c.flow, R.c.entity, R.c.entity_key, R.c.state, R.c.version,
                R.c.attempts, R.c.created_at, R.c.updated_at, R.c.due_at, R.c.error_category,
                R.c.error_message, R.c.error_map, R.c.error_value, R.c.target)


class RecordNotFound(LookupError):
    def __init__(self, record_id: int) -> None:
        super().__init__(f"no record with id {record_id}")
        self.record_id = record_id


def open_counts(store: Store, tenant: str | None = None) -> dict[tuple[str, str], dict[str, int]]:
    """Counts of unfinished records per (tenant, flow) and state.

    Terminal states are left out on purpose: counting a million delivered rows every
    second would make the dashboard the slowest thing on the box.
    """
    stmt = (select(R.c.tenant, R.c.flow, R.c.state, func.count())
            .where(R.c.state.in_(OPEN_STATES)).group_by(R.c.state, R.c.tenant, R.c.flow))
    if tenant:
        stmt = stmt.where(R.c.tenant == tenant)
    out: dict[tuple[str, str], dict[str, int]] = {}
    with store.read() as conn:
        for t, f, state, n in conn.execute(stmt):
            out.setdefault((t, f), {})[state] = n
    return out


def oldest_pending(store: Store) -> dict[tuple[str, str], float]:
    """created_at of the oldest undelivered (pending / retry_wait / in_flight) record per flow."""
    stmt = (select(R.c.tenant, R.c.flow, func.min(R.c.created_at))
            .where(R.c.state.in_([PENDING, RETRY_WAIT, IN_FLIGHT])).group_by(R.c.tenant, R.c.flow))
    with store.read() as conn:
        return {(t, f): ts for t, f, ts in conn.execute(stmt)}


@dataclass
class FlowActivity:
    delivered_per_minute: list[int]  # oldest first, one per minute of the window
    failed: int
    duplicates: int
    p50: float | None
    p95: float | None


def flow_activity(store: Store, *, minutes: int = 30, now: float | None = None,
                  series: bool = True) -> dict[tuple[str, str], FlowActivity]:
    """Throughput and latency per flow over the last `minutes`.

    The sums (failed, duplicates, the latency histogram) are added up by the database, one row
    per flow: merging 30 histograms per flow in Python took seconds for a fleet of 5,000 flows.
    `series=False` skips the per-minute delivered series (the sparkline) for callers without one
    (the fleet rollup); its delivered_per_minute is then empty.
    """
    from syncops.store.stats import BUCKETS_MS, bucket_column

    now = store.clock() if now is None else now
    last = int(now // 60)
    first = last - minutes + 1
    M = FlowMinute.__table__
    window = (M.c.minute >= first, M.c.minute <= last)  # a clock ahead must not crash it
    sums = (select(M.c.tenant, M.c.flow, func.sum(M.c.failed), func.sum(M.c.duplicates),
                   *(func.sum(M.c[bucket_column(ms)]) for ms in BUCKETS_MS))
            .where(*window).group_by(M.c.tenant, M.c.flow))
    out = {}
    with store.read() as conn:
        for t, f, failed, dupes, *buckets in conn.execute(sums):
            hist = {str(ms): int(n or 0) for ms, n in zip(BUCKETS_MS, buckets)}
            out[(t, f)] = FlowActivity([0] * minutes if series else [], int(failed or 0), int(dupes or 0),
                                       percentile(hist, 0.5), percentile(hist, 0.95))
        if series:
            for t, f, minute, delivered in conn.execute(select(M.c.tenant, M.c.flow, M.c.minute, M.c.delivered)
                                                        .where(*window)):
                out[(t, f)].delivered_per_minute[minute - first] = delivered
    return out


def failures_by_category(store: Store, f: RecordFilter | None = None) -> dict[str, int]:
    f = f or RecordFilter(states=EXCEPTION_STATES)
    if not f.states:
        f = replace(f, states=EXCEPTION_STATES)  # a copy: callers reuse their filter for lists
    stmt = (select(R.c.error_category, func.count()).where(*where_clauses(f, store.clock()))
            .group_by(R.c.error_category))
    with store.read() as conn:
        return {c or "unknown": n for c, n in conn.execute(stmt)}


@dataclass
class SignatureGroup:
    signature: str
    category: str | None
    count: int
    sample: str | None
    first_seen: float
    last_seen: float


def signature_groups(store: Store, f: RecordFilter | None = None, limit: int = 200) -> list[SignatureGroup]:
    f = f or RecordFilter()
    if not f.states:
        f = replace(f, states=EXCEPTION_STATES)  # a copy: callers reuse their filter for lists
    stmt = (select(R.c.error_signature, R.c.error_category, func.count(), func.max(R.c.error_message),
                   func.min(R.c.created_at), func.max(R.c.updated_at))
            .where(*where_clauses(f, store.clock()), R.c.error_signature.is_not(None))
            .group_by(R.c.error_signature, R.c.error_category)
            .order_by(func.count().desc()).limit(limit))
    with store.read() as conn:
        return [SignatureGroup(s or "(no error)", c, n, m, a, b) for s, c, n, m, a, b in conn.execute(stmt)]


# A nullable sort column is compared as "": keyset paging past a NULL (`col < NULL`) would end the list.
SORTS = {"id": R.c.id, "age": R.c.created_at, "updated": R.c.updated_at, "attempts": R.c.attempts,
         "key": R.c.entity_key, "category": func.coalesce(R.c.error_category, "").label("sort_category"),
         "tenant": R.c.tenant, "flow": R.c.flow}


@dataclass
class Page:
    rows: list[Any]
    next_after: tuple[Any, int] | None  # pass back as `after` for the next page


def list_records(store: Store, f: RecordFilter, *, limit: int = 100, sort: str = "id",
                 descending: bool = True, after: tuple[Any, int] | None = None) -> Page:
    """One keyset page: cost does not grow with how deep the technician scrolls."""
    col = SORTS[sort]
    columns = LIST_COLUMNS if any(col is c for c in LIST_COLUMNS) else (*LIST_COLUMNS, col)
    stmt = select(*columns).where(*where_clauses(f, store.clock()))
    if after is not None:
        value, last_id = after
        if sort == "id":
            stmt = stmt.where(R.c.id < last_id if descending else R.c.id > last_id)
        elif descending:
            stmt = stmt.where(or_(col < value, and_(col == value, R.c.id < last_id)))
        else:
            stmt = stmt.where(or_(col > value, and_(col == value, R.c.id > last_id)))
    if sort == "id":
        order = [R.c.id.desc() if descending else R.c.id.asc()]
    else:
        order = [col.desc(), R.c.id.desc()] if descending else [col.asc(), R.c.id.asc()]
    stmt = stmt.order_by(*order).limit(limit + 1)
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = None
    if more and rows:
        last = rows[-1]
        nxt = (last._mapping[col.key] if sort != "id" else last.id, last.id)
    return Page(rows, nxt)


def count_records(store: Store, f: RecordFilter) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(R).where(*where_clauses(f, store.clock()))).scalar_one()


@dataclass
class UnmappedValue:
    tenant: str
    map_name: str
    value: str
    count: int
    flows: list[str]


def unmapped_values(store: Store, tenant: str | None = None, limit: int = 200) -> list[UnmappedValue]:
    """Values missing from a map, ranked by how many failed records each one blocks."""
    stmt = (select(R.c.tenant, R.c.error_map, R.c.error_value, R.c.flow, func.count())
            .where(R.c.error_map.is_not(None), R.c.state == FAILED)
            .group_by(R.c.tenant, R.c.error_map, R.c.error_value, R.c.flow))
    if tenant:
        stmt = stmt.where(R.c.tenant == tenant)
    agg: dict[tuple[str, str, str], UnmappedValue] = {}
    with store.read() as conn:
        for t, m, v, flow, n in conn.execute(stmt):
            item = agg.setdefault((t, m, v), UnmappedValue(t, m, v, 0, []))
            item.count += n
            item.flows.append(flow)
    return sorted(agg.values(), key=lambda u: (-u.count, u.map_name, u.value))[:limit]


@dataclass
class RecordDetail:
    record: Any
    payload: Any
    source_payload: Any
    attempts: list[Any]
    versions: list[Any]
    audit: list[Any]


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def get_record(store: Store, record_id: int) -> Any:
    with store.read() as conn:
        row = conn.execute(select(R).where(R.c.id == record_id)).first()
    if row is None:
        raise RecordNotFound(record_id)
    return row


def record_detail(store: Store, record_id: int, *, attempts_limit: int = 50) -> RecordDetail:
    A, V, E = Attempt.__table__, PayloadVersion.__table__, AuditEvent.__table__
    with store.read() as conn:
        row = conn.execute(select(R).where(R.c.id == record_id)).first()
        if row is None:
            raise RecordNotFound(record_id)
        attempts = conn.execute(select(A).where(A.c.record_id == record_id)
                                .order_by(A.c.id.desc()).limit(attempts_limit)).all()
        versions = conn.execute(select(V).where(V.c.record_id == record_id).order_by(V.c.rev)).all()
        audit = conn.execute(select(E).where(E.c.target_type == "record", E.c.target_id == str(record_id))
                             .order_by(E.c.id)).all()
    return RecordDetail(row, _loads(row.payload), _loads(row.source_payload), attempts, versions, audit)


def flow_controls(store: Store) -> dict[tuple[str, str], Any]:
    t = FlowControl.__table__
    with store.read() as conn:
        return {(r.tenant, r.flow): r for r in conn.execute(select(t))}


def flow_cursors(store: Store) -> dict[tuple[str, str], Any]:
    t = FlowCursor.__table__
    with store.read() as conn:
        return {(r.tenant, r.flow): r for r in conn.execute(select(t))}


def endpoint_states(store: Store) -> dict[tuple[str, str], Any]:
    t = EndpointState.__table__
    with store.read() as conn:
        return {(r.tenant, r.endpoint): r for r in conn.execute(select(t))}


def engines(store: Store) -> list[Any]:
    t = EngineHeartbeat.__table__
    with store.read() as conn:
        return conn.execute(select(t).order_by(t.c.beat_at.desc())).all()


def live_engine(store: Store, *, stale_after: float = 15.0) -> Any | None:
    """The engine that is alive by `heartbeat_is_live` (the rule the engine's start uses), if any."""
    from syncops.store.liveness import heartbeat_is_live

    now = store.clock()
    for e in engines(store):
        if heartbeat_is_live(e, now=now, stale_after=stale_after):
            return e
    return None


def audit_events(store: Store, *, tenant: str | None = None, action: str | None = None,
                 actor: str | None = None, target: str | None = None, since: float | None = None,
                 limit: int = 100, before_id: int | None = None) -> list[Any]:
    E = AuditEvent.__table__
    stmt = select(E)
    if tenant:
        stmt = stmt.where(E.c.tenant == tenant)
    if action:
        stmt = stmt.where(E.c.action == action)
    if actor:
        stmt = stmt.where(E.c.actor == actor)
    if target:
        stmt = stmt.where(E.c.target_id == target)
    if since is not None:
        stmt = stmt.where(E.c.at >= since)
    if before_id is not None:
        stmt = stmt.where(E.c.id < before_id)
    with store.read() as conn:
        return conn.execute(stmt.order_by(E.c.id.desc()).limit(limit)).all()


def ids_matching(store: Store, f: RecordFilter, states: Sequence[str]) -> list[tuple[int, int, str]]:
    """(id, version, state) of matching records in `states` (for bulk previews)."""
    stmt = select(R.c.id, R.c.version, R.c.state).where(*where_clauses(f, store.clock()),
                                                          R.c.state.in_(list(states)))
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(stmt)]
