"""Canary retry from the exceptions screen: confirm, watch the canaries live, release or stop."""

from __future__ import annotations

import json
from typing import Any

from syncops.console.screens.canary import CanaryScreen
from syncops.store import lifecycle
from syncops.store.categories import Category
from syncops.store.lifecycle import Outcome

from .conftest import run, screen_text, settle
from .fixture_store import BELLA
from .test_actions import audit, ids_where, type_text


def engine_settles(store, *, fail: bool = False) -> None:
    """What the engine would do with the claimed canaries."""
    got = lifecycle.claim(store, tenant=BELLA, target="web", owner="engine-1", limit=100)
    lifecycle.settle(store, "engine-1", [Outcome(record=c, category=Category.AUTH, message="401 Unauthorized")
                                         if fail else Outcome(record=c) for c in got], endpoint="web")


async def start_canary(pilot: Any) -> CanaryScreen:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)
    await pilot.press("slash")
    await type_text(pilot, f"tenant:{BELLA} cat:auth")
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("C")
    await settle(pilot)
    assert "retry the 5 oldest of 25 first" in screen_text(pilot.app)
    await pilot.press("enter")
    await type_text(pilot, "25")
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CanaryScreen)
    return screen


def test_canaries_delivered_then_enter_releases_the_rest(store, make_app) -> None:
    matching = ids_where(store, tenant=BELLA, flow="inventory-pos-to-web", error_category="auth")

    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await start_canary(pilot)
            text = screen_text(app)
            assert "retried 5 canaries of 25" in text and "0 delivered, 0 failed, 5 waiting" in text
            await pilot.press("enter")  # refused: nothing delivered yet
            await settle(pilot)
            assert isinstance(app.screen, CanaryScreen)
            engine_settles(store)
            await pilot.press("ctrl+r")
            await settle(pilot)
            text = screen_text(app)
            assert "5 delivered, 0 failed, 0 waiting" in text and "enter releases the other 20" in text
            await pilot.press("enter")
            await settle(pilot)
            assert not isinstance(app.screen, CanaryScreen), (screen_text(app), app.focused)

    run(scenario())
    from syncops.store.queries import get_record

    states = [get_record(store, i).state for i in matching]
    assert (states.count("delivered"), states.count("pending")) == (5, 20)
    (ev,) = audit(store, "canary_retry")
    assert ev.actor == "dana" and json.loads(ev.after)["outcome"] == "released"


def test_a_failed_canary_is_shown_and_s_stops_without_touching_the_rest(store, make_app) -> None:
    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await start_canary(pilot)
            engine_settles(store, fail=True)
            await pilot.press("ctrl+r")
            await settle(pilot)
            text = screen_text(app)
            assert "a canary failed again" in text and "401 Unauthorized" in text
            await pilot.press("s")
            await settle(pilot)
            assert not isinstance(app.screen, CanaryScreen)

    run(scenario())
    assert len(ids_where(store, tenant=BELLA, flow="inventory-pos-to-web", state="pending")) == 0
    (ev,) = audit(store, "canary_retry")
    assert json.loads(ev.after)["outcome"] == "stopped"
