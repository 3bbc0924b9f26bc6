"""The declarative REST connector against the simulated WMS, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from syncops.connectors.base import Delivery
from syncops.connectors.errors import DeliveryError
from syncops.connectors.rest import RestConnector, next_link
from syncops.models import validate_payload
from syncops.simulator.faults import Faults
from syncops.simulator.http import Request, Response, SimServer, json_response
from syncops.simulator.wms import CLIENT_ID, CLIENT_SECRET, WmsApp
from syncops.store.categories import Category

from tests.conftest import FakeClock

KEY = "wms_live_7f3a9c2e"
FIELDS = {"sku": "sku", "location_id": "warehouse", "available": "available", "on_hand": "on_hand",
          "changed_at": "updated_at"}
STOCK_PULL = {"path": "/api/v1/stock", "items": "data",
              "incremental": {"param": "updated_since", "cursor_field": "updated_at"},
              "fields": FIELDS, "idempotency": "join(':', [sku, warehouse, to_string(version)])"}
OPTIONS: dict[str, Any] = {
    "max_wait": "30s",
    "auth": {"type": "api_key", "header": "X-Api-Key"},
    "pagination": {"style": "page", "page_param": "page", "size_param": "per_page", "size": 2,
                   "total_pages": "meta.total_pages"},
    "rate_limit": {"statuses": [429], "remaining_header": "X-RateLimit-Remaining"},
    "errors": {"validation": [400, 404, 422], "conflict": [409], "message": "error.message", "code": "error.code"},
    "check": {"path": "/api/v1/me"},
    "entities": {
        "inventory": {
            "pull": STOCK_PULL,
            "push": {"method": "PUT", "path": "/api/v1/stock/{sku}/{location_id}",
                     "body": {"on_hand": "on_hand", "available": "available"},
                     "idempotency_header": "Idempotency-Key", "id": "join('@', [sku, warehouse])"},
        },
        "order": {"push": {"method": "POST", "path": "/api/v1/shipments",
                           "body": {"reference": "order_number", "lines": "lines[].{sku: sku, quantity: quantity}",
                                    "ship_to": "customer.address"},
                           "idempotency_header": "Idempotency-Key", "id": "id"}},
    },
}
SKUS = ["A-1", "B-2", "C-3", "D-4", "E-5"]


def options(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(OPTIONS)
    for dotted, value in changes.items():
        *head, last = dotted.split("__")
        node = out
        for part in head:
            node = node[part]
        node[last] = value
    return out


@pytest.fixture
def app(clock: FakeClock) -> WmsApp:
    return WmsApp(Faults(clock=clock), clock, skus=SKUS, warehouses=["main"], initial=None)


@pytest.fixture
def server(app: WmsApp):
    with SimServer(app) as srv:
        yield srv


def run(scenario, server: SimServer, clock: FakeClock, opts: dict[str, Any] | None = None, secret: str = KEY):
    async def go():
        conn = RestConnector(server.url, secret, clock=clock, options=opts or OPTIONS)
        try:
            return await scenario(conn)
        finally:
            await conn.aclose()
    return asyncio.run(go())


async def drain(conn: RestConnector, cursor: str | None, entity: str = "inventory"):
    changes, pages = [], 0
    while True:
        page = await conn.pull(entity, cursor, 100)
        changes += page.changes
        cursor, pages = page.cursor, pages + 1
        if not page.has_more:
            return changes, cursor, pages


def stock_changes(app: WmsApp, clock: FakeClock, skus=SKUS, start: int = 10) -> None:
    for n, sku in enumerate(skus):
        clock.advance(1)
        app.set_stock(sku, "main", start + n)


async def raises(coro) -> DeliveryError:
    try:
        await coro
    except DeliveryError as exc:
        return exc
    raise AssertionError("expected a DeliveryError")


def level(sku: str, available: int, location: str = "main") -> dict[str, Any]:
    payload = {"sku": sku, "location_id": location, "available": available, "on_hand": available,
               "changed_at": "2026-05-01T10:00:00Z", "source_ref": None}
    validate_payload("inventory", payload)
    return payload


def order(number: str, sku: str = "A-1", qty: str = "2") -> dict[str, Any]:
    payload = {"order_number": number, "channel": "web", "status": "paid", "placed_at": "2026-05-01T10:00:00Z",
               "currency": "USD", "lines": [{"sku": sku, "quantity": qty, "unit_price": "5.00"}],
               "customer": {"name": "Ada", "address": {"city": "Springfield", "country": "US"}},
               "total": str(5 * int(qty)) + ".00"}
    validate_payload("order", payload)
    return payload


# ---------------------------------------------------------------- reads


def test_page_style_incremental_read_pages_and_then_asks_only_for_newer(app, server, clock):
    stock_changes(app, clock)

    async def scenario(conn: RestConnector):
        first, cursor, pages = await drain(conn, None)
        assert pages == 3  # 5 rows at 2 a page, total_pages from the body
        assert [c.entity_key for c in first] == [f"{s}@main" for s in SKUS]
        assert first[0].payload["available"] == 10 and first[0].payload["on_hand"] == 10
        assert first[0].source_payload["warehouse"] == "main"
        clock.advance(5)
        app.set_stock("B-2", "main", 3)
        again, _, _ = await drain(conn, cursor)
        return first, again

    first, again = run(scenario, server, clock)
    sent = [q for m, p, q in app.requests if p == "/stock"]
    assert "updated_since" not in sent[0] and sent[3]["updated_since"] == [first[-1].source_payload["updated_at"]]
    # The second pass asks from the newest updated_at read (inclusive): E-5 again with the same key
    # (the engine drops it), and the B-2 change with a new one.
    keys = {c.idempotency_key for c in first}
    assert [c.entity_key for c in again] == ["E-5@main", "B-2@main"]
    assert again[0].idempotency_key in keys and again[1].idempotency_key not in keys
    assert again[1].payload["available"] == 3


def test_cursor_style_read_resumes_from_a_stored_cursor_without_loss_or_repeats(app, server, clock):
    stock_changes(app, clock)
    opts = options(pagination={"style": "cursor", "cursor_param": "cursor", "size_param": "limit", "size": 2,
                               "next": "next_cursor"})
    opts["entities"]["inventory"]["pull"] = {**STOCK_PULL, "path": "/api/v1/stock/changes", "items": "items"}

    async def first_page(conn: RestConnector):
        page = await conn.pull("inventory", None, 100)
        assert page.has_more
        return page

    page = run(first_page, server, clock, opts)
    # The engine stored page 1 and its cursor, then died. A new process picks up from the cursor,
    # while the warehouse keeps moving: a row already read changes again.
    clock.advance(1)
    app.set_stock("A-1", "main", 99)

    async def rest(conn: RestConnector):
        return await drain(conn, page.cursor)

    later, cursor, pages = run(rest, server, clock, opts)
    keys = [c.idempotency_key for c in page.changes + later]
    assert len(keys) == len(set(keys)) == 6  # five rows plus A-1's new version, nothing twice
    assert {c.entity_key for c in page.changes + later} == {f"{s}@main" for s in SKUS}
    assert [c.payload["available"] for c in later if c.entity_key == "A-1@main"] == [99]
    assert any("cursor" in q for m, p, q in app.requests if p == "/stock/changes")


def test_link_style_follows_rel_next_on_the_same_origin(app, server, clock):
    stock_changes(app, clock)
    opts = options(pagination={"style": "link", "size_param": "per_page", "size": 2})

    async def scenario(conn: RestConnector):
        return await drain(conn, None)

    changes, _, pages = run(scenario, server, clock, opts)
    assert pages == 3 and [c.entity_key for c in changes] == [f"{s}@main" for s in SKUS]
    assert [q.get("page") for m, p, q in app.requests if p == "/stock"] == [None, ["2"], ["3"]]
    assert next_link('<https://x/a?page=2>; rel="prev", <https://x/a?page=3>; rel="next last"') == \
        "https://x/a?page=3"


def test_offset_style_counts_against_the_total(app, server, clock):
    stock_changes(app, clock)
    opts = options(pagination={"style": "offset", "offset_param": "offset", "size_param": "limit", "size": 2,
                               "total": "meta.total"})

    async def scenario(conn: RestConnector):
        return await drain(conn, None)

    changes, _, pages = run(scenario, server, clock, opts)
    assert pages == 3 and [c.entity_key for c in changes] == [f"{s}@main" for s in SKUS]
    assert [q["offset"] for m, p, q in app.requests if p == "/stock"] == [["0"], ["2"], ["4"]]


def test_a_key_in_the_query_is_kept_out_of_the_stored_cursor(app, server, clock):
    stock_changes(app, clock)
    app.api_keys.add(KEY)
    opts = options(pagination={"style": "link", "size_param": "per_page", "size": 2},
                   auth={"type": "api_key", "query": "key"})
    original = app._authorized
    app._authorized = lambda request: (request.query.get("key") or [""])[0] == KEY or original(request)

    async def scenario(conn: RestConnector):
        page = await conn.pull("inventory", None, 100)
        rest, _, _ = await drain(conn, page.cursor)
        return page, rest

    page, rest = run(scenario, server, clock, opts)
    assert "page=2" in page.cursor and KEY not in page.cursor  # the WMS's Link repeats ?key=...
    assert len(page.changes) + len(rest) == 5


def test_an_item_the_mapping_cannot_read_is_a_validation_error_naming_the_expression(app, server, clock):
    stock_changes(app, clock, ["A-1"])
    opts = options()
    opts["entities"]["inventory"]["pull"]["fields"] = {**FIELDS, "location_id": "site"}

    async def scenario(conn: RestConnector):
        return await raises(conn.pull("inventory", None, 100))

    err = run(scenario, server, clock, opts)
    assert err.category == Category.VALIDATION
    assert "item 0 does not map to a canonical inventory; nothing from location_id ('site')" in err.message
    assert '"sku": "A-1"' in err.message


# ---------------------------------------------------------------- writes


def test_absolute_level_put_with_the_delivery_key_applies_once(app, server, clock):
    d = Delivery(record_id=1, delivery_key="rec-1-v1", entity_key="A-1@main", payload=level("A-1", 7))

    async def scenario(conn: RestConnector):
        first = await conn.push("inventory", [d])
        version = app.stock[("A-1", "main")]["version"]
        # The answer was lost and the record reclaimed: the same key again changes nothing.
        again = await conn.push("inventory", [Delivery(1, "rec-1-v1", "A-1@main", level("A-1", 7),
                                                       outcome_unknown=True)])
        return first, again, version

    first, again, version = run(scenario, server, clock)
    assert first[0].error is None and first[0].target_ref == "A-1@main" and first[0].status == 200
    assert again[0].error is None and app.stock[("A-1", "main")]["version"] == version
    assert app.level("A-1", "main") == 7


def test_orders_become_one_shipment_each_even_when_replayed(app, server, clock):
    ds = [Delivery(1, "o-1001", "1001", order("1001")), Delivery(2, "o-1002", "1002", order("1002", "B-2", "1"))]

    async def scenario(conn: RestConnector):
        results = await conn.push("order", ds)
        replay = await conn.push("order", ds[:1])
        return results, replay

    results, replay = run(scenario, server, clock)
    assert [r.target_ref for r in results] == ["SHP-000001", "SHP-000002"]
    assert replay[0].target_ref == "SHP-000001" and app.shipments_by_reference() == {"1001": 1, "1002": 1}
    shipped = app.shipments["SHP-000001"]
    assert shipped["lines"] == [{"sku": "A-1", "quantity": "2"}] and shipped["ship_to"]["city"] == "Springfield"


def test_vendor_validation_is_per_record_and_names_the_vendor_message(app, server, clock):
    ds = [Delivery(1, "k1", "ZZZ@main", level("ZZZ", 1)), Delivery(2, "k2", "A-1@main", level("A-1", 4))]

    async def scenario(conn: RestConnector):
        return await conn.push("inventory", ds)

    bad, good = run(scenario, server, clock)
    assert bad.error is not None and bad.error.category == Category.VALIDATION and bad.error.status == 422
    assert "validation_failed: sku unknown sku ZZZ" in bad.error.message
    assert good.error is None and app.level("A-1", "main") == 4


def test_duplicate_shipment_without_idempotency_is_a_conflict(app, server, clock):
    opts = options()
    del opts["entities"]["order"]["push"]["idempotency_header"]

    async def scenario(conn: RestConnector):
        await conn.push("order", [Delivery(1, "a", "1001", order("1001"))])
        return await conn.push("order", [Delivery(2, "b", "1001", order("1001"))])

    (res,) = run(scenario, server, clock, opts)
    assert res.error.category == Category.CONFLICT and "duplicate_reference" in res.error.message


# ---------------------------------------------------------------- limits, auth, outages


@pytest.mark.parametrize("header, expected", [("3", 3.0), ("7200", 30.0), ("1e309", None)])
def test_rate_limit_signal_is_honoured_and_clamped_to_max_wait(app, server, clock, header, expected):
    app.throttle_next, app.retry_after = 2, header

    async def scenario(conn: RestConnector):
        pull = await raises(conn.pull("inventory", None, 100))
        push = await raises(conn.push("inventory", [Delivery(1, "k", "A-1@main", level("A-1", 1))]))
        return pull, push, conn.last_call()

    pull, push, info = run(scenario, server, clock)
    for err in (pull, push):
        assert err.category == Category.RATE_LIMIT and err.retry_after == expected
    assert info.wait_seconds == expected and info.remaining == 0
    if header == "7200":
        assert "clamped to 30s" in pull.message
    assert app.level("A-1", "main") is None  # the throttled write was not applied


def test_a_wrong_key_is_auth_and_the_key_never_shows(server, clock):
    async def scenario(conn: RestConnector):
        return await raises(conn.pull("inventory", None, 100)), await raises(conn.check_auth())

    pull, check = run(scenario, server, clock, secret="wms_live_WRONGKEY99")
    assert pull.category == check.category == Category.AUTH and pull.status == 401
    assert "missing or invalid API key" in pull.message


def test_check_auth_makes_the_cheap_get(app, server, clock):
    async def scenario(conn: RestConnector):
        return await conn.check_auth()

    assert run(scenario, server, clock) == f"{server.url}/api/v1/me answered HTTP 200"
    assert app.requests[-1][:2] == ("GET", "/me")


def test_outage_is_unavailable_for_reads_and_writes(app, server, clock):
    app.faults.forced_outage = True

    async def scenario(conn: RestConnector):
        pull = await raises(conn.pull("inventory", None, 100))
        push = await raises(conn.push("inventory", [Delivery(1, "k", "A-1@main", level("A-1", 1))]))
        return pull, push

    pull, push = run(scenario, server, clock)
    assert pull.category == push.category == Category.UNAVAILABLE and push.status == 503
    assert not push.maybe_applied  # a 503 applied nothing: the whole call is refused, the breaker counts it
    server.go_down()
    refused = run(scenario, server, clock)
    assert refused[0].category == Category.UNAVAILABLE and "unreachable" in refused[0].message


class Echo:
    """A vendor that quotes the request back in its errors (some do): the secret must not reach
    the record's excerpt or message."""

    name = "echo"

    def handle(self, request: Request) -> Response:
        return json_response({"error": {"code": "bad", "message": f"no such key {request.header('X-Api-Key')} "
                                        f"or {request.query.get('key')}"}}, 422)


@pytest.mark.parametrize("auth", [{"type": "api_key", "header": "X-Api-Key"}, {"type": "api_key", "query": "key"}])
def test_secrets_are_scrubbed_from_messages_and_excerpts(clock, auth):
    with SimServer(Echo()) as srv:
        async def scenario(conn: RestConnector):
            return await conn.push("inventory", [Delivery(1, "k", "A-1@main", level("A-1", 1))])

        (res,) = run(scenario, srv, clock, options(auth=auth))
    assert res.error.category == Category.VALIDATION
    text = f"{res.error.message} {res.error.response_excerpt} {res.response_excerpt}"
    assert KEY not in text and "***" in text


def test_oauth_client_credentials_token_is_fetched_once_and_renewed_on_refusal(app, server, clock):
    opts = options(auth={"type": "oauth_client_credentials", "token_url": f"{server.url}/oauth/token",
                         "client_id": CLIENT_ID, "scope": "stock"})
    stock_changes(app, clock, ["A-1"])

    async def scenario(conn: RestConnector):
        for _ in range(3):
            await conn.pull("inventory", None, 100)
        issued = app.tokens_issued
        app.tokens.clear()  # the WMS revoked every token
        await conn.pull("inventory", None, 100)
        return issued

    assert run(scenario, server, clock, opts, secret=CLIENT_SECRET) == 1
    assert app.tokens_issued == 2

    async def refused(conn: RestConnector):
        return await raises(conn.pull("inventory", None, 100))

    err = run(refused, server, clock, opts, secret="not-the-client-secret")
    assert err.category == Category.AUTH and "not-the-client-secret" not in f"{err.message} {err.response_excerpt}"


def test_invalid_options_refuse_to_build_a_connector(clock):
    with pytest.raises(DeliveryError) as info:
        RestConnector("http://127.0.0.1:1", KEY, clock=clock, options=options(pagination={"style": "pages"}))
    assert info.value.category == Category.VALIDATION and "options.pagination.style" in info.value.message


# ---------------------------------------------------------------- reconciliation reads


def test_levels_for_reconciliation_are_the_whole_listing_mapped_as_a_poll_maps_it(app, server, clock):
    stock_changes(app, clock)  # A-1..E-5 at main: 10..14, five rows over three pages
    opts = options(entities__inventory__pull={**STOCK_PULL, "incremental": {
        "param": "updated_since", "cursor_field": "updated_at", "start": "2099-01-01T00:00:00Z"}})

    async def scenario(conn: RestConnector):
        return await conn.read_levels({("A-1", "main"), ("E-5", "main"), ("A-1", "elsewhere"), ("NOPE", "main")})

    held = run(scenario, server, clock, opts)
    # Every page was read and no `since` was sent, however late the pull's own start is.
    assert held == {("A-1", "main"): 10, ("E-5", "main"): 14, ("A-1", "elsewhere"): None, ("NOPE", "main"): None}
    sent = [q for m, p, q in app.requests if p == "/stock"]
    assert len(sent) == 3 and not any("updated_since" in q for q in sent)


def test_an_endpoint_without_an_inventory_pull_says_its_levels_cannot_be_read(app, server, clock):
    opts = options()
    del opts["entities"]["inventory"]["pull"]

    async def scenario(conn: RestConnector):
        return await raises(conn.read_levels({("A-1", "main")}))

    exc = run(scenario, server, clock, opts)
    assert exc.category == Category.VALIDATION and "entities.inventory.pull" in exc.message
