"""Operator actions: transitions, refusals, audit, optimistic concurrency, edits, bulk, mapping fixes, flows."""

from __future__ import annotations

import json
import random

import pytest
from sqlalchemy import func, select

from conftest import claim_all, enqueue_n, make_failed, new_record, ok, settle, state_of
from syncops.models import sample_payload
from syncops.services import actions, bulk, flows, mappings
from syncops.services.actor import Actor
from syncops.services.errors import ActionError, ConcurrencyConflict, InvalidTransition, ReasonRequired
from syncops.store import lifecycle
from syncops.store.backoff import RetryPolicy
from syncops.store.categories import Category
from syncops.store.filters import FilterError, RecordFilter
from syncops.store.lifecycle import Outcome
from syncops.store.queries import (
    RecordNotFound, audit_events, flow_controls, get_record, record_detail, unmapped_values,
)
from syncops.store.tables import AuditEvent, PayloadVersion


@pytest.fixture
def tech(monkeypatch) -> Actor:
    monkeypatch.setenv("LOGNAME", "tech1")
    monkeypatch.setenv("USER", "tech1")
    monkeypatch.setenv("SSH_CLIENT", "203.0.113.7 52044 22")
    return Actor.current(via="console")


def n_audit(store) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(AuditEvent.__table__)).scalar_one()


def n_versions(store) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(PayloadVersion.__table__)).scalar_one()


def audit_of(store, rid):
    return record_detail(store, rid).audit


def row_dict(store, rid) -> dict:
    return dict(get_record(store, rid)._mapping)


# --- actor -------------------------------------------------------------------------------------------

def test_actor_comes_from_the_os_user_and_ssh_client(monkeypatch, tech):
    assert (tech.user, tech.client, tech.via) == ("tech1", "203.0.113.7", "console")
    assert str(tech) == "tech1@203.0.113.7"
    monkeypatch.delenv("SSH_CLIENT")
    monkeypatch.setenv("SSH_CONNECTION", "198.51.100.2 4000 10.0.0.1 22")
    assert Actor.current().client == "198.51.100.2"
    monkeypatch.delenv("SSH_CONNECTION")
    local = Actor.current()
    assert (local.client, local.via, str(local)) == (None, "cli", "tech1")


# --- single-record transitions -----------------------------------------------------------------------

def test_retry_puts_a_failed_record_back_with_a_fresh_budget_and_audits_it(store, clock, tech):
    [rid] = make_failed(store)
    before = get_record(store, rid)
    clock.advance(60)
    after = actions.act(store, "retry", rid, actor=tech, expected_version=before.version, reason="tax table fixed")
    assert (after.state, after.attempts, after.due_at, after.version) == ("pending", 0, clock.now, before.version + 1)
    assert [c.id for c in claim_all(store)] == [rid]

    [ev] = audit_of(store, rid)
    assert (ev.action, ev.actor, ev.client, ev.via, ev.target_type, ev.tenant, ev.at) == (
        "retry", "tech1", "203.0.113.7", "console", "record", "acme", clock.now)
    assert json.loads(ev.before) == {"state": "failed", "version": before.version, "attempts": 1,
                                     "error_category": "validation"}
    assert json.loads(ev.after)["state"] == "pending" and json.loads(ev.after)["attempts"] == 0
    assert ev.reason == "tax table fixed"


def test_quarantine_release_and_resolve(store, clock, tech):
    a, b = make_failed(store, 2)
    with pytest.raises(ReasonRequired, match="quarantine needs a reason"):
        actions.act(store, "quarantine", a, actor=tech, reason="  ")
    q = actions.act(store, "quarantine", a, actor=tech, reason="customer disputes order")
    assert (q.state, q.due_at) == ("quarantined", None)
    clock.advance(10**6)
    assert claim_all(store) == []  # parked: never delivered

    r = actions.act(store, "release", a, actor=tech)
    assert r.state == "pending" and [c.id for c in claim_all(store)] == [a]

    with pytest.raises(ReasonRequired):
        actions.act(store, "resolve", b, actor=tech)
    s = actions.act(store, "resolve", b, actor=tech, reason="entered by hand in the ERP")
    assert (s.state, s.resolution) == ("resolved", "entered by hand in the ERP")

    assert [(e.action, e.reason) for e in audit_of(store, a)] == [
        ("quarantine", "customer disputes order"), ("release", None)]
    assert [json.loads(e.after)["state"] for e in audit_of(store, a)] == ["quarantined", "pending"]
    assert [e.action for e in audit_of(store, b)] == ["resolve"]
    for ev in audit_of(store, a) + audit_of(store, b):
        assert (ev.actor, ev.client, ev.via, ev.target_type) == ("tech1", "203.0.113.7", "console", "record")
        assert json.loads(ev.before)["version"] + 1 == json.loads(ev.after)["version"]


def test_retry_wait_can_be_retried_now(store, clock, tech):
    [rid] = enqueue_n(store, 1)
    [c] = claim_all(store)
    settle(store, [Outcome(record=c, category=Category.UNAVAILABLE, message="503")], rng=random.Random(1),
           policy_for=lambda _t, _f: RetryPolicy(base_delay=100))
    assert claim_all(store) == []  # not due yet
    actions.act(store, "retry", rid, actor=tech)
    assert [c.id for c in claim_all(store)] == [rid]


@pytest.mark.parametrize("action, setup, state", [
    ("release", "delivered", "delivered"),
    ("retry", "delivered", "delivered"),
    ("quarantine", "delivered", "delivered"),
    ("resolve", "resolved", "resolved"),
    ("release", "pending", "pending"),
    ("retry", "superseded", "superseded"),
])
def test_refused_transitions_change_nothing_and_say_why(store, tech, action, setup, state):
    if setup == "superseded":
        lifecycle.enqueue(store, [new_record(1, key="X", coalesce=True)])
        lifecycle.enqueue(store, [new_record(2, key="X", coalesce=True)])
        rid = 1
    else:
        [rid] = enqueue_n(store, 1)
        if setup == "delivered":
            [c] = claim_all(store)
            settle(store, [ok(c)])
        elif setup == "resolved":
            actions.act(store, "resolve", rid, actor=tech, reason="done")
    before, audits = row_dict(store, rid), n_audit(store)
    with pytest.raises(InvalidTransition) as err:
        actions.act(store, action, rid, actor=tech, reason="because")
    msg = str(err.value)
    assert f"cannot {action} record {rid}: it is {state}" in msg
    assert "only " in msg  # tells which states are allowed
    assert row_dict(store, rid) == before and n_audit(store) == audits


def test_operators_cannot_act_on_an_in_flight_record_and_the_engine_finishes_it(store, tech):
    [rid] = enqueue_n(store, 1)
    [c] = claim_all(store)
    for action in ("quarantine", "retry", "release", "resolve"):
        with pytest.raises(InvalidTransition, match="being delivered right now"):
            actions.act(store, action, rid, actor=tech, reason="stop it")
    with pytest.raises(InvalidTransition, match="being delivered right now"):
        actions.edit_payload(store, rid, sample_payload("order"), actor=tech, reason="x", expected_version=None)
    assert n_audit(store) == 0
    assert settle(store, [ok(c)]) == {rid: "delivered"}


def test_unknown_action_and_missing_record(store, tech):
    with pytest.raises(ActionError, match="unknown action 'explode'; actions are retry, quarantine"):
        actions.act(store, "explode", 1, actor=tech)
    with pytest.raises(RecordNotFound, match="no record with id 999"):
        actions.act(store, "retry", 999, actor=tech)


# --- optimistic concurrency ---------------------------------------------------------------------------

def test_stale_expected_version_is_a_conflict_and_changes_nothing(store, tech):
    [rid] = make_failed(store)
    seen = get_record(store, rid).version
    actions.act(store, "quarantine", rid, actor=tech, reason="first tech")
    before, audits = row_dict(store, rid), n_audit(store)
    with pytest.raises(ConcurrencyConflict) as err:
        actions.act(store, "release", rid, actor=tech, expected_version=seen)
    assert f"version {seen} -> {seen + 1}, now quarantined" in str(err.value)
    assert "nothing was changed" in str(err.value)
    assert row_dict(store, rid) == before and n_audit(store) == audits


def test_edit_loaded_before_the_engine_retried_and_failed_it_conflicts_until_reloaded(store, clock, tech):
    [rid] = enqueue_n(store, 1, flow="inventory", entity="inventory")
    [c] = claim_all(store)
    settle(store, [Outcome(record=c, category=Category.UNAVAILABLE, message="503")])
    loaded = get_record(store, rid)  # the technician opens the editor on a retry_wait record
    edited = dict(json.loads(loaded.payload), available=3)

    clock.advance(3600)  # meanwhile the engine retries it and it fails for good
    [c] = claim_all(store)
    settle(store, [Outcome(record=c, category=Category.VALIDATION, message="422")])

    before, audits = row_dict(store, rid), n_audit(store)
    with pytest.raises(ConcurrencyConflict, match="reload it"):
        actions.edit_payload(store, rid, edited, actor=tech, reason="fix count", expected_version=loaded.version)
    assert row_dict(store, rid) == before and n_audit(store) == audits and n_versions(store) == 0

    fresh = get_record(store, rid)
    after = actions.edit_payload(store, rid, edited, actor=tech, reason="fix count", expected_version=fresh.version)
    assert after.state == "pending" and json.loads(after.payload)["available"] == 3


# --- edit ------------------------------------------------------------------------------------------------

@pytest.fixture
def failed_inventory(store):
    [rid] = make_failed(store, 1, flow="inventory", entity="inventory", key="TSHIRT-RED-M@store-001")
    return rid


@pytest.mark.parametrize("payload, problem", [
    ('{"sku": "A",', "not valid JSON: line 1 column"),
    ("[1, 2]", "must be a JSON object"),
    ({**sample_payload("inventory"), "available": -1}, "not a valid inventory"),
    ({**sample_payload("inventory"), "colour": "red"}, "colour"),
    (sample_payload("inventory"), "unchanged"),
])
def test_invalid_edits_are_refused_with_the_problem_and_change_nothing(store, tech, failed_inventory, payload, problem):
    rid = failed_inventory
    before, audits = row_dict(store, rid), n_audit(store)
    with pytest.raises(ActionError, match=problem) as err:
        actions.edit_payload(store, rid, payload, actor=tech, reason="fix", expected_version=before["version"])
    if isinstance(payload, dict) and payload.get("available") == -1:
        assert "available" in str(err.value)
    assert row_dict(store, rid) == before and n_audit(store) == audits and n_versions(store) == 0


def test_edit_needs_a_reason(store, tech, failed_inventory):
    with pytest.raises(ReasonRequired):
        actions.edit_payload(store, failed_inventory, {**sample_payload("inventory"), "available": 1},
                             actor=tech, reason=" ", expected_version=None)


def test_valid_edit_keeps_the_original_and_redelivers_under_a_new_key(store, clock, tech, failed_inventory):
    rid = failed_inventory
    clock.advance(30)
    original = json.loads(get_record(store, rid).payload)
    v = get_record(store, rid).version
    edited = json.dumps({**original, "available": 7})  # the console hands over text
    after = actions.edit_payload(store, rid, edited, actor=tech, reason="recount at store", expected_version=v)
    assert (after.state, after.attempts, after.payload_rev, after.version, after.due_at) == (
        "pending", 0, 2, v + 1, clock.now)

    d = record_detail(store, rid)
    assert d.payload["available"] == 7
    v1, v2 = d.versions
    assert (v1.rev, v1.author, json.loads(v1.payload)) == (1, "source", original)
    assert (v2.rev, v2.author, v2.reason, v2.at) == (2, "tech1@203.0.113.7", "recount at store", clock.now)
    assert '-  "available": 12' in v2.diff and '+  "available": 7' in v2.diff
    [ev] = d.audit
    assert ev.action == "edit" and ev.reason == "recount at store"
    assert json.loads(ev.before)["payload_rev"] == 1 and json.loads(ev.after)["payload_rev"] == 2
    assert "available" in json.loads(ev.after)["diff"]

    [c] = claim_all(store)
    assert c.payload["available"] == 7
    assert f":{rid}:r2" in c.delivery_key  # vendors must not see the old key with new content

    # A second edit adds version 3 and keeps the original as version 1.
    settle(store, [Outcome(record=c, category=Category.VALIDATION, message="still wrong")])
    actions.edit_payload(store, rid, {**original, "available": 8}, actor=tech, reason="again",
                         expected_version=None)
    assert [(x.rev, x.author) for x in record_detail(store, rid).versions] == [
        (1, "source"), (2, "tech1@203.0.113.7"), (3, "tech1@203.0.113.7")]


def test_edit_of_the_key_field_moves_the_record_to_the_new_key(store, tech, failed_inventory):
    rid = failed_inventory
    p = {**sample_payload("inventory"), "sku": "TSHIRT-RED-L"}
    after = actions.edit_payload(store, rid, p, actor=tech, reason="wrong size", expected_version=None)
    assert after.entity_key == "TSHIRT-RED-L@store-001"


# --- bulk -------------------------------------------------------------------------------------------------

@pytest.fixture
def zoo(store, clock):
    """A mix of records: ids by label."""
    ids = {}
    ids["val"] = make_failed(store, 2, start=0, message="422 tax code 'ZZ' unknown")
    ids["tshirt"] = make_failed(store, 1, start=10, key="TSHIRT-RED-M", category=Category.CONFLICT,
                                message="stale version")
    ids["mug"] = make_failed(store, 1, start=11, key="MUG-WHITE", category=Category.CONFLICT,
                             message="stale version")
    ids["returns"] = make_failed(store, 1, start=20, flow="returns", entity="return", category=Category.AUTH,
                                 message="401 Unauthorized")
    ids["other"] = make_failed(store, 1, start=30, tenant="other", message="422 tax code 'ZZ' unknown")
    [w] = enqueue_n(store, 1, start=40)
    [c] = [c for c in claim_all(store) if c.id == w]
    settle(store, [Outcome(record=c, category=Category.UNAVAILABLE, message="503 upstream")],
           policy_for=lambda _t, _f: RetryPolicy(base_delay=1e5, max_delay=1e5), rng=random.Random(1))
    assert get_record(store, w).due_at > clock.now + 7200  # still waiting when "new" is made below
    ids["retry_wait"] = [w]
    [d] = enqueue_n(store, 1, start=41)
    [c] = [c for c in claim_all(store) if c.id == d]
    settle(store, [ok(c)])
    ids["delivered"] = [d]
    clock.advance(7200)
    ids["new"] = make_failed(store, 1, start=50, message="422 tax code 'ZZ' unknown")
    return ids


def test_bulk_preview_counts_by_state(store, zoo):
    p = bulk.preview(store, "retry", RecordFilter(tenant="acme"))
    assert p.by_state == {"failed": 6, "retry_wait": 1}
    assert (p.count, p.tenants, p.description) == (7, ["acme"], "tenant=acme")
    # Records the action cannot apply to (delivered) are not counted.
    assert bulk.preview(store, "release", RecordFilter(tenant="acme")).by_state == {"failed": 6}


@pytest.mark.parametrize("f, label_set", [
    (RecordFilter(flow="returns"), {"returns"}),
    (RecordFilter(tenant="other"), {"other"}),
    (RecordFilter(states=("retry_wait",)), {"retry_wait"}),
    (RecordFilter(categories=("conflict", "auth")), {"tshirt", "mug", "returns"}),
    (RecordFilter(key_pattern="TSHIRT-*"), {"tshirt"}),
    (RecordFilter(key_pattern="K?"), {"val"}),
    (RecordFilter(key_pattern="MUG-WHITE"), {"mug"}),
    (RecordFilter(error_text="TAX CODE"), {"val", "other", "new"}),
    (RecordFilter(error_text="upstream"), {"retry_wait"}),
    (RecordFilter(older_than=3600, tenant="acme", categories=("validation",)), {"val"}),
    (RecordFilter(newer_than=60), {"new"}),
])
def test_bulk_filters_select_the_right_records(store, zoo, f, label_set):
    want = sorted(i for label in label_set for i in zoo[label])
    assert bulk.preview(store, "retry", f).count == len(want)
    res = bulk.apply(store, "retry", f, actor=Actor("t"), confirmed_count=len(want))
    assert res.touched == len(want)
    pending = {rid for ids in zoo.values() for rid in ids if state_of(store, rid) == "pending"}
    assert sorted(pending) == want


def test_bulk_apply_acts_and_audits_each_record_and_the_bulk(store, clock, zoo, tech):
    f = RecordFilter(tenant="acme", categories=("conflict",))
    p = bulk.preview(store, "quarantine", f)
    assert p.count == 2
    res = bulk.apply(store, "quarantine", f, actor=tech, confirmed_count=5, reason="vendor catalogue rebuild")
    assert (res.touched, res.confirmed) == (2, 5)
    for rid in zoo["tshirt"] + zoo["mug"]:
        row = get_record(store, rid)
        assert row.state == "quarantined"
        [ev] = audit_of(store, rid)
        assert (ev.action, ev.actor, ev.client, ev.reason) == (
            "quarantine", "tech1", "203.0.113.7", "vendor catalogue rebuild")
        assert json.loads(ev.before)["state"] == "failed"
        assert json.loads(ev.after) == {"state": "quarantined", "version": row.version}
    [b] = audit_events(store, action="bulk_quarantine")
    assert (b.target_type, b.target_id, b.tenant, json.loads(b.after)) == (
        "bulk", "tenant=acme category=conflict", "acme", {"count": 2})
    # Untouched records stay as they were.
    assert state_of(store, zoo["val"][0]) == "failed"


def test_bulk_refuses_when_more_match_than_confirmed(store, zoo, tech):
    f = RecordFilter(error_text="tax code")
    before = {rid: row_dict(store, rid) for ids in zoo.values() for rid in ids}
    audits = n_audit(store)
    with pytest.raises(ActionError, match="4 records match now, more than the 3 you confirmed"):
        bulk.apply(store, "retry", f, actor=tech, confirmed_count=3)
    assert {rid: row_dict(store, rid) for rid in before} == before and n_audit(store) == audits


def test_bulk_refuses_an_empty_filter_and_a_missing_reason(store, zoo, tech):
    with pytest.raises(ActionError, match="needs at least one filter"):
        bulk.apply(store, "retry", RecordFilter(), actor=tech, confirmed_count=1000)
    with pytest.raises(ReasonRequired):
        bulk.apply(store, "resolve", RecordFilter(tenant="acme"), actor=tech, confirmed_count=1000)
    with pytest.raises(FilterError, match="unknown state 'broken'"):
        RecordFilter(states=("broken",))
    assert n_audit(store) == 0


# --- mapping fixes ----------------------------------------------------------------------------------------

SKU_MAP = "pos_to_shop_sku"


def map_fail(store, n, value, *, start, tenant="acme", map_name=SKU_MAP):
    return make_failed(store, n, start=start, tenant=tenant, category=Category.MAPPING,
                       message=f"sku '{value}' not in map {map_name} (field lines[0].sku)",
                       error_map=map_name, error_value=value)


@pytest.fixture
def unmapped(store):
    return {
        "red": map_fail(store, 3, "TSHIRT-RED-M", start=0),
        "mug": map_fail(store, 1, "MUG-WHITE", start=10),
        "other_tenant": map_fail(store, 2, "TSHIRT-RED-M", start=20, tenant="other"),
        "other_map": map_fail(store, 1, "TSHIRT-RED-M", start=30, map_name="pos_to_erp_sku"),
        "plain": make_failed(store, 1, start=40),
    }


def test_unmapped_values_are_ranked_by_how_many_records_they_block(store, unmapped):
    got = [(u.tenant, u.map_name, u.value, u.count, u.flows) for u in unmapped_values(store)]
    assert got == [
        ("acme", SKU_MAP, "TSHIRT-RED-M", 3, ["orders"]),
        ("other", SKU_MAP, "TSHIRT-RED-M", 2, ["orders"]),
        ("acme", "pos_to_erp_sku", "TSHIRT-RED-M", 1, ["orders"]),
        ("acme", SKU_MAP, "MUG-WHITE", 1, ["orders"]),
    ]
    assert [u.count for u in unmapped_values(store, tenant="other")] == [2]


def test_setting_a_mapping_releases_exactly_the_records_it_blocked(store, clock, unmapped, tech):
    assert mappings.blocked_count(store, "acme", SKU_MAP, "TSHIRT-RED-M") == 3
    released = mappings.set_entry(store, "acme", SKU_MAP, " TSHIRT-RED-M ", "4412", actor=tech, release=True)
    assert released == 3
    for label, ids in unmapped.items():
        for rid in ids:
            assert state_of(store, rid) == ("pending" if label == "red" else "failed"), label
    assert sorted(c.id for c in claim_all(store)) == unmapped["red"]
    assert mappings.blocked_count(store, "acme", SKU_MAP, "TSHIRT-RED-M") == 0
    assert [(u.tenant, u.value) for u in unmapped_values(store, tenant="acme")] == [
        ("acme", "TSHIRT-RED-M"), ("acme", "MUG-WHITE")]  # the other map still misses it

    [setev] = audit_events(store, action="mapping_set")
    assert (setev.target_type, setev.target_id, setev.actor, json.loads(setev.after)) == (
        "mapping", f"{SKU_MAP}:TSHIRT-RED-M", "tech1", {"target": "4412"})
    assert setev.before is None
    for rid in unmapped["red"]:
        [ev] = audit_of(store, rid)
        assert ev.action == "release" and ev.reason == f"mapping {SKU_MAP}: TSHIRT-RED-M -> 4412"

    # Changing it again records the old target; without release nothing moves.
    assert mappings.set_entry(store, "acme", SKU_MAP, "MUG-WHITE", "4413", actor=tech) == 0
    assert state_of(store, unmapped["mug"][0]) == "failed"
    mappings.set_entry(store, "acme", SKU_MAP, "TSHIRT-RED-M", "4414", actor=tech)
    assert json.loads(audit_events(store, action="mapping_set")[0].before) == {"target": "4412"}


def test_effective_maps_overlay_the_store_on_the_config(store, tech):
    config = {SKU_MAP: {"MUG-WHITE": "222", "TSHIRT-RED-M": "old"}, "loc": {"store-001": "9"}}
    mappings.set_entry(store, "acme", SKU_MAP, "TSHIRT-RED-M", "4412", actor=tech)
    mappings.set_entry(store, "acme", "tax", "standard", "TX-STD", actor=tech)
    mappings.set_entry(store, "other", SKU_MAP, "MUG-WHITE", "999", actor=tech)
    assert mappings.effective_maps(store, "acme", config) == {
        SKU_MAP: {"MUG-WHITE": "222", "TSHIRT-RED-M": "4412"}, "loc": {"store-001": "9"},
        "tax": {"standard": "TX-STD"}}
    assert config[SKU_MAP]["TSHIRT-RED-M"] == "old"  # the config is not mutated
    entries = {(e.map_name, e.source): e.origin for e in mappings.list_entries(store, "acme", config)}
    assert entries[(SKU_MAP, "TSHIRT-RED-M")] == "store" and entries[(SKU_MAP, "MUG-WHITE")] == "config"


def test_deleting_mappings(store, tech):
    config = {SKU_MAP: {"MUG-WHITE": "222"}}
    with pytest.raises(ActionError, match="comes from the config file; edit the file"):
        mappings.delete_entry(store, "acme", SKU_MAP, "MUG-WHITE", actor=tech, config_maps=config)
    with pytest.raises(ActionError, match="no stored mapping"):
        mappings.delete_entry(store, "acme", SKU_MAP, "NOPE", actor=tech, config_maps=config)
    with pytest.raises(ActionError, match="non-empty"):
        mappings.set_entry(store, "acme", SKU_MAP, "  ", "1", actor=tech)
    assert n_audit(store) == 0

    mappings.set_entry(store, "acme", SKU_MAP, "MUG-WHITE", "777", actor=tech)
    mappings.delete_entry(store, "acme", SKU_MAP, "MUG-WHITE", actor=tech, config_maps=config)
    assert mappings.effective_maps(store, "acme", config) == config  # back to the file's value
    [ev] = audit_events(store, action="mapping_delete")
    assert json.loads(ev.before) == {"target": "777"}


# --- flow control -----------------------------------------------------------------------------------------

def test_pause_resume_and_run_now_are_stored_and_audited(store, clock, tech):
    with pytest.raises(ReasonRequired):
        flows.pause(store, "acme", "orders", actor=tech, reason="")
    flows.pause(store, "acme", "orders", actor=tech, reason="vendor maintenance")
    fc = flow_controls(store)[("acme", "orders")]
    assert (fc.paused, fc.paused_reason, fc.paused_by, fc.paused_at) == (
        True, "vendor maintenance", "tech1@203.0.113.7", clock.now)
    clock.advance(5)
    flows.resume(store, "acme", "orders", actor=tech)
    flows.run_now(store, "acme", "orders", actor=tech)
    fc = flow_controls(store)[("acme", "orders")]
    assert (fc.paused, fc.paused_reason, fc.run_now_at) == (False, None, clock.now)
    evs = audit_events(store, target="acme/orders")
    assert [e.action for e in evs] == ["run_now", "resume", "pause"]
    assert json.loads(evs[1].before) == {"paused": True, "reason": "vendor maintenance"}
    assert evs[2].before is None and evs[2].reason == "vendor maintenance"
