"""BigCommerce simulator and connector, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from syncops.connectors.base import Delivery
from syncops.connectors.bigcommerce import BigCommerceConnector
from syncops.connectors.errors import DeliveryError
from syncops.models import validate_payload
from syncops.simulator.bigcommerce import BigCommerceApp
from syncops.simulator.faults import Faults
from syncops.simulator.http import SimServer
from syncops.store.categories import Category

from tests.conftest import FakeClock

T0 = 1_700_000_000.0
SECRET = "bc-secret-token-xyz"
HASH = "abc123"


@pytest.fixture
def app(clock: FakeClock) -> BigCommerceApp:
    return BigCommerceApp(Faults(clock=clock), clock, store_hash=HASH)


@pytest.fixture
def server(app: BigCommerceApp):
    with SimServer(app) as srv:
        yield srv


def connector(server: SimServer, clock: FakeClock, secret: str = SECRET, **options: Any) -> BigCommerceConnector:
    options.setdefault("locations", {"web": 1})
    return BigCommerceConnector(f"{server.url}/stores/{HASH}", secret, clock=clock, options=options)


def run(coro_fn, server: SimServer, clock: FakeClock, secret: str = SECRET, **options: Any):
    async def go():
        conn = connector(server, clock, secret, **options)
        try:
            return await coro_fn(conn)
        finally:
            await conn.aclose()
    return asyncio.run(go())


def stock(sku: str, location: str, available: int) -> dict[str, Any]:
    return {"sku": sku, "location_id": location, "available": available, "on_hand": available,
            "changed_at": "2024-05-01T10:00:00Z", "source_ref": None}


def price(sku: str, amount: str, compare_at: str | None = None, currency: str = "USD") -> dict[str, Any]:
    return {"sku": sku, "price_list": "retail", "currency": currency, "amount": amount,
            "compare_at": compare_at, "effective_at": None}


def deliveries(entity: str, payloads: list[dict[str, Any]]) -> list[Delivery]:
    out = []
    for i, p in enumerate(payloads, start=1):
        validate_payload(entity, p)
        out.append(Delivery(record_id=i, delivery_key=f"k{i}", entity_key=f"e{i}", payload=p))
    return out


def puts(app: BigCommerceApp, path: str) -> int:
    return sum(1 for r in app.requests if r == ("PUT", path))


# ---------------------------------------------------------------- inventory


def test_absolute_push_sets_stock_and_is_repeatable(app, server, clock):
    batch = deliveries("inventory", [stock("TSHIRT-RED-M", "web", 5), stock("MUG-WHITE", "web", 0),
                                     stock("TSHIRT-BLUE-L", "store-1", 9)])
    first = run(lambda c: c.push("inventory", batch), server, clock)
    assert all(r.error is None for r in first), [str(r.error) for r in first]
    assert len({r.target_ref for r in first}) == 1  # one transaction for the batch
    assert app.stock_level("TSHIRT-RED-M", "web") == 5 and app.stock_level("MUG-WHITE", "web") == 0
    assert app.stock_level("TSHIRT-BLUE-L", "store-1") == 9  # resolved via GET /v3/inventory/locations
    assert app.transactions[0]["items"][0] == {"sku": "TSHIRT-RED-M", "location_id": 1, "quantity": 5}

    # Same values again (a retry after a lost response): same end state, no error.
    again = run(lambda c: c.push("inventory", batch), server, clock)
    assert all(r.error is None for r in again)
    assert app.stock_level("TSHIRT-RED-M", "web") == 5
    assert puts(app, "v3/inventory/adjustments/absolute") == 2


def test_unknown_sku_is_isolated_by_resending_items(app, server, clock):
    batch = deliveries("inventory", [stock("TSHIRT-RED-M", "web", 3), stock("GHOST", "web", 1),
                                     stock("MUG-WHITE", "web", 4)])
    results = run(lambda c: c.push("inventory", batch), server, clock)
    assert results[0].error is None and results[2].error is None
    err = results[1].error
    assert err.category == Category.VALIDATION and err.status == 422 and "GHOST" in err.message
    assert app.stock_level("TSHIRT-RED-M", "web") == 3 and app.stock_level("MUG-WHITE", "web") == 4
    assert puts(app, "v3/inventory/adjustments/absolute") == 4  # the batch, then one by one


def test_unknown_location_is_a_mapping_error(app, server, clock):
    batch = deliveries("inventory", [stock("TSHIRT-RED-M", "store-99", 3), stock("MUG-WHITE", "web", 4)])
    results = run(lambda c: c.push("inventory", batch), server, clock)
    assert results[0].error.category == Category.MAPPING and "store-99" in results[0].error.message
    assert results[1].error is None


def test_one_of_violation_is_422_problem_json(app, server, clock):
    with httpx.Client(base_url=f"{server.url}/stores/{HASH}", headers={"X-Auth-Token": SECRET}) as http:
        resp = http.put("/v3/inventory/adjustments/absolute", json={"items": [
            {"sku": "MUG-WHITE", "variant_id": 3, "location_id": 1, "quantity": 1}]})
        assert resp.status_code == 422
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["status"] == 422 and "oneOf" in json.dumps(resp.json()["errors"])
        neither = http.put("/v3/inventory/adjustments/absolute", json={"items": [{"location_id": 1, "quantity": 1}]})
        assert neither.status_code == 422
        fractional = http.put("/v3/inventory/adjustments/absolute", json={"items": [
            {"sku": "MUG-WHITE", "location_id": 1, "quantity": 1.5}]})
        assert fractional.status_code == 422
        ok = http.put("/v3/inventory/adjustments/absolute", json={"items": [
            {"variant_id": 3, "location_id": 2, "quantity": 6}]})
        assert ok.status_code == 200 and ok.json()["transaction_id"]
        items = http.get("/v3/inventory/items", params={"sku:in": "MUG-WHITE", "location_id:in": "2"}).json()
        assert items["data"][0]["identity"]["variant_id"] == 3
        assert items["data"][0]["locations"][0]["total_inventory_onhand"] == 6
    assert app.stock_level("MUG-WHITE", "store-1") == 6

    # Through the connector the same 422 is a validation failure.
    async def scenario(conn: BigCommerceConnector):
        await conn._request("PUT", "v3/inventory/adjustments/absolute", body={"items": [
            {"sku": "MUG-WHITE", "product_id": 103, "location_id": 1, "quantity": 1}]})
    with pytest.raises(DeliveryError) as err:
        run(scenario, server, clock)
    assert err.value.category == Category.VALIDATION and err.value.status == 422


# ---------------------------------------------------------------- rate limits


def test_quota_headers_drive_last_call_and_429_retry_after(clock):
    app = BigCommerceApp(Faults(clock=clock), clock, store_hash=HASH, quota=3)
    with SimServer(app) as server:
        async def scenario(conn: BigCommerceConnector):
            await conn.check_auth()
            after_one = conn.last_call()
            clock.now += 10
            await conn.check_auth()
            await conn.check_auth()
            exhausted = conn.last_call()
            with pytest.raises(DeliveryError) as err:
                await conn.check_auth()
            throttled = conn.last_call()
            clock.now += 20  # the window refills
            refilled = await conn.check_auth()
            return after_one, exhausted, err.value, throttled, refilled

        after_one, exhausted, err, throttled, refilled = run(scenario, server, clock)
    assert after_one.remaining == 2 and after_one.wait_seconds is None
    assert after_one.extra == {"quota": 3, "window_ms": 30000, "reset_ms": 30000}
    assert exhausted.remaining == 0 and exhausted.wait_seconds == 20.0
    assert err.category == Category.RATE_LIMIT and err.status == 429 and err.retry_after == 20.0
    assert throttled.wait_seconds == 20.0
    assert "2 requests left" in refilled


def test_throttle_fault_gives_429_with_retry_headers(app, server, clock):
    app.faults.forced_throttle = True
    with httpx.Client(base_url=f"{server.url}/stores/{HASH}", headers={"X-Auth-Token": SECRET}) as http:
        resp = http.get("/v2/store")
    assert resp.status_code == 429
    assert resp.headers["X-Rate-Limit-Requests-Left"] == "0" and int(resp.headers["X-Retry-After"]) >= 1
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.check_auth(), server, clock)
    assert err.value.category == Category.RATE_LIMIT and err.value.retry_after == 30.0


# ---------------------------------------------------------------- prices


def test_price_push_updates_variants(app, server, clock):
    batch = deliveries("price", [price("TSHIRT-RED-M", "17.50", "19.99"), price("NOPE", "1.00"),
                                 price("MUG-WHITE", "11.00", currency="EUR"), price("MUG-WHITE", "11.25")])
    results = run(lambda c: c.push("price", batch), server, clock)
    assert results[0].error is None and results[3].error is None
    assert results[0].target_ref == str(app.variant("TSHIRT-RED-M")["id"])
    assert results[1].error.category == Category.VALIDATION and "NOPE" in results[1].error.message
    assert results[2].error.category == Category.VALIDATION and "EUR" in results[2].error.message
    assert app.variant("TSHIRT-RED-M")["price"] == 17.5 and app.variant("TSHIRT-RED-M")["retail_price"] == 19.99
    assert app.variant("MUG-WHITE")["price"] == 11.25
    assert puts(app, "v3/catalog/variants") == 1


def test_variant_batch_limits_in_simulator(app, server):
    with httpx.Client(base_url=f"{server.url}/stores/{HASH}", headers={"X-Auth-Token": SECRET}) as http:
        too_many = http.put("/v3/catalog/variants", json=[{"id": 1, "price": 1}] * 51)
        assert too_many.status_code == 413 and "50" in too_many.json()["title"]
        bad = http.put("/v3/catalog/variants", json=[{"id": 1, "price": 2}, {"id": 2, "price": -1}])
        assert bad.status_code == 422 and bad.json()["batch_errors"][0]["errors"] == {"price": "must be a number >= 0"}
    assert app.variant("TSHIRT-RED-M")["price"] == 19.99  # the rejected batch changed nothing


# ---------------------------------------------------------------- orders


def test_orders_pull_empty_store_is_204(app, server, clock):
    with httpx.Client(base_url=f"{server.url}/stores/{HASH}", headers={"X-Auth-Token": SECRET}) as http:
        assert http.get("/v2/orders").status_code == 204
    page = run(lambda c: c.pull("order", None, 50), server, clock)
    assert page.changes == [] and not page.has_more


def test_orders_pull_incremental(app, server, clock):
    first_id = app.place_order([("TSHIRT-RED-M", 2), ("MUG-WHITE", 1, "12.50", "2.50")], now=T0 + 1)
    app.place_order([("MUG-WHITE", 3)], shipping="5.00", now=T0 + 2)
    app.place_order([("TSHIRT-BLUE-L", 1)], customer=1, now=T0 + 3)

    async def scenario(conn: BigCommerceConnector):
        one = await conn.pull("order", None, 2)
        two = await conn.pull("order", one.cursor, 3)
        app.set_order_status(first_id, "Shipped", now=T0 + 100)
        three = await conn.pull("order", two.cursor, 3)
        return one, two, three

    one, two, three = run(scenario, server, clock)
    # The second page starts again at the last second seen (inclusive watermark).
    assert one.has_more and not two.has_more
    assert [c.entity_key for c in two.changes] == ["101", "102"]
    assert [c.entity_key for c in one.changes] == ["100", "101"]
    assert one.changes[1].idempotency_key == two.changes[0].idempotency_key
    for change in one.changes + two.changes + three.changes:
        order = validate_payload("order", change.payload)
        assert order.channel == "bigcommerce"
    first = one.changes[0]
    assert first.changed_at == T0 + 1 and first.payload["status"] == "awaiting_fulfillment"
    assert first.payload["lines"][1]["discount"] == "2.50"
    assert first.payload["customer"]["email"]
    assert one.changes[1].payload["shipping"] == "5.00"
    # Overlap re-reads the last second (same key); the status change is a new event.
    seen = {c.idempotency_key for c in one.changes + two.changes}
    fresh = [c for c in three.changes if c.idempotency_key not in seen]
    assert [c.entity_key for c in fresh] == ["100"] and fresh[0].payload["status"] == "shipped"
    assert json.loads(three.cursor)["watermark"] == int(T0 + 100)


def test_orders_pull_pages_through_one_second(clock):
    app = BigCommerceApp(Faults(clock=clock), clock, store_hash=HASH)
    for _ in range(5):
        app.place_order([("MUG-WHITE", 1)], now=T0)
    with SimServer(app) as server:
        async def drain(conn: BigCommerceConnector):
            cursor, seen, pages = None, [], 0
            while pages < 10:
                page = await conn.pull("order", cursor, 2)
                seen += [c.entity_key for c in page.changes]
                cursor, pages = page.cursor, pages + 1
                if not page.has_more:
                    break
            return seen, pages
        seen, pages = run(drain, server, clock)
    assert sorted(set(seen)) == ["100", "101", "102", "103", "104"] and pages == 3


# ---------------------------------------------------------------- auth and outages


def test_bad_token_is_auth(server, clock):
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.check_auth(), server, clock, secret="bad-token")
    assert err.value.category == Category.AUTH and err.value.status == 401


def test_outage_and_garbage(app, server, clock):
    app.faults.forced_outage = True
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.pull("order", None, 10), server, clock)
    assert err.value.category == Category.UNAVAILABLE and err.value.status == 503
    assert SECRET not in str(err.value)
    app.faults.forced_outage = False

    # A wrong base URL (no /stores/<hash>) answers 404: the operator's config is wrong.
    async def wrong(conn: BigCommerceConnector):
        conn.base_url = server.url
        await conn.check_auth()
    with pytest.raises(DeliveryError) as err:
        run(wrong, server, clock)
    assert err.value.category == Category.VALIDATION and err.value.status == 404


def test_store_hash_option_builds_the_base_url(app, server, clock):
    async def go():
        conn = BigCommerceConnector(server.url, SECRET, clock=clock, options={"store_hash": HASH})
        try:
            return await conn.check_auth()
        finally:
            await conn.aclose()
    assert HASH in asyncio.run(go())
