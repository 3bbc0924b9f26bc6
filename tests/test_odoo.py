"""Odoo JSON-2 simulator and connector, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import pytest

from syncops.connectors.base import Delivery
from syncops.connectors.errors import DeliveryError
from syncops.connectors.odoo import OdooConnector
from syncops.models import sample_payload, validate_payload
from syncops.simulator.faults import FaultPlan, Faults
from syncops.simulator.http import SimServer
from syncops.simulator.odoo import OdooApp, odoo_datetime
from syncops.store.categories import Category

from tests.conftest import FakeClock

T0 = 1_700_000_000.0
SECRET = "odoo-secret-key-123"


@pytest.fixture
def app(clock: FakeClock) -> OdooApp:
    # The sample order's location and payment method exist in this Odoo: a warehouse keeps its
    # stock at "store-001" and a journal is named "card".
    return OdooApp(Faults(clock=clock), clock, taxes={"standard": "8.25", "zero": "0"},
                   locations=("WH/Stock", "store-001"), journals={"card": "bank", "Bank": "bank"})


@pytest.fixture
def server(app: OdooApp):
    with SimServer(app) as srv:
        yield srv


def run(coro_fn, server: SimServer, clock: FakeClock, secret: str = SECRET, **options: Any):
    async def go():
        conn = OdooConnector(server.url, secret, clock=clock, options=options or None)
        try:
            return await coro_fn(conn)
        finally:
            await conn.aclose()
    return asyncio.run(go())


def order(ref: str, **changes: Any) -> dict[str, Any]:
    payload = sample_payload("order")
    payload["order_number"] = ref
    payload.update(changes)
    return payload


def untaxed_order(ref: str) -> dict[str, Any]:
    payload = order(ref)
    for line in payload["lines"]:
        line["tax_code"] = None
    payload["taxes"] = []
    payload["total"] = "50.48"
    payload["payments"][0]["amount"] = "50.48"
    return payload


def refund(ref: str, order_number: str = "POS-1", sku: str = "TSHIRT-RED-M") -> dict[str, Any]:
    payload = sample_payload("return")
    payload["return_number"] = ref
    payload["order_number"] = order_number
    payload["lines"][0]["sku"] = sku
    return payload


def deliveries(entity: str, payloads: list[dict[str, Any]]) -> list[Delivery]:
    out = []
    for i, p in enumerate(payloads, start=1):
        validate_payload(entity, p)  # the fixtures themselves must be valid canonical payloads
        out.append(Delivery(record_id=i, delivery_key=f"k{i}", entity_key=f"e{i}", payload=p))
    return out


def calls(app: OdooApp, model: str, method: str) -> int:
    return sum(1 for c in app.calls if c == (model, method))


# ---------------------------------------------------------------- orders


def test_batch_push_creates_orders_with_one_dedupe_lookup(app, server, clock):
    batch = deliveries("order", [order("POS-1"), order("POS-2"), order("POS-3", customer=None)])
    results = run(lambda c: c.push("order", batch), server, clock)

    assert [r.record_id for r in results] == [1, 2, 3]
    assert all(r.error is None for r in results), [str(r.error) for r in results]
    orders = {o["client_order_ref"]: o for o in app.sale_orders()}
    assert set(orders) == {"POS-1", "POS-2", "POS-3"}
    assert [r.target_ref for r in results] == [str(orders[f"POS-{i}"]["id"]) for i in (1, 2, 3)]
    assert orders["POS-1"]["name"].startswith("S000")
    assert orders["POS-1"]["amount_total"] == pytest.approx(54.64)
    assert all(line["tax_id"] for line in orders["POS-1"]["lines"])
    # The walk-in order went to the walk-in partner, the others to one partner found by email.
    partners = {p["id"]: p for p in app.partners()}
    assert partners[orders["POS-3"]["partner_id"]]["name"] == "Walk-in Customer"
    assert partners[orders["POS-1"]["partner_id"]]["email"] == "jane@example.com"
    assert orders["POS-1"]["partner_id"] == orders["POS-2"]["partner_id"]
    # One create and one confirmation for the whole batch: "completed" means a confirmed sale.
    assert calls(app, "sale.order", "create") == 1 and calls(app, "sale.order", "action_confirm") == 1
    assert {o["state"] for o in orders.values()} == {"sale"}
    assert "state sale" in results[0].note and "payments posted: POS-1/1 ch_3PabcXYZ" in results[0].note


def test_pushing_again_creates_nothing_and_links_existing(app, server, clock):
    batch = deliveries("order", [order("POS-1"), order("POS-2")])
    first = run(lambda c: c.push("order", batch), server, clock)
    again = run(lambda c: c.push("order", batch), server, clock)

    for before, after in zip(first, again):
        assert after.error is None and after.target_ref == before.target_ref
        assert "already in Odoo, linked" in after.note
    assert app.count_orders_with_ref("POS-1") == 1 and app.count_orders_with_ref("POS-2") == 1
    assert calls(app, "sale.order", "create") == 1
    assert calls(app, "account.payment", "create") == 1 and len(app.payments()) == 2  # not registered twice


def test_out_of_band_order_is_detected_as_duplicate(app, server, clock):
    existing = app.add_sale_order("POS-7", [("MUG-WHITE", 1, 12.5)])
    name = next(o["name"] for o in app.sale_orders() if o["id"] == existing)
    [result] = run(lambda c: c.push("order", deliveries("order", [order("POS-7")])), server, clock)

    assert result.error is None and result.target_ref == str(existing)
    assert name in result.note and "already in Odoo, linked" in result.note
    assert app.count_orders_with_ref("POS-7") == 1
    # The draft held other lines than the source: it follows the source, then is confirmed.
    [linked] = app.sale_orders()
    assert len(linked["lines"]) == 2 and linked["state"] == "sale"


def test_lost_response_then_retry_is_exactly_once(app, server, clock):
    batch = deliveries("order", [order("POS-8")])
    app.lose_next_response("sale.order", "create")
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.push("order", batch), server, clock)
    assert err.value.category == Category.UNAVAILABLE
    assert app.count_orders_with_ref("POS-8") == 1  # it did go through

    [result] = run(lambda c: c.push("order", batch), server, clock)
    assert result.error is None and result.target_ref is not None and "linked" in result.note
    assert app.count_orders_with_ref("POS-8") == 1


def test_same_reference_twice_in_one_batch_creates_once(app, server, clock):
    results = run(lambda c: c.push("order", deliveries("order", [order("POS-9"), order("POS-9")])), server, clock)
    assert results[0].error is None
    assert results[1].error.category == Category.DUPLICATE and results[1].target_ref == results[0].target_ref
    assert app.count_orders_with_ref("POS-9") == 1


def test_unknown_sku_isolates_one_item(app, server, clock):
    bad = order("POS-2")
    bad["lines"][1]["sku"] = "NO-SUCH-SKU"
    results = run(lambda c: c.push("order", deliveries("order", [order("POS-1"), bad, order("POS-3")])),
                  server, clock)

    assert results[0].error is None and results[2].error is None
    assert results[1].error.category == Category.VALIDATION
    assert "NO-SUCH-SKU" in results[1].error.message and "lines[1].sku" in results[1].error.message
    assert app.count_orders_with_ref("POS-2") == 0
    assert calls(app, "sale.order", "create") == 1  # excluded up front, no fallback needed


def test_missing_tax_fails_only_that_item(app, server, clock):
    results = run(lambda c: c.push("order", deliveries("order", [order("POS-1"), untaxed_order("POS-2"),
                                                                   order("POS-3")])), server, clock)

    assert results[0].error is None and results[2].error is None
    err = results[1].error
    assert err.category == Category.VALIDATION and err.status == 422
    assert err.vendor_code == "odoo.exceptions.ValidationError" and "tax" in err.message.lower()
    assert app.count_orders_with_ref("POS-2") == 0
    assert app.count_orders_with_ref("POS-1") == 1 and app.count_orders_with_ref("POS-3") == 1
    assert calls(app, "sale.order", "create") == 4  # the batch, then one by one


def test_order_level_tax_applies_to_lines_without_code(app, server, clock):
    payload = order("POS-4")
    for line in payload["lines"]:
        line["tax_code"] = None
    [result] = run(lambda c: c.push("order", deliveries("order", [payload])), server, clock)
    assert result.error is None
    [created] = app.sale_orders()
    assert created["amount_total"] == pytest.approx(54.64)


def test_unknown_tax_code_and_currency_are_item_errors(app, server, clock):
    bad_tax = order("POS-5")
    bad_tax["lines"][0]["tax_code"] = "VAT-XX"
    euro = order("POS-6", currency="EUR")
    results = run(lambda c: c.push("order", deliveries("order", [bad_tax, euro, order("POS-7")])), server, clock)
    assert results[0].error.category == Category.VALIDATION and "VAT-XX" in results[0].error.message
    assert results[1].error.category == Category.VALIDATION and "EUR" in results[1].error.message
    assert results[2].error is None


def test_invalid_canonical_payload_is_validation(app, server, clock):
    payload = order("POS-1")
    del payload["lines"]
    [result] = run(lambda c: c.push("order", [Delivery(1, "k", "POS-1", payload)]), server, clock)
    assert result.error.category == Category.VALIDATION and "lines" in result.error.message


# ---------------------------------------------------------------- credit notes


def test_credit_notes_created_deduplicated_and_isolated(app, server, clock):
    run(lambda c: c.push("order", deliveries("order", [order("POS-1")])), server, clock)
    batch = deliveries("return", [refund("RET-1"), refund("RET-2", sku="NOPE"), refund("RET-3", "POS-404")])
    first = run(lambda c: c.push("return", batch), server, clock)

    assert first[0].error is None and first[2].error is None
    assert first[1].error.category == Category.VALIDATION and "NOPE" in first[1].error.message
    notes = {n["ref"]: n for n in app.credit_notes()}
    assert set(notes) == {"RET-1", "RET-3"}
    assert notes["RET-1"]["move_type"] == "out_refund" and notes["RET-1"]["invoice_origin"] == "POS-1"
    assert notes["RET-1"]["amount_total"] == pytest.approx(18.99)
    # Credited to the customer of the original order.
    [original] = app.sale_orders()
    assert notes["RET-1"]["partner_id"] == original["partner_id"]

    assert notes["RET-1"]["state"] == "posted"

    again = run(lambda c: c.push("return", batch[:1]), server, clock)
    assert again[0].error is None and again[0].target_ref == first[0].target_ref and "linked" in again[0].note
    assert app.count_credit_notes_with_ref("RET-1") == 1

    app.add_credit_note("RET-9")
    [oob] = run(lambda c: c.push("return", deliveries("return", [refund("RET-9")])), server, clock)
    assert oob.error is None and app.count_credit_notes_with_ref("RET-9") == 1


# ---------------------------------------------------------------- pulls


def test_price_pull_is_incremental_with_cursor(app, server, clock):
    async def scenario(conn: OdooConnector):
        first = await conn.pull("price", None, 2)
        second = await conn.pull("price", first.cursor, 2)
        idle = await conn.pull("price", second.cursor, 10)
        clock.now += 60
        app.change_price("MUG-WHITE", "13.75")
        changed = await conn.pull("price", idle.cursor, 10)
        return first, second, idle, changed

    first, second, idle, changed = run(scenario, server, clock)
    assert first.has_more and not second.has_more
    skus = [c.payload["sku"] for c in first.changes + second.changes]
    assert sorted(skus) == ["MUG-WHITE", "TSHIRT-BLUE-L", "TSHIRT-RED-M"]
    assert all(c.entity_key == f"{c.payload['sku']}@odoo-list" for c in first.changes)
    for change in first.changes + second.changes:
        validate_payload("price", change.payload)
        assert change.changed_at == T0
    # The inclusive watermark re-reads the last second; the repeats carry the same keys.
    seen = {c.idempotency_key for c in first.changes + second.changes}
    assert {c.idempotency_key for c in idle.changes} <= seen and not idle.has_more
    [mug] = [c for c in changed.changes if c.idempotency_key not in seen]
    assert mug.payload["amount"] == "13.75" and mug.payload["currency"] == "USD"
    assert mug.changed_at == T0 + 60 and mug.idempotency_key not in seen
    assert json.loads(changed.cursor)["watermark"] == odoo_datetime(T0 + 60)


def test_price_pull_steps_over_a_full_page_within_one_second(clock):
    skus = {f"SKU-{i:02d}": "1.00" for i in range(7)}
    app = OdooApp(Faults(clock=clock), clock, skus=skus)
    with SimServer(app) as server:
        async def drain(conn: OdooConnector):
            cursor, seen, pages = None, [], 0
            while True:
                page = await conn.pull("price", cursor, 3)
                seen += [c.payload["sku"] for c in page.changes]
                cursor, pages = page.cursor, pages + 1
                if not page.has_more or pages > 10:
                    return seen, pages
        seen, pages = run(drain, server, clock)
    assert sorted(seen) == sorted(skus) and pages == 3


def test_product_pull_reports_archived_products(app, server, clock):
    clock.now += 5
    app.archive_product("TSHIRT-BLUE-L")
    page = run(lambda c: c.pull("product", json.dumps({"watermark": odoo_datetime(T0 + 1)}), 10), server, clock)
    [change] = page.changes
    assert change.entity_key == "TSHIRT-BLUE-L" and change.payload["active"] is False
    validate_payload("product", change.payload)


def test_inventory_pull_from_quants(app, server, clock):
    app.set_stock("MUG-WHITE", 7, reserved=2)
    page = run(lambda c: c.pull("inventory", None, 10), server, clock)
    [change] = page.changes
    assert change.entity_key == "MUG-WHITE@WH/Stock"
    assert change.payload["available"] == 5 and change.payload["on_hand"] == 7
    validate_payload("inventory", change.payload)


def test_unreadable_cursor_restarts_from_the_beginning(app, server, clock):
    page = run(lambda c: c.pull("price", "not json", 10), server, clock)
    assert len(page.changes) == 3


# ---------------------------------------------------------------- errors


def test_bad_token_is_auth(server, clock):
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.check_auth(), server, clock, secret="bad-token")
    assert err.value.category == Category.AUTH and err.value.status == 401
    assert "Invalid apikey" in err.value.message


def test_check_auth_ok_and_secret_never_in_messages(app, server, clock):
    assert "Odoo JSON-2 OK" in run(lambda c: c.check_auth(), server, clock)
    app.faults.forced_outage = True
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.push("order", deliveries("order", [order("POS-1")])), server, clock)
    assert SECRET not in str(err.value) and SECRET not in (err.value.response_excerpt or "")


def test_throttling_is_rate_limit_with_retry_after(app, server, clock):
    app.faults.plan = FaultPlan(rate_limit_burst=1.0, burst_seconds=7)

    async def scenario(conn: OdooConnector):
        with pytest.raises(DeliveryError) as err:
            await conn.pull("price", None, 10)
        return err.value, conn.last_call()

    err, info = run(scenario, server, clock)
    assert err.category == Category.RATE_LIMIT and err.status == 429 and err.retry_after == 7
    assert info.wait_seconds == 7


def test_outage_is_unavailable(app, server, clock):
    app.faults.forced_outage = True
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.pull("price", None, 10), server, clock)
    assert err.value.category == Category.UNAVAILABLE and err.value.status == 503

    app.faults.plan.outage_mode = "reset"
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.pull("price", None, 10), server, clock)
    assert err.value.category == Category.UNAVAILABLE and err.value.status is None


def test_refused_connection_is_unavailable(server, clock):
    server.go_down()
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.pull("price", None, 10), server, clock)
    assert err.value.category == Category.UNAVAILABLE


def test_garbage_is_malformed_with_excerpt(app, server, clock):
    app.garbage_responses = 1
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.pull("price", None, 10), server, clock)
    assert err.value.category == Category.MALFORMED
    assert "<html>" in err.value.response_excerpt and len(err.value.response_excerpt) <= 500


def test_unknown_model_is_404_validation(server, clock):
    async def scenario(conn: OdooConnector):
        return await conn._call("no.such.model", "search_read", domain=[])
    with pytest.raises(DeliveryError) as err:
        run(scenario, server, clock)
    assert err.value.category == Category.VALIDATION and err.value.status == 404


# ---------------------------------------------------------------- simulator details


def test_simulator_json2_search_read_and_errors(app, server):
    headers = {"Authorization": f"bearer {SECRET}"}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        rows = http.post("/json/2/product.product/search_read", json={
            "domain": ["|", ["default_code", "ilike", "tshirt"], ["lst_price", ">", 20]],
            "fields": ["default_code"], "order": "default_code desc"}).json()
        assert [r["default_code"] for r in rows] == ["TSHIRT-RED-M", "TSHIRT-BLUE-L"]
        assert http.post("/json/2/product.product/search_count", json={"domain": []}).json() == 3
        bad = http.post("/json/2/product.product/search_read", json={"domian": []})
        assert bad.status_code == 422 and set(bad.json()) == {"name", "message", "arguments", "context", "debug"}
        assert http.post("/json/2/product.product/unlink_all", json={}).status_code == 404
        unauth = http.post("/json/2/res.partner/search_read", json={}, headers={"Authorization": "bearer bad-token"})
        assert unauth.status_code == 401 and unauth.json()["name"] == "werkzeug.exceptions.Unauthorized"


def test_simulator_create_is_all_or_nothing(app, server):
    headers = {"Authorization": f"bearer {SECRET}"}
    good = {"partner_id": 1, "client_order_ref": "A",
            "order_line": [[0, 0, {"product_id": 1, "product_uom_qty": 1, "price_unit": 5, "tax_id": [[6, 0, [1]]]}]]}
    bad = copy.deepcopy(good)
    bad["client_order_ref"] = "B"
    bad["order_line"][0][2]["product_id"] = 999
    with httpx.Client(base_url=server.url, headers=headers) as http:
        resp = http.post("/json/2/sale.order/create", json={"vals_list": [good, bad]})
    assert resp.status_code == 422 and resp.json()["name"] == "odoo.exceptions.ValidationError"
    assert app.sale_orders() == []


def test_legacy_jsonrpc_errors_are_http_200(server):
    body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
        "service": "object", "method": "execute_kw",
        "args": ["db", 2, SECRET, "no.such.model", "search_read", [[]], {}]}}
    with httpx.Client(base_url=server.url) as http:
        resp = http.post("/jsonrpc", json=body)
        assert resp.status_code == 200 and resp.json()["error"]["data"]["name"] == "werkzeug.exceptions.NotFound"
        body["params"]["args"][3:5] = ["product.product", "search_count"]
        assert http.post("/jsonrpc", json=body).json()["result"] == 3


def test_line_tax_field_option_for_newer_odoo(app, server, clock):
    [result] = run(lambda c: c.push("order", deliveries("order", [order("POS-1")])), server, clock,
                   line_tax_field="tax_ids")
    assert result.error is None
    assert app.sale_orders()[0]["amount_total"] == pytest.approx(54.64)


# ---------------------------------------------------------------- business state


def _state(app: OdooApp, ref: str) -> dict[str, Any]:
    return next(o for o in app.sale_orders() if o["client_order_ref"] == ref)


def test_a_paid_order_is_confirmed_in_its_warehouse_with_the_payment_on_the_mapped_journal(app, server, clock):
    [result] = run(lambda c: c.push("order", deliveries("order", [order("POS-20", status="sale")])), server, clock)
    assert result.error is None and "state sale" in result.note
    placed = _state(app, "POS-20")
    assert placed["state"] == "sale"
    warehouses = {w["id"]: w for w in app.state_table("stock.warehouse")}
    assert warehouses[placed["warehouse_id"]]["name"] == "store-001"  # from the (mapped) location_id
    [payment] = app.payments()
    journals = {j["id"]: j["name"] for j in app.state_table("account.journal")}
    assert (journals[payment["journal_id"]], payment["amount"], payment["state"]) == ("card", 54.64, "posted")


def test_an_order_cancelled_after_delivery_cancels_the_erp_order(app, server, clock):
    run(lambda c: c.push("order", deliveries("order", [order("POS-21", status="sale")])), server, clock)
    assert _state(app, "POS-21")["state"] == "sale"
    [result] = run(lambda c: c.push("order", deliveries("order", [order("POS-21", status="cancelled")])),
                   server, clock)
    assert result.error is None and "state cancel" in result.note
    assert _state(app, "POS-21")["state"] == "cancel" and app.count_orders_with_ref("POS-21") == 1


def test_edits_after_delivery_follow_the_source_or_are_a_conflict_odoo_forbids(app, server, clock):
    run(lambda c: c.push("order", deliveries("order", [order("POS-22", status="sale")])), server, clock)
    moved = order("POS-22", status="sale")
    moved["customer"]["address"]["line1"] = "99 New Road"
    [result] = run(lambda c: c.push("order", deliveries("order", [moved])), server, clock)
    assert result.error is None
    partner = next(p for p in app.partners() if p["id"] == _state(app, "POS-22")["partner_id"])
    assert partner["street"] == "99 New Road"  # the address edit reached the ERP customer
    # Locked (done) in Odoo, then the source changes its lines: Odoo forbids it, a human decides.
    run(lambda c: c.push("order", deliveries("order", [order("POS-22", status="done")])), server, clock)
    fewer = order("POS-22", status="done")
    fewer["lines"] = fewer["lines"][:1]
    fewer["taxes"][0]["amount"] = "3.13"
    fewer["total"] = fewer["payments"][0]["amount"] = "41.11"
    [conflict] = run(lambda c: c.push("order", deliveries("order", [fewer])), server, clock)
    assert conflict.error is not None and conflict.error.category == Category.CONFLICT
    assert "is done and its lines cannot change" in conflict.error.message
    assert len(_state(app, "POS-22")["lines"]) == 2
