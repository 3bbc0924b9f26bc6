"""A delivery whose outcome is unknown (a crash, a reset, a garbage answer) is resolved at the
target before anything newer is computed on top of it: no SKU drifts for good."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from sqlalchemy import select

from syncops.store import lifecycle, queries
from syncops.store.lifecycle import NewRecord
from syncops.store.tables import Attempt, EndpointState, Record

from tests.engine.harness import CONFIG, Harness, until

SKU, LOC = "TSHIRT-RED-M", "store-1"
KEY = f"{SKU}@{LOC}"


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.close()


def run(coro):
    return asyncio.run(coro)


def rows(store, key: str = KEY) -> list:
    R = Record.__table__
    with store.read() as conn:
        return conn.execute(select(R).where(R.c.entity_key == key).order_by(R.c.id)).all()


def attempts(store, rid: int) -> list:
    A = Attempt.__table__
    with store.read() as conn:
        return conn.execute(select(A).where(A.c.record_id == rid).order_by(A.c.id)).all()


def no_open_trouble(store) -> bool:
    """Every record of the SKU under test is settled (other SKUs fail on purpose: unmapped)."""
    return all(r.state in ("delivered", "superseded") for r in rows(store))


async def first_level(h: Harness, qty: int) -> None:
    h.square.set_count(SKU, LOC, qty)
    await until(lambda: h.shopify.level(SKU, LOC) == qty, what=f"web level {qty}")
    await until(lambda: no_open_trouble(h.store), what="nothing open")


def stock_record(template: Record, qty: int, event: str) -> NewRecord:
    payload = dict(json.loads(template.payload), available=qty)
    return NewRecord(tenant="acme", flow="inventory", entity="inventory", entity_key=KEY, idempotency_key=event,
                     target="web", payload=payload, source_ts=0.0, coalesce=True)


def test_applied_but_unrecorded_stock_change_then_a_newer_one_converges_to_the_newest(h):
    """The reproduced drift: the engine died after Shopify applied 36; the record was reclaimed;
    a newer 100 arrived. The newer value must land and nothing may conflict for good."""
    async def scenario():
        await h.start()
        await first_level(h, 30)
        await h.stop()

        template = rows(h.store)[-1]
        [a] = lifecycle.enqueue(h.store, [stock_record(template, 36, "ghost-36")]).inserted
        # A dead engine claimed it, Shopify applied it, and the engine died before recording that.
        lifecycle.claim(h.store, tenant="acme", target="web", owner="dead-engine", lease_seconds=-1)
        h.shopify.set_level(SKU, LOC, 36)
        assert lifecycle.reclaim_expired(h.store) == 1
        result = lifecycle.enqueue(h.store, [stock_record(template, 100, "newer-100")])
        assert result.superseded == 0  # the unknown outcome is not thrown away
        [b] = result.inserted

        await h.start()
        await until(lambda: h.shopify.level(SKU, LOC) == 100, what="the newest value at the web shop")
        await until(lambda: no_open_trouble(h.store), what="nothing left open")
        await h.stop()
        by_id = {r.id: r for r in rows(h.store)}
        assert by_id[a].state == "delivered" and not by_id[a].outcome_unknown
        assert by_id[b].state == "delivered"
        assert any("already at target: Shopify holds 36" in (t.error_message or "") for t in attempts(h.store, a))
        assert queries.failures_by_category(h.store).get("conflict", 0) == 0
    run(scenario())


def test_a_connection_reset_after_shopify_applied_the_change_does_not_freeze_the_sku(h):
    async def scenario():
        await h.start()
        await first_level(h, 30)
        h.shopify_rec.drop_writes = 1  # Shopify applies 36; the answer never arrives
        h.square.set_count(SKU, LOC, 36)
        await until(lambda: h.shopify.level(SKU, LOC) == 36, what="the lost write applied")
        h.square.set_count(SKU, LOC, 100)
        await until(lambda: h.shopify.level(SKU, LOC) == 100, what="the newest value after the reset")
        await until(lambda: no_open_trouble(h.store), what="nothing left open")
        # Later changes keep flowing: the SKU is not stuck in conflict.
        h.square.set_count(SKU, LOC, 7)
        await until(lambda: h.shopify.level(SKU, LOC) == 7, what="a later change")
        await h.stop()
        lost = [r for r in rows(h.store) if any("may have been applied" in (t.error_message or "")
                                               for t in attempts(h.store, r.id))]
        assert lost, "the reset was seen as an unknown outcome"
        assert queries.failures_by_category(h.store).get("conflict", 0) == 0
    run(scenario())


def test_a_foreign_change_is_a_conflict_that_names_every_value(h):
    async def scenario():
        await h.start()
        await first_level(h, 30)
        await h.stop()
        h.shopify.set_level(SKU, LOC, 22)  # someone edits the storefront behind our back
        h.square.set_count(SKU, LOC, 40)
        await h.start()
        await until(lambda: queries.failures_by_category(h.store).get("conflict", 0) == 1, what="conflict")
        await h.stop()
        [rec] = [r for r in rows(h.store) if r.state == "failed"]
        assert ("Shopify holds 22, syncops last delivered 30 and intends 40" in rec.error_message
                and "Retry to overwrite" in rec.error_message)
        assert h.shopify.level(SKU, LOC) == 22
    run(scenario())


def test_garbage_retry_after_waits_at_most_the_ceiling_and_stores_no_infinity(tmp_path):
    config = CONFIG.replace("web: {kind: shopify, base_url: simulator}",
                            "web: {kind: shopify, base_url: simulator, options: {max_wait: 1s}}")
    h = Harness(tmp_path, config)
    try:
        async def scenario():
            h.shopify_rec.garbage_429s = ["1e309", "99999999999", "nan", "-5", "Thu, 01 Jan 2099 00:00:00 GMT"]
            await h.start()
            h.square.set_count(SKU, LOC, 12)
            await until(lambda: h.shopify.level(SKU, LOC) == 12, timeout=15, what="delivery after the garbage")
            await h.stop()
        run(scenario())
        R, E = Record.__table__, EndpointState.__table__
        with h.store.read() as conn:
            dues = [v for (v,) in conn.execute(select(R.c.due_at)) if v is not None]
            waits = [v for (v,) in conn.execute(select(E.c.wait_until)) if v is not None]
        assert all(math.isfinite(v) for v in dues + waits)
        assert h.shopify_rec.garbage_429s == []  # every garbage answer was met and survived
    finally:
        h.close()
