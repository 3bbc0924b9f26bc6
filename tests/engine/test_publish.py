"""A real engine publishes its settings at start; `syncops status --store URL` without a config shows them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from syncops.store import published

from tests.engine.harness import CONFIG, Harness

ROOT = Path(__file__).resolve().parents[2]
# acme is production; an endpoint no flow uses carries an env: credential the engine must not publish.
PROD_CONFIG = CONFIG.replace("  acme:\n", "  acme:\n    production: true\n").replace(
    "      erp: {kind: odoo, base_url: simulator}\n",
    "      erp: {kind: odoo, base_url: simulator}\n"
    "      spare: {kind: bigcommerce, base_url: \"https://api.bigcommerce.com/stores/abc123\","
    " credential: \"env:ACME_SPARE_TOKEN\"}\n")


def test_engine_publishes_at_start_and_status_without_config_shows_sla_and_production(tmp_path, monkeypatch):
    monkeypatch.setenv("ACME_SPARE_TOKEN", "bc-token-very-secret")
    h = Harness(tmp_path, PROD_CONFIG)
    try:
        assert published.read(h.store) is None

        async def scenario():
            engine = await h.start()
            await h.stop()
            return engine.engine_id
        engine_id = asyncio.run(scenario())
        text = published.raw(h.store)
    finally:
        h.close()
    for secret in ("ACME_SPARE_TOKEN", "bc-token-very-secret", "abc123", "bigcommerce.com", "credential"):
        assert secret not in text, secret
    assert json.loads(text)["engine_id"] == engine_id

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCOPS_")}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home), XDG_CONFIG_HOME=str(home / "config"))
    out = subprocess.run([sys.executable, "-m", "syncops", "status", "--store", h.store_url], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stdout.splitlines()
    inventory = next(line for line in lines if " inventory " in line)
    assert inventory.startswith("acme [PROD]") and inventory.split()[-2] == "1m00s", out.stdout  # SLA column
    assert any(" web-orders " in line and line.startswith("acme [PROD]") for line in lines), out.stdout
    assert f"settings: published by engine {engine_id}" in out.stdout
