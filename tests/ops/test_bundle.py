"""The incident bundle holds no secret and no unmasked customer data, and holds what an escalation needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from syncops.ops import alerts
from tests.conftest import enqueue_n, make_failed
from tests.ops.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"SYNCOPS_SECRET_ACME_POS": "sq-live-SECRET-998877", "SHOP_TOKEN": "shpat_SECRET_123456",
           "HOOK_TOKEN": "tok-SECRET-4711"}
CUSTOMER = ("Jane Doe", "jane@example.com", "+1 555-010-4477", "555-010-4477", "12 Market St", "Springfield",
            "Mary Major", "mary.major@example.org", "+44 20 7946 0958")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_bundle_has_no_secret_and_no_customer_data(store, clock, tmp_path, receiver):
    path, _, env = write_config(tmp_path, receiver.port)
    text = path.read_text().replace("pos: {kind: square, base_url: simulator}",
                                    "pos: {kind: square, base_url: 'https://pos.example.com'}")
    text = text.replace("shop: {kind: shopify, base_url: simulator}",
                        "shop: {kind: shopify, base_url: 'https://admin@shop.example.com', credential: env:SHOP_TOKEN}")
    path.write_text(text)
    env.update(SECRETS)
    from syncops.config import load_config

    config = load_config(path, env=env)
    # the vendor echoes customer data into its error text, as real ones do
    make_failed(store, 4, tenant="acme", flow="orders", target="shop",
                message="rejected: customer jane@example.com / +1 555-010-4477 invalid")
    enqueue_n(store, 2, start=500, tenant="acme", flow="orders", target="shop")
    clock.advance(120)
    alerts.run_alerts(store, config)  # an SLA alert: history with a sent notification
    log = tmp_path / "syncops-engine.log"
    log.write_text("2024-05-01 10:00:00 record_failed tenant=acme error='Mary Major <mary.major@example.org> "
                   "+44 20 7946 0958' customer='Jane Doe, 12 Market St, Springfield' token=shpat_SECRET_123456 url=https://u:pw-SECRET@x.example.com/\n")

    out = tmp_path / "incident.tar.gz"
    # the subprocess runs on the real clock; the fake one is years back, hence --since 3650d
    run_env = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    done = subprocess.run([sys.executable, "-m", "syncops", "bundle", "--since", "3650d", "-o", str(out),
                           "--config", str(path), "--store", store.url, "--log", str(log)],
                          env=run_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(out) as tar:
        files = {m.name.split("/", 1)[1]: tar.extractfile(m).read().decode() for m in tar.getmembers()}
    everything = "\n".join(files.values())
    for secret in [*SECRETS.values(), "pw-SECRET", "admin@"]:
        assert secret not in everything, secret
    for value in CUSTOMER:
        assert value not in everything, value
    assert {"status.json", "flows.json", "exceptions.json", "alerts.json", "config.json", "engine.log"} <= set(files)
    groups = json.loads(files["exceptions.json"])
    assert groups[0]["count"] == 4 and groups[0]["samples"][0]["payload"]["customer"]["email"] == "j***@example.com"
    cfg = json.loads(files["config.json"])
    assert cfg["tenants"]["acme"]["endpoints"]["shop"]["credential"] == "env:SHOP_TOKEN"  # kept as a name
    assert cfg["alerts"]["notify"][0].startswith("apprise json://***")
    assert [h["event"] for h in json.loads(files["alerts.json"])["history"]] == ["firing"]
    assert "record_failed" in files["engine.log"]
