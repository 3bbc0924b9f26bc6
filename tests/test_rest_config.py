"""`kind: rest` in configs: the sample's commented WMS validates once uncommented, and every spec
mistake is reported at its FILE:LINE with its dotted path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syncops.config import ConfigError, load_config
from syncops.config.samples import sample_path

_BLOCK = re.compile(r"^( *)# -- rest \w+\n(.*?)^ *# -- end rest \w+\n", re.M | re.S)


def _uncomment(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        return "".join(re.sub(r"^( *)# ?", r"\1", line, count=1) + "\n" for line in match.group(2).splitlines())
    return _BLOCK.sub(one, text)


def test_sample_wms_blocks_validate_when_uncommented(tmp_path: Path) -> None:
    text = _uncomment(sample_path("retailer.yaml").read_text())
    assert "kind: rest" in text and "# -- rest" not in text
    text = text.replace("    maps:\n", "    maps:\n      wms_to_shopify_location: {main: \"71234567890\"}\n", 1)
    path = tmp_path / "retailer.yaml"
    path.write_text(text)
    (tmp_path / "skus.csv").write_text(sample_path("skus.csv").read_text())
    tenant = load_config(path, env={}, runnable=True).tenants["my-retailer"]
    assert tenant.endpoints["wms"].kind == "rest"
    assert {"web-orders-to-wms", "stock-wms-to-web"} <= set(tenant.flows)


HEAD = """\
tenants:
  t:
    endpoints:
      web: {kind: shopify, base_url: simulator}
      wms:
        kind: rest
        base_url: https://wms.example.com
        options:
"""
GOOD = """\
          auth: {type: api_key, header: X-Api-Key}
          pagination: {style: page, size_param: per_page, total_pages: meta.total_pages}
          entities:
            inventory:
              pull:
                path: /api/v1/stock
                items: data
                incremental: {param: updated_since, cursor_field: updated_at}
                fields: {sku: sku, location_id: warehouse, available: available, changed_at: updated_at}
                idempotency: "join(':', [sku, warehouse, to_string(version)])"
"""
FLOWS = """\
    flows:
      - {name: stock, entity: inventory, source: wms, target: web, schedule: {every: 1m}, sla: 1h}
"""


def _load(tmp_path: Path, options: str, flows: str = FLOWS):
    path = tmp_path / "c.yaml"
    path.write_text(HEAD + options + flows)
    return load_config(path, env={}, runnable=True), path


def _errors(tmp_path: Path, options: str, flows: str = FLOWS) -> list[str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, options, flows)
    return info.value.errors


def test_a_good_rest_endpoint_loads(tmp_path: Path) -> None:
    config, _ = _load(tmp_path, GOOD)
    assert config.tenants["t"].endpoints["wms"].options["entities"]["inventory"]["pull"]["items"] == "data"


def test_bad_jmespath_is_reported_at_its_line(tmp_path: Path) -> None:
    options = GOOD.replace("available: available,", "available: 'available[',")
    errors = _errors(tmp_path, options)
    line = (HEAD + options).splitlines().index(
        next(x for x in (HEAD + options).splitlines() if "available[" in x)) + 1
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{tmp_path / 'c.yaml'}:{line}: tenants.t.endpoints.wms.options.entities."
                                "inventory.pull.fields.available: expected a valid JMESPath expression"), errors


def test_unknown_pagination_style_names_the_choices(tmp_path: Path) -> None:
    errors = _errors(tmp_path, GOOD.replace("style: page", "style: pages"))
    assert len(errors) == 1
    assert ":10: tenants.t.endpoints.wms.options.pagination.style: expected a pagination style: one of " \
           "page, offset, cursor, link, none, got 'pages' (did you mean 'page'?)" in errors[0]


def test_unknown_auth_type_entity_and_canonical_field(tmp_path: Path) -> None:
    options = (GOOD.replace("type: api_key", "type: apikey").replace("location_id: warehouse", "warehouse: warehouse")
               + "            inventry:\n              pull: {path: /x, fields: {}, idempotency: id}\n")
    errors = _errors(tmp_path, options)
    text = "\n".join(errors)
    assert ":9: tenants.t.endpoints.wms.options.auth.type: expected an auth type: one of api_key, bearer, basic, " \
           "oauth_client_credentials, got 'apikey' (did you mean 'api_key'?)" in text
    assert ":17: tenants.t.endpoints.wms.options.entities.inventory.pull.fields.warehouse: expected a field of " \
           "the canonical inventory" in text
    assert ":19: tenants.t.endpoints.wms.options.entities.inventry: expected a canonical entity" in text


def test_missing_required_keys(tmp_path: Path) -> None:
    options = GOOD.replace('                idempotency: "join(\':\', [sku, warehouse, to_string(version)])"\n', "")
    errors = _errors(tmp_path, options)
    assert len(errors) == 1
    assert ":14: tenants.t.endpoints.wms.options.entities.inventory.pull.idempotency: expected required key " \
           "'idempotency', got it missing" in errors[0]


def test_push_path_template_must_name_canonical_fields(tmp_path: Path) -> None:
    options = GOOD + ("              push:\n                method: PUT\n"
                      "                path: /api/v1/stock/{sku}/{warehouse}\n"
                      "                body: {available: available}\n")
    errors = _errors(tmp_path, options)
    assert len(errors) == 1 and ":21: tenants.t.endpoints.wms.options.entities.inventory.push.path: expected " \
                                "{...} to name a field of the canonical inventory" in errors[0]


def test_flow_check_reads_what_the_rest_endpoint_declares(tmp_path: Path) -> None:
    flows = ("    flows:\n      - {name: orders, entity: order, source: wms, target: web, "
             "schedule: {every: 1m}, sla: 1h}\n")
    errors = _errors(tmp_path, GOOD, flows)
    assert len(errors) == 1
    assert ":20: tenants.t.flows[0].entity: expected an entity both endpoints support: a rest endpoint (wms) " \
           "cannot be read for order; it supports inventory" in errors[0]


def test_a_literal_secret_in_rest_options_is_refused(tmp_path: Path) -> None:
    errors = _errors(tmp_path, GOOD.replace("header: X-Api-Key", "api_key: abc123"))
    assert any("expected no secrets in the config file" in e and "abc123" not in e for e in errors), errors


def test_a_simulated_rest_endpoint_is_the_wms_and_answers_the_connector(tmp_path: Path) -> None:
    import asyncio

    from syncops.connectors.registry import connector_class
    from syncops.simulator.world import World

    text = (HEAD.replace("base_url: https://wms.example.com", "base_url: simulator") + GOOD
            + "    maps:\n      sku: {TSHIRT-RED-M: TSHIRT-RED-M}\n      loc: {main: \"71234567890\"}\n"
            + FLOWS.replace("sla: 1h}", "sla: 1h, mappings: {sku: sku, location: loc}}"))
    path = tmp_path / "c.yaml"
    path.write_text(text)
    config = load_config(path, env={}, runnable=True)
    with World(config, profile="calm") as world:
        assert world.kinds[("t", "wms")] == "rest"
        endpoint = config.tenants["t"].endpoints["wms"]
        conn = connector_class("rest")(world.url_overrides[("t", "wms")], "simulator-token",
                                       options=dict(endpoint.options))

        async def go():
            try:
                return await conn.pull("inventory", None, 100)
            finally:
                await conn.aclose()

        page = asyncio.run(go())
    assert [c.entity_key for c in page.changes] == ["TSHIRT-RED-M@main"]
    assert world.state()["t/wms"]["stock"][0]["sku"] == "TSHIRT-RED-M"
