"""`?` at 80x24: the help prose scrolls, so the exceptions filter syntax is never cut off."""

from __future__ import annotations

from syncops.console.screens.help import HelpScreen

from .conftest import run, screen_text, settle


def words(text: str) -> str:
    return " ".join(text.split())


def test_exceptions_help_scrolls_to_the_filter_syntax_at_80x24(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("question_mark")
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen)
            box = app.screen.query_one("#help-text-box")
            assert box.max_scroll_y > 0  # longer than the room it has: it must scroll
            assert "Filter (/)" not in words(screen_text(app))
            await pilot.press("shift+tab")  # from the keys table back to the text
            await settle(pilot)
            assert app.screen.focused is box
            await pilot.press("end")
            await settle(pilot)
            assert "Filter (/)" in words(screen_text(app))
            await pilot.press("escape")
            await settle(pilot)
            assert not isinstance(app.screen, HelpScreen)

    run(scenario())
