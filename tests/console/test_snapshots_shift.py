"""SVG snapshots of the canary, triage and digest screens at 80x24 and 120x40 (see test_snapshots.py).

Kept apart from test_snapshots.py so these pictures update on their own:
`pytest tests/console/test_snapshots_shift.py --snapshot-update`.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from .conftest import screen_text, settle
from .fixture_store import BELLA
from .test_canary_view import engine_settles
from .test_snapshots import SIZES, keys


def canary_watch(deliver: bool) -> Callable[[Any, Any], Any]:
    async def steps(pilot: Any, store: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("slash", *[{" ": "space"}.get(c, c) for c in f"tenant:{BELLA} cat:auth"], "enter")
        await settle(pilot)
        await pilot.press("C")
        await settle(pilot)
        await pilot.press("enter", "2", "5", "enter")
        await settle(pilot)
        if deliver:
            engine_settles(store)
            await pilot.press("ctrl+r")
            await settle(pilot)
    return steps


SCREENS = {
    "canary_confirm": keys("2", "C"),
    "canary_waiting": canary_watch(False),
    "canary_delivered": canary_watch(True),
    "triage": keys("T"),
    "digest": keys("D"),
}
VISIBLE = {
    "canary_confirm": ["canary retry", "retry the 5 oldest of"],
    "canary_waiting": ["retried 5 canaries of 25", "0 delivered, 0 failed, 5 waiting"],
    "canary_delivered": ["5 delivered, 0 failed, 0 waiting", "enter releases the other 20"],
    "triage": ["group 1 of", "[auth] 25 record(s) failing", "likely fix: endpoint web"],
    "digest": ["Shift handover", "WHAT BROKE"],
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen(name: str, size: tuple[int, int], snap_compare, make_app, store) -> None:
    seen: list[str] = []

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await SCREENS[name](pilot, store)
        await settle(pilot)
        seen.append(screen_text(pilot.app))

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)
    for figure in VISIBLE[name]:
        assert figure in seen[-1], (name, size, figure)
