"""The simulated world is aligned with the demo config: real engine, real connectors, real HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable

import pytest

from syncops.config import load_config, sample_path
from syncops.engine.connections import check_flows
from syncops.engine.events import EventLog
from syncops.engine.runtime import Engine
from syncops.simulator.activity import PROFILES, Outage, Profile
from syncops.simulator.world import World
from syncops.store import queries
from syncops.store.db import open_store
from syncops.store.filters import RecordFilter

from tests.engine.harness import until

ACME = "acme-outdoor"


class FakeClock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def config() -> Any:
    return load_config(sample_path("demo.yaml"), env={})


def run_with_engine(config: Any, tmp_path: Path, scenario: Callable[[World, Engine, Any], Any]) -> None:
    """Start a calm world and a fast engine on a fresh store, run `scenario`, stop everything."""
    world = World(config, profile="calm").start()
    store = open_store(f"sqlite:///{tmp_path}/store.db")

    async def main() -> None:
        engine = Engine(config, store, url_overrides=world.url_overrides, log=EventLog(quiet=True),
                        idle_poll=0.05, control_every=0.1, heartbeat_every=0.5, breaker_cooldown=0.3)
        await engine.start()
        try:
            await asyncio.wait_for(scenario(world, engine, store), timeout=30)
        finally:
            await engine.stop(deadline=5)

    try:
        asyncio.run(main())
    finally:
        world.stop()
        store.close()


def records(store: Any, **kw: Any) -> list[Any]:
    return queries.list_records(store, RecordFilter(**kw), limit=500).rows


# -- alignment without any server ------------------------------------------------------------------


def test_demo_config_runs_on_the_simulator(config: Any) -> None:
    assert check_flows(config) == []
    world = World(config)
    assert set(world.apps) == {(ACME, "pos"), (ACME, "web"), (ACME, "erp"),
                               ("bella-boutique", "pos"), ("bella-boutique", "web")}
    pos, web, erp = (world.apps[(ACME, e)] for e in ("pos", "web", "erp"))
    # Square names locations by the ids the location maps start from.
    assert set(pos.locations.values()) == set(config.tenants[ACME].mappings["pos_to_web_location"])
    # Shopify carries the mapped locations, its web location and every SKU the POS sells
    # (unmapped ones too, so a mapping fix can deliver them).
    assert {"store-1", "store-2", "web"} <= set(web.locations)
    assert {"TSHIRT-RED-M", "BOOT-BRN-42", "CAP-BLK"} <= set(web.items)
    assert web.tax_title == "Sales Tax"
    # The ERP knows every product and the tax names the maps point at.
    assert {p["default_code"] for p in erp.products()} >= set(config.tenants[ACME].mappings["to_erp_sku"].values())
    assert pos.tax_percentage == "8.25"
    # One price per SKU everywhere.
    assert web.price("TSHIRT-RED-M") == world.price("TSHIRT-RED-M")


def test_activity_is_reproducible_with_a_seed(config: Any) -> None:
    def events(seed: int) -> list[Any]:
        world = World(config, profile="calm", clock=FakeClock(), seed=seed)
        kinds = [world.activity.step() for _ in range(60)]
        pos = world.apps[(ACME, "pos")]
        return [kinds, [(o["id"], o["location_id"], o["total_money"]["amount"]) for o in pos.orders]]

    assert events(3) == events(3)
    first = events(3)[0]
    assert {"sale", "web_order"} <= set(first)  # a realistic mix, not one kind


def test_profiles_are_known_and_bad_names_are_explained(config: Any) -> None:
    assert {"demo", "calm", "test"} <= set(PROFILES)
    with pytest.raises(ValueError, match="unknown simulator profile 'busy'"):
        World(config, profile="busy")
    custom = Profile(name="custom", rate_per_s=1.0, weights={"sale": 1.0})
    assert World(config, profile=custom).profile is custom


def test_outage_windows_count_from_start(config: Any) -> None:
    clock = FakeClock()
    world = World(config, profile="demo", clock=clock)
    clock.now += 100
    world.start()
    try:
        erp = world.apps[(ACME, "erp")]
        window = PROFILES["demo"].outages[0]
        assert erp.faults.plan.outages == [(clock.now + window.start, clock.now + window.end)]
        assert not erp.faults.in_outage()
        clock.now += window.start + 0.1
        assert erp.faults.in_outage()
    finally:
        world.stop()


def test_refused_outage_closes_and_reopens_the_port(config: Any) -> None:
    profile = Profile(name="refuse", rate_per_s=2.0, weights={"sale": 1.0},
                      outages=(Outage("shopify", 0.1, 0.35, mode="refused"),))
    world = World(config, profile=profile).start()
    web = world.servers[(ACME, "web")]
    port = web.port
    seen: list[bool] = []

    async def main() -> None:
        run = asyncio.create_task(world.run(seconds=0.6))
        await asyncio.sleep(0.25)
        seen.append(web.is_up)
        await run

    try:
        asyncio.run(main())
        assert seen == [False] and web.is_up and web.port == port
        assert world.servers[(ACME, "pos")].is_up  # only the vendor named goes down
    finally:
        world.stop()


# -- through the real engine -------------------------------------------------------------------------


def test_store_sale_reaches_shopify_and_unmapped_sku_fails_as_mapping(config: Any, tmp_path: Path) -> None:
    async def scenario(world: World, engine: Engine, store: Any) -> None:
        pos, web = world.apps[(ACME, "pos")], world.apps[(ACME, "web")]
        await until(lambda: web.level("TSHIRT-RED-M", "store-1") == pos.count("TSHIRT-RED-M", "L1STORE"),
                    what="initial stock level at Shopify")
        pos.record_sale("L1STORE", [("TSHIRT-RED-M", 2), ("BOOT-BRN-42", 1)])
        expected = pos.count("TSHIRT-RED-M", "L1STORE")
        await until(lambda: web.level("TSHIRT-RED-M", "store-1") == expected, what="sale at Shopify")
        await until(lambda: web.level("TSHIRT-RED-M", "store-2") == pos.count("TSHIRT-RED-M", "L2STORE"),
                    what="the other store's level")

        def boot_failures() -> list[Any]:
            return records(store, tenant=ACME, flow="inventory-pos-to-web", key_pattern="BOOT-BRN-42@L1STORE",
                           states=("failed",))
        await until(lambda: bool(boot_failures()), what="mapping failure for BOOT-BRN-42")
        [failed] = boot_failures()
        assert (failed.error_category, failed.error_map, failed.error_value) == ("mapping", "pos_to_web_sku",
                                                                                "BOOT-BRN-42")
        # Nothing mapped fails: only the deliberate gaps do.
        bad = records(store, tenant=ACME, flow="inventory-pos-to-web", states=("failed", "retry_wait"))
        assert {r.entity_key.split("@")[0] for r in bad} <= {"BOOT-BRN-42", "CAP-BLK"}

    run_with_engine(config, tmp_path, scenario)


def test_orders_reach_odoo_with_the_mapped_tax(config: Any, tmp_path: Path) -> None:
    async def scenario(world: World, engine: Engine, store: Any) -> None:
        pos, web, erp = (world.apps[(ACME, e)] for e in ("pos", "web", "erp"))
        gid = web.place_web_order([("JACKET-GRN-S", 1), ("CAP-BLK", 2)])
        name = web.orders[gid].name
        sale = pos.record_sale("L2STORE", [("TSHIRT-BLU-L", 1)], tender="CASH")
        await engine.run_poll(ACME, "web-orders-to-erp")
        await engine.run_poll(ACME, "store-sales-to-erp")
        await until(lambda: erp.count_orders_with_ref(name) == 1 and erp.count_orders_with_ref(sale) == 1,
                    what="web order and store sale in Odoo")
        orders = {o["client_order_ref"]: o for o in erp.sale_orders()}
        for ref in (name, sale):
            assert orders[ref]["lines"] and all(line["tax_id"] for line in orders[ref]["lines"])
        assert orders[name]["amount_total"] == pytest.approx(
            float(web.price("JACKET-GRN-S") + 2 * web.price("CAP-BLK")) * 1.0825, abs=0.02)
        # Odoo has it before the engine settles the record: wait for the store to say so too.
        await until(lambda: [r.state for r in records(store, tenant=ACME, flow="store-sales-to-erp",
                                                      key_pattern=sale)] == ["delivered"], what="settled")

    run_with_engine(config, tmp_path, scenario)


def test_a_recount_in_shopify_becomes_a_conflict(config: Any, tmp_path: Path) -> None:
    async def scenario(world: World, engine: Engine, store: Any) -> None:
        pairs = world.synced_levels(ACME)
        await until(lambda: all(web.level(*wk) == pos.count(*pk) for pos, pk, web, wk in pairs),
                    what="every mapped level synced once")
        assert world.activity.step(ACME, kind="recount") == "recount"
        await until(lambda: bool(records(store, tenant=ACME, flow="inventory-pos-to-web", categories=("conflict",))),
                    what="conflict after the recount")

    run_with_engine(config, tmp_path, scenario)
