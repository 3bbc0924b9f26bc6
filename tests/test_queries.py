"""Read-side queries: dashboard counts, exception groups, keyset pages, record detail, activity, engines."""

from __future__ import annotations

import pytest

from conftest import T0, claim_all, enqueue_n, make_failed, new_record, ok, settle
from syncops.services import actions
from syncops.services.actor import Actor
from syncops.store import lifecycle
from syncops.store.categories import Category
from syncops.store.filters import RecordFilter
from syncops.store.lifecycle import Outcome
from syncops.store.queries import (
    RecordNotFound, count_records, failures_by_category, flow_activity, get_record, list_records,
    live_engine, oldest_pending, open_counts, record_detail, signature_groups,
)
from syncops.store.tables import EngineHeartbeat

TECH = Actor(user="tech")


@pytest.fixture
def mix(store, clock):
    """acme/orders: 2 pending, 1 in_flight, 1 retry_wait, 2 failed, 1 quarantined, 1 delivered;
    acme/returns: 1 pending; other/orders: 1 failed."""
    ids = {}
    ids["failed"] = make_failed(store, 3, start=0)
    actions.act(store, "quarantine", ids["failed"].pop(), actor=TECH, reason="hold")
    clock.advance(100)
    ids["pending"] = enqueue_n(store, 4, start=10)
    cs = claim_all(store)
    settle(store, [ok(cs[0]), Outcome(record=cs[1], category=Category.UNAVAILABLE, message="503")])
    lifecycle.defer(store, "eng-1", [cs[3].id], until=clock.now)  # back to pending
    ids["other"] = make_failed(store, 1, start=30, tenant="other")
    clock.advance(50)
    ids["returns"] = enqueue_n(store, 1, start=40, flow="returns", entity="return")
    return ids


def test_open_counts_per_flow_and_state_leave_out_finished_records(store, mix):
    assert open_counts(store) == {
        ("acme", "orders"): {"failed": 2, "quarantined": 1, "in_flight": 1, "retry_wait": 1, "pending": 1},
        ("acme", "returns"): {"pending": 1},
        ("other", "orders"): {"failed": 1},
    }
    assert set(open_counts(store, tenant="other")) == {("other", "orders")}


def test_oldest_pending_ignores_failed_and_finished_records(store, mix):
    # The failed/quarantined ones from T0 need a human; the queue's age starts at the later batch.
    assert oldest_pending(store) == {("acme", "orders"): T0 + 100, ("acme", "returns"): T0 + 150}


def test_failures_by_category(store, mix):
    assert failures_by_category(store) == {"validation": 4, "unavailable": 1}
    f = RecordFilter(tenant="acme")
    assert failures_by_category(store, f) == {"validation": 3, "unavailable": 1}
    # The caller's filter is not changed behind its back (a console reuses it for the list).
    assert f.states == ()
    assert count_records(store, f) == 8


def test_signature_groups_group_messages_that_differ_only_in_ids(store):
    make_failed(store, 1, start=0, message="order 1001 rejected: customer gid://shopify/Customer/123 not found")
    make_failed(store, 1, start=1, message="order 1002 rejected: customer gid://shopify/Customer/456 not found")
    make_failed(store, 1, start=2, message="order 'POS-9' rejected: tax code 'ZZ' unknown")
    make_failed(store, 1, start=3, category=Category.CONFLICT,
                message="order 'POS-7' rejected: tax code 'XX' unknown")
    groups = signature_groups(store)
    got = [(g.signature, g.category, g.count) for g in groups]
    assert got[0] == ("order <n> rejected: customer <gid> not found", "validation", 2)
    assert sorted(got[1:]) == [("order <v> rejected: tax code <v> unknown", "conflict", 1),
                               ("order <v> rejected: tax code <v> unknown", "validation", 1)]
    assert "gid://shopify/Customer/" in groups[0].sample
    assert [g.count for g in signature_groups(store, RecordFilter(categories=("conflict",)))] == [1]


@pytest.fixture
def many(store, clock):
    """250 records in 25 batches; all records of one batch share created_at (ties for sort=age)."""
    ids = []
    for batch in range(25):
        ids += enqueue_n(store, 10, start=batch * 10, flow="orders" if batch % 2 else "returns")
        clock.advance(1)
    return ids


@pytest.mark.parametrize("sort", ["id", "age", "updated", "key", "flow"])
@pytest.mark.parametrize("descending", [True, False])
def test_keyset_pages_return_every_record_exactly_once(store, many, sort, descending):
    seen, after, pages = [], None, 0
    while True:
        page = list_records(store, RecordFilter(), limit=40, sort=sort, descending=descending, after=after)
        seen += [r.id for r in page.rows]
        pages += 1
        if page.next_after is None:
            break
        after = page.next_after
    assert pages == 7
    assert sorted(seen) == sorted(many) and len(seen) == len(set(seen)) == 250
    if sort == "id":
        assert seen == sorted(many, reverse=descending)
    if sort == "age":
        ages = [get_record(store, i).created_at for i in seen[::37]]
        assert ages == sorted(ages, reverse=descending)


def test_keyset_pages_by_category_do_not_lose_records_without_one(store, clock):
    make_failed(store, 30, start=0)
    enqueue_n(store, 30, start=100)  # pending: no category at all
    make_failed(store, 30, start=200, category=Category.AUTH, message="401")
    for descending in (True, False):
        seen, after = [], None
        while True:
            page = list_records(store, RecordFilter(), limit=25, sort="category", descending=descending, after=after)
            seen += [r.id for r in page.rows]
            if page.next_after is None:
                break
            after = page.next_after
        assert sorted(seen) == list(range(1, 91))


def test_list_records_filters_and_count(store, mix):
    page = list_records(store, RecordFilter(tenant="acme", states=("failed",)))
    assert [r.id for r in page.rows] == sorted(mix["failed"], reverse=True) and page.next_after is None
    assert count_records(store, RecordFilter(states=("pending",))) == 2
    assert count_records(store, RecordFilter(text="k3")) == 1  # free text matches the key


def test_record_detail_has_attempts_versions_and_audit(store, clock):
    [rid] = enqueue_n(store, 1, flow="inventory", entity="inventory")
    [c] = claim_all(store)
    settle(store, [Outcome(record=c, category=Category.VALIDATION, message="422 bad", status=422,
                           request_summary="POST /inventory")])
    actions.edit_payload(store, rid, {**c.payload, "available": 1}, actor=TECH, reason="recount",
                         expected_version=None)
    clock.advance(1)
    [c] = claim_all(store)
    settle(store, [ok(c, status=200)])
    d = record_detail(store, rid)
    assert d.record.state == "delivered" and d.payload["available"] == 1
    assert [(a.outcome, a.status) for a in d.attempts] == [("delivered", 200), ("failed", 422)]  # newest first
    assert d.attempts[1].request_summary == "POST /inventory"
    assert [v.rev for v in d.versions] == [1, 2]
    assert [e.action for e in d.audit] == ["edit"]
    with pytest.raises(RecordNotFound):
        record_detail(store, 999)


def test_flow_activity_series_failures_duplicates_and_latency_percentiles(store, clock):
    first_minute = int(clock.now // 60)

    def deliver(n, latency, start):
        recs = [new_record(start + i, source_ts=clock.now - latency) for i in range(n)]
        lifecycle.enqueue(store, recs)
        settle(store, [ok(c) for c in claim_all(store)])

    deliver(18, 0.03, 0)  # 18 quick ones (<= 50 ms bucket)
    clock.advance(120)  # two minutes later
    deliver(2, 3.0, 100)  # 2 slow ones (<= 5 s bucket)
    make_failed(store, 1, start=200)
    lifecycle.enqueue(store, [new_record(0)])  # a duplicate of the first one
    act = flow_activity(store, minutes=5)[("acme", "orders")]
    now_minute = int(clock.now // 60)
    assert now_minute - first_minute == 2
    assert act.delivered_per_minute == [0, 0, 18, 0, 2]
    assert (act.failed, act.duplicates) == (1, 1)
    # Interpolated within the bucket: the 10th of 20 lies 10/18 into (0, 50 ms]; the 19th
    # lies halfway into (2 s, 5 s], where both slow ones are.
    assert act.p50 == pytest.approx(0.05 * 10 / 18) and act.p95 == pytest.approx(3.5)

    # Outside the window the old minute drops out.
    later = flow_activity(store, minutes=1, now=clock.now + 60)
    assert later == {}


def test_live_engine_ignores_stale_and_stopped_heartbeats(store, clock):
    def beat(engine_id, ago, stopped=None):
        with store.write() as conn:
            conn.execute(EngineHeartbeat.__table__.insert().values(
                engine_id=engine_id, host="pos-box", pid=42, version="0.1.0", started_at=T0 - 3600,
                beat_at=clock.now - ago, stopped_at=stopped))

    beat("old", ago=16)
    beat("stopped", ago=1, stopped=clock.now - 1)
    assert live_engine(store) is None
    assert live_engine(store, stale_after=20).engine_id == "old"
    beat("fresh", ago=5)
    assert live_engine(store).engine_id == "fresh"
    clock.advance(11)  # the fresh one goes silent too
    assert live_engine(store) is None
