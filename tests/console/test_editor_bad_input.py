"""The console's payload editor reads JSON as strictly as the CLI: deep nesting and huge numbers
are a message at their line, not a crash, and nothing is saved."""

from __future__ import annotations

from syncops.console.screens.record import RecordScreen
from syncops.store.queries import get_record

from .conftest import run, settle, text_of
from .fixture_store import BELLA
from .test_actions import ids_where, open_record


def test_deep_nesting_and_huge_numbers_are_shown_in_place_and_save_nothing(store, make_app):
    rid = ids_where(store, tenant=BELLA, flow="inventory-pos-to-web", state="failed")[0]
    before = get_record(store, rid)

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await open_record(pilot, rid)
            await pilot.press("e")
            await settle(pilot)
            editor = app.screen
            area = editor.query_one("#editor")
            area.load_text('{\n  "sku": "SKU-002",\n  "available": ' + "[" * 100_000 + "]" * 100_000 + "\n}")
            await pilot.press("ctrl+s")
            await settle(pilot)
            status = text_of(editor.query_one("#edit-status"))
            assert "too deeply nested: line 3 column" in status
            assert area.cursor_location[0] == 2  # the cursor jumps to the problem
            area.load_text('{\n  "sku": "SKU-002",\n\n  "available": ' + "9" * 5000 + "\n}")
            await pilot.press("ctrl+s")
            await settle(pilot)
            status = text_of(editor.query_one("#edit-status"))
            assert "number too long: line 4 column 16: 5,000 digits" in status
            assert editor.query_one("#review").has_class("hidden")
            await pilot.press("escape")  # unsaved changes: the console asks before discarding them
            await settle(pilot)
            await pilot.press("y")
            await settle(pilot)
            assert isinstance(app.screen, RecordScreen)

    run(scenario())
    after = get_record(store, rid)
    assert (after.version, after.payload, after.payload_rev) == (before.version, before.payload, 1)
