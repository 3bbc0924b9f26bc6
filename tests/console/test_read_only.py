"""--read-only: every action is hidden (check_action -> False) and refused however it is reached."""

from __future__ import annotations

from sqlalchemy import func, select

from syncops.console.screens.base import ConsoleScreen
from syncops.console.screens.record import RecordScreen
from syncops.store.tables import AuditEvent, Record

from .conftest import run, settle, text_of
from .fixture_store import BELLA

R, E = Record.__table__, AuditEvent.__table__


def snapshot(store):
    with store.read() as conn:
        return (conn.execute(select(R.c.id, R.c.state, R.c.version, R.c.payload_rev).order_by(R.c.id)).all(),
                conn.execute(select(func.count()).select_from(E)).scalar_one())


def test_read_only_blocks_every_action(store, make_app):
    before = snapshot(store)
    with store.read() as conn:
        rid = conn.execute(select(R.c.id).where(R.c.tenant == BELLA, R.c.state == "failed")).scalars().first()

    async def scenario():
        app = make_app(read_only=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert "READ-ONLY" in text_of(app.screen.query_one("#status-header"))
            checked = 0
            for key, mode in (("2", "exceptions"), ("3", "mappings"), ("4", "flows")):
                await pilot.press(key)
                await settle(pilot)
                screen = app.screen
                for action in screen.MUTATING:
                    assert screen.check_action(action, ()) is False
                    checked += 1
                shown = {b.binding.action.split("(")[0] for b in screen.active_bindings.values()
                         if b.binding.show and b.enabled}
                assert not shown & screen.MUTATING, (mode, shown & screen.MUTATING)
                for k in ("r", "q", "u", "x", "R", "Q", "U", "X", "C", "m", "a", "n", "p"):
                    await pilot.press(k)
                    await settle(pilot)
                    assert app.screen is screen, (mode, k)  # no dialog opened
            app.open_record(rid)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, RecordScreen)
            for action in screen.MUTATING:
                assert screen.check_action(action, ()) is False
                checked += 1
            for k in ("r", "e", "E", "q", "u", "x", "m"):
                await pilot.press(k)
                await settle(pilot)
                assert app.screen is screen, k
            # Through Textual's action dispatch (keys, palette) check_action stops them; called
            # directly they refuse as well.
            for action in ("retry", "edit", "quarantine", "release", "resolve", "add_mapping"):
                await screen.run_action(action)
                getattr(screen, f"action_{action}")()
                await settle(pilot)
                assert app.screen is screen
            assert any("read-only" in n.message for n in app._notifications)
            assert checked == 16  # exceptions: bulk, bulk_all, canary_all, add_mapping

    run(scenario())
    assert snapshot(store) == before


def test_read_only_still_allows_looking_and_revealing_is_audited(store, make_app):
    """Reading is what read-only is for; a PII reveal is not a change but is still recorded."""
    with store.read() as conn:
        rid = conn.execute(select(R.c.id).where(R.c.entity == "order")).scalars().first()

    async def scenario():
        app = make_app(read_only=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.open_record(rid)
            await settle(pilot)
            assert app.screen.check_action("reveal", ()) is True
            await pilot.press("v")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen.revealed

    run(scenario())
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(E).where(E.c.action == "reveal_pii")).scalar_one() == 1


def test_every_screen_declares_its_mutating_actions():
    from syncops.console.screens import exceptions, flows, mappings, record

    for module, cls in ((exceptions, "ExceptionsScreen"), (flows, "FlowsScreen"), (mappings, "MappingsScreen"),
                        (record, "RecordScreen")):
        screen_cls = getattr(module, cls)
        assert issubclass(screen_cls, ConsoleScreen) and screen_cls.MUTATING
        bound = {b.action.split("(")[0] for b in screen_cls.BINDINGS}
        assert screen_cls.MUTATING <= bound


def test_a_refused_key_says_why_once(make_app):
    async def scenario():
        app = make_app(read_only=True)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("r")
            await settle(pilot)
            messages = [n.message for n in app._notifications]
            assert messages.count("read-only console: r (retry) is disabled") == 1, messages
            await pilot.press("4", "n")
            await settle(pilot)
            assert "read-only console: n (run now) is disabled" in [n.message for n in app._notifications]
            await pilot.press("question_mark")
            await settle(pilot)
            help_text = text_of(app.screen.query_one("#help-text"))
            assert "revealing customer data (v) still work" in help_text and "audit log" in help_text

    run(scenario())
