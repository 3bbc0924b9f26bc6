"""The NetSuite kind in configs: the sample's commented blocks validate once uncommented, and
`base_url: simulator` builds a simulated account the connector (and `syncops creds check`) can talk to."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from syncops.config import load_config
from syncops.config.samples import sample_path
from syncops.connectors.netsuite import SIM_ACCOUNT
from syncops.connectors.netsuite_auth import SIM_CREDENTIALS
from syncops.connectors.registry import connector_class, flow_problem
from syncops.simulator import netsuite as sim
from syncops.simulator.world import World

_BLOCK = re.compile(r"^( *)# -- netsuite \w+\n(.*?)^ *# -- end netsuite \w+\n", re.M | re.S)


def _uncomment(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        return "".join(re.sub(r"^( *)# ?", r"\1", line, count=1) + "\n" for line in match.group(2).splitlines())
    return _BLOCK.sub(one, text)


def test_sample_netsuite_blocks_validate_when_uncommented(tmp_path: Path) -> None:
    text = _uncomment(sample_path("retailer.yaml").read_text())
    assert "kind: netsuite" in text and "# -- netsuite" not in text
    text = text.replace("    maps:\n", "    maps:\n      ns_to_shopify_location: {Main Warehouse: \"71234567890\"}\n"
                        "      ns_settlement_accounts: {sales: \"4000\", refunds: \"4010\", fees: \"6100\", "
                        "clearing: \"1100\", bank: \"1000\"}\n", 1)
    path = tmp_path / "retailer.yaml"
    path.write_text(text)
    (tmp_path / "skus.csv").write_text(sample_path("skus.csv").read_text())
    tenant = load_config(path, env={}, runnable=True).tenants["my-retailer"]
    assert tenant.endpoints["ns"].kind == "netsuite"
    assert {"web-orders-to-ns", "web-returns-to-ns", "payouts-to-ns", "stock-ns-to-web"} <= set(tenant.flows)
    for flow in tenant.flows.values():
        if "ns" in (flow.source, flow.target):
            kinds = tenant.endpoints[flow.source].kind, tenant.endpoints[flow.target].kind
            assert flow_problem(flow.entity, *kinds, flow.source, flow.target) is None, flow.name


def test_simulator_account_and_secrets_match_the_connector_defaults() -> None:
    assert sim.ACCOUNT == SIM_ACCOUNT and sim.CREDENTIALS == SIM_CREDENTIALS


CONFIG = """
tenants:
  shop:
    endpoints:
      web: {kind: shopify, base_url: simulator, credential: simulator}
      ns: {kind: netsuite, base_url: simulator, credential: simulator, options: {default_customer: "1"}}
    maps:
      loc: {Main Warehouse: web}
    flows:
      - {name: web-orders, entity: order, source: web, target: ns, schedule: {every: 1m}, sla: 1h}
      - {name: ns-stock, entity: inventory, source: ns, target: web, schedule: {every: 1m}, sla: 1h,
         mappings: {location: loc}}
"""


def test_a_simulated_netsuite_endpoint_answers_the_connector_with_the_dummy_secret(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    config = load_config(path, env={}, runnable=True)
    with World(config) as world:
        endpoint = config.tenants["shop"].endpoints["ns"]
        conn = connector_class("netsuite")(world.url_overrides[("shop", "ns")], "simulator-token",
                                           options=dict(endpoint.options))

        async def go():
            try:
                return await conn.check_auth(), await conn.pull("inventory", None, 100)
            finally:
                await conn.aclose()

        who, page = asyncio.run(go())
        assert SIM_ACCOUNT in who and {c.entity_key.split("@")[1] for c in page.changes} == {"Main Warehouse"}


def test_creds_check_authenticates_against_netsuite_and_names_a_bad_token(tmp_path: Path, monkeypatch) -> None:
    import json

    from syncops.cli.creds import _try_auth
    from syncops.simulator.http import SimServer

    with SimServer(sim.NetSuiteApp()) as server:
        path = tmp_path / "c.yaml"
        path.write_text(CONFIG.replace("ns: {kind: netsuite, base_url: simulator, credential: simulator,",
                                       f"ns: {{kind: netsuite, base_url: \"{server.url}\", credential: env:NS_TBA,"))
        endpoint = load_config(path, env={}).tenants["shop"].endpoints["ns"]
        monkeypatch.setenv("NS_TBA", json.dumps(SIM_CREDENTIALS))
        answer = asyncio.run(_try_auth("shop", endpoint))
        assert answer == f"ok: NetSuite account {SIM_ACCOUNT} (Honeycomb Mfg. (Parent))"
        monkeypatch.setenv("NS_TBA", json.dumps({**SIM_CREDENTIALS, "token_secret": "0badbadbadbad"}))
        result = asyncio.run(_try_auth("shop", endpoint))
        assert result.startswith("FAIL auth: NetSuite refused") and "INVALID_LOGIN" in result
        assert "0badbadbadbad" not in result
