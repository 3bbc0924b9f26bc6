"""Refunds on simulated Shopify orders: `Order.refunds` as the Admin GraphQL API serves them.

Shapes follow the 2025-01 schema: Refund {id legacyResourceId createdAt updatedAt note
totalRefundedSet refundLineItems transactions}, RefundLineItem {id quantity restockType restocked
location lineItem priceSet subtotalSet totalTaxSet}, RefundLineItemRestockType RETURN | CANCEL |
LEGACY_RESTOCK | NO_RESTOCK. A refund with RETURN or CANCEL puts the units back at the order's
location (`restocked: true`, `location` = the restock location); NO_RESTOCK leaves stock alone
and has no location. Refunding moves the order's `updatedAt` (Shopify does), so an incremental
orders query sees the refund.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

RESTOCK_TYPES = ("RETURN", "CANCEL", "LEGACY_RESTOCK", "NO_RESTOCK")


def refund_order(app: Any, gid: str, lines: list[tuple[str, int]], *, restock: bool | str = True,
                 now: float | None = None, note: str | None = None) -> str:
    """Refund `lines` (sku, quantity) of order `gid`; `restock` True = RETURN, False = NO_RESTOCK,
    or a RefundLineItemRestockType name. Returns the Refund gid."""
    from syncops.simulator.shopify import _cents  # the simulator module imports this one

    kind = restock if isinstance(restock, str) else ("RETURN" if restock else "NO_RESTOCK")
    if kind not in RESTOCK_TYPES:
        raise ValueError(f"unknown restock type {kind!r}")
    with app._lock:
        at = float(int(app.clock() if now is None else now))
        order = app.orders[gid]
        refunds = app.refunds.setdefault(gid, [])
        number = 1 + sum(len(r) for r in app.refunds.values())
        items, total = [], Decimal("0.00")
        for sku, qty in lines:
            index = next((i for i, line in enumerate(order.lines) if line["sku"] == sku), None)
            if index is None:
                raise KeyError(f"{sku} is not on order {order.name}")
            line = order.lines[index]
            already = sum(li["quantity"] for r in refunds for li in r["items"] if li["index"] == index)
            if not 0 < qty <= line["quantity"] - already:
                raise ValueError(f"cannot refund {qty} of {sku}: {line['quantity'] - already} refundable")
            subtotal = line["unit_price"] * qty
            tax = _cents(line["tax"] * qty / line["quantity"])
            back = kind in ("RETURN", "CANCEL", "LEGACY_RESTOCK")
            if back:
                level = app.levels[(sku, app.web_location)]
                level["available"] += qty
                level["on_hand"] += qty
            items.append({"index": index, "sku": sku, "quantity": qty, "unit": line["unit_price"],
                          "subtotal": subtotal, "tax": tax, "restock_type": kind, "restocked": back})
            total += subtotal + tax
        refunds.append({"number": 9000 + number, "created_at": at, "note": note, "items": items, "total": total})
        order.updated_at = at
        app.payouts.refund(order.gid, order.name, total, at)
        return f"gid://shopify/Refund/{9000 + number}"


def refund_nodes(app: Any, order: Any) -> list[dict[str, Any]]:
    """The `refunds` field of one order node."""
    from syncops.simulator.shopify import _money, iso

    cur = order.currency
    out = []
    for r in app.refunds.get(order.gid, []):
        items = [{
            "id": f"gid://shopify/RefundLineItem/{r['number'] * 10 + n}",
            "quantity": li["quantity"], "restockType": li["restock_type"], "restocked": li["restocked"],
            "location": ({"id": app.locations[app.web_location], "name": app.web_location}
                         if li["restocked"] else None),
            "lineItem": {"id": f"gid://shopify/LineItem/{order.number * 100 + li['index']}", "sku": li["sku"]},
            "priceSet": _money(li["unit"], cur), "subtotalSet": _money(li["subtotal"], cur),
            "totalTaxSet": _money(li["tax"], cur),
        } for n, li in enumerate(r["items"])]
        txn = {"id": f"gid://shopify/OrderTransaction/{r['number'] * 10 + 1}", "kind": "REFUND",
               "status": "SUCCESS", "gateway": "shopify_payments", "formattedGateway": "Shopify Payments",
               "processedAt": iso(r["created_at"]), "amountSet": _money(r["total"], cur)}
        out.append({
            "id": f"gid://shopify/Refund/{r['number']}", "legacyResourceId": str(r["number"]),
            "createdAt": iso(r["created_at"]), "updatedAt": iso(r["created_at"]), "note": r["note"],
            "totalRefundedSet": _money(r["total"], cur),
            "refundLineItems": {"nodes": items, "edges": [{"node": i} for i in items],
                                "pageInfo": {"hasNextPage": False, "endCursor": None}},
            "transactions": {"nodes": [txn], "edges": [{"node": txn}],
                             "pageInfo": {"hasNextPage": False, "endCursor": None}},
        })
    return out


def financial_status(app: Any, order: Any, paid: str) -> str:
    """PARTIALLY_REFUNDED / REFUNDED once refunds exist (Order.displayFinancialStatus)."""
    refunds = app.refunds.get(order.gid, [])
    if not refunds or paid != "PAID":
        return paid
    refunded = sum(li["quantity"] for r in refunds for li in r["items"])
    return "REFUNDED" if refunded >= sum(line["quantity"] for line in order.lines) else "PARTIALLY_REFUNDED"
