"""WooCommerce simulator and connector, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import pytest

from syncops.connectors.base import Delivery
from syncops.connectors.errors import DeliveryError
from syncops.connectors.woocommerce import WooCommerceConnector, verify_webhook
from syncops.models import validate_payload
from syncops.simulator.faults import Faults
from syncops.simulator.http import SimServer
from syncops.simulator.woocommerce import WooCommerceApp
from syncops.store.categories import Category

from tests.conftest import FakeClock

SECRET = "ck_0123456789abcdef:cs_fedcba9876543210"


@pytest.fixture
def app(clock: FakeClock) -> WooCommerceApp:
    return WooCommerceApp(Faults(clock=clock), clock, variable={"TSHIRT": ["TSHIRT-GREEN-S", "TSHIRT-GREEN-M"]})


@pytest.fixture
def server(app: WooCommerceApp):
    with SimServer(app) as srv:
        yield srv


def run(coro_fn, server: SimServer, clock: FakeClock, secret: str = SECRET, **options: Any):
    async def go():
        conn = WooCommerceConnector(server.url, secret, clock=clock, options=options)
        try:
            return await coro_fn(conn)
        finally:
            await conn.aclose()
    return asyncio.run(go())


def stock(sku: str, available: int, location: str = "web") -> dict[str, Any]:
    return {"sku": sku, "location_id": location, "available": available, "on_hand": available,
            "changed_at": "2024-05-01T10:00:00Z", "source_ref": None}


def deliveries(payloads: list[dict[str, Any]]) -> list[Delivery]:
    out = []
    for i, p in enumerate(payloads, start=1):
        validate_payload("inventory", p)
        out.append(Delivery(record_id=i, delivery_key=f"k{i}", entity_key=f"e{i}", payload=p))
    return out


async def drain(conn: WooCommerceConnector, entity: str, cursor: str | None, limit: int):
    changes = []
    while True:
        page = await conn.pull(entity, cursor, limit)
        changes += page.changes
        cursor = page.cursor
        if not page.has_more:
            return changes, cursor


# ---------------------------------------------------------------- orders


def test_orders_incremental_with_paging(app, server, clock):
    ids = [app.place_order([("MUG-WHITE", 2), ("TSHIRT-RED-M", 1, "19.99", "2.00")], shipping="5.00")
           for _ in range(5)]
    clock.advance(10)

    async def scenario(conn: WooCommerceConnector):
        first, cursor = await drain(conn, "order", None, 2)
        again, cursor2 = await drain(conn, "order", cursor, 2)
        clock.advance(5)
        app.update_order(ids[1], status="completed")
        later, _ = await drain(conn, "order", cursor2, 2)
        return first, again, later

    first, again, later = run(scenario, server, clock)
    assert [c.entity_key for c in first] == [str(i) for i in ids]
    for c in first:
        validate_payload("order", c.payload)
    p = first[0].payload
    assert p["shipping"] == "5.00" and p["lines"][1]["discount"] == "2.00" and p["channel"] == "woocommerce"
    assert p["taxes"][0]["rate"] == "0.0825"
    # The last second is re-read (modified_after is exclusive): same keys, which the engine drops.
    assert {c.idempotency_key for c in again} <= {c.idempotency_key for c in first}
    assert [c.entity_key for c in later if c.payload["status"] == "completed"] == [str(ids[1])]
    gets = [r for r in app.requests if r == ("GET", "orders")]
    assert len(gets) >= 3


def test_restart_mid_pass_rereads_without_loss_or_new_keys(app, server, clock):
    for _ in range(5):
        app.place_order([("MUG-WHITE", 1)])
    clock.advance(3)

    async def scenario(conn: WooCommerceConnector):
        page1 = await conn.pull("order", None, 2)  # the engine stores page 1 and its cursor ...
        rest, _ = await drain(conn, "order", page1.cursor, 2)
        # ... or crashes before storing the cursor and re-reads from the old one.
        replay, _ = await drain(conn, "order", None, 2)
        return page1.changes + rest, replay

    once, replay = run(scenario, server, clock)
    assert len({c.entity_key for c in once}) == 5 and len(once) == 5
    assert [c.idempotency_key for c in replay] == [c.idempotency_key for c in once]


def test_order_modified_during_a_pass_is_not_lost(app, server, clock):
    ids = [app.place_order([("MUG-WHITE", 1)]) for _ in range(4)]
    clock.advance(3)

    async def scenario(conn: WooCommerceConnector):
        page1 = await conn.pull("order", None, 2)
        clock.advance(2)
        app.update_order(ids[0], status="cancelled")  # already read on page 1
        clock.advance(2)
        app.update_order(ids[3], status="completed")  # read later in the pass, modified later
        rest, cursor = await drain(conn, "order", page1.cursor, 2)
        assert any(c.payload["status"] == "completed" for c in rest)
        clock.advance(2)
        nxt, _ = await drain(conn, "order", cursor, 2)
        return nxt

    nxt = run(scenario, server, clock)
    assert any(c.entity_key == str(ids[0]) and c.payload["status"] == "cancelled" for c in nxt)


def test_pass_ends_when_trashed_orders_leave_the_cursor_past_the_last_page(app, server, clock):
    ids = [app.place_order([("MUG-WHITE", 1)]) for _ in range(3)]
    clock.advance(3)

    async def scenario(conn: WooCommerceConnector):
        page1 = await conn.pull("order", None, 2)
        del app.orders[ids[2]]  # trashed: the pass now has one page
        page2 = await conn.pull("order", page1.cursor, 2)
        return page2

    page2 = run(scenario, server, clock)
    assert not page2.has_more and json.loads(page2.cursor)["page"] == 1


def test_trash_during_a_pass_restarts_it_so_shifted_rows_are_not_skipped(app, server, clock):
    ids = [app.place_order([("MUG-WHITE", 1)]) for _ in range(5)]
    clock.advance(3)

    async def scenario(conn: WooCommerceConnector):
        page1 = await conn.pull("order", None, 2)
        del app.orders[ids[0]]  # ids[2] moves onto page 1
        rest, _ = await drain(conn, "order", page1.cursor, 2)
        return rest

    rest = run(scenario, server, clock)
    assert {str(i) for i in ids[2:]} <= {c.entity_key for c in rest}


# ---------------------------------------------------------------- refunds


def test_refunds_pull_as_returns(app, server, clock):
    oid = app.place_order([("MUG-WHITE", 2), ("TSHIRT-RED-M", 1)])
    app.place_order([("MUG-WHITE", 1)])  # no refund: skipped
    rid = app.refund(oid, [("MUG-WHITE", 1)], api_refund=True)

    changes, cursor = run(lambda c: drain(c, "return", None, 10), server, clock, refund_restock=True)
    assert len(changes) == 1
    ret = changes[0]
    validate_payload("return", ret.payload)
    assert ret.idempotency_key == f"wc:return:{rid}"
    assert ret.payload["return_number"] == f"{oid}-R{rid}"
    assert ret.payload["lines"] == [{"sku": "MUG-WHITE", "quantity": "1", "refund_amount": "13.53", "restock": True}]
    assert ret.payload["refund_method"] == "stripe" and ret.payload["total"] == "13.53"
    again, _ = run(lambda c: drain(c, "return", cursor, 10), server, clock)
    assert [c.idempotency_key for c in again] in ([], [ret.idempotency_key])


# ---------------------------------------------------------------- stock


def test_stock_push_batches_products_and_variations(app, server, clock):
    batch = deliveries([stock("MUG-WHITE", 7), stock("TSHIRT-GREEN-M", 3), stock("TSHIRT-GREEN-S", 0),
                        stock("NOPE", 1)])
    results = run(lambda c: c.push("inventory", batch), server, clock)
    assert [r.error is None for r in results] == [True, True, True, False]
    assert results[3].error.category == Category.MAPPING
    assert app.stock_level("MUG-WHITE") == 7 and app.stock_level("TSHIRT-GREEN-M") == 3
    assert app.stock_level("TSHIRT-GREEN-S") == 0
    posts = [r for r in app.requests if r[0] == "POST"]
    assert ("POST", "products/batch") in posts and len(posts) == 2
    assert any(p.endswith("/variations/batch") for _, p in posts)
    # absolute values: a repeat leaves the store where one delivery did
    run(lambda c: c.push("inventory", batch[:1]), server, clock)
    assert app.stock_level("MUG-WHITE") == 7


def test_batch_per_item_error_and_location_guard(app, server, clock):
    bad = {"sku": "MUG-WHITE", "location_id": "web", "available": 2, "on_hand": 2,
           "changed_at": "2024-05-01T10:00:00Z", "source_ref": None}
    batch = deliveries([bad, stock("TSHIRT-RED-M", 4, location="store-1")])

    async def scenario(conn: WooCommerceConnector):
        await conn._resolve({"MUG-WHITE"})
        conn._catalog["MUG-WHITE"] = (999, None)  # deleted behind our back: the batch reports the item
        return await conn.push("inventory", batch)

    results = run(scenario, server, clock, stock_location="web")
    assert results[0].error.category == Category.VALIDATION
    assert "woocommerce_rest_product_invalid_id" in results[0].error.message
    assert results[1].error.category == Category.MAPPING


def test_batch_limit_in_simulator(app, server):
    import httpx

    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()
    body = {"update": [{"id": 11, "stock_quantity": 1}] * 101}
    resp = httpx.post(f"{server.url}/wp-json/wc/v3/products/batch", json=body, headers={"Authorization": auth})
    assert resp.status_code == 413 and resp.json()["code"] == "woocommerce_rest_request_entity_too_large"


# ---------------------------------------------------------------- failures


def test_rate_limit_retry_after_is_honoured(app, server, clock):
    app.faults.forced_throttle = True

    async def scenario(conn: WooCommerceConnector):
        with pytest.raises(DeliveryError) as err:
            await conn.pull("order", None, 10)
        return err.value, conn.last_call()

    err, info = run(scenario, server, clock)
    assert err.category == Category.RATE_LIMIT and err.retry_after == 1.0 and info.wait_seconds == 1.0


def test_auth_failure(server, clock):
    async def scenario(conn: WooCommerceConnector):
        with pytest.raises(DeliveryError) as err:
            await conn.check_auth()
        return err.value

    err = run(scenario, server, clock, secret="ck_bad:cs_x")
    assert err.category == Category.AUTH and err.status == 401
    assert err.vendor_code == "woocommerce_rest_authentication_error" and "cs_x" not in (err.response_excerpt or "")
    assert run(scenario, server, clock, secret="no-colon").category == Category.AUTH
    ok = run(lambda c: c.check_auth(), server, clock, query_auth=True)
    assert "OK" in ok


def test_plain_http_is_refused_off_loopback(clock):
    conn = WooCommerceConnector("http://shop.example.com", SECRET, clock=clock)
    with pytest.raises(DeliveryError) as err:
        asyncio.run(conn.check_auth())
    assert err.value.category == Category.AUTH and "HTTPS" in err.value.message
    assert conn.base_url == "http://shop.example.com/wp-json/wc/v3"


def test_validation_error(app, server, clock):
    async def scenario(conn: WooCommerceConnector):
        with pytest.raises(DeliveryError) as err:
            await conn._request("GET", "orders", params={"per_page": 500})
        return err.value

    err = run(scenario, server, clock)
    assert err.category == Category.VALIDATION and err.vendor_code == "rest_invalid_param"


def test_outage_and_malformed(app, server, clock):
    app.faults.forced_outage = True
    err = run(lambda c: _raises(c.pull("order", None, 10)), server, clock)
    assert err.category == Category.UNAVAILABLE and err.status == 503
    app.faults.forced_outage = False
    server.go_down()
    err = run(lambda c: _raises(c.pull("order", None, 10)), server, clock)
    assert err.category == Category.UNAVAILABLE and not err.maybe_applied
    server.come_up()
    app.faults.plan.truncated_body = 1.0
    app.place_order([("MUG-WHITE", 1)])
    err = run(lambda c: _raises(c.pull("order", None, 10)), server, clock)
    assert err.category == Category.MALFORMED


async def _raises(coro) -> DeliveryError:
    with pytest.raises(DeliveryError) as err:
        await coro
    return err.value


# ---------------------------------------------------------------- webhooks


def test_webhook_signature():
    raw = json.dumps({"id": 1, "status": "processing"}).encode()
    sig = base64.b64encode(hmac.new(b"whsec", raw, hashlib.sha256).digest()).decode()
    assert verify_webhook(raw, sig, "whsec")
    assert not verify_webhook(raw + b" ", sig, "whsec")
    assert not verify_webhook(raw, None, "whsec")


def test_intake_verifier_for_woocommerce():
    from syncops.intake import verify

    raw = b'{"id": 7}'
    sig = base64.b64encode(hmac.new(b"whsec", raw, hashlib.sha256).digest()).decode()
    headers = {"x-wc-webhook-signature": sig, "x-wc-webhook-delivery-id": "d-1", "x-wc-webhook-topic": "order.updated"}
    got = verify.woocommerce(raw, headers, "whsec")
    assert got.event_id == "d-1" and got.topic == "order.updated" and got.body == {"id": 7}
    for changed, reason in (({"x-wc-webhook-signature": "AAAA"}, verify.FORGED),
                            ({"x-wc-webhook-signature": ""}, verify.UNSIGNED),
                            ({"x-wc-webhook-delivery-id": ""}, verify.MALFORMED)):
        with pytest.raises(verify.Refused) as err:
            verify.woocommerce(raw, {**headers, **changed}, "whsec")
        assert err.value.reason == reason and "whsec" not in str(err.value)


# ---------------------------------------------------------------- engine + world

WORLD_CONFIG = """
tenants:
  acme:
    endpoints:
      woo: {kind: woocommerce, base_url: simulator, credential: simulator,
            options: {order_location: web, stock_location: web}}
      erp: {kind: odoo, base_url: simulator, credential: simulator}
      pos: {kind: square, base_url: simulator, credential: simulator}
    maps:
      sku: {TSHIRT-RED-M: TSHIRT-RED-M, MUG-WHITE: MUG-WHITE}
      tax: {"US-IL-TAX-1": "Tax 8.25%"}
      erp_location: {web: WH/Stock}
      to_woo_location: {L1STORE: web}
      erp_payment: {stripe: Bank}
      woo_status: {processing: sale}
    flows:
      - {name: woo-orders, entity: order, source: woo, target: erp, schedule: {every: 1s}, sla: 1m,
         mappings: {sku: sku, tax_code: tax, location: erp_location, payment_method: erp_payment,
                    order_status: woo_status}}
      - {name: woo-stock, entity: inventory, source: pos, target: woo, schedule: {every: 1s}, sla: 1m,
         mappings: {sku: sku, location: to_woo_location}}
"""


def test_engine_reads_woo_orders_and_writes_stock(tmp_path):
    from syncops.config import load_config
    from syncops.engine.events import EventLog
    from syncops.engine.runtime import Engine
    from syncops.simulator.world import World
    from syncops.store import queries
    from syncops.store.db import open_store
    from syncops.store.filters import RecordFilter

    from tests.engine.harness import until

    path = tmp_path / "syncops.yaml"
    path.write_text(WORLD_CONFIG)
    config = load_config(path, env={})
    world = World(config, profile="calm").start()
    woo = world.apps_of("acme", "woocommerce")[0]
    store = open_store(f"sqlite:///{tmp_path}/store.db")

    def rows(flow: str) -> list[Any]:
        return queries.list_records(store, RecordFilter(flow=flow), limit=100).rows

    async def main() -> None:
        engine = Engine(config, store, url_overrides=world.url_overrides, log=EventLog(quiet=True),
                        idle_poll=0.05, control_every=0.1, heartbeat_every=0.5, breaker_cooldown=0.3)
        await engine.start()
        try:
            oid = woo.place_order([("MUG-WHITE", 2)])
            await until(lambda: any(r.state == "delivered" for r in rows("woo-orders")), 20, "woo order delivered")
            assert [r.entity_key for r in rows("woo-orders")] == [str(oid)]
            await until(lambda: woo.stock_level("MUG-WHITE") is not None, 20, "stock pushed to woo")
            assert all(r.state == "delivered" for r in rows("woo-stock"))
        finally:
            await engine.stop(deadline=5)

    try:
        asyncio.run(asyncio.wait_for(main(), 30))
    finally:
        world.stop()
        store.close()


def test_reconciliation_reads_the_managed_stock_of_products_and_variations(app, server, clock):
    """read_levels walks the catalog afresh (a stock edit in the shop admin shows at once); SKUs
    whose stock WooCommerce does not manage, and other locations than the store's, are absent."""
    async def go(conn):
        await conn.push("inventory", deliveries([stock("MUG-WHITE", 4), stock("TSHIRT-GREEN-M", 9)]))
        next(v for v in app.variations.values() if v["sku"] == "TSHIRT-GREEN-M")["stock_quantity"] = 7
        return await conn.read_levels({("MUG-WHITE", "web"), ("TSHIRT-GREEN-M", "web"), ("TSHIRT-GREEN-S", "web"),
                                       ("MUG-WHITE", "store-2")})
    assert run(go, server, clock, stock_location="web") == {("MUG-WHITE", "web"): 4, ("TSHIRT-GREEN-M", "web"): 7}


def test_fee_lines_become_a_fee_line_or_a_spread_discount_and_the_total_holds(app, server, clock):
    """A gift-wrap fee is one more line (on options.fee_sku); a discount plugin's negative fee is
    taken off the item lines in proportion, to the cent, so the order still validates."""
    wrap = app.place_order([("MUG-WHITE", 2)], fees=[("Gift wrap", "4.50")])
    promo = app.place_order([("MUG-WHITE", 1), ("TSHIRT-GREEN-M", 2)], fees=[("Loyalty discount", "-5.00")])
    page = run(lambda c: c.pull("order", None, 10), server, clock, fee_sku="SVC-FEE")
    orders = {c.payload["order_number"]: validate_payload("order", c.payload) for c in page.changes}
    wrapped = orders[str(wrap)]
    assert [(ln.sku, ln.unit_price) for ln in wrapped.lines][-1] == ("SVC-FEE", Decimal("4.50"))
    assert wrapped.total == Decimal(app.orders[wrap]["total"])
    discounted = orders[str(promo)]
    assert sum(ln.discount for ln in discounted.lines) == Decimal("5.00")
    assert all(ln.discount > 0 for ln in discounted.lines)
    assert discounted.total == Decimal(app.orders[promo]["total"])
