"""The fleet view: tenants worst first, the first screen with more than one tenant, drilling in."""

from __future__ import annotations

from syncops.console.screens.dashboard import DashboardScreen
from syncops.console.screens.exceptions import ExceptionsScreen
from syncops.console.screens.fleet import FleetScreen
from syncops.services.fleet import fleet

from .conftest import run, screen_lines, screen_text, settle
from .fixture_store import ACME, BELLA


def test_rollup_worst_first_with_the_tenants_figures(store, config) -> None:
    f = fleet(store, config)
    acme, bella = f.tenants
    assert (acme.tenant, bella.tenant) == (ACME, BELLA)
    # acme: a 1h old undelivered order (SLA 10m) is critical; the erp breaker is open.
    assert (acme.health, acme.sla, acme.failed, acme.breakers_open) == ("critical", "breach", 6, 1)
    assert (bella.failed, bella.quarantined, bella.paused, bella.breakers_open) == (25, 1, 1, 0)
    assert acme.worst_flow == "web-orders-to-erp" and any("SLA" in r for r in acme.reasons)


def test_first_screen_is_the_fleet_with_more_than_one_tenant(make_app) -> None:
    async def go() -> None:
        app = make_app(first_screen=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, FleetScreen)
            lines = screen_lines(app)
            text = screen_text(app)
            assert "Fleet  2 tenants  1 critical" in text
            acme = next(line for line in lines if f"◆ {ACME}" in line)
            bella = next(line for line in lines if f" {BELLA} " in line)
            assert lines.index(acme) < lines.index(bella)  # worst first
            assert acme.split()[2:7] == ["CRIT", "6", "·", "BREACH", "1h00m"]
            assert bella.split()[1:4] == ["warn", "25", "1"]
    run(go())


def test_enter_drills_into_the_tenants_dashboard_and_esc_comes_back(make_app) -> None:
    async def go() -> None:
        app = make_app(first_screen=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("down", "enter")
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen)
            text = screen_text(app)
            assert f"2 flows  of tenant {BELLA}" in text and ACME not in text.split("Dashboard", 1)[1]
            await pilot.press("escape")  # every tenant again
            await settle(pilot)
            assert "4 flows" in screen_text(app) and isinstance(app.screen, DashboardScreen)
            await pilot.press("escape")  # home: the fleet
            await settle(pilot)
            assert isinstance(app.screen, FleetScreen)
            await pilot.press("e")  # the highlighted tenant's exceptions
            await settle(pilot)
            assert isinstance(app.screen, ExceptionsScreen) and f"tenant:{BELLA}" in screen_text(app)
            await pilot.press("0")
            await settle(pilot)
            assert isinstance(app.screen, FleetScreen)
    run(go())


def test_one_tenant_opens_on_the_dashboard(make_app, config) -> None:
    del config.tenants[BELLA]

    async def go() -> None:
        app = make_app(first_screen=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen)
            await pilot.press("2", "f")  # f reaches the fleet from any screen but the dashboard (Flows)
            await settle(pilot)
            assert isinstance(app.screen, FleetScreen)
    run(go())
