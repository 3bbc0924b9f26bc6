"""Returns and refunds read from Square, Shopify and BigCommerce, over real HTTP against the simulators."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from syncops.connectors.shopify import ShopifyConnector
from syncops.connectors.square import SquareConnector
from syncops.models import validate_payload
from syncops.simulator.faults import FaultPlan, Faults
from syncops.simulator.http import SimServer
from syncops.simulator.shopify import ShopifyApp
from syncops.simulator.square import SquareApp

from tests.conftest import FakeClock

T0 = 1_754_000_000.0


async def drain(conn, entity, cursor=None, limit=100):
    changes = []
    while True:
        page = await conn.pull(entity, cursor, limit)
        changes += page.changes
        cursor = page.cursor
        if not page.has_more:
            return changes, cursor


def pull(make, entity, cursor=None):
    async def main():
        conn = make()
        try:
            return await drain(conn, entity, cursor)
        finally:
            await conn.aclose()
    return asyncio.run(main())


def lines(payload):
    model = validate_payload("return", payload)
    return [(ln.sku, int(ln.quantity), ln.restock, ln.refund_amount) for ln in model.lines], model


# ---------------------------------------------------------------- Square


def test_square_restock_is_what_square_recorded_per_unit():
    clock = FakeClock(T0)
    app = SquareApp(Faults(FaultPlan(), clock=clock), clock)
    with SimServer(app) as server:
        sale = app.record_sale("store-1", [("TSHIRT-RED-M", 3), ("MUG-WHITE", 1)], tender="CARD")
        clock.now += 60
        # 3 shirts come back: 1 goes back on the shelf, 2 are damaged; the mug is damaged too.
        ret = app.record_return(sale, [("TSHIRT-RED-M", 3), ("MUG-WHITE", 1)], restock={"TSHIRT-RED-M": 1})
        assert app.count("TSHIRT-RED-M", "store-1") == 23 and app.count("MUG-WHITE", "store-1") == 24
        assert "metadata" not in next(o for o in app.orders if o["id"] == ret)  # no invented restock flag
        changes, _ = pull(lambda: SquareConnector(server.url, "t", clock=clock), "return")
    [change] = changes
    got, model = lines(change.payload)
    assert [(s, q, r) for s, q, r, _ in got] == [
        ("TSHIRT-RED-M", 1, True), ("TSHIRT-RED-M", 2, False), ("MUG-WHITE", 1, False)]
    # The split keeps the money: the shirt line's refund is shared 1:2 and the total is unchanged.
    shirt = got[0][3] + got[1][3]
    assert got[0][3] == (shirt / 3).quantize(Decimal("0.01")) and model.total == sum(g[3] for g in got)
    assert change.idempotency_key == f"sq:return:{ret}"


def test_square_simulator_serves_inventory_changes_like_square():
    import httpx

    clock = FakeClock(T0)
    app = SquareApp(Faults(FaultPlan(), clock=clock), clock)
    with SimServer(app) as server:
        sale = app.record_sale("store-1", [("MUG-WHITE", 2)], tender="CASH")
        clock.now += 5
        app.record_return(sale, [("MUG-WHITE", 2)], restock={"MUG-WHITE": 1})
        var = app.variation_id("MUG-WHITE")
        url = server.url + "/v2/inventory/changes/batch-retrieve"
        auth = {"Authorization": "Bearer t"}
        body = {"types": ["ADJUSTMENT"], "catalog_object_ids": [var], "location_ids": ["L1STORE"]}
        data = httpx.post(url, json=body, headers=auth).json()
        moves = [(c["adjustment"]["from_state"], c["adjustment"]["to_state"], c["adjustment"]["quantity"],
                  c["adjustment"].get("refund_id") is not None) for c in data["changes"]]
        assert moves == [("IN_STOCK", "SOLD", "2", False), ("SOLD", "IN_STOCK", "1", True),
                         ("SOLD", "WASTE", "1", True)]
        only_waste = httpx.post(url, json={**body, "states": ["WASTE"]}, headers=auth).json()["changes"]
        assert [c["adjustment"]["to_state"] for c in only_waste] == ["WASTE"]
        bad = httpx.post(url, json={**body, "types": ["TRANSFER"]}, headers=auth)
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "types"


# ---------------------------------------------------------------- Shopify


def shopify_world(clock):
    return ShopifyApp(Faults(FaultPlan(), clock=clock), clock, skus={"TSHIRT-RED-M": "19.99", "MUG-WHITE": "12.50"},
                      locations=["web", "store-1"], stock={("TSHIRT-RED-M", "web"): 10})


def test_shopify_refunds_become_returns_with_restock_from_restock_type():
    clock = FakeClock(T0)
    app = shopify_world(clock)
    with SimServer(app) as server:
        gid = app.place_web_order([("TSHIRT-RED-M", 2), ("MUG-WHITE", 1)])
        clock.now += 60
        kept = app.refund_order(gid, [("TSHIRT-RED-M", 1)], restock=True)
        assert app.level("TSHIRT-RED-M", "web") == 9  # 10 - 2 sold + 1 back on the shelf
        clock.now += 60
        lost = app.refund_order(gid, [("MUG-WHITE", 1)], restock=False)
        make = lambda: ShopifyConnector(server.url, "shpat_x", options={"order_location": "web"})
        changes, cursor = pull(make, "return")
        again, _ = pull(make, "return", cursor)  # the next poll re-reads the newest second
    by_key = {c.entity_key: c for c in changes}
    assert set(by_key) == {kept, lost}
    got, model = lines(by_key[kept].payload)
    assert got == [("TSHIRT-RED-M", 1, True, Decimal("21.64"))]  # 19.99 + 8.25% tax
    assert model.order_number == "#1001" and model.location_id == "web" and model.refund_method == "shopify_payments"
    assert lines(by_key[lost].payload)[0] == [("MUG-WHITE", 1, False, Decimal("13.53"))]
    assert {c.idempotency_key for c in again} <= {c.idempotency_key for c in changes}


def test_shopify_restock_types_follow_the_schema():
    from syncops.connectors.shopify_refunds import RESTOCKING

    assert RESTOCKING == {"RETURN": True, "CANCEL": True, "LEGACY_RESTOCK": True, "NO_RESTOCK": False}


# ---------------------------------------------------------------- BigCommerce


def test_bigcommerce_refunds_become_returns_without_restock():
    from syncops.connectors.bigcommerce import BigCommerceConnector
    from syncops.simulator.bigcommerce import BigCommerceApp

    clock = FakeClock(T0)
    app = BigCommerceApp(Faults(clock=clock), clock, store_hash="abc123")
    sku = next(v["sku"] for v in app.variants.values())
    with SimServer(app) as server:
        oid = app.place_order([(sku, 3, "10.00")])
        before = app.stock_level(sku, next(iter(app.locations)))
        clock.now += 30
        rid = app.refund_order(oid, [(sku, 2)])
        assert app.stock_level(sku, next(iter(app.locations))) == before  # the refund API moves no stock
        make = lambda: BigCommerceConnector(f"{server.url}/stores/abc123", "tok", clock=clock,
                                            options={"order_location": "web"})
        changes, cursor = pull(make, "return")
        again, _ = pull(make, "return", cursor)
    [change] = changes
    got, model = lines(change.payload)
    assert got == [(sku, 2, False, Decimal("21.66"))]  # 2 x (10.00 + 0.83 tax at 8.25%)
    assert model.return_number == f"{oid}-R{rid}" and model.order_number == str(oid) and model.refund_method == "braintree"
    assert [c.idempotency_key for c in again] == [change.idempotency_key]  # inclusive re-read, same key
