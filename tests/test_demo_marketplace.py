"""`syncops demo marketplace`: Amazon + WooCommerce + Business Central on the simulator, end to end."""

from __future__ import annotations

import argparse
import io
import json
from typing import Any

import pytest

from syncops.cli import main
from syncops.config import load_config, sample_path
from syncops.demo.headless import render, run_headless
from syncops.store import queries
from syncops.store.db import open_store
from syncops.store.filters import RecordFilter

TENANT = "northwind-goods"
FLOWS = ("stock-bc-to-amazon", "stock-bc-to-woo", "amazon-orders-to-bc", "woo-orders-to-bc", "woo-returns-to-bc",
         "amazon-settlements-to-bc")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path_factory.mktemp('market') / 'demo.db'}"
    config = load_config(sample_path("demo-marketplace.yaml"))
    return run_headless(config, 8.0, store_url=url, as_json=True, profile="test", stream=io.StringIO())


def _payload(row: Any) -> dict[str, Any]:
    return row.payload if isinstance(row.payload, dict) else json.loads(row.payload)


def _delivered_keys(store_url: str, flows: tuple[str, ...]) -> set[str]:
    store = open_store(store_url, create=False)
    try:
        keys: set[str] = set()
        for flow in flows:
            page = queries.list_records(store, RecordFilter(tenant=TENANT, flow=flow, states=("delivered",)),
                                        limit=1000).rows
            keys |= {r.entity_key for r in page}
        return keys
    finally:
        store.close()


def test_every_channel_moves(run: dict[str, Any]) -> None:
    flows = run["flows"]
    assert set(flows) == {f"{TENANT}/{f}" for f in FLOWS}
    for name in ("stock-bc-to-amazon", "stock-bc-to-woo", "amazon-orders-to-bc", "woo-orders-to-bc"):
        assert flows[f"{TENANT}/{name}"]["delivered"] >= 1, name
    # Stock moved in Business Central reached both channels, and the end comparison read them all.
    rec = run["reconciliation"][TENANT]
    assert rec["checked"] >= 4 and not rec["errors"], rec
    # A posting BC made after the last full re-read is invisible to the incremental read (it does
    # not move lastModifiedDateTime): reconciliation is what catches it, with BC as the truth.
    store = open_store(run["store"], create=False)
    try:
        drifts = queries.list_records(store, RecordFilter(tenant=TENANT, categories=("drift",)), limit=50).rows
        for d in drifts:
            assert "bc holds" in d.error_message and "(source of truth)" in d.error_message, d.error_message
            read = queries.list_records(store, RecordFilter(tenant=TENANT, flow=d.flow, states=("delivered",),
                                                            key_pattern=d.entity_key), limit=1).rows
            # Not a wrong delivery: what syncops last read from BC is not what BC holds now.
            assert read
            held_then = _payload(queries.get_record(store, read[0].id))["available"]
            assert held_then != _payload(queries.get_record(store, d.id))["available"]
    finally:
        store.close()
    assert len(drifts) == rec["drifted"]


def test_each_order_and_return_is_one_document_in_business_central(run: dict[str, Any]) -> None:
    erp = run["erp"][TENANT]
    orders = _delivered_keys(run["store"], ("amazon-orders-to-bc", "woo-orders-to-bc"))
    returns = _delivered_keys(run["store"], ("woo-returns-to-bc",))
    # A shop order sent again (shipped: its status changed) is linked to its document, not doubled.
    assert erp["sales_orders_open"] + erp["sales_invoices"] == len(orders) >= 2
    assert erp["credit_memos"] == len(returns)
    # Each Amazon settlement delivered is one posted journal document, never two.
    settlements = _delivered_keys(run["store"], ("amazon-settlements-to-bc",))
    assert erp["settlements_posted"] == len(settlements) >= 1
    assert f"{TENANT} ERP (Business Central): sales orders {erp['sales_orders_open']}" in render(run)
    # The documents reconciliation read Business Central back and found each exactly as meant.
    docs = run["documents"]
    # (An order sent again at the very end may still be on its way: it is judged next time.)
    assert 1 <= docs[f"{TENANT}/orders"]["checked"] <= len(orders)
    assert 1 <= docs[f"{TENANT}/settlements"]["checked"] <= len(settlements)
    assert all(d["differences"] == 0 and not d["errors"] for d in docs.values()), docs


def test_the_sku_left_out_of_the_amazon_map_waits_for_a_human(run: dict[str, Any]) -> None:
    store = open_store(run["store"], create=False)
    try:
        page = queries.list_records(store, RecordFilter(tenant=TENANT, flow="stock-bc-to-amazon",
                                                        states=("failed",)), limit=50).rows
    finally:
        store.close()
    assert [r.entity_key for r in page if r.error_category == "mapping"] == ["LAMP-BRASS@bc"]
    assert "bc_to_amazon_sku" in next(r.error_message for r in page if r.error_category == "mapping")


def test_simulate_marketplace_serves_its_three_vendors(capsys: Any) -> None:
    args = argparse.Namespace(which="marketplace", config=None, seconds=0.3, profile="calm", seed=7,
                              faults=None, events=None)
    from syncops.demo.headless import main_simulate

    assert main_simulate(args) == 0
    out = capsys.readouterr().out
    for vendor in ("amazon (amazon)", "bc (businesscentral)", "woo (woocommerce)"):
        assert f"{TENANT}/{vendor}: http://127.0.0.1:" in out, out


def test_a_demo_name_and_a_config_together_are_refused(capsys: Any) -> None:
    assert main(["demo", "marketplace", "--headless", "--config", "mine.yaml"]) == 1
    assert "either a demo name (marketplace) or --config (mine.yaml)" in capsys.readouterr().err


def test_the_woocommerce_simulator_lists_stock_orders_and_refunds_on_its_state_endpoint() -> None:
    import httpx

    from syncops.simulator.http import SimServer
    from syncops.simulator.woocommerce import WooCommerceApp

    app = WooCommerceApp(skus={"MUG": "9.50", "CAP": "5.00"})
    mug = next(p for p in app.products.values() if p["sku"] == "MUG")
    mug.update(manage_stock=True, stock_quantity=6)
    order = app.place_order([("MUG", 2), ("CAP", 1)])
    app.refund(order, [("MUG", 1)])  # restocked: 7
    with SimServer(app) as server:
        state = httpx.get(f"{server.url}/_sim/state", timeout=5).json()
    assert state["vendor"] == "woocommerce"
    assert state["levels"] == [{"sku": "MUG", "location": "web", "quantity": 7}]  # CAP's stock is not managed
    assert state["orders"] == [{"id": order, "state": "processing",
                                "lines": [{"sku": "MUG", "quantity": 2}, {"sku": "CAP", "quantity": 1}]}]
    assert [(r["order_id"], r["amount"]) for r in state["refunds"]] == [(order, "10.29")]  # 9.50 + tax 0.79
