"""Returns from the POS and the web shop, through the engine into Odoo, over real HTTP."""

from __future__ import annotations

import asyncio

import pytest

from tests.engine.harness import Harness, states, until

CONFIG = """
tenants:
  acme:
    endpoints:
      pos: {kind: square, base_url: simulator}
      web: {kind: shopify, base_url: simulator, options: {order_location: web}}
      erp: {kind: odoo, base_url: simulator}
    maps:
      sku: {TSHIRT-RED-M: TSHIRT-RED-M, MUG-WHITE: MUG-WHITE, CAP-BLK: CAP-BLK}
      location: {store-1: WH/Stock, web: WH/Stock}
      payment: {CARD: Bank, CASH: Cash, shopify_payments: Bank}
    flows:
      - name: pos-returns
        entity: return
        source: pos
        target: erp
        schedule: {every: 0.3s}
        sla: 1m
        retry: {max_attempts: 3, base_delay: 0.05s, max_delay: 0.2s}
        mappings: {sku: sku, location: location, payment_method: payment}
      - name: web-returns
        entity: return
        source: web
        target: erp
        schedule: {every: 0.3s}
        sla: 1m
        retry: {max_attempts: 3, base_delay: 0.05s, max_delay: 0.2s}
        mappings: {sku: sku, location: location, payment_method: payment}
"""


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path, CONFIG)
    yield harness
    harness.close()


def test_square_return_restocks_in_odoo_only_what_square_recorded_as_restocked(h):
    sale = h.square.record_sale("store-1", [("TSHIRT-RED-M", 3), ("MUG-WHITE", 1)], tender="CARD")
    shirts, mugs = h.odoo.on_hand("TSHIRT-RED-M", "WH/Stock"), h.odoo.on_hand("MUG-WHITE", "WH/Stock")
    partial = h.square.record_return(sale, [("TSHIRT-RED-M", 3)], restock={"TSHIRT-RED-M": 1})
    damaged = h.square.record_return(sale, [("MUG-WHITE", 1)], restock=False)

    async def scenario():
        await h.start()
        await until(lambda: states(h.store, "pos-returns").get("delivered", 0) == 2, what="both returns delivered")
        await h.stop()
    asyncio.run(scenario())
    notes = {n["ref"]: n for n in h.odoo.credit_notes()}
    assert notes[partial]["state"] == "posted" and notes[damaged]["state"] == "posted"
    # One of three shirts went back on the shelf in Square; the damaged mug did not.
    assert h.odoo.on_hand("TSHIRT-RED-M", "WH/Stock") == shirts + 1
    assert h.odoo.on_hand("MUG-WHITE", "WH/Stock") == mugs
    assert [p["origin"] for p in h.odoo.pickings() if p["origin"] in (partial, damaged)] == [partial]


def test_shopify_refund_seen_twice_posts_one_credit_note_and_restocks_by_restock_type(h):
    gid = h.shopify.place_web_order([("TSHIRT-RED-M", 2), ("MUG-WHITE", 1)])
    shirts, mugs = h.odoo.on_hand("TSHIRT-RED-M", "WH/Stock"), h.odoo.on_hand("MUG-WHITE", "WH/Stock")
    back = h.shopify.refund_order(gid, [("TSHIRT-RED-M", 1)], restock=True)
    kept = h.shopify.refund_order(gid, [("MUG-WHITE", 1)], restock=False)

    async def scenario():
        engine = await h.start()
        await until(lambda: states(h.store, "web-returns").get("delivered", 0) == 2, what="refunds delivered")
        # Seen again: an admin edit moves the order's updatedAt, so the next polls read both refunds again.
        h.shopify.touch_order(gid, now=h.shopify.clock() + 5)
        for _ in range(2):
            await engine.run_poll("acme", "web-returns")
        await asyncio.sleep(0.5)
        await h.stop()
    asyncio.run(scenario())
    assert states(h.store, "web-returns") == {"delivered": 2}
    assert h.odoo.count_credit_notes_with_ref(back) == 1 and h.odoo.count_credit_notes_with_ref(kept) == 1
    assert h.odoo.on_hand("TSHIRT-RED-M", "WH/Stock") == shirts + 1
    assert h.odoo.on_hand("MUG-WHITE", "WH/Stock") == mugs
