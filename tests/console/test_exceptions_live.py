"""The exceptions list stays live and keeps your place: rows update by key, ages tick, and
"store changed" appears only when what is on screen really changed."""

from __future__ import annotations

from textual.widgets import DataTable

from syncops.console.screens.exceptions import ExceptionsScreen
from syncops.services import actions

from .conftest import run, screen_text, settle, text_of
from .fixture_store import TECH


async def exceptions(pilot) -> ExceptionsScreen:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ExceptionsScreen)
    return screen


def place(screen):
    table = screen.query_one("#records", DataTable)
    key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    return key, table.cursor_row - round(table.scroll_y)


def test_an_update_keeps_cursor_marks_and_line_and_ages_tick(make_app, store, clock):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await exceptions(pilot)
            rows = list(screen.window.rows)
            await pilot.press("down", "down", "down", "space")  # marks row 3, cursor to row 4
            await settle(pilot)
            before = place(screen)
            assert before[0] == str(rows[4].id) and set(screen.marked) == {rows[3].id}
            age_before = screen._ages[str(rows[4].id)]
            # Someone else acts meanwhile: the top row is resolved (leaves the list), the next one
            # quarantined (changes in place).
            actions.act(store, "resolve", rows[0].id, actor=TECH, reason="elsewhere")
            if rows[1].state in ("failed", "retry_wait"):
                actions.act(store, "quarantine", rows[1].id, actor=TECH, reason="elsewhere")
            clock.now += 3600
            app.refresh_now()
            await settle(pilot)
            assert [r.id for r in screen.window.rows][:1] == [rows[1].id]  # merged, not waiting for ctrl+r
            # The same record under the cursor; one line up, as the row above it left (at the top
            # of the list there is nothing to scroll back in).
            assert place(screen) == (before[0], before[1] - 1)
            assert set(screen.marked) == {rows[3].id}
            assert screen._ages[str(rows[4].id)] != age_before  # an hour later
            bar = text_of(screen.query_one("#filterbar"))
            assert "store changed" not in bar and f"{screen.total:,} matching" in bar
            assert "●" in screen_text(app)  # the mark is still drawn

    run(scenario())


def test_store_changed_only_when_the_deep_page_shown_changed(make_app, store, clock):
    async def scenario():
        app = make_app(page_size=8)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await exceptions(pilot)
            top = [r.id for r in screen.window.rows]
            for _ in range(10):
                await pilot.press("ctrl+end")
                await settle(pilot)
            assert screen.window.dropped_before
            shown = {r.id for r in screen.window.rows}
            hidden = next(i for i in top if i not in shown)
            actions.act(store, "resolve", hidden, actor=TECH, reason="off screen")
            app.refresh_now()
            await settle(pilot)
            assert "store changed" not in text_of(screen.query_one("#filterbar"))
            visible = screen.window.rows[-1]
            actions.act(store, "resolve", visible.id, actor=TECH, reason="on screen")
            app.refresh_now()
            await settle(pilot)
            assert "store changed" in text_of(screen.query_one("#filterbar"))
            assert visible.id in {r.id for r in screen.window.rows}  # not moved under the cursor

    run(scenario())
