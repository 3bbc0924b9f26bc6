"""Business Central connector against the Business Central simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from syncops.connectors.base import Delivery
from syncops.connectors.businesscentral import BusinessCentralConnector
from syncops.connectors.errors import DeliveryError
from syncops.models import validate_payload
from syncops.simulator.businesscentral import COMPANY, TENANT, BusinessCentralApp
from syncops.simulator.faults import Faults
from syncops.simulator.http import Response, SimServer, json_response
from syncops.store.categories import Category

SECRET = "sim-client-secret-value"
ITEMS = {"TSHIRT-RED-M": "19.99", "MUG-WHITE": "12.50", "CAP-BLK": "15.00", "SOCKS-3": "9.00", "BAG-L": "30.00"}


@pytest.fixture
def app(clock):
    return BusinessCentralApp(Faults(clock=clock), clock, items=ITEMS)


@pytest.fixture
def server(app):
    with SimServer(app) as srv:
        yield srv


def connector(server: SimServer, clock: Any, secret: str = SECRET, **options: Any) -> BusinessCentralConnector:
    options = {"tenant_id": TENANT, "client_id": "11111111-2222-3333-4444-555555555555", "company_id": COMPANY,
               "walkin_customer_number": "WALKIN", "shipping_account": "40100", **options}
    return BusinessCentralConnector(server.url, secret, clock=clock, options=options)


def run(fn: Any, server: SimServer, clock: Any, secret: str = SECRET, **options: Any) -> Any:
    async def go() -> Any:
        conn = connector(server, clock, secret, **options)
        try:
            return await fn(conn)
        finally:
            await conn.aclose()
    return asyncio.run(go())


async def pull_all(conn, cursor, limit=100):
    changes = []
    while True:
        page = await conn.pull("inventory", cursor, limit)
        changes += page.changes
        cursor = page.cursor
        if not page.has_more:
            return changes, cursor


def order(number: str = "WEB-1001", email: str | None = "ada@example.com", qty: int = 2, **kw: Any) -> dict:
    lines = kw.pop("lines", [{"sku": "TSHIRT-RED-M", "quantity": qty, "unit_price": "19.99"},
                             {"sku": "MUG-WHITE", "quantity": 1, "unit_price": "12.50"}])
    total = sum(float(li["quantity"]) * float(li["unit_price"]) for li in lines) + float(kw.get("shipping", 0))
    payload = {"order_number": number, "channel": "web", "status": "paid", "placed_at": "2024-05-01T10:00:00Z",
               "currency": "USD", "lines": lines, "total": f"{total:.2f}",
               "customer": {"name": "Ada Lovelace", "email": email} if email else None, **kw}
    validate_payload("order", payload)
    return payload


def refund(number: str = "RET-1", order_number: str = "WEB-1001") -> dict:
    payload = {"return_number": number, "order_number": order_number, "created_at": "2024-05-03T10:00:00Z",
               "currency": "USD", "lines": [{"sku": "MUG-WHITE", "quantity": 1, "refund_amount": "12.50",
                                              "restock": True}], "refund_method": "card", "total": "12.50"}
    validate_payload("return", payload)
    return payload


def deliveries(payloads: list[dict], key: str = "order_number", **kw: Any) -> list[Delivery]:
    return [Delivery(record_id=i, delivery_key=f"k{i}", entity_key=p[key], payload=p, **kw)
            for i, p in enumerate(payloads, start=1)]


def posts(app, path_end: str) -> int:
    return sum(1 for m, p, _ in app.requests if m == "POST" and p.endswith(path_end))


# ---------------------------------------------------------------- inventory


def test_items_are_read_incrementally_with_nextlink_paging(app, server, clock):
    first_changes, cursor = run(lambda c: pull_all(c, None, 2), server, clock)
    assert sorted(ch.payload["sku"] for ch in first_changes) == sorted(ITEMS)
    for ch in first_changes:
        pos = validate_payload("inventory", ch.payload)
        assert pos.location_id == "bc" and pos.available == 20 and ch.entity_key == f"{pos.sku}@bc"
    gets = [q for m, p, q in app.requests if m == "GET" and p.endswith("/items")]
    assert len(gets) == 3  # 5 items in pages of 2, the later pages by @odata.nextLink ($skiptoken)
    assert "$skiptoken" not in gets[0] and all("$skiptoken" in q for q in gets[1:])
    assert gets[0]["$filter"] == ["lastModifiedDateTime ge 1970-01-01T00:00:00Z"]

    clock.advance(30)
    app.set_item("MUG-WHITE", inventory=7)
    changes, cursor2 = run(lambda c: pull_all(c, cursor, 2), server, clock)
    known = {ch.idempotency_key for ch in first_changes}
    fresh = [ch for ch in changes if ch.idempotency_key not in known]
    assert [(ch.payload["sku"], ch.payload["available"]) for ch in fresh] == [("MUG-WHITE", 7)]
    since = app.requests[-1][2]["$filter"][0]
    assert since.startswith("lastModifiedDateTime ge ") and not since.endswith("1970-01-01T00:00:00Z")


def test_postings_that_leave_lastmodified_alone_come_back_on_the_rescan(app, server, clock):
    clock.advance(10)
    app.set_item("BAG-L", inventory=5)  # the watermark moves past CAP-BLK's lastModifiedDateTime
    changes, cursor = run(lambda c: pull_all(c, None), server, clock)
    app.post_inventory("CAP-BLK", -3)  # a sale posted in BC: inventory moves, the item record does not
    again, cursor = run(lambda c: pull_all(c, cursor), server, clock)
    assert not [c for c in again if c.payload["sku"] == "CAP-BLK" and c.payload["available"] == 17]
    clock.advance(3601)
    again, _ = run(lambda c: pull_all(c, cursor), server, clock)
    keys = {c.idempotency_key for c in changes}
    assert [(c.payload["sku"], c.payload["available"]) for c in again if c.idempotency_key not in keys] == \
        [("CAP-BLK", 17)]


def test_reconciliation_reads_current_inventory_postings_included(app, server, clock):
    """read_levels answers what BC holds now, postings that left lastModifiedDateTime alone too;
    other locations and unknown items are absent, a negative figure reads as 0 available."""
    app.post_inventory("CAP-BLK", -3)
    app.set_item("SOCKS-3", inventory=-2)
    levels = run(lambda c: c.read_levels({("CAP-BLK", "bc"), ("SOCKS-3", "bc"), ("NOPE", "bc"),
                                          ("MUG-WHITE", "elsewhere")}), server, clock)
    assert levels == {("CAP-BLK", "bc"): 17, ("SOCKS-3", "bc"): 0}


# ---------------------------------------------------------------- orders


def test_order_is_created_once_with_lines_and_customer_found_or_created(app, server, clock):
    results = run(lambda c: c.push("order", deliveries([order("WEB-1", qty=2), order("WEB-2", shipping="5.00")])),
                  server, clock)
    assert [r.error for r in results] == [None, None]
    docs = app.orders()
    assert [d["externalDocumentNumber"] for d in docs] == ["WEB-1", "WEB-2"]
    assert results[0].target_ref == docs[0]["id"] and results[0].status == 201
    assert [(x["lineObjectNumber"], x["quantity"]) for x in docs[0]["salesOrderLines"]] == \
        [("TSHIRT-RED-M", 2.0), ("MUG-WHITE", 1.0)]
    assert docs[1]["salesOrderLines"][-1]["lineType"] == "Account"  # the shipping line
    assert docs[0]["customerId"] == docs[1]["customerId"]  # created once, then found by e-mail
    assert posts(app, "/customers") == 1
    # Pushed again (a retry): found by externalDocumentNumber, nothing new.
    again = run(lambda c: c.push("order", deliveries([order("WEB-1", qty=2)])), server, clock)
    assert again[0].error is None and again[0].target_ref == docs[0]["id"] and "earlier delivery" in again[0].note
    assert posts(app, "/salesOrders") == 2


def test_lost_response_then_retry_gives_exactly_one_order(app, server, clock):
    # BC applies the order POST, then the connection drops: the answer is lost.
    calls = {"n": 0}
    original = app.handle

    def drop_order_post(request):
        response = original(request)
        if request.method == "POST" and request.path.endswith("/salesOrders") and calls["n"] == 0:
            calls["n"] += 1
            return Response(drop_connection=True)
        return response

    app.handle = drop_order_post
    with pytest.raises(DeliveryError) as info:
        run(lambda c: c.push("order", deliveries([order("WEB-9")])), server, clock)
    assert info.value.maybe_applied and info.value.category == Category.UNAVAILABLE
    assert len(app.orders()) == 1  # applied, answer lost
    results = run(lambda c: c.push("order", deliveries([order("WEB-9")], outcome_unknown=True)), server, clock)
    assert results[0].error is None and results[0].target_ref == app.orders()[0]["id"]
    assert len(app.orders()) == 1 and posts(app, "/salesOrders") == 1


def test_invoiced_order_is_not_created_again(app, server, clock):
    run(lambda c: c.push("order", deliveries([order("WEB-5")])), server, clock)
    app.invoice(app.orders()[0]["id"])
    results = run(lambda c: c.push("order", deliveries([order("WEB-5")])), server, clock)
    assert results[0].error is None and "invoiced" in results[0].note and app.orders() == []


def test_edited_order_updates_lines_with_if_match_and_a_stale_etag_is_a_conflict(app, server, clock):
    run(lambda c: c.push("order", deliveries([order("WEB-7", qty=2)])), server, clock)
    results = run(lambda c: c.push("order", deliveries([order("WEB-7", qty=3)])), server, clock)
    assert results[0].error is None and "If-Match" in results[0].note
    assert app.orders()[0]["salesOrderLines"][0]["quantity"] == 3.0
    app.faults.plan.stale_cas = 1.0  # someone edits the line in BC between our read and our write
    results = run(lambda c: c.push("order", deliveries([order("WEB-7", qty=4)])), server, clock)
    err = results[0].error
    assert err is not None and err.category == Category.CONFLICT and err.status == 412
    assert err.vendor_code == "Request_EntityChanged"
    assert app.orders()[0]["salesOrderLines"][0]["quantity"] == 3.0


def test_validation_error_fails_only_that_record(app, server, clock):
    bad = order("WEB-BAD", lines=[{"sku": "NO-SUCH-SKU", "quantity": 1, "unit_price": "5.00"}])
    results = run(lambda c: c.push("order", deliveries([bad, order("WEB-OK")])), server, clock)
    assert results[0].error.category == Category.VALIDATION and results[0].error.status == 400
    assert results[0].error.vendor_code == "Application_DialogException" and "NO-SUCH-SKU" in results[0].error.message
    assert results[1].error is None
    assert [d["externalDocumentNumber"] for d in app.orders()] == ["WEB-OK"]
    too_long = order("W" * 36)
    assert run(lambda c: c.push("order", deliveries([too_long])), server, clock)[0].error.category == Category.VALIDATION


def test_walkin_customer_when_the_order_has_no_email(app, server, clock):
    results = run(lambda c: c.push("order", deliveries([order("POS-1", email=None)])), server, clock)
    assert results[0].error is None and app.orders()[0]["customerNumber"] == "WALKIN"


# ---------------------------------------------------------------- returns


def test_credit_memo_for_a_return_once_with_the_order_customer(app, server, clock):
    run(lambda c: c.push("order", deliveries([order("WEB-1001")])), server, clock)
    results = run(lambda c: c.push("return", deliveries([refund()], key="return_number")), server, clock)
    assert results[0].error is None
    memo = app.credit_memos()[0]
    assert memo["externalDocumentNumber"] == "RET-1" and memo["customerId"] == app.orders()[0]["customerId"]
    assert [(x["lineObjectNumber"], x["quantity"], x["unitPrice"]) for x in memo["salesCreditMemoLines"]] == \
        [("MUG-WHITE", 1.0, 12.5)]
    again = run(lambda c: c.push("return", deliveries([refund()], key="return_number")), server, clock)
    assert again[0].error is None and again[0].target_ref == memo["id"] and len(app.credit_memos()) == 1


# ---------------------------------------------------------------- auth, limits, outage


def test_token_is_cached_and_refreshed_after_expiry(app, server, clock):
    async def go(conn):
        await conn.check_auth()
        await conn.check_auth()
        assert app.token_requests == 1  # cached
        clock.advance(3600)  # expired on the injected clock: a new token before the call
        await conn.check_auth()
        assert app.token_requests == 2
        app.tokens.clear()  # revoked server-side before our clock says so: 401, one new token, retried
        return await conn.check_auth()

    assert "CRONUS" in run(go, server, clock)
    assert app.token_requests == 3
    form_posts = [p for m, p, _ in app.requests if p == f"/{TENANT}/oauth2/v2.0/token"]
    assert len(form_posts) == 3


def test_bad_client_secret_is_auth_and_secret_never_shown(app, server, clock):
    with pytest.raises(DeliveryError) as info:
        run(lambda c: c.check_auth(), server, clock, secret="bad-secret")
    assert info.value.category == Category.AUTH and info.value.vendor_code == "invalid_client"
    app.token_lifetime = 3599

    async def refused(conn):
        await conn.tokens.access_token()
        app.tokens.clear()
        app.tokens["never"] = 0  # every token now refused
        original = app._token
        app._token = lambda request: json_response(
            {"token_type": "Bearer", "expires_in": 3599, "access_token": "revoked-token-value"})
        try:
            await conn.check_auth()
        finally:
            app._token = original

    with pytest.raises(DeliveryError) as info:
        run(refused, server, clock)
    assert info.value.category == Category.AUTH and info.value.status == 401
    assert info.value.vendor_code == "Authentication_InvalidCredentials"
    assert "revoked-token-value" not in (info.value.response_excerpt or "") + info.value.message


def test_rate_limit_is_honoured_with_retry_after(app, server, clock):
    app.faults.forced_throttle = True
    with pytest.raises(DeliveryError) as info:
        run(lambda c: c.pull("inventory", None, 10), server, clock)
    assert info.value.category == Category.RATE_LIMIT and info.value.retry_after == 1.0

    async def last(conn):
        try:
            await conn.push("order", deliveries([order("WEB-RL")]))
        except DeliveryError:
            return conn.last_call()

    assert run(last, server, clock).wait_seconds == 1.0
    assert app.orders() == []


def test_garbage_retry_after_is_not_a_wait(app, server, clock):
    import httpx

    from syncops.connectors.businesscentral import classify

    err = classify(429, json.dumps({"error": {"code": "Application_TooManyRequests", "message": "x"}}),
                   httpx.Headers({"Retry-After": "1e309"}), "GET items", now=clock(), ceiling=900,
                   scrub=lambda t: t)
    assert err.category == Category.RATE_LIMIT and err.retry_after is None


def test_outage_is_unavailable(app, server, clock):
    app.faults.forced_outage = True
    with pytest.raises(DeliveryError) as info:
        run(lambda c: c.push("order", deliveries([order("WEB-OUT")])), server, clock)
    assert info.value.category == Category.UNAVAILABLE and info.value.status == 503
    app.faults.forced_outage = False
    server.go_down()
    with pytest.raises(DeliveryError) as info:
        run(lambda c: c.pull("inventory", None, 10), server, clock)
    assert info.value.category == Category.UNAVAILABLE and not info.value.maybe_applied


def test_malformed_answer_is_malformed(app, server, clock):
    app.faults.plan.html_body = 1.0
    with pytest.raises(DeliveryError) as info:
        run(lambda c: c.pull("inventory", None, 10), server, clock)
    assert info.value.category == Category.UNAVAILABLE  # a 502 HTML page from a proxy
    app.faults.plan.html_body = 0.0
    app.faults.plan.truncated_body = 1.0
    with pytest.raises(DeliveryError) as info:
        run(lambda c: c.check_auth(), server, clock)
    assert info.value.category == Category.MALFORMED
