"""Inventory reconciliation over real HTTP: drift found, shown, corrected, healed; in-flight keys
are not drift; `syncops reconcile inventory` and `syncops status` report the last check."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from syncops.services.actions import act
from syncops.services.actor import Actor
from syncops.store import lifecycle
from syncops.store.drift import last_runs
from syncops.store.tables import AuditEvent, Record

from tests.engine.harness import Harness, until

ME = Actor("tech", "10.0.0.9", "cli")
R = Record.__table__
E = AuditEvent.__table__
KEYS = ("TSHIRT-RED-M@store-1", "MUG-WHITE@store-1")


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.close()


def drifts(store, state=None):
    stmt = select(R).where(R.c.error_category == "drift").order_by(R.c.id)
    if state:
        stmt = stmt.where(R.c.state == state)
    with store.read() as conn:
        return conn.execute(stmt).all()


def state_of(store, rid):
    with store.read() as conn:
        return conn.execute(select(R.c.state).where(R.c.id == rid)).scalar()


def audit(store, action):
    with store.read() as conn:
        return conn.execute(select(E).where(E.c.action == action).order_by(E.c.id)).all()


async def synced(h):
    """Engine running, both mapped SKUs delivered to the web shop."""
    await h.start()
    for sku in ("TSHIRT-RED-M", "MUG-WHITE"):
        want = h.square.count(sku, "store-1")
        await until(lambda sku=sku, want=want: h.shopify.level(sku, "store-1") == want, what=f"{sku} at the web shop")
    await until(lambda: _delivered(h.store) >= 2, what="deliveries settled")


def _delivered(store):
    with store.read() as conn:
        return len(conn.execute(select(R.c.id).where(R.c.flow == "inventory", R.c.state == "delivered")).all())


def test_injected_drift_is_found_shown_once_and_corrected_by_an_operator_retry(h):
    async def scenario():
        await synced(h)
        source = h.square.count("MUG-WHITE", "store-1")
        held = h.shopify.adjust_behind_back("MUG-WHITE", "store-1", -5)  # a recount in the Shopify admin
        result = await h.engine.run_reconcile("acme")
        assert (result.checked, result.drifted) == (2, 1)  # CAP-BLK is unmapped: a mapping exception, not drift
        [d] = drifts(h.store)
        assert (d.state, d.entity, d.entity_key, d.flow, d.target) == ("failed", "inventory", "MUG-WHITE@store-1",
                                                                       "inventory", "web")
        assert d.error_message.startswith(f"drift: web holds {held}, pos holds {source} (source of truth), "
                                          "last synced 20")
        assert json.loads(d.payload)["available"] == source
        assert audit(h.store, "drift_found")[0].target_id == str(d.id)

        # Checking again while it is open updates that record; it never opens a second one.
        h.shopify.adjust_behind_back("MUG-WHITE", "store-1", -1)
        await h.engine.run_reconcile("acme")
        [again] = drifts(h.store)
        assert again.id == d.id and f"web holds {held - 1}," in again.error_message

        # One action pushes the correction: an audited retry, delivered as an overwrite.
        act(h.store, "retry", d.id, actor=ME)
        await until(lambda: h.shopify.level("MUG-WHITE", "store-1") == source, what="the correction at the web shop")
        await until(lambda: state_of(h.store, d.id) == "delivered", what="the drift record delivered")
        [retry] = audit(h.store, "retry")
        assert (retry.actor, retry.target_id) == ("tech", str(d.id))
        after = await h.engine.run_reconcile("acme")
        assert (after.checked, after.drifted) == (2, 0)
        await h.stop()

    asyncio.run(scenario())


def test_a_drift_that_heals_by_itself_is_resolved_by_the_engine(h):
    async def scenario():
        await synced(h)
        level = h.shopify.level("TSHIRT-RED-M", "store-1")
        h.shopify.adjust_behind_back("TSHIRT-RED-M", "store-1", 4)
        assert (await h.engine.run_reconcile("acme")).drifted == 1
        h.shopify.set_level("TSHIRT-RED-M", "store-1", level)  # someone put it right in the admin
        healed = await h.engine.run_reconcile("acme")
        assert healed.drifted == 0 and healed.flows[0].healed == 1
        [d] = drifts(h.store)
        assert (d.state, d.resolution) == ("resolved", "drift healed")
        [event] = audit(h.store, "auto_resolve")
        assert (event.actor, event.via, event.reason, event.target_id) == ("engine", "engine", "drift healed", str(d.id))
        await h.stop()

    asyncio.run(scenario())


def cli_config(h, tmp_path):
    """The harness tenant, pointed at the running simulators by URL (what a CLI run reads)."""
    text = h.config.source_path.read_text()
    for name, server in h.servers.items():
        kind = {"pos": "square", "web": "shopify", "erp": "odoo"}[name]
        text = text.replace(f"{name}: {{kind: {kind}, base_url: simulator}}",
                            f"{name}: {{kind: {kind}, base_url: '{server.url}', credential: 'env:SIM_TOKEN'}}")
    path = tmp_path / "cli.yaml"
    path.write_text(text)
    return path


def test_cli_reports_drift_skips_in_flight_keys_and_status_shows_the_last_check(h, tmp_path, monkeypatch, capsys):
    from syncops.cli import main

    async def sync_then_stop():
        await synced(h)
        await h.stop()

    asyncio.run(sync_then_stop())
    # MUG-WHITE drifted; TSHIRT-RED-M differs too, but a newer record for it is still on its way.
    source = h.square.count("MUG-WHITE", "store-1")
    h.shopify.adjust_behind_back("MUG-WHITE", "store-1", -7)
    h.shopify.adjust_behind_back("TSHIRT-RED-M", "store-1", -2)
    lifecycle.enqueue(h.store, [lifecycle.NewRecord(
        tenant="acme", flow="inventory", entity="inventory", entity_key="TSHIRT-RED-M@store-1",
        idempotency_key="later-count", target="web", source_ts=h.store.clock(), coalesce=True,
        payload={"sku": "TSHIRT-RED-M", "location_id": "store-1", "available": 30,
                 "changed_at": "2026-01-01T00:00:00+00:00"})])
    monkeypatch.setenv("SIM_TOKEN", "any-token")
    argv = ["--config", str(cli_config(h, tmp_path)), "--store", h.store_url]

    capsys.readouterr()
    code = main(["reconcile", "inventory", "--json", *argv])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    [tenant] = out["tenants"]
    assert (tenant["tenant"], tenant["checked"], tenant["drifted"], tenant["in_transit"]) == ("acme", 1, 1, 1)
    worst = tenant["worst"]
    assert (worst["key"], worst["source_value"], worst["target_value"], worst["difference"]) == \
        ("MUG-WHITE@store-1", source, source - 7, 7)
    assert [d.entity_key for d in drifts(h.store, "failed")] == ["MUG-WHITE@store-1"]
    assert last_runs(h.store)["acme"]["drifted"] == 1

    code = main(["reconcile", "inventory", "--tenant", "acme", *argv])
    text = capsys.readouterr().out
    assert code == 1 and "DRIFT acme/inventory MUG-WHITE@store-1: web holds" in text
    assert len(drifts(h.store, "failed")) == 1  # still the one record

    assert main(["reconcile", "inventory", "--tenant", "nope", *argv]) == 3

    main(["status", "--json", *argv])
    status = json.loads(capsys.readouterr().out)
    [rec] = status["reconciliation"]
    assert (rec["tenant"], rec["checked"], rec["drifted"], rec["worst"]["key"]) == ("acme", 1, 1, "MUG-WHITE@store-1")
    main(["status", *argv])
    assert "reconcile acme: 1 checked, 1 drifted" in capsys.readouterr().out


def test_the_engine_reconciles_each_tenant_on_its_configured_schedule(tmp_path):
    from tests.engine.harness import CONFIG

    h = Harness(tmp_path, CONFIG.replace("  acme:\n", "  acme:\n    reconcile: {every: 0.5s}\n", 1))
    try:
        async def scenario():
            await synced(h)
            h.shopify.adjust_behind_back("MUG-WHITE", "store-1", -2)
            await until(lambda: any(d.state == "failed" for d in drifts(h.store)), timeout=30,
                        what="the scheduled reconciliation to find the drift")
            assert last_runs(h.store)["acme"]["worst"]["key"] == "MUG-WHITE@store-1"
            assert any(e == "reconciled" for e, _ in h.events)
            await h.stop()

        asyncio.run(scenario())
    finally:
        h.close()
