"""Retention: finished records age out with their attempts and versions; exceptions never do."""

from __future__ import annotations

from sqlalchemy import func, select

from conftest import claim_all, enqueue_n, make_failed, new_record, ok, settle, state_of
from syncops.models import sample_payload
from syncops.services import actions
from syncops.services.actor import Actor
from syncops.store import lifecycle
from syncops.store.retention import purge
from syncops.store.tables import Attempt, PayloadVersion, Record

DAY = 86400
TECH = Actor("tech")


def _ids(store) -> set[int]:
    with store.read() as conn:
        return set(conn.execute(select(Record.__table__.c.id)).scalars())


def _children(store, table) -> set[int]:
    with store.read() as conn:
        return set(conn.execute(select(table.__table__.c.record_id)).scalars())


def _scenario(store, clock):
    ids = {}
    # An edited-then-delivered record: it has attempts and payload versions.
    [e] = make_failed(store, 1, start=0, flow="inventory", entity="inventory")
    actions.edit_payload(store, e, {**sample_payload("inventory"), "available": 3}, actor=TECH,
                         reason="recount", expected_version=None)
    [c] = claim_all(store)
    settle(store, [ok(c)])
    ids["delivered"] = e
    lifecycle.enqueue(store, [new_record(1, key="P", coalesce=True)])
    [newer] = lifecycle.enqueue(store, [new_record(2, key="P", coalesce=True)]).inserted
    ids["superseded"] = newer - 1
    ids["superseding_pending"] = newer
    [r] = make_failed(store, 1, start=3)
    actions.act(store, "resolve", r, actor=TECH, reason="done by hand")
    ids["resolved"] = r
    [ids["failed"]] = make_failed(store, 1, start=4)
    [q] = make_failed(store, 1, start=5)
    actions.act(store, "quarantine", q, actor=TECH, reason="hold")
    ids["quarantined"] = q
    return ids


def test_purge_removes_only_old_finished_records_with_their_children(store, clock):
    old = _scenario(store, clock)
    assert {state_of(store, i) for k, i in old.items()} == {
        "delivered", "superseded", "pending", "resolved", "failed", "quarantined"}
    clock.advance(31 * DAY)
    [recent] = enqueue_n(store, 1, start=100)
    [c] = [c for c in claim_all(store) if c.id == recent]
    settle(store, [ok(c)])

    assert purge(store, older_than_days=30) == 3
    gone = {old["delivered"], old["superseded"], old["resolved"]}
    assert _ids(store).isdisjoint(gone)
    assert _ids(store) >= {old["failed"], old["quarantined"], old["superseding_pending"], recent}
    assert _children(store, Attempt).isdisjoint(gone) and _children(store, PayloadVersion) == set()
    assert recent in _children(store, Attempt)  # the recent delivery keeps its history
    assert purge(store, older_than_days=30) == 0


def test_purge_keeps_records_younger_than_the_cutoff_and_works_in_batches(store, clock):
    ids = enqueue_n(store, 7)
    settle(store, [ok(c) for c in claim_all(store)])
    clock.advance(10 * DAY)
    assert purge(store, older_than_days=30) == 0
    assert _ids(store) == set(ids)
    clock.advance(21 * DAY)
    assert purge(store, older_than_days=30, batch=2) == 7
    assert _ids(store) == set() and _children(store, Attempt) == set()
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(Record.__table__)).scalar_one() == 0


def _minutes(store) -> list[int]:
    from syncops.store.tables import FlowMinute

    with store.read() as conn:
        return sorted(conn.execute(select(FlowMinute.__table__.c.minute)).scalars())


def test_per_minute_statistics_age_out_with_the_records_and_the_window_still_counts(store, clock):
    from syncops.store import queries
    from syncops.store.retention import purge_stats

    first_minute = int(clock() // 60)
    enqueue_n(store, 3)
    settle(store, [ok(c) for c in claim_all(store)])
    clock.advance(20 * DAY)
    enqueue_n(store, 2, start=10)
    settle(store, [ok(c) for c in claim_all(store)])
    assert _minutes(store) == [first_minute, first_minute + 20 * 1440]

    clock.advance(6 * DAY)
    # Records are kept 30 days here, but statistics never outlive STATS_DAYS (7): readers look
    # hours back. The minute from 26 days ago goes, the one from 6 days ago stays.
    assert purge_stats(store, older_than_days=30, batch=1) == 1
    assert _minutes(store) == [first_minute + 20 * 1440]
    assert purge_stats(store, older_than_days=30) == 0
    # A shorter records horizon shortens theirs as well.
    assert purge_stats(store, older_than_days=2) == 1 and _minutes(store) == []
    # The window still counts what is new after a purge.
    enqueue_n(store, 4, start=20)
    settle(store, [ok(c) for c in claim_all(store)])
    [activity] = queries.flow_activity(store, minutes=5).values()
    assert activity.delivered_per_minute[-1] == 4
