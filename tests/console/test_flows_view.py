"""Flows at 80 columns: run now says what will really happen, a paused flow reads 'paused', last run readable."""

from __future__ import annotations

from sqlalchemy import func, select, update

from syncops.console.screens.flows import FlowsScreen
from syncops.store.tables import AuditEvent, FlowControl

from .conftest import run, screen_lines, screen_text, settle
from .fixture_store import ACME, BELLA

E, F = AuditEvent.__table__, FlowControl.__table__


def run_now_events(store) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(E).where(E.c.action == "run_now")).scalar_one()


async def open_flows(pilot) -> FlowsScreen:
    await pilot.press("4")
    await settle(pilot)
    assert isinstance(pilot.app.screen, FlowsScreen)
    return pilot.app.screen


def row_of(app, flow: str, tenant: str) -> str:
    return next(line for line in screen_lines(app) if flow in line and tenant in line)


def test_run_now_on_a_paused_flow_is_refused_with_the_reason(store, make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            screen = await open_flows(pilot)
            paused = row_of(app, "products-pos-to-web", BELLA)
            assert "paused" in paused and " in " not in paused and "late" not in paused  # no "Next run in 58s"
            index = next(i for i, r in enumerate(screen.rows) if r.flow == "products-pos-to-web")
            screen.query_one("#flow-table").move_cursor(row=index)
            await settle(pilot)
            await pilot.press("n")
            await settle(pilot)
            messages = [n.message for n in app._notifications]
            assert any("is paused: resume it first" in m for m in messages), messages
            assert not any("will poll now" in m for m in messages)
            assert run_now_events(store) == 0
            # A running flow: the request is recorded and the message says when it happens.
            screen.query_one("#flow-table").move_cursor(row=0)
            await pilot.press("n")
            await settle(pilot)
            assert run_now_events(store) == 1
            assert any("at its next control check" in n.message for n in app._notifications)

    run(scenario())


def test_last_run_status_is_readable_at_80(store, make_app):
    with store.write() as conn:
        conn.execute(update(F).where(F.c.tenant == ACME, F.c.flow == "web-orders-to-erp")
                     .values(last_run_status="error", last_run_error="ERP timed out"))

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_flows(pilot)
            assert "error 2s" in row_of(app, "web-orders-to-erp", ACME)
            header = next(line for line in screen_lines(app) if "Last run" in line)
            assert "Next run" in header and "State" in header
            assert "last error: ERP timed out" in screen_text(app)

    run(scenario())
