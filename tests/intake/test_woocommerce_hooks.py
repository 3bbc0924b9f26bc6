"""WooCommerce webhooks into the intake: signed order deliveries, the save-time ping, refusals."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from syncops.config import load_config
from syncops.engine.events import EventLog
from syncops.engine.runtime import Engine
from syncops.intake.counters import read_all
from syncops.simulator.webhooks import attach
from syncops.simulator.world import World
from syncops.store.db import open_store

from tests.engine.harness import until
from tests.intake.harness import records

SECRET = "woo-webhook-secret"
# Orders are polled once an hour: after the start-up poll, only a webhook brings one in.
CONFIG = """
webhooks: {listen: "127.0.0.1:0", max_body: 64KiB, tolerance: 5m}
tenants:
  acme:
    endpoints:
      woo: {kind: woocommerce, base_url: simulator, credential: simulator,
            options: {order_location: web}, webhook: {credential: "env:WOO_HOOK"}}
      erp: {kind: odoo, base_url: simulator, credential: simulator}
    maps:
      sku: {TSHIRT-RED-M: TSHIRT-RED-M, MUG-WHITE: MUG-WHITE}
      tax: {"US-IL-TAX-1": "Tax 8.25%"}
      erp_location: {web: WH/Stock}
      erp_payment: {stripe: Bank}
      woo_status: {processing: sale, completed: done}
    flows:
      - {name: woo-orders, entity: order, source: woo, target: erp, schedule: {every: 1h}, sla: 1m,
         mappings: {sku: sku, tax_code: tax, location: erp_location, payment_method: erp_payment,
                    order_status: woo_status}}
"""


def _scenario(tmp_path: Any, monkeypatch: Any, body: Any) -> None:
    monkeypatch.setenv("WOO_HOOK", SECRET)
    path = tmp_path / "syncops.yaml"
    path.write_text(CONFIG)
    config = load_config(path)
    world = World(config, profile="calm").start()
    store = open_store(f"sqlite:///{tmp_path}/store.db")

    async def main() -> None:
        engine = Engine(config, store, url_overrides=world.url_overrides, log=EventLog(quiet=True),
                        idle_poll=0.05, control_every=0.1, heartbeat_every=0.5, maintenance_every=30)
        await engine.start()
        woo = world.apps_of("acme", "woocommerce")[0]
        sender = attach(woo, engine.intake.hook_url("acme", "woo"), SECRET)
        try:
            await until(lambda: not any(p.lock.locked() for p in engine.pollers.values()), 5, "start-up poll")
            await body(engine, woo, sender)
        finally:
            sender.close()
            await engine.stop(deadline=5)

    try:
        asyncio.run(asyncio.wait_for(main(), 40))
    finally:
        world.stop()
        store.close()


def test_signed_order_webhooks_deliver_without_a_poll_and_an_update_is_one_more_version(tmp_path, monkeypatch):
    async def body(engine: Engine, woo: Any, sender: Any) -> None:
        oid = woo.place_order([("MUG-WHITE", 2)])
        await until(lambda: any(r["state"] == "delivered" for r in records(engine.store, "woo-orders")), 10,
                    "woo order delivered by its webhook")
        woo.update_order(oid, status="completed")
        await until(lambda: len(records(engine.store, "woo-orders")) == 2, 10, "the update taken in")
        assert {r["entity_key"] for r in records(engine.store, "woo-orders")} == {str(oid)}
        assert all(s.status == 200 for s in await asyncio.to_thread(lambda: sender.drain() and sender.sent))
        # The same delivery again (WooCommerce retries after a timeout) is refused as a replay.
        raw, headers = sender.render(sender_event(sender, woo, oid))
        async with httpx.AsyncClient() as http:
            first = await http.post(sender.url, content=raw, headers=headers)
            again = await http.post(sender.url, content=raw, headers=headers)
        assert (first.status_code, again.status_code) == (200, 401)
        assert len(records(engine.store, "woo-orders")) == 2  # nothing new: the poll's key, same order state
        await engine.intake.receiver.flush()
        assert read_all(engine.store)[("acme", "woo")]["accepted"] >= 3
    _scenario(tmp_path, monkeypatch, body)


def sender_event(sender: Any, woo: Any, oid: int) -> Any:
    from syncops.simulator.webhooks import _Event

    return _Event("woocommerce", "order.updated", woo.orders[oid])


def test_the_save_time_ping_gets_its_200_and_forgeries_get_nothing(tmp_path, monkeypatch):
    async def body(engine: Engine, woo: Any, sender: Any) -> None:
        url = engine.intake.hook_url("acme", "woo")
        async with httpx.AsyncClient() as http:
            ping = await http.post(url, content=b"webhook_id=42",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert ping.status_code == 200  # WooCommerce will not save the webhook without it
            sender.set(forge=1.0)
            woo.place_order([("TSHIRT-RED-M", 1)])
            assert await asyncio.to_thread(sender.drain)
            assert [s.status for s in sender.sent] == [401]
            # Not a ping: an unsigned body of another shape is refused as unsigned.
            odd = await http.post(url, content=b"webhook_id=42&x=1")
            assert odd.status_code == 401
        assert records(engine.store, "woo-orders") == []
        await engine.intake.receiver.flush()
        counts = read_all(engine.store)[("acme", "woo")]
        assert counts["ping"] == 1 and counts["forged"] == 1 and counts["unsigned"] == 1
    _scenario(tmp_path, monkeypatch, body)
