"""Storms, outages, crashes: nothing is lost and nothing is applied twice."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncops.store import queries
from syncops.store.filters import RecordFilter

from tests.engine.harness import CONFIG, Harness, states, until

ROOT = Path(__file__).resolve().parents[2]


def failed_categories(store) -> dict[str, int]:
    return queries.failures_by_category(store, RecordFilter(states=("failed",)))


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.close()


def _shopify_wait(body: bytes) -> float | None:
    """The wait a THROTTLED answer asks for, computed as Shopify documents it."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    errors = doc.get("errors") or []
    if not any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors if isinstance(e, dict)):
        return None
    cost = doc["extensions"]["cost"]
    status = cost["throttleStatus"]
    return max(0.0, (cost["requestedQueryCost"] - status["currentlyAvailable"]) / status["restoreRate"])


def test_429_storm_loses_nothing_and_the_vendor_wait_is_honoured(h):
    answers: list[tuple[float, float | None]] = []
    inner = h.shopify_rec.handle

    def record(request):
        response = inner(request)
        answers.append((time.monotonic(), _shopify_wait(response.encoded())))
        return response

    h.shopify_rec.handle = record

    async def scenario():
        await h.start()
        await until(lambda: states(h.store, "inventory").get("delivered", 0) >= 1, what="first deliveries")
        h.shopify.faults.forced_throttle = True
        for _ in range(5):
            h.square.record_sale("store-1", [("TSHIRT-RED-M", 1)])
            h.square.record_sale("store-1", [("MUG-WHITE", 1)])
            await asyncio.sleep(0.2)
        await until(lambda: any(w for _, w in answers), what="a throttled answer")
        await asyncio.sleep(0.5)
        h.shopify.faults.forced_throttle = False
        for sku in ("TSHIRT-RED-M", "MUG-WHITE"):
            await until(lambda: h.shopify.level(sku, "store-1") == h.square.count(sku, "store-1"),
                        what=f"{sku} level after the storm")
        await until(lambda: not {"pending", "in_flight", "retry_wait"} & set(states(h.store, "inventory")),
                    what="queue drained")
        await h.stop()

    asyncio.run(scenario())
    # Nothing given up because of the storm (CAP-BLK is deliberately unmapped in the harness).
    assert set(failed_categories(h.store)) <= {"mapping"}
    throttled = [(t, w) for t, w in answers if w]
    assert throttled
    for t, wait in throttled:
        # No call went out inside the wait the vendor asked for. (A call already on the wire
        # when the answer came back may land within a few milliseconds; allow 50 ms for that.)
        early = [a - t for a, _ in answers if t + 0.05 < a < t + wait * 0.9]
        assert not early, (wait, early)


def test_outage_opens_the_breaker_records_wait_and_all_arrive_after_it(h):
    async def scenario():
        await h.start()
        await until(lambda: states(h.store, "inventory").get("delivered", 0) >= 1, what="first deliveries")
        h.shopify.faults.forced_outage = True
        for _ in range(4):
            h.square.record_sale("store-1", [("TSHIRT-RED-M", 1)])
            await asyncio.sleep(0.15)
        await until(lambda: queries.endpoint_states(h.store).get(("acme", "web")) is not None
                    and queries.endpoint_states(h.store)[("acme", "web")].breaker == "open", what="breaker open")
        calls_when_open = len(h.shopify_rec.arrivals)
        await asyncio.sleep(1.0)
        # Open means probing now and then, not hammering: a handful of calls at most.
        assert len(h.shopify_rec.arrivals) - calls_when_open <= 6
        assert set(failed_categories(h.store)) <= {"mapping"}
        h.shopify.faults.forced_outage = False
        await until(lambda: h.shopify.level("TSHIRT-RED-M", "store-1") == h.square.count("TSHIRT-RED-M", "store-1"),
                    what="delivery after the outage")
        await until(lambda: queries.endpoint_states(h.store)[("acme", "web")].breaker == "closed",
                    what="breaker closed")
        await h.stop()

    asyncio.run(scenario())
    assert set(failed_categories(h.store)) <= {"mapping"}


def _spawn(h: Harness, tmp_path: Path) -> subprocess.Popen:
    urls = json.dumps({f"{t}/{e}": u for (t, e), u in h.urls.items()})
    return subprocess.Popen([sys.executable, "-m", "tests.engine.engine_proc", str(tmp_path / "syncops.yaml"),
                             h.store_url, urls], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_started(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    assert line.strip() == "started", proc.stderr.read()


def _wait_for(cond, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_engine_killed_mid_delivery_and_restarted_delivers_every_order_exactly_once(tmp_path):
    # Small batches, so the kill lands between two ERP calls of one run.
    h = Harness(tmp_path, CONFIG.replace("      - name: web-orders\n", "      - name: web-orders\n        batch_size: 2\n"))
    try:
        _killed_and_restarted(h, tmp_path)
    finally:
        h.close()


def _killed_and_restarted(h: Harness, tmp_path: Path) -> None:
    h.odoo.faults.plan.slow_rate = 1.0  # every ERP call takes a while: the kill lands mid-delivery
    h.odoo.faults.plan.slow_seconds = 0.15
    refs = [h.shopify.place_web_order([("TSHIRT-RED-M", 1)]) for _ in range(12)]
    first = _spawn(h, tmp_path)
    try:
        _wait_started(first)
        _wait_for(lambda: len(h.odoo.sale_orders()) >= 2, 20, "some orders in the ERP")
        first.send_signal(signal.SIGKILL)
        first.wait(5)
    finally:
        if first.poll() is None:
            first.kill()
    assert len(h.odoo.sale_orders()) < 12, "the kill came too late to prove anything"
    # No wait for the dead engine's heartbeat to go stale: its pid is gone, so the restart starts at once.
    second = _spawn(h, tmp_path)
    try:
        _wait_started(second)
        _wait_for(lambda: states(h.store, "web-orders").get("delivered", 0) == 12, 30, "all orders delivered")
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0  # graceful stop exits 0
    finally:
        if second.poll() is None:
            second.kill()
    by_ref: dict[str, int] = {}
    for order in h.odoo.sale_orders():
        by_ref[order["client_order_ref"]] = by_ref.get(order["client_order_ref"], 0) + 1
    assert len(by_ref) == 12 and set(by_ref.values()) == {1}, by_ref
    assert refs


def test_a_second_engine_on_the_same_sqlite_store_refuses_and_names_the_first(h, tmp_path):
    first = _spawn(h, tmp_path)
    try:
        _wait_started(first)
        second = _spawn(h, tmp_path)
        assert second.wait(20) == 3
        err = second.stderr.read()
        assert "another engine is running" in err and f"pid {first.pid}" in err
        first.send_signal(signal.SIGTERM)
        assert first.wait(15) == 0
    finally:
        for p in (first,):
            if p.poll() is None:
                p.kill()
