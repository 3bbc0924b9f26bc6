"""The soak's verdict on planted findings: it must be able to fail."""

from __future__ import annotations

from typing import Any

import pytest

from syncops.config import load_config
from syncops.soak import setup
from syncops.soak.run import figure_line
from syncops.soak.verdict import judge

NOW = 1_790_000_000.0
PAIRS = [("pos", ("MUG", "L1STORE"), "web", ("MUG", "store-1"))]


@pytest.fixture(scope="module")
def tenant(tmp_path_factory) -> Any:
    path = tmp_path_factory.mktemp("soak") / "soak.yaml"
    path.write_text(setup.CONFIG)
    return load_config(path).tenants["soak"]


def world_state(*, erp_orders=("#1001", "SQ-ORD-000001"), credit_notes=("SQ-ORD-000002",), web_level=4):
    return {
        "soak/pos": {"vendor": "square", "levels": [{"sku": "MUG", "location": "L1STORE", "quantity": "4"}],
                     "orders": [{"id": "SQ-ORD-000001", "kind": "sale", "state": "COMPLETED"},
                                {"id": "SQ-ORD-000002", "kind": "return", "state": "COMPLETED"}]},
        "soak/web": {"vendor": "shopify", "levels": [{"sku": "MUG", "location": "store-1", "available": web_level}],
                     "orders": [{"name": "#1001"}]},
        "soak/erp": {"vendor": "odoo", "levels": [],
                     "orders": [{"ref": r} for r in erp_orders], "credit_notes": [{"ref": r} for r in credit_notes]},
    }


def rows(*states: str, flow: str = "store-sales", key: str = "SQ-ORD-000001", due: float | None = None):
    return [{"flow": flow, "entity_key": key, "state": s, "error_category": "conflict" if s == "failed" else None,
             "due_at": due} for s in states]


def test_a_converged_world_is_clean(tenant):
    v = judge(tenant, "soak", world_state(), rows("delivered"), PAIRS, NOW)
    assert v.clean and v.expected == 3 and v.records == 1


def test_an_order_posted_twice_is_a_duplicate_whoever_posted_it(tenant):
    v = judge(tenant, "soak", world_state(erp_orders=("#1001", "SQ-ORD-000001", "#1001")), [], PAIRS, NOW)
    assert v.duplicated == ["order #1001 x2"] and not v.lost
    v = judge(tenant, "soak", world_state(credit_notes=("SQ-ORD-000002",) * 3), [], PAIRS, NOW)
    assert v.duplicated == ["credit note SQ-ORD-000002 x3"]


def test_a_target_level_changed_behind_the_engines_back_is_drift(tenant):
    v = judge(tenant, "soak", world_state(web_level=11), [], PAIRS, NOW)
    assert v.drift == ["MUG@store-1 source 4 target 11"] and not v.clean


def test_a_missing_document_is_lost_unless_a_record_could_still_deliver_it(tenant):
    missing = world_state(erp_orders=("#1001",))
    v = judge(tenant, "soak", missing, rows("failed"), PAIRS, NOW)
    assert v.lost == ["store-sales SQ-ORD-000001"] and v.failed == {"conflict": 1} and v.lost_unrecorded == 0
    v = judge(tenant, "soak", missing, [], PAIRS, NOW)
    assert v.lost == ["store-sales SQ-ORD-000001"] and v.lost_unrecorded == 1  # never even read from the POS
    v = judge(tenant, "soak", missing, rows("retry_wait", due=NOW + 1e12), PAIRS, NOW)
    assert not v.lost and v.stuck == {"retry_wait": 1} and v.due_far == 1  # stuck, frozen by a wait of years
    v = judge(tenant, "soak", world_state(), rows("pending", "in_flight"), PAIRS, NOW)
    assert sum(v.stuck.values()) == 2 and not v.clean


def test_the_figure_line_names_every_figure():
    r = {"seed": 1, "kills": 20, "events": 300, "faults": "garbage", "lost": 0, "duplicated": 2, "drift": 1,
         "stuck": 0, "restarts": 20, "start_refusals": 85, "crashes": 0, "records": 312, "seconds": 41.23}
    assert figure_line(r) == ("soak seed=1 kills=20 events=300 faults=garbage: lost 0, duplicated 2, drift 1, "
                              "stuck 0 (restarts 20, refused starts 85, 312 records, 41.2 s)")
