"""The Shopify simulator speaks GraphQL honestly: its SDL is Shopify's, documents are validated,
answers carry only the selected fields (issue 8, "Simulators that cannot lie")."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import pytest

from tests.specs import spec_path
from graphql import (
    GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, GraphQLScalarType, build_client_schema, parse,
    validate,
)

from syncops.connectors import shopify as shopify_conn
from syncops.connectors.shopify_orders import ORDERS_QUERY
from syncops.connectors.shopify_payouts import PAYOUTS_QUERY, TRANSACTIONS_QUERY
from syncops.connectors.shopify_refunds import REFUNDS_QUERY
from syncops.simulator import shopify_graphql
from syncops.simulator.http import SimServer
from syncops.simulator.shopify import ShopifyApp

OFFICIAL = "shopify/admin_schema_2025-01.json.gz"

# What our SDL declares that the 2025-01 reference schema lacks: the 2026 additions only.
ALLOWED_2026 = {
    ("directive", "idempotent"),  # @idempotent(key:), 2026-01 (mandatory at runtime from 2026-04)
    ("InventoryQuantityInput", "changeFromQuantity"),  # compare-and-set, 2026-01 (replaces compareQuantity)
}

CONNECTOR_DOCUMENTS = {
    "items": shopify_conn.LOOKUP_ITEMS, "locations": shopify_conn.LOOKUP_LOCATIONS,
    "levels": shopify_conn.READ_LEVELS, "shop": shopify_conn.SHOP_QUERY,
    "set_quantities": shopify_conn.SET_QUANTITIES % '"k-1"', "set_quantities_var": shopify_conn.SET_QUANTITIES % "$k",
    "bulk_update": shopify_conn.BULK_UPDATE, "orders": ORDERS_QUERY, "refunds": REFUNDS_QUERY,
    "payouts": PAYOUTS_QUERY, "transactions": TRANSACTIONS_QUERY,
}
TOKEN = "shpat_test"


@pytest.mark.parametrize("name", sorted(CONNECTOR_DOCUMENTS))
def test_every_connector_document_validates_against_the_simulator_sdl(name):
    document = CONNECTOR_DOCUMENTS[name]
    if name == "set_quantities_var":  # the key as a variable needs its declaration
        document = document.replace("($input: InventorySetQuantitiesInput!)",
                                    "($input: InventorySetQuantitiesInput!, $k: String!)")
    assert validate(shopify_graphql.schema(), parse(document)) == []


def test_sdl_is_a_subset_of_the_official_schema_except_the_2026_additions():
    raw = json.loads(gzip.open(spec_path(OFFICIAL)).read())
    official = build_client_schema(raw.get("data", raw))
    ours = shopify_graphql.schema()
    problems: list[str] = []
    used: set[tuple[str, str]] = set()

    def extra(owner: str, name: str, what: str) -> None:
        if (owner, name) in ALLOWED_2026:
            used.add((owner, name))
        else:
            problems.append(what)

    assert ours.query_type.name == official.query_type.name
    assert ours.mutation_type.name == official.mutation_type.name
    for name, ours_type in ours.type_map.items():
        if name.startswith("__"):
            continue
        theirs = official.type_map.get(name)
        if theirs is None or type(theirs) is not type(ours_type):
            problems.append(f"type {name} is not a {type(ours_type).__name__} in the official schema")
            continue
        if isinstance(ours_type, GraphQLObjectType):
            for fname, field in ours_type.fields.items():
                tf = theirs.fields.get(fname)
                if tf is None:
                    extra(name, fname, f"{name}.{fname} does not exist")
                    continue
                if str(tf.type) != str(field.type):
                    problems.append(f"{name}.{fname}: ours {field.type}, Shopify's {tf.type}")
                for aname, arg in field.args.items():
                    ta = tf.args.get(aname)
                    if ta is None:
                        extra(f"{name}.{fname}", aname, f"{name}.{fname}({aname}) does not exist")
                    elif str(ta.type) != str(arg.type):
                        problems.append(f"{name}.{fname}({aname}): ours {arg.type}, Shopify's {ta.type}")
        elif isinstance(ours_type, GraphQLInputObjectType):
            for fname, field in ours_type.fields.items():
                tf = theirs.fields.get(fname)
                if tf is None:
                    extra(name, fname, f"input {name}.{fname} does not exist")
                elif str(tf.type) != str(field.type):
                    problems.append(f"input {name}.{fname}: ours {field.type}, Shopify's {tf.type}")
        elif isinstance(ours_type, GraphQLEnumType):
            missing = set(ours_type.values) - set(theirs.values)
            if missing:
                problems.append(f"enum {name}: values {sorted(missing)} do not exist")
        else:
            assert isinstance(ours_type, GraphQLScalarType)
    official_directives = {d.name: d for d in official.directives}
    for directive in ours.directives:
        theirs = official_directives.get(directive.name)
        if theirs is None:
            extra("directive", directive.name, f"directive @{directive.name} does not exist")
    assert problems == []
    assert used == ALLOWED_2026, "an allow-listed 2026 addition is no longer used: drop it from ALLOWED_2026"


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
def app():
    return ShopifyApp(stock={("MUG-WHITE", "web"): 4})


@pytest.fixture
def server(app):
    with SimServer(app) as srv:
        yield srv


def _post(server: SimServer, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/admin/api/2026-04/graphql.json",
                          json={"query": query, "variables": variables or {}},
                          headers={"X-Shopify-Access-Token": TOKEN})
    assert response.status_code == 200
    return response.json()


def test_unknown_field_gets_shopifys_error_shape_with_locations(app, server):
    body = _post(server, "query {\n  shop {\n    name\n    nickname\n  }\n}")
    assert "data" not in body
    [error] = body["errors"]
    assert error["message"] == "Field 'nickname' doesn't exist on type 'Shop'"
    assert error["locations"] == [{"line": 4, "column": 5}]
    assert error["extensions"] == {"code": "undefinedField", "typeName": "Shop", "fieldName": "nickname"}
    assert app.requests == []  # nothing was served


def test_unknown_argument_undeclared_variable_and_syntax_error_are_rejected(server):
    [error] = _post(server, "{ orders(first: 1, colour: RED) { nodes { id } } }")["errors"]
    assert error["extensions"]["code"] == "argumentNotAccepted" and error["locations"] == [{"line": 1, "column": 20}]
    errors = _post(server, "query Q { inventoryItems(first: $n) { nodes { id } } }")["errors"]
    assert errors[0]["extensions"] == {"code": "variableNotDefined", "variableName": "n"}
    error = _post(server, "{ shop { name }")["errors"][0]
    assert error["extensions"]["code"] == "parseError" and error["locations"] == [{"line": 1, "column": 16}]


def test_a_subset_selection_gets_only_those_fields(app, server):
    app.place_web_order([("MUG-WHITE", 1)])
    body = _post(server, "{ shop { currencyCode } }")
    assert body["data"] == {"shop": {"currencyCode": "USD"}} and "cost" in body["extensions"]
    body = _post(server, "{ orders(first: 5) { edges { node { id lineItems(first: 5) { nodes { sku } } } } } }")
    [edge] = body["data"]["orders"]["edges"]
    assert edge == {"node": {"id": edge["node"]["id"], "lineItems": {"nodes": [{"sku": "MUG-WHITE"}]}}}
    body = _post(server, '{ inventoryItems(first: 1, query: "sku:MUG-WHITE") { nodes { sku } } }')
    assert body["data"] == {"inventoryItems": {"nodes": [{"sku": "MUG-WHITE"}]}}


def test_aliases_fragments_and_typename(app, server):
    query = """
    query Levels {
      kind: __typename
      stock: inventoryItems(first: 1, query: "sku:MUG-WHITE") {
        items: nodes {
          code: sku
          ...Levels
        }
      }
    }
    fragment Levels on InventoryItem {
      inventoryLevels(first: 10) { nodes { where: location { name } q: quantities(names: ["available"]) { quantity } } }
    }
    """
    data = _post(server, query)["data"]
    assert data["kind"] == "QueryRoot"
    [item] = data["stock"]["items"]
    assert item["code"] == "MUG-WHITE"
    levels = {n["where"]["name"]: n["q"] for n in item["inventoryLevels"]["nodes"]}
    assert levels == {"web": [{"quantity": 4}], "store-1": [{"quantity": 0}]}


def test_literal_arguments_are_honoured(app, server):
    """allowPartialUpdates: true inline (as the connector sends it) applies the good variants."""
    mug = app.items["MUG-WHITE"]
    query = ("mutation P($productId: ID!, $variants: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate("
             "productId: $productId, variants: $variants, allowPartialUpdates: true) "
             "{ productVariants { price } userErrors { code } } }")
    data = _post(server, query, {"productId": mug.product_gid, "variants": [
        {"id": mug.variant_gid, "price": "3.00"}, {"id": "gid://shopify/ProductVariant/1", "price": "1"}]})["data"]
    assert data == {"productVariantsBulkUpdate": {"productVariants": [{"price": "3.00"}],
                                                  "userErrors": [{"code": "PRODUCT_VARIANT_DOES_NOT_EXIST"}]}}
    assert str(app.price("MUG-WHITE")) == "3.00"


def test_idempotent_key_from_a_variable(app, server):
    query = ("mutation S($input: InventorySetQuantitiesInput!, $k: String!) { inventorySetQuantities(input: $input) "
             "@idempotent(key: $k) { g: inventoryAdjustmentGroup { changes { delta } } } }")
    variables = {"k": "key-var-1", "input": {"name": "available", "reason": "correction", "quantities": [
        {"inventoryItemId": app.item_gid("MUG-WHITE"), "locationId": app.locations["web"], "quantity": 9,
         "changeFromQuantity": 4}]}}
    first = _post(server, query, variables)["data"]
    assert first == {"inventorySetQuantities": {"g": {"changes": [{"delta": 5}]}}}
    assert _post(server, query, variables)["data"] == first and app.replays == {"key-var-1": 1}
    assert len(app.applied("key-var-1")) == 1
