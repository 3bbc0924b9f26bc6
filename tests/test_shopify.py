"""Shopify connector against the Shopify simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from syncops.connectors.base import Delivery
from syncops.connectors.errors import DeliveryError
from syncops.connectors.shopify import ShopifyConnector, idempotency_key
from syncops.models import validate_payload
from syncops.simulator.faults import FaultPlan, Faults
from syncops.simulator.http import Response, SimServer
from syncops.simulator.shopify import ShopifyApp
from syncops.store.categories import Category

T0 = 1_760_000_000.0
TOKEN = "shpat_test_secret_token"
SKUS = {"TSHIRT-RED-M": "19.99", "TSHIRT-BLUE-L": "21.00", "MUG-WHITE": "12.50"}


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def faults(clock) -> Faults:
    return Faults(FaultPlan(), clock=clock)


@pytest.fixture
def app(faults, clock) -> ShopifyApp:
    return ShopifyApp(faults, clock, skus=SKUS, locations=["web", "store-1"],
                      stock={("TSHIRT-RED-M", "web"): 10, ("MUG-WHITE", "store-1"): 3})


@pytest.fixture
def server(app):
    with SimServer(app) as srv:
        yield srv


def connector(server: SimServer, secret: str = TOKEN, **options: Any) -> ShopifyConnector:
    return ShopifyConnector(server.url, secret, options=options)


async def push(server, entity: str, deliveries: list[Delivery], conn: ShopifyConnector | None = None):
    c = conn or connector(server)
    try:
        return await c.push(entity, deliveries)
    finally:
        if conn is None:
            await c.aclose()


def inv(record_id: int, sku: str, location: str, available: int, *, key: str | None = None,
        previous: int | None = None) -> Delivery:
    payload = {"sku": sku, "location_id": location, "available": available, "on_hand": None,
               "changed_at": "2025-10-09T10:00:00Z", "source_ref": None}
    return Delivery(record_id=record_id, delivery_key=key or f"sq:inv:{sku}:{location}:{available}",
                    entity_key=f"{sku}@{location}", payload=payload,
                    expected_previous=None if previous is None else {"available": previous})


def price(record_id: int, sku: str, amount: str, currency: str = "USD") -> Delivery:
    payload = {"sku": sku, "price_list": "retail", "currency": currency, "amount": amount,
               "compare_at": None, "effective_at": None}
    return Delivery(record_id=record_id, delivery_key=f"price:{sku}:{amount}", entity_key=f"{sku}@retail",
                    payload=payload)


# ---------------------------------------------------------------- inventory push


def test_push_sets_levels_and_a_replayed_batch_applies_exactly_once(app, server):
    batch = [inv(1, "TSHIRT-RED-M", "web", 7), inv(2, "MUG-WHITE", "store-1", 9)]

    async def scenario():
        c = connector(server)
        first = await c.push("inventory", batch)
        again = await c.push("inventory", list(reversed(batch)))  # a retry may come in another order
        await c.aclose()
        return first, again

    first, again = run(scenario())
    assert [r.error for r in first] == [None, None]
    assert [r.error for r in again] == [None, None]
    assert app.level("TSHIRT-RED-M", "web") == 7 and app.level("MUG-WHITE", "store-1") == 9
    key = idempotency_key(batch)
    assert [m.changes for m in app.applied(key)] == [2]  # the replay changed nothing
    assert app.replays[key] == 1
    assert len(app.mutation_log) == 1
    assert app.requests.count("inventoryItems") == 1 and app.requests.count("locations") == 1  # cached
    assert first[0].target_ref.startswith("gid://shopify/InventoryAdjustmentGroup/")
    assert "TSHIRT-RED-M@web -> 7" in first[0].request_summary
    assert TOKEN not in first[0].request_summary


def test_single_delivery_uses_its_delivery_key_and_sends_explicit_null(app, server):
    # changeFromQuantity omitted would be COMPARE_QUANTITY_REQUIRED: success proves the explicit null.
    [result] = run(push(server, "inventory", [inv(1, "TSHIRT-BLUE-L", "web", 4, key="k-1")]))
    assert result.error is None
    assert [m.changes for m in app.applied("k-1")] == [1]
    assert app.level("TSHIRT-BLUE-L", "web") == 4


def test_stale_change_from_quantity_is_a_conflict_and_the_rest_of_the_batch_is_applied(app, server):
    app.adjust_behind_back("TSHIRT-RED-M", "web", -2)  # a sale syncops has not seen: 10 -> 8
    batch = [inv(1, "TSHIRT-RED-M", "web", 12, previous=10), inv(2, "MUG-WHITE", "store-1", 4, previous=3),
             inv(3, "TSHIRT-BLUE-L", "store-1", 6)]
    results = run(push(server, "inventory", batch))
    err = results[0].error
    assert err is not None and err.category == Category.CONFLICT
    assert err.vendor_code == "CHANGE_FROM_QUANTITY_STALE" and "TSHIRT-RED-M@web" in err.message
    assert [r.error for r in results[1:]] == [None, None]
    assert app.level("TSHIRT-RED-M", "web") == 8  # untouched
    assert app.level("MUG-WHITE", "store-1") == 4 and app.level("TSHIRT-BLUE-L", "store-1") == 6
    # The failed atomic mutation applied nothing; the resend of the good items applied once.
    assert [m.changes for m in app.mutation_log] == [2]
    assert app.applied(idempotency_key(batch[1:])) == app.mutation_log


def test_stale_cas_fault_changes_stock_behind_syncops_back(faults, app, server):
    faults.plan.stale_cas = 1.0
    [result] = run(push(server, "inventory", [inv(1, "TSHIRT-RED-M", "web", 50, previous=10)]))
    assert result.error is not None and result.error.category == Category.CONFLICT
    held = app.level("TSHIRT-RED-M", "web")
    assert 10 < held < 50
    # The human sees every value involved: what Shopify holds, what we expected, what we intend.
    assert f"Shopify holds {held}, syncops last delivered 10" in result.error.message and "intends 50" in result.error.message


def test_a_record_applied_earlier_whose_answer_was_lost_is_recognised_by_reading_back(app, server):
    # The first attempt applied 36 but its answer was lost; the retry travels in another batch
    # (another mutation key) with the old baseline: Shopify says stale, the read-back shows 36.
    app.set_level("TSHIRT-RED-M", "web", 36)
    [result] = run(push(server, "inventory", [inv(1, "TSHIRT-RED-M", "web", 36, previous=30)]))
    assert result.error is None
    assert "already at target: Shopify holds 36" in result.note
    assert app.level("TSHIRT-RED-M", "web") == 36 and app.mutation_log == []


def test_a_stale_baseline_explained_by_our_own_unknown_outcome_is_re_read_and_sent_again(app, server):
    # An earlier record (outcome unknown) put 36 there; the newer record intends 100.
    app.set_level("TSHIRT-RED-M", "web", 36)
    d = inv(2, "TSHIRT-RED-M", "web", 100, previous=30)
    d = Delivery(d.record_id, d.delivery_key, d.entity_key, d.payload, d.expected_previous,
                 possible_previous=({"available": 36},))
    [result] = run(push(server, "inventory", [d, inv(3, "MUG-WHITE", "store-1", 8)]))[:1]
    assert result.error is None and "changeFrom 36" in result.request_summary
    assert app.level("TSHIRT-RED-M", "web") == 100 and app.level("MUG-WHITE", "store-1") == 8


def test_levels_can_be_read_back_through_graphql(app, server):
    async def scenario():
        c = connector(server)
        try:
            return await c.read_levels({("TSHIRT-RED-M", "web"), ("MUG-WHITE", "store-1"), ("NOPE", "web")})
        finally:
            await c.aclose()
    assert run(scenario()) == {("TSHIRT-RED-M", "web"): 10, ("MUG-WHITE", "store-1"): 3}


def test_same_key_with_different_parameters_is_a_conflict(app, server):
    run(push(server, "inventory", [inv(1, "MUG-WHITE", "web", 5, key="k-x")]))
    [result] = run(push(server, "inventory", [inv(2, "MUG-WHITE", "web", 6, key="k-x")]))
    assert result.error.category == Category.CONFLICT
    assert result.error.vendor_code == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert app.level("MUG-WHITE", "web") == 5


def test_key_of_a_crashed_attempt_is_burnt(app, server):
    app.fail_next_mutation()
    delivery = inv(1, "MUG-WHITE", "web", 5, key="k-crash")
    with pytest.raises(DeliveryError) as info:
        run(push(server, "inventory", [delivery]))
    assert info.value.category == Category.UNAVAILABLE
    [result] = run(push(server, "inventory", [delivery]))
    assert result.error.category == Category.CONFLICT
    assert result.error.vendor_code == "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"
    assert app.level("MUG-WHITE", "web") == 0


def test_unknown_sku_and_location_are_validation_errors_naming_them(app, server):
    batch = [inv(1, "NO-SUCH-SKU", "web", 1), inv(2, "MUG-WHITE", "mars", 1), inv(3, "MUG-WHITE", "web", 2)]
    results = run(push(server, "inventory", batch))
    assert results[0].error.category == Category.VALIDATION and "'NO-SUCH-SKU'" in results[0].error.message
    assert results[1].error.category == Category.VALIDATION and "'mars'" in results[1].error.message
    assert results[2].error is None and app.level("MUG-WHITE", "web") == 2


def test_negative_quantity_is_rejected_by_the_simulator_with_a_field_path(app, server):
    query = ('mutation N($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) '
             '@idempotent(key: "neg-1") '
             "{ userErrors { code field message } } }")
    quantities = [{"inventoryItemId": app.item_gid("MUG-WHITE"), "locationId": app.locations["web"],
                   "quantity": 2, "changeFromQuantity": None},
                  {"inventoryItemId": app.item_gid("TSHIRT-RED-M"), "locationId": app.locations["web"],
                   "quantity": -1, "changeFromQuantity": None}]
    body = _raw(server, query, {"input": {"name": "available", "reason": "correction", "quantities": quantities}})
    [error] = body["data"]["inventorySetQuantities"]["userErrors"]
    assert error["code"] == "INVALID_QUANTITY_NEGATIVE"
    assert error["field"] == ["input", "quantities", "1", "quantity"]
    assert app.level("MUG-WHITE", "web") == 0  # atomic: the valid quantity was not applied either


def test_simulator_requires_the_idempotent_directive(app, server):
    query = ("mutation S($input: InventorySetQuantitiesInput!) "
             "{ inventorySetQuantities(input: $input) { userErrors { code } } }")
    variables = {"input": {"name": "available", "reason": "correction", "quantities": [
        {"inventoryItemId": app.item_gid("MUG-WHITE"), "locationId": app.locations["web"], "quantity": 5,
         "changeFromQuantity": None}]}}
    body = _raw(server, query, variables)
    assert body["data"] == {"inventorySetQuantities": None}
    assert "@idempotent" in body["errors"][0]["message"]
    assert "cost" in body["extensions"]
    assert app.level("MUG-WHITE", "web") == 0 and app.mutation_log == []


def test_large_batches_are_chunked_in_order(clock):
    skus = {f"SKU-{i:03d}": "5.00" for i in range(130)}
    app = ShopifyApp(Faults(clock=clock), clock, skus=skus, locations=["web", "store-1"])
    batch = [inv(i * 2 + n, sku, loc, i + n)
             for i, sku in enumerate(skus) for n, loc in enumerate(["web", "store-1"])]
    batch.append(inv(999, "SKU-000", "web", 77))  # a later version, in the second chunk
    with SimServer(app) as server:
        results = run(push(server, "inventory", batch))
    assert all(r.error is None for r in results)
    assert [m.changes for m in app.mutation_log] == [250, 11]
    assert app.level("SKU-000", "web") == 77 and app.level("SKU-129", "store-1") == 130


def test_one_target_twice_in_a_batch_is_split_so_the_later_version_wins(app, server):
    batch = [inv(1, "MUG-WHITE", "web", 1), inv(2, "TSHIRT-RED-M", "web", 2), inv(3, "MUG-WHITE", "web", 3)]
    results = run(push(server, "inventory", batch))
    assert all(r.error is None for r in results)
    assert [m.changes for m in app.mutation_log] == [2, 1]
    assert app.level("MUG-WHITE", "web") == 3


def test_concurrent_request_with_one_key_is_retryable(faults, app, server):
    delivery = inv(1, "MUG-WHITE", "web", 5, key="k-conc")

    async def scenario():
        c = connector(server)
        await c.push("inventory", [inv(2, "MUG-WHITE", "store-1", 3)])  # warm the lookups
        faults.plan.slow_rate, faults.plan.slow_seconds = 1.0, 0.3
        out = await asyncio.gather(c.push("inventory", [delivery]), c.push("inventory", [delivery]))
        await c.aclose()
        return [r for [r] in out]

    results = run(scenario())
    errors = [r.error for r in results if r.error is not None]
    assert len(errors) == 1 and errors[0].category == Category.RATE_LIMIT
    assert errors[0].vendor_code == "IDEMPOTENCY_CONCURRENT_REQUEST"
    assert [m.changes for m in app.applied("k-conc")] == [1]


# ---------------------------------------------------------------- cost and throttling


def test_throttled_is_rate_limit_with_the_documented_retry_after(clock, app, server):
    async def scenario():
        c = connector(server)
        await c.push("inventory", [inv(1, "MUG-WHITE", "web", 1)])  # lookups cached
        app.set_available_points(4)
        with pytest.raises(DeliveryError) as info:
            await c.push("inventory", [inv(2, "MUG-WHITE", "web", 2)])
        throttled = c.last_call()
        clock.now += info.value.retry_after + 1e-3  # (10 - 4) / 100 points per second; float clock slack
        [ok] = await c.push("inventory", [inv(2, "MUG-WHITE", "web", 2)])
        await c.aclose()
        return info.value, throttled, ok

    err, call, ok = run(scenario())
    assert err.category == Category.RATE_LIMIT and err.status == 200 and err.vendor_code == "THROTTLED"
    assert err.retry_after == pytest.approx(0.06)
    assert call.wait_seconds == pytest.approx(0.06) and call.remaining == 4
    assert ok.error is None and app.level("MUG-WHITE", "web") == 2


def test_throttle_fault_answers_429_when_configured(clock):
    faults = Faults(clock=clock)
    app = ShopifyApp(faults, clock, throttle_status=429)
    faults.forced_throttle = True
    with SimServer(app) as server:
        c = connector(server)
        with pytest.raises(DeliveryError) as info:
            run(c.check_auth())
    assert info.value.category == Category.RATE_LIMIT and info.value.status == 429
    assert info.value.retry_after == pytest.approx(0.01)  # the burst drained the bucket: 1 point / 100 per s


def test_cost_bucket_refills_with_the_clock(clock, app, server):
    async def scenario():
        c = connector(server)
        app.set_available_points(0)
        clock.now += 2.5
        await c.check_auth()
        refilled = c.last_call()
        clock.now += 1000
        await c.check_auth()
        full = c.last_call()
        await c.aclose()
        return refilled, full

    refilled, full = run(scenario())
    assert refilled.remaining == 249  # 250 restored, 1 spent
    assert refilled.extra["restoreRate"] == 100.0 and refilled.extra["maximumAvailable"] == 1000.0
    assert full.remaining == 999  # capped at maximumAvailable
    assert full.wait_seconds is None


def test_low_bucket_is_reported_as_a_wait_in_last_call(clock, app, server):
    async def scenario():
        c = connector(server)
        app.set_available_points(760)
        await c.pull("order", None, 250)  # requested 752, refunded to the actual cost of 2
        first = c.last_call()
        for i in range(100):
            app.place_web_order([("MUG-WHITE", 1)], now=T0 + i)
        app.set_available_points(760)
        await c.pull("order", None, 250)  # actual 2 + 100 x 3 = 302: 458 left, less than 752
        second = c.last_call()
        await c.aclose()
        return first, second

    first, second = run(scenario())
    assert first.extra["requestedQueryCost"] == 752 and first.extra["actualQueryCost"] == 2
    assert first.remaining == 758 and first.wait_seconds is None
    assert second.remaining == 458
    assert second.wait_seconds == pytest.approx((752 - 458) / 100)


# ---------------------------------------------------------------- prices


def test_price_push_updates_variants_and_names_bad_items(app, server):
    batch = [price(1, "TSHIRT-RED-M", "24.50"), price(2, "NOPE", "1.00"), price(3, "MUG-WHITE", "9.99"),
             price(4, "TSHIRT-BLUE-L", "30.00", currency="EUR")]
    results = run(push(server, "price", batch))
    assert results[0].error is None and results[2].error is None
    assert results[1].error.category == Category.VALIDATION and "'NOPE'" in results[1].error.message
    assert results[3].error.category == Category.VALIDATION and "EUR" in results[3].error.message
    assert app.price("TSHIRT-RED-M") == Decimal("24.50") and app.price("MUG-WHITE") == Decimal("9.99")
    assert app.price("TSHIRT-BLUE-L") == Decimal("21.00")
    assert results[0].target_ref.startswith("gid://shopify/ProductVariant/")


def test_simulator_reports_unknown_variants_as_user_errors(app, server):
    query = ("mutation P($productId: ID!, $variants: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate("
             "productId: $productId, variants: $variants) { userErrors { code field message } } }")
    product = app.items["MUG-WHITE"].product_gid
    body = _raw(server, query, {"productId": product, "variants": [
        {"id": app.items["MUG-WHITE"].variant_gid, "price": "3.00"},
        {"id": "gid://shopify/ProductVariant/1", "price": "1"}]})
    [error] = body["data"]["productVariantsBulkUpdate"]["userErrors"]
    assert error == {"code": "PRODUCT_VARIANT_DOES_NOT_EXIST", "field": ["variants", "1", "id"],
                     "message": "Product variant does not exist"}
    assert app.price("MUG-WHITE") == Decimal("12.50")  # no allowPartialUpdates: nothing applied


# ---------------------------------------------------------------- orders pull


def test_orders_pull_pages_to_the_end_and_resumes_from_the_cursor(clock, app, server):
    gids = [app.place_web_order([("TSHIRT-RED-M", 2), ("MUG-WHITE", 1)], now=T0 + i * 60) for i in range(5)]
    assert app.level("TSHIRT-RED-M", "web") == 0  # 10 - 5 orders x 2

    async def scenario():
        c = connector(server)
        p1 = await c.pull("order", None, 2)
        await c.aclose()
        c = connector(server)  # a restarted engine resumes from the persisted cursor
        p2 = await c.pull("order", p1.cursor, 2)
        p3 = await c.pull("order", p2.cursor, 2)
        app.place_web_order([("MUG-WHITE", 3)], now=T0 + 3600)
        p4 = await c.pull("order", p3.cursor, 2)
        await c.aclose()
        return p1, p2, p3, p4

    p1, p2, p3, p4 = run(scenario())
    assert [p.has_more for p in (p1, p2, p3)] == [True, True, False]
    numbers = [ch.entity_key for p in (p1, p2, p3) for ch in p.changes]
    assert numbers == ["#1001", "#1002", "#1003", "#1004", "#1005"]
    assert json.loads(p3.cursor) == {"watermark": "2025-10-09T08:57:20Z"}  # newest updatedAt seen, no page
    # Inclusive watermark: the newest order comes again with the same idempotency key, then the new one.
    assert p4.changes[0].idempotency_key == p3.changes[-1].idempotency_key
    assert [ch.entity_key for ch in p4.changes] == ["#1005", "#1006"] and not p4.has_more

    change = p1.changes[0]
    assert change.idempotency_key == f"shop:order:{gids[0]}:2025-10-09T08:53:20Z"
    assert change.changed_at == T0
    order = validate_payload("order", change.payload)
    assert order.channel == "web" and order.order_number == "#1001" and order.status == "paid"
    assert order.customer.name and order.customer.email and order.customer.phone and order.customer.address.city
    assert [(line.sku, line.quantity) for line in order.lines] == [("TSHIRT-RED-M", 2), ("MUG-WHITE", 1)]
    assert order.total == Decimal("52.48") + order.taxes[0].amount
    assert order.taxes[0].rate == Decimal("0.0825") and order.payments[0].amount == order.total
    assert order.location_id == "web"


def test_updated_orders_come_back_with_a_new_idempotency_key(clock, app, server):
    gid = app.place_web_order([("MUG-WHITE", 1)], {"name": "Ada Lovelace", "email": "ada@example.com"}, now=T0)

    async def scenario():
        c = connector(server, orders_since="2025-01-01T00:00:00Z")
        first = await c.pull("order", None, 50)
        app.cancel_order(gid, now=T0 + 30)
        second = await c.pull("order", first.cursor, 50)
        await c.aclose()
        return first, second

    first, second = run(scenario())
    [a], [b] = first.changes, second.changes
    assert a.entity_key == b.entity_key == "#1001" and a.idempotency_key != b.idempotency_key
    assert b.payload["status"] == "cancelled"
    assert a.payload["customer"]["name"] == "Ada Lovelace" and a.payload["customer"]["address"] is None


def test_rejected_page_cursor_restarts_from_the_watermark(app, server):
    app.place_web_order([("MUG-WHITE", 1)], now=T0)
    cursor = json.dumps({"watermark": "2025-01-01T00:00:00Z", "after": "not-a-cursor", "high": None})
    page = run(_pull(server, cursor))
    assert [ch.entity_key for ch in page.changes] == ["#1001"]


# ---------------------------------------------------------------- whole-call failures


def test_outage_is_unavailable(faults, server):
    faults.forced_outage = True
    with pytest.raises(DeliveryError) as info:
        run(_pull(server, None))
    assert info.value.category == Category.UNAVAILABLE and info.value.status == 503
    faults.plan.outage_mode = "reset"
    with pytest.raises(DeliveryError) as info:
        run(_pull(server, None))
    assert info.value.category == Category.UNAVAILABLE


def test_bad_token_is_auth_and_never_echoes_the_secret(server):
    c = connector(server, secret="bad-token")
    with pytest.raises(DeliveryError) as info:
        run(c.check_auth())
    err = info.value
    assert err.category == Category.AUTH and err.status == 401
    assert "Invalid API key" in err.response_excerpt
    assert "bad-token" not in str(err) and "bad-token" not in err.response_excerpt


def test_garbage_body_is_malformed_with_an_excerpt():
    class Garbage:
        name = "garbage"

        def handle(self, request):
            return Response(200, "<html>" + "x" * 1000, content_type="text/html")

    with SimServer(Garbage()) as server:
        with pytest.raises(DeliveryError) as info:
            run(_pull(server, None))
    assert info.value.category == Category.MALFORMED
    assert info.value.response_excerpt.startswith("<html>") and len(info.value.response_excerpt) == 500


def test_check_auth_and_api_versions(app, server):
    assert "syncops-demo" in run(_check(server))
    assert httpx.post(f"{server.url}/admin/api/unstable/graphql.json", json={"query": "{ shop { name } }"},
                      headers={"X-Shopify-Access-Token": "t"}).status_code == 200
    assert httpx.post(f"{server.url}/admin/api/latest/graphql.json", json={"query": "{ shop { name } }"},
                      headers={"X-Shopify-Access-Token": "t"}).status_code == 404


# ---------------------------------------------------------------- helpers


def _raw(server: SimServer, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/admin/api/2026-04/graphql.json",
                          json={"query": query, "variables": variables}, headers={"X-Shopify-Access-Token": TOKEN})
    assert response.status_code == 200
    return response.json()


async def _pull(server: SimServer, cursor: str | None):
    c = connector(server)
    try:
        return await c.pull("order", cursor, 50)
    finally:
        await c.aclose()


async def _check(server: SimServer) -> str:
    c = connector(server)
    try:
        return await c.check_auth()
    finally:
        await c.aclose()
