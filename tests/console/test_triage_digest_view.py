"""Triage (T) and the shift digest (D) from the dashboard, driven by keys."""

from __future__ import annotations

from syncops.console.screens.digest import DigestScreen
from syncops.console.screens.triage import TriageScreen

from .conftest import run, screen_text, settle
from .fixture_store import ACME, BELLA
from .test_actions import audit, type_text


def test_triage_opens_the_worst_tenants_biggest_group_and_moves_on(store, make_app) -> None:
    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("T")
            await settle(pilot)
            assert isinstance(app.screen, TriageScreen)
            text = screen_text(app)
            # bella: 25 auth failures (24 failed + 1 quarantined) outweigh acme's handful.
            assert "group 1 of" in text and BELLA in text and "[auth] 25 record(s)" in text
            assert "endpoint web" in text and "credentials" in text
            await pilot.press("n")
            await settle(pilot)
            text = screen_text(app)
            assert "group 2 of" in text and ACME in text
            while "[mapping]" not in screen_text(app):
                await pilot.press("n")
                await settle(pilot)
            text = screen_text(app)
            assert "likely fix: add" in text and "m adds it" in text
            await pilot.press("escape")
            await settle(pilot)
            assert not isinstance(app.screen, TriageScreen)

    run(scenario())


def test_triage_m_adds_the_mapping_and_the_group_gives_way(store, make_app) -> None:
    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("T")
            await settle(pilot)
            screen = app.screen
            while screen.fix is None or screen.fix.kind != "mapping" or screen.fix.value != "BOOT-BRN-42":
                await pilot.press("n")
                await settle(pilot)
            await pilot.press("m")
            await settle(pilot)
            await type_text(pilot, "BOOT-BROWN-42")
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("r")  # save and release the records it blocked
            await settle(pilot)
            assert app.screen is screen
            assert screen.fix is None or screen.fix.value != "BOOT-BRN-42"  # that group is done: the next one

    run(scenario())
    (ev,) = audit(store, "mapping_set")
    assert ev.actor == "dana"
    assert len(audit(store, "release")) == 3


def test_digest_screen_shows_the_handover(store, make_app) -> None:
    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("D")
            await settle(pilot)
            assert isinstance(app.screen, DigestScreen)
            text = screen_text(app)
            assert "Shift handover" in text and "WHAT BROKE" in text and "auth" in text
            assert "jane" not in text.lower()
            copied: list[str] = []
            app.copy_to_clipboard = copied.append
            await pilot.press("y")
            await settle(pilot)
            assert copied[0].startswith("# Shift handover") and "## Paused flows" in copied[0]
            assert "| bella-boutique | products-pos-to-web | catalog freeze until Monday | dana@10.0.0.7 |" in copied[0]

    run(scenario())
