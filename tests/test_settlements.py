"""Payouts to journal entries over real HTTP: Square and Shopify simulators, Odoo simulator."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

from syncops.connectors.base import Delivery
from syncops.connectors.odoo import OdooConnector
from syncops.connectors.shopify import ShopifyConnector
from syncops.connectors.square import SquareConnector
from syncops.mapping import apply_mappings
from syncops.models import validate_payload
from syncops.simulator.faults import Faults
from syncops.simulator.http import SimServer
from syncops.simulator.odoo import OdooApp
from syncops.simulator.payouts import shopify_fee, square_fee
from syncops.simulator.shopify import ShopifyApp
from syncops.simulator.square import SquareApp
from syncops.store.categories import Category

ACCOUNTS = {"gl": {"sales": "400000", "refunds": "450000", "fees": "626000", "clearing": "101402",
                   "bank": "101401"}}


def mapped(payload: dict[str, Any]) -> dict[str, Any]:
    return apply_mappings("settlement", payload, {"gl_account": "gl"}, ACCOUNTS)[0]


def lines_of(entry: dict[str, Any]) -> dict[str, tuple[float, float]]:
    return {line["account_code"]: (line["debit"], line["credit"]) for line in entry["lines"]}


async def pull_all(conn: Any, cursor: str | None = None, limit: int = 100):
    changes = []
    while True:
        page = await conn.pull("settlement", cursor, limit)
        changes += page.changes
        cursor = page.cursor
        if not page.has_more:
            return changes, cursor


def test_square_payout_adds_up_to_the_card_sales_and_refunds_and_posts_one_balanced_entry() -> None:
    square = SquareApp(Faults(), skus=["TSHIRT-RED-M", "MUG-WHITE"], locations=["store-1"])
    odoo = OdooApp(Faults())
    sales = [square.record_sale("store-1", [("TSHIRT-RED-M", 1), ("MUG-WHITE", 1)], tender="CARD")
             for _ in range(130)]  # more entries than one page (Square pages payout entries by 100)
    square.record_sale("store-1", [("MUG-WHITE", 1)], tender="CASH")  # cash never reaches a payout
    square.record_return(sales[0], [("MUG-WHITE", 1)])
    [payout_id] = square.payouts.settle()
    card_totals = [o["total_money"]["amount"] for o in square.orders
                   if o.get("tenders") and o["tenders"][0]["type"] == "CARD"]
    refund = next(o for o in square.orders if "returns" in o)["refunds"][0]["amount_money"]["amount"]

    async def go():
        with SimServer(square) as pos, SimServer(odoo) as erp:
            sq = SquareConnector(pos.url, "token")
            erp_conn = OdooConnector(erp.url, "key")
            try:
                changes, cursor = await pull_all(sq)
                again, _ = await pull_all(sq, cursor)  # the next poll: nothing new
                payload = mapped(changes[0].payload)
                first = await erp_conn.push("settlement", [Delivery(1, "d1", payout_id, payload)])
                second = await erp_conn.push("settlement", [Delivery(2, "d2", payout_id, payload)])
                return changes, again, first, second
            finally:
                await sq.aclose()
                await erp_conn.aclose()

    changes, again, first, second = asyncio.run(go())
    assert [c.entity_key for c in changes] == [payout_id] and again == []
    s = validate_payload("settlement", changes[0].payload)
    fees = sum(square_fee(c) for c in card_totals)
    assert (s.gross, s.refunds, s.fees) == (Decimal(sum(card_totals)) / 100, Decimal(refund) / 100,
                                           Decimal(fees) / 100)
    assert s.net == Decimal(sum(card_totals) - refund - fees) / 100
    assert first[0].error is None and first[0].target_ref
    assert second[0].error.category == Category.DUPLICATE and second[0].target_ref == first[0].target_ref
    [entry] = odoo.journal_entries()
    assert (entry["ref"], entry["state"]) == (payout_id, "posted")
    assert lines_of(entry) == {"400000": (0.0, float(s.gross)), "450000": (float(s.refunds), 0.0),
                               "626000": (float(s.fees), 0.0), "101401": (float(s.net), 0.0)}


def test_a_lost_answer_to_create_or_post_still_ends_in_one_posted_entry() -> None:
    square = SquareApp(Faults(), skus=["MUG-WHITE"], locations=["store-1"])
    odoo = OdooApp(Faults())
    square.record_sale("store-1", [("MUG-WHITE", 2)], tender="CARD")
    [first_payout] = square.payouts.settle()
    square.record_sale("store-1", [("MUG-WHITE", 1)], tender="CARD")
    [second_payout] = square.payouts.settle()

    async def go():
        with SimServer(square) as pos, SimServer(odoo) as erp:
            sq, erp_conn = SquareConnector(pos.url, "token"), OdooConnector(erp.url, "key")
            try:
                changes, _ = await pull_all(sq)
                by_id = {c.entity_key: mapped(c.payload) for c in changes}
                outcomes = []
                for pid, (model, method) in ((first_payout, ("account.move", "create")),
                                             (second_payout, ("account.move", "action_post"))):
                    odoo.lose_next_response(model, method)
                    delivery = Delivery(1, f"d-{pid}", pid, by_id[pid])
                    with pytest.raises(Exception) as lost:
                        await erp_conn.push("settlement", [delivery])
                    outcomes.append((lost.value, await erp_conn.push(
                        "settlement", [Delivery(1, f"d-{pid}", pid, by_id[pid], outcome_unknown=True)])))
                return outcomes
            finally:
                await sq.aclose()
                await erp_conn.aclose()

    outcomes = asyncio.run(go())
    for lost, retried in outcomes:
        assert getattr(lost, "maybe_applied", True)  # the engine must not assume nothing happened
        assert retried[0].target_ref
    entries = odoo.journal_entries()
    assert sorted(e["ref"] for e in entries) == sorted([first_payout, second_payout])
    assert {e["state"] for e in entries} == {"posted"}
    assert odoo.count_entries_with_ref(first_payout) == odoo.count_entries_with_ref(second_payout) == 1


def test_square_payouts_page_and_a_sent_payout_waits_until_paid() -> None:
    square = SquareApp(Faults(), skus=["MUG-WHITE"], locations=["store-1"])
    for n in range(3):
        square.record_sale("store-1", [("MUG-WHITE", 1)], tender="CARD")
        square.payouts.settle(now=1_700_000_000.0 + n, status="SENT" if n == 1 else "PAID")
    sent = list(square.payouts.payouts)[1]

    async def go():
        with SimServer(square) as pos:
            sq = SquareConnector(pos.url, "token")
            try:
                changes, cursor = await pull_all(sq, limit=1)
                square.payouts.mark_paid(sent)
                later, _ = await pull_all(sq, cursor, limit=1)
                raw = httpx.get(f"{pos.url}/v2/payouts", params={"location_id": "store-1", "limit": 2},
                                headers={"Authorization": "Bearer t"}).json()
                return changes, later, raw
            finally:
                await sq.aclose()

    changes, later, raw = asyncio.run(go())
    ids = list(square.payouts.payouts)
    assert [c.entity_key for c in changes] == [ids[0], ids[2]]
    assert [c.entity_key for c in later] == [sent]
    assert len(raw["payouts"]) == 2 and raw["cursor"]  # Square's own paging: a cursor while more remain


def test_odoo_refuses_an_unbalanced_entry_as_odoo_does() -> None:
    odoo = OdooApp(Faults())
    with SimServer(odoo) as erp:
        r = httpx.post(f"{erp.url}/json/2/account.move/create", headers={"Authorization": "bearer key"},
                       json={"vals_list": [{"move_type": "entry", "ref": "po_x", "line_ids": [
                           [0, 0, {"account_id": 1, "debit": 10.0}], [0, 0, {"account_id": 2, "credit": 9.99}]]}]})
    assert r.status_code == 422
    assert r.json()["name"] == "odoo.exceptions.UserError" and "not balanced" in r.json()["message"]
    assert odoo.journal_entries() == []


def test_shopify_payments_payout_is_pulled_as_a_settlement_and_posted() -> None:
    shop = ShopifyApp(Faults())
    odoo = OdooApp(Faults())
    shop.place_web_order([("MUG-WHITE", 2)])
    cancelled = shop.place_web_order([("TSHIRT-RED-M", 1)])
    shop.cancel_order(cancelled)
    legacy = shop.payouts.settle()
    totals = [shop._order_total(o) for o in shop.orders.values()]

    async def go():
        with SimServer(shop) as web, SimServer(odoo) as erp:
            sh, erp_conn = ShopifyConnector(web.url, "token"), OdooConnector(erp.url, "key")
            try:
                changes, cursor = await pull_all(sh)
                again, _ = await pull_all(sh, cursor)
                results = await erp_conn.push("settlement", [
                    Delivery(1, "d", changes[0].entity_key, mapped(changes[0].payload)),
                    Delivery(2, "d2", changes[0].entity_key, mapped(changes[0].payload))])  # seen twice
                return changes, again, results
            finally:
                await sh.aclose()
                await erp_conn.aclose()

    changes, again, results = asyncio.run(go())
    assert again == []
    s = validate_payload("settlement", changes[0].payload)
    assert s.payout_id == f"gid://shopify/ShopifyPaymentsPayout/{legacy}"
    assert s.gross == sum(totals) and s.refunds == totals[1]
    assert s.fees == sum(shopify_fee(t) for t in totals)
    assert s.net == s.gross - s.refunds - s.fees
    assert results[0].error is None and results[1].error.category == Category.DUPLICATE
    [entry] = odoo.journal_entries()
    assert entry["state"] == "posted" and lines_of(entry)["101401"] == (float(s.net), 0.0)
