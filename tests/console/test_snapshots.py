"""SVG snapshots of every screen at 80x24 (a tmux pane over SSH) and 120x40.

The fixture store, the clock, the theme and the actor are fixed and the live refresh and
cursor blink are off, so the pictures only change when the console does. Update with
`pytest tests/console/test_snapshots.py --snapshot-update` and look at what changed.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from sqlalchemy import select

from syncops.store.tables import Record

from .conftest import screen_text, settle
from .fixture_store import ACME, BELLA

R = Record.__table__
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def first_id(store, *where: Any) -> int:
    with store.read() as conn:
        return conn.execute(select(R.c.id).where(*where).order_by(R.c.id)).scalars().first()


def keys(*pressed: str) -> Callable[[Any, Any], Any]:
    async def steps(pilot: Any, _store: Any) -> None:
        for k in pressed:
            await pilot.press(k)
            await settle(pilot)
    return steps


def open_record(*where: Any, then: tuple[str, ...] = ()) -> Callable[[Any, Any], Any]:
    async def steps(pilot: Any, store: Any) -> None:
        pilot.app.open_record(first_id(store, *where))
        await settle(pilot)
        for k in then:
            await pilot.press(k)
            await settle(pilot)
    return steps


def filtered(query: str, *after: str) -> Callable[[Any, Any], Any]:
    async def steps(pilot: Any, _store: Any) -> None:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("slash", *[{" ": "space"}.get(c, c) for c in query], "enter")
        await settle(pilot)
        for k in after:
            await pilot.press(k)
            await settle(pilot)
    return steps


SCREENS = {
    "dashboard": keys(),
    "exceptions": keys("2"),
    "exceptions_filtered_marked": filtered("cat:mapping", "space"),
    "exceptions_grouped": keys("2", "g"),
    "record_production": open_record(R.c.tenant == ACME, R.c.error_value == "BOOT-BRN-42"),
    "record_versions": open_record(R.c.tenant == ACME, R.c.payload_rev == 2,
                                   then=("right_square_bracket",) * 4),
    "record_attempts": open_record(R.c.tenant == ACME, R.c.error_value == "BOOT-BRN-42",
                                   then=("right_square_bracket",) * 3),
    "editor": open_record(R.c.tenant == BELLA, R.c.state == "failed", then=("e",)),
    "bulk_confirm": filtered(f"tenant:{BELLA} cat:auth", "R"),
    "mappings": keys("3"),
    "mapping_form": keys("3", "a"),
    "flows": keys("4"),
    "audit": keys("5"),
    "help": keys("2", "question_mark"),
}


# What must be readable as text in the picture (every size): the figures a technician decides on.
VISIBLE = {
    "dashboard": ["Hlth", "Fail", "p95/SLA", "Oldest", "4.8s/1m ok", "1h00m", "CRIT", "acme-outdoor/erp OPEN"],
    "exceptions": ["34 matching", "Category", "conflict", "409 Conflict", "401 Unauthoriz"],
    "exceptions_filtered_marked": ["matching", "1 marked", "mapping"],
    "flows": ["Last run", "ok 2s", "paused"],
    "audit": ["Tenant", "Reason", "quarantine", "paused_reason"],
    "help": ["Category labels are short"],
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen(name: str, size: tuple[int, int], snap_compare, make_app, store) -> None:
    steps = SCREENS[name]
    seen: list[str] = []

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await steps(pilot, store)
        await settle(pilot)
        seen.append(screen_text(pilot.app))

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)
    for figure in VISIBLE.get(name, []):
        assert figure in seen[-1], (name, size, figure)


@pytest.mark.parametrize("size", SIZES)
def test_read_only_exceptions(size: tuple[int, int], snap_compare, make_app) -> None:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)

    assert snap_compare(make_app(read_only=True), terminal_size=size, run_before=run_before)


def test_partner_theme(snap_compare, make_app) -> None:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)

    assert snap_compare(make_app(theme="partner-example"), terminal_size=(120, 40), run_before=run_before)


def test_ansi_16_theme(snap_compare, make_app) -> None:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)

    assert snap_compare(make_app(theme="ansi-16"), terminal_size=(80, 24), run_before=run_before)
