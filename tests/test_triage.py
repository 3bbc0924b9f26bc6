"""Triage: the worst tenant's biggest group first, and the likely fix read from the failure."""

from __future__ import annotations

from conftest import make_failed
from syncops.services import triage
from syncops.store.categories import Category
from syncops.store.db import Store


def test_worst_tenant_first_then_biggest_group(store: Store) -> None:
    make_failed(store, 2, tenant="bella", message="rejected: bad tax code", start=0)
    make_failed(store, 3, tenant="acme", category=Category.MAPPING, message="sku 'A' not in map to_erp_sku",
                error_map="to_erp_sku", error_value="A", start=10)
    make_failed(store, 4, tenant="acme", message="422: partner_id: customer not found", start=20)
    groups = triage.rank_groups(store)
    assert [(g.tenant, g.count) for g in groups] == [("acme", 4), ("acme", 3), ("bella", 2)]


def test_likely_fix_for_mapping_validation_and_endpoint(store: Store) -> None:
    make_failed(store, 2, category=Category.MAPPING, message="sku 'BOOT-1' not in map to_erp_sku (field lines[0].sku)",
                error_map="to_erp_sku", error_value="BOOT-1", start=0)
    make_failed(store, 1, message="422 Unprocessable Entity: partner_id: customer not found", start=10)
    make_failed(store, 1, category=Category.AUTH, message="401 Unauthorized", start=20)
    by_cat = {g.category: g for g in triage.rank_groups(store)}
    fix = triage.likely_fix(store, by_cat["mapping"])
    assert (fix.map_name, fix.value) == ("to_erp_sku", "BOOT-1") and "add BOOT-1 to map to_erp_sku" in fix.summary
    assert "is mapped now" in triage.likely_fix(store, by_cat["mapping"], mapped={"to_erp_sku": {"BOOT-1": "B1"}}).summary
    fix = triage.likely_fix(store, by_cat["validation"])
    assert fix.field_name == "partner_id" and "field partner_id fails" in fix.summary
    fix = triage.likely_fix(store, by_cat["auth"])
    assert fix.endpoint == "shop" and "credentials" in fix.summary


def test_failing_field_patterns() -> None:
    assert triage.failing_field("sku 'X' not in map m (field lines[2].sku)") == "lines[2].sku"
    assert triage.failing_field("field 'email' is required") == "email"
    assert triage.failing_field("503 Service Unavailable") is None
