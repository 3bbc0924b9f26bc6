"""Shared set-up for the Amazon tests: simulator app on 127.0.0.1 and a connector on a fake clock."""

from __future__ import annotations

import asyncio
from typing import Any

from syncops.connectors.amazon import AmazonConnector
from syncops.connectors.base import Delivery
from syncops.models import validate_payload
from syncops.simulator.amazon import AmazonApp
from syncops.simulator.faults import Faults
from syncops.simulator.http import SimServer

SECRET = '{"refresh_token": "Atzr|refresh-abc", "client_secret": "amzn1.oa2-cs.v1.secret-xyz"}'
SKUS = {"TSHIRT-RED-M": "19.99", "MUG-WHITE": "12.50", "CAP-BLK": "15.00"}


def make_app(clock: Any, **kw: Any) -> AmazonApp:
    kw.setdefault("skus", SKUS)
    return AmazonApp(Faults(clock=clock), clock, **kw)


def connector(server: SimServer, clock: Any, secret: str = SECRET, **options: Any) -> AmazonConnector:
    options.setdefault("client_id", "amzn1.application-oa2-client.sim")
    options.setdefault("seller_id", getattr(server.app, "seller_id", "A2SIMSELLER01"))
    options.setdefault("orders_since", "2023-01-01T00:00:00Z")

    async def sleep(seconds: float) -> None:  # waiting for a rate-limit token moves the fake clock
        clock.advance(seconds)

    return AmazonConnector(server.url, secret, clock=clock, options=options, sleep=sleep)


def run(fn: Any, server: SimServer, clock: Any, secret: str = SECRET, **options: Any) -> Any:
    async def go() -> Any:
        conn = connector(server, clock, secret, **options)
        try:
            return await fn(conn)
        finally:
            await conn.aclose()
    return asyncio.run(go())


async def pull_all(conn: AmazonConnector, entity: str, cursor: str | None, limit: int = 100) -> tuple[list, str | None]:
    changes = []
    while True:
        page = await conn.pull(entity, cursor, limit)
        changes += page.changes
        cursor = page.cursor
        if not page.has_more:
            return changes, cursor


def stock(sku: str, available: int, location: str = "DEFAULT") -> dict[str, Any]:
    return {"sku": sku, "location_id": location, "available": available, "on_hand": available,
            "changed_at": "2024-05-01T10:00:00Z", "source_ref": None}


def deliveries(payloads: list[dict[str, Any]]) -> list[Delivery]:
    out = []
    for i, p in enumerate(payloads, start=1):
        validate_payload("inventory", p)
        out.append(Delivery(record_id=i, delivery_key=f"k{i}", entity_key=f"{p['sku']}@{p['location_id']}",
                            payload=p))
    return out
