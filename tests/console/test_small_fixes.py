"""The smaller things a new user hit: attempt counts, the record after a mapping, esc in the editor, dialog focus."""

from __future__ import annotations

from syncops.console.screens.editor import EditScreen
from syncops.console.screens.record import RecordScreen
from syncops.console.widgets.bulk import BulkModal
from syncops.console.widgets.modals import ConfirmModal

from .conftest import run, screen_text, settle, text_of
from .fixture_store import ACME, BELLA
from .test_actions import ids_where, open_record, type_text


def test_attempts_are_counted_as_listed(store, make_app):
    rid = ids_where(store, tenant=ACME, payload_rev=2)[0]  # failed, edited (counter reset), failed again

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = await open_record(pilot, rid)
            listed = len(screen.detail.attempts)
            assert listed == 2
            summary = text_of(screen.query_one("#summary"))
            assert "2 attempts (1 since the last retry/edit)" in summary and "tries 1" not in summary
            assert "Attempts (2)" in screen_text(app)

    run(scenario())


def test_the_record_header_follows_a_saved_mapping(store, make_app):
    rid = ids_where(store, tenant=ACME, error_value="BOOT-BRN-42")[0]

    async def scenario():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            screen = await open_record(pilot, rid)
            assert "m: add the mapping" in text_of(screen.query_one("#summary"))
            await pilot.press("m")
            await settle(pilot)
            await type_text(pilot, "BOOT-BROWN-42")
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("s")
            await settle(pilot)
            assert app.screen is screen
            summary = text_of(screen.query_one("#summary"))
            assert "m: add the mapping" not in summary
            assert "mapped now: BOOT-BRN-42 -> BOOT-BROWN-42" in summary

    run(scenario())


def test_esc_in_the_editor_asks_before_discarding(store, make_app):
    rid = ids_where(store, tenant=BELLA, state="failed")[0]

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await open_record(pilot, rid)
            await pilot.press("e")
            await settle(pilot)
            editor = app.screen
            assert isinstance(editor, EditScreen)
            await pilot.press("escape")  # nothing changed: leaves at once
            await settle(pilot)
            assert isinstance(app.screen, RecordScreen)
            await pilot.press("e")
            await settle(pilot)
            editor = app.screen
            await pilot.press("x")
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmModal) and "Discard your changes?" in screen_text(app)
            await pilot.press("n")
            await settle(pilot)
            assert app.screen is editor and "x" in editor.query_one("#editor").text
            await pilot.press("escape")
            await settle(pilot)
            await pilot.press("y")
            await settle(pilot)
            assert isinstance(app.screen, RecordScreen)

    run(scenario())


def test_typing_in_the_bulk_dialog_lands_in_the_reason_from_the_first_key(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("slash", *f"tenant:{BELLA}", "space", *"cat:auth", "enter")
            await settle(pilot)
            await pilot.press("R")
            await pilot.pause()
            await pilot.press(*"outage")  # before the count arrived
            await settle(pilot)
            dialog = app.screen
            assert isinstance(dialog, BulkModal)
            assert dialog.query_one("#reason").value == "outage"
            assert dialog.query_one("#typed").value == ""
            assert app.focused is dialog.query_one("#reason")
            # Tab on to the confirmation; a late (or repeated) count must not pull the focus back.
            await pilot.press("tab", "2")
            dialog._show(dialog.preview)
            await pilot.press("5")
            await settle(pilot)
            assert dialog.query_one("#typed").value == "25" and dialog.query_one("#reason").value == "outage"

    run(scenario())


def test_a_delivered_record_says_what_the_target_holds(store, make_app):
    from syncops.store import lifecycle

    [rid] = lifecycle.enqueue(store, [lifecycle.NewRecord(
        tenant=ACME, flow="orders", entity="order", entity_key="#9001", idempotency_key="erp-doc-test",
        target="erp", payload={"order_number": "#9001"}, source_ts=store.clock())]).inserted
    [claimed] = [c for c in lifecycle.claim(store, tenant=ACME, target="erp", owner="e1") if c.id == rid]
    lifecycle.settle(store, "e1", [lifecycle.Outcome(
        claimed, None, "Odoo sale.order S00042 (id 42) created; state sale", target_ref="42")], endpoint="erp")

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = await open_record(pilot, rid)
            assert "at erp: Odoo sale.order S00042 (id 42) created; state sale" in text_of(screen.query_one("#summary"))

    run(scenario())
