"""An operator's edit and the engine working the same record never overwrite each other."""

from __future__ import annotations

import json

from sqlalchemy import select

from syncops.console.screens.editor import EditScreen
from syncops.store import lifecycle
from syncops.store.categories import Category
from syncops.store.lifecycle import Outcome
from syncops.store.queries import get_record
from syncops.store.tables import Record

from .conftest import run, settle, text_of
from .fixture_store import ACME, T0

R = Record.__table__


def test_edit_conflicts_with_the_engine_then_succeeds_after_reload(store, make_app, clock):
    with store.read() as conn:
        rid = conn.execute(select(R.c.id).where(R.c.tenant == ACME, R.c.state == "retry_wait")
                           .order_by(R.c.id)).scalars().first()
    opened = get_record(store, rid)
    edited = json.loads(opened.payload) | {"channel": "web"}

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.open_record(rid)
            await settle(pilot)
            await pilot.press("e")
            await settle(pilot)
            editor = app.screen
            assert isinstance(editor, EditScreen) and editor.version == opened.version
            editor.query_one("#editor").load_text(json.dumps(edited, indent=2))

            # Meanwhile the engine's retry comes due: it claims the record and the target rejects it.
            clock.now = T0 + 7300
            claimed = [c for c in lifecycle.claim(store, tenant=ACME, target="erp", owner="engine-1")
                       if c.id == rid]
            assert claimed
            lifecycle.settle(store, "engine-1", [Outcome(record=claimed[0], category=Category.VALIDATION,
                                                         message="422: customer not found", status=422)],
                             endpoint="erp")
            engine_result = get_record(store, rid)
            assert engine_result.state == "failed"

            await pilot.press("ctrl+s")
            await settle(pilot)
            await pilot.press(*"fix channel")
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is editor  # not saved: still editing
            assert "CONFLICT" in text_of(editor.query_one("#edit-status"))
            assert any("changed since you loaded it" in n.message for n in app._notifications)
            kept = get_record(store, rid)
            assert (kept.version, kept.state, kept.payload, kept.attempts, kept.error_message) == \
                (engine_result.version, "failed", engine_result.payload, engine_result.attempts,
                 "422: customer not found")

            await pilot.press("ctrl+r")  # reload under the technician's text
            await settle(pilot)
            assert editor.version == engine_result.version
            assert json.loads(editor.query_one("#editor").text)["channel"] == "web"
            await pilot.press("ctrl+s")
            await settle(pilot)
            await pilot.press(*"fix channel")
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is not editor

    run(scenario())
    row = get_record(store, rid)
    assert row.state == "pending" and row.payload_rev == 2 and json.loads(row.payload)["channel"] == "web"
