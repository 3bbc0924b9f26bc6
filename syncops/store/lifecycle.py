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
import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import and_, bindparam, exists, func, literal_column, or_, select
from sqlalchemy.engine import Connection

from syncops.store import stats
from syncops.store.backoff import LONGEST_WAIT, RetryPolicy, RetryPolicyLike, retry_delay
from syncops.store.categories import RETRYABLE, Category
from syncops.store.db import Store
from syncops.store.dialect import execute_for_ids, fast_executemany, insert_ignoring_duplicates_returning
from syncops.store.signature import error_signature
from syncops.store.tables import (
    BLOCKING_STATES, DELIVERED, FAILED, IN_FLIGHT, PENDING, RESOLVED, RETRY_WAIT, SUPERSEDED,
    Attempt, AuditEvent, FlowCursor, Record,
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


@dataclass(slots=True)
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
    manual_retries: int
    overwrite: bool
    attempts: int
    version: int
    source_ts: float
    error_category: str | None
    outcome_unknown: bool = False  # an earlier attempt may have been applied unseen

    @property
    def delivery_key(self) -> str:
        # Same key for every retry of one payload version; an edit gets a new key, because
        # vendors reject a reused key with different parameters.
        key = f"syncops:{self.tenant}:{self.flow}:{self.id}:r{self.payload_rev}"
        return f"{key}:m{self.manual_retries}" if self.manual_retries else key


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
    maybe_applied: bool = False  # the call went out and its answer was lost: it may have applied


def _dumps(value: dict[str, Any] | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


_ENQUEUE_COLUMNS = ("tenant", "flow", "entity", "entity_key", "idempotency_key", "target", "source_ts", "payload",
                    "source_payload", "coalesce", "state", "version", "payload_rev", "attempts", "due_at",
                    "created_at", "updated_at")


def enqueue(store: Store, records: Sequence[NewRecord], *,
            cursor: tuple[str, str, str | None] | None = None) -> EnqueueResult:
    """Store new records; the same idempotency key twice makes one record.

    `cursor` (tenant, flow, value) is saved in the same transaction, so a source
    cursor never runs ahead of the records it covers.
    """
    now = store.clock()
    result = EnqueueResult()
    rows = [
        (r.tenant, r.flow, r.entity, r.entity_key, r.idempotency_key, r.target, r.source_ts,
         _dumps(r.payload), _dumps(r.source_payload), r.coalesce, PENDING, 1, 1, 0, now, now, now)
        for r in records
    ]
    with store.write() as conn:
        if rows:
            # Keyed like the unique constraint: one source event may feed several flows.
            inserted: dict[tuple[str, str, str], int] = {}
            for rid, tenant, flow, idem in insert_ignoring_duplicates_returning(
                    conn, R, _ENQUEUE_COLUMNS, rows, ["id", "tenant", "flow", "idempotency_key"]):
                inserted[(tenant, flow, idem)] = rid
            # Within one call the same key can appear twice as well; dict keeps the first.
            result.inserted = sorted(inserted.values())
            result.duplicates = len(rows) - len(result.inserted)
            _supersede(conn, records, inserted, now, result)
            _count_duplicates(store, conn, records, inserted, now)
        if cursor is not None:
            save_cursor(store, conn, *cursor, now=now)
    return result


def _supersede(conn: Connection, records: Sequence[NewRecord], inserted: dict[tuple[str, str, str], int],
               now: float, result: EnqueueResult) -> None:
    params = [
        dict(t=r.tenant, f=r.flow, k=r.entity_key, new=inserted[_idem(r)], now=now)
        for r in records if r.coalesce and _idem(r) in inserted
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
        # A record that may have been applied is not discarded: it is resolved at the target
        # first, or the newer value would be computed against a baseline nobody knows.
        R.c.outcome_unknown == False,  # noqa: E712 - SQL, not Python
    ).values(state=SUPERSEDED, superseded_by=bindparam("new"), due_at=None,
             version=R.c.version + 1, updated_at=bindparam("now"))
    res = conn.execute(stmt, params)
    result.superseded = max(res.rowcount or 0, 0)


def _idem(r: NewRecord) -> tuple[str, str, str]:
    return (r.tenant, r.flow, r.idempotency_key)


def _count_duplicates(store: Store, conn: Connection, records: Sequence[NewRecord],
                      inserted: dict[tuple[str, str, str], int], now: float) -> None:
    if len(inserted) == len(records):
        return  # every record made a new one: nothing was a duplicate
    seen: set[tuple[str, str, str]] = set()
    dupes: dict[tuple[str, str], int] = {}
    for r in records:
        if _idem(r) in inserted and _idem(r) not in seen:
            seen.add(_idem(r))
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
                  R.c.target, R.c.payload, R.c.payload_rev, R.c.manual_retries, R.c.overwrite, R.c.attempts,
                  R.c.version,
                  R.c.source_ts, R.c.error_category, R.c.outcome_unknown)
_ATTEMPT_COLUMNS = ["record_id", "at", "duration_ms", "endpoint", "status", "outcome", "request_summary",
                    "response_excerpt", "error_category", "error_message"]


# Constants in the SQL text, not an expanding parameter SQLAlchemy would render on every claim.
_BLOCKING_LITERALS = [literal_column(f"'{s}'") for s in BLOCKING_STATES]


def _claim_statement(with_flows: bool = False) -> Any:
    earlier = R.alias("earlier")
    blocked = exists().where(
        earlier.c.tenant == R.c.tenant, earlier.c.flow == R.c.flow,
        earlier.c.entity_key == R.c.entity_key, earlier.c.state.in_(_BLOCKING_LITERALS),
        earlier.c.id < R.c.id,
        # On coalescing flows a failed older value is obsolete once a newer one exists.
        or_(earlier.c.state != FAILED, R.c.coalesce == False),  # noqa: E712 - SQL, not Python
    )
    due = select(R.c.id).where(
        R.c.tenant == bindparam("p_tenant"), R.c.target == bindparam("p_target"),
        R.c.due_at <= bindparam("p_now"), ~blocked,
    )
    if with_flows:
        due = due.where(R.c.flow.in_(bindparam("p_flows", expanding=True)))
    # SKIP LOCKED lets several PostgreSQL engines share one store; SQLite ignores it.
    due = due.order_by(R.c.due_at, R.c.id).limit(bindparam("p_limit")).with_for_update(skip_locked=True)
    return (
        R.update().where(R.c.id.in_(due.scalar_subquery()))
        .values(state=IN_FLIGHT, lease_owner=bindparam("p_owner"), lease_until=bindparam("p_lease_until"),
                due_at=None, version=R.c.version + 1, updated_at=bindparam("p_now"))
        .returning(*_CLAIM_COLUMNS)
    )


# Statements built once: constructing them costs more than the SQL on small batches.
_CLAIM = _claim_statement()
_CLAIM_FLOWS = _claim_statement(with_flows=True)
# The per-batch statements with an id list are plain SQL (dialect.execute_for_ids): the same
# SQL SQLAlchemy would render, without its per-execution IN-list expansion.
_DELIVER = (
    "UPDATE records SET state = ?, delivered_at = ?, attempts = attempts + 1, lease_owner = NULL,"
    " lease_until = NULL, due_at = NULL, version = version + 1, updated_at = ?, error_category = NULL,"
    " error_message = NULL, error_signature = NULL, error_map = NULL, error_value = NULL, overwrite = ?,"
    " outcome_unknown = ? WHERE id IN ({ids}) AND state = ? AND lease_owner = ? RETURNING id"
)
_HELD = "SELECT id FROM records WHERE id IN ({ids}) AND state = ? AND lease_owner = ?"
_REF = R.update().where(R.c.id == bindparam("rid")).values(target_ref=bindparam("ref"))
_FAIL = R.update().where(R.c.id == bindparam("rid"), R.c.state == IN_FLIGHT,
                         R.c.lease_owner == bindparam("p_owner")).values(
    state=bindparam("st"), due_at=bindparam("due"), attempts=bindparam("tries"),
    lease_owner=None, lease_until=None, version=R.c.version + 1, updated_at=bindparam("p_now"),
    error_category=bindparam("cat"), error_message=bindparam("msg"),
    error_signature=bindparam("sig"), error_map=bindparam("emap"), error_value=bindparam("evalue"),
    outcome_unknown=bindparam("unk"),
)


def claim(store: Store, *, tenant: str, target: str, owner: str, limit: int = 100,
          lease_seconds: float = 60.0, flows: Iterable[str] | None = None) -> list[Claimed]:
    """Lease up to `limit` due records for one endpoint, oldest due first.

    A record is skipped while an earlier record of the same entity key is unfinished,
    so orders and returns reach the target in source order.
    """
    now = store.clock()
    params: dict[str, Any] = dict(p_tenant=tenant, p_target=target, p_now=now, p_limit=limit,
                                  p_owner=owner, p_lease_until=now + lease_seconds)
    stmt = _CLAIM
    if flows is not None:
        stmt, params["p_flows"] = _CLAIM_FLOWS, list(flows)
    with store.write() as conn:
        rows = conn.execute(stmt, params).all()
    # Unpacked by position: a Row's attribute lookup cost more per record than the UPDATE.
    loads = json.loads
    claimed = [
        Claimed(rid, tenant_, flow, entity, key, idem, target_, loads(payload), rev, manual, bool(overwrite),
                attempts, version, source_ts, category, bool(unknown))
        for (rid, tenant_, flow, entity, key, idem, target_, payload, rev, manual, overwrite, attempts, version,
             source_ts, category, unknown) in rows
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
    ok = [o for o in outcomes if o.category is None]
    bad = [o for o in outcomes if o.category is not None]
    with store.write() as conn:
        if ok:
            # One statement for the common case; RETURNING says which leases still held.
            held = {rid for (rid,) in execute_for_ids(conn, _DELIVER, [o.record.id for o in ok],
                                                      (DELIVERED, now, now, False, False),
                                                      (IN_FLIGHT, owner)).fetchall()}
            refs = [dict(rid=o.record.id, ref=o.target_ref) for o in ok if o.target_ref and o.record.id in held]
            if refs:
                conn.execute(_REF, refs)
            new_states.update((o.record.id, DELIVERED) for o in ok if o.record.id in held)
            if held:
                _auto_resolve(conn, sorted(held), now)
        if bad:
            held = {rid for (rid,) in execute_for_ids(conn, _HELD, [o.record.id for o in bad], (),
                                                      (IN_FLIGHT, owner)).fetchall()}
            failed = []
            for o in bad:
                if o.record.id not in held:
                    continue
                tries = o.record.attempts + 1
                state, due = _after_failure(o, tries, policy_for(o.record.tenant, o.record.flow), now, rng)
                new_states[o.record.id] = state
                # Unknown stays unknown until a delivery settles it: a later definite refusal
                # says nothing about whether the earlier, unanswered call was applied.
                unknown = o.record.outcome_unknown or o.maybe_applied
                failed.append(dict(rid=o.record.id, tries=tries, st=state, due=due, cat=str(o.category),
                                   msg=(o.message or "")[:2000], sig=error_signature(o.message, o.record.entity_key),
                                   emap=o.error_map, evalue=o.error_value, unk=unknown, p_now=now, p_owner=owner))
            if failed:
                conn.execute(_FAIL, failed)
        fast_executemany(conn, A, _ATTEMPT_COLUMNS, [(
            o.record.id, now, o.duration_ms, endpoint, o.status, new_states[o.record.id],
            o.request_summary[:EXCERPT] if o.request_summary else None,
            o.response_excerpt[:EXCERPT] if o.response_excerpt else None,
            None if o.category is None else str(o.category),
            o.message[:2000] if o.message else None,
        ) for o in outcomes if o.record.id in new_states])
        stats.record_outcomes(store, conn, outcomes, new_states, now)
    return new_states


_OLDER_FAILED = (
    "SELECT older.id, older.tenant, older.version, older.error_category, max(records.id) AS by_id"
    " FROM records AS older JOIN records ON records.tenant = older.tenant AND records.flow = older.flow"
    " AND records.entity_key = older.entity_key AND older.id < records.id"
    " WHERE records.id IN ({ids}) AND older.state = ? GROUP BY older.id"
)


def _auto_resolve(conn: Connection, delivered: list[int], now: float) -> None:
    """Failed records of an entity that a newer record has since delivered are obsolete: close
    them so stale errors stop burying live ones. Quarantined ones stay: a human parked them."""
    rows = execute_for_ids(conn, _OLDER_FAILED, delivered, (), (FAILED,)).all()
    if not rows:
        return
    conn.execute(R.update().where(R.c.id == bindparam("rid"), R.c.state == FAILED).values(
        state=RESOLVED, resolution=bindparam("why"), due_at=None, version=R.c.version + 1, updated_at=now),
        [dict(rid=r.id, why=f"superseded by #{r.by_id} delivered") for r in rows])
    conn.execute(AuditEvent.__table__.insert(), [dict(
        at=now, actor="engine", client=None, via="engine", action="auto_resolve", target_type="record",
        target_id=str(r.id), tenant=r.tenant, reason=f"superseded by #{r.by_id} delivered",
        before=json.dumps({"state": FAILED, "error_category": r.error_category, "version": r.version}),
        after=json.dumps({"state": RESOLVED, "version": r.version + 1})) for r in rows])


def _after_failure(o: Outcome, tries: int, policy: RetryPolicyLike, now: float,
                   rng: random.Random | None) -> tuple[str, float | None]:
    if o.category in RETRYABLE and tries < policy.max_attempts:
        return RETRY_WAIT, finite_due(now + retry_delay(tries, policy, retry_after=o.retry_after, rng=rng), now)
    return FAILED, None


def finite_due(when: float, now: float) -> float:
    """No time stored in the store is ever infinite or NaN: a record due at infinity is lost."""
    if math.isfinite(when):
        return min(when, now + LONGEST_WAIT)
    return now + LONGEST_WAIT if when > 0 else now


def defer(store: Store, owner: str, record_ids: Sequence[int], *, until: float,
          reason: str | None = None, category: Category | None = None, maybe_applied: bool = False) -> int:
    """Put leased records back without spending an attempt (breaker open, shutdown, local limiter)."""
    if not record_ids:
        return 0
    now = store.clock()
    until = finite_due(until, now)
    values: dict[str, Any] = dict(state=RETRY_WAIT if until > now else PENDING, due_at=until,
                                  lease_owner=None, lease_until=None,
                                  version=R.c.version + 1, updated_at=now)
    if reason:
        values.update(error_message=reason, error_signature=error_signature(reason))
    if category is not None:
        values["error_category"] = str(category)
    if maybe_applied:
        values["outcome_unknown"] = True
    with store.write() as conn:
        res = conn.execute(R.update().where(
            R.c.id.in_(list(record_ids)), R.c.state == IN_FLIGHT, R.c.lease_owner == owner,
        ).values(**values))
    return res.rowcount or 0


def reclaim_expired(store: Store, *,
                    policy_for: Callable[[str, str], RetryPolicyLike] | None = None) -> int:
    """Return records whose lease ran out (a crashed or killed engine) to the queue.

    It counts as an attempt: the delivery may or may not have reached the target (the
    delivery idempotency key makes the retry safe), and a record that crashes the
    engine every time must eventually stop: at max_attempts it fails instead.
    """
    now = store.clock()
    policy_for = policy_for or (lambda _t, _f: RetryPolicy())
    with store.write() as conn:
        # SKIP LOCKED: two engines reclaiming at once on PostgreSQL each take different rows.
        rows = conn.execute(select(R.c.id, R.c.attempts, R.c.target, R.c.tenant, R.c.flow).where(
            R.c.state == IN_FLIGHT, R.c.lease_until < now).with_for_update(skip_locked=True)).all()
        if not rows:
            return 0
        retry_msg = "lease expired: the engine stopped during delivery; retrying with the same idempotency key"
        params = []
        for r in rows:
            tries = r.attempts + 1
            gave_up = tries >= policy_for(r.tenant, r.flow).max_attempts
            msg = (f"lease expired: the engine stopped during delivery; giving up after {tries} attempts"
                   if gave_up else retry_msg)
            params.append(dict(rid=r.id, st=FAILED if gave_up else RETRY_WAIT, due=None if gave_up else now,
                               msg=msg, sig=error_signature(msg)))
        conn.execute(R.update().where(
            and_(R.c.id == bindparam("rid"), R.c.state == IN_FLIGHT, R.c.lease_until < now)
        ).values(state=bindparam("st"), due_at=bindparam("due"), attempts=R.c.attempts + 1, lease_owner=None,
                 lease_until=None, version=R.c.version + 1, updated_at=now,
                 error_category=str(Category.UNKNOWN), error_message=bindparam("msg"),
                 error_signature=bindparam("sig"), outcome_unknown=True),
            params)
        conn.execute(A.insert(), [dict(record_id=r.id, at=now, endpoint=r.target, outcome=p["st"],
                                       error_category=str(Category.UNKNOWN), error_message=p["msg"])
                                  for r, p in zip(rows, params)])
    return len(rows)


def renew_leases(store: Store, owner: str, *, lease_seconds: float) -> int:
    """Extend every lease this engine holds: a slow batch must not be reclaimed (and sent
    a second time) while the engine that claimed it is alive and still working on it."""
    now = store.clock()
    with store.write() as conn:
        res = conn.execute(R.update().where(R.c.state == IN_FLIGHT, R.c.lease_owner == owner)
                           .values(lease_until=now + lease_seconds))
    return res.rowcount or 0


def last_delivered(store: Store, tenant: str, flow: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Newest delivered payload per entity key, for a batch at once (compare-and-swap baselines)."""
    return baselines(store, tenant, flow, keys)[0]


def baselines(store: Store, tenant: str, flow: str, keys: Sequence[str]
              ) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Per entity key: the newest delivered payload, and the payloads of records whose outcome
    is unknown (values syncops may have put at the target without knowing it)."""
    if not keys:
        return {}, {}
    keys = sorted(set(keys))
    newest = (select(R.c.entity_key, func.max(R.c.id).label("id"))
              .where(R.c.tenant == tenant, R.c.flow == flow, R.c.entity_key.in_(keys), R.c.state == DELIVERED)
              .group_by(R.c.entity_key).subquery())
    delivered: dict[str, dict[str, Any]] = {}
    unknown: dict[str, list[dict[str, Any]]] = {}
    with store.read() as conn:
        for key, payload in conn.execute(select(R.c.entity_key, R.c.payload).join(newest, newest.c.id == R.c.id)):
            delivered[key] = json.loads(payload)
        for key, payload in conn.execute(
            select(R.c.entity_key, R.c.payload).where(
                R.c.tenant == tenant, R.c.flow == flow, R.c.entity_key.in_(keys),
                R.c.state.in_((RETRY_WAIT, FAILED, IN_FLIGHT, SUPERSEDED)), R.c.outcome_unknown == True,  # noqa: E712
            ).order_by(R.c.id)
        ):
            unknown.setdefault(key, []).append(json.loads(payload))
    return delivered, unknown
