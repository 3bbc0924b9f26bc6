"""The record lifecycle: enqueue, claim under a lease, ack, fail, defer, reclaim.

States: pending -> in_flight -> delivered; in_flight -> retry_wait -> in_flight ...;
in_flight -> failed (needs a human); any undelivered -> superseded (coalescing);
operators move records between failed/retry_wait/quarantined/pending/resolved
(syncops.services.actions). Every change bumps `version` so no writer silently
overwrites another (optimistic concurrency), and the engine's own writes are
additionally guarded by its lease (`lease_owner`).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import and_, bindparam, exists, or_, select
from sqlalchemy.engine import Connection

from syncops.store import stats
from syncops.store.backoff import RetryPolicy, RetryPolicyLike, retry_delay
from syncops.store.categories import RETRYABLE, Category
from syncops.store.db import Store
from syncops.store.dialect import insert_ignoring_duplicates
from syncops.store.signature import error_signature
from syncops.store.tables import (
    BLOCKING_STATES, DELIVERED, FAILED, IN_FLIGHT, PENDING, RETRY_WAIT, SUPERSEDED,
    Attempt, FlowCursor, Record,
)

R = Record.__table__
A = Attempt.__table__
EXCERPT = 500  # characters of a vendor response kept per attempt


@dataclass
class NewRecord:
    tenant: str
    flow: str
    entity: str
    entity_key: str
    idempotency_key: str
    target: str
    payload: dict[str, Any] | str
    source_ts: float
    source_payload: dict[str, Any] | str | None = None
    coalesce: bool = False


@dataclass
class EnqueueResult:
    inserted: list[int] = field(default_factory=list)
    duplicates: int = 0
    superseded: int = 0


@dataclass
class Claimed:
    id: int
    tenant: str
    flow: str
    entity: str
    entity_key: str
    idempotency_key: str
    target: str
    payload: dict[str, Any]
    payload_rev: int
    attempts: int
    version: int
    source_ts: float
    error_category: str | None

    @property
    def delivery_key(self) -> str:
        # Same key for every retry of one payload version; an edit gets a new key, because
        # vendors reject a reused key with different parameters.
        return f"syncops:{self.tenant}:{self.flow}:{self.id}:r{self.payload_rev}"


@dataclass
class Outcome:
    """What happened to one claimed record at the target."""

    record: Claimed
    category: Category | None = None  # None = delivered
    message: str | None = None
    retry_after: float | None = None
    status: int | None = None
    duration_ms: float | None = None
    request_summary: str | None = None
    response_excerpt: str | None = None
    target_ref: str | None = None
    error_map: str | None = None
    error_value: str | None = None


def _dumps(value: dict[str, Any] | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def enqueue(store: Store, records: Sequence[NewRecord], *,
            cursor: tuple[str, str, str | None] | None = None) -> EnqueueResult:
    """Store new records; the same idempotency key twice makes one record.

    `cursor` (tenant, flow, value) is saved in the same transaction, so a source
    cursor never runs ahead of the records it covers.
    """
    now = store.clock()
    result = EnqueueResult()
    rows = [
        dict(
            tenant=r.tenant, flow=r.flow, entity=r.entity, entity_key=r.entity_key,
            idempotency_key=r.idempotency_key, target=r.target, state=PENDING, version=1,
            payload_rev=1, attempts=0, due_at=now, created_at=now, updated_at=now,
            source_ts=r.source_ts, payload=_dumps(r.payload), source_payload=_dumps(r.source_payload),
        )
        for r in records
    ]
    with store.write() as conn:
        if rows:
            stmt = insert_ignoring_duplicates(store.engine, R).returning(R.c.id, R.c.idempotency_key)
            inserted = {}
            for row in conn.execute(stmt, rows):
                inserted[(row.idempotency_key)] = row.id
            # Within one call the same key can appear twice as well; dict keeps the first.
            result.inserted = sorted(inserted.values())
            result.duplicates = len(rows) - len(result.inserted)
            _supersede(conn, records, inserted, now, result)
            _count_duplicates(store, conn, records, inserted, now)
        if cursor is not None:
            save_cursor(store, conn, *cursor, now=now)
    return result


def _supersede(conn: Connection, records: Sequence[NewRecord], inserted: dict[str, int],
               now: float, result: EnqueueResult) -> None:
    params = [
        dict(t=r.tenant, f=r.flow, k=r.entity_key, new=inserted[r.idempotency_key], now=now)
        for r in records if r.coalesce and r.idempotency_key in inserted
    ]
    if not params:
        return
    # Absolute state (stock levels, prices): only the newest value matters. In-flight
    # records are left alone; the claim query holds the newer one back until they finish.
    stmt = R.update().where(
        R.c.tenant == bindparam("t"), R.c.flow == bindparam("f"), R.c.entity_key == bindparam("k"),
        # (an OR, not IN: expanding IN parameters cannot be used with executemany)
        or_(R.c.state == PENDING, R.c.state == RETRY_WAIT, R.c.state == FAILED),
        R.c.id < bindparam("new"),
    ).values(state=SUPERSEDED, superseded_by=bindparam("new"), due_at=None,
             version=R.c.version + 1, updated_at=bindparam("now"))
    res = conn.execute(stmt, params)
    result.superseded = max(res.rowcount or 0, 0)


def _count_duplicates(store: Store, conn: Connection, records: Sequence[NewRecord],
                      inserted: dict[str, int], now: float) -> None:
    seen: set[str] = set()
    dupes: dict[tuple[str, str], int] = {}
    for r in records:
        if r.idempotency_key in inserted and r.idempotency_key not in seen:
            seen.add(r.idempotency_key)
            continue
        dupes[(r.tenant, r.flow)] = dupes.get((r.tenant, r.flow), 0) + 1
    for (tenant, flow), n in dupes.items():
        stats.add(store, conn, tenant, flow, now, duplicates=n)


def save_cursor(store: Store, conn: Connection, tenant: str, flow: str, value: str | None,
                *, now: float) -> None:
    from syncops.store.dialect import upsert

    conn.execute(upsert(store.engine, FlowCursor.__table__, ["tenant", "flow"],
                        dict(tenant=tenant, flow=flow, cursor=value, updated_at=now),
                        dict(cursor=value, updated_at=now)))


def load_cursor(store: Store, tenant: str, flow: str) -> str | None:
    t = FlowCursor.__table__
    with store.read() as conn:
        return conn.execute(select(t.c.cursor).where(t.c.tenant == tenant, t.c.flow == flow)).scalar()


_CLAIM_COLUMNS = (R.c.id, R.c.tenant, R.c.flow, R.c.entity, R.c.entity_key, R.c.idempotency_key,
                  R.c.target, R.c.payload, R.c.payload_rev, R.c.attempts, R.c.version,
                  R.c.source_ts, R.c.error_category)


def claim(store: Store, *, tenant: str, target: str, owner: str, limit: int = 100,
          lease_seconds: float = 60.0, flows: Iterable[str] | None = None) -> list[Claimed]:
    """Lease up to `limit` due records for one endpoint, oldest due first.

    A record is skipped while an earlier record of the same entity key is unfinished,
    so orders and returns reach the target in source order.
    """
    now = store.clock()
    earlier = R.alias("earlier")
    blocked = exists().where(
        earlier.c.tenant == R.c.tenant, earlier.c.flow == R.c.flow,
        earlier.c.entity_key == R.c.entity_key, earlier.c.state.in_(BLOCKING_STATES),
        earlier.c.id < R.c.id,
    )
    due = select(R.c.id).where(
        R.c.tenant == tenant, R.c.target == target, R.c.due_at <= now, ~blocked,
    )
    if flows is not None:
        due = due.where(R.c.flow.in_(list(flows)))
    # SKIP LOCKED lets several PostgreSQL engines share one store; SQLite ignores it.
    due = due.order_by(R.c.due_at, R.c.id).limit(limit).with_for_update(skip_locked=True)
    stmt = (
        R.update().where(R.c.id.in_(due.scalar_subquery()))
        .values(state=IN_FLIGHT, lease_owner=owner, lease_until=now + lease_seconds, due_at=None,
                version=R.c.version + 1, updated_at=now)
        .returning(*_CLAIM_COLUMNS)
    )
    with store.write() as conn:
        rows = conn.execute(stmt).all()
    claimed = [
        Claimed(id=r.id, tenant=r.tenant, flow=r.flow, entity=r.entity, entity_key=r.entity_key,
                idempotency_key=r.idempotency_key, target=r.target, payload=json.loads(r.payload),
                payload_rev=r.payload_rev, attempts=r.attempts, version=r.version,
                source_ts=r.source_ts, error_category=r.error_category)
        for r in rows
    ]
    claimed.sort(key=lambda c: c.id)
    return claimed


def settle(store: Store, owner: str, outcomes: Sequence[Outcome], *, endpoint: str,
           policy_for: Callable[[str, str], RetryPolicyLike] | None = None,
           rng: random.Random | None = None) -> dict[int, str]:
    """Record the outcome of delivered/failed records in one transaction.

    Returns the new state per record id. A record whose lease this engine no longer
    holds (reclaimed after expiry, or changed by an operator) is left untouched.
    """
    now = store.clock()
    policy_for = policy_for or (lambda _t, _f: RetryPolicy())
    new_states: dict[int, str] = {}
    with store.write() as conn:
        ids = [o.record.id for o in outcomes]
        held = set(conn.execute(
            select(R.c.id).where(R.c.id.in_(ids), R.c.state == IN_FLIGHT, R.c.lease_owner == owner)
        ).scalars())
        delivered, failed, attempts = [], [], []
        for o in outcomes:
            if o.record.id not in held:
                continue
            tries = o.record.attempts + 1
            if o.category is None:
                new_states[o.record.id] = DELIVERED
                delivered.append(dict(rid=o.record.id, tries=tries, ref=o.target_ref))
            else:
                state, due = _after_failure(o, tries, policy_for(o.record.tenant, o.record.flow), now, rng)
                new_states[o.record.id] = state
                failed.append(dict(
                    rid=o.record.id, tries=tries, st=state, due=due, cat=str(o.category),
                    msg=(o.message or "")[:2000], sig=error_signature(o.message),
                    emap=o.error_map, evalue=o.error_value,
                ))
            attempts.append(dict(
                record_id=o.record.id, at=now, duration_ms=o.duration_ms, endpoint=endpoint,
                status=o.status, outcome=new_states[o.record.id],
                request_summary=(o.request_summary or None) and o.request_summary[:EXCERPT],
                response_excerpt=(o.response_excerpt or None) and o.response_excerpt[:EXCERPT],
                error_category=None if o.category is None else str(o.category),
                error_message=o.message and o.message[:2000],
            ))
        if delivered:
            conn.execute(R.update().where(R.c.id == bindparam("rid")).values(
                state=DELIVERED, delivered_at=now, attempts=bindparam("tries"),
                target_ref=bindparam("ref"), lease_owner=None, lease_until=None, due_at=None,
                version=R.c.version + 1, updated_at=now, error_category=None, error_message=None,
                error_signature=None, error_map=None, error_value=None,
            ), delivered)
        if failed:
            conn.execute(R.update().where(R.c.id == bindparam("rid")).values(
                state=bindparam("st"), due_at=bindparam("due"), attempts=bindparam("tries"),
                lease_owner=None, lease_until=None, version=R.c.version + 1, updated_at=now,
                error_category=bindparam("cat"), error_message=bindparam("msg"),
                error_signature=bindparam("sig"), error_map=bindparam("emap"),
                error_value=bindparam("evalue"),
            ), failed)
        if attempts:
            conn.execute(A.insert(), attempts)
        stats.record_outcomes(store, conn, outcomes, new_states, now)
    return new_states


def _after_failure(o: Outcome, tries: int, policy: RetryPolicyLike, now: float,
                   rng: random.Random | None) -> tuple[str, float | None]:
    if o.category in RETRYABLE and tries < policy.max_attempts:
        return RETRY_WAIT, now + retry_delay(tries, policy, retry_after=o.retry_after, rng=rng)
    return FAILED, None


def defer(store: Store, owner: str, record_ids: Sequence[int], *, until: float,
          reason: str | None = None) -> int:
    """Put leased records back without spending an attempt (breaker open, shutdown, local limiter)."""
    if not record_ids:
        return 0
    now = store.clock()
    values: dict[str, Any] = dict(state=RETRY_WAIT if until > now else PENDING, due_at=until,
                                  lease_owner=None, lease_until=None,
                                  version=R.c.version + 1, updated_at=now)
    if reason:
        values["error_message"] = reason
    with store.write() as conn:
        res = conn.execute(R.update().where(
            R.c.id.in_(list(record_ids)), R.c.state == IN_FLIGHT, R.c.lease_owner == owner,
        ).values(**values))
    return res.rowcount or 0


def reclaim_expired(store: Store) -> int:
    """Return records whose lease ran out (a crashed or killed engine) to the queue.

    It counts as an attempt: the delivery may or may not have reached the target (the
    delivery idempotency key makes the retry safe), and a record that crashes the
    engine every time must eventually stop.
    """
    now = store.clock()
    with store.write() as conn:
        rows = conn.execute(select(R.c.id, R.c.attempts, R.c.target).where(
            R.c.state == IN_FLIGHT, R.c.lease_until < now)).all()
        if not rows:
            return 0
        msg = "lease expired: the engine stopped during delivery; retrying with the same idempotency key"
        conn.execute(R.update().where(
            and_(R.c.id == bindparam("rid"), R.c.state == IN_FLIGHT, R.c.lease_until < now)
        ).values(state=RETRY_WAIT, due_at=now, attempts=R.c.attempts + 1, lease_owner=None,
                 lease_until=None, version=R.c.version + 1, updated_at=now,
                 error_category=str(Category.UNKNOWN), error_message=msg,
                 error_signature=error_signature(msg)),
            [dict(rid=r.id) for r in rows])
        conn.execute(A.insert(), [dict(record_id=r.id, at=now, endpoint=r.target, outcome=RETRY_WAIT,
                                       error_category=str(Category.UNKNOWN), error_message=msg)
                                  for r in rows])
    return len(rows)


def last_delivered_payload(store: Store, tenant: str, flow: str, entity_key: str) -> dict[str, Any] | None:
    """The newest payload syncops delivered for a key: the compare-and-swap baseline."""
    with store.read() as conn:
        payload = conn.execute(
            select(R.c.payload).where(R.c.tenant == tenant, R.c.flow == flow,
                                      R.c.entity_key == entity_key, R.c.state == DELIVERED)
            .order_by(R.c.id.desc()).limit(1)
        ).scalar()
    return json.loads(payload) if payload else None
