"""A record superseded while it was open says so before asking for a reason."""

from __future__ import annotations

from sqlalchemy import select

from syncops.console.screens.record import RecordScreen
from syncops.console.widgets.modals import ReasonModal
from syncops.models import sample_payload
from syncops.store import lifecycle
from syncops.store.lifecycle import NewRecord
from syncops.store.tables import Record

from .conftest import run, settle

R = Record.__table__


def test_superseded_while_open_says_so_instead_of_asking_why(store, make_app):
    with store.read() as conn:
        row = conn.execute(select(R).where(R.c.entity == "inventory", R.c.state == "failed")
                           .order_by(R.c.id)).first()

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await settle(pilot)
            app.open_record(row.id)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, RecordScreen) and screen.record.state == "failed"
            # The engine polls a newer stock level for the same key meanwhile (coalescing flow).
            payload = {**sample_payload("inventory"), "sku": row.entity_key.split("@")[0], "available": 9}
            lifecycle.enqueue(store, [NewRecord(row.tenant, row.flow, "inventory", row.entity_key, "newer-level",
                                                row.target, payload, store.clock(), coalesce=True)])
            await pilot.press("x")  # resolve asks for a reason, normally
            await settle(pilot)
            assert not isinstance(app.screen, ReasonModal)
            messages = [n.message for n in app._notifications]
            assert any(f"record #{row.id} was superseded by #" in m and "nothing to resolve" in m for m in messages), \
                messages
            await settle(pilot)
            assert screen.record.state == "superseded"  # reloaded: the screen shows what is true now

    run(scenario())
    with store.read() as conn:
        assert conn.execute(select(R.c.state).where(R.c.id == row.id)).scalar_one() == "superseded"
