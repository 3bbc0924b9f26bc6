"""Record lifecycle: enqueue, claim under a lease, settle, retry with backoff, coalescing, ordering."""

from __future__ import annotations

import random
import tempfile
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from conftest import FakeClock, claim_all, enqueue_n, new_record, ok, settle, state_of
from syncops.models import sample_payload
from syncops.services import actions
from syncops.services.actor import Actor
from syncops.store import lifecycle
from syncops.store.backoff import RetryPolicy, retry_delay
from syncops.store.categories import RETRYABLE, Category
from syncops.store.db import open_store
from syncops.store.lifecycle import Outcome
from syncops.store.queries import get_record, record_detail
from syncops.store.tables import FlowMinute, Record

TECH = Actor(user="tech", via="cli")
NON_RETRYABLE = sorted(set(Category) - RETRYABLE)


def fail(c, category=Category.UNAVAILABLE, message="503 Service Unavailable", **kw):
    return Outcome(record=c, category=category, message=message, **kw)


def policy(**kw):
    p = RetryPolicy(**kw)
    return lambda _tenant, _flow: p


# --- enqueue and claim ---------------------------------------------------------------------------

def test_enqueue_makes_a_pending_record_that_claim_leases(store, clock):
    [rid] = enqueue_n(store, 1)
    row = get_record(store, rid)
    assert (row.state, row.version, row.attempts, row.due_at) == ("pending", 1, 0, clock.now)

    [c] = claim_all(store, lease_seconds=30)
    assert c.id == rid and c.payload == sample_payload("order") and c.attempts == 0
    row = get_record(store, rid)
    assert row.state == "in_flight"
    assert (row.lease_owner, row.lease_until, row.due_at) == ("eng-1", clock.now + 30, None)
    assert row.version == c.version == 2
    # Leased: a second claim (any owner) gets nothing.
    assert claim_all(store, owner="eng-2") == []


def test_claim_respects_target_tenant_flow_and_limit(store):
    a = enqueue_n(store, 3, target="shop")
    b = enqueue_n(store, 2, start=10, target="erp")
    c = enqueue_n(store, 2, start=20, tenant="other")
    d = enqueue_n(store, 2, start=30, flow="returns", entity="return")
    assert [x.id for x in claim_all(store, limit=2, flows=["orders"])] == a[:2]
    assert [x.id for x in claim_all(store, flows=["orders"])] == a[2:]
    assert [x.id for x in claim_all(store)] == d
    assert [x.id for x in claim_all(store, target="erp")] == b
    assert [x.id for x in claim_all(store, tenant="other")] == c


def test_settle_ok_delivers_and_records_the_attempt(store, clock):
    [rid] = enqueue_n(store, 1)
    [c] = claim_all(store)
    clock.advance(2)
    assert settle(store, [ok(c, target_ref="gid://shop/Order/1", status=201, duration_ms=80)]) == {rid: "delivered"}
    row = get_record(store, rid)
    assert (row.state, row.attempts, row.delivered_at, row.target_ref) == ("delivered", 1, clock.now, "gid://shop/Order/1")
    assert row.lease_owner is None and row.due_at is None
    [attempt] = record_detail(store, rid).attempts
    assert (attempt.outcome, attempt.status, attempt.endpoint) == ("delivered", 201, "shop")
    assert lifecycle.last_delivered(store, "acme", "orders", ["K0", "K9"]) == {"K0": sample_payload("order")}
    # A delivered record is never claimed again.
    clock.advance(3600)
    assert claim_all(store) == []


def test_one_settle_of_a_mixed_batch_changes_only_the_records_whose_lease_it_still_holds(store, clock):
    a, b, c, d = enqueue_n(store, 4)
    batch = claim_all(store, lease_seconds=30)
    clock.advance(31)
    # c's lease ran out meanwhile and another engine took it
    with store.write() as conn:
        conn.execute(Record.__table__.update().where(Record.__table__.c.id == c).values(lease_owner="eng-2"))
    by_id = {x.id: x for x in batch}
    got = settle(store, [ok(by_id[a], target_ref="ref-a"), ok(by_id[c]), fail(by_id[b]),
                         fail(by_id[d], Category.VALIDATION, "bad sku")])
    assert got == {a: "delivered", b: "retry_wait", d: "failed"}
    assert [state_of(store, r) for r in (a, b, c, d)] == ["delivered", "retry_wait", "in_flight", "failed"]
    assert get_record(store, a).target_ref == "ref-a"
    assert [len(record_detail(store, r).attempts) for r in (a, b, c, d)] == [1, 1, 0, 1]
    with store.read() as conn:
        M = FlowMinute.__table__
        assert conn.execute(select(M.c.delivered, M.c.failed)).one() == (1, 1)


def test_retryable_failure_waits_within_backoff_and_is_claimed_only_after_due(store, clock):
    [rid] = enqueue_n(store, 1)
    [c] = claim_all(store)
    states = settle(store, [fail(c, status=503, response_excerpt="x" * 900)],
                    policy_for=policy(base_delay=10, max_delay=300), rng=random.Random(7))
    assert states == {rid: "retry_wait"}
    row = get_record(store, rid)
    assert row.state == "retry_wait" and row.attempts == 1
    assert clock.now < row.due_at <= clock.now + 10  # first retry: cap = base_delay
    assert (row.error_category, row.error_message) == ("unavailable", "503 Service Unavailable")
    [attempt] = record_detail(store, rid).attempts
    assert attempt.outcome == "retry_wait" and len(attempt.response_excerpt) == 500

    clock.now = row.due_at - 0.001
    assert claim_all(store) == []
    clock.now = row.due_at
    [again] = claim_all(store)
    assert again.id == rid and again.attempts == 1 and again.error_category == "unavailable"


def test_retry_after_is_a_floor_for_the_next_attempt(store, clock):
    [rid] = enqueue_n(store, 1)
    [c] = claim_all(store)
    settle(store, [fail(c, Category.RATE_LIMIT, "429 throttled", retry_after=120)],
           policy_for=policy(base_delay=1, max_delay=300))
    assert get_record(store, rid).due_at >= clock.now + 120


@pytest.mark.parametrize("category", NON_RETRYABLE)
def test_non_retryable_failure_needs_a_human_at_once(store, clock, category):
    [rid] = enqueue_n(store, 1)
    [c] = claim_all(store)
    assert settle(store, [fail(c, category, "422 tax code 'ZZ' unknown")]) == {rid: "failed"}
    row = get_record(store, rid)
    assert (row.state, row.attempts, row.due_at, row.error_category) == ("failed", 1, None, str(category))
    assert row.error_signature == "<n> tax code <v> unknown"
    clock.advance(10**6)
    assert claim_all(store) == []


def test_retryable_failure_fails_after_max_attempts(store, clock):
    [rid] = enqueue_n(store, 1)
    seen = []
    for _ in range(3):
        clock.advance(1000)
        [c] = claim_all(store)
        seen.append(settle(store, [fail(c)], policy_for=policy(max_attempts=3))[rid])
    assert seen == ["retry_wait", "retry_wait", "failed"]
    row = get_record(store, rid)
    assert (row.state, row.attempts, row.due_at) == ("failed", 3, None)
    assert len(record_detail(store, rid).attempts) == 3
    clock.advance(10**6)
    assert claim_all(store) == []


def test_every_change_bumps_the_version(store, clock):
    [rid] = enqueue_n(store, 1)
    versions = [get_record(store, rid).version]
    [c] = claim_all(store)
    versions.append(get_record(store, rid).version)
    settle(store, [fail(c)])
    versions.append(get_record(store, rid).version)
    clock.advance(1000)
    [c] = claim_all(store)
    versions.append(get_record(store, rid).version)
    settle(store, [ok(c)])
    versions.append(get_record(store, rid).version)
    assert versions == [1, 2, 3, 4, 5]


# --- idempotency and cursors ---------------------------------------------------------------------

def _duplicates(store, tenant="acme", flow="orders"):
    M = FlowMinute.__table__
    with store.read() as conn:
        return sum(conn.execute(select(M.c.duplicates).where(M.c.tenant == tenant, M.c.flow == flow)).scalars())


def test_same_idempotency_key_twice_in_one_call_makes_one_record(store):
    res = lifecycle.enqueue(store, [new_record(1), new_record(1), new_record(2)])
    assert len(res.inserted) == 2 and res.duplicates == 1
    assert _duplicates(store) == 1


def test_same_idempotency_key_across_calls_makes_one_record(store, clock):
    [rid] = lifecycle.enqueue(store, [new_record(1)]).inserted
    [c] = claim_all(store)
    settle(store, [ok(c)])
    clock.advance(120)  # another minute bucket: duplicates add up across minutes
    res = lifecycle.enqueue(store, [new_record(1)])
    assert res.inserted == [] and res.duplicates == 1
    assert state_of(store, rid) == "delivered"  # the repeat did not resurrect it
    lifecycle.enqueue(store, [new_record(1, tenant="other")])  # other tenant: a different record
    assert _duplicates(store) == 1 and _duplicates(store, tenant="other") == 0
    with store.read() as conn:
        assert len(conn.execute(select(Record.__table__.c.id)).all()) == 2


def test_cursor_is_saved_with_the_records_it_covers(store):
    assert lifecycle.load_cursor(store, "acme", "orders") is None
    lifecycle.enqueue(store, [new_record(1)], cursor=("acme", "orders", '{"watermark": "A"}'))
    assert lifecycle.load_cursor(store, "acme", "orders") == '{"watermark": "A"}'
    lifecycle.enqueue(store, [], cursor=("acme", "orders", '{"watermark": "B"}'))
    assert lifecycle.load_cursor(store, "acme", "orders") == '{"watermark": "B"}'

    # A batch that cannot be stored must not move the cursor either (same transaction).
    bad = new_record(3)
    bad.payload = None  # NOT NULL column: the insert fails
    with pytest.raises(Exception):
        lifecycle.enqueue(store, [new_record(2), bad], cursor=("acme", "orders", '{"watermark": "C"}'))
    assert lifecycle.load_cursor(store, "acme", "orders") == '{"watermark": "B"}'
    with store.read() as conn:
        assert len(conn.execute(select(Record.__table__.c.id)).all()) == 1


# --- coalescing ----------------------------------------------------------------------------------

def inv(i, key="TSHIRT-RED-M@store-001", **kw):
    return new_record(i, flow="inventory", entity="inventory", key=key, coalesce=True,
                      payload=dict(sample_payload("inventory"), available=i), **kw)


def test_newer_record_supersedes_older_pending_retry_wait_and_failed(store, clock):
    def enq(i):
        return lifecycle.enqueue(store, [inv(i)])

    [r1] = enq(1).inserted
    res = enq(2)
    [r2] = res.inserted
    assert res.superseded == 1
    row = get_record(store, r1)
    assert (row.state, row.superseded_by, row.due_at, row.version) == ("superseded", r2, None, 2)

    [c] = claim_all(store)
    assert c.id == r2  # the superseded one is never delivered
    settle(store, [fail(c)])
    assert state_of(store, r2) == "retry_wait"
    [r3] = enq(3).inserted
    assert (state_of(store, r2), get_record(store, r2).superseded_by) == ("superseded", r3)

    [c] = claim_all(store)
    settle(store, [fail(c, Category.VALIDATION, "bad")])
    assert state_of(store, r3) == "failed"
    [r4] = enq(4).inserted
    assert (state_of(store, r3), get_record(store, r3).superseded_by) == ("superseded", r4)
    clock.advance(10**6)
    assert [c.id for c in claim_all(store)] == [r4]


def test_coalescing_leaves_quarantined_and_in_flight_alone(store, clock):
    [r1] = lifecycle.enqueue(store, [inv(1)]).inserted
    actions.act(store, "quarantine", r1, actor=TECH, reason="stock count disputed")
    [r2] = lifecycle.enqueue(store, [inv(2)]).inserted
    assert state_of(store, r1) == "quarantined" and get_record(store, r1).superseded_by is None

    [c2] = claim_all(store)  # quarantined does not block the key
    assert c2.id == r2
    res = lifecycle.enqueue(store, [inv(3)])
    [r3] = res.inserted
    assert res.superseded == 0
    assert state_of(store, r2) == "in_flight"
    # The newer value waits until the in-flight one finishes, so the target ends on the newest.
    assert claim_all(store) == []
    settle(store, [ok(c2)])
    assert [c.id for c in claim_all(store)] == [r3]


def test_newer_record_is_not_claimed_while_older_of_its_key_is_in_flight_then_retrying(store, clock):
    [r1] = lifecycle.enqueue(store, [inv(1)]).inserted
    [c1] = claim_all(store)
    [r2] = lifecycle.enqueue(store, [inv(2)]).inserted
    assert claim_all(store) == []
    settle(store, [fail(c1)], policy_for=policy(base_delay=5))
    # r1 went to retry_wait after r2 arrived: r2 still waits for it (it blocks the key).
    assert claim_all(store) == []
    clock.advance(10)
    assert [c.id for c in claim_all(store)] == [r1]


def test_coalescing_within_one_call_keeps_only_the_newest(store):
    res = lifecycle.enqueue(store, [inv(1), inv(2), inv(3), inv(9, key="OTHER@store-001")])
    r1, r2, r3, other = res.inserted
    assert [state_of(store, r) for r in res.inserted] == ["superseded", "superseded", "pending", "pending"]
    assert get_record(store, r2).superseded_by == r3
    assert sorted(c.id for c in claim_all(store)) == [r3, other]


def test_coalescing_is_per_tenant_and_flow(store):
    [a] = lifecycle.enqueue(store, [inv(1)]).inserted
    lifecycle.enqueue(store, [inv(2, tenant="other")])
    lifecycle.enqueue(store, [new_record(3, flow="prices", entity="inventory", key="TSHIRT-RED-M@store-001",
                                         coalesce=True)])
    assert state_of(store, a) == "pending"


# --- per-key ordering (non-coalescing flows) ----------------------------------------------------

def test_pending_first_record_holds_back_the_second(store):
    r1, r2 = lifecycle.enqueue(store, [new_record(1, key="POS-1"), new_record(2, key="POS-1")]).inserted
    [other] = enqueue_n(store, 1, start=50)
    # One claim sees r1 and r2 both pending: only r1 (and other keys) go.
    assert [c.id for c in claim_all(store)] == [r1, other]
    assert state_of(store, r2) == "pending"


@pytest.fixture
def first_in_flight(store, clock):
    r1, r2 = lifecycle.enqueue(store, [new_record(1, key="POS-1"), new_record(2, key="POS-1")]).inserted
    [c1] = claim_all(store)
    assert c1.id == r1
    return r1, r2, c1


def test_order_blocked_through_pending_in_flight_retry_wait_and_failed(store, clock, first_in_flight):
    r1, r2, c1 = first_in_flight
    assert claim_all(store) == []  # r1 in flight
    settle(store, [fail(c1)], policy_for=policy(base_delay=5))
    assert state_of(store, r1) == "retry_wait"
    assert claim_all(store) == []  # r1 waiting (not yet due)
    clock.advance(10)
    [c1] = claim_all(store)  # only r1 comes back, never r2 ahead of it
    assert c1.id == r1
    settle(store, [fail(c1, Category.VALIDATION, "bad")])
    assert state_of(store, r1) == "failed"
    clock.advance(10**6)
    assert claim_all(store) == []  # failed r1 still holds r2 back until a human decides


@pytest.mark.parametrize("how", ["delivered", "resolved", "quarantined"])
def test_second_record_becomes_claimable_once_the_first_is_finished(store, clock, first_in_flight, how):
    r1, r2, c1 = first_in_flight
    if how == "delivered":
        settle(store, [ok(c1)])
    else:
        settle(store, [fail(c1, Category.CONFLICT, "stale")])
        assert claim_all(store) == []
        actions.act(store, "resolve" if how == "resolved" else "quarantine", r1, actor=TECH, reason="handled")
    assert state_of(store, r1) == how
    assert [c.id for c in claim_all(store)] == [r2]


# --- leases, reclaim, defer ---------------------------------------------------------------------

def test_expired_lease_is_reclaimed_as_an_attempt_and_the_old_owner_is_ignored(store, clock):
    [rid] = enqueue_n(store, 1)
    [old] = claim_all(store, owner="eng-1", lease_seconds=30)
    clock.advance(29)
    assert lifecycle.reclaim_expired(store) == 0
    assert state_of(store, rid) == "in_flight"
    clock.advance(2)
    assert lifecycle.reclaim_expired(store) == 1
    row = get_record(store, rid)
    assert (row.state, row.attempts, row.lease_owner, row.due_at, row.error_category) == (
        "retry_wait", 1, None, clock.now, "unknown")
    assert "lease expired" in row.error_message
    [attempt] = record_detail(store, rid).attempts
    assert (attempt.outcome, attempt.error_category) == ("retry_wait", "unknown")

    # The old owner wakes up and reports success: ignored, whether or not someone re-claimed it.
    assert settle(store, [ok(old)], owner="eng-1") == {}
    assert state_of(store, rid) == "retry_wait"
    [new] = claim_all(store, owner="eng-2")
    assert new.attempts == 1 and new.delivery_key == old.delivery_key  # same key: the retry is safe
    assert settle(store, [fail(old, Category.VALIDATION, "late")], owner="eng-1") == {}
    row = get_record(store, rid)
    assert (row.state, row.lease_owner) == ("in_flight", "eng-2")
    assert settle(store, [ok(new)], owner="eng-2") == {rid: "delivered"}
    assert get_record(store, rid).attempts == 2


def test_records_that_keep_killing_the_engine_eventually_fail(store, clock):
    [rid] = enqueue_n(store, 1)
    for _ in range(3):
        claim_all(store, lease_seconds=10)
        clock.advance(11)
        lifecycle.reclaim_expired(store, policy_for=policy(max_attempts=3))
    row = get_record(store, rid)
    assert (row.state, row.attempts, row.due_at) == ("failed", 3, None)
    assert "giving up after 3 attempts" in row.error_message
    assert [a.outcome for a in record_detail(store, rid).attempts] == ["failed", "retry_wait", "retry_wait"]
    clock.advance(10**6)
    assert claim_all(store) == []


def test_defer_returns_records_without_spending_an_attempt(store, clock):
    a, b = enqueue_n(store, 2)
    ca, cb = claim_all(store)
    assert lifecycle.defer(store, "someone-else", [a, b], until=clock.now + 60) == 0
    assert lifecycle.defer(store, "eng-1", [a], until=clock.now + 60, reason="breaker open") == 1
    assert lifecycle.defer(store, "eng-1", [b], until=clock.now) == 1
    ra, rb = get_record(store, a), get_record(store, b)
    assert (ra.state, ra.attempts, ra.due_at, ra.error_message) == ("retry_wait", 0, clock.now + 60, "breaker open")
    assert (rb.state, rb.attempts) == ("pending", 0)
    assert record_detail(store, a).attempts == [] and record_detail(store, b).attempts == []
    assert [c.id for c in claim_all(store)] == [b]
    clock.advance(60)
    [c] = claim_all(store)
    assert c.id == a and c.attempts == 0
    # a deferred record's old lease is gone: the owner cannot settle the pre-defer claim twice
    assert lifecycle.defer(store, "eng-1", [], until=clock.now) == 0


# --- backoff -------------------------------------------------------------------------------------

policies = st.builds(RetryPolicy, max_attempts=st.integers(1, 20),
                     base_delay=st.floats(0.01, 60, allow_nan=False),
                     max_delay=st.floats(0.01, 3600, allow_nan=False))


@given(attempt=st.integers(1, 40), p=policies, seed=st.integers(0, 2**32))
def test_retry_delay_stays_within_exponential_cap(attempt, p, seed):
    d = retry_delay(attempt, p, rng=random.Random(seed))
    assert 0 <= d <= min(p.max_delay, p.base_delay * 2 ** (attempt - 1))


@given(attempt=st.integers(1, 40), p=policies, seed=st.integers(0, 2**32),
       retry_after=st.floats(0, 7200, allow_nan=False))
def test_retry_delay_never_undercuts_retry_after(attempt, p, seed, retry_after):
    d = retry_delay(attempt, p, retry_after=retry_after, rng=random.Random(seed))
    assert d >= retry_after
    assert d <= max(retry_after, min(p.max_delay, p.base_delay * 2 ** (attempt - 1)))


def test_retry_delay_grows_and_is_capped():
    p = RetryPolicy(base_delay=1, max_delay=30)

    class Top(random.Random):
        def uniform(self, a, b):
            return b

    assert [retry_delay(n, p, rng=Top()) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


# --- property: ordering and no loss -------------------------------------------------------------

KEYS = ("A", "B")
ops = st.lists(st.one_of(
    st.tuples(st.just("enqueue"), st.sampled_from(KEYS)),
    st.tuples(st.just("claim"), st.integers(1, 4)),
    st.tuples(st.just("settle"), st.sampled_from(["ok", "ok", "fail"]), st.integers(0, 3)),
    st.tuples(st.just("advance"), st.sampled_from([0.5, 3, 30])),
), min_size=4, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops, seed=st.integers(0, 1000))
@example(ops=[("enqueue", "A"), ("enqueue", "A"), ("claim", 3), ("settle", "ok", 1)], seed=0)
@example(ops=[("enqueue", "A"), ("claim", 1), ("enqueue", "A"), ("settle", "fail", 0), ("advance", 30),
              ("claim", 4), ("settle", "ok", 0)], seed=0)
def test_records_of_one_key_are_delivered_in_enqueue_order_and_never_lost(ops, seed):
    clock = FakeClock()
    rng = random.Random(seed)
    pol = policy(max_attempts=3, base_delay=1, max_delay=4)
    with tempfile.TemporaryDirectory() as d:
        store = open_store(f"sqlite:///{d}/p.db", clock=clock, synchronous="OFF")
        try:
            enqueued: dict[str, list[int]] = defaultdict(list)
            delivered: dict[str, list[int]] = defaultdict(list)
            held: list = []
            n = 0

            def do_settle(outcomes):
                for rid, state in settle(store, outcomes, policy_for=pol, rng=rng).items():
                    if state == "delivered":
                        key = next(o.record.entity_key for o in outcomes if o.record.id == rid)
                        delivered[key].append(rid)

            def check_one_in_flight_per_key():
                with store.read() as conn:
                    R = Record.__table__
                    keys = conn.execute(select(R.c.entity_key).where(R.c.state == "in_flight")).scalars().all()
                assert len(keys) == len(set(keys))

            for op in ops:
                if op[0] == "enqueue":
                    n += 1
                    [rid] = lifecycle.enqueue(store, [new_record(n, key=op[1])]).inserted
                    enqueued[op[1]].append(rid)
                elif op[0] == "claim":
                    held += claim_all(store, limit=op[1])
                    check_one_in_flight_per_key()
                elif op[0] == "settle" and held:
                    c = held.pop(op[2] % len(held))
                    do_settle([ok(c) if op[1] == "ok" else fail(c)])
                elif op[0] == "advance":
                    clock.advance(op[1])

            # Drain: settle what is held, then keep delivering until nothing is claimable.
            do_settle([ok(c) for c in held])
            for _ in range(200):
                clock.advance(10)
                got = claim_all(store, limit=100)
                if not got:
                    break
                do_settle([ok(c) for c in got])

            for key, ids in delivered.items():
                assert ids == sorted(ids), f"key {key} delivered out of order: {ids}"
            with store.read() as conn:
                R = Record.__table__
                rows = conn.execute(select(R.c.id, R.c.entity_key, R.c.state).order_by(R.c.id)).all()
            assert [r.id for r in rows] == sorted(i for ids in enqueued.values() for i in ids)
            by_state = defaultdict(int)
            for r in rows:
                by_state[r.state] += 1
            assert sum(by_state.values()) == n
            assert set(by_state) <= {"delivered", "failed", "pending"}
            for key, ids in enqueued.items():
                states = [r.state for r in rows if r.entity_key == key]
                # Everything before the first failure was delivered, in order; after it, all wait.
                stop = states.index("failed") if "failed" in states else len(states)
                assert states[:stop] == ["delivered"] * stop
                assert all(s == "pending" for s in states[stop + 1:])
                assert delivered[key] == ids[:stop]
        finally:
            store.close()


def test_one_call_may_carry_the_same_source_event_for_two_flows(store):
    # One source pull fanned out to two targets: same idempotency key, different flows.
    recs = [inv(1, key="SKU@s"), inv(2, key="SKU@s")]
    recs[1].idempotency_key = recs[0].idempotency_key
    recs[1].flow, recs[1].target = "inventory_erp", "erp"
    res = lifecycle.enqueue(store, recs)
    assert len(res.inserted) == 2 and res.duplicates == 0
    assert _duplicates(store, flow="inventory") == 0 and _duplicates(store, flow="inventory_erp") == 0
    # Coalescing in each flow links to that flow's own newer record.
    more = [inv(3, key="SKU@s"), inv(4, key="SKU@s")]
    more[1].idempotency_key = more[0].idempotency_key
    more[1].flow, more[1].target = "inventory_erp", "erp"
    new_shop, new_erp = lifecycle.enqueue(store, more).inserted
    assert get_record(store, res.inserted[0]).superseded_by == new_shop
    assert get_record(store, res.inserted[1]).superseded_by == new_erp


# --- unknown outcomes and auto-resolve ----------------------------------------------------------

def test_a_record_whose_outcome_is_unknown_is_never_superseded_and_blocks_newer_values(store, clock):
    [a] = lifecycle.enqueue(store, [new_record(1, flow="stock", entity="inventory", key="SKU@L1",
                                               coalesce=True)]).inserted
    [c] = claim_all(store)
    settle(store, [fail(c, Category.UNAVAILABLE, "reset after send", maybe_applied=True)])
    res = lifecycle.enqueue(store, [new_record(2, flow="stock", entity="inventory", key="SKU@L1", coalesce=True)])
    assert res.superseded == 0 and state_of(store, a) == "retry_wait" and get_record(store, a).outcome_unknown
    clock.advance(3600)
    assert [x.id for x in claim_all(store)] == [a]  # resolved at the target first; the newer one waits


def test_a_failed_record_is_auto_resolved_once_a_newer_one_for_its_key_delivers(store, clock):
    [a] = lifecycle.enqueue(store, [new_record(1, flow="stock", entity="inventory", key="SKU@L1",
                                               coalesce=True)]).inserted
    [ca] = claim_all(store)
    # The newer value arrives while the older one is in flight; then the older one fails.
    [b] = lifecycle.enqueue(store, [new_record(2, flow="stock", entity="inventory", key="SKU@L1",
                                               coalesce=True)]).inserted
    settle(store, [fail(ca, Category.VALIDATION, "422 bad location")])
    assert state_of(store, a) == "failed"
    [cb] = claim_all(store)
    assert cb.id == b
    settle(store, [ok(cb)])
    row = get_record(store, a)
    assert (row.state, row.resolution) == ("resolved", f"superseded by #{b} delivered")
    [event] = [e for e in record_detail(store, a).audit if e.action == "auto_resolve"]
    assert (event.actor, event.via) == ("engine", "engine")
