"""The simulator's /_sim/state and /_sim/faults endpoints, and the wire faults every vendor gets."""

from __future__ import annotations

import json

import httpx
import pytest

from syncops.simulator.bigcommerce import BigCommerceApp
from syncops.simulator.faults import Faults, parse_switches
from syncops.simulator.http import SimServer
from syncops.simulator.odoo import OdooApp
from syncops.simulator.shopify import ShopifyApp
from syncops.simulator.square import SquareApp
from syncops.simulator.wire_faults import GARBAGE_RETRY_AFTER

from tests.conftest import FakeClock

ODOO_AUTH = {"Authorization": "bearer key"}


def _order_create(ref: str) -> dict:
    return {"vals_list": [{"partner_id": 1, "client_order_ref": ref, "order_line": []}]}


@pytest.fixture
def odoo():
    app = OdooApp(Faults(clock=FakeClock()), FakeClock(), skus={"MUG": "9.50"}, taxes={"Tax 8.25%": "8.25"})
    with SimServer(app) as server:
        with httpx.Client(base_url=server.url, headers=ODOO_AUTH, timeout=5) as http:
            yield app, http


def test_each_vendor_lists_its_levels_documents_and_payouts_on_the_state_endpoint():
    clock = FakeClock()
    square = SquareApp(Faults(clock=clock), clock, skus=["MUG"], locations=["L1"], initial_qty=5)
    sale = square.record_sale("L1", [("MUG", 2)])
    square.record_return(sale, [("MUG", 1)])
    shopify = ShopifyApp(Faults(clock=clock), clock, skus={"MUG": "9.50"}, locations=["store-1", "web"],
                         stock={("MUG", "store-1"): 7})
    shopify.place_web_order([("MUG", 1)])
    odoo = OdooApp(Faults(clock=clock), clock, skus={"MUG": "9.50"})
    odoo.set_stock("MUG", 3)
    odoo.add_sale_order("#1001", [("MUG", 1, 9.5)])
    odoo.add_credit_note("SQ-ORD-000002")
    bigc = BigCommerceApp(Faults(clock=clock), clock, skus={"MUG": "9.50"})
    bigc.place_order([("MUG", 1)])
    states = {}
    for app in (square, shopify, odoo, bigc):
        with SimServer(app) as server:
            answer = httpx.get(f"{server.url}/_sim/state", timeout=5)
            assert answer.status_code == 200
            states[app.name] = answer.json()
    assert {s["vendor"] for s in states.values()} == {"square", "shopify", "odoo", "bigcommerce"}
    assert all(s["payouts"] == [] for s in states.values())
    sq = states["square"]
    assert {"sku": "MUG", "location": "L1", "location_name": "L1", "quantity": "4"} in sq["levels"]
    assert [(o["id"], o["kind"], o["source_order_id"]) for o in sq["orders"]] == [
        (sale, "sale", None), ("SQ-ORD-000002", "return", sale)]
    assert {"sku": "MUG", "location": "store-1", "available": 7, "on_hand": 7} in states["shopify"]["levels"]
    assert [(o["name"], o["state"]) for o in states["shopify"]["orders"]] == [("#1001", "paid")]
    erp = states["odoo"]
    assert [(o["ref"], o["lines"][0]["sku"]) for o in erp["orders"]] == [("#1001", "MUG")]
    assert [n["ref"] for n in erp["credit_notes"]] == ["SQ-ORD-000002"]
    assert {"sku": "MUG", "location": "WH/Stock", "quantity": 3.0} in erp["levels"]
    assert [o["lines"] for o in states["bigcommerce"]["orders"]] == [[{"sku": "MUG", "quantity": 1}]]


def test_fault_switches_over_http_are_validated_and_clear_turns_everything_off(odoo):
    app, http = odoo
    answer = http.post("/_sim/faults", json={"reset_after_apply": 0.25, "slow_seconds": 0.1})
    assert answer.status_code == 200
    assert answer.json()["reset_after_apply"] == 0.25 and app.faults.plan.reset_after_apply == 0.25
    for bad in ({"reset_after_apply": 2}, {"reset_after_apply": "often"}, {"no_such_fault": 0.1},
                {"html_body": 0.1, "slow_rate": float("nan")}):
        answer = http.post("/_sim/faults", content=json.dumps(bad))
        assert answer.status_code == 400, bad
    assert app.faults.plan.html_body == 0.0  # a refused request changes nothing
    assert http.post("/_sim/faults", json=["reset_after_apply"]).status_code == 400
    outage = http.post("/_sim/faults", json={"clear": True, "forced_outage": True}).json()
    assert outage["reset_after_apply"] == 0.0 and outage["forced_outage"] is True
    assert http.post("/json/2/res.partner/search_count", json={"domain": []}).status_code == 503
    http.post("/_sim/faults", json={"html_body": 0.5})
    cleared = http.post("/_sim/faults", json={"clear": True}).json()
    assert cleared["html_body"] == 0.0 and cleared["forced_outage"] is False
    assert http.post("/json/2/res.partner/search_count", json={"domain": []}).json() == 1
    assert http.get("/_sim/faults").json()["slow_seconds"] == 0.5  # back to the default


def test_garbage_retry_after_answers_429_before_the_vendor_sees_the_call(odoo):
    app, http = odoo
    app.faults.plan.garbage_retry_after = 1.0
    seen = set()
    for n in range(12):
        answer = http.post("/json/2/sale.order/create", json=_order_create(f"R{n}"))
        assert answer.status_code == 429
        seen.add(answer.headers["retry-after"])
    assert seen <= set(GARBAGE_RETRY_AFTER) and len(seen) > 2
    assert app.sale_orders() == []  # nothing applied
    assert http.get("/_sim/state").status_code == 200  # the simulator's own endpoints never get faults


def test_a_proxy_502_page_comes_before_the_vendor(odoo):
    app, http = odoo
    app.faults.plan.html_body = 1.0
    answer = http.post("/json/2/sale.order/create", json=_order_create("R1"))
    assert answer.status_code == 502 and answer.headers["content-type"] == "text/html"
    assert "502 Bad Gateway" in answer.text
    assert app.sale_orders() == []


def test_reset_after_apply_applies_the_call_then_drops_the_connection(odoo):
    app, http = odoo
    app.faults.plan.reset_after_apply = 1.0
    with pytest.raises(httpx.TransportError):
        http.post("/json/2/sale.order/create", json=_order_create("R1"))
    assert [o["client_order_ref"] for o in app.sale_orders()] == ["R1"]  # applied: the outcome was unknown
    assert app.faults.injected["reset_after_apply"] == 1


def test_a_truncated_body_is_sent_after_the_vendor_applied_the_call(odoo):
    app, http = odoo
    app.faults.plan.truncated_body = 1.0
    answer = http.post("/json/2/sale.order/create", json=_order_create("R1"))
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        json.loads(answer.content)
    assert [o["client_order_ref"] for o in app.sale_orders()] == ["R1"]


def test_wrong_types_change_one_field_of_the_answer(odoo):
    app, http = odoo
    app.set_stock("MUG", 4)
    query = {"domain": [], "fields": ["quantity", "location_id"]}
    honest = http.post("/json/2/stock.quant/search_read", json=query).json()
    app.faults.plan.wrong_types = 1.0
    garbled = http.post("/json/2/stock.quant/search_read", json=query).json()
    assert garbled != honest
    assert json.dumps(garbled, sort_keys=True) != json.dumps(honest, sort_keys=True)


def test_fault_switch_text_names_every_vendor_or_one_kind():
    assert parse_switches("reset_after_apply=0.05, odoo.html_body=0.1") == {
        None: {"reset_after_apply": 0.05}, "odoo": {"html_body": 0.1}}
    for bad, msg in (("reset_after_apply", "expected NAME=RATE"), ("nope=0.1", "unknown fault 'nope'"),
                     ("html_body=1.5", "between 0 and 1")):
        with pytest.raises(ValueError, match=msg):
            parse_switches(bad)
