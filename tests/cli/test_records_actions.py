"""Single-record and bulk actions: retry, quarantine, release, resolve; each audited."""

from __future__ import annotations

import io
import json

import pytest

from syncops.store.categories import Category


class FakeTty(io.StringIO):
    """Standard input that claims to be a terminal, with the operator's answers queued."""

    def isatty(self) -> bool:
        return True


def _audit(cli, **filters: str) -> list[dict]:
    args = ["audit", "list", "--json"]
    for k, v in filters.items():
        args += [f"--{k}", v]
    r = cli(*args)
    assert r.code == 0, r.err
    return r.json()


# --- single records -------------------------------------------------------------------------------

def test_retry_by_id_puts_a_failed_record_back_and_audits_it(cli, seed) -> None:
    rid = seed.failed(1)[0]
    r = cli("records", "retry", str(rid))
    assert r.code == 0, r.err
    assert f"record {rid}: pending" in r.out
    assert seed.state(rid) == "pending" and seed.row(rid).attempts == 0
    (ev,) = _audit(cli, action="retry")
    assert (ev["target_type"], ev["target_id"], ev["actor"], ev["via"], ev["tenant"]) == (
        "record", str(rid), "tech1", "cli", "acme")
    assert json.loads(ev["before"])["state"] == "failed" and json.loads(ev["after"])["state"] == "pending"


def test_retry_now_of_a_record_waiting_for_its_backoff(cli, seed) -> None:
    rid = seed.orders(1)[0]
    assert seed.settle([rid], Category.UNAVAILABLE, "HTTP 503") == {rid: "retry_wait"}
    assert seed.row(rid).due_at > seed.row(rid).updated_at  # waiting
    r = cli("records", "retry", str(rid))
    assert r.code == 0, r.err
    row = seed.row(rid)
    assert row.state == "pending" and row.due_at <= row.updated_at + 1


def test_quarantine_needs_a_reason(cli, seed) -> None:
    rid = seed.failed(1)[0]
    version = seed.row(rid).version
    r = cli("records", "quarantine", str(rid))
    assert r.code == 1
    assert "needs a reason" in r.err and "Traceback" not in r.err
    assert seed.state(rid) == "failed" and seed.row(rid).version == version
    assert _audit(cli) == []
    r = cli("records", "quarantine", str(rid), "--reason", "   ")
    assert r.code == 1 and seed.state(rid) == "failed"


def test_quarantine_then_release(cli, seed) -> None:
    rid = seed.failed(1)[0]
    r = cli("records", "quarantine", str(rid), "--reason", "vendor investigating")
    assert r.code == 0, r.err
    assert f"record {rid}: quarantined" in r.out
    assert seed.state(rid) == "quarantined"
    r = cli("records", "release", str(rid), "--json")
    assert r.code == 0, r.err
    assert r.json() == [{"id": rid, "state": "pending", "version": seed.row(rid).version}]
    assert seed.state(rid) == "pending"
    events = _audit(cli, record=str(rid))
    assert [e["action"] for e in events] == ["release", "quarantine"]  # newest first
    assert events[1]["reason"] == "vendor investigating"


def test_resolve_needs_a_reason_and_keeps_it(cli, seed) -> None:
    rid = seed.failed(1)[0]
    r = cli("records", "resolve", str(rid))
    assert r.code == 1 and "needs a reason" in r.err and seed.state(rid) == "failed"
    r = cli("records", "resolve", str(rid), "--reason", "entered by hand in the ERP")
    assert r.code == 0, r.err
    assert seed.state(rid) == "resolved" and seed.row(rid).resolution == "entered by hand in the ERP"
    (ev,) = _audit(cli, action="resolve")
    assert ev["target_id"] == str(rid) and ev["reason"] == "entered by hand in the ERP"
    assert "resolution: entered by hand in the ERP" in cli("records", "show", str(rid)).out


def test_actions_on_several_ids(cli, seed) -> None:
    ids = seed.failed(3)
    r = cli("records", "retry", *map(str, ids[:2]))
    assert r.code == 0, r.err
    assert [seed.state(i) for i in ids] == ["pending", "pending", "failed"]
    assert sorted(int(e["target_id"]) for e in _audit(cli, action="retry")) == ids[:2]


def test_an_action_that_does_not_apply_is_refused(cli, seed) -> None:
    rid = seed.orders(1)[0]
    r = cli("records", "release", str(rid))
    assert r.code == 1
    assert f"cannot release record {rid}: it is pending" in r.err and "Traceback" not in r.err
    assert seed.state(rid) == "pending" and _audit(cli) == []


def test_unknown_id_is_a_clear_error(cli, seed) -> None:
    r = cli("records", "retry", "424242")
    assert r.code == 1 and "no record with id 424242" in r.err and "Traceback" not in r.err


def test_a_bad_id_among_several_changes_nothing(cli, seed) -> None:
    ids = seed.failed(2)
    r = cli("records", "retry", str(ids[0]), "424242", str(ids[1]))
    assert r.code == 1 and "424242" in r.err
    assert [seed.state(i) for i in ids] == ["failed", "failed"]
    assert _audit(cli) == []


def test_a_record_in_the_wrong_state_among_several_changes_nothing(cli, seed) -> None:
    failed, pending = seed.failed(1)[0], seed.orders(1)[0]
    r = cli("records", "quarantine", str(failed), str(pending), str(seed.failed(1)[0]), "--reason", "x")
    assert r.code == 0  # pending records can be quarantined
    q, p = seed.failed(1)[0], seed.orders(1)[0]
    r = cli("records", "release", str(q), str(p))
    assert r.code == 1 and f"cannot release record {p}: it is pending" in r.err
    assert seed.state(q) == "failed" and seed.state(p) == "pending"
    assert not any(e["action"] == "release" for e in _audit(cli))


def test_an_action_needs_ids_or_filters(cli, seed) -> None:
    seed.failed(1)
    r = cli("records", "retry")
    assert r.code == 2 and "needs record ids or filters" in r.err


# --- bulk -----------------------------------------------------------------------------------------

@pytest.fixture
def failures(seed):
    tax = seed.failed(3, message="rejected: bad tax code")
    auth = seed.failed(2, message="401 token expired", category=Category.AUTH)
    pending = seed.orders(1)
    return dict(tax=tax, auth=auth, pending=pending)


def test_bulk_without_yes_and_without_a_terminal_refuses(cli, seed, failures) -> None:
    r = cli("records", "retry", "--state", "failed")
    assert r.code != 0
    assert "retry: 5 record(s) match" in r.err  # the count is shown first
    assert "--yes" in r.err
    assert all(seed.state(i) == "failed" for i in failures["tax"] + failures["auth"])
    assert _audit(cli) == []


def test_bulk_with_yes_acts_and_prints_the_count(cli, seed, failures) -> None:
    r = cli("records", "retry", "--category", "auth", "--yes")
    assert r.code == 0, r.err
    assert "retry: 2 record(s) match" in r.err
    assert "retry: 2 record(s) done" in r.out
    assert [seed.state(i) for i in failures["auth"]] == ["pending", "pending"]
    assert all(seed.state(i) == "failed" for i in failures["tax"])
    events = _audit(cli)
    assert sorted(e["action"] for e in events) == ["bulk_retry", "retry", "retry"]
    assert sorted(int(e["target_id"]) for e in events if e["action"] == "retry") == failures["auth"]


def test_bulk_filters_by_error_text_and_json_output(cli, seed, failures) -> None:
    r = cli("records", "quarantine", "--error", "tax code", "--reason", "waiting for the accountant",
            "--yes", "--json")
    assert r.code == 0, r.err
    assert r.json() == {"action": "quarantine", "touched": 3, "arrived_later": 0, "changed_meanwhile": 0}
    assert all(seed.state(i) == "quarantined" for i in failures["tax"])
    assert seed.state(failures["pending"][0]) == "pending"
    r = cli("records", "release", "--state", "quarantined", "--yes", "--json")
    assert r.json() == {"action": "release", "touched": 3, "arrived_later": 0, "changed_meanwhile": 0}


def test_bulk_quarantine_needs_a_reason(cli, seed, failures) -> None:
    r = cli("records", "quarantine", "--state", "failed", "--yes")
    assert r.code == 1 and "needs a reason" in r.err
    assert all(seed.state(i) == "failed" for i in failures["tax"] + failures["auth"])


def test_bulk_resolve_with_ids_and_filters_together(cli, seed, failures) -> None:
    target = failures["tax"][0]
    r = cli("records", "resolve", str(target), failures["auth"][0].__str__(), "--category", "validation",
            "--reason", "dup", "--yes")
    assert r.code == 0, r.err
    assert "resolve: 1 record(s) done" in r.out  # ids AND filters: only the validation one
    assert seed.state(target) == "resolved" and seed.state(failures["auth"][0]) == "failed"


def test_bulk_matching_nothing_changes_nothing(cli, seed, failures) -> None:
    r = cli("records", "retry", "--key", "NOPE-*", "--json")
    assert r.code == 0
    assert r.json() == {"action": "retry", "touched": 0}
    assert _audit(cli) == []


def test_bulk_filters_by_age_tenant_and_flow(cli, seed) -> None:
    old = seed.orders(2, age=7200)
    young = seed.orders(1)
    r = cli("records", "quarantine", "--tenant", "acme", "--flow", "orders", "--older-than", "1h",
            "--reason", "stale backfill", "--yes", "--json")
    assert r.code == 0, r.err
    assert r.json() == {"action": "quarantine", "touched": 2, "arrived_later": 0, "changed_meanwhile": 0}
    assert [seed.state(i) for i in old + young] == ["quarantined", "quarantined", "pending"]
    bulk = cli("audit", "list", "--json", "--action", "bulk_quarantine").json()
    assert len(bulk) == 1 and "older_than=3600s" in bulk[0]["target_id"]
    assert json.loads(bulk[0]["after"]) == {"count": 2}


def test_bulk_asks_on_a_terminal(cli, seed, failures, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", FakeTty("n\n"))
    r = cli("records", "retry", "--category", "auth")
    assert r.code == 1 and "nothing changed" in r.err
    assert "retry 2 record(s)? [y/N]" in r.out
    assert all(seed.state(i) == "failed" for i in failures["auth"])
    monkeypatch.setattr("sys.stdin", FakeTty("y\n"))
    r = cli("records", "retry", "--category", "auth")
    assert r.code == 0 and "retry: 2 record(s) done" in r.out
    assert all(seed.state(i) == "pending" for i in failures["auth"])
