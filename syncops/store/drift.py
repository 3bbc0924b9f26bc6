"""Store side of inventory reconciliation: what the store knows per key, drift records, and the
last reconciliation per tenant (in syncops_meta, so no schema change is needed).

A drift is an ordinary record (state failed, category drift) so every console view, filter,
bulk action and the audit trail work on it unchanged; retrying it delivers the source's value.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select

from syncops.services import audit
from syncops.services.actor import ENGINE, Actor
from syncops.store.categories import Category
from syncops.store.db import Store
from syncops.store.dialect import upsert
from syncops.store.signature import error_signature
from syncops.store.tables import (
    DELIVERED, FAILED, IN_FLIGHT, PENDING, QUARANTINED, RESOLVED, RETRY_WAIT, Meta, Record,
)

R = Record.__table__
M = Meta.__table__
META_PREFIX = "reconcile:"
IN_TRANSIT = (PENDING, IN_FLIGHT, RETRY_WAIT)  # on its way to the target: not drift yet
HEALED = "drift healed"


@dataclass
class KeyState:
    key: str
    payload: dict[str, Any]  # the newest record's payload (source terms): names the sku and location
    last_synced: float | None  # delivered_at of the newest delivered record
    # Changes whenever any record of the key changes (every change bumps a version; a new record
    # adds one): a clock-free way to see that the key moved while levels were being read.
    fingerprint: tuple[int, int]
    in_transit: bool = False
    exception: str | None = None  # an open non-drift exception's category: a human already sees the key
    drift_id: int | None = None  # the open drift record, if any
    drift_message: str | None = None
    drift_payload: str | None = None


def key_states(store: Store, tenant: str, flow: str) -> dict[str, KeyState]:
    """Every entity key the flow has records for, with what reconciliation needs to judge it."""
    base = and_(R.c.tenant == tenant, R.c.flow == flow)
    agg = (select(R.c.entity_key, func.max(R.c.id).label("last_id"),
                  func.max(case((R.c.state == DELIVERED, R.c.delivered_at))).label("synced"),
                  func.count().label("n"), func.sum(R.c.version).label("versions"))
           .where(base).group_by(R.c.entity_key).subquery())
    out: dict[str, KeyState] = {}
    with store.read() as conn:
        for key, payload, synced, n, versions in conn.execute(
                select(agg.c.entity_key, R.c.payload, agg.c.synced, agg.c.n, agg.c.versions)
                .join(R, R.c.id == agg.c.last_id)):
            try:
                data = json.loads(payload)
            except ValueError:
                data = {}
            out[key] = KeyState(key, data if isinstance(data, dict) else {}, synced, (int(n), int(versions or 0)))
        for row in conn.execute(select(R.c.id, R.c.entity_key, R.c.state, R.c.error_category, R.c.error_message,
                                       R.c.payload)
                                .where(base, R.c.state.in_((*IN_TRANSIT, FAILED, QUARANTINED))).order_by(R.c.id)):
            ks = out.get(row.entity_key)
            if ks is None:
                continue
            if row.state in IN_TRANSIT:
                ks.in_transit = True
            elif row.state == FAILED and row.error_category == Category.DRIFT:
                ks.drift_id, ks.drift_message, ks.drift_payload = row.id, row.error_message, row.payload
            else:
                ks.exception = row.error_category or row.state
    return out


def record_drift(store: Store, *, tenant: str, flow: str, target: str, key: str, payload: dict[str, Any],
                 message: str, details: dict[str, Any], coalesce: bool, actor: Actor = ENGINE) -> tuple[int, str]:
    """Open a drift record for `key`, or refresh the open one. Returns (record id, "new" |
    "updated" | "unchanged"). An unchanged drift is left alone: bumping its version would make
    an operator's retry of what they are looking at fail as a concurrent change."""
    now = store.clock()
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    sig = error_signature(message, key)
    with store.write() as conn:
        row = conn.execute(select(R.c.id, R.c.version, R.c.error_message, R.c.payload).where(
            R.c.tenant == tenant, R.c.flow == flow, R.c.entity_key == key, R.c.state == FAILED,
            R.c.error_category == str(Category.DRIFT)).order_by(R.c.id).limit(1)).first()
        if row is not None:
            if row.error_message == message and row.payload == text:
                return row.id, "unchanged"
            conn.execute(R.update().where(R.c.id == row.id, R.c.version == row.version).values(
                version=row.version + 1, updated_at=now, payload=text, error_message=message,
                error_signature=sig, source_payload=json.dumps(details, sort_keys=True, default=str)))
            return row.id, "updated"
        rid = conn.execute(R.insert().values(
            tenant=tenant, flow=flow, entity="inventory", entity_key=key,
            idempotency_key=f"drift:{key}:{uuid.uuid4().hex[:12]}", target=target, state=FAILED, version=1,
            payload_rev=1, attempts=0, due_at=None, created_at=now, updated_at=now, source_ts=now, payload=text,
            source_payload=json.dumps(details, sort_keys=True, default=str), coalesce=coalesce,
            error_category=str(Category.DRIFT), error_message=message, error_signature=sig,
        ).returning(R.c.id)).scalar_one()
        audit.write(conn, [audit.audit_row(actor, now, "drift_found", "record", str(rid), tenant=tenant,
                                           after={"state": FAILED, "error_category": str(Category.DRIFT),
                                                  "version": 1}, reason=message)])
    return rid, "new"


def heal_drift(store: Store, record_id: int, *, tenant: str) -> bool:
    """The target agrees with the source again: close the drift, audited as the engine."""
    now = store.clock()
    with store.write() as conn:
        row = conn.execute(select(R.c.version).where(R.c.id == record_id, R.c.state == FAILED,
                                                     R.c.error_category == str(Category.DRIFT))).first()
        if row is None:
            return False
        res = conn.execute(R.update().where(R.c.id == record_id, R.c.version == row.version).values(
            state=RESOLVED, resolution=HEALED, due_at=None, version=row.version + 1, updated_at=now))
        if res.rowcount != 1:
            return False
        audit.write(conn, [audit.audit_row(ENGINE, now, "auto_resolve", "record", str(record_id), tenant=tenant,
                                           before={"state": FAILED, "error_category": str(Category.DRIFT),
                                                   "version": row.version},
                                           after={"state": RESOLVED, "version": row.version + 1}, reason=HEALED)])
    return True


def save_last(store: Store, tenant: str, summary: dict[str, Any]) -> None:
    value = json.dumps(summary, sort_keys=True, default=str)
    with store.write() as conn:
        conn.execute(upsert(store.engine, M, ["key"], dict(key=META_PREFIX + tenant, value=value), dict(value=value)))


def last_runs(store: Store) -> dict[str, dict[str, Any]]:
    """The last reconciliation per tenant, as saved by `save_last`."""
    out: dict[str, dict[str, Any]] = {}
    with store.read() as conn:
        for key, value in conn.execute(select(M.c.key, M.c.value).where(M.c.key.like(META_PREFIX + "%"))):
            if ":" in key[len(META_PREFIX):]:
                continue  # reconcile:<what>:<tenant>: a documents run (services.reconcile_documents)
            try:
                out[key[len(META_PREFIX):]] = json.loads(value)
            except ValueError:
                continue  # a hand-edited value must not break `status`
    return out
