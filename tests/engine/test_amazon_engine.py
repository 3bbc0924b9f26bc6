"""A real engine with a simulated Amazon seller: Square stock to Amazon MFN listings (through an
outage that opens the breaker), Amazon orders into Odoo, nothing lost or duplicated."""

from __future__ import annotations

import asyncio

import pytest

from syncops.simulator.amazon import AmazonApp
from syncops.simulator.faults import Faults
from syncops.simulator.http import SimServer
from syncops.store import queries

from tests.engine.harness import SKUS, Harness, states, until

CONFIG = """
tenants:
  acme:
    endpoints:
      pos: {kind: square, base_url: simulator}
      amazon:
        kind: amazon
        base_url: simulator
        options: {client_id: amzn1.application-oa2-client.test, seller_id: A2SIMSELLER01,
                  orders_since: "2020-01-01T00:00:00Z", order_location: web}
      erp: {kind: odoo, base_url: simulator}
    maps:
      sku: {TSHIRT-RED-M: TSHIRT-RED-M, MUG-WHITE: MUG-WHITE, CAP-BLK: CAP-BLK}
      to_amazon: {store-1: DEFAULT}
      erp_location: {web: WH/Stock}
      tax: {AMAZON-TAX: "Tax 8.25%"}
      payment: {amazon: Bank}
    flows:
      - name: stock-to-amazon
        entity: inventory
        source: pos
        target: amazon
        schedule: {every: 0.5s}
        sla: 1m
        retry: {max_attempts: 5, base_delay: 0.05s, max_delay: 0.2s}
        mappings: {sku: sku, location: to_amazon}
      - name: amazon-orders
        entity: order
        source: amazon
        target: erp
        schedule: {every: 0.5s}
        sla: 1m
        retry: {max_attempts: 5, base_delay: 0.05s, max_delay: 0.2s}
        mappings: {sku: sku, location: erp_location, tax_code: tax, payment_method: payment}
"""


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path, CONFIG)
    harness.amazon = AmazonApp(Faults(), skus={s: "10.00" for s in SKUS})
    harness.servers["amazon"] = SimServer(harness.amazon).start()
    yield harness
    harness.close()


def test_stock_reaches_amazon_through_an_outage_and_orders_reach_odoo_once(h):
    amazon = h.amazon
    first = amazon.place_order([("MUG-WHITE", 2)])

    def in_sync() -> bool:
        return all(amazon.quantity(s) == h.square.count(s, "store-1") for s in ("TSHIRT-RED-M", "MUG-WHITE"))

    async def scenario():
        await h.start()
        await until(in_sync, what="MFN quantities equal to the Square counts")
        await until(lambda: states(h.store, "amazon-orders").get("delivered", 0) == 1, what="first order in Odoo")
        amazon.faults.forced_outage = True
        for _ in range(3):
            h.square.record_sale("store-1", [("TSHIRT-RED-M", 1)])
            await asyncio.sleep(0.15)
        await until(lambda: queries.endpoint_states(h.store).get(("acme", "amazon")) is not None
                    and queries.endpoint_states(h.store)[("acme", "amazon")].breaker == "open", what="breaker open")
        assert not in_sync()
        amazon.faults.forced_outage = False
        second = amazon.place_order([("TSHIRT-RED-M", 1)])
        await until(in_sync, what="stock delivered after the outage")
        await until(lambda: states(h.store, "amazon-orders").get("delivered", 0) == 2, what="second order in Odoo")
        await h.stop()
        return second

    second = asyncio.run(scenario())
    assert states(h.store, "amazon-orders") == {"delivered": 2}
    assert set(states(h.store, "stock-to-amazon")) <= {"delivered", "superseded"}
    # Paid Amazon orders are confirmed sale orders in Odoo, each exactly once.
    assert h.odoo.order_state(first) == h.odoo.order_state(second) == "sale"
    refs = [r["client_order_ref"] for r in h.odoo._tables["sale.order"].values()]
    assert sorted(refs) == sorted([first, second])


class Throttle:
    """Answers listings patches 429 QuotaExceeded (this seller: 2 per second) while `on`."""

    def __init__(self, app: AmazonApp) -> None:
        self.app, self.name, self.faults, self.on = app, app.name, app.faults, False
        self.throttled_at: list[float] = []

    def handle(self, request):
        import time

        from syncops.simulator.http import Response

        if self.on and request.method == "PATCH":
            self.throttled_at.append(time.monotonic())
            return Response(429, {"errors": [{"code": "QuotaExceeded",
                                              "message": "You exceeded your quota for the requested resource."}]},
                            headers={"x-amzn-RateLimit-Limit": "2.0"})
        return self.app.handle(request)


def test_quota_exceeded_waits_are_honoured_by_the_engine(tmp_path):
    h = Harness(tmp_path, CONFIG)
    h.amazon = AmazonApp(Faults(), skus={s: "10.00" for s in SKUS})
    throttle = Throttle(h.amazon)
    h.servers["amazon"] = SimServer(throttle).start()
    try:
        async def scenario():
            throttle.on = True
            await h.start()
            await until(lambda: len(throttle.throttled_at) >= 3, what="three throttled patches")
            throttle.on = False
            await until(lambda: all(h.amazon.quantity(s) == h.square.count(s, "store-1")
                                    for s in ("TSHIRT-RED-M", "MUG-WHITE")), what="stock after the throttle")
            await h.stop()

        asyncio.run(scenario())
        gaps = [b - a for a, b in zip(throttle.throttled_at, throttle.throttled_at[1:])]
        assert gaps and min(gaps) >= 0.45, gaps  # one token at 2/s: never sooner than 0.5 s
        assert set(states(h.store, "stock-to-amazon")) <= {"delivered", "superseded"}
    finally:
        h.close()
