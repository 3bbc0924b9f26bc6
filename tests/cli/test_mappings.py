"""`mappings list|set|delete|unmapped`: fixing an unmapped value releases exactly what it blocked."""

from __future__ import annotations

import json

import pytest

from syncops.store.categories import Category

from .conftest import inventory_payload, order_payload


def _block(seed, ids, value: str, map_name: str = "sku_map") -> None:
    msg = f"sku '{value}' not in map {map_name} (field lines[0].sku)"
    states = seed.settle(ids, Category.MAPPING, msg, error_map=map_name, error_value=value)
    assert set(states.values()) == {"failed"}


@pytest.fixture
def blocked(seed):
    boots = seed.enqueue([order_payload(f"B-{i}", sku="BOOT-BRN-42") for i in range(3)])
    _block(seed, boots, "BOOT-BRN-42")
    cap = seed.enqueue([order_payload("C-1", sku="CAP-BLK")])
    _block(seed, cap, "CAP-BLK")
    # Same map name and value in another tenant: not this tenant's fix.
    bella = seed.enqueue([inventory_payload("BOOT-BRN-42")], tenant="bella", flow="inventory")
    _block(seed, bella, "BOOT-BRN-42")
    other = seed.failed(1, message="rejected: bad tax code")
    return dict(boots=boots, cap=cap, bella=bella, other=other)


def test_unmapped_ranks_values_by_records_blocked(cli, blocked) -> None:
    r = cli("mappings", "unmapped", "--tenant", "acme")
    assert r.code == 0, r.err
    lines = [l for l in r.out.splitlines() if "blocked by" in l]
    assert lines[0].startswith("3 record(s) blocked by BOOT-BRN-42 in map sku_map")
    assert "(tenant acme; flows orders)" in lines[0]
    assert lines[1].startswith("1 record(s) blocked by CAP-BLK in map sku_map")
    assert len(lines) == 2
    assert "syncops mappings set" in r.out  # says how to fix it
    everyone = cli("mappings", "unmapped", "--json").json()
    assert {(u["tenant"], u["value"], u["count"]) for u in everyone} == {
        ("acme", "BOOT-BRN-42", 3), ("acme", "CAP-BLK", 1), ("bella", "BOOT-BRN-42", 1)}


def test_unmapped_when_nothing_is_blocked(cli, seed) -> None:
    seed.failed(1)
    r = cli("mappings", "unmapped")
    assert r.code == 0 and "no records are blocked" in r.out


def test_set_with_release_releases_exactly_the_blocked_records(cli, seed, blocked) -> None:
    r = cli("mappings", "set", "--tenant", "acme", "sku_map", "BOOT-BRN-42", "BOOT-BROWN-42", "--release",
            "--reason", "new boot SKU")
    assert r.code == 0, r.err
    assert "sku_map: BOOT-BRN-42 -> BOOT-BROWN-42 saved; released 3 record(s) it blocked" in r.out
    assert [seed.state(i) for i in blocked["boots"]] == ["pending"] * 3
    for untouched in blocked["cap"] + blocked["bella"] + blocked["other"]:
        assert seed.state(untouched) == "failed"
    events = cli("audit", "list", "--json").json()
    assert sorted(e["action"] for e in events) == ["mapping_set", "release", "release", "release"]
    assert sorted(int(e["target_id"]) for e in events if e["action"] == "release") == blocked["boots"]
    mapping_event = next(e for e in events if e["action"] == "mapping_set")
    assert (mapping_event["target_id"], mapping_event["reason"]) == ("sku_map:BOOT-BRN-42", "new boot SKU")
    left = cli("mappings", "unmapped", "--tenant", "acme", "--json").json()
    assert [u["value"] for u in left] == ["CAP-BLK"]


def test_set_without_release_leaves_records_failed(cli, seed, blocked) -> None:
    r = cli("mappings", "set", "--tenant", "acme", "sku_map", "CAP-BLK", "CAP-BLACK")
    assert r.code == 0 and "released" not in r.out
    assert seed.state(blocked["cap"][0]) == "failed"
    # They can be released later with the filter flags.
    r = cli("records", "release", "--tenant", "acme", "--map", "sku_map", "--value", "CAP-BLK", "--yes")
    assert r.code == 0 and "release: 1 record(s) done" in r.out
    assert seed.state(blocked["cap"][0]) == "pending"


def test_list_shows_config_and_operator_entries(cli, seed) -> None:
    assert cli("mappings", "set", "--tenant", "acme", "sku_map", "CAP-BLK", "CAP-BLACK").code == 0
    r = cli("mappings", "list", "--tenant", "acme")
    assert r.code == 0, r.err
    rows = [l.split() for l in r.out.splitlines()]
    assert rows[0] == ["MAP", "SOURCE", "TARGET", "FROM", "BY"]
    assert ["sku_map", "CAP-BLK", "CAP-BLACK", "store", "tech1"] in rows
    assert ["sku_map", "TSHIRT-RED-M", "TSHIRT-RED-M", "config"] in rows
    entries = cli("mappings", "list", "--tenant", "acme", "--map", "sku_map", "--json").json()
    assert {(e["source"], e["target"], e["origin"]) for e in entries} == {
        ("CAP-BLK", "CAP-BLACK", "store"), ("MUG-WHITE", "MUG-WHITE", "config"),
        ("TSHIRT-RED-M", "TSHIRT-RED-M", "config")}
    json.dumps(entries)


def test_a_map_or_tenant_the_config_does_not_know_is_refused(cli) -> None:
    r = cli("mappings", "set", "--tenant", "acme", "sku_mpa", "CAP-BLK", "CAP-BLACK")
    assert r.code == 1 and "no map 'sku_mpa'" in r.err and "sku_map" in r.err
    r = cli("mappings", "set", "--tenant", "acme-typo", "sku_map", "CAP-BLK", "CAP-BLACK")
    assert r.code == 1 and "tenant 'acme-typo'" in r.err
    assert cli("mappings", "list", "--tenant", "acme", "--json").json() == [
        e for e in cli("mappings", "list", "--tenant", "acme", "--json").json() if e["origin"] == "config"]


def test_an_operator_entry_overrides_the_config(cli) -> None:
    assert cli("mappings", "set", "--tenant", "acme", "sku_map", "MUG-WHITE", "MUG-W").code == 0
    entries = cli("mappings", "list", "--tenant", "acme", "--map", "sku_map", "--json").json()
    assert [(e["target"], e["origin"]) for e in entries if e["source"] == "MUG-WHITE"] == [("MUG-W", "store")]


def test_delete_of_a_config_entry_is_refused(cli) -> None:
    r = cli("mappings", "delete", "--tenant", "acme", "sku_map", "TSHIRT-RED-M")
    assert r.code == 1
    assert "comes from the config file" in r.err and "Traceback" not in r.err
    entries = cli("mappings", "list", "--tenant", "acme", "--json").json()
    assert any(e["source"] == "TSHIRT-RED-M" for e in entries)
    assert cli("audit", "list", "--json").json() == []


def test_delete_of_an_operator_entry(cli) -> None:
    assert cli("mappings", "set", "--tenant", "acme", "sku_map", "CAP-BLK", "CAP-BLACK").code == 0
    r = cli("mappings", "delete", "--tenant", "acme", "sku_map", "CAP-BLK")
    assert r.code == 0 and "sku_map: CAP-BLK deleted" in r.out
    entries = cli("mappings", "list", "--tenant", "acme", "--json").json()
    assert not any(e["source"] == "CAP-BLK" for e in entries)
    assert cli("audit", "list", "--json", "--action", "mapping_delete").json()[0]["target_id"] == "sku_map:CAP-BLK"
    r = cli("mappings", "delete", "--tenant", "acme", "sku_map", "CAP-BLK")
    assert r.code == 1 and "no stored mapping" in r.err


def test_set_refuses_empty_values(cli) -> None:
    r = cli("mappings", "set", "--tenant", "acme", "sku_map", "CAP-BLK", " ")
    assert r.code == 1 and "non-empty" in r.err
