"""The engine over real HTTP: deliveries, mapping fixes, conflicts, pausing, duplicates."""

from __future__ import annotations

import asyncio

import pytest

from syncops.services import flows as flow_control
from syncops.services.actions import act
from syncops.services.actor import Actor
from syncops.services.mappings import set_entry
from syncops.store import queries
from syncops.store.filters import RecordFilter

from tests.engine.harness import Harness, states, until

ME = Actor("tech", "10.0.0.9", "cli")


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.close()


def run(coro):
    return asyncio.run(coro)


def test_store_sales_reach_the_web_shop_and_unmapped_sku_fails_as_mapping_until_fixed(h):
    async def scenario():
        await h.start()
        h.square.record_sale("store-1", [("TSHIRT-RED-M", 3), ("CAP-BLK", 2)])
        want = h.square.count("TSHIRT-RED-M", "store-1")
        await until(lambda: h.shopify.level("TSHIRT-RED-M", "store-1") == want, what="stock at the web shop")
        await until(lambda: states(h.store, "inventory").get("failed", 0) >= 1, what="mapping failure")
        blocked = queries.unmapped_values(h.store, "acme")
        assert [(u.map_name, u.value) for u in blocked] == [("sku", "CAP-BLK")]
        assert h.shopify.level("CAP-BLK", "store-1") != h.square.count("CAP-BLK", "store-1")
        released = set_entry(h.store, "acme", "sku", "CAP-BLK", "CAP-BLK", actor=ME, release=True)
        assert released == blocked[0].count
        await until(lambda: h.shopify.level("CAP-BLK", "store-1") == h.square.count("CAP-BLK", "store-1"),
                    what="released record delivered after the mapping fix")
        await until(lambda: states(h.store, "inventory").get("failed", 0) == 0, what="no failed records left")
        await h.stop()
    run(scenario())


def test_duplicate_source_events_make_one_record(h):
    async def scenario():
        engine = await h.start()
        h.square.record_sale("store-1", [("MUG-WHITE", 1)])
        await until(lambda: h.shopify.level("MUG-WHITE", "store-1") == h.square.count("MUG-WHITE", "store-1"),
                    what="the sale delivered")
        await engine.run_poll("acme", "inventory")  # everything the source has is read now
        before = sum(states(h.store, "inventory").values())
        # Polling again re-reads the overlap window: the same events must not be stored twice.
        for _ in range(3):
            await engine.run_poll("acme", "inventory")
        assert sum(states(h.store, "inventory").values()) == before
        act_ = queries.flow_activity(h.store)[("acme", "inventory")]
        assert act_.duplicates >= 1
        await h.stop()
    run(scenario())


def test_stale_compare_and_swap_becomes_conflict_and_an_operator_retry_overwrites(h):
    async def scenario():
        await h.start()
        h.square.record_sale("store-1", [("TSHIRT-RED-M", 1)])
        await until(lambda: h.shopify.level("TSHIRT-RED-M", "store-1") == h.square.count("TSHIRT-RED-M", "store-1"),
                    what="first delivery (the CAS baseline)")
        h.shopify.adjust_behind_back("TSHIRT-RED-M", "store-1", -2)  # someone changed the web shop
        h.square.record_sale("store-1", [("TSHIRT-RED-M", 1)])
        await until(lambda: queries.failures_by_category(h.store).get("conflict", 0) == 1, what="conflict")
        page = queries.list_records(h.store, RecordFilter(categories=("conflict",)))
        rec = page.rows[0]
        assert rec.state == "failed" and "STALE" in rec.error_message.upper()
        act(h.store, "retry", rec.id, actor=ME, expected_version=rec.version)
        await until(lambda: h.shopify.level("TSHIRT-RED-M", "store-1") == h.square.count("TSHIRT-RED-M", "store-1"),
                    what="operator retry overwrote the stale level")
        await h.stop()
    run(scenario())


def test_paused_flow_neither_polls_nor_delivers_until_resumed(h):
    async def scenario():
        flow_control.pause(h.store, "acme", "inventory", actor=ME, reason="supplier recount")
        await h.start()
        assert h.engine.is_paused("acme", "inventory")
        h.square.record_sale("store-1", [("TSHIRT-RED-M", 2)])
        before_level = h.shopify.level("TSHIRT-RED-M", "store-1")
        await asyncio.sleep(1.2)  # several poll intervals: nothing may happen
        assert sum(states(h.store, "inventory").values()) == 0
        assert h.shopify.level("TSHIRT-RED-M", "store-1") == before_level
        flow_control.resume(h.store, "acme", "inventory", actor=ME)
        await until(lambda: h.shopify.level("TSHIRT-RED-M", "store-1") == h.square.count("TSHIRT-RED-M", "store-1"),
                    what="delivery after resume")
        await h.stop()
    run(scenario())


def test_web_orders_reach_the_erp_once(h):
    async def scenario():
        await h.start()
        refs = [h.shopify.place_web_order([("TSHIRT-RED-M", 1)]) for _ in range(3)]
        await until(lambda: states(h.store, "web-orders").get("delivered", 0) == 3, what="orders delivered")
        orders = h.odoo.sale_orders()
        assert len(orders) == 3
        assert len({o["client_order_ref"] for o in orders}) == 3
        await h.stop()
        assert refs
    run(scenario())
