"""Square simulator + connector over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from types import SimpleNamespace

import httpx
import pytest

from syncops.connectors.base import Delivery
from syncops.connectors.errors import DeliveryError
from syncops.connectors.square import SquareConnector
from syncops.connectors.square_wire import request_key
from syncops.connectors.square_convert import Unexpressible, sales_order
from syncops.models import validate_payload
from syncops.simulator.faults import FaultPlan, Faults
from syncops.simulator.http import Response, SimServer
from syncops.simulator.square import SquareApp, rfc3339
from syncops.store.categories import Category

from tests.conftest import FakeClock

T0 = 1_754_000_000.0  # 2025-07-31T22:13:20Z


@pytest.fixture
def world():
    clock = FakeClock(T0)
    faults = Faults(FaultPlan(), clock=clock)
    app = SquareApp(faults, clock)
    with SimServer(app) as server:
        yield SimpleNamespace(app=app, server=server, faults=faults, clock=clock)


def run(world, fn, secret: str = "sq-token", **options):
    async def main():
        conn = SquareConnector(world.server.url, secret, clock=world.clock, options=options)
        try:
            return await fn(conn)
        finally:
            await conn.aclose()

    return asyncio.run(main())


async def drain(conn, entity, cursor=None, limit=100):
    changes, pages = [], 0
    while True:
        page = await conn.pull(entity, cursor, limit)
        changes += page.changes
        cursor = page.cursor
        pages += 1
        if not page.has_more:
            return changes, cursor, pages


def raw(world, path, body, token="sq-token"):
    return httpx.post(world.server.url + path, json=body, headers={"Authorization": f"Bearer {token}"})


def delivery(n, sku, location, available, key=None):
    return Delivery(record_id=n, delivery_key=key or f"dk-{n}-{sku}-{available}", entity_key=f"{sku}@{location}",
                    payload={"sku": sku, "location_id": location, "available": available,
                             "changed_at": rfc3339(T0)})


# ---------------------------------------------------------------- inventory pull


def test_inventory_pull_pages_to_the_end_then_is_incremental(world):
    app, clock = world.app, world.clock

    async def scenario(conn):
        first, cursor, pages = await drain(conn, "inventory", limit=5)
        clock.now += 60
        app.record_sale("store-1", [("TSHIRT-RED-M", 2), ("MUG-WHITE", 1)])
        later, cursor2, _ = await drain(conn, "inventory", cursor, limit=5)
        quiet, _, _ = await drain(conn, "inventory", cursor2, limit=5)
        return first, pages, later, quiet

    first, pages, later, quiet = run(world, scenario)
    assert pages == 3  # 12 counts (6 SKUs x 2 stores) in pages of 5
    assert len({c.entity_key for c in first}) == 12
    for change in first:
        model = validate_payload("inventory", change.payload)
        assert model.entity_key() == change.entity_key
        assert change.payload["available"] == 25
        assert change.idempotency_key.startswith(f"sq:inv:{change.payload['source_ref']}:")
    # The overlap re-reads the previous pass's edge under the same keys; only the sale is new.
    seen = {c.idempotency_key for c in first}
    new = [c for c in later if c.idempotency_key not in seen]
    assert {c.entity_key: c.payload["available"] for c in new} == {
        "TSHIRT-RED-M@L1STORE": 23, "MUG-WHITE@L1STORE": 24}
    assert all(c.changed_at == pytest.approx(T0 + 60) for c in new)
    # Within the overlap the last changes come again, with the same keys, so the engine drops them.
    assert {c.idempotency_key for c in quiet} <= {c.idempotency_key for c in later}


def test_mid_pass_cursor_resumes_in_a_new_connector(world):
    async def first_page(conn):
        return await conn.pull("inventory", None, 4)

    page = run(world, first_page)
    assert page.has_more and len(page.changes) == 4

    async def rest(conn):
        # A different limit after a restart must not invalidate Square's body-bound cursor.
        return await drain(conn, "inventory", page.cursor, limit=50)

    changes, _, pages = run(world, rest)
    assert pages == 2  # 4 + 4 + 4 with the frozen limit
    seen = {c.entity_key for c in page.changes} | {c.entity_key for c in changes}
    assert len(seen) == 12


@pytest.mark.parametrize("spoil", ["expire", "foreign"])
def test_rejected_cursor_restarts_from_watermark(world, spoil):
    async def scenario(conn):
        page = await conn.pull("inventory", None, 5)
        state = json.loads(page.cursor)
        if spoil == "expire":
            world.clock.now += world.app.cursor_ttl + 1
        else:
            state["page"] = "someone-elses-cursor"
        changes, _, _ = await drain(conn, "inventory", json.dumps(state), limit=5)
        return changes, conn.warnings

    changes, warnings = run(world, scenario)
    assert len({c.entity_key for c in changes}) == 12  # the whole pass again, nothing lost
    assert any("cursor rejected" in w and "INVALID_CURSOR" in w for w in warnings)


def test_duplicate_entries_in_a_page_are_dropped(world):
    world.faults.plan.duplicate_event = 1.0
    changes, _, _ = run(world, lambda conn: drain(conn, "inventory"))
    keys = [c.idempotency_key for c in changes]
    assert len(keys) == len(set(keys)) == 12


def test_negative_count_is_clamped_for_availability(world):
    world.app.record_sale("store-2", [("CAP-BLACK", 30)])  # an oversell
    changes, _, _ = run(world, lambda conn: drain(conn, "inventory"))
    cap = next(c for c in changes if c.entity_key == "CAP-BLACK@L2STORE")
    assert cap.payload["available"] == 0 and cap.payload["on_hand"] == -5
    validate_payload("inventory", cap.payload)


# ---------------------------------------------------------------- push


def test_push_is_idempotent_per_delivery_key(world):
    app = world.app
    d = delivery(1, "TOTE-NATURAL", "L1STORE", 7)

    async def scenario(conn):
        return await conn.push("inventory", [d]), await conn.push("inventory", [d])

    first, second = run(world, scenario)
    assert first[0].error is None and second[0].error is None
    assert first[0].target_ref == app.variation_id("TOTE-NATURAL")
    assert app.applied_changes == [d.delivery_key]  # the replay had no second effect
    assert app.count("TOTE-NATURAL", "store-1") == 7
    assert "sq-token" not in first[0].request_summary


def test_push_batch_with_per_item_error_in_a_200(world):
    app = world.app
    batch = [delivery(1, "MUG-WHITE", "L1STORE", 3), delivery(2, "MUG-WHITE", "NOWHERE", 4),
             delivery(3, "NO-SUCH-SKU", "L1STORE", 1)]
    results = run(world, lambda conn: conn.push("inventory", batch))
    assert [r.record_id for r in results] == [1, 2, 3]
    assert results[0].error is None and app.count("MUG-WHITE", "store-1") == 3
    assert results[1].error.category is Category.VALIDATION
    assert results[1].error.vendor_code == "NOT_FOUND" and results[1].status == 200
    assert "location_id" in results[1].response_excerpt
    assert results[2].error.category is Category.VALIDATION and "NO-SUCH-SKU" in results[2].error.message
    assert len(app.applied_changes) == 1 and len(app.applied_changes[0]) <= 128


def test_long_delivery_keys_are_hashed_to_square_limit():
    long_key = "x" * 300
    assert len(request_key([long_key])) <= 128
    assert request_key([long_key]) == request_key([long_key])
    assert request_key(["a"]) == "a"
    assert request_key(["a", "b"]) != request_key(["b", "a"])


def test_sku_lookup_is_exact_although_square_matches_case_insensitively(world):
    world.app.add_variation("mug-white", 500, stock=1)
    results = run(world, lambda conn: conn.push("inventory", [delivery(1, "MUG-WHITE", "L2STORE", 9)]))
    assert results[0].error is None
    assert results[0].target_ref == world.app.variation_id("MUG-WHITE")
    assert world.app.count("mug-white", "store-2") == 1


# ---------------------------------------------------------------- failures


def test_throttled_is_rate_limit_without_retry_after(world):
    world.faults.forced_throttle = True
    with pytest.raises(DeliveryError) as exc:
        run(world, lambda conn: conn.pull("inventory", None, 10))
    assert exc.value.category is Category.RATE_LIMIT and exc.value.retry_after is None
    assert exc.value.status == 429 and exc.value.vendor_code == "RATE_LIMITED"
    with pytest.raises(DeliveryError) as exc:
        run(world, lambda conn: conn.push("inventory", [delivery(1, "MUG-WHITE", "L1STORE", 2)]))
    assert exc.value.category is Category.RATE_LIMIT


@pytest.mark.parametrize("mode", ["503", "reset"])
def test_outage_is_unavailable(world, mode):
    world.faults.forced_outage = True
    world.faults.plan.outage_mode = mode
    with pytest.raises(DeliveryError) as exc:
        run(world, lambda conn: conn.pull("order", None, 10))
    assert exc.value.category is Category.UNAVAILABLE
    if mode == "503":
        assert exc.value.status == 503 and exc.value.vendor_code == "SERVICE_UNAVAILABLE"


def test_server_down_is_unavailable(world):
    world.server.go_down()
    with pytest.raises(DeliveryError) as exc:
        run(world, lambda conn: conn.pull("inventory", None, 10))
    assert exc.value.category is Category.UNAVAILABLE
    world.server.come_up()
    assert run(world, lambda conn: conn.check_auth()).startswith("square: 2 location(s)")


def test_bad_token_is_auth_and_never_echoed(world):
    with pytest.raises(DeliveryError) as exc:
        run(world, lambda conn: conn.check_auth(), secret="bad-token")
    assert exc.value.category is Category.AUTH and exc.value.status == 401
    assert "bad-token" not in str(exc.value) and "bad-token" not in (exc.value.response_excerpt or "")


def test_garbage_body_is_malformed_with_excerpt(world):
    world.app.inject_garbage()
    with pytest.raises(DeliveryError) as exc:
        run(world, lambda conn: conn.pull("inventory", None, 10))
    assert exc.value.category is Category.MALFORMED
    assert exc.value.response_excerpt.startswith("<html>") and len(exc.value.response_excerpt) <= 500


@pytest.mark.parametrize("body, field", [
    ({"counts": {"oops": 1}}, "'counts' is not a list"),
    ("[" * 100_000 + "]" * 100_000, "not a JSON object"),
    ('{"counts": [', "not a JSON object"),
])
def test_wrong_typed_truncated_or_absurdly_nested_answers_are_malformed_naming_what(world, body, field):
    """The vendor's garbage is the vendor's fault: retryable, named, never a traceback."""
    real = world.app.handle

    def garbage(request):
        world.app.handle = real
        return Response(200, body)
    world.app.handle = garbage
    with pytest.raises(DeliveryError) as exc:
        run(world, lambda conn: conn.pull("inventory", None, 10))
    assert exc.value.category is Category.MALFORMED and field in exc.value.message


# ---------------------------------------------------------------- orders and returns


def test_sales_map_to_canonical_orders(world):
    app, clock = world.app, world.clock
    sale = app.record_sale("store-1", [("TSHIRT-RED-M", 2), ("MUG-WHITE", 1)], tender="CARD")
    clock.now += 5
    cash = app.record_sale("store-2", [("CAP-BLACK", 1)], tender="CASH")
    changes, _, _ = run(world, lambda conn: drain(conn, "order"))
    by_id = {c.entity_key: c for c in changes}
    assert set(by_id) == {sale, cash}
    order = validate_payload("order", by_id[sale].payload)
    assert order.channel == "pos" and order.location_id == "L1STORE" and order.currency == "USD"
    assert [(line.sku, line.quantity, line.tax_code) for line in order.lines] == [
        ("TSHIRT-RED-M", 2, "SQ-TAX-SALES"), ("MUG-WHITE", 1, "SQ-TAX-SALES")]
    assert order.lines[0].unit_price == Decimal("15.00")
    assert order.taxes[0].rate == Decimal("0.0825")
    assert order.payments[0].method == "CARD" and order.payments[0].amount == order.total
    assert by_id[sale].payload["total"] == "56.84"  # 2 x 15.00 + 22.50 + 8.25% tax per line (2.48 + 1.86)
    assert validate_payload("order", by_id[cash].payload).payments[0].method == "CASH"


def test_returns_map_to_canonical_refunds(world):
    app, clock = world.app, world.clock
    sale = app.record_sale("store-1", [("TSHIRT-RED-M", 2), ("MUG-WHITE", 1)], tender="CASH")
    clock.now += 30
    ret = app.record_return(sale, [("TSHIRT-RED-M", 1)], restock=False)
    assert app.count("TSHIRT-RED-M", "store-1") == 23  # damaged: not back in stock
    clock.now += 30
    ret2 = app.record_return(sale, [("MUG-WHITE", 1)])
    assert app.count("MUG-WHITE", "store-1") == 25

    async def scenario(conn):
        returns, _, _ = await drain(conn, "return")
        orders, _, _ = await drain(conn, "order")
        return returns, orders

    returns, orders = run(world, scenario)
    assert [c.entity_key for c in orders] == [sale]  # return orders are not sales
    by_id = {c.entity_key: validate_payload("return", c.payload) for c in returns}
    assert set(by_id) == {ret, ret2}
    first = by_id[ret]
    assert first.order_number == sale and first.refund_method == "CASH" and first.location_id == "L1STORE"
    assert first.lines[0].sku == "TSHIRT-RED-M" and first.lines[0].restock is False
    assert first.total == first.lines[0].refund_amount == Decimal("16.24")  # 15.00 + half of 2.48 tax
    assert by_id[ret2].lines[0].restock is True


def test_offline_order_arriving_late_is_read_by_updated_at(world):
    app, clock = world.app, world.clock

    async def scenario(conn):
        _, cursor, _ = await drain(conn, "order")
        clock.now += 3600
        late = app.record_sale("store-1", [("MUG-WHITE", 1)], created_at=T0 - 48 * 3600)
        changes, _, _ = await drain(conn, "order", cursor)
        return late, changes

    late, changes = run(world, scenario)
    assert [c.entity_key for c in changes] == [late]
    assert changes[0].payload["placed_at"].startswith("2025-07-29")


def test_data_faults_still_give_canonical_payloads(world):
    app = world.app
    app.faults.plan.validation = 1.0
    app.faults.plan.unmapped_sku = 1.0
    sale = app.record_sale("store-1", [("TSHIRT-RED-M", 1), ("MUG-WHITE", 1)])
    changes, _, _ = run(world, lambda conn: drain(conn, "order"))
    payload = changes[0].payload
    assert changes[0].entity_key == sale
    assert any(line["sku"].startswith("MYSTERY-") for line in payload["lines"])  # resolved via the catalog
    assert [line["tax_code"] for line in payload["lines"]].count(None) == 1
    validate_payload("order", payload)  # missing tax is the engine's call (mappings), not a broken payload


def test_unexpressible_order_is_skipped_with_warning(world):
    app = world.app
    keep = app.record_sale("store-1", [("MUG-WHITE", 1)])
    custom = app.record_sale("store-1", [("CAP-BLACK", 1)])
    # A "custom amount" line (no catalog item) exists in real Square; the fake never makes one.
    app._orders[custom]["line_items"][0].pop("catalog_object_id")

    async def scenario(conn):
        changes, _, _ = await drain(conn, "order")
        return changes, conn.warnings

    changes, warnings = run(world, scenario)
    assert [c.entity_key for c in changes] == [keep]
    assert any(custom in w and "no SKU" in w for w in warnings)


def test_convert_rejects_line_without_catalog_item():
    with pytest.raises(Unexpressible):
        sales_order({"id": "X", "line_items": [{"quantity": "1", "base_price_money": {"amount": 1, "currency": "USD"}}],
                     "total_money": {"amount": 1, "currency": "USD"}, "updated_at": "2025-08-01T00:00:00Z"}, {})


# ---------------------------------------------------------------- simulator wire behaviour


def test_simulator_idempotency_key_reused_with_other_body(world):
    var = world.app.variation_id("MUG-WHITE")
    body = {"idempotency_key": "k1", "changes": [{"type": "ADJUSTMENT", "adjustment": {
        "from_state": "NONE", "to_state": "IN_STOCK", "catalog_object_id": var, "location_id": "L1STORE",
        "quantity": "5"}}]}
    assert raw(world, "/v2/inventory/changes/batch-create", body).status_code == 200
    again = raw(world, "/v2/inventory/changes/batch-create", body)
    assert again.status_code == 200 and world.app.count("MUG-WHITE", "store-1") == 30
    body["changes"][0]["adjustment"]["quantity"] = "6"
    reused = raw(world, "/v2/inventory/changes/batch-create", body)
    assert reused.status_code == 400 and reused.json()["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_simulator_request_validation(world):
    var = world.app.variation_id("MUG-WHITE")
    negative = {"idempotency_key": "k2", "changes": [{"type": "PHYSICAL_COUNT", "physical_count": {
        "catalog_object_id": var, "location_id": "L1STORE", "state": "IN_STOCK", "quantity": "-1"}}]}
    answer = raw(world, "/v2/inventory/changes/batch-create", negative)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "changes[0].physical_count.quantity"
    assert world.app.applied_changes == []
    unknown = raw(world, "/v2/inventory/counts/batch-retrieve", {"bogus": 1}).json()["errors"][0]
    assert unknown["code"] == "UNKNOWN_BODY_PARAMETER" and unknown["category"] == "INVALID_REQUEST_ERROR"
    assert raw(world, "/v2/inventory/counts/batch-retrieve", {"limit": 1001}).status_code == 400
    missing = httpx.get(world.server.url + "/v2/locations")
    assert missing.status_code == 401 and missing.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_simulator_cursor_is_bound_to_the_original_body(world):
    first = raw(world, "/v2/inventory/counts/batch-retrieve", {"limit": 3}).json()
    times = [c["calculated_at"] for c in first["counts"]]
    assert times == sorted(times, reverse=True)
    other = raw(world, "/v2/inventory/counts/batch-retrieve", {"limit": 4, "cursor": first["cursor"]})
    assert other.status_code == 400 and other.json()["errors"][0]["code"] == "INVALID_CURSOR"
    same = raw(world, "/v2/inventory/counts/batch-retrieve", {"limit": 3, "cursor": first["cursor"]})
    assert same.status_code == 200 and len(same.json()["counts"]) == 3


def test_retry_whose_body_drifted_is_rebound_not_a_conflict(world):
    app, clock = world.app, world.clock
    d = delivery(1, "CAP-BLACK", "L1STORE", 4)
    d = Delivery(d.record_id, d.delivery_key, d.entity_key, dict(d.payload, changed_at=rfc3339(T0 - 22 * 3600)))

    async def scenario(conn):
        first = await conn.push("inventory", [d])
        app.set_count("CAP-BLACK", "store-1", 9)
        clock.now += 5 * 3600  # occurred_at is now clamped to a later time: same key, other body
        return first, await conn.push("inventory", [d])

    first, second = run(world, scenario)
    assert first[0].error is None and second[0].error is None
    assert app.count("CAP-BLACK", "store-1") == 4
    assert app.applied_changes[0] == d.delivery_key and app.applied_changes[1].startswith("sqr-")


def test_whole_call_400_naming_one_change_fails_only_that_item():
    # Unreachable with the fake (the connector pre-validates what Square would reject), so a stub
    # transport plays Square here.
    calls = []

    def square(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path == "/v2/catalog/search":
            return httpx.Response(200, json={"objects": [
                {"type": "ITEM_VARIATION", "id": f"V-{s}", "item_variation_data": {"sku": s}}
                for s in body["query"]["set_query"]["attribute_values"]]})
        calls.append(body)
        if len(body["changes"]) == 2:
            return httpx.Response(400, json={"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_VALUE",
                                                         "detail": "bad", "field": "changes[1].physical_count"}]})
        return httpx.Response(200, json={"counts": [], "changes": body["changes"]})

    async def main():
        async with httpx.AsyncClient(transport=httpx.MockTransport(square)) as client:
            conn = SquareConnector("http://square.test", "tok", client=client, clock=FakeClock(T0))
            return await conn.push("inventory", [delivery(1, "A", "L1", 1), delivery(2, "B", "L1", 2)])

    results = asyncio.run(main())
    assert results[0].error is None and results[1].error.category is Category.VALIDATION
    assert results[1].status == 400 and "INVALID_VALUE" in results[1].error.message
    assert [len(c["changes"]) for c in calls] == [2, 1]
    assert calls[1]["idempotency_key"] == "dk-1-A-1"
