"""/metrics parses with prometheus_client's parser and its counts match `syncops status --json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncops.ops import meta
from syncops.ops.metrics import metrics_response
from syncops.store import lifecycle
from syncops.store.lifecycle import Outcome
from tests.conftest import enqueue_n, make_failed

ROOT = Path(__file__).resolve().parents[2]


def samples(body: bytes) -> dict[str, list]:
    out: dict[str, list] = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            out.setdefault(s.name, []).append(s)
    return out


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_metrics_parse_and_match_status(store, tmp_path):
    enqueue_n(store, 4, tenant="acme", flow="orders", target="shop")
    got = lifecycle.claim(store, tenant="acme", target="shop", owner="e1", limit=2)
    lifecycle.settle(store, "e1", [Outcome(record=c) for c in got], endpoint="shop")
    make_failed(store, 3, start=100, tenant="acme", flow="orders", target="shop")
    enqueue_n(store, 2, start=200, tenant="beta", flow="stock", entity="inventory", target="web")
    meta.put(store, "webhooks:refused:acme/shop", 7)
    meta.put(store, "webhooks:accepted:acme/shop", {"count": 40})

    body, ctype = metrics_response(store)
    assert ctype.startswith("text/plain")
    s = samples(body)
    records = {(x.labels["tenant"], x.labels["flow"], x.labels["state"]): x.value for x in s["syncops_records"]}
    # no entity keys or record ids anywhere in the labels
    assert all(set(x.labels) <= {"tenant", "flow", "state", "category", "endpoint", "result", "rule", "le",
                                 "silenced"} for v in s.values() for x in v)
    assert "K1" not in body.decode()

    env = dict(os.environ, PYTHONPATH=str(ROOT), SYNCOPS_CONFIG=str(tmp_path / "none.yaml"))
    env.pop("SYNCOPS_CONFIG")
    status = json.loads(subprocess.run(
        [sys.executable, "-m", "syncops", "status", "--json", "--store", store.url], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60).stdout)
    assert status["flows"]
    for f in status["flows"]:
        for state, n in f["counts"].items():
            assert records.get((f["tenant"], f["flow"], state), 0) == n, (f["flow"], state)
    assert records[("acme", "orders", "failed")] == 3 and records[("acme", "orders", "pending")] == 2

    refused = {x.labels["result"]: x.value for x in s["syncops_webhook_verifications_total"]}
    assert refused == {"refused": 7, "accepted": 40}
    buckets = [x for x in s["syncops_delivery_latency_seconds_bucket"] if x.labels["flow"] == "orders"]
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 2  # the two delivered
    assert s["syncops_engine_up"][0].value == 0
