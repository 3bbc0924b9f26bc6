"""Break-glass tenants in the console: locked keys say why, `:elevate` asks a reason, the header counts down."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from syncops.console.screens.exceptions import ExceptionsScreen
from syncops.console.widgets.bulk import BulkModal
from syncops.console.widgets.modals import ReasonModal
from syncops.store.tables import AuditEvent, Record

from .conftest import REPO, run, screen_text, settle, text_of
from .fixture_store import ACME, BELLA, TECH

E, R = AuditEvent.__table__, Record.__table__


def glass_app(store, config, clock):
    from syncops.console.app import SyncopsConsole

    tenants = dict(config.tenants)
    tenants[BELLA] = dataclasses.replace(tenants[BELLA], break_glass=True)
    return SyncopsConsole(store, dataclasses.replace(config, tenants=tenants), clock=clock, actor=TECH,
                          refresh_interval=None, theme_dirs=[REPO / "themes"], env={}, watch_tty=False)


def audit(store, action):
    with store.read() as conn:
        return conn.execute(select(E).where(E.c.action == action)).all()


def writes(store):
    with store.read() as conn:
        return conn.execute(select(func.sum(R.c.version))).scalar_one()


def test_locked_until_elevated_then_counts_down_and_expires(store, config, clock):
    before = writes(store)

    async def scenario():
        app = glass_app(store, config, clock)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await settle(pilot)
            app.go("exceptions", tenant=BELLA)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, ExceptionsScreen) and screen.window.rows
            assert "bella-boutique LOCKED" in text_of(screen.query_one("#status-header"))
            assert screen.check_action("bulk", ()) is False
            await pilot.press("r")
            await settle(pilot)
            assert app.screen is screen  # no dialog
            assert any("break-glass tenant bella-boutique" in n.message and ":elevate bella-boutique" in n.message
                       for n in app._notifications)
            # Another tenant is not affected.
            assert app.locked_tenant([ACME]) is None
            await pilot.press("question_mark")
            await settle(pilot)
            help_text = " ".join(text_of(app.screen.query_one("#help-text")).split())
            assert "Break-glass tenants (bella-boutique) open read-only" in help_text and ":elevate" in help_text
            assert ("screen", "r", "Retry", "disabled: break-glass") in app.screen.rows
            await pilot.press("escape")
            await settle(pilot)

            await pilot.press("colon")
            await settle(pilot)
            await pilot.press(*"elevate bella-boutique")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ReasonModal)
            await pilot.press(*"INC-7 stuck")
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is screen
            assert "bella-boutique ELEVATED 15:00" in screen_text(app)
            [ev] = audit(store, "elevate")
            assert (ev.actor, ev.tenant, ev.reason) == ("dana", BELLA, "INC-7 stuck")
            assert screen.check_action("bulk", ()) is True
            await pilot.press("r")
            await settle(pilot)
            assert isinstance(app.screen, BulkModal)
            await pilot.press("escape")
            await settle(pilot)

            clock.now += 10 * 60 + 30
            app.update_header()
            assert "bella-boutique ELEVATED 4:30" in screen_text(app)
            clock.now += 5 * 60
            app.refresh_now()
            await settle(pilot)
            assert "bella-boutique LOCKED" in screen_text(app)
            assert screen.check_action("bulk", ()) is False
            assert [e.tenant for e in audit(store, "elevation_expired")] == [BELLA]

    run(scenario())
    assert writes(store) == before


def test_backend_refuses_a_write_the_screen_let_through(store, config, clock):
    """A stale screen must not matter: the backend checks the store before every write."""
    from syncops.services.breakglass import BreakGlassLocked

    app = glass_app(store, config, clock)
    with store.read() as conn:
        rid = conn.execute(select(R.c.id).where(R.c.tenant == BELLA, R.c.state == "failed")).scalars().first()
    with pytest.raises(BreakGlassLocked):
        app.backend.act("retry", rid, version=None)
    with pytest.raises(BreakGlassLocked):
        app.backend.pause(BELLA, "inventory-pos-to-web", "x")


SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_elevated_tenant_header(size, snap_compare, store, config, clock):
    """The header of a console with one break-glass tenant elevated (ACME untouched)."""
    from syncops.services import breakglass

    breakglass.elevate(store, BELLA, actor=TECH, reason="INC-7", minutes=15)
    clock.now += 61
    seen: list[str] = []

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        seen.append(screen_text(pilot.app))

    assert snap_compare(glass_app(store, config, clock), terminal_size=size, run_before=run_before)
    assert "bella-boutique ELEVATED 13:59" in seen[-1] and "34 matching" in seen[-1]
