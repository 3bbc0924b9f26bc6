"""The Amazon connector's requests (and the simulator's answers) checked against the published
Selling Partner API models from the shared/ folder beside the checkout (or SYNCOPS_AMAZON_SPECS);
see tests/specs.py for when a missing folder skips and when it fails."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from syncops.connectors.amazon_rates import USAGE_PLANS
from syncops.simulator.http import Request, Response, SimServer

from tests.amazon_helpers import deliveries, make_app, pull_all, run, stock
from tests.specs import spec_path

SPECS = Path()  # set by the fixture below: the official models, found by tests.specs
MODELS = {"orders": "orders-api-model/ordersV0.json", "listings": "listings-items-api-model/listingsItems_2021-08-01.json",
          "fba": "fba-inventory-api-model/fbaInventory.json", "sellers": "sellers-api-model/sellers.json",
          "finances": "finances-api-model/financesV0.json"}

@pytest.fixture(autouse=True, scope="module")
def _specs() -> None:
    global SPECS
    SPECS = spec_path("amazon-sp-api", env="SYNCOPS_AMAZON_SPECS")


def _models() -> dict[str, dict[str, Any]]:
    return {name: json.loads((SPECS / "models" / rel).read_text()) for name, rel in MODELS.items()}


def _operations(models: dict[str, dict[str, Any]]) -> list[tuple[str, re.Pattern[str], dict[str, Any], dict[str, Any]]]:
    ops = []
    for model in models.values():
        for template, item in model["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$")
            for method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    ops.append((method.upper(), pattern, op, model))
    return ops


def _usage_plan(op: dict[str, Any]) -> tuple[float, int]:
    rate, burst = re.search(r"\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", op["description"]).groups()
    return float(rate), int(burst)


def _resolve(model: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = model["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _required_present(model: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> list[str]:
    """Required properties missing anywhere in `value` (objects and arrays followed)."""
    schema = _resolve(model, schema)
    problems = []
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{where}: missing required {name}")
        for name, sub in (schema.get("properties") or {}).items():
            if name in value:
                problems += _required_present(model, sub, value[name], f"{where}.{name}")
    elif isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            problems += _required_present(model, schema["items"], item, f"{where}[{n}]")
    return problems


class Tap:
    """Records every SP-API request and answer between the connector and the simulator."""

    def __init__(self, app: Any) -> None:
        self.app, self.name, self.faults, self.seller_id = app, app.name, app.faults, app.seller_id
        self.seen: list[tuple[Request, Response]] = []

    def handle(self, request: Request) -> Response:
        response = self.app.handle(request)
        if request.path != "/auth/o2/token":
            self.seen.append((request, response))
        return response


def test_usage_plan_table_matches_the_models():
    ops = {op["operationId"]: op for _, _, op, _ in _operations(_models())}
    for name, plan in USAGE_PLANS.items():
        assert (plan.rate, plan.burst) == _usage_plan(ops[name]), name
        assert (SPECS / "models" / plan.source.split()[0]).is_file()


def test_requests_and_answers_follow_the_models(clock):
    models = _models()
    ops = _operations(models)
    app = make_app(clock, items_page=1, fba={f"SKU-{n:03d}": n for n in range(60)})
    for n in range(3):
        app.place_order([("TSHIRT-RED-M", 1), ("MUG-WHITE", 2)], now=clock.now - 30 + n)
    app.payouts.service_fee(now=clock.now - 20)
    app.payouts.settle(now=clock.now - 10)
    app.place_order([("MUG-WHITE", 1)], channel="AFN", now=clock.now - 5)  # an open group too
    tap = Tap(app)
    with SimServer(tap) as server:
        async def go(conn):
            await conn.check_auth()
            await pull_all(conn, "order", None, 2)
            await pull_all(conn, "inventory", None)
            await conn.push("inventory", deliveries([stock("MUG-WHITE", 3)]))
            await conn.read_levels({("MUG-WHITE", "DEFAULT"), ("SKU-001", "amazon-fba")})
            await pull_all(conn, "settlement", None)
        run(go, server, clock)
    used = set()
    for request, response in tap.seen:
        match = [(op, model) for method, pattern, op, model in ops
                 if method == request.method and pattern.match(request.path)]
        assert match, f"{request.method} {request.path} is no SP-API operation in the models"
        op, model = match[0]
        used.add(op["operationId"])
        declared = {p["name"]: p for p in op.get("parameters", []) if p.get("in") == "query"}
        for name in request.query:
            assert name in declared, f"{op['operationId']}: query parameter {name} is not in the model"
        for name, p in declared.items():
            if p.get("required"):
                assert name in request.query, f"{op['operationId']}: required {name} missing"
            if p.get("type") == "integer" and name in request.query:
                int(request.query[name][0])
        body = next((p for p in op.get("parameters", []) if p.get("in") == "body"), None)
        if body is not None:
            assert not _required_present(model, body["schema"], request.json(), "body")
        assert response.status == 200, (op["operationId"], response.body)
        schema = op["responses"]["200"]["schema"]
        assert not _required_present(model, schema, response.body, op["operationId"])
        assert set(response.headers) <= set(op["responses"]["200"].get("headers", {})) | {"Content-Type"}
    assert used == {"getMarketplaceParticipations", "getOrders", "getOrderItems", "getInventorySummaries",
                    "patchListingsItem", "getListingsItem", "listFinancialEventGroups",
                    "listFinancialEventsByGroupId"}
    # Paging tokens were exercised, under the parameter names each model gives them.
    assert any("NextToken" in r.query for r, _ in tap.seen if r.path == "/orders/v0/orders")
    assert any("NextToken" in r.query for r, _ in tap.seen if r.path.endswith("/orderItems"))
    assert any("nextToken" in r.query for r, _ in tap.seen if r.path.startswith("/fba"))
