"""A fleet-sized store for `syncops bench console`: 500 tenants x 10 flows (the fleet rollup's figure).

Bulk Core inserts, like console_store: per flow a few open records in every open state, a
tail of delivered ones, 30 minutes of throughput rows (what the dashboard's p95 reads),
flow control rows (some paused) and a few open circuit breakers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from syncops.models import sample_payload
from syncops.store.db import Store, open_store
from syncops.store.tables import (
    DELIVERED, FAILED, IN_FLIGHT, PENDING, QUARANTINED, RETRY_WAIT, EndpointState, FlowControl, FlowMinute, Record,
)

ENTITIES = ("inventory", "order", "price", "product", "return")
SLA = {"inventory": 60.0, "price": 300.0, "order": 600.0, "return": 1800.0, "product": 1800.0}
OPEN = (PENDING, IN_FLIGHT, RETRY_WAIT, FAILED, QUARANTINED)


HISTORY_EVERY = 10  # minutes between the older statistics rows of each flow


def names(tenants: int, flows: int) -> list[tuple[str, str, str]]:
    """(tenant, flow, entity) for every flow of the fleet."""
    return [(f"tenant-{t:04d}", f"flow-{f:02d}", ENTITIES[f % len(ENTITIES)])
            for t in range(tenants) for f in range(flows)]


def fleet_config(tenants: int, flows: int) -> Any:
    from syncops.config import Config, Flow, Schedule, Tenant

    out: dict[str, Any] = {}
    for tenant, flow, entity in names(tenants, flows):
        t = out.setdefault(tenant, Tenant(tenant, tenant.endswith("0"), {}, {}, {}))
        t.flows[flow] = Flow(name=flow, entity=entity, source="pos", target="web", schedule=Schedule(every=5.0),
                             sla=SLA[entity], tenant=tenant)
    return Config(store=None, tenants=out)


def build_fleet(path: Path, *, tenants: int = 500, flows: int = 10, records_per_flow: int = 40,
                now: float | None = None) -> Store:
    now = time.time() if now is None else now
    store = open_store(f"sqlite:///{path}", synchronous="OFF", clock=lambda: now)
    payloads = {e: json.dumps(sample_payload(e), separators=(",", ":")) for e in ENTITIES}
    rows, n = [], 0
    for i, (tenant, flow, entity) in enumerate(names(tenants, flows)):
        for j in range(records_per_flow):
            n += 1
            # The first few of each flow are open (one per open state, skewed by flow), the rest delivered.
            state = OPEN[(i + j) % len(OPEN)] if j < 1 + i % 6 else DELIVERED
            created = now - 60 * (j + 1) - (i % 97) * 30
            rows.append(dict(tenant=tenant, flow=flow, entity=entity, entity_key=f"K-{i}-{j}",
                             idempotency_key=f"fleet:{n}", target="web", state=state, version=1, payload_rev=1,
                             attempts=1, due_at=created if state in (PENDING, RETRY_WAIT) else None,
                             created_at=created, updated_at=created + 2, source_ts=created - 1,
                             delivered_at=created + 2 if state == DELIVERED else None, payload=payloads[entity],
                             error_category="unavailable" if state in (FAILED, RETRY_WAIT, QUARANTINED) else None,
                             error_message="503 Service Unavailable" if state in (FAILED, RETRY_WAIT) else None))
    minute = int(now // 60)
    hist = dict(le_250=40, le_500=30, le_1000=20, le_5000=8, le_30000=2)
    with store.write() as conn:
        for k in range(0, len(rows), 50_000):
            conn.execute(Record.__table__.insert(), rows[k:k + 50_000])
        conn.execute(FlowMinute.__table__.insert(), [
            dict(tenant=t, flow=f, minute=minute - m, delivered=20 + m % 7, failed=m % 3, duplicates=0, **hist)
            for t, f, _e in names(tenants, flows) for m in range(30)])
        # A store that has been running: a day of older minutes (every HISTORY_EVERY-th), which
        # the windowed reads must skip rather than scan.
        conn.execute(FlowMinute.__table__.insert(), [
            dict(tenant=t, flow=f, minute=minute - m, delivered=20, failed=0, duplicates=0, **hist)
            for t, f, _e in names(tenants, flows) for m in range(60, 1440, HISTORY_EVERY)])
        conn.execute(FlowControl.__table__.insert(), [
            dict(tenant=t, flow=f, paused=i % 37 == 0, paused_reason="bench" if i % 37 == 0 else None,
                 last_run_at=now - 3, last_run_status="ok", next_run_at=now + 2, updated_at=now - 3)
            for i, (t, f, _e) in enumerate(names(tenants, flows))])
        conn.execute(EndpointState.__table__.insert(), [
            dict(tenant=f"tenant-{t:04d}", endpoint="web", breaker="open", consecutive_failures=9,
                 opened_at=now - 40, updated_at=now - 40) for t in range(0, tenants, 50)])
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    return store


def measure_rollup(path: Path, tenants: int, flows: int, rounds: int = 5) -> dict[str, Any]:
    """Seconds for services.fleet.fleet on the built store: the first call (cold caches) and the median."""
    from syncops.services.fleet import fleet

    store = open_store(f"sqlite:///{path}", create=False)
    config = fleet_config(tenants, flows)
    times, result = [], None
    try:
        for _ in range(rounds):
            t = time.perf_counter()
            result = fleet(store, config)
            times.append(time.perf_counter() - t)
    finally:
        store.close()
    assert result is not None
    return {"tenants": len(result.tenants), "flows": len(result.health.flows), "first_s": times[0], "rounds": rounds,
            "fleet_rollup_s": sorted(times)[len(times) // 2],
            "worst": result.tenants[0].tenant if result.tenants else None}
