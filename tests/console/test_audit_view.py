"""Audit screen: live in place (the cursor keeps its event), ages tick, before/after shown, fits 80 columns."""

from __future__ import annotations

from syncops.console.screens.audit import AuditScreen
from syncops.services import audit
from syncops.store.tables import Record

from .conftest import run, screen_lines, screen_text, settle
from .fixture_store import ACME, TECH

R = Record.__table__


def add_events(store, n: int, **kw) -> None:
    with store.write() as conn:
        audit.write(conn, [audit.audit_row(TECH, store.clock(), kw.get("action", "retry"), "record", str(900 + i),
                                           tenant=ACME, before=kw.get("before"), after=kw.get("after"),
                                           reason=f"{kw.get('why', 'later event')} {i}") for i in range(n)])


async def open_audit(pilot) -> AuditScreen:
    await pilot.press("5")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AuditScreen)
    return screen


def test_a_store_change_keeps_the_cursor_on_its_event(store, make_app, clock):
    add_events(store, 30, action="resolve", why="earlier")  # enough to scroll

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_audit(pilot)
            table = screen.query_one("#audit-log")
            await pilot.press(*["down"] * 32)
            await settle(pilot)
            watched = screen.current_event()
            assert watched.action == "edit" and table.scroll_y > 0
            line = table.cursor_row - table.scroll_y
            row_text = next(ln for ln in screen_lines(app) if "ERP expect" in ln)
            add_events(store, 5)
            app.refresh_now()
            await settle(pilot)
            assert screen.current_event().id == watched.id  # not back to row 1
            # The same event on the same line of the screen: nothing jumped.
            assert table.cursor_row == 37 and table.cursor_row - table.scroll_y == line
            assert screen_lines(app).index(row_text) >= 0
            assert "5 new above" in screen_text(app)
            table.move_cursor(row=0)
            await settle(pilot)
            assert "later event 4" in screen_text(app) and "new above" not in screen_text(app)
            await pilot.press(*["down"] * 37)
            await settle(pilot)
            # Nothing new: no rebuild, nothing announced; the ages tick.
            clock.now += 125
            app.refresh_now()
            await settle(pilot)
            assert screen.current_event().id == watched.id
            assert "12m05s" in screen_text(app)

    run(scenario())


def test_before_and_after_are_shown_masked(store, make_app):
    async def scenario():
        add_events(store, 1, action="edit", before={"customer_email": "jane@example.com", "state": "failed"},
                   after={"customer_email": "john@example.com", "state": "pending"})
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_audit(pilot)
            text = screen_text(app)
            assert "state: failed → pending" in text
            assert "jane@example.com" not in text and "john@example.com" not in text
            assert "customer_email:" in text
            for _ in range(2):
                await pilot.press("down")
            await settle(pilot)
            text = screen_text(app)
            assert screen.current_event().action == "quarantine"
            assert "state: failed → quarantined" in text and "duplicate SKU, checking with the store" in text

    run(scenario())


def test_the_important_columns_fit_at_80(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_audit(pilot)
            header = next(line for line in screen_lines(app) if "Action" in line)
            for label in ("Age", "Who", "Action", "Target", "Tenant", "Reason"):
                assert label in header.split(), (label, header)
            text = screen_text(app)
            assert "bella-boutique" in text and "acme-outdoor" in text and "quarantine" in text
            assert "via console" in text  # what no longer fits is in the pane

    run(scenario())


def test_keys_work_after_help_and_escape(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_audit(pilot)
            table = screen.query_one("#audit-log")
            for opened in ("question_mark", "slash"):
                await pilot.press(opened)
                await settle(pilot)
                await pilot.press("escape")
                await settle(pilot)
                assert app.screen is screen and app.focused is table, opened
                row = table.cursor_row
                await pilot.press("down")
                await settle(pilot)
                assert table.cursor_row == row + 1, opened
                await pilot.press("up")
                await settle(pilot)
            # Even when the focus was lost while the help was up.
            await pilot.press("question_mark")
            await settle(pilot)
            table.blur()
            screen.set_focus(None)
            await pilot.press("escape")
            await settle(pilot)
            assert app.focused is table

    run(scenario())
