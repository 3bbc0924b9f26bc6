"""`records list` with filters and `records show` (masked by default, audited reveal)."""

from __future__ import annotations

import json

import pytest

from syncops.store.categories import Category

from .conftest import inventory_payload


@pytest.fixture
def mixed(seed):
    """A store with records in several tenants, flows, states and categories."""
    failed = seed.failed(2, message="rejected: bad tax code")
    waiting = seed.orders(1)
    assert seed.settle(waiting, Category.UNAVAILABLE, "HTTP 503 from upstream") == {waiting[0]: "retry_wait"}
    pending = seed.orders(1)
    inv = seed.enqueue([inventory_payload("TSHIRT-RED-M"), inventory_payload("CAP-BLK")], flow="inventory")
    bella = seed.enqueue([inventory_payload("TSHIRT-BLU-L")], tenant="bella", flow="inventory")
    return dict(failed=failed, waiting=waiting, pending=pending, inv=inv, bella=bella)


def _ids(r) -> set[int]:
    assert r.code == 0, r.err
    rows = r.json()
    assert isinstance(rows, list)
    return {row["id"] for row in rows}


def test_list_json_is_a_list_of_records(cli, mixed) -> None:
    r = cli("records", "list", "--json")
    rows = r.json()
    assert isinstance(rows, list) and len(rows) == 7
    assert {"id", "tenant", "flow", "state", "entity_key", "error_category"} <= set(rows[0])
    assert [row["id"] for row in rows] == sorted((row["id"] for row in rows), reverse=True)  # newest first
    oldest_first = cli("records", "list", "--json", "--oldest-first").json()
    assert [row["id"] for row in oldest_first] == sorted(row["id"] for row in rows)


def test_list_filters(cli, mixed) -> None:
    all_acme = set(mixed["failed"] + mixed["waiting"] + mixed["pending"] + mixed["inv"])
    assert _ids(cli("records", "list", "--json", "--tenant", "acme")) == all_acme
    assert _ids(cli("records", "list", "--json", "--tenant", "bella")) == set(mixed["bella"])
    assert _ids(cli("records", "list", "--json", "--state", "failed")) == set(mixed["failed"])
    assert _ids(cli("records", "list", "--json", "--state", "failed", "--state", "retry_wait")) == \
        set(mixed["failed"] + mixed["waiting"])
    assert _ids(cli("records", "list", "--json", "--category", "unavailable")) == set(mixed["waiting"])
    assert _ids(cli("records", "list", "--json", "--key", "TSHIRT-*")) == {mixed["inv"][0], mixed["bella"][0]}
    assert _ids(cli("records", "list", "--json", "--key", "CAP-BLK@store-1")) == {mixed["inv"][1]}
    assert _ids(cli("records", "list", "--json", "--error", "TAX CODE")) == set(mixed["failed"])
    assert _ids(cli("records", "list", "--json", "--tenant", "acme", "--flow", "inventory")) == set(mixed["inv"])
    assert _ids(cli("records", "list", "--json", "--older-than", "1h")) == set()
    assert len(_ids(cli("records", "list", "--json", "--limit", "2"))) == 2


def test_list_text_table(cli, mixed) -> None:
    r = cli("records", "list", "--state", "failed")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].split()[:6] == ["ID", "AGE", "TENANT", "FLOW", "KEY", "STATE"]
    assert len(lines) == 3
    assert all("failed" in l and "validation" in l and "bad tax code" in l for l in lines[1:])


def test_list_never_prints_payloads(cli, mixed) -> None:
    r = cli("records", "list", "--json")
    assert "Jane" not in r.out and "jane@example.com" not in r.out
    assert "Jane" not in cli("records", "list").out


def test_list_sorting_and_paging_hint(cli, mixed) -> None:
    rows = cli("records", "list", "--json", "--sort", "attempts").json()
    assert rows[0]["attempts"] == 1 and rows[-1]["attempts"] == 0
    r = cli("records", "list", "--limit", "3")
    assert len(r.out.splitlines()) == 4 and "more" in r.err
    assert "more" not in cli("records", "list", "--limit", "50").err


def test_list_bad_filters_are_clear_errors(cli, mixed) -> None:
    r = cli("records", "list", "--state", "broken")
    assert r.code == 1 and "unknown state 'broken'" in r.err and "Traceback" not in r.err
    r = cli("records", "list", "--older-than", "yesterday")
    assert r.code == 1 and "--older-than" in r.err


def test_show_masks_customer_data_by_default(cli, seed) -> None:
    rid = seed.orders(1)[0]
    r = cli("records", "show", str(rid))
    assert r.code == 0, r.err
    assert f"record {rid}" in r.out and "acme/orders" in r.out
    assert "Jane Doe" not in r.out and "jane@example.com" not in r.out and "12 Market St" not in r.out
    assert "masked" in r.out
    data = cli("records", "show", str(rid), "--json").json()
    assert data["record"]["id"] == rid
    assert data["payload"]["customer"]["email"] != "jane@example.com"
    assert data["payload"]["lines"][0]["sku"] == "TSHIRT-RED-M"  # only customer data is masked
    events = cli("audit", "list", "--json", "--action", "reveal_pii").json()
    assert events == []  # looking is not revealing


def test_show_reveal_shows_customer_data_and_is_audited(cli, seed) -> None:
    rid = seed.orders(1)[0]
    r = cli("records", "show", str(rid), "--reveal")
    assert r.code == 0, r.err
    assert "Jane Doe" in r.out and "jane@example.com" in r.out
    data = cli("records", "show", str(rid), "--reveal", "--json").json()
    assert data["payload"]["customer"]["name"] == "Jane Doe"
    events = cli("audit", "list", "--json", "--action", "reveal_pii").json()
    assert len(events) == 2
    assert {(e["target_type"], e["target_id"], e["actor"], e["via"], e["tenant"]) for e in events} == {
        ("record", str(rid), "tech1", "cli", "acme")}


def test_show_includes_attempts_and_last_error(cli, seed) -> None:
    rid = seed.failed(1, message="rejected: bad tax code")[0]
    r = cli("records", "show", str(rid))
    assert "state failed" in r.out and "last error [validation] rejected: bad tax code" in r.out
    assert "attempts (newest first):" in r.out
    data = cli("records", "show", str(rid), "--json").json()
    assert len(data["attempts"]) == 1 and data["attempts"][0]["error_category"] == "validation"
    json.dumps(data)  # plain JSON all the way down


def test_show_unknown_id_is_a_clear_error(cli, seed) -> None:
    r = cli("records", "show", "999999")
    assert r.code == 1
    assert "no record with id 999999" in r.err
    assert r.out == "" and "Traceback" not in r.err
    r = cli("records", "show", "999999", "--reveal")
    assert r.code == 1 and "no record with id 999999" in r.err
    assert cli("audit", "list", "--json").json() == []
