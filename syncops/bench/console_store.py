"""A large, realistic store for `syncops bench console`: 1M records, 200k of them exceptions.

Rows go in with bulk Core inserts (executemany of dicts, 50k per statement) inside one
write transaction with synchronous=OFF: going through enqueue/claim/settle would take
an hour, and the console only reads what the engine would have left behind.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from syncops.models import sample_payload
from syncops.store.db import Store, open_store
from syncops.store.signature import error_signature
from syncops.store.tables import (
    DELIVERED, FAILED, PENDING, QUARANTINED, RETRY_WAIT, SUPERSEDED,
    EndpointState, FlowControl, FlowMinute, Record,
)

CHUNK = 50_000
DAYS = 30

# (tenant, production, [(flow, entity, target)])
TENANTS = [
    ("acme-outdoor", True, [("inventory-pos-to-web", "inventory", "web"), ("web-orders-to-erp", "order", "erp"),
                            ("store-sales-to-erp", "order", "erp"), ("prices-erp-to-web", "price", "web")]),
    ("bella-boutique", False, [("inventory-pos-to-web", "inventory", "web"),
                               ("products-pos-to-web", "product", "web")]),
    ("cobalt-cycles", False, [("inventory-pos-to-web", "inventory", "web"), ("web-orders-to-erp", "order", "erp"),
                              ("returns-pos-to-erp", "return", "erp")]),
]
FLOWS = [(t, prod, f, e, tgt) for t, prod, flows in TENANTS for f, e, tgt in flows]

# (category, message template, map) - {n} is replaced per record
ERRORS = [
    ("mapping", "sku 'SKU-{v}' not in map pos_to_web_sku (field lines[0].sku)", "pos_to_web_sku"),
    ("unavailable", "503 Service Unavailable from target (request {n} timed out after 10s)", None),
    ("rate_limit", "429 Too Many Requests: retry after {r}s", None),
    ("validation", "422 Unprocessable Entity: lines[0].quantity must be >= 1 (order WEB-{n})", None),
    ("conflict", "stale compare-and-swap for SKU-{v}: expected {r}, found {n}", None),
    ("auth", "401 Unauthorized: access token expired", None),
]
# retry_wait only ever holds retryable categories
RETRYABLE_ERRORS = [ERRORS[1], ERRORS[2]]


def _payload_template(entity: str) -> tuple[str, str]:
    data = sample_payload(entity)
    text = json.dumps(data, separators=(",", ":"), sort_keys=True)
    return text, {"inventory": "TSHIRT-RED-M", "order": "POS-10042", "return": "RET-5001",
                  "price": "TSHIRT-RED-M", "product": "TSHIRT-RED-M", "settlement": "po_1PXyZ2024"}[entity]


def _rows(start: int, stop: int, total: int, exceptions: int, now: float) -> list[dict[str, Any]]:
    templates = {e: _payload_template(e) for e in {f[3] for f in FLOWS}}
    span = DAYS * 86400
    every = max(1, total // max(exceptions, 1))  # every Nth record is an exception
    pending_every = 400
    out = []
    sig_cache: dict[str, str | None] = {}
    for i in range(start, stop):
        tenant, _prod, flow, entity, target = FLOWS[i % len(FLOWS)]
        created = now - span + span * i / total
        text, token = templates[entity]
        key = f"SKU-{i % 5000:05d}@store-{i % 7}" if entity in ("inventory", "price") else f"ORD-{i:08d}"
        row: dict[str, Any] = dict(
            tenant=tenant, flow=flow, entity=entity, entity_key=key, idempotency_key=f"bench:{i}",
            target=target, version=3, payload_rev=1, attempts=1, due_at=None, lease_owner=None,
            lease_until=None, created_at=created, updated_at=created + 2, source_ts=created - 1,
            delivered_at=None, payload=text.replace(token, key.split("@")[0]), source_payload=None,
            error_category=None, error_message=None, error_signature=None, error_map=None,
            error_value=None, superseded_by=None, resolution=None, target_ref=None,
        )
        if i % every == 0 and (i // every) < exceptions:
            k = i // every
            state = (FAILED, FAILED, RETRY_WAIT, QUARANTINED, FAILED)[k % 5]
            cat, tmpl, emap = (RETRYABLE_ERRORS[k % 2] if state == RETRY_WAIT else ERRORS[k % len(ERRORS)])
            value = f"{k % 300:04d}"
            msg = tmpl.format(v=value, n=i, r=k % 9 + 1)
            sig = sig_cache.get(tmpl + str(k % 9) if "{n}" not in tmpl else tmpl)
            if sig is None:
                sig = error_signature(msg)
                sig_cache[tmpl + str(k % 9) if "{n}" not in tmpl else tmpl] = sig
            row.update(state=state, attempts=1 + k % 8, error_category=cat, error_message=msg,
                       error_signature=sig, updated_at=created + 60 * (1 + k % 8))
            if emap:
                row.update(error_map=emap, error_value=f"SKU-{value}")
            if state == RETRY_WAIT:
                row["due_at"] = now + 30 + k % 600
        elif i % pending_every == 1:
            row.update(state=PENDING, attempts=0, due_at=created, version=1)
        elif i % 25 == 3 and entity in ("inventory", "price"):
            row.update(state=SUPERSEDED)
        else:
            row.update(state=DELIVERED, delivered_at=created + 2, target_ref=f"ref-{i}")
        out.append(row)
    return out


def build(path: Path, *, records: int = 1_000_000, exceptions: int = 200_000,
          now: float | None = None, progress: Callable[[str], None] | None = None) -> Store:
    """Create the store at `path`; returns it opened (synchronous=OFF: a throwaway file)."""
    now = time.time() if now is None else now
    store = open_store(f"sqlite:///{path}", synchronous="OFF", clock=lambda: now)
    R = Record.__table__
    started = time.perf_counter()
    with store.write() as conn:
        for start in range(0, records, CHUNK):
            conn.execute(R.insert(), _rows(start, min(records, start + CHUNK), records, exceptions, now))
            if progress:
                progress(f"  {min(records, start + CHUNK):>9,} records ({time.perf_counter() - started:.0f}s)")
        _side_tables(conn, now)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    return store


def _side_tables(conn: Any, now: float) -> None:
    minute = int(now // 60)
    hist = dict(le_250=40, le_500=30, le_1000=20, le_5000=8, le_30000=2)
    conn.execute(FlowMinute.__table__.insert(), [
        dict(tenant=t, flow=f, minute=minute - m, delivered=20 + (m * 7 + len(f)) % 40, failed=m % 3,
             duplicates=0, **hist)
        for t, _p, f, _e, _tg in FLOWS for m in range(30)])
    conn.execute(FlowControl.__table__.insert(), [
        dict(tenant=t, flow=f, paused=False, last_run_at=now - 3, last_run_status="ok", next_run_at=now + 2,
             updated_at=now - 3)
        for t, _p, f, _e, _tg in FLOWS])
    conn.execute(EndpointState.__table__.insert(), [
        dict(tenant="acme-outdoor", endpoint="erp", breaker="open", consecutive_failures=12, opened_at=now - 40,
             last_error="503 Service Unavailable", updated_at=now - 40),
        dict(tenant="acme-outdoor", endpoint="web", breaker="closed", consecutive_failures=0, opened_at=None,
             last_error=None, updated_at=now - 5),
    ])


def bench_config() -> Any:
    """The config matching the generated tenants and flows (production flags, SLAs)."""
    from syncops.config import Config, Flow, Schedule, Tenant

    sla = {"inventory": 60.0, "price": 300.0, "order": 600.0, "return": 1800.0, "product": 1800.0}
    tenants = {}
    for name, production, flows in TENANTS:
        tenants[name] = Tenant(name, production, {}, {
            f: Flow(name=f, entity=e, source="pos", target=t, schedule=Schedule(every=5.0), sla=sla[e], tenant=name)
            for f, e, t in flows}, {})
    return Config(store=None, tenants=tenants)
