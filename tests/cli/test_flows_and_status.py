"""`flows list|pause|resume|run` and `status` with its monitoring-plugin exit codes."""

from __future__ import annotations

import re
import time

import pytest

from syncops.store.tables import EndpointState, EngineHeartbeat, FlowControl

from .conftest import inventory_payload


def _flows(cli) -> dict[tuple[str, str], dict]:
    r = cli("flows", "list", "--json")
    assert r.code == 0, r.err
    return {(f["tenant"], f["flow"]): f for f in r.json()}


# --- flows ----------------------------------------------------------------------------------------

def test_flows_list_shows_every_configured_flow(cli) -> None:
    flows = _flows(cli)
    assert set(flows) == {("acme", "orders"), ("acme", "inventory"), ("bella", "inventory")}
    orders = flows[("acme", "orders")]
    assert (orders["entity"], orders["source"], orders["target"], orders["schedule"], orders["paused"]) == (
        "order", "web", "erp", "every 5s", False)
    r = cli("flows", "list")
    assert r.code == 0
    assert r.out.splitlines()[0].split()[:4] == ["TENANT", "FLOW", "ENTITY", "ROUTE"]
    assert "web->erp" in r.out


def test_pause_and_resume(cli, seed) -> None:
    r = cli("flows", "pause", "acme", "orders", "--reason", "ERP maintenance window")
    assert r.code == 0, r.err
    assert "acme/orders: pause requested" in r.out
    flows = _flows(cli)
    assert flows[("acme", "orders")]["paused"] is True
    assert flows[("acme", "orders")]["paused_reason"] == "ERP maintenance window"
    assert flows[("acme", "inventory")]["paused"] is False
    assert "ERP maintenance window" in cli("flows", "list").out
    status = cli("status", "--json").json()
    assert next(f for f in status["flows"] if f["flow"] == "orders")["paused"] is True

    r = cli("flows", "resume", "acme", "orders")
    assert r.code == 0, r.err
    assert _flows(cli)[("acme", "orders")]["paused"] is False
    events = cli("audit", "list", "--json").json()
    assert [(e["action"], e["target_type"], e["target_id"]) for e in events] == [
        ("resume", "flow", "acme/orders"), ("pause", "flow", "acme/orders")]
    assert events[1]["reason"] == "ERP maintenance window"


def test_pause_needs_a_reason(cli) -> None:
    r = cli("flows", "pause", "acme", "orders")
    assert r.code == 1 and "needs a reason" in r.err
    assert _flows(cli)[("acme", "orders")]["paused"] is False
    assert cli("audit", "list", "--json").json() == []


def test_run_now_asks_the_engine_through_the_store(cli, seed) -> None:
    before = time.time()
    r = cli("flows", "run", "bella", "inventory")
    assert r.code == 0 and "bella/inventory: run requested" in r.out
    with seed.store.read() as conn:
        ctl = conn.execute(FlowControl.__table__.select()).one()
    assert (ctl.tenant, ctl.flow, bool(ctl.paused)) == ("bella", "inventory", False)
    assert ctl.run_now_at >= before - 1
    assert cli("audit", "list", "--json").json()[0]["action"] == "run_now"


def test_flow_commands_refuse_unknown_flows(cli) -> None:
    r = cli("flows", "pause", "acme", "nope", "--reason", "x")
    assert r.code == 1 and "no flow 'nope'" in r.err
    r = cli("flows", "run", "nobody", "orders")
    assert r.code == 1 and "tenant 'nobody' is not in the config" in r.err


def test_flows_need_a_config(cli, monkeypatch) -> None:
    monkeypatch.delenv("SYNCOPS_CONFIG")
    r = cli("flows", "list")
    assert r.code == 1 and "no config file" in r.err


# --- status ---------------------------------------------------------------------------------------

@pytest.fixture
def heartbeat(seed):
    now = time.time()
    with seed.store.write() as conn:
        conn.execute(EngineHeartbeat.__table__.insert().values(
            engine_id="eng-1", host="jumpbox", pid=4242, version="test", started_at=now - 60, beat_at=now))


def test_status_ok_with_a_live_engine(cli, seed, heartbeat) -> None:
    seed.enqueue([inventory_payload("TSHIRT-RED-M")], flow="inventory")  # fresh pending: fine
    r = cli("status")
    assert r.code == 0, r.out + r.err
    assert "SYNCOPS OK" in r.out and "jumpbox:4242" in r.out
    assert "acme [PROD]" in r.out
    data = cli("status", "--json").json()
    assert (data["state"], data["exit_code"]) == ("ok", 0)
    assert data["engine"]["host"] == "jumpbox" and data["engine"]["heartbeat_age_s"] < 60
    inv = next(f for f in data["flows"] if (f["tenant"], f["flow"]) == ("acme", "inventory"))
    assert inv["counts"]["pending"] == 1 and inv["state"] == "ok" and inv["sla"] == 60


def test_status_warns_without_an_engine(cli, seed) -> None:
    r = cli("status")
    assert r.code == 1
    assert "no live engine heartbeat" in r.out and "SYNCOPS WARNING" in r.out


def test_status_warns_about_a_stale_heartbeat(cli, seed) -> None:
    old = time.time() - 3600
    with seed.store.write() as conn:
        conn.execute(EngineHeartbeat.__table__.insert().values(
            engine_id="eng-1", host="jumpbox", pid=1, version="test", started_at=old, beat_at=old))
    data = cli("status", "--json").json()
    assert (data["state"], data["exit_code"], data["engine"]) == ("warning", 1, None)


def test_status_warns_with_failed_records(cli, seed, heartbeat) -> None:
    seed.failed(2)
    r = cli("status")
    assert r.code == 1
    assert "WARNING: acme/orders: 2 failed record(s) need a human" in r.out
    data = cli("status", "--json").json()
    assert (data["state"], data["exit_code"]) == ("warning", 1)
    orders = next(f for f in data["flows"] if f["flow"] == "orders")
    assert orders["counts"]["failed"] == 2 and orders["state"] == "warning"


def test_status_warns_past_half_the_sla(cli, seed, heartbeat) -> None:
    seed.orders(1, age=400)  # SLA 10m
    data = cli("status", "--json").json()
    assert (data["state"], data["exit_code"]) == ("warning", 1)


def test_status_is_critical_past_the_sla(cli, seed, heartbeat) -> None:
    seed.failed(1)
    seed.enqueue([inventory_payload("CAP-BLK")], flow="inventory", age=3600)  # SLA 1m
    r = cli("status")
    assert r.code == 2
    assert re.search(r"CRITICAL: acme/inventory: oldest undelivered record is 36\d\ds old \(SLA 60s\)", r.out)
    assert "SYNCOPS CRITICAL" in r.out
    data = cli("status", "--json").json()
    assert (data["state"], data["exit_code"]) == ("critical", 2)
    assert {f["flow"]: f["state"] for f in data["flows"] if f["tenant"] == "acme"} == {
        "inventory": "critical", "orders": "warning"}


def test_status_warns_about_an_open_circuit_breaker(cli, seed, heartbeat) -> None:
    with seed.store.write() as conn:
        conn.execute(EndpointState.__table__.insert().values(
            tenant="acme", endpoint="erp", breaker="open", consecutive_failures=5, updated_at=time.time()))
    r = cli("status")
    assert r.code == 1 and "circuit breaker acme/erp is open" in r.out


def test_status_works_without_a_config(cli, seed, monkeypatch) -> None:
    monkeypatch.delenv("SYNCOPS_CONFIG")
    seed.orders(1)
    data = cli("status", "--json").json()
    assert data["exit_code"] == 0  # nothing configured to expect an engine for
    assert [(f["tenant"], f["flow"]) for f in data["flows"]] == [("acme", "orders")]
