"""Without --config, the CLI takes tenants' and flows' settings from what the engine published."""

from __future__ import annotations

import json

import pytest

from syncops.config import load_config
from syncops.store import published
from syncops.store.db import open_store


@pytest.fixture
def publish(config_path, store_url):
    """Publish the test config as an engine would, then take the config file away."""
    def run(config_text: str | None = None, engine_id: str = "jumpbox:4242"):
        path = config_path
        if config_text is not None:
            path = config_path.with_name("engine.yaml")
            path.write_text(config_text, encoding="utf-8")
        store = open_store(store_url, create=True)
        try:
            published.publish(store, load_config(path), engine_id)
        finally:
            store.close()
    return run


def test_status_without_config_shows_sla_and_production_from_published_settings(cli, publish, seed,
                                                                                 monkeypatch) -> None:
    monkeypatch.delenv("SYNCOPS_CONFIG")
    before = cli("status", "--json").json()
    assert before["settings"]["source"] == "none"
    assert all(f["sla"] is None and not f["production"] for f in before["flows"])

    publish()
    r = cli("status", "--json")
    flows = {(f["tenant"], f["flow"]): f for f in r.json()["flows"]}
    assert set(flows) == {("acme", "orders"), ("acme", "inventory"), ("bella", "inventory")}
    assert (flows[("acme", "orders")]["sla"], flows[("acme", "orders")]["production"]) == (600, True)
    assert (flows[("bella", "inventory")]["sla"], flows[("bella", "inventory")]["production"]) == (60, False)
    assert r.json()["settings"]["source"] == "published"
    assert r.json()["settings"]["engine_id"] == "jumpbox:4242"

    out = cli("status").out
    acme_orders = next(line for line in out.splitlines() if line.startswith("acme [PROD]") and " orders " in line)
    assert "10m" in acme_orders
    assert "settings: published by engine jumpbox:4242" in out


def test_flows_and_mapping_checks_work_without_config_once_published(cli, publish, monkeypatch) -> None:
    monkeypatch.delenv("SYNCOPS_CONFIG")
    assert "no config file" in cli("flows", "list").err
    publish()
    r = cli("flows", "list", "--json")
    assert r.code == 0, r.err
    got = {(f["tenant"], f["flow"]): f for f in r.json()}
    assert (got[("acme", "orders")]["entity"], got[("acme", "orders")]["schedule"]) == ("order", "every 5s")
    assert cli("flows", "pause", "acme", "nope", "--reason", "x").code == 1
    assert cli("flows", "pause", "acme", "orders", "--reason", "ERP window").code == 0
    # A typo in a map name is refused as with the config, and config map entries are listed.
    r = cli("mappings", "set", "--tenant", "acme", "skumap", "A", "B")
    assert r.code == 1 and "no map 'skumap'" in r.err
    entries = cli("mappings", "list", "--tenant", "acme", "--json").json()
    assert {(e["map_name"], e["source"]) for e in entries} >= {("sku_map", "TSHIRT-RED-M"), ("sku_map", "MUG-WHITE")}


def test_config_saying_not_production_loses_to_published_production(cli, publish, config_path) -> None:
    # The engine runs with bella marked production; the technician's local copy says otherwise.
    engine_text = config_path.read_text().replace("  bella:\n", "  bella:\n    production: true\n")
    publish(engine_text)
    r = cli("status", "--json")
    bella = next(f for f in r.json()["flows"] if f["tenant"] == "bella")
    assert bella["production"] is True
    assert r.json()["settings"]["source"] == "config+published"
    assert "NOTE: tenant bella is production in the engine's published settings" in cli("status").out


SECRET_CONFIG = """\
tenants:
  acme:
    production: true
    endpoints:
      pos: {kind: square, base_url: "https://connect.squareup.com", credential: keyring}
      web: {kind: shopify, base_url: "https://${SHOP_HOST}", credential: "env:ACME_WEB_TOKEN",
            options: {api_version: "2024-01"}}
    flows:
      - name: inventory
        entity: inventory
        source: pos
        target: web
        schedule: {every: 30s}
        sla: 5m
"""


def test_published_settings_hold_no_credential_url_or_secret(publish, store_url, monkeypatch) -> None:
    monkeypatch.setenv("SHOP_HOST", "acme-shop.myshopify.com")
    monkeypatch.setenv("ACME_WEB_TOKEN", "shpat_envsecret123")
    monkeypatch.setenv("SYNCOPS_SECRET_ACME_POS", "sq0atp-keyringish")
    publish(SECRET_CONFIG)
    store = open_store(store_url)
    try:
        text = published.raw(store)
        got = published.read(store)
    finally:
        store.close()
    for secret in ("acme-shop", "myshopify", "squareup", "ACME_WEB_TOKEN", "shpat_envsecret123",
                   "sq0atp", "keyring", "env:", "credential", "base_url", "2024-01"):
        assert secret not in text, secret
    doc = json.loads(text)
    assert doc["format"] == published.FORMAT and doc["engine_id"] == "jumpbox:4242" and doc["published_at"] > 0
    assert doc["tenants"]["acme"]["endpoints"] == {"pos": {"kind": "square"}, "web": {"kind": "shopify"}}
    assert got.tenants["acme"].production is True and got.tenants["acme"].flows["inventory"].sla == 300


def test_unknown_or_broken_published_document_is_ignored_not_guessed(publish, store_url) -> None:
    from syncops.store.tables import Meta

    publish()
    store = open_store(store_url)
    try:
        assert published.read(store) is not None
        for bad in ('{"format": 99, "tenants": {}}', "not json"):
            with store.write() as conn:
                conn.execute(Meta.__table__.update().where(Meta.__table__.c.key == published.KEY).values(value=bad))
            assert published.read(store) is None
    finally:
        store.close()


def test_enqueue_without_config_uses_the_published_flow(cli, publish, tmp_path, monkeypatch) -> None:
    from .conftest import order_payload

    monkeypatch.delenv("SYNCOPS_CONFIG")
    f = tmp_path / "orders.jsonl"
    f.write_text(json.dumps(order_payload("B-1")) + "\n", encoding="utf-8")
    assert "no config file" in cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "orders").err
    publish()
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "orders")
    assert r.code == 0, r.err
    [row] = cli("records", "list", "--json").json()
    assert (row["entity"], row["target"], row["entity_key"]) == ("order", "erp", "B-1")
