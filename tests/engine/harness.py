"""A real engine against real simulated vendors on 127.0.0.1, driven from tests."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable

from syncops.config import load_config
from syncops.engine.events import EventLog
from syncops.engine.runtime import Engine
from syncops.simulator.faults import Faults
from syncops.simulator.http import Request, Response, SimServer
from syncops.simulator.odoo import OdooApp
from syncops.simulator.shopify import ShopifyApp
from syncops.simulator.square import SquareApp
from syncops.store.db import open_store

SKUS = ["TSHIRT-RED-M", "MUG-WHITE", "CAP-BLK"]
CONFIG = """
tenants:
  acme:
    endpoints:
      pos: {kind: square, base_url: simulator}
      web: {kind: shopify, base_url: simulator}
      erp: {kind: odoo, base_url: simulator}
    maps:
      sku: {TSHIRT-RED-M: TSHIRT-RED-M, MUG-WHITE: MUG-WHITE}
      all_sku: {TSHIRT-RED-M: TSHIRT-RED-M, MUG-WHITE: MUG-WHITE, CAP-BLK: CAP-BLK}
      tax: {"Sales Tax": "Tax 8.25%"}
      erp_location: {web: WH/Stock}
      erp_payment: {shopify_payments: Bank}
    flows:
      - name: inventory
        entity: inventory
        source: pos
        target: web
        schedule: {every: 0.5s}
        sla: 1m
        retry: {max_attempts: 5, base_delay: 0.05s, max_delay: 0.2s}
        mappings: {sku: sku}
      - name: web-orders
        entity: order
        source: web
        target: erp
        schedule: {every: 0.5s}
        sla: 1m
        retry: {max_attempts: 5, base_delay: 0.05s, max_delay: 0.2s}
        mappings: {sku: all_sku, tax_code: tax, location: erp_location, payment_method: erp_payment}
"""


class Recorder:
    """Wraps a VendorApp and notes when each request arrived (to check waits were honoured)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.name = app.name
        self.arrivals: list[float] = []
        self.drop_writes = 0  # apply the next N mutations, then drop the connection unanswered
        self.garbage_429s: list[str] = []  # answer the next requests 429 with these Retry-After values

    def handle(self, request: Request) -> Response:
        self.arrivals.append(time.monotonic())
        if self.garbage_429s:
            return Response(429, {"errors": [{"message": "Throttled"}]},
                            headers={"Retry-After": self.garbage_429s.pop(0)})
        response = self.app.handle(request)
        if self.drop_writes and b"mutation" in request.body:
            self.drop_writes -= 1
            return Response(drop_connection=True)  # applied at the vendor; the answer is lost
        return response


class Harness:
    def __init__(self, tmp_path: Path, config_text: str = CONFIG, store_url: str | None = None) -> None:
        path = tmp_path / "syncops.yaml"
        path.write_text(config_text)
        self.config = load_config(path)
        self.store_url = store_url or f"sqlite:///{tmp_path}/store.db"
        self.store = open_store(self.store_url)
        self.square = SquareApp(Faults(), skus=SKUS, locations=["store-1"])
        self.shopify = ShopifyApp(Faults(), skus=SKUS, locations=["store-1", "web"], tax_title="Sales Tax")
        self.odoo = OdooApp(Faults(), skus={s: "10.00" for s in SKUS}, locations=("WH/Stock",),
                            taxes={"Tax 8.25%": "8.25"})
        self.shopify_rec = Recorder(self.shopify)
        self.servers = {"pos": SimServer(self.square).start(), "web": SimServer(self.shopify_rec).start(),
                        "erp": SimServer(self.odoo).start()}
        self.events: list[tuple[str, dict]] = []
        self.engine: Engine | None = None

    @property
    def urls(self) -> dict[tuple[str, str], str]:
        return {("acme", name): s.url for name, s in self.servers.items()}

    def make_engine(self, store: Any = None, **kwargs: Any) -> Engine:
        log = EventLog(quiet=True)
        log.listeners.append(lambda event, fields: self.events.append((event, fields)))
        opts = dict(idle_poll=0.05, control_every=0.1, heartbeat_every=0.5, maintenance_every=0.2,
                    breaker_cooldown=0.3)
        opts.update(kwargs)
        return Engine(self.config, store or self.store, url_overrides=self.urls, log=log, **opts)

    async def start(self, **kwargs: Any) -> Engine:
        self.engine = self.make_engine(**kwargs)
        await self.engine.start()
        return self.engine

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop(deadline=5)

    def close(self) -> None:
        for s in self.servers.values():
            s.stop()
        self.store.close()


async def until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Wait for a condition the engine should reach; fail with its name after `timeout`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def states(store: Any, flow: str | None = None) -> dict[str, int]:
    from sqlalchemy import func, select

    from syncops.store.tables import Record

    R = Record.__table__
    stmt = select(R.c.state, func.count()).group_by(R.c.state)
    if flow:
        stmt = stmt.where(R.c.flow == flow)
    with store.read() as conn:
        return dict(conn.execute(stmt).all())
