"""BigCommerce refunds -> canonical ReturnRefund payloads (entity "return").

Read from the orders v3 refunds API, GET /v3/orders/payment_actions/refunds (ordered by refund id
ascending) with `created:min` as an inclusive watermark and page/limit within one pass; the last
second is re-read and dropped by the idempotency key `bc:return:<refund id>` (stable per refund).

- lines: the refund's PRODUCT items; `item_id` is the order_product id, mapped to its SKU through
  GET /v2/orders/<order_id>/products (the sub-resource the order pull already reads). The line's
  refund_amount is price_inc_tax x quantity, as BigCommerce computes a PRODUCT refund; when the
  merchant overrode the amounts (`uses_merchant_override_values`) the refund's total_amount is
  shared over the lines instead. SHIPPING, HANDLING, GIFT_WRAPPING, ORDER and FEE items are not
  goods and stay out of the canonical return; a refund without PRODUCT items is skipped.
- restock: the refunds API has no restock field (RefundItem: item_type, item_id, reason, quantity,
  adjustments, requested_amount) and refunding through it does not move inventory, so every line
  is restock=False. A retailer whose process always puts refunded goods back may set the option
  `refund_restock: true` (a policy, not something BigCommerce reports).
- return_number: "<order_number_prefix><order id>-R<refund id>"; order_number as the order pull
  names it; location_id: option `order_location`; refund_method: the provider_id of the refund's
  non-declined payments (MIXED / OTHER as for the other sources); currency: option `currency`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from syncops.connectors.base import PullPage, SourceChange

PATH = "v3/orders/payment_actions/refunds"


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError):
        return Decimal("0")


def _epoch(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def to_return(conn: Any, refund: dict[str, Any], products: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    options = conn.options
    prefix = options.get("order_number_prefix", "")
    items = [i for i in refund.get("items") or [] if isinstance(i, dict) and i.get("item_type") == "PRODUCT"]
    if not items:
        return None
    lines = []
    for item in items:
        product = products.get(item.get("item_id")) or {}
        qty = item.get("quantity")
        amount = (_dec(product.get("price_inc_tax")) * _dec(qty)).quantize(Decimal("0.01"))
        lines.append({"sku": product.get("sku") or "", "quantity": str(qty), "refund_amount": amount,
                      "restock": bool(options.get("refund_restock", False))})
    if refund.get("uses_merchant_override_values"):
        total = _dec(refund.get("total_amount")).quantize(Decimal("0.01"))
        nominal = sum((ln["refund_amount"] for ln in lines), Decimal("0")) or Decimal("1")
        shared = Decimal("0")
        for ln in lines[:-1]:
            ln["refund_amount"] = (total * ln["refund_amount"] / nominal).quantize(Decimal("0.01"))
            shared += ln["refund_amount"]
        lines[-1]["refund_amount"] = total - shared
    methods = {p.get("provider_id") for p in refund.get("payments") or []
               if isinstance(p, dict) and not p.get("is_declined") and p.get("provider_id")}
    return {
        "return_number": f"{prefix}{refund.get('order_id')}-R{refund.get('id')}",
        "order_number": f"{prefix}{refund.get('order_id')}",
        "location_id": options.get("order_location"),
        "created_at": refund.get("created"),
        "currency": conn.currency,
        "lines": [{**ln, "refund_amount": str(ln["refund_amount"])} for ln in lines],
        "refund_method": methods.pop() if len(methods) == 1 else ("MIXED" if methods else "OTHER"),
        "total": str(sum((ln["refund_amount"] for ln in lines), Decimal("0"))),
    }


async def pull_returns(conn: Any, cursor: str | None, limit: int) -> PullPage:
    watermark, page = conn._parse_cursor(cursor)
    limit = max(1, min(limit, 250))
    since = datetime.fromtimestamp(watermark, tz=timezone.utc).isoformat()
    resp = await conn._request("GET", PATH, params={"created:min": since, "page": page, "limit": limit})
    data = conn._json(resp, f"GET /{PATH}") if resp.content else {"data": []}
    rows = data.get("data") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise conn._shape(f"GET /{PATH}", data)
    products: dict[int, dict[int, dict[str, Any]]] = {}
    changes, stamps = [], []
    for refund in rows:
        created = _epoch(refund.get("created"))
        if created is None or refund.get("id") is None:
            raise conn._shape(f"GET /{PATH} (id, created)", refund)
        stamps.append(int(created))
        order_id = refund.get("order_id")
        if order_id not in products:
            lines = await conn._order_lines({"id": order_id})  # no consignments: reads v2 .../products
            products[order_id] = {li.get("id"): li for li in lines}
        payload = to_return(conn, refund, products[order_id])
        if payload is None:
            continue  # shipping-, fee- or amount-only refund: no goods came back
        changes.append(SourceChange(idempotency_key=f"bc:return:{refund['id']}", entity_key=payload["return_number"],
                                    payload=payload, source_payload=refund, changed_at=created))
    if len(rows) < limit:
        state, more = {"watermark": max([watermark, *stamps]), "page": 1}, False
    else:
        state, more = {"watermark": watermark, "page": page + 1}, True  # same pass, next page
    return PullPage(changes=changes, cursor=json.dumps(state), has_more=more)
