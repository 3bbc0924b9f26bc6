"""Refunds on simulated BigCommerce orders (orders v3 payment actions), as the spec shapes them.

Serves ``GET v3/orders/payment_actions/refunds`` (order_id:in, id:in, created:min, created:max,
transaction_id, page, limit; ordered by refund id ascending) and
``GET v3/orders/<id>/payment_actions/refunds``; each answer is ``{"data": [Refund], "meta": {}}``.
A Refund is {id, order_id, user_id, created, reason, total_amount, total_tax,
uses_merchant_override_values, items: [{item_type, item_id, reason, quantity, requested_amount}],
payments: [{id, provider_id, amount, offline, is_declined, declined_message, transaction_id}]}.
The refund API has no restock field and refunding does not change stock here either.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from syncops.simulator.http import Request, Response, json_response


def refund_order(app: Any, order_id: int, lines: list[tuple[str, int]], *, now: float | None = None,
                 reason: str = "Customer return") -> int:
    """Refund (sku, quantity) product lines of an order; returns the refund id."""
    from syncops.simulator.bigcommerce import _c, _d, _s4

    with app._lock:
        at = app.clock() if now is None else now
        order = app.orders_by_id[order_id]
        items, total, tax = [], Decimal("0"), Decimal("0")
        for sku, qty in lines:
            product = next((p for p in order["products"] if p["sku"] == sku), None)
            if product is None:
                raise KeyError(f"{sku} is not on order {order_id}")
            if not 0 < qty <= product["quantity"] - product["quantity_refunded"]:
                raise ValueError(f"cannot refund {qty} of {sku}")
            amount = _c(_d(product["price_inc_tax"]) * qty)
            tax += _c(_d(product["price_tax"]) * qty)
            total += amount
            product["quantity_refunded"] += qty
            product["refund_amount"] = _s4(_d(product["refund_amount"]) + amount)
            product["is_refunded"] = product["quantity_refunded"] >= product["quantity"]
            items.append({"item_type": "PRODUCT", "item_id": product["id"], "reason": reason, "quantity": qty,
                          "requested_amount": None})
        refunds = app.__dict__.setdefault("refunds", [])
        rid = len(refunds) + 1
        refunds.append({
            "id": rid, "order_id": order_id, "user_id": 0,
            "created": datetime.fromtimestamp(int(at), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "reason": reason, "total_amount": float(total), "total_tax": float(tax),
            "uses_merchant_override_values": False, "items": items,
            "payments": [{"id": rid, "provider_id": "braintree" if order["payment_method"] == "Credit Card"
                          else str(order["payment_method"]).lower().replace(" ", "_"),
                          "amount": float(total), "offline": False, "is_declined": False, "declined_message": "",
                          "transaction_id": f"txn-{order_id}"}],
            "_at": int(at),
        })
        order["modified"] = at
        return rid


def serve(app: Any, request: Request, rest: str) -> Response | None:
    """The refunds routes, or None when `rest` is not one of them."""
    from syncops.simulator.bigcommerce import _parse_date, _problem

    m = re.fullmatch(r"orders/(?:(\d+)/)?payment_actions/refunds", rest)
    if not m:
        return None
    if request.method != "GET":
        return _problem(405, f"Method {request.method} is not allowed on /{rest}")
    rows = [r for r in app.__dict__.get("refunds", [])]
    wanted_orders = _ints(request, "order_id:in")
    if m.group(1):
        wanted_orders = {int(m.group(1))}
    ids = _ints(request, "id:in")
    try:
        low = _parse_date(request.query["created:min"][0]) if "created:min" in request.query else None
        high = _parse_date(request.query["created:max"][0]) if "created:max" in request.query else None
        page = int(request.query.get("page", ["1"])[0])
        limit = int(request.query.get("limit", ["50"])[0])
        if page < 1 or limit < 1:
            raise ValueError
    except (ValueError, KeyError):
        return _problem(422, "Invalid query parameter")
    txn = request.query.get("transaction_id", [None])[0]
    rows = [r for r in rows if (wanted_orders is None or r["order_id"] in wanted_orders)
            and (ids is None or r["id"] in ids) and (low is None or r["_at"] >= low)
            and (high is None or r["_at"] <= high)
            and (txn is None or any(p["transaction_id"] == txn for p in r["payments"]))]
    rows.sort(key=lambda r: r["id"])
    chunk = rows[(page - 1) * limit: page * limit]
    return json_response({"data": [{k: v for k, v in r.items() if not k.startswith("_")} for r in chunk],
                          "meta": {}})


def _ints(request: Request, name: str) -> set[int] | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return {int(v) for part in raw for v in part.split(",") if v}
    except ValueError:
        return set()
