"""The entity timeline: from record detail (t) and the palette (:timeline KEY); masked snapshots."""

from __future__ import annotations

from sqlalchemy import select

from syncops.console.commands import parse_jump
from syncops.console.screens.record import RecordScreen
from syncops.console.screens.timeline import TimelineScreen, open_timeline
from syncops.services.timeline import entity_timeline
from syncops.store.tables import Record

from .conftest import run, screen_text, settle, text_of
from .fixture_store import ACME

R = Record.__table__


def _id(store, *where) -> int:
    with store.read() as conn:
        return conn.execute(select(R.c.id).where(*where).order_by(R.c.id)).scalars().first()


def test_core_timeline_of_a_sku_covers_every_location(store, config) -> None:
    tl = entity_timeline(store, "CAP-BLK", config)
    assert tl.keys == ["CAP-BLK@store-1", "CAP-BLK@store-2"]
    kinds = [e.kind for e in tl.events]
    assert kinds.count("source") == 2 and kinds.count("failure") + kinds.count("attempt") >= 2
    assert [e.at for e in tl.events] == sorted(e.at for e in tl.events)
    assert tl.events[0].system == "pos"  # the flow's source system


def test_core_timeline_of_an_edited_order_is_masked(store, config) -> None:
    tl = entity_timeline(store, "WEB-1003", config)
    kinds = [e.kind for e in tl.events]
    assert kinds[0] == "source" and "edit" in kinds
    edit = next(e for e in tl.events if e.kind == "edit")
    assert "ERP expects channel web" in edit.summary and edit.actor.startswith("dana")
    blob = repr([e.as_dict() for e in tl.events])
    customer = tl.events[0].snapshot["customer"]
    assert "***" in customer["email"] and customer["email"] not in ("", None)
    from syncops.models import sample_payload

    assert sample_payload("order")["customer"]["email"] not in blob


def test_palette_parses_timeline_jumps() -> None:
    assert parse_jump(":timeline CAP-BLK") == ("timeline", "CAP-BLK")
    assert parse_jump("tl WEB-1003") == ("timeline", "WEB-1003")


def test_t_on_a_record_opens_the_timeline_of_its_sku(make_app, store) -> None:
    rid = _id(store, R.c.tenant == ACME, R.c.entity_key == "CAP-BLK@store-2")

    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.open_record(rid)
            await settle(pilot)
            await pilot.press("t")
            await settle(pilot)
            assert isinstance(app.screen, TimelineScreen) and app.screen.key == "CAP-BLK"
            text = screen_text(app)
            assert "Timeline CAP-BLK" in text and "2 records" in text
            assert "CAP-BLK@store-1" in text and "CAP-BLK@store-2" in text
            assert "source" in text and "[mapping] sku" in text
            await pilot.press("enter")  # the first event's record
            await settle(pilot)
            assert isinstance(app.screen, RecordScreen)
            await pilot.press("escape", "escape")
            await settle(pilot)
            assert isinstance(app.screen, RecordScreen) and app.screen.record_id == rid
    run(go())


def test_timeline_jump_from_the_palette_lands_on_the_order(make_app) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("colon")
            await settle(pilot)
            for ch in "timeline WEB-1003":
                await pilot.press({" ": "space"}.get(ch, ch))
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, TimelineScreen) and app.screen.key == "WEB-1003"
            text = screen_text(app)
            assert "edit" in text and "quarantine" not in text
            detail = text_of(app.screen.query_one("#event-detail"))
            assert "jane" not in detail.lower() or "j***" in detail.lower()
    run(go())


def test_unknown_key_says_so(make_app) -> None:
    async def go() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            open_timeline(app, "NOPE-1")
            await settle(pilot)
            assert "no records with key NOPE-1" in screen_text(app)
    run(go())
