"""services.fleet on a generated fleet store, and the bench figure's plumbing (tiny sizes: fast)."""

from __future__ import annotations

from pathlib import Path

from syncops.bench.console import fleet_line
from syncops.bench.fleet_store import build_fleet, fleet_config, measure_rollup
from syncops.services.fleet import fleet, sort_key


def test_rollup_of_a_generated_fleet_is_worst_first_and_adds_up(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    build_fleet(path, tenants=12, flows=4, records_per_flow=8, now=1_700_000_000.0).close()
    from syncops.store.db import open_store

    store = open_store(f"sqlite:///{path}", create=False, clock=lambda: 1_700_000_000.0)
    try:
        f = fleet(store, fleet_config(12, 4))
    finally:
        store.close()
    assert len(f.tenants) == 12 and all(t.flows == 4 for t in f.tenants)
    assert [sort_key(t) for t in f.tenants] == sorted(sort_key(t) for t in f.tenants)
    per_flow_failed = sum(h.counts["failed"] for h in f.health.flows)
    assert sum(t.failed for t in f.tenants) == per_flow_failed > 0
    assert sum(t.breakers_open for t in f.tenants) == 1  # tenant-0000's web endpoint
    assert sum(t.paused for t in f.tenants) == sum(h.paused for h in f.health.flows) >= 1
    assert all(h.delivered_series == [] for h in f.health.flows)  # the rollup skips the sparklines


def test_bench_figure_is_printed_with_its_target(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    build_fleet(path, tenants=5, flows=3, records_per_flow=4).close()
    m = measure_rollup(path, 5, 3, rounds=3)
    assert (m["tenants"], m["flows"]) == (5, 15)
    line = fleet_line(dict(m, target_s=0.5, verdict="PASS"))
    assert line.startswith("fleet_rollup_s") and "< 0.5 s" in line and "5 tenants x 3 flows" in line
