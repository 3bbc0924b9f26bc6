"""Webhook settings in the config: defaults, and file:line errors like the rest of the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncops.config import ConfigError, load_config

BASE = """tenants:
  acme:
    endpoints:
      pos: {kind: square, base_url: simulator%s}
      erp: {kind: odoo, base_url: simulator%s}
"""


def load(tmp_path: Path, text: str):
    path = tmp_path / "syncops.yaml"
    path.write_text(text)
    return load_config(path, env={})


def test_an_endpoint_webhook_turns_the_server_on_at_the_default_address(tmp_path):
    config = load(tmp_path, BASE % (", webhook: on", ""))
    assert (config.webhooks.host, config.webhooks.port) == ("127.0.0.1", 8787)
    assert config.tenants["acme"].endpoints["pos"].webhook.credential == "simulator"
    assert load(tmp_path, BASE % ("", "")).webhooks is None


def test_bad_webhook_settings_are_named_with_file_and_line(tmp_path):
    text = "webhooks: {listen: nowhere, max_body: 12, tolerance: soon}\n" + BASE % (
        ", webhook: {header: X-A}", ", webhook: on")
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    message = str(err.value)
    assert ":1: webhooks.listen: expected HOST:PORT like 127.0.0.1:8787, got 'nowhere'" in message
    assert ":1: webhooks.max_body: expected a size between 1KiB and 64MiB" in message
    assert ":1: webhooks.tolerance:" in message
    assert ":5: tenants.acme.endpoints.pos.webhook.header: expected header only on a bigcommerce endpoint" in message
    assert ":6: tenants.acme.endpoints.erp.webhook: expected webhooks only on square, shopify, bigcommerce" in message
