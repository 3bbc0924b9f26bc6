"""Dashboard refresh, palette jumps, help, esc, the engine in the header, hangup."""

from __future__ import annotations

from sqlalchemy import select

from syncops.console.commands import parse_jump
from syncops.console.screens.dashboard import DashboardScreen
from syncops.console.screens.exceptions import ExceptionsScreen
from syncops.console.screens.help import HelpScreen, binding_rows
from syncops.console.screens.record import RecordScreen
from syncops.services import actions
from syncops.store.tables import Record

from .conftest import run, settle, text_of
from .fixture_store import ACME, BELLA, TECH

R = Record.__table__


class FakeEngine:
    host, pid = "jump-1", 777

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")

    async def stop(self) -> None:
        self.calls.append("stop")


def test_dashboard_shows_counts_and_follows_the_store(store, make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            dash = app.screen
            assert isinstance(dash, DashboardScreen)
            row = {h.flow: h for h in dash.health.flows if h.tenant == BELLA}["inventory-pos-to-web"]
            assert (row.counts["failed"], row.counts["quarantined"]) == (24, 1)
            assert "attached to ops-1:4242 (heartbeat 3s ago)" in text_of(app.screen.query_one("#status-header"))
            # Nothing changed: a tick does not rerun the health query.
            assert dash.poll(False).health is None
            with store.read() as conn:
                rid = conn.execute(select(R.c.id).where(R.c.tenant == BELLA, R.c.state == "failed")).scalars().first()
            actions.act(store, "resolve", rid, actor=TECH, reason="gone")
            app.refresh_now()
            await settle(pilot)
            row = {h.flow: h for h in dash.health.flows if h.tenant == BELLA}["inventory-pos-to-web"]
            assert row.counts["failed"] == 23
            await pilot.press("p")
            await settle(pilot)
            assert app.live is False and "REFRESH PAUSED" in text_of(app.screen.query_one("#status-header"))

    run(scenario())


def test_enter_on_a_flow_opens_its_exceptions_and_esc_goes_back(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("down", "enter")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, ExceptionsScreen)
            assert screen.query_text == f"tenant:{ACME} flow:web-orders-to-erp"
            assert {r.flow for r in screen.window.rows} == {"web-orders-to-erp"}
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, RecordScreen)
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is screen
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen)

    run(scenario())


def test_palette_jumps(make_app, store):
    assert parse_jump(":tenant acme") == ("tenant", "acme")
    assert parse_jump("record 123") == ("record", "123") and parse_jump("#9") == ("record", "9")
    assert parse_jump("flow orders") == ("flow", "orders") and parse_jump("retry") is None
    with store.read() as conn:
        rid = conn.execute(select(R.c.id).where(R.c.state == "failed")).scalars().first()

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("colon")
            await settle(pilot)
            await pilot.press(*f"record {rid}")
            await pilot.pause(0.3)  # the palette searches on a short debounce
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, RecordScreen) and app.screen.record_id == rid
            await pilot.press("colon")
            await pilot.press(*f"tenant {BELLA}")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, ExceptionsScreen) and screen.filter.tenant == BELLA
            assert {r.tenant for r in screen.window.rows} == {BELLA}

    run(scenario())


def test_help_lists_every_binding_of_the_current_screen(make_app):
    async def scenario():
        app = make_app(read_only=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            screen = app.screen
            rows = binding_rows(screen, app)
            described = {(scope, desc) for scope, _k, desc, _s in rows}
            for b in type(screen).BINDINGS:
                assert ("screen", b.description) in described
            assert ("global", "Help") in described
            assert dict(((s, d), st) for s, _k, d, st in rows)[("screen", "Retry")] == "disabled: read-only"
            await pilot.press("question_mark")
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen)
            assert app.screen.query_one("#help-keys").row_count == len(rows)
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is screen

    run(scenario())


def test_embedded_engine_is_started_shown_and_stopped(make_app):
    engine = FakeEngine()

    async def scenario():
        app = make_app(engine=engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert engine.calls == ["start"]
            assert "engine: embedded" in text_of(app.screen.query_one("#status-header"))

    run(scenario())
    assert engine.calls == ["start", "stop"]


def test_hangup_exits_cleanly(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.hangup()
            await pilot.pause()
        return app.return_code

    assert run(scenario()) == 129


def test_external_editor_without_a_terminal_says_so(make_app, store):
    with store.read() as conn:
        rid = conn.execute(select(R.c.id).where(R.c.state == "failed")).scalars().first()

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.open_record(rid)
            await settle(pilot)
            await pilot.press("E")
            await settle(pilot)
            assert isinstance(app.screen, RecordScreen)
            assert any("external editor" in n.message for n in app._notifications)

    run(scenario())


def test_number_keys_do_not_jump_away_from_an_open_dialog(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("4", "p")
            await settle(pilot)
            dialog = app.screen
            await pilot.press("escape")  # cancel, then try again with a digit
            await settle(pilot)
            await pilot.press("p")
            await settle(pilot)
            dialog = app.screen
            await pilot.press("1")  # typed into the reason box, not a jump
            await settle(pilot)
            assert app.screen is dialog and dialog.query_one("#reason").value == "1"

    run(scenario())
