"""`?` shows each screen's help exactly as written: prose, never eaten as markup."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from syncops.console.screens.help import HelpScreen
from syncops.console.widgets.modals import ConfirmModal
from syncops.store.tables import Record

from .conftest import run, screen_text, settle, text_of

R = Record.__table__


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("key", ["1", "2", "3", "4", "5", "record", "editor"])
def test_help_text_is_shown_verbatim(key, store, make_app):
    with store.read() as conn:
        rid = conn.execute(select(R.c.id).where(R.c.state == "failed").order_by(R.c.id)).scalars().first()

    async def scenario():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            if key in ("record", "editor"):
                app.open_record(rid)
                await settle(pilot)
                if key == "editor":
                    await pilot.press("e")
                    await settle(pilot)
            else:
                await pilot.press(key)
                await settle(pilot)
            screen = app.screen
            if key == "editor":  # `?` is text there
                app.action_help()
            else:
                await pilot.press("question_mark")
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen)
            shown = text_of(app.screen.query_one("#help-text"))
            assert words(shown) == words(type(screen).HELP)
            if key == "record":
                assert "[ and ] switch tabs" in words(screen_text(app))

    run(scenario())


def test_dialog_text_with_brackets_is_not_markup(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.push_screen(ConfirmModal("retry", "retry SKU [red]BOOT[/red] [b]?"))
            await settle(pilot)
            assert "retry SKU [red]BOOT[/red] [b]?" in screen_text(app)

    run(scenario())
