"""Engine with webhook intake on 127.0.0.1, simulated vendors posting signed webhooks to it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from syncops.config import load_config
from syncops.engine.events import EventLog
from syncops.engine.runtime import Engine
from syncops.simulator.bigcommerce import BigCommerceApp
from syncops.simulator.faults import Faults
from syncops.simulator.http import SimServer
from syncops.simulator.odoo import OdooApp
from syncops.simulator.shopify import ShopifyApp
from syncops.simulator.square import SquareApp
from syncops.simulator.webhooks import attach
from syncops.store.db import open_store

SKUS = ["TSHIRT-RED-M", "MUG-WHITE"]
SECRETS = {"pos": "sq-signature-key", "web": "shopify-client-secret", "bc": "bc-hook-secret"}
# Polls every hour: after the first one at start, only a webhook can bring a change in.
CONFIG = """
webhooks: {listen: "127.0.0.1:0", max_body: 4KiB, tolerance: 5m}
tenants:
  acme:
    endpoints:
      pos: {kind: square, base_url: simulator, webhook: {credential: "env:SQ_KEY"}}
      web: {kind: shopify, base_url: simulator, webhook: {credential: "env:SHOP_KEY"}}
      bc: {kind: bigcommerce, base_url: simulator, options: {order_location: web},
           webhook: {credential: "env:BC_KEY", header: X-Acme-Hook}}
      erp: {kind: odoo, base_url: simulator}
    maps:
      sku: {TSHIRT-RED-M: TSHIRT-RED-M, MUG-WHITE: MUG-WHITE}
      tax: {"Sales Tax": "Tax 8.25%", "BC-TAX": "Tax 8.25%"}
      erp_location: {web: WH/Stock}
      erp_payment: {shopify_payments: Bank, "Credit Card": Bank}
      bc_status: {awaiting_fulfillment: sale}
    flows:
      - {name: inventory, entity: inventory, source: pos, target: web, schedule: {every: 1h}, sla: 1m,
         mappings: {sku: sku}}
      - {name: web-orders, entity: order, source: web, target: erp, schedule: {every: 1h}, sla: 1m,
         mappings: {sku: sku, tax_code: tax, location: erp_location, payment_method: erp_payment}}
      - {name: bc-orders, entity: order, source: bc, target: erp, schedule: {every: 1h}, sla: 1m,
         mappings: {sku: sku, tax_code: tax, location: erp_location, payment_method: erp_payment,
                    order_status: bc_status}}
"""


def secret_env() -> dict[str, str]:
    return {"SQ_KEY": SECRETS["pos"], "SHOP_KEY": SECRETS["web"], "BC_KEY": SECRETS["bc"]}


class Hooked:
    def __init__(self, tmp_path: Path, monkeypatch: Any, config_text: str = CONFIG) -> None:
        for k, v in secret_env().items():
            monkeypatch.setenv(k, v)
        path = tmp_path / "syncops.yaml"
        path.write_text(config_text)
        self.config = load_config(path)
        self.store = open_store(f"sqlite:///{tmp_path}/store.db")
        self.square = SquareApp(Faults(), skus=SKUS, locations=["store-1"])
        self.shopify = ShopifyApp(Faults(), skus=SKUS, locations=["store-1", "web"], tax_title="Sales Tax")
        self.bc = BigCommerceApp(Faults(), skus=SKUS, locations=["store-1"])
        self.odoo = OdooApp(Faults(), skus={s: "10.00" for s in SKUS}, locations=("WH/Stock",),
                            taxes={"Tax 8.25%": "8.25"})
        self.servers = {"pos": SimServer(self.square).start(), "web": SimServer(self.shopify).start(),
                        "bc": SimServer(self.bc).start(), "erp": SimServer(self.odoo).start()}
        self.events: list[tuple[str, dict]] = []
        self.engine: Engine | None = None
        self.senders: dict[str, Any] = {}

    @property
    def urls(self) -> dict[tuple[str, str], str]:
        urls = {("acme", name): s.url for name, s in self.servers.items()}
        urls[("acme", "bc")] = self.servers["bc"].url + "/stores/abc123"
        return urls

    async def start(self) -> Engine:
        log = EventLog(quiet=True)
        log.listeners.append(lambda event, fields: self.events.append((event, fields)))
        self.engine = Engine(self.config, self.store, url_overrides=self.urls, log=log, idle_poll=0.05,
                             control_every=0.1, heartbeat_every=0.5, maintenance_every=30)
        await self.engine.start()
        intake = self.engine.intake
        self.senders = {
            "pos": attach(self.square, intake.hook_url("acme", "pos"), SECRETS["pos"]),
            "web": attach(self.shopify, intake.hook_url("acme", "web"), SECRETS["web"]),
            "bc": attach(self.bc, intake.hook_url("acme", "bc"), SECRETS["bc"], header="X-Acme-Hook"),
        }
        await self.first_polls_done()
        return self.engine

    async def first_polls_done(self, timeout: float = 10.0) -> None:
        """The start-up poll of every flow has run; the next is an hour away."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            jobs = [self.engine.scheduler.get_job(f"poll:acme:{f}") for f in ("inventory", "web-orders", "bc-orders")]
            if all(j.next_run_time.timestamp() > time.time() + 600 for j in jobs) and \
                    not any(p.lock.locked() for p in self.engine.pollers.values()):
                return
            await asyncio.sleep(0.02)
        raise AssertionError("start-up polls did not finish")

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop(deadline=5)

    def close(self) -> None:
        for s in self.senders.values():
            s.close()
        for s in self.servers.values():
            s.stop()
        self.store.close()


def records(store: Any, flow: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from syncops.store.tables import Record

    R = Record.__table__
    with store.read() as conn:
        rows = conn.execute(select(R.c.id, R.c.entity_key, R.c.idempotency_key, R.c.state)
                            .where(R.c.flow == flow).order_by(R.c.id)).all()
    return [dict(r._mapping) for r in rows]
