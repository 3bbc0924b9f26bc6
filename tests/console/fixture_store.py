"""A small deterministic store for console tests and snapshots.

Built through the real lifecycle and services (enqueue, claim, settle, edit, act) with a
fake clock, so it holds exactly what an engine and a technician would have left behind.
"""

from __future__ import annotations

import json
import random
from typing import Any

from syncops.config import Config, Flow, Schedule, Tenant
from syncops.models import sample_payload
from syncops.services import actions, flows
from syncops.services.actor import Actor
from syncops.store import lifecycle
from syncops.store.categories import Category
from syncops.store.db import Store
from syncops.store.dialect import upsert
from syncops.store.lifecycle import NewRecord, Outcome
from syncops.store.tables import EndpointState, EngineHeartbeat, FlowControl

T0 = 1_700_000_000.0
TECH = Actor(user="dana", client="10.0.0.7", via="console")
ACME, BELLA = "acme-outdoor", "bella-boutique"


def make_config() -> Config:
    def flow(tenant: str, name: str, entity: str, target: str, sla: float, every: float, **kw: Any) -> Flow:
        return Flow(name=name, entity=entity, source="pos", target=target, schedule=Schedule(every=every),
                    sla=sla, tenant=tenant, **kw)

    acme = Tenant(ACME, True, {}, {
        "web-orders-to-erp": flow(ACME, "web-orders-to-erp", "order", "erp", 600, 5,
                                  mappings={"sku": "to_erp_sku", "payment_method": "web_to_erp_payment"}),
        "inventory-pos-to-web": flow(ACME, "inventory-pos-to-web", "inventory", "web", 60, 1, coalesce=True,
                                     mappings={"sku": "pos_to_web_sku"}),
    }, {"to_erp_sku": {"TSHIRT-RED-M": "TSHIRT-RED-M", "MUG-WHITE": "MUG-WHITE"},
        "pos_to_web_sku": {"TSHIRT-RED-M": "TSHIRT-RED-M"},
        "web_to_erp_payment": {"card": "Card"}})
    bella = Tenant(BELLA, False, {}, {
        "inventory-pos-to-web": flow(BELLA, "inventory-pos-to-web", "inventory", "web", 60, 1,
                                     mappings={"sku": "bella_sku"}),
        "products-pos-to-web": flow(BELLA, "products-pos-to-web", "product", "web", 1800, 60),
    }, {"bella_sku": {"TSHIRT-RED-M": "TSHIRT-RED-M"}})
    return Config(store=None, tenants={ACME: acme, BELLA: bella})


def _order(n: int, sku: str = "TSHIRT-RED-M") -> dict[str, Any]:
    p = sample_payload("order")
    p["order_number"] = f"WEB-{1000 + n}"
    p["lines"][0]["sku"] = sku
    return p


def _inventory(sku: str, loc: str = "store-1", available: int = 5) -> dict[str, Any]:
    p = sample_payload("inventory")
    p.update(sku=sku, location_id=loc, available=available, on_hand=available)
    return p


def _enqueue(store: Store, tenant: str, flow: str, entity: str, target: str, items: list[tuple[str, dict]],
             source: dict | None = None) -> list[int]:
    recs = [NewRecord(tenant=tenant, flow=flow, entity=entity, entity_key=key, idempotency_key=f"{flow}:{key}",
                      target=target, payload=payload, source_ts=store.clock() - 5,
                      source_payload=source)
            for key, payload in items]
    return lifecycle.enqueue(store, recs).inserted


def _deliver_and_fail(store: Store, tenant: str, target: str, outcomes: dict[int, dict[str, Any]],
                      rng: random.Random) -> None:
    claimed = lifecycle.claim(store, tenant=tenant, target=target, owner="engine-1", limit=1000)
    lifecycle.settle(store, "engine-1", [Outcome(record=c, **({"duration_ms": 120.0, "status": 200}
                                                              | outcomes.get(c.id, {})))
                                         for c in claimed], endpoint=target, rng=rng)


def build(store: Store, clock: Any) -> Config:
    """Fill `store`; leaves clock.now == T0."""
    rng = random.Random(7)
    config = make_config()

    # Twenty minutes of deliveries, so the sparklines and p95 have something to show.
    for minute in range(20, 0, -2):
        clock.now = T0 - minute * 60
        n = 3 + (minute % 5)
        _enqueue(store, ACME, "inventory-pos-to-web", "inventory", "web",
                 [(f"OK-{minute}-{i}@store-1", _inventory(f"OK-{minute}-{i}")) for i in range(n)])
        _deliver_and_fail(store, ACME, "web", {}, rng)
        _enqueue(store, BELLA, "inventory-pos-to-web", "inventory", "web",
                 [(f"B-{minute}-{i}@store-1", _inventory(f"B-{minute}-{i}")) for i in range(2)])
        _deliver_and_fail(store, BELLA, "web", {}, rng)

    # acme orders: mapping failures (with customer data), a validation failure, retry waits.
    clock.now = T0 - 3600
    source = {"id": "gid://shopify/Order/1", "customer": {"first_name": "Jane", "last_name": "Doe",
                                                          "email": "jane@example.com", "phone": "+1 555 010 4477"}}
    ids = _enqueue(store, ACME, "web-orders-to-erp", "order", "erp",
                   [(f"WEB-{1000 + n}", _order(n, "BOOT-BRN-42" if n < 3 else "TSHIRT-RED-M")) for n in range(7)],
                   source=source)
    summary = json.dumps({"mappings": [{"map": "to_erp_sku", "field": "lines[1].sku", "source": "MUG-WHITE",
                                        "target": "MUG-WHITE"}]})
    outcome = {}
    for rid in ids[:3]:
        outcome[rid] = dict(category=Category.MAPPING, error_map="to_erp_sku", error_value="BOOT-BRN-42",
                            message="sku 'BOOT-BRN-42' not in map to_erp_sku (field lines[0].sku)",
                            request_summary=summary, status=None)
    outcome[ids[3]] = dict(category=Category.VALIDATION, status=422,
                           message="422 Unprocessable Entity: partner_id: customer not found in ERP",
                           response_excerpt='{"error": "customer not found"}')
    for rid in ids[4:6]:
        # Retry-After two hours: still waiting at T0, so later claims in this fixture leave them be.
        outcome[rid] = dict(category=Category.UNAVAILABLE, status=503, message="503 Service Unavailable",
                            response_excerpt="<html>maintenance</html>", retry_after=7200)
    _deliver_and_fail(store, ACME, "erp", outcome, rng)  # ids[6] delivered

    # acme inventory: an unmapped SKU on the web side.
    clock.now = T0 - 1800
    inv = _enqueue(store, ACME, "inventory-pos-to-web", "inventory", "web",
                   [(f"CAP-BLK@store-{i}", _inventory("CAP-BLK", f"store-{i}")) for i in (1, 2)])
    _deliver_and_fail(store, ACME, "web", {rid: dict(category=Category.MAPPING, error_map="pos_to_web_sku",
                                                     error_value="CAP-BLK",
                                                     message="sku 'CAP-BLK' not in map pos_to_web_sku "
                                                             "(field sku)") for rid in inv}, rng)

    # bella: an outage left 25 failed inventory updates (a bulk retry over the threshold).
    clock.now = T0 - 900
    bella = _enqueue(store, BELLA, "inventory-pos-to-web", "inventory", "web",
                     [(f"SKU-{i:03d}@store-1", _inventory(f"SKU-{i:03d}")) for i in range(25)])
    _deliver_and_fail(store, BELLA, "web", {rid: dict(category=Category.AUTH, status=401,
                                                      message="401 Unauthorized: invalid API token")
                                            for rid in bella}, rng)
    prod = _enqueue(store, BELLA, "products-pos-to-web", "product", "web",
                    [("TSHIRT-RED-M", sample_payload("product"))])
    _deliver_and_fail(store, BELLA, "web", {prod[0]: dict(category=Category.CONFLICT, status=409,
                                                          message="409 Conflict: handle already taken")}, rng)

    # A technician's earlier work: an edit, a quarantine, a pause.
    clock.now = T0 - 600
    edited = actions.edit_payload(store, ids[3], dict(_order(3), channel="web"), actor=TECH,
                                  reason="ERP expects channel web", expected_version=None)
    actions.act(store, "quarantine", bella[24], actor=TECH, reason="duplicate SKU, checking with the store")
    flows.pause(store, BELLA, "products-pos-to-web", actor=TECH, reason="catalog freeze until Monday")
    _deliver_and_fail(store, ACME, "erp", {edited.id: dict(
        category=Category.VALIDATION, status=422,
        message="422 Unprocessable Entity: partner_id: customer not found in ERP")}, rng)

    # One record still pending.
    clock.now = T0 - 30
    _enqueue(store, ACME, "web-orders-to-erp", "order", "erp", [("WEB-2000", _order(1000))])

    clock.now = T0
    _engine_state(store)
    return config


def _engine_state(store: Store) -> None:
    now = store.clock()
    F = FlowControl.__table__
    with store.write() as conn:
        for tenant, flow, every in ((ACME, "web-orders-to-erp", 5), (ACME, "inventory-pos-to-web", 1),
                                    (BELLA, "inventory-pos-to-web", 1), (BELLA, "products-pos-to-web", 60)):
            values = dict(last_run_at=now - 2, last_run_status="ok", next_run_at=now - 2 + every, updated_at=now)
            conn.execute(upsert(store.engine, F, ["tenant", "flow"], dict(tenant=tenant, flow=flow, **values),
                                values))
        conn.execute(EndpointState.__table__.insert(), [
            dict(tenant=ACME, endpoint="erp", breaker="open", consecutive_failures=6, opened_at=now - 40,
                 wait_until=None, last_error="503 Service Unavailable", updated_at=now - 40),
            dict(tenant=ACME, endpoint="web", breaker="closed", consecutive_failures=0, opened_at=None,
                 wait_until=None, last_error=None, updated_at=now - 5),
        ])
        conn.execute(EngineHeartbeat.__table__.insert().values(
            engine_id="ops-1:4242", host="ops-1", pid=4242, version="0.1.0", started_at=now - 3600,
            beat_at=now - 3, stopped_at=None, mode="service"))
