"""The Amazon kind in configs: the sample's commented Amazon blocks validate once uncommented, and
`base_url: simulator` builds a simulated seller that the connector can talk to."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from syncops.config import load_config
from syncops.config.samples import sample_path
from syncops.connectors.registry import connector_class
from syncops.simulator.world import World

_BLOCK = re.compile(r"^( *)# -- amazon \w+\n(.*?)^ *# -- end amazon \w+\n", re.M | re.S)


def _uncomment(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        return "".join(re.sub(r"^( *)# ?", r"\1", line, count=1) + "\n" for line in match.group(2).splitlines())
    return _BLOCK.sub(one, text)


def test_sample_amazon_blocks_validate_when_uncommented(tmp_path: Path) -> None:
    text = _uncomment(sample_path("retailer.yaml").read_text())
    assert "kind: amazon" in text and "# -- amazon" not in text
    path = tmp_path / "retailer.yaml"
    path.write_text(text)
    (tmp_path / "skus.csv").write_text(sample_path("skus.csv").read_text())
    tenant = load_config(path, env={}, runnable=True).tenants["my-retailer"]
    amazon = tenant.endpoints["amazon"]
    assert amazon.kind == "amazon" and amazon.options["seller_id"] == "A2EXAMPLESELLER"
    assert {"amazon-orders-to-erp", "stock-pos-to-amazon"} <= set(tenant.flows)


CONFIG = """
tenants:
  shop:
    endpoints:
      amazon: {kind: amazon, base_url: simulator, credential: simulator,
               options: {client_id: amzn1.application-oa2-client.demo, seller_id: A2DEMO}}
      erp: {kind: odoo, base_url: simulator, credential: simulator}
    maps:
      sku: {MUG-WHITE: MUG-WHITE}
    flows:
      - {name: amazon-orders, entity: order, source: amazon, target: erp, schedule: {every: 1m}, sla: 1h,
         mappings: {sku: sku}}
"""


def test_a_simulated_amazon_endpoint_answers_the_connector(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    config = load_config(path, env={}, runnable=True)
    with World(config) as world:
        app = world.apps[("shop", "amazon")]
        oid = app.place_order([("MUG-WHITE", 2)])
        endpoint = config.tenants["shop"].endpoints["amazon"]
        conn = connector_class("amazon")(world.url_overrides[("shop", "amazon")], "simulator-token",
                                         options=dict(endpoint.options, orders_since="2000-01-01T00:00:00Z"))

        async def go():
            try:
                return await conn.check_auth(), await conn.pull("order", None, 10)
            finally:
                await conn.aclose()

        status, page = asyncio.run(go())
    assert "OK" in status and [c.payload["order_number"] for c in page.changes] == [oid]
    assert app.seller_id == "A2DEMO"
