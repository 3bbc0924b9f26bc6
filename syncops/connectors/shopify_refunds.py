"""Shopify refunds -> canonical ReturnRefund payloads (entity "return").

Read incrementally like orders: `orders(query: "updated_at:>=...", sortKey: UPDATED_AT)` with each
order's `refunds` (Shopify moves an order's updatedAt when it is refunded). One canonical return
per Refund:

- return_number / entity key: the Refund gid (stable, unique in the shop); order_number: the
  order name (#1001), as the order flow sends it.
- lines: each RefundLineItem, sku from lineItem.sku, quantity, refund_amount = subtotalSet +
  totalTaxSet (shop money). restock follows RefundLineItemRestockType: RETURN (fulfilled goods
  returned) and CANCEL (unfulfilled goods put back) restock; NO_RESTOCK does not. LEGACY_RESTOCK
  (deprecated; "restocked, without specifically being identified as a return or cancelation")
  restocks too, since the schema says the units were restocked.
- location_id: the RefundLineItem's `location` (the schema's "inventory restock location") name
  when a restocked line names one, else the connector option `order_location` (default "web").
- refund_method: the gateway of the refund's successful REFUND transactions (MIXED when several,
  OTHER when none); total: the sum of the lines. Shipping and order-adjustment refunds are not
  goods and stay out of the canonical return.
- idempotency key `shop:return:<refund gid>`: stable per refund, so two polls, a poll after an
  order edit, or a retry all dedupe to one record (and Odoo finds the credit note by ref anyway).
A refund without line items (an amount-only or shipping-only refund) has no canonical form and is
skipped with a warning.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from syncops.connectors.base import PullPage, SourceChange
from syncops.connectors.errors import DeliveryError
from syncops.connectors.shopify_orders import OrdersCursor, epoch, later
from syncops.store.categories import Category

_MONEY = "shopMoney { amount currencyCode }"
RESTOCKING = {"RETURN": True, "CANCEL": True, "LEGACY_RESTOCK": True, "NO_RESTOCK": False}

REFUNDS_QUERY = f"""
query SyncopsRefunds($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    edges {{
      cursor
      node {{
        id name updatedAt currencyCode
        customer {{ id }}
        refunds(first: 50) {{
          id createdAt
          refundLineItems(first: 250) {{
            nodes {{
              quantity restockType
              location {{ id name }}
              lineItem {{ id sku }}
              subtotalSet {{ {_MONEY} }}
              totalTaxSet {{ {_MONEY} }}
            }}
          }}
          transactions(first: 20) {{ nodes {{ id kind status gateway amountSet {{ {_MONEY} }} }} }}
        }}
      }}
    }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""


class _Skip(ValueError):
    pass


def _money(money_set: Any) -> tuple[Decimal, str | None]:
    try:
        shop = money_set["shopMoney"]
        return Decimal(str(shop["amount"])), shop.get("currencyCode")
    except (KeyError, TypeError, InvalidOperation):
        return Decimal("0"), None


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if not isinstance(connection, dict):
        return []
    nodes = connection.get("nodes")
    if nodes is None:
        nodes = [edge.get("node") for edge in connection.get("edges") or []]
    return [n for n in nodes or [] if isinstance(n, dict)]


def to_return(order: dict[str, Any], refund: dict[str, Any], default_location: str) -> dict[str, Any]:
    """Canonical ReturnRefund payload (JSON shape) for one Refund of one order node."""
    lines, location, currency = [], None, order.get("currencyCode")
    for item in _nodes(refund.get("refundLineItems")):
        kind = item.get("restockType")
        if kind not in RESTOCKING:
            raise _Skip(f"refund {refund.get('id')}: unknown restockType {kind!r}")
        subtotal, cur = _money(item.get("subtotalSet"))
        tax, _ = _money(item.get("totalTaxSet"))
        currency = cur or currency
        restock = RESTOCKING[kind]
        place = item.get("location") if restock else None
        if isinstance(place, dict) and place.get("name") and location is None:
            location = place["name"]
        lines.append({"sku": (item.get("lineItem") or {}).get("sku"), "quantity": str(item.get("quantity")),
                      "refund_amount": str(subtotal + tax), "restock": restock})
    if not lines:
        raise _Skip(f"refund {refund.get('id')} of order {order.get('name')} has no line items (amount only)")
    gateways = {t.get("gateway") for t in _nodes(refund.get("transactions"))
                if t.get("kind") == "REFUND" and t.get("status") == "SUCCESS" and t.get("gateway")}
    customer = order.get("customer") or {}
    return {
        "return_number": refund.get("id"),
        "order_number": order.get("name"),
        "location_id": location or default_location,
        "created_at": refund.get("createdAt"),
        "currency": currency,
        "customer": {"customer_id": customer["id"]} if customer.get("id") else None,
        "lines": lines,
        "refund_method": gateways.pop() if len(gateways) == 1 else ("MIXED" if gateways else "OTHER"),
        "total": str(sum((Decimal(line["refund_amount"]) for line in lines), Decimal("0"))),
    }


async def pull_returns(conn: Any, cursor: str | None, limit: int) -> PullPage:
    """One page of refunds, by the same updatedAt watermark as the order pull."""
    options = conn.options
    state = OrdersCursor.load(cursor, options.get("returns_since", options.get("orders_since", OrdersCursor().watermark)))
    first = max(1, min(int(limit), 250))
    variables = {"first": first, "after": state.after, "query": state.search()}
    try:
        data = await conn._api.call(REFUNDS_QUERY, variables)
    except DeliveryError as exc:
        if not (state.after and exc.category == Category.VALIDATION and "cursor" in exc.message.lower()):
            raise
        state = OrdersCursor(watermark=state.watermark)
        data = await conn._api.call(REFUNDS_QUERY, {**variables, "after": None})
    connection = data.get("orders")
    if not isinstance(connection, dict) or not isinstance(connection.get("edges"), list):
        raise DeliveryError(Category.UNKNOWN, "Shopify orders response has no edges",
                            response_excerpt=conn._api.excerpt(json.dumps(data)))
    location = options.get("order_location", "web")
    changes, high = [], state.high
    for edge in connection["edges"]:
        node = edge.get("node") or {}
        updated = node.get("updatedAt")
        if not node.get("id") or not updated:
            raise DeliveryError(Category.UNKNOWN, "Shopify order without id or updatedAt",
                                response_excerpt=conn._api.excerpt(json.dumps(node)))
        high = later(high, updated)
        for refund in node.get("refunds") or []:
            if not isinstance(refund, dict) or not refund.get("id"):
                continue
            try:
                payload = to_return(node, refund, location)
            except _Skip as exc:
                conn.warnings.append(f"shopify return: skipped: {exc}")
                continue
            changes.append(SourceChange(
                idempotency_key=f"shop:return:{refund['id']}",
                entity_key=str(refund["id"]),
                payload=payload, source_payload=refund,
                changed_at=epoch(refund.get("createdAt") or updated),
            ))
    info = connection.get("pageInfo") or {}
    if info.get("hasNextPage") and info.get("endCursor"):
        nxt = OrdersCursor(watermark=state.watermark, after=info["endCursor"], high=high)
        return PullPage(changes=changes, cursor=nxt.dump(), has_more=True)
    return PullPage(changes=changes, cursor=OrdersCursor(watermark=high or state.watermark).dump(), has_more=False)
