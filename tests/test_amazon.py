"""Amazon SP-API connector against the Amazon simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import logging

import pytest

from syncops.connectors.errors import DeliveryError
from syncops.models import validate_payload
from syncops.simulator.http import Request, Response, SimServer
from syncops.store.categories import Category

from tests.amazon_helpers import SECRET, deliveries, make_app, pull_all, run, stock


@pytest.fixture
def app(clock):
    return make_app(clock)


@pytest.fixture
def server(app):
    with SimServer(app) as srv:
        yield srv


def order_gets(app) -> int:
    return sum(1 for m, p, _ in app.requests if m == "GET" and p == "/orders/v0/orders")


# ---------------------------------------------------------------- orders


def test_orders_are_read_incrementally_with_paging_into_valid_sales_orders(app, server, clock):
    ids = [app.place_order([("TSHIRT-RED-M", 2), ("MUG-WHITE", 1)], shipping="4.99", now=clock.now - 50 + i)
           for i in range(5)]
    app.set_order_status(ids[4], "Shipped", now=clock.now - 10)

    async def go(conn):
        first = await conn.pull("order", None, 2)
        changes, cursor = await pull_all(conn, "order", first.cursor, 2)
        return first, changes, cursor

    first, rest, cursor = run(go, server, clock)
    assert first.has_more and len(first.changes) == 2  # MaxResultsPerPage=2, NextToken in the cursor
    got = first.changes + rest
    assert [c.payload["order_number"] for c in got] == ids
    for change in got:
        order = validate_payload("order", change.payload)  # canonical SalesOrder, total formula holds
        assert order.channel == "amazon" and order.currency == "USD"
        assert [(li.sku, int(li.quantity)) for li in order.lines] == [("TSHIRT-RED-M", 2), ("MUG-WHITE", 1)]
    assert [c.payload["status"] for c in got] == ["paid"] * 4 + ["fulfilled"]
    assert got[0].payload["shipping"] == "4.99" and got[0].payload["lines"][0]["unit_price"] == "19.99"
    # The vendor object kept for the technician carries no buyer data.
    assert all("BuyerInfo" not in c.source_payload and "ShippingAddress" not in c.source_payload for c in got)

    # Later: one order changes, one is new. Only those come back (plus boundary repeats with the same key).
    app.set_order_status(ids[1], "Canceled")
    new = app.place_order([("CAP-BLK", 1)])
    changes, _ = run(lambda conn: pull_all(conn, "order", cursor), server, clock)
    keys = {c.idempotency_key for c in got}
    fresh = [c for c in changes if c.idempotency_key not in keys]
    assert sorted(c.payload["order_number"] for c in fresh) == sorted([ids[1], new])
    assert next(c for c in fresh if c.payload["order_number"] == ids[1]).payload["status"] == "cancelled"
    sent = [q for m, p, q in app.requests if p == "/orders/v0/orders"]
    assert all(q["MarketplaceIds"] == ["ATVPDKIKX0DER"] and "LastUpdatedAfter" in q for q in sent)


def test_pending_orders_wait_until_payment_is_authorised(app, server, clock):
    oid = app.place_order([("MUG-WHITE", 1)], status="Pending", now=clock.now - 5)
    changes, cursor = run(lambda conn: pull_all(conn, "order", None), server, clock)
    assert changes == []  # no prices yet: nothing that could become a valid SalesOrder
    clock.advance(60)
    app.set_order_status(oid, "Unshipped")
    changes, _ = run(lambda conn: pull_all(conn, "order", cursor), server, clock)
    assert [c.payload["order_number"] for c in changes] == [oid]
    validate_payload("order", changes[0].payload)


def test_order_items_are_paged(clock):
    app = make_app(clock, items_page=1)
    oid = app.place_order([("TSHIRT-RED-M", 1), ("MUG-WHITE", 2), ("CAP-BLK", 3)])
    with SimServer(app) as server:
        changes, _ = run(lambda conn: pull_all(conn, "order", None), server, clock)
    assert [li["sku"] for li in changes[0].payload["lines"]] == ["TSHIRT-RED-M", "MUG-WHITE", "CAP-BLK"]
    assert sum(1 for m, p, _ in app.requests if p.endswith(f"{oid}/orderItems")) == 3


def test_restart_mid_run_neither_loses_nor_duplicates(app, server, clock):
    ids = [app.place_order([("MUG-WHITE", 1)], now=clock.now - 100 + i) for i in range(7)]
    stored: dict[str, str] = {}  # idempotency key -> order number, as the store would keep them

    # Run 1 reads two pages; the engine stored page 1 with its cursor, then died before storing page 2.
    async def crash(conn):
        page1 = await conn.pull("order", None, 3)
        page2 = await conn.pull("order", page1.cursor, 3)
        return page1, page2

    page1, lost = run(crash, server, clock)
    stored.update({c.idempotency_key: c.payload["order_number"] for c in page1.changes})
    assert len(lost.changes) == 3

    # Run 2 starts from the persisted cursor: page 2 again, then the rest.
    changes, _ = run(lambda conn: pull_all(conn, "order", page1.cursor, 3), server, clock)
    assert [c.payload["order_number"] for c in changes] == ids[3:]
    for c in changes:
        assert c.idempotency_key not in stored
        stored[c.idempotency_key] = c.payload["order_number"]
    assert sorted(stored.values()) == sorted(ids)

    # A NextToken that no longer works (Amazon's expired, or another process's) reads the window again.
    app._next_tokens.clear()
    again, _ = run(lambda conn: pull_all(conn, "order", page1.cursor, 3), server, clock)
    assert {c.idempotency_key for c in again} <= set(stored)
    assert {c.payload["order_number"] for c in again} == set(ids)


def test_no_buyer_data_in_logs_or_messages(app, server, clock, caplog):
    app.place_order([("MUG-WHITE", 1)])
    caplog.set_level(logging.DEBUG)
    changes, _ = run(lambda conn: pull_all(conn, "order", None), server, clock)
    email = changes[0].payload["customer"]["email"]
    assert email and email.endswith("@marketplace.amazon.com")  # canonical customer field (masked in the console)
    assert email not in caplog.text


# ---------------------------------------------------------------- FBA inventory


def test_fba_summaries_are_read_as_inventory_positions(clock):
    app = make_app(clock, fba={"TSHIRT-RED-M": 7, "MUG-WHITE": 0})
    with SimServer(app) as server:
        changes, cursor = run(lambda conn: pull_all(conn, "inventory", None), server, clock)
        got = {c.entity_key: validate_payload("inventory", c.payload) for c in changes}
        seen = {c.idempotency_key for c in changes}
        assert {k: v.available for k, v in got.items()} == {"TSHIRT-RED-M@amazon-fba": 7, "MUG-WHITE@amazon-fba": 0}
        clock.advance(120)
        app.set_fba("MUG-WHITE", 12, inbound=3)
        changes, _ = run(lambda conn: pull_all(conn, "inventory", cursor), server, clock)
    fresh = [c.payload for c in changes if c.payload["sku"] == "MUG-WHITE"]
    assert fresh[-1]["available"] == 12 and fresh[-1]["on_hand"] == 15
    # startDateTime: only what changed since (a boundary repeat carries a key already stored)
    assert all(c.payload["sku"] == "MUG-WHITE" for c in changes if c.idempotency_key not in seen)


# ---------------------------------------------------------------- listings writes


def test_mfn_quantity_is_patched_per_sku_with_per_item_results(app, server, clock):
    batch = deliveries([stock("TSHIRT-RED-M", 5), stock("MUG-WHITE", 0), stock("NOT-LISTED", 3),
                        stock("CAP-BLK", 2, location="store-9")])
    results = run(lambda conn: conn.push("inventory", batch), server, clock)
    assert app.quantity("TSHIRT-RED-M") == 5 and app.quantity("MUG-WHITE") == 0
    assert results[0].error is None and results[0].target_ref == app.submissions[0]["submissionId"]
    assert results[1].error is None
    assert results[2].error.category == Category.VALIDATION and "NOT-LISTED" in results[2].error.message
    assert results[3].error.category == Category.MAPPING
    # The same delivery again leaves the listing where it is (absolute quantity).
    run(lambda conn: conn.push("inventory", batch[:1]), server, clock)
    assert app.quantity("TSHIRT-RED-M") == 5


def test_a_bad_marketplace_is_a_validation_error_per_item(app, server, clock):
    results = run(lambda conn: conn.push("inventory", deliveries([stock("MUG-WHITE", 4)])), server, clock,
                  marketplace_id="A1F83G8C2ARO7P")
    assert results[0].error.category == Category.VALIDATION and results[0].error.vendor_code == "InvalidInput"
    assert results[0].error.status == 400 and app.quantity("MUG-WHITE") is None


def test_listing_writes_are_paced_by_the_documented_usage_plan(app, server, clock):
    batch = deliveries([stock(s, 1) for s in ("TSHIRT-RED-M", "MUG-WHITE", "CAP-BLK")] * 4)
    start = clock.now

    async def go(conn):
        results = await conn.push("inventory", batch)
        return results, conn.buckets.waited

    results, waited = run(go, server, clock)
    assert all(r.error is None for r in results)  # burst 5, then 5 per second: never a 429
    assert waited == pytest.approx(7 / 5, abs=0.01) and clock.now - start == pytest.approx(waited)


# ---------------------------------------------------------------- rate limits


def test_quota_exceeded_asks_for_the_wait_the_rate_header_implies(clock):
    app = make_app(clock, plans={"getOrders": (0.5, 1)})  # this seller's plan: 0.5/s, burst 1
    with SimServer(app) as server:
        async def go(conn):
            await conn.pull("order", None, 10)
            info_after_burst = conn.last_call()  # our bucket still holds tokens (the burst is not in the header)
            with pytest.raises(DeliveryError) as exc:
                await conn.pull("order", None, 10)
            return info_after_burst, exc.value, conn.last_call()

        info, err, last = run(go, server, clock)
    assert info.extra["rate"] == 0.5 and info.wait_seconds is None  # header adopted
    assert err.category == Category.RATE_LIMIT and err.vendor_code == "QuotaExceeded" and err.status == 429
    assert err.retry_after == pytest.approx(2.0) and last.wait_seconds == pytest.approx(2.0)


def test_throttling_storm_and_a_garbage_rate_header(clock):
    app = make_app(clock)

    class Garbage:
        name, faults = "amazon", app.faults

        def handle(self, request: Request) -> Response:
            resp = app.handle(request)
            if request.path.startswith("/orders"):
                resp.headers["x-amzn-RateLimit-Limit"] = "1e309"
            return resp

    app.faults.forced_throttle = True
    with SimServer(Garbage()) as server:
        with pytest.raises(DeliveryError) as exc:
            run(lambda conn: conn.pull("order", None, 10), server, clock)
    # The unusable header is ignored: the documented 0.0167/s plan decides the wait (about a minute).
    assert exc.value.category == Category.RATE_LIMIT and exc.value.retry_after == pytest.approx(1 / 0.0167, rel=0.01)


# ---------------------------------------------------------------- auth


def test_access_token_is_cached_until_expiry_then_refreshed(clock):
    app = make_app(clock, token_lifetime=3600)
    app.place_order([("MUG-WHITE", 1)])
    with SimServer(app) as server:
        async def go(conn):
            await conn.pull("order", None, 10)
            await conn.pull("inventory", None, 10)
            grants = app.token_grants
            clock.advance(3600)
            await conn.pull("inventory", None, 10)
            return grants

        assert run(go, server, clock) == 1
        assert app.token_grants == 2
        token_posts = [q for m, p, q in app.requests if p == "/auth/o2/token"]
        assert len(token_posts) == 2


def test_a_token_refused_before_its_time_is_exchanged_again(app, server, clock):
    async def go(conn):
        before = await conn.check_auth()
        app.expire_tokens()  # revoked or expired early at Amazon's end
        page = await conn.pull("inventory", None, 10)
        return before, page

    before, page = run(go, server, clock)
    assert "ATVPDKIKX0DER" in before and app.token_grants == 2 and page.has_more is False


@pytest.mark.parametrize("secret, hint", [('{"refresh_token": "bad-token", "client_secret": "s"}', "invalid_grant"),
                                          ('{"refresh_token": "r", "client_secret": "bad-secret"}', "client secret")])
def test_refused_credentials_are_auth_errors_without_the_secret(app, server, clock, secret, hint):
    with pytest.raises(DeliveryError) as exc:
        run(lambda conn: conn.check_auth(), server, clock, secret=secret)
    assert exc.value.category == Category.AUTH and hint in str(exc.value)
    assert "bad-secret" not in str(exc.value) and "bad-secret" not in (exc.value.response_excerpt or "")


def test_a_refused_access_token_is_auth(app, server, clock):
    class Refuses:
        name, faults = "amazon", app.faults

        def handle(self, request: Request) -> Response:
            resp = app.handle(request)
            if request.path.startswith("/orders"):
                return Response(403, {"errors": [{"code": "Unauthorized", "message": "Access to requested resource "
                                                  "is denied.", "details": "The access token you provided has expired."}]})
            return resp

    with SimServer(Refuses()) as srv:
        with pytest.raises(DeliveryError) as exc:
            run(lambda conn: conn.pull("order", None, 10), srv, clock)
    assert exc.value.category == Category.AUTH and exc.value.status == 403
    assert app.token_grants == 2  # one fresh token tried before believing the refusal


# ---------------------------------------------------------------- outages and garbage


def test_outages_are_unavailable(app, server, clock):
    app.faults.forced_outage = True
    with pytest.raises(DeliveryError) as exc:
        run(lambda conn: conn.pull("order", None, 10), server, clock)
    assert exc.value.category == Category.UNAVAILABLE and exc.value.status == 503
    app.faults.forced_outage = False
    app.server_errors = 1
    with pytest.raises(DeliveryError) as exc:
        run(lambda conn: conn.push("inventory", deliveries([stock("MUG-WHITE", 1)])), server, clock)
    assert exc.value.category == Category.UNAVAILABLE and exc.value.maybe_applied  # a 500 after a write
    conn_url = server.url
    server.go_down()
    with pytest.raises(DeliveryError) as exc:
        run(lambda conn: conn.pull("inventory", None, 10), server, clock)
    assert exc.value.category == Category.UNAVAILABLE and conn_url


def test_an_html_answer_is_malformed(app, server, clock):
    class Html:
        name, faults = "amazon", app.faults

        def handle(self, request: Request) -> Response:
            if request.path.startswith("/fba"):
                return Response(200, "<html>oops</html>", content_type="text/html")
            return app.handle(request)

    with SimServer(Html()) as srv:
        with pytest.raises(DeliveryError) as exc:
            run(lambda conn: conn.pull("inventory", None, 10), srv, clock)
    assert exc.value.category == Category.MALFORMED


def test_secret_forms(app, server, clock):
    # A plain secret is the refresh token alone (the simulator, like an LWA app without a secret).
    assert "OK" in run(lambda conn: conn.check_auth(), server, clock, secret="Atzr|plain")
    with pytest.raises(DeliveryError) as exc:
        run(lambda conn: conn.check_auth(), server, clock, secret='{"client_secret": "x"}')
    assert exc.value.category == Category.AUTH and "refresh_token" in str(exc.value)
    with pytest.raises(DeliveryError) as exc:
        run(lambda conn: conn.check_auth(), server, clock, client_id="")
    assert exc.value.category == Category.AUTH and "client_id" in str(exc.value)
    assert json.loads(SECRET)["refresh_token"]


# ---------------------------------------------------------------- reconciliation reads


def test_levels_are_read_back_for_reconciliation(clock):
    app = make_app(clock, fba={"TSHIRT-RED-M": 4, "MUG-WHITE": 9})
    with SimServer(app) as server:
        async def go(conn):
            await conn.push("inventory", deliveries([stock("MUG-WHITE", 6)]))
            return await conn.read_levels({("MUG-WHITE", "DEFAULT"), ("NOT-LISTED", "DEFAULT"),
                                           ("TSHIRT-RED-M", "amazon-fba"), ("NOPE", "amazon-fba"),
                                           ("MUG-WHITE", "elsewhere")})

        levels = run(go, server, clock)
    assert levels == {("MUG-WHITE", "DEFAULT"): 6, ("TSHIRT-RED-M", "amazon-fba"): 4}


@pytest.mark.parametrize("value, rate", [("0.0167", 0.0167), ("5", 5.0), (" 2.0 ", 2.0), ("nan", None), ("-1", None),
                                         ("0", None), ("1e309", None), ("inf", None), ("lots", None), ("", None),
                                         (None, None), ("99999999", None)])
def test_rate_header_is_read_strictly(value, rate):
    from syncops.connectors.amazon_rates import header_rate

    assert header_rate(value) == rate


def test_a_write_whose_answer_is_cut_short_may_have_applied(app, server, clock):
    app.faults.plan.truncated_body = 1.0
    try:
        with pytest.raises(DeliveryError) as exc:
            run(lambda conn: conn.push("inventory", deliveries([stock("MUG-WHITE", 8)])), server, clock)
    finally:
        app.faults.plan.truncated_body = 0.0
    # The token exchange's answer was cut short too, so nothing was sent: not applied.
    assert exc.value.category == Category.MALFORMED and not exc.value.maybe_applied
    app.faults.plan.truncated_body = 0.0

    async def go(conn):
        await conn.check_auth()  # token cached, now only the patch answer is cut
        app.faults.plan.truncated_body = 1.0
        return await conn.push("inventory", deliveries([stock("MUG-WHITE", 8)]))

    with pytest.raises(DeliveryError) as exc:
        run(go, server, clock)
    app.faults.plan.truncated_body = 0.0
    assert exc.value.category == Category.MALFORMED and exc.value.maybe_applied
    assert app.quantity("MUG-WHITE") == 8  # it was applied: the engine treats the outcome as unknown
