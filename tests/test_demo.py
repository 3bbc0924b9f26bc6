"""The headless demo: deliveries, several failure categories, and a store left behind to inspect."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest

from syncops.demo.headless import main_simulate, render, run_headless, simulate
from syncops.store import queries
from syncops.store.db import open_store
from syncops.store.filters import RecordFilter

FAILURES = {"mapping", "validation", "conflict", "unavailable", "rate_limit", "unknown", "auth"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One short run of the test profile, shared by the assertions below."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    out = io.StringIO()
    summary = run_headless(None, 7.0, store_url=url, as_json=True, profile="test", stream=out)
    return summary, out.getvalue()


def test_json_summary_shows_deliveries_and_failure_categories(demo: tuple[dict[str, Any], str]) -> None:
    summary, printed = demo
    data = json.loads(printed)
    assert data == json.loads(json.dumps(summary, default=str))
    for key in ("delivered", "failed", "quarantined", "pending", "retry_wait", "by_category", "flows", "store"):
        assert key in data
    assert data["delivered"] >= 20
    assert data["deliveries_per_s"] > 0
    seen = {cat for cat, n in data["by_category"].items() if n > 0}
    assert len(seen & FAILURES) >= 3, data["by_category"]
    assert "mapping" in seen  # the demo config leaves SKUs out on purpose
    assert data["failed"] >= 1
    for name, flow in data["flows"].items():
        assert {"delivered", "failed", "p95_latency_s"} <= set(flow), name
    inventory = data["flows"]["acme-outdoor/inventory-pos-to-web"]
    assert inventory["delivered"] >= 5 and 0 < inventory["p95_latency_s"] < 10
    assert len(data["simulator"]) == 5 and all(u.startswith("http://127.0.0.1:") for u in data["simulator"].values())


def test_the_store_it_names_is_readable_afterwards(demo: tuple[dict[str, Any], str], capsys: Any) -> None:
    summary, _ = demo
    store = open_store(summary["store"], create=False)
    try:
        assert queries.count_records(store, RecordFilter(states=("delivered",))) == summary["delivered"]
        assert queries.failures_by_category(store) == summary["open_by_category"]
    finally:
        store.close()
    assert summary["status_command"].startswith(f"syncops status --store {summary['store']}")
    from syncops.cli import main

    code = main(["status", "--store", summary["store"], "--json"])
    status = json.loads(capsys.readouterr().out)
    assert code in (0, 1, 2) and status["store"] == summary["store"]


def test_text_summary_names_the_status_command(demo: tuple[dict[str, Any], str]) -> None:
    summary, _ = demo
    text = render(summary)
    assert "records by state: delivered" in text
    assert "acme-outdoor/inventory-pos-to-web" in text and "p95" in text
    assert f"syncops status --store {summary['store']}" in text


def test_demo_refuses_real_endpoints(tmp_path: Path) -> None:
    path = tmp_path / "real.yaml"
    path.write_text("tenants:\n  t:\n    endpoints:\n"
                    "      pos: {kind: square, base_url: 'https://connect.squareup.com', credential: 'env:X'}\n"
                    "      web: {kind: shopify, base_url: simulator, credential: simulator}\n"
                    "    flows:\n      - {name: inv, entity: inventory, source: pos, target: web, "
                    "schedule: {every: 1s}, sla: 1m}\n")
    with pytest.raises(ValueError, match="t/pos"):
        run_headless(path, 1.0, store_url=f"sqlite:///{tmp_path}/s.db", stream=io.StringIO())


def test_simulate_prints_urls_and_generates_activity() -> None:
    out = io.StringIO()
    result = simulate(None, profile="calm", seconds=0.5, stream=out)
    text = out.getvalue()
    assert all(url in text for url in result["urls"].values())
    assert "acme-outdoor/pos (square): http://127.0.0.1:" in text
    assert sum(result["activity"].values()) >= 1


def test_cli_entry_points_take_argparse_namespaces(capsys: Any) -> None:
    args = argparse.Namespace(config=None, store=None, seconds=0.3, json=False, profile="calm")
    assert main_simulate(args) == 0
    assert "bella-boutique/web (shopify)" in capsys.readouterr().out


def test_the_summary_follows_the_money_into_the_erp(demo: tuple[dict[str, Any], str]) -> None:
    """Per tenant, what the ERP itself holds, read from the simulated Odoo: orders in their
    intended states (confirmed or locked, never left as quotations), and the reconciliation."""
    summary, _ = demo
    erp = summary["erp"]["acme-outdoor"]
    assert set(erp) == {"orders_by_state", "credit_notes_posted", "payments_posted", "payouts_posted",
                        "restock_pickings_done"}
    assert sum(erp["orders_by_state"].values()) >= 1
    assert set(erp["orders_by_state"]) <= {"sale", "done", "cancel", "draft"}
    assert erp["orders_by_state"].get("draft", 0) < sum(erp["orders_by_state"].values())
    assert erp["payments_posted"] >= 1
    assert "checked" in summary["reconciliation"]["acme-outdoor"]
    assert "acme-outdoor ERP: orders by state:" in render(summary)
