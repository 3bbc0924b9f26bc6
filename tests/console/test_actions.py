"""Every action path, driven by keys through Pilot, checked against the store and its audit log."""

from __future__ import annotations

import json

from sqlalchemy import select

from syncops.console.screens.editor import EditScreen
from syncops.console.screens.record import RecordScreen
from syncops.console.widgets.bulk import BulkModal
from syncops.store.queries import get_record
from syncops.store.tables import AuditEvent, MappingEntry, PayloadVersion, Record

from .conftest import run, settle, text_of
from .fixture_store import ACME, BELLA

R, E = Record.__table__, AuditEvent.__table__


def ids_where(store, **kw) -> list[int]:
    stmt = select(R.c.id).where(*[getattr(R.c, k) == v for k, v in kw.items()]).order_by(R.c.id)
    with store.read() as conn:
        return list(conn.execute(stmt).scalars())


def audit(store, action: str | None = None) -> list:
    stmt = select(E).order_by(E.c.id)
    if action:
        stmt = stmt.where(E.c.action == action)
    with store.read() as conn:
        return conn.execute(stmt).all()


async def open_record(pilot, rid: int) -> RecordScreen:
    pilot.app.open_record(rid)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RecordScreen) and screen.record is not None and screen.record.id == rid
    return screen


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space"}.get(c, c) for c in text])


def test_retry_from_record_detail(store, make_app):
    rid = ids_where(store, tenant=BELLA, flow="products-pos-to-web", state="failed")[0]

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await open_record(pilot, rid)
            await pilot.press("r")
            await settle(pilot)
            await pilot.press("y")
            await settle(pilot)
            assert app.screen.record.state == "pending"  # reloaded after the action

    run(scenario())
    row = get_record(store, rid)
    assert row.state == "pending" and row.attempts == 0
    [event] = [e for e in audit(store, "retry") if e.target_id == str(rid)]
    assert (event.actor, event.via, event.client) == ("dana", "console", "10.0.0.7")


def test_quarantine_then_release_then_resolve_with_reasons(store, make_app):
    rid = ids_where(store, tenant=BELLA, flow="inventory-pos-to-web", state="failed")[0]

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await open_record(pilot, rid)
            await pilot.press("q")
            await settle(pilot)
            await pilot.press("enter")  # an empty reason is refused in place
            await settle(pilot)
            assert "reason is required" in text_of(app.screen.query_one("#problem"))
            await type_text(pilot, "duplicate of 77")
            await pilot.press("enter")
            await settle(pilot)
            assert get_record(store, rid).state == "quarantined"
            await pilot.press("u", "y")
            await settle(pilot)
            assert get_record(store, rid).state == "pending"
            await pilot.press("x")
            await settle(pilot)
            await type_text(pilot, "fixed by hand in the ERP")
            await pilot.press("enter")
            await settle(pilot)

    run(scenario())
    row = get_record(store, rid)
    assert row.state == "resolved" and row.resolution == "fixed by hand in the ERP"
    events = [(e.action, e.reason) for e in audit(store) if e.target_id == str(rid)]
    assert events[-3:] == [("quarantine", "duplicate of 77"), ("release", None),
                           ("resolve", "fixed by hand in the ERP")]


def test_edit_with_valid_json_shows_diff_and_saves_a_new_version(store, make_app):
    rid = ids_where(store, tenant=BELLA, flow="inventory-pos-to-web", state="failed")[1]
    before = get_record(store, rid)
    new = json.loads(before.payload) | {"available": 7}

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await open_record(pilot, rid)
            await pilot.press("e")
            await settle(pilot)
            editor = app.screen
            assert isinstance(editor, EditScreen)
            editor.query_one("#editor").load_text(json.dumps(new, indent=2))
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert not editor.query_one("#review").has_class("hidden")
            diff = text_of(editor.query_one("#diff"))
            assert '-  "available": 5' in diff and '+  "available": 7' in diff
            await pilot.press("enter")  # no reason yet: refused, nothing saved
            await settle(pilot)
            assert get_record(store, rid).payload_rev == 1
            await type_text(pilot, "store counted 7")
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, RecordScreen)

    run(scenario())
    row = get_record(store, rid)
    assert (row.state, row.payload_rev, json.loads(row.payload)["available"]) == ("pending", 2, 7)
    with store.read() as conn:
        revs = conn.execute(select(PayloadVersion.__table__.c.rev, PayloadVersion.__table__.c.reason)
                            .where(PayloadVersion.__table__.c.record_id == rid)).all()
    assert sorted(revs) == [(1, "original"), (2, "store counted 7")]
    [event] = [e for e in audit(store, "edit") if e.target_id == str(rid)]
    assert event.reason == "store counted 7" and event.via == "console"


def test_edit_with_invalid_json_or_invalid_payload_is_shown_in_place_and_saves_nothing(store, make_app):
    rid = ids_where(store, tenant=BELLA, flow="inventory-pos-to-web", state="failed")[2]
    before = get_record(store, rid)

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await open_record(pilot, rid)
            await pilot.press("e")
            await settle(pilot)
            editor = app.screen
            area = editor.query_one("#editor")
            area.load_text('{\n  "sku": "SKU-002",\n  "available": ,\n}')
            await pilot.press("ctrl+s")
            await settle(pilot)
            status = text_of(editor.query_one("#edit-status"))
            assert "not valid JSON: line 3" in status
            assert area.cursor_location[0] == 2  # the cursor jumps to the problem
            assert editor.query_one("#review").has_class("hidden")
            area.load_text(json.dumps(json.loads(before.payload) | {"available": -3}, indent=2))
            await pilot.press("ctrl+s")
            await settle(pilot)
            status = text_of(editor.query_one("#edit-status"))
            assert "available" in status and "not a valid inventory" in status
            await pilot.press("escape")  # unsaved changes: asks first
            await settle(pilot)
            await pilot.press("y")
            await settle(pilot)
            assert isinstance(app.screen, RecordScreen)

    run(scenario())
    after = get_record(store, rid)
    assert (after.version, after.payload, after.payload_rev) == (before.version, before.payload, 1)
    assert not [e for e in audit(store, "edit") if e.target_id == str(rid)]


def test_bulk_retry_of_all_matching_needs_the_count_typed_above_the_threshold(store, make_app):
    matching = ids_where(store, tenant=BELLA, flow="inventory-pos-to-web", error_category="auth")
    assert len(matching) == 25  # 24 failed + 1 quarantined

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("slash")
            await type_text(pilot, f"tenant:{BELLA} cat:auth")
            await pilot.press("enter")
            await settle(pilot)
            screen = app.screen
            assert screen.total == 25 and len(screen.window.rows) == 25
            await pilot.press("R")
            await settle(pilot)
            modal = app.screen
            assert isinstance(modal, BulkModal) and modal.preview.count == 25
            assert "retry 25 record(s)" in text_of(modal.query_one("#summary"))
            assert modal.phrase == "25"
            await pilot.press("enter")  # reason (optional) -> moves to the typed confirmation
            await type_text(pilot, "24")
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, BulkModal)  # wrong number: nothing done
            assert ids_where(store, tenant=BELLA, flow="inventory-pos-to-web", state="pending") == []
            await pilot.press("backspace", "backspace")
            await type_text(pilot, "25")
            await pilot.press("enter")
            await settle(pilot)
            assert not isinstance(app.screen, BulkModal)

    run(scenario())
    states = {get_record(store, rid).state for rid in matching}
    assert states == {"pending"}
    [bulk] = audit(store, "bulk_retry")
    assert json.loads(bulk.after) == {"count": 25}
    assert len([e for e in audit(store, "retry") if int(e.target_id) in matching]) == 25


def test_bulk_on_marked_production_rows_needs_the_tenant_name_and_a_reason(store, make_app):
    acme_failed = ids_where(store, tenant=ACME, flow="inventory-pos-to-web", state="failed")
    assert len(acme_failed) == 2

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.go("exceptions", tenant=ACME, flow="inventory-pos-to-web")
            await settle(pilot)
            screen = app.screen
            assert [r.id for r in screen.window.rows] == sorted(acme_failed, reverse=True)
            await pilot.press("space", "space")
            assert set(screen.marked) == set(acme_failed)
            await pilot.press("q")
            await settle(pilot)
            modal = app.screen
            assert isinstance(modal, BulkModal) and modal.preview.count == 2
            assert modal.phrase == ACME and modal.query_one("#dialog").has_class("production")
            await pilot.press("enter")  # quarantine needs a reason
            assert "needs a reason" in text_of(modal.query_one("#problem"))
            await type_text(pilot, "vendor says SKU retired")
            await pilot.press("enter")
            await type_text(pilot, ACME)
            await pilot.press("enter")
            await settle(pilot)
            assert screen.marked == {}

    run(scenario())
    assert {get_record(store, rid).state for rid in acme_failed} == {"quarantined"}
    reasons = {e.reason for e in audit(store, "quarantine") if int(e.target_id) in acme_failed}
    assert reasons == {"vendor says SKU retired"}


def test_fix_a_mapping_and_release_exactly_the_records_it_blocked(store, make_app):
    blocked = ids_where(store, tenant=ACME, error_value="BOOT-BRN-42", state="failed")
    others = ids_where(store, tenant=ACME, error_value="CAP-BLK", state="failed")
    assert len(blocked) == 3 and len(others) == 2

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("3")
            await settle(pilot)
            screen = app.screen
            assert screen.unmapped[0].value == "BOOT-BRN-42" and screen.unmapped[0].count == 3
            await pilot.press("a")
            await settle(pilot)
            form = app.screen
            assert form.query_one("#map").value == "to_erp_sku" and form.query_one("#source").value == "BOOT-BRN-42"
            assert "blocks 3 failed record(s)" in text_of(form.query_one("#blocked"))
            await type_text(pilot, "BOOT-BROWN-42")
            await pilot.press("enter")
            await settle(pilot)
            assert "It blocked 3 failed record(s)" in " ".join(text_of(w) for w in app.screen.query("Static"))
            await pilot.press("r")
            await settle(pilot)
            assert [u.value for u in app.screen.unmapped] == ["CAP-BLK"]

    run(scenario())
    assert {get_record(store, rid).state for rid in blocked} == {"pending"}
    assert {get_record(store, rid).state for rid in others} == {"failed"}
    with store.read() as conn:
        entry = conn.execute(select(MappingEntry.__table__).where(
            MappingEntry.__table__.c.source_value == "BOOT-BRN-42")).one()
    assert (entry.tenant, entry.map_name, entry.target_value, entry.updated_by) == \
        (ACME, "to_erp_sku", "BOOT-BROWN-42", "dana@10.0.0.7")
    assert len(audit(store, "mapping_set")) == 1
    assert sorted(int(e.target_id) for e in audit(store, "release")) == blocked


def test_add_a_mapping_from_a_failed_record_prefills_the_value(store, make_app):
    rid = ids_where(store, tenant=ACME, error_value="CAP-BLK", state="failed")[0]

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await open_record(pilot, rid)
            await pilot.press("m")
            await settle(pilot)
            form = app.screen
            assert (form.tenant, form.query_one("#map").value, form.query_one("#source").value) == \
                (ACME, "pos_to_web_sku", "CAP-BLK")
            assert form.query_one("#dialog").has_class("production")
            await type_text(pilot, "CAP-BLACK")
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("s")  # save only: nothing released
            await settle(pilot)

    run(scenario())
    assert get_record(store, rid).state == "failed"
    assert len(audit(store, "mapping_set")) == 1 and not audit(store, "release")


def test_flow_pause_resume_and_run_now(store, make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("4")
            await settle(pilot)
            assert app.screen.rows[0].flow == "web-orders-to-erp"
            await pilot.press("p")
            await settle(pilot)
            await type_text(pilot, "ERP maintenance")
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("n")  # paused: refused, says why
            await settle(pilot)
            assert any("is paused: resume it first" in n.message for n in app._notifications)
            await pilot.press("u", "y")
            await settle(pilot)
            await pilot.press("n")
            await settle(pilot)

    run(scenario())
    assert [(e.action, e.target_id, e.reason) for e in audit(store)[-3:]] == [
        ("pause", f"{ACME}/web-orders-to-erp", "ERP maintenance"),
        ("resume", f"{ACME}/web-orders-to-erp", None),
        ("run_now", f"{ACME}/web-orders-to-erp", None)]


def test_revealing_pii_is_audited_and_masked_until_then(store, make_app):
    rid = ids_where(store, tenant=ACME, error_value="BOOT-BRN-42")[0]

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = await open_record(pilot, rid)
            body = text_of(screen.query_one("#payload-body"))
            assert "Jane Doe" not in body and "J*** D**" in body and "j***@example.com" in body
            assert "Jane" not in text_of(screen.query_one("#source-body"))
            assert not audit(store, "reveal_pii")
            await pilot.press("v")
            await settle(pilot)
            await type_text(pilot, "customer called about order")
            await pilot.press("enter")
            await settle(pilot)
            assert "Jane Doe" in text_of(screen.query_one("#payload-body"))
            assert "Jane" in text_of(screen.query_one("#source-body"))

    run(scenario())
    [event] = audit(store, "reveal_pii")
    assert (event.target_id, event.reason, event.actor, event.tenant) == \
        (str(rid), "customer called about order", "dana", ACME)


def test_a_failing_action_shows_a_message_and_the_console_keeps_running(store, make_app):
    rid = ids_where(store, tenant=BELLA, flow="products-pos-to-web", state="failed")[0]

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = await open_record(pilot, rid)
            with store.write() as conn:  # someone resolved it meanwhile
                conn.execute(R.update().where(R.c.id == rid).values(state="resolved", version=R.c.version + 1))
            await pilot.press("r", "y")
            await settle(pilot)
            messages = [n.message for n in app._notifications]
            # Found before the question is asked now (the record is read again first).
            assert any("changed while you had it open (was failed, now resolved)" in m for m in messages)
            assert app.is_running and app.screen is screen
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert screen.record.state == "resolved"

    run(scenario())
    assert get_record(store, rid).state == "resolved"
