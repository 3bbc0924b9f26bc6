"""The exceptions list: keyset paging in a bounded window, sorting, grouping, filtering; and the audit log."""

from __future__ import annotations

from syncops.console.screens.audit import AuditScreen
from syncops.console.screens.exceptions import ExceptionsScreen

from .conftest import run, settle, text_of
from .fixture_store import ACME, BELLA


async def exceptions(pilot) -> ExceptionsScreen:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ExceptionsScreen)
    return screen


def test_paging_fetches_the_next_page_near_the_end_and_keeps_the_window_bounded(make_app):
    async def scenario():
        app = make_app(page_size=8)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await exceptions(pilot)
            assert len(screen.window.rows) == 8 and screen.window.has_more and screen.total == 34
            seen = [r.id for r in screen.window.rows]
            for _ in range(10):
                await pilot.press("ctrl+end")
                await settle(pilot)
                seen += [r.id for r in screen.window.rows if r.id not in seen]
                assert len(screen.window.rows) <= 32  # four pages at most
            assert len(seen) == 34 and seen == sorted(seen, reverse=True)
            assert screen.window.dropped_before and not screen.window.has_more
            await pilot.press("ctrl+home")
            await settle(pilot)
            assert screen.window.rows[0].id == seen[0] or screen.window.dropped_before

    run(scenario())


def test_sort_cycles_columns_and_order(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await exceptions(pilot)
            await pilot.press("s")  # tenant
            await settle(pilot)
            tenants = [r.tenant for r in screen.window.rows]
            assert screen.sort == "tenant" and tenants == sorted(tenants)
            await pilot.press("o")
            await settle(pilot)
            assert [r.tenant for r in screen.window.rows] == sorted(tenants, reverse=True)
            assert "sort tenant ↓" in text_of(screen.query_one("#filterbar"))

    run(scenario())


def test_grouping_by_signature_and_drilling_into_a_group(make_app):

    async def scenario():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await exceptions(pilot)
            await pilot.press("g")
            await settle(pilot)
            groups = {(g.category, g.count) for g in screen.groups}
            assert ("auth", 25) in groups and ("mapping", 3) in groups and ("mapping", 2) in groups
            index = next(i for i, g in enumerate(screen.groups) if "to_erp_sku" in g.signature)
            table = screen.query_one("#groups")
            table.move_cursor(row=index)
            await pilot.press("enter")
            await settle(pilot)
            assert not screen.grouped and screen.total == 3
            assert {r.error_value for r in screen.window.rows} == {"BOOT-BRN-42"}
            assert screen.query_text.startswith("cat:mapping")

    run(scenario())


def test_a_bad_filter_is_explained_in_place_and_the_list_kept(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await exceptions(pilot)
            before = [r.id for r in screen.window.rows]
            await pilot.press("slash", *"cat:nope", "enter")
            await settle(pilot)
            error = screen.query_one("#filter-error")
            assert not error.has_class("hidden") and "unknown category" in str(error.render())
            assert [r.id for r in screen.window.rows] == before
            await pilot.press("escape")  # closes the filter, not the screen
            await settle(pilot)
            assert app.screen is screen and screen.query_one("#filter").has_class("hidden")
            await pilot.press("slash", *f"tenant:{ACME} age>40m", "enter")
            await settle(pilot)
            assert screen.total == 6 and {r.tenant for r in screen.window.rows} == {ACME}

    run(scenario())


def test_audit_log_filters(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("5")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, AuditScreen) and [e.action for e in screen.events] == \
                ["pause", "quarantine", "edit"]
            await pilot.press("slash", *f"tenant:{BELLA} action:quarantine", "enter")
            await settle(pilot)
            assert [e.action for e in screen.events] == ["quarantine"]
            await pilot.press("enter")  # opens the record the event is about
            await settle(pilot)
            assert app.screen.record_id == int(screen.events[0].target_id)

    run(scenario())
