"""`syncops status --by-tenant` (the fleet rollup) and `syncops timeline KEY`."""

from __future__ import annotations

import json

from syncops.services.actions import act, edit_payload
from syncops.services.actor import Actor
from syncops.services.flows import pause
from syncops.store.categories import Category
from syncops.store.tables import EndpointState

from .conftest import inventory_payload, order_payload

TECH = Actor(user="tech1", client=None, via="cli")


def test_by_tenant_puts_the_worst_tenant_first_with_its_figures(cli, seed) -> None:
    seed.enqueue([inventory_payload("MUG-WHITE")], tenant="bella", flow="inventory")
    seed.failed(2)  # acme/orders
    seed.enqueue([inventory_payload("TSHIRT-RED-M")], flow="inventory", age=600)  # past the 1m SLA: critical
    pause(seed.store, "acme", "orders", actor=TECH, reason="vendor outage")
    r = cli("status", "--by-tenant")
    assert r.code == 2, r.out + r.err
    lines = r.out.splitlines()
    assert lines[0].split()[:5] == ["TENANT", "HEALTH", "FAILED", "QUAR", "SLA"]
    acme, bella = lines[1].split(), lines[2].split()
    assert acme[:7] == ["acme", "[PROD]", "CRITICAL", "2", "0", "breach", "10m00s"]
    assert acme[7:10] == ["1", "0", "2"] and acme[10] == "inventory"  # paused, breakers, flows, worst flow
    assert bella[:2] == ["bella", "OK"]
    assert "SYNCOPS CRITICAL: 2 tenants, 1 critical" in r.out


def test_by_tenant_json_counts_open_breakers(cli, seed) -> None:
    with seed.store.write() as conn:
        conn.execute(EndpointState.__table__.insert().values(
            tenant="bella", endpoint="web", breaker="open", consecutive_failures=5, updated_at=seed.clock()))
    data = cli("status", "--by-tenant", "--json").json()
    tenants = {t["tenant"]: t for t in data["tenants"]}
    assert [t["tenant"] for t in data["tenants"]][0] == "bella", data["tenants"]
    assert tenants["bella"]["breakers_open"] == 1 and tenants["bella"]["health"] == "warning"
    assert tenants["acme"]["breakers_open"] == 0 and tenants["acme"]["flows"] == 2


def test_timeline_of_a_sku_spans_locations_flows_and_actions(cli, seed) -> None:
    a = seed.enqueue([inventory_payload("TSHIRT-RED-M", "store-1")], flow="inventory", age=300)[0]
    b = seed.enqueue([inventory_payload("TSHIRT-RED-M", "store-2")], tenant="bella", flow="inventory", age=200)[0]
    seed.enqueue([inventory_payload("TSHIRT-RED-MX", "store-1")], flow="inventory")  # another SKU
    seed.settle([a], Category.UNAVAILABLE, "503 from web")
    r = cli("timeline", "TSHIRT-RED-M")
    assert r.code == 0, r.err
    assert "2 record(s), keys TSHIRT-RED-M@store-1, TSHIRT-RED-M@store-2" in r.out
    body = r.out.splitlines()[1:]
    kinds = [line.split()[3] for line in body]
    assert kinds[:2] == ["source", "source"]  # store-1 changed first (older source_ts)
    assert any("503 from web" in line and f"#{a}" in line for line in body)
    assert all("TSHIRT-RED-MX" not in line for line in body)
    data = cli("timeline", "TSHIRT-RED-M", "--json").json()
    assert {e["record_id"] for e in data["events"]} == {a, b}
    ats = [e["at"] for e in data["events"]]
    assert ats == sorted(ats)


def test_timeline_of_an_order_masks_customer_data_and_shows_edits(cli, seed) -> None:
    rid = seed.failed(1)[0]
    number = seed.row(rid).entity_key
    payload = json.loads(seed.row(rid).payload)
    payload["lines"][0]["tax_code"] = "reduced"
    edit_payload(seed.store, rid, payload, actor=TECH, reason="tax code fixed",
                 expected_version=seed.row(rid).version)
    act(seed.store, "quarantine", rid, actor=TECH, expected_version=seed.row(rid).version, reason="hold")
    data = cli("timeline", number, "--json").json()
    kinds = [e["kind"] for e in data["events"]]
    assert kinds[0] == "source" and "edit" in kinds and "action" in kinds
    source = data["events"][0]["snapshot"]
    real = order_payload(number)["customer"]
    assert source["customer"]["email"] != real["email"] and "***" in source["customer"]["email"]
    assert real["email"] not in cli("timeline", number).out + json.dumps(data)
    action = next(e for e in data["events"] if e["kind"] == "action")
    assert "quarantine: hold" in action["summary"] and action["actor"].startswith("tech1")


def test_timeline_of_an_unknown_key_says_so(cli, seed) -> None:
    r = cli("timeline", "NOPE")
    assert r.code == 1 and "no records with entity key 'NOPE'" in r.out
