"""A real engine with a `kind: rest` endpoint (the simulated WMS): Square stock to the WMS through an
outage that opens the breaker, and Shopify orders to WMS shipments through a kill -9 and answers
lost after the WMS applied them: every order shipped once, none lost."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from syncops.simulator.faults import Faults
from syncops.simulator.http import SimServer
from syncops.simulator.wms import WmsApp
from syncops.store import queries

from tests.engine.harness import SKUS, Harness, states, until
from tests.engine.test_resilience import _spawn, _wait_for, _wait_started

CONFIG = """
tenants:
  acme:
    endpoints:
      pos: {kind: square, base_url: simulator}
      web: {kind: shopify, base_url: simulator}
      erp: {kind: odoo, base_url: simulator}
      wms:
        kind: rest
        base_url: simulator
        options:
          auth: {type: api_key, header: X-Api-Key}
          pagination: {style: page, size_param: per_page, size: 50, total_pages: meta.total_pages}
          errors: {message: error.message, code: error.code}
          check: {path: /api/v1/me}
          entities:
            inventory:
              push:
                method: PUT
                path: /api/v1/stock/{sku}/{location_id}
                body: {on_hand: on_hand, available: available}
                idempotency_header: Idempotency-Key
            order:
              push:
                method: POST
                path: /api/v1/shipments
                body: {reference: order_number, lines: "lines[].{sku: sku, quantity: quantity}"}
                idempotency_header: Idempotency-Key
                id: id
      wms_src:
        kind: rest
        base_url: simulator
        options:
          auth: {type: api_key, header: X-Api-Key}
          pagination: {style: cursor, cursor_param: cursor, size_param: limit, size: 2, next: next_cursor}
          entities:
            inventory:
              pull:
                path: /api/v1/stock/changes
                items: items
                incremental: {param: updated_since, cursor_field: updated_at}
                fields: {sku: sku, location_id: warehouse, available: available, on_hand: on_hand,
                         changed_at: updated_at}
                idempotency: "join(':', [sku, warehouse, to_string(version)])"
    maps:
      to_web: {main: web}
      sku: {TSHIRT-RED-M: TSHIRT-RED-M, MUG-WHITE: MUG-WHITE, CAP-BLK: CAP-BLK}
      to_wms: {store-1: main}
    flows:
      - name: stock-to-wms
        entity: inventory
        source: pos
        target: wms
        schedule: {every: 0.5s}
        sla: 1m
        retry: {max_attempts: 8, base_delay: 0.05s, max_delay: 0.2s}
        mappings: {sku: sku, location: to_wms}
      - name: orders-to-wms
        entity: order
        source: web
        target: wms
        batch_size: 2
        schedule: {every: 0.5s}
        sla: 1m
        retry: {max_attempts: 20, base_delay: 0.05s, max_delay: 0.2s}
        mappings: {sku: sku}
      - name: stock-wms-to-web
        entity: inventory
        source: wms_src
        target: web
        enabled: false
        schedule: {every: 0.2s}
        sla: 1m
        mappings: {sku: sku, location: to_web}
"""


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path, CONFIG)
    harness.wms = WmsApp(Faults(), skus=SKUS, warehouses=["main"], initial=None)
    harness.servers["wms"] = SimServer(harness.wms).start()
    yield harness
    harness.close()


def test_stock_reaches_the_wms_through_an_outage_that_opens_the_breaker(h):
    wms = h.wms

    def in_sync() -> bool:
        return all(wms.level(s, "main") == h.square.count(s, "store-1") for s in SKUS)

    def breaker() -> str | None:
        state = queries.endpoint_states(h.store).get(("acme", "wms"))
        return state.breaker if state else None

    async def scenario():
        await h.start()
        await until(in_sync, what="WMS levels equal to the Square counts")
        wms.faults.forced_outage = True
        for _ in range(3):
            h.square.record_sale("store-1", [("TSHIRT-RED-M", 1)])
            await asyncio.sleep(0.15)
        await until(lambda: breaker() == "open", what="breaker open")
        assert not in_sync()
        wms.faults.forced_outage = False
        await until(in_sync, what="stock delivered after the outage")
        await until(lambda: breaker() == "closed", what="breaker closed")
        await h.stop()

    asyncio.run(scenario())
    assert set(states(h.store, "stock-to-wms")) <= {"delivered", "superseded"}


def test_engine_killed_mid_run_ships_every_order_exactly_once(h, tmp_path: Path):
    wms = h.wms
    wms.faults.plan.slow_rate, wms.faults.plan.slow_seconds = 1.0, 0.15  # the kill lands mid-delivery
    wms.faults.plan.reset_after_apply = 0.3  # and some answers are lost after the WMS applied the call
    gids = [h.shopify.place_web_order([("TSHIRT-RED-M", 1)]) for _ in range(12)]
    first = _spawn(h, tmp_path)
    try:
        _wait_started(first)
        _wait_for(lambda: len(wms.shipments) >= 2, 20, "some shipments in the WMS")
        first.send_signal(signal.SIGKILL)
        first.wait(5)
    finally:
        if first.poll() is None:
            first.kill()
    assert len(wms.shipments) < 12, "the kill came too late to prove anything"
    second = _spawn(h, tmp_path)
    try:
        _wait_started(second)
        _wait_for(lambda: states(h.store, "orders-to-wms").get("delivered", 0) == 12, 60, "all orders delivered")
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0
    finally:
        if second.poll() is None:
            second.kill()
    assert wms.faults.injected["reset_after_apply"] > 0
    by_ref = wms.shipments_by_reference()
    assert len(by_ref) == 12 and set(by_ref.values()) == {1}, by_ref
    assert set(by_ref) == {h.shopify.orders[g].name for g in gids}


def test_wms_stock_is_read_page_by_page_and_reaches_shopify_once_per_change(tmp_path: Path):
    h = Harness(tmp_path, CONFIG.replace("enabled: false", "enabled: true"))
    source = WmsApp(Faults(), skus=SKUS, warehouses=["main"], initial=None)
    h.servers["wms"] = SimServer(WmsApp(Faults(), skus=SKUS, warehouses=["main"], initial=None)).start()
    h.servers["wms_src"] = SimServer(source).start()
    try:
        for n, sku in enumerate(SKUS):
            source.set_stock(sku, "main", 30 + n)

        def in_sync() -> bool:
            return all(h.shopify.level(s, "web") == source.level(s, "main") for s in SKUS)

        async def scenario():
            await h.start()
            await until(in_sync, what="Shopify web levels equal to the WMS")
            source.set_stock("MUG-WHITE", "main", 4)
            await until(in_sync, what="the changed level in Shopify")
            await asyncio.sleep(0.5)  # a few more polls: the boundary rows are read again
            await h.stop()

        asyncio.run(scenario())
        reads = [q for _, p, q in source.requests if p == "/stock/changes"]
        assert any("cursor" in q for q in reads) and any("updated_since" in q for q in reads)
        # One record per WMS change (3 rows + 1 change), however often the boundary was re-read.
        assert states(h.store, "stock-wms-to-web") in ({"delivered": 4}, {"delivered": 3, "superseded": 1})
    finally:
        h.close()


class Arrivals:
    """Notes when each write reaches the WMS (throttled or not)."""

    def __init__(self, app: WmsApp) -> None:
        self.app, self.name, self.faults = app, app.name, app.faults
        self.writes: list[float] = []

    def handle(self, request):
        import time

        if request.method == "PUT":
            self.writes.append(time.monotonic())
        return self.app.handle(request)


def test_the_wms_retry_after_is_honoured_by_the_engine(tmp_path: Path):
    h = Harness(tmp_path, CONFIG)
    h.wms = WmsApp(Faults(), skus=SKUS, warehouses=["main"], initial=None)
    h.wms.throttle_next, h.wms.retry_after = 2, "1"
    seen = Arrivals(h.wms)
    h.servers["wms"] = SimServer(seen).start()
    try:
        async def scenario():
            await h.start()
            await until(lambda: all(h.wms.level(s, "main") == h.square.count(s, "store-1") for s in SKUS),
                        what="levels after two throttled writes")
            await h.stop()

        asyncio.run(scenario())
        # The first two writes are answered 429 (two batches may be in flight at once); the next
        # one comes only after the Retry-After of 1 s.
        assert len(seen.writes) >= 3 and seen.writes[2] - seen.writes[1] >= 0.95, seen.writes
        assert set(states(h.store, "stock-to-wms")) <= {"delivered", "superseded"}
    finally:
        h.close()


def test_vendor_validation_and_auth_refusals_become_record_failures(tmp_path: Path):
    from syncops.store.filters import RecordFilter

    h = Harness(tmp_path, CONFIG)
    h.wms = WmsApp(Faults(), skus=["TSHIRT-RED-M", "MUG-WHITE"], warehouses=["main"], initial=None)
    h.servers["wms"] = SimServer(h.wms).start()
    try:
        gid = h.shopify.place_web_order([("CAP-BLK", 1)])  # a SKU the warehouse does not stock

        def failed(flow: str) -> list:
            return [r for r in queries.list_records(h.store, RecordFilter(flow=flow), limit=50).rows
                    if r.state == "failed"]

        async def scenario():
            await h.start()
            await until(lambda: failed("orders-to-wms"), what="the order refused by the WMS")
            h.wms.api_keys.clear()  # the key was revoked
            h.square.record_sale("store-1", [("MUG-WHITE", 1)])
            await until(lambda: any(r.error_category == "auth" for r in failed("stock-to-wms")), what="auth failure")
            await h.stop()

        asyncio.run(scenario())
        (order,) = failed("orders-to-wms")
        assert order.error_category == "validation" and order.entity_key == h.shopify.orders[gid].name
        assert "lines[0].sku unknown sku" in order.error_message
        auth = next(r for r in failed("stock-to-wms") if r.error_category == "auth")
        assert "refused the credentials" in auth.error_message and "simulator-token" not in auth.error_message
        assert h.wms.shipments == {}
    finally:
        h.close()
