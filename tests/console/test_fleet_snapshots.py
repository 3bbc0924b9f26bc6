"""SVG snapshots of the fleet view and the entity timeline at 80x24 and 120x40 (see test_snapshots.py).

Update with `pytest tests/console/test_fleet_snapshots.py --snapshot-update` and look at what changed.
"""

from __future__ import annotations

from typing import Any

import pytest

from syncops.console.screens.timeline import open_timeline

from .conftest import screen_text, settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


async def _fleet(pilot: Any) -> None:
    pass  # the first screen: the fixture store has two tenants


async def _timeline(pilot: Any) -> None:
    open_timeline(pilot.app, "CAP-BLK")


async def _order_timeline(pilot: Any) -> None:
    open_timeline(pilot.app, "WEB-1003")


SCREENS = {"fleet": _fleet, "timeline_sku": _timeline, "timeline_order": _order_timeline}
# The figures a technician decides on, readable as text at every size.
VISIBLE = {
    "fleet": ["Fleet  2 tenants  1 critical  1 warning", "CRIT", "BREACH", "1h00m", "25", "Pausd", "Brk"],
    "timeline_sku": ["Timeline CAP-BLK  4 events  2 records", "source", "failed", "store-2", "[mapping] sku"],
    "timeline_order": ["Timeline WEB-1003", "edit", "failed", "[validation]"],
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen(name: str, size: tuple[int, int], snap_compare, make_app) -> None:
    seen: list[str] = []

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await SCREENS[name](pilot)
        await settle(pilot)
        seen.append(screen_text(pilot.app))

    assert snap_compare(make_app(first_screen=None), terminal_size=size, run_before=run_before)
    for figure in VISIBLE[name]:
        assert figure in seen[-1], (name, size, figure)
