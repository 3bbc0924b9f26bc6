"""Issue 8: the reconciliation screen (6) shows the last run per tenant; issue 10: a firing alert is in
the header and on the dashboard. Snapshots at 80x24 and 120x40 (update with --snapshot-update)."""

from __future__ import annotations

from typing import Any

import pytest

from syncops.ops import alerts, meta
from syncops.services import reconcile_documents
from syncops.store import drift

from .conftest import run, screen_lines, screen_text, settle
from .fixture_store import ACME, BELLA, T0

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def seed_reconciliation(store) -> None:
    drift.save_last(store, ACME, {
        "tenant": ACME, "at": T0 - 300, "checked": 120, "drifted": 3, "healed": 1, "in_transit": 0,
        "skipped": 0, "errors": [],
        "worst": {"flow": "inventory-pos-to-web", "key": "MUG-WHITE@store-1", "target_key": "MUG-WHITE@store-1",
                  "source": "pos", "target": "web", "source_value": 10, "target_value": 3, "difference": 7,
                  "last_synced": T0 - 4000, "record": None}})
    reconcile_documents._save(store, f"reconcile:orders:{ACME}",
                              {"at": T0 - 900, "checked": 40, "differences": 2, "errors": []})
    # bella: never reconciled inventory; a settlements run that could not read the ERP.
    reconcile_documents._save(store, f"reconcile:settlements:{BELLA}",
                              {"at": T0 - 7200, "checked": 0, "differences": 0,
                               "errors": ["payouts-to-erp: unavailable: 503"]})


def fire_alert(store, rule: str = "sla_breach", flow: str = "web-orders-to-erp", since: float = T0 - 250) -> None:
    key = f"{rule}:{ACME}:{flow}"
    meta.put(store, alerts.STATE + key, {
        "key": key, "state": alerts.FIRING, "rule": rule, "tenant": ACME, "flow": flow, "endpoint": None,
        "problem": f"{flow}: p95 latency over the SLA", "since": since, "records": 4,
        "command": f"syncops records list --tenant {ACME} --flow {flow}", "console": f":flow {flow}",
        "severity": "critical", "first_seen": since, "last_notified": since, "notifications": 1,
        "checked_at": T0})


def test_readers_keep_inventory_and_documents_runs_apart(store, config):
    seed_reconciliation(store)
    assert set(drift.last_runs(store)) == {ACME}
    docs = reconcile_documents.last_runs(store)
    assert set(docs) == {("orders", ACME), ("settlements", BELLA)}
    assert docs[("orders", ACME)]["differences"] == 2


def test_reconcile_screen_shows_last_run_per_tenant_and_opens_drift(store, make_app):
    seed_reconciliation(store)

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("6")
            await settle(pilot)
            assert app.current_mode == "reconcile"
            text = screen_text(app)
            assert "Reconciliation  2 tenants  5 drifted  160 checked  never run: bella" in text
            acme = next(line for line in screen_lines(app) if "acme" in line and "inventory" in line)
            assert "5m00s" in acme and "120" in acme and " 3 " in acme and "MUG-WHITE@store-1 Δ7" in acme
            orders = next(line for line in screen_lines(app) if "orders" in line and "acme" in line)
            assert "40" in orders and "15m00s" in orders
            assert any("bella" in line and "never" in line for line in screen_lines(app))
            assert "1 error: payouts" in text
            assert "worst: MUG-WHITE@store-1 Δ7 (pos 10, web 3)" in text
            await pilot.press("enter")
            await settle(pilot)
            assert app.current_mode == "exceptions"
            assert "cat:drift" in screen_text(app) and f"tenant:{ACME}" in screen_text(app)

    run(scenario())


def test_reconcile_screen_in_palette_and_help(store, make_app):
    from syncops.console.commands import SCREENS
    from syncops.console.screens.help import HelpScreen
    from syncops.console.screens.reconcile import ReconcileScreen

    assert "reconcile" in [mode for mode, _t, _h in SCREENS]

    async def scenario():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("6")
            await settle(pilot)
            await pilot.press("question_mark")
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen)
            text = " ".join(screen_text(app).split())
            assert "cat:drift tenant:T" in text and "Reconciliation" in text
            assert ReconcileScreen.HELP.split(".")[0].split()[-1] in text

    run(scenario())


def test_firing_alert_in_header_and_dashboard_at_80x24(store, make_app):
    fire_alert(store)
    fire_alert(store, rule="breaker_open", flow="inventory-pos-to-web", since=T0 - 1000)

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            lines = screen_lines(app)
            assert f"ALERT sla_breach {ACME}/web-orders-to-erp (+1 more)" in lines[0]
            text = screen_text(app)
            assert "2 alerts firing" in text and f"newest: sla_breach {ACME}/web-orders-to-erp 4m10s ago" in text
            # It clears: header and dashboard line go at the next tick.
            meta.drop(store, list(meta.scan(store, alerts.STATE)))
            app.refresh_now()
            await settle(pilot)
            text = screen_text(app)
            assert "ALERT" not in text and "alerts firing" not in text

    run(scenario())


def test_no_alert_no_line(store, make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert "ALERT" not in screen_text(app) and "firing" not in screen_text(app)

    run(scenario())


async def _reconcile(pilot: Any) -> None:
    seed_reconciliation(pilot.app.backend.store)
    await pilot.press("6")


async def _alerting_dashboard(pilot: Any) -> None:
    fire_alert(pilot.app.backend.store)
    pilot.app.refresh_now()


SCREENS = {"reconcile": _reconcile, "dashboard_alert": _alerting_dashboard}
VISIBLE = {
    "reconcile": ["Reconciliation  2 tenants  5 drifted", "MUG-WHITE@store-1 Δ7", "never", "120", "Drift"],
    "dashboard_alert": [f"ALERT sla_breach {ACME}/web-orders-to-erp", "1 alert firing", "newest: sla_breach"],
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen(name: str, size: tuple[int, int], snap_compare, make_app) -> None:
    seen: list[str] = []

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await SCREENS[name](pilot)
        await settle(pilot)
        seen.append(screen_text(pilot.app))

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)
    for figure in VISIBLE[name]:
        assert figure in seen[-1], (name, size, figure)
