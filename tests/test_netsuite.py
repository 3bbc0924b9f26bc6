"""NetSuite connector against the NetSuite simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from syncops.connectors.base import Delivery
from syncops.connectors.errors import DeliveryError
from syncops.connectors.netsuite import NetSuiteConnector
from syncops.connectors.netsuite_auth import SIM_CREDENTIALS, base_string
from syncops.connectors.netsuite_records import external_id
from syncops.models import validate_payload
from syncops.simulator import netsuite as sim
from syncops.simulator.faults import Faults
from syncops.simulator.http import SimServer
from syncops.store.categories import Category

SECRET = json.dumps(SIM_CREDENTIALS)
ITEMS = {"TSHIRT-RED-M": "19.99", "MUG-WHITE": "12.50", "CAP-BLK": "15.00"}
OPTIONS = {"account_id": sim.ACCOUNT, "adjustment_account": "5000", "default_customer": "1"}


@pytest.fixture
def app(clock):
    return sim.NetSuiteApp(Faults(clock=clock), clock, items=ITEMS, locations=["Main Warehouse", "Store 1"])


@pytest.fixture
def server(app):
    with SimServer(app) as srv:
        yield srv


def connector(server: SimServer, clock: Any, secret: str = SECRET, **options: Any) -> NetSuiteConnector:
    return NetSuiteConnector(server.url, secret, clock=clock, options={**OPTIONS, **options})


def run(fn: Any, server: SimServer, clock: Any, secret: str = SECRET, **options: Any) -> Any:
    async def go() -> Any:
        conn = connector(server, clock, secret, **options)
        try:
            return await fn(conn)
        finally:
            await conn.aclose()
    return asyncio.run(go())


async def pull_all(conn, entity, cursor, limit=100):
    changes, pages = [], 0
    while True:
        page = await conn.pull(entity, cursor, limit)
        changes += page.changes
        cursor, pages = page.cursor, pages + 1
        if not page.has_more:
            return changes, cursor, pages


def order(number: str = "WEB-1001", email: str | None = "ada@example.com", qty: int = 2, **kw: Any) -> dict:
    lines = kw.pop("lines", [{"sku": "TSHIRT-RED-M", "quantity": qty, "unit_price": "19.99"},
                             {"sku": "MUG-WHITE", "quantity": 1, "unit_price": "12.50"}])
    total = sum(float(li["quantity"]) * float(li["unit_price"]) for li in lines) + float(kw.get("shipping", 0))
    payload = {"order_number": number, "channel": "web", "status": "paid", "placed_at": "2024-05-01T10:00:00Z",
               "currency": "USD", "lines": lines, "total": f"{total:.2f}",
               "customer": {"name": "Ada Lovelace", "email": email} if email else None, **kw}
    validate_payload("order", payload)
    return payload


def level(sku: str, available: int, location: str = "Main Warehouse") -> dict:
    payload = {"sku": sku, "location_id": location, "available": available, "changed_at": "2024-05-01T10:00:00Z"}
    validate_payload("inventory", payload)
    return payload


def delivery(payload: dict, key: str, entity_key: str, record_id: int = 1, **kw: Any) -> Delivery:
    return Delivery(record_id=record_id, delivery_key=key, entity_key=entity_key, payload=payload, **kw)


def suiteql(app) -> list[str]:
    return [q for m, p, q in app.requests if p.endswith("/suiteql")]


# ---------------------------------------------------------------- signing


def test_signature_base_string_is_rfc_5849s_example():
    # RFC 5849 section 3.4.1.1: query and body parameters, repeated names, encoded values.
    params = [("b5", "=%3D"), ("a3", "a"), ("c@", ""), ("a2", "r b"), ("c2", ""), ("a3", "2 q"),
              ("oauth_consumer_key", "9djdj82h48djs9d2"), ("oauth_token", "kkk9d7dh3k39sjv7"),
              ("oauth_signature_method", "HMAC-SHA1"), ("oauth_timestamp", "137131201"),
              ("oauth_nonce", "7d8f3e4a")]
    assert base_string("post", "http://EXAMPLE.COM:80/request", params) == (
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540"
        "%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method"
        "%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7")


def test_simulator_verifies_the_signature_and_a_wrong_token_secret_is_auth(app, server, clock):
    assert "SIM1234567" in run(lambda c: c.check_auth(), server, clock)
    wrong = json.dumps({**SIM_CREDENTIALS, "token_secret": "feedfacefeedface"})
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.check_auth(), server, clock, secret=wrong)
    assert err.value.category is Category.AUTH and err.value.status == 401
    assert err.value.vendor_code == "INVALID_LOGIN" and "Signature mismatch" in str(err.value)
    for text in (str(err.value), err.value.response_excerpt or ""):
        assert "feedfacefeedface" not in text and SIM_CREDENTIALS["consumer_secret"] not in text


def test_a_signature_covers_the_query_and_a_nonce_is_used_once(app, server, clock):
    import httpx

    conn = connector(server, clock)
    url = f"{server.url}/services/rest/query/v1/suiteql"
    signed = conn.auth.header("POST", url, [("limit", "1"), ("offset", "0")])
    body = {"q": "SELECT id, name FROM subsidiary"}
    headers = {"Authorization": signed, "Prefer": "transient"}
    tampered = httpx.post(url, params={"limit": "2", "offset": "0"}, json=body, headers=headers)
    assert tampered.status_code == 401 and "Signature mismatch" in tampered.text
    first = httpx.post(url, params={"limit": "1", "offset": "0"}, json=body, headers=headers)
    again = httpx.post(url, params={"limit": "1", "offset": "0"}, json=body, headers=headers)
    assert first.status_code == 200 and again.status_code == 401 and "Nonce reused" in again.text


def test_a_secret_in_the_wrong_shape_is_auth_without_echoing_it(app, server, clock):
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.check_auth(), server, clock, secret="only:three:parts-secretvalue")
    assert err.value.category is Category.AUTH and "secretvalue" not in str(err.value)
    # The colon form works as well as JSON.
    colon = ":".join(SIM_CREDENTIALS[k] for k in ("consumer_key", "consumer_secret", "token_id", "token_secret"))
    assert "SIM1234567" in run(lambda c: c.check_auth(), server, clock, secret=colon)


# ---------------------------------------------------------------- reads


def test_orders_read_by_suiteql_with_keyset_pages_across_one_timestamp(app, server, clock):
    t = clock() - 100
    ids = [app.add_transaction("SalesOrd", [("TSHIRT-RED-M", 2, "19.99"), ("MUG-WHITE", 1, "12.50")],
                               email="ada@example.com", modified=t)]
    ids += [app.add_transaction("SalesOrd", [("CAP-BLK", 1, "15.00")], modified=t + 5) for _ in range(4)]
    changes, cursor, pages = run(lambda c: pull_all(c, "order", None, 2), server, clock)
    # Four orders share one second and pages of 2 split them: each comes exactly once, in order.
    assert pages == 3 and [c.source_payload["row"]["id"] for c in changes] == [str(i) for i in ids]
    first = validate_payload("order", changes[0].payload)
    assert first.customer.email == "ada@example.com" and str(first.total) == "52.48"
    assert [(li.sku, li.quantity) for li in first.lines] == [("TSHIRT-RED-M", 2), ("MUG-WHITE", 1)]
    assert all(c.entity_key == c.payload["order_number"] for c in changes)
    assert "t.lastmodifieddate = TO_TIMESTAMP(" in suiteql(app)[-2]

    later = app.add_transaction("SalesOrd", [("MUG-WHITE", 3, "12.50")], modified=t + 5)  # same second, new id
    app.touch(ids[0], t + 50)  # edited in NetSuite
    now = app.add_transaction("SalesOrd", [("MUG-WHITE", 1, "12.50")])  # this very second: not over yet
    again, cursor, _ = run(lambda c: pull_all(c, "order", cursor, 2), server, clock)
    assert [c.source_payload["row"]["id"] for c in again] == [str(later), str(ids[0])]
    clock.advance(3)
    last, _, _ = run(lambda c: pull_all(c, "order", cursor, 2), server, clock)
    assert [c.source_payload["row"]["id"] for c in last] == [str(now)]
    assert again[1].idempotency_key != changes[0].idempotency_key  # a new version of the same order


def test_return_authorizations_read_with_their_order_number(app, server, clock):
    so = app.add_transaction("SalesOrd", [("MUG-WHITE", 2, "12.50")], tranid="SO77")
    app.add_transaction("RtnAuth", [("MUG-WHITE", 1, "12.50")], created_from=so, tranid="RA5")
    clock.advance(3)  # read once its modification second is over
    changes, _, _ = run(lambda c: pull_all(c, "return", None), server, clock)
    ret = validate_payload("return", changes[0].payload)
    assert len(changes) == 1 and (ret.return_number, ret.order_number, str(ret.total)) == ("RA5", "SO77", "12.50")


def test_inventory_read_in_keyset_passes_and_only_changes_are_new(app, server, clock):
    changes, cursor, pages = run(lambda c: pull_all(c, "inventory", None, 4), server, clock)
    assert pages == 2 and len(changes) == 6  # 3 items x 2 locations
    assert {c.entity_key for c in changes} >= {"MUG-WHITE@Store 1", "CAP-BLK@Main Warehouse"}
    assert all(validate_payload("inventory", c.payload).available == 20 for c in changes)
    calls = len(suiteql(app))
    assert run(lambda c: c.pull("inventory", cursor, 4), server, clock).changes == []  # pass is recent
    assert len(suiteql(app)) == calls
    clock.advance(301)
    app.set_level("MUG-WHITE", "Store 1", 7)
    again, _, _ = run(lambda c: pull_all(c, "inventory", cursor, 4), server, clock)
    fresh = [c for c in again if c.idempotency_key not in {x.idempotency_key for x in changes}]
    assert [(c.entity_key, c.payload["available"]) for c in fresh] == [("MUG-WHITE@Store 1", 7)]


def test_a_malformed_suiteql_answer_is_malformed(app, server, clock):
    app.faults.plan.truncated_body = 1.0
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.pull("order", None, 10), server, clock)
    assert err.value.category is Category.MALFORMED


# ---------------------------------------------------------------- writes


def test_order_upserted_by_external_id_a_replay_applies_once(app, server, clock):
    d = delivery(order(), "k1", "WEB-1001")
    [first] = run(lambda c: c.push("order", [d]), server, clock)
    assert first.error is None and first.status == 204
    [so] = app.of_type("salesOrder")
    assert first.target_ref == str(so["id"]) and so["externalid"] == "syncops-so-WEB-1001"
    assert app.customers[so["entity"]]["email"] == "ada@example.com"  # found by e-mail
    assert [(ln["item"], ln["quantity"], ln["rate"]) for ln in so["lines"]] == [
        (app.item_id("TSHIRT-RED-M"), 2.0, 19.99), (app.item_id("MUG-WHITE"), 1.0, 12.5)]
    # The answer was lost: the same record again (and a reclaimed copy) upserts the same sales order.
    replay = delivery(order(), "k1", "WEB-1001", outcome_unknown=True)
    [second] = run(lambda c: c.push("order", [replay, replay]), server, clock)[:1]
    assert second.error is None and second.target_ref == first.target_ref and second.note
    # A new version of the order (edited at the source) updates it instead of creating another.
    [third] = run(lambda c: c.push("order", [delivery(order(qty=5), "k2", "WEB-1001")]), server, clock)
    assert third.target_ref == first.target_ref and len(app.of_type("salesOrder")) == 1
    assert external_id("so", "#1001") != external_id("so", "1001")  # unsafe characters never collide
    import httpx

    shown = httpx.get(f"{server.url}/_sim/state").json()["records"]
    assert [(r["externalid"], r["writes"]) for r in shown] == [("syncops-so-WEB-1001", 4)]
    assert app.of_type("salesOrder")[0]["lines"][0]["quantity"] == 5.0


def test_validation_errors_fail_only_their_record_and_name_the_field(app, server, clock):
    bad_sku = delivery(order("WEB-2", lines=[{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]), "a", "WEB-2", 1)
    no_customer = delivery(order("WEB-3", email=None), "b", "WEB-3", 2)
    good = delivery(order("WEB-4"), "c", "WEB-4", 3)
    results = run(lambda c: c.push("order", [bad_sku, no_customer, good]), server, clock, default_customer="999")
    assert results[0].error.category is Category.VALIDATION and "NOPE" in results[0].error.message
    # NetSuite itself refuses the unknown customer: 400 INVALID_KEY_OR_REF at o:errorPath "entity".
    err = results[1].error
    assert err.category is Category.VALIDATION and err.vendor_code == "INVALID_KEY_OR_REF"
    assert "(field entity)" in err.message
    assert results[2].error is None and [r["externalid"] for r in app.of_type("salesOrder")] == ["syncops-so-WEB-4"]


def test_return_as_credit_memo_and_settlement_as_balanced_journal_entry(app, server, clock):
    ret = {"return_number": "RET-1", "order_number": "WEB-1001", "created_at": "2024-05-03T10:00:00Z",
           "currency": "USD", "customer": {"email": "ada@example.com"}, "refund_method": "card", "total": "12.50",
           "lines": [{"sku": "MUG-WHITE", "quantity": 1, "refund_amount": "12.50", "restock": True}]}
    validate_payload("return", ret)
    [r] = run(lambda c: c.push("return", [delivery(ret, "r1", "RET-1")]), server, clock)
    assert r.error is None and app.of_type("creditMemo")[0]["externalid"] == "syncops-cm-RET-1"
    payout = {"payout_id": "po_1", "processor": "shopify_payments", "currency": "USD",
              "paid_at": "2024-05-04T00:00:00Z", "gross": "100.00", "fees": "3.20", "net": "96.80",
              "accounts": {"sales": "4000", "refunds": "4010", "fees": "6100", "clearing": "1100", "bank": "1000"}}
    validate_payload("settlement", payout)
    [s] = run(lambda c: c.push("settlement", [delivery(payout, "s1", "po_1")]), server, clock)
    assert s.error is None
    [je] = app.of_type("journalEntry")
    debit = sum(float(ln["debit"] or 0) for ln in je["lines"])
    assert je["externalid"] == "syncops-je-po_1" and debit == 100.0 and len(je["lines"]) == 3
    bad = {**payout, "payout_id": "po_2", "accounts": {**payout["accounts"], "bank": "9999"}}
    [b] = run(lambda c: c.push("settlement", [delivery(bad, "s2", "po_2")]), server, clock)
    assert b.error.category is Category.VALIDATION and "9999" in b.error.message


def test_inventory_adjustment_is_the_delta_and_a_replay_applies_once(app, server, clock):
    d = delivery(level("MUG-WHITE", 15), "lvl-1", "MUG-WHITE@Main Warehouse")
    [r] = run(lambda c: c.push("inventory", [d]), server, clock)
    assert r.error is None and app.level("MUG-WHITE", "Main Warehouse") == 15
    [adj] = app.of_type("inventoryAdjustment")
    assert adj["lines"][0]["adjustQtyBy"] == -5 and adj["externalid"] == "syncops-adj-lvl-1"
    app.set_level("MUG-WHITE", "Main Warehouse", 13)  # a sale in NetSuite after our adjustment
    # The answer of the first attempt was lost: the retry recomputes +2, NetSuite says DUP_RCRD.
    [again] = run(lambda c: c.push("inventory", [delivery(level("MUG-WHITE", 15), "lvl-1",
                                                          "MUG-WHITE@Main Warehouse", outcome_unknown=True)]),
                  server, clock)
    assert again.error is None and "DUP_RCRD" in again.note
    assert app.level("MUG-WHITE", "Main Warehouse") == 13 and len(app.of_type("inventoryAdjustment")) == 1


def test_inventory_compare_guard_conflict_and_possible_previous(app, server, clock):
    app.set_level("CAP-BLK", "Store 1", 17)  # someone else moved it from the 20 syncops last sent
    d = delivery(level("CAP-BLK", 12, "Store 1"), "x1", "CAP-BLK@Store 1", expected_previous=level("CAP-BLK", 20))
    [r] = run(lambda c: c.push("inventory", [d]), server, clock)
    assert r.error.category is Category.CONFLICT and "holds 17" in r.error.message
    assert app.level("CAP-BLK", "Store 1") == 17
    # 17 is what an earlier record of ours may have put there: not a conflict, adjust from it.
    d2 = delivery(level("CAP-BLK", 12, "Store 1"), "x2", "CAP-BLK@Store 1", expected_previous=level("CAP-BLK", 20),
                  possible_previous=(level("CAP-BLK", 17),))
    [r2] = run(lambda c: c.push("inventory", [d2]), server, clock)
    assert r2.error is None and app.level("CAP-BLK", "Store 1") == 12
    assert app.of_type("inventoryAdjustment")[-1]["lines"][0]["adjustQtyBy"] == -5


# ---------------------------------------------------------------- limits and failures


def test_in_flight_requests_are_capped_by_options_concurrency(app, server, clock):
    async def go(conn, n):
        tasks = [asyncio.create_task(conn.check_auth()) for _ in range(n)]
        await asyncio.to_thread(app.wait_in_flight, 2)
        for _ in range(20):
            await asyncio.sleep(0)  # let every task reach the semaphore
        held = conn._slots.locked() and not any(t.done() for t in tasks)
        app.hold.set()
        return held, await asyncio.gather(*tasks)

    app.hold.clear()
    held, answers = run(lambda c: go(c, 6), server, clock, concurrency=2)
    assert held and len(answers) == 6 and app.max_in_flight == 2 and app.rejected == 0


def test_beyond_netsuites_limit_is_429_concurrency_limit_exceeded_as_rate_limit(app, server, clock):
    app.concurrency = 2

    async def go(conn):
        tasks = [asyncio.create_task(conn.check_auth()) for _ in range(6)]
        await asyncio.to_thread(app.wait_in_flight, 2)
        done: set = set()
        while len(done) < 4:  # the four beyond NetSuite's limit are refused at once
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        app.hold.set()
        return await asyncio.gather(*tasks, return_exceptions=True), conn.last_call()

    app.hold.clear()
    answers, _ = run(go, server, clock, concurrency=6)
    refused = [a for a in answers if isinstance(a, DeliveryError)]
    assert len(refused) == 4 and app.rejected == 4
    assert all(e.category is Category.RATE_LIMIT and e.vendor_code == "CONCURRENCY_LIMIT_EXCEEDED"
               and e.retry_after == 1.0 for e in refused)


def test_throttle_is_rate_limit_and_the_wait_is_reported(app, server, clock):
    app.faults.forced_throttle = True

    async def go(conn):
        try:
            await conn.pull("order", None, 10)
        except DeliveryError as exc:
            return exc, conn.last_call()

    err, info = run(go, server, clock)
    assert err.category is Category.RATE_LIMIT and info.wait_seconds == 1.0


def test_outage_is_unavailable_and_a_reset_write_may_have_applied(app, server, clock):
    app.faults.forced_outage = True
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.pull("order", None, 10), server, clock)
    assert err.value.category is Category.UNAVAILABLE and err.value.status == 503
    app.faults.forced_outage = False

    async def go(conn):
        await conn.push("order", [delivery(order("WEB-1"), "k1", "WEB-1")])  # lookups are cached now
        app.faults.plan.reset_after_apply = 1.0
        try:
            await conn.push("order", [delivery(order("WEB-2"), "k2", "WEB-2")])
        except DeliveryError as exc:
            return exc

    err = run(go, server, clock)
    assert err.category is Category.UNAVAILABLE and err.maybe_applied
    assert len(app.of_type("salesOrder")) == 2  # it did apply; the externalId upsert makes the retry safe


def test_an_unknown_query_is_refused_netsuite_style(app, server, clock):
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.suiteql("SELECT * FROM everything"), server, clock)
    assert err.value.category is Category.VALIDATION and err.value.vendor_code == "INVALID_PARAMETER"


# ---------------------------------------------------------------- engine + world

WORLD_CONFIG = """
tenants:
  acme:
    endpoints:
      web: {kind: shopify, base_url: simulator, credential: simulator}
      ns: {kind: netsuite, base_url: simulator, credential: simulator,
           options: {default_customer: "1", adjustment_account: "5000"}}
    maps:
      sku: {TSHIRT-RED-M: TSHIRT-RED-M, MUG-WHITE: MUG-WHITE}
      loc: {"Main Warehouse": web}
    flows:
      - {name: web-orders, entity: order, source: web, target: ns, schedule: {every: 0.5s}, sla: 1m,
         retry: {max_attempts: 50, base_delay: 0.05s, max_delay: 0.2s}, mappings: {sku: sku}}
      - {name: ns-stock, entity: inventory, source: ns, target: web, schedule: {every: 0.5s}, sla: 1m,
         mappings: {sku: sku, location: loc}}
"""


def test_engine_orders_into_netsuite_through_an_outage_and_a_restart(tmp_path):
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
    web, ns = world.apps_of("acme", "shopify")[0], world.apps_of("acme", "netsuite")[0]
    store = open_store(f"sqlite:///{tmp_path}/store.db")

    def rows(flow: str) -> list[Any]:
        return queries.list_records(store, RecordFilter(flow=flow), limit=100).rows

    def delivered(flow: str) -> int:
        return sum(1 for r in rows(flow) if r.state == "delivered")

    def engine() -> Engine:
        return Engine(config, store, url_overrides=world.url_overrides, log=EventLog(quiet=True), idle_poll=0.05,
                      control_every=0.1, heartbeat_every=0.5, breaker_cooldown=0.3)

    def breaker() -> str | None:
        state = queries.endpoint_states(store).get(("acme", "ns"))
        return state.breaker if state is not None else None

    async def main() -> None:
        first = engine()
        await first.start()
        try:
            # NetSuite's stock reaches the storefront (Shopify's web location started at 40).
            await until(lambda: web.level("MUG-WHITE", "web") == 20, 20, "NetSuite stock at the web location")
            for _ in range(3):
                web.place_web_order([("MUG-WHITE", 1), ("TSHIRT-RED-M", 2)])
            await until(lambda: delivered("web-orders") == 3, 20, "three orders in NetSuite")
            ns.faults.forced_outage = True
            for _ in range(3):
                web.place_web_order([("MUG-WHITE", 1)])
            await until(lambda: breaker() == "open", 20, "NetSuite breaker open")
        finally:
            await first.stop(deadline=5)  # a restart with three orders not yet delivered
        assert delivered("web-orders") == 3 and len(rows("web-orders")) == 6
        ns.faults.forced_outage = False
        second = engine()
        await second.start()
        try:
            await until(lambda: delivered("web-orders") == 6, 20, "every order delivered after the restart")
            await until(lambda: breaker() == "closed", 20, "NetSuite breaker closed")
        finally:
            await second.stop(deadline=5)

    try:
        asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        world.stop()
        store.close()
    orders = ns.of_type("salesOrder")
    # Neither lost nor duplicated: one sales order per web order, each named by its externalId.
    assert len(orders) == 6 and len({o["externalid"] for o in orders}) == 6
    assert {o["externalid"] for o in orders} == {external_id("so", r.entity_key) for r in rows("web-orders")}
    assert all(o["externalid"].startswith("syncops-so-100") for o in orders)  # "#1001": readable, hashed


# ---------------------------------------------------------------- OAuth 2.0 machine-to-machine


def _m2m(kind: str = "rsa") -> tuple[Any, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa" else \
        ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return key, json.dumps({"client_id": "sim-m2m-client", "certificate_id": "sim-cert-1", "private_key": pem})


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_machine_to_machine_token_from_a_signed_assertion_is_cached_and_renewed(kind, clock):
    key, secret = _m2m(kind)
    app = sim.NetSuiteApp(Faults(clock=clock), clock, items=ITEMS, m2m_public_key=key.public_key())
    with SimServer(app) as server:
        async def go(conn):
            first = await conn.check_auth()
            await conn.pull("order", None, 10)
            assert app.token_requests == 1  # one token for both calls
            clock.advance(3600)  # the access token has run out
            await conn.check_auth()
            assert app.token_requests == 2
            app.tokens.clear()  # revoked in NetSuite: the 401 drops it and one new token is fetched
            await conn.check_auth()
            return first

        assert "SIM1234567" in run(go, server, clock, secret=secret)
        assert app.token_requests == 3


def test_machine_to_machine_with_the_wrong_key_is_auth_and_the_key_never_shown(clock):
    key, _ = _m2m()
    _, other = _m2m()
    app = sim.NetSuiteApp(Faults(clock=clock), clock, items=ITEMS, m2m_public_key=key.public_key())
    with SimServer(app) as server:
        with pytest.raises(DeliveryError) as err:
            run(lambda c: c.check_auth(), server, clock, secret=other)
    pem_body = json.loads(other)["private_key"].splitlines()[1]
    assert err.value.category is Category.AUTH and "signature does not verify" in str(err.value)
    assert pem_body not in str(err.value) and pem_body not in (err.value.response_excerpt or "")
