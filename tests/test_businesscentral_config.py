"""The Business Central kind in configs: the sample's commented blocks validate once uncommented, and
`base_url: simulator` builds a simulated company the connector can talk to."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from syncops.config import load_config
from syncops.config.samples import sample_path
from syncops.connectors.businesscentral import SIM_COMPANY, SIM_TENANT
from syncops.connectors.registry import connector_class
from syncops.simulator import businesscentral as sim
from syncops.simulator.world import World

_BLOCK = re.compile(r"^( *)# -- businesscentral \w+\n(.*?)^ *# -- end businesscentral \w+\n", re.M | re.S)


def _uncomment(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        return "".join(re.sub(r"^( *)# ?", r"\1", line, count=1) + "\n" for line in match.group(2).splitlines())
    return _BLOCK.sub(one, text)


def test_sample_business_central_blocks_validate_when_uncommented(tmp_path: Path) -> None:
    text = _uncomment(sample_path("retailer.yaml").read_text())
    assert "kind: businesscentral" in text and "# -- businesscentral" not in text
    text = text.replace("    maps:\n", "    maps:\n      bc_to_shopify_location: {bc: \"71234567890\"}\n", 1)
    path = tmp_path / "retailer.yaml"
    path.write_text(text)
    (tmp_path / "skus.csv").write_text(sample_path("skus.csv").read_text())
    tenant = load_config(path, env={}, runnable=True).tenants["my-retailer"]
    assert tenant.endpoints["bc"].kind == "businesscentral"
    assert {"web-orders-to-bc", "web-returns-to-bc", "stock-bc-to-web"} <= set(tenant.flows)


def test_simulator_ids_match_the_connector_defaults() -> None:
    assert (sim.TENANT, sim.COMPANY) == (SIM_TENANT, SIM_COMPANY)


CONFIG = """
tenants:
  shop:
    endpoints:
      web: {kind: shopify, base_url: simulator, credential: simulator}
      bc: {kind: businesscentral, base_url: simulator, credential: simulator,
           options: {client_id: 11111111-1111-1111-1111-111111111111}}
    flows:
      - {name: web-orders, entity: order, source: web, target: bc, schedule: {every: 1m}, sla: 1h}
      - {name: bc-stock, entity: inventory, source: bc, target: web, schedule: {every: 1m}, sla: 1h}
"""


def test_a_simulated_business_central_endpoint_answers_the_connector(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    config = load_config(path, env={}, runnable=True)
    with World(config) as world:
        endpoint = config.tenants["shop"].endpoints["bc"]
        conn = connector_class("businesscentral")(world.url_overrides[("shop", "bc")], "simulator-token",
                                                  options=dict(endpoint.options))

        async def go():
            try:
                return await conn.check_auth(), await conn.pull("inventory", None, 100)
            finally:
                await conn.aclose()

        who, page = asyncio.run(go())
        assert "CRONUS" in who and page.changes
