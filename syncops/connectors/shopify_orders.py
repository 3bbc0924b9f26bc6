"""Shopify order nodes -> canonical SalesOrder payloads, plus the orders query and its cursor."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

_MONEY = "shopMoney { amount currencyCode }"
_ADDRESS = "address1 address2 city provinceCode zip countryCodeV2"

ORDERS_QUERY = f"""
query SyncopsOrders($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    edges {{
      cursor
      node {{
        id name createdAt updatedAt cancelledAt currencyCode displayFinancialStatus sourceName
        taxesIncluded email phone
        customer {{ id displayName email phone defaultAddress {{ {_ADDRESS} }} }}
        shippingAddress {{ {_ADDRESS} }}
        lineItems(first: 250) {{
          nodes {{
            sku quantity
            originalUnitPriceSet {{ {_MONEY} }}
            totalDiscountSet {{ {_MONEY} }}
            taxLines {{ title rate }}
          }}
        }}
        taxLines {{ title rate priceSet {{ {_MONEY} }} }}
        transactions(first: 50) {{ id kind status gateway amountSet {{ {_MONEY} }} }}
        totalShippingPriceSet {{ {_MONEY} }}
        totalPriceSet {{ {_MONEY} }}
      }}
    }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

EPOCH_WATERMARK = "1970-01-01T00:00:00Z"
_PAID_KINDS = {"SALE", "CAPTURE"}


@dataclass
class OrdersCursor:
    """What the engine persists between pulls (as JSON, opaque to it)."""

    watermark: str = EPOCH_WATERMARK  # inclusive lower bound on updatedAt
    after: str | None = None  # Shopify endCursor while paging through one watermark's result
    high: str | None = None  # highest updatedAt seen on the pages read so far

    @classmethod
    def load(cls, raw: str | None, default_watermark: str = EPOCH_WATERMARK) -> "OrdersCursor":
        if not raw:
            return cls(watermark=default_watermark)
        try:
            data = json.loads(raw)
            return cls(watermark=str(data["watermark"]), after=data.get("after"), high=data.get("high"))
        except (ValueError, KeyError, TypeError):
            # A mangled cursor restarts from the configured start; idempotency keys drop repeats.
            return cls(watermark=default_watermark)

    def dump(self) -> str:
        data: dict[str, Any] = {"watermark": self.watermark}
        if self.after:
            data["after"] = self.after
            data["high"] = self.high
        return json.dumps(data, separators=(",", ":"))

    def search(self) -> str:
        return f"updated_at:>='{self.watermark}'"


def epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def later(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if epoch(a) >= epoch(b) else b


def _amount(money_set: Any) -> str:
    try:
        return str(Decimal(str(money_set["shopMoney"]["amount"])))
    except (KeyError, TypeError, InvalidOperation):
        return "0"


def _rate(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return str(Decimal(str(value)))
    except InvalidOperation:
        return None


def _address(node: Any) -> dict[str, Any] | None:
    if not isinstance(node, dict):
        return None
    return {"line1": node.get("address1"), "line2": node.get("address2"), "city": node.get("city"),
            "region": node.get("provinceCode"), "postal_code": node.get("zip"), "country": node.get("countryCodeV2")}


def _customer(order: dict[str, Any]) -> dict[str, Any] | None:
    customer = order.get("customer") or {}
    email = customer.get("email") or order.get("email")
    phone = customer.get("phone") or order.get("phone")
    address = _address(order.get("shippingAddress")) or _address(customer.get("defaultAddress"))
    if not (customer or email or phone or address):
        return None
    return {"customer_id": customer.get("id"), "name": customer.get("displayName"), "email": email,
            "phone": phone, "address": address}


def _lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    items = order.get("lineItems") or {}
    nodes = items.get("nodes")
    if nodes is None:
        nodes = [edge.get("node") for edge in items.get("edges") or []]
    lines = []
    for item in nodes or []:
        taxes = item.get("taxLines") or []
        lines.append({
            "sku": item.get("sku"),
            "quantity": str(item.get("quantity")),
            "unit_price": _amount(item.get("originalUnitPriceSet")),
            "tax_code": taxes[0].get("title") if taxes else None,
            "discount": _amount(item.get("totalDiscountSet")),
        })
    return lines


def to_sales_order(order: dict[str, Any], location_id: str | None) -> dict[str, Any]:
    """Canonical SalesOrder payload (JSON shape: money as strings) from one Shopify order node."""
    financial = str(order.get("displayFinancialStatus") or "pending").lower()
    status = "cancelled" if order.get("cancelledAt") else financial
    payments = [
        {"method": tx.get("gateway") or "unknown", "amount": _amount(tx.get("amountSet")), "reference": tx.get("id")}
        for tx in order.get("transactions") or []
        # Authorisations are not money received; refunds belong to the returns flow.
        if tx.get("kind") in _PAID_KINDS and tx.get("status") == "SUCCESS"
    ]
    return {
        "order_number": order.get("name"),
        "channel": "web",
        "status": status,
        "placed_at": order.get("createdAt"),
        "currency": order.get("currencyCode"),
        "customer": _customer(order),
        "lines": _lines(order),
        "taxes": [{"code": t.get("title"), "rate": _rate(t.get("rate")), "amount": _amount(t.get("priceSet"))}
                  for t in order.get("taxLines") or []],
        "payments": payments,
        "location_id": location_id,
        "shipping": _amount(order.get("totalShippingPriceSet")),
        "taxes_included": bool(order.get("taxesIncluded")),
        "total": _amount(order.get("totalPriceSet")),
    }
