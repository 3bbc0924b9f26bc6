"""Canary bulk retry: a few first, their outcome, then the rest or nothing; one audited operation."""

from __future__ import annotations

import json

import pytest

from conftest import claim_all, make_failed, ok, settle, state_of
from syncops.services import canary
from syncops.services.actor import Actor
from syncops.services.errors import ActionError
from syncops.store.categories import Category
from syncops.store.filters import RecordFilter
from syncops.store.lifecycle import Outcome
from syncops.store.queries import audit_events

TECH = Actor("tech1", "203.0.113.7", "cli")
GROUP = RecordFilter(tenant="acme", states=("failed",))


def engine_delivers(store, clock, *, fail: set[int] = frozenset()):
    """A `sleep` for canary.wait that plays the engine: time passes, claimed canaries settle."""
    def sleep(seconds: float) -> None:
        clock.advance(seconds)
        claimed = claim_all(store, limit=1000)
        settle(store, [Outcome(record=c, category=Category.VALIDATION, message="still bad") if c.id in fail
                       else ok(c) for c in claimed])
    return sleep


def test_canaries_delivered_then_the_rest_is_released(store, clock) -> None:
    ids = make_failed(store, 12)
    run = canary.start(store, GROUP, actor=TECH, confirmed_count=12, size=5)
    assert run.canary_ids == tuple(ids[:5])  # the oldest first
    assert [state_of(store, i) for i in ids[5:]] == ["failed"] * 7  # the rest untouched while watching
    seen: list[str] = []
    st = canary.wait(store, run, timeout=60, poll=1, sleep=engine_delivers(store, clock),
                     on_progress=lambda s: seen.append(s.line()))
    assert st.all_delivered and st.delivered == 5
    assert seen[0].startswith("canaries: 0 delivered, 0 failed, 5 waiting")
    out = canary.release(store, run, actor=TECH)
    assert (out.outcome, out.released) == ("released", 7)
    assert [state_of(store, i) for i in ids[5:]] == ["pending"] * 7
    (ev,) = audit_events(store, action="canary_retry")
    after = json.loads(ev.after)
    assert (after["outcome"], after["canaries"], after["delivered"], after["failed"], after["released"]) == (
        "released", 5, 5, 0, 7)
    (start,) = audit_events(store, action="canary_start")
    assert json.loads(start.after)["op"] == after["op"]
    assert len(audit_events(store, action="retry")) == 12  # every record still has its own event


def test_a_failing_canary_stops_the_wait_and_the_rest_is_not_released(store, clock) -> None:
    ids = make_failed(store, 10)
    run = canary.start(store, GROUP, actor=TECH, confirmed_count=10, size=3)
    st = canary.wait(store, run, timeout=60, sleep=engine_delivers(store, clock, fail={ids[1]}))
    assert st.settled and not st.all_delivered and st.failed == 1
    with pytest.raises(ActionError, match="not releasing the rest"):
        canary.release(store, run, actor=TECH)
    out = canary.stop(store, run, actor=TECH)
    assert out.outcome == "stopped"
    assert [state_of(store, i) for i in ids[3:]] == ["failed"] * 7
    (ev,) = audit_events(store, action="canary_retry")
    assert json.loads(ev.after)["outcome"] == "stopped" and json.loads(ev.after)["failed"] == 1


def test_wait_is_bounded_by_the_timeout_when_no_engine_runs(store, clock) -> None:
    make_failed(store, 6)
    run = canary.start(store, GROUP, actor=TECH, confirmed_count=6, size=2)
    st = canary.wait(store, run, timeout=10, poll=2, sleep=clock.advance)
    assert st.timed_out and st.waiting == 2 and st.elapsed == 10
    assert canary.stop(store, run, actor=TECH, timed_out=True).outcome == "timed_out"


def test_more_matching_than_confirmed_changes_nothing(store, clock) -> None:
    ids = make_failed(store, 4)
    with pytest.raises(ActionError, match="more than the 3 you confirmed"):
        canary.start(store, GROUP, actor=TECH, confirmed_count=3)
    assert [state_of(store, i) for i in ids] == ["failed"] * 4
    assert audit_events(store) == []
