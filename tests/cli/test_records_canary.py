"""`records retry --canary N`: N first, their outcome printed, the rest only when all N delivered."""

from __future__ import annotations

import json
import time

import pytest

from syncops.cli import canary as cli_canary
from syncops.store import lifecycle
from syncops.store.categories import Category
from syncops.store.lifecycle import Outcome


def play_engine(monkeypatch, seed, *, fail: set[int] = frozenset()) -> None:
    """The CLI's wait between polls delivers (or fails) whatever the engine would have claimed."""
    calls = []

    def sleep(_seconds: float) -> None:
        calls.append(1)
        assert len(calls) < 20, "the canaries never settled"
        seed.clock.now = time.time() + 1  # the CLI stamped due_at with the wall clock
        got = lifecycle.claim(seed.store, tenant="acme", target="erp", owner="eng-test", limit=1000)
        lifecycle.settle(seed.store, "eng-test", [
            Outcome(record=c, category=Category.VALIDATION, message="rejected: still bad") if c.id in fail
            else Outcome(record=c) for c in got], endpoint="erp")
    monkeypatch.setattr(cli_canary, "sleep", sleep)


def test_canary_delivered_then_the_rest_is_retried(cli, seed, monkeypatch) -> None:
    ids = seed.failed(8)
    play_engine(monkeypatch, seed)
    r = cli("records", "retry", "--tenant", "acme", "--state", "failed", "--canary", "3", "--yes")
    assert r.code == 0, r.err
    assert "canary: retried 3 of 8" in r.err
    assert "3 delivered, 0 failed, 0 waiting" in r.err
    assert "3 canaries delivered; 5 more record(s) retried" in r.out
    assert [seed.state(i) for i in ids[:3]] == ["delivered"] * 3
    assert [seed.state(i) for i in ids[3:]] == ["pending"] * 5
    (ev,) = json.loads(cli("audit", "list", "--json", "--action", "canary_retry").out)
    assert json.loads(ev["after"])["outcome"] == "released"


def test_a_failed_canary_leaves_the_rest_alone_and_says_why(cli, seed, monkeypatch) -> None:
    ids = seed.failed(6)
    play_engine(monkeypatch, seed, fail={ids[0]})
    r = cli("records", "retry", "--tenant", "acme", "--state", "failed", "--canary", "2", "--yes", "--json")
    assert r.code == 1
    out = r.json()
    assert (out["outcome"], out["failed"], out["released"]) == ("stopped", 1, 0)
    assert f"record {ids[0]}" in r.err and "still bad" in r.err
    assert [seed.state(i) for i in ids[2:]] == ["failed"] * 4


def test_timeout_without_an_engine_retries_only_the_canaries(cli, seed, monkeypatch) -> None:
    ids = seed.failed(4)
    monkeypatch.setattr(cli_canary, "sleep", lambda s: pytest.fail("no wait after the timeout"))
    r = cli("records", "retry", "--tenant", "acme", "--state", "failed", "--canary", "2", "--yes",
            "--canary-timeout", "0s")
    assert r.code == 1
    assert "timed out after 0s" in r.out and "other 2 record(s) were not retried" in r.out
    assert [seed.state(i) for i in ids] == ["pending", "pending", "failed", "failed"]


def test_canary_over_listed_ids(cli, seed, monkeypatch) -> None:
    ids = seed.failed(3)
    play_engine(monkeypatch, seed)
    r = cli("records", "retry", *map(str, ids), "--canary", "1", "--yes")
    assert r.code == 0, r.err
    assert "canary: retried 1 of 3" in r.err
    assert [seed.state(i) for i in ids] == ["delivered", "pending", "pending"]
