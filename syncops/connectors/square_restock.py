"""What Square itself records about returned goods: the inventory adjustments of each refund.

Square's OrderReturn has no restock flag. When a return is processed the POS moves the returned
units out of SOLD: to IN_STOCK when they go back on the shelf, to WASTE when they are damaged.
Each such InventoryAdjustment carries `refund_id`, the id of the refund on the return order
(Order.refunds[].id). So the connector reads POST /v2/inventory/changes/batch-retrieve (types
ADJUSTMENT, states IN_STOCK, the returned variations at the return's locations, from shortly
before the oldest return) and counts, per refund and variation, the units whose `to_state` is
IN_STOCK. Units without such an adjustment are refunded but not restocked: a restock Square never
recorded must not appear as sellable stock in the ERP. (A connector whose token lacks
INVENTORY_READ fails the poll with an auth error rather than guessing.)
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from syncops.connectors.square_convert import Unexpressible, decimal, epoch, rfc3339
from syncops.connectors.square_wire import expect_list

PATH = "/v2/inventory/changes/batch-retrieve"
# Adjustments may be written a little before the return order is stamped (offline POS clocks).
SLACK_SECONDS = 3600.0
RESTOCKED_STATE = "IN_STOCK"


async def restocked_units(conn: Any, returns: list[dict[str, Any]]) -> dict[tuple[str, str], Decimal]:
    """(refund id, catalog object id) -> units Square moved back IN_STOCK for that refund."""
    refund_ids = {r["id"] for o in returns for r in o.get("refunds") or [] if isinstance(r, dict) and r.get("id")}
    var_ids = sorted({li.get("catalog_object_id") for o in returns for ret in o.get("returns") or []
                      for li in ret.get("return_line_items") or [] if li.get("catalog_object_id")})
    locations = sorted({o["location_id"] for o in returns if o.get("location_id")})
    times = []
    for order in returns:
        try:
            times.append(epoch(order.get("created_at")))
        except Unexpressible:
            continue
    found: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    if not refund_ids or not var_ids:
        return found
    body: dict[str, Any] = {"types": ["ADJUSTMENT"], "states": [RESTOCKED_STATE], "catalog_object_ids": var_ids,
                            "limit": 1000}
    if locations:
        body["location_ids"] = locations
    if times:
        body["updated_after"] = rfc3339(max(0.0, min(times) - SLACK_SECONDS))
    while True:
        data = await conn._call("POST", PATH, body)
        for change in expect_list(data, "changes", PATH):
            adj = change.get("adjustment") if isinstance(change, dict) else None
            if not isinstance(adj, dict) or adj.get("refund_id") not in refund_ids:
                continue
            if adj.get("to_state") != RESTOCKED_STATE or not adj.get("catalog_object_id"):
                continue
            try:
                found[(adj["refund_id"], adj["catalog_object_id"])] += decimal(adj.get("quantity"), "adjustment")
            except Unexpressible:
                conn._warn(f"square return: adjustment {adj.get('id')} has no readable quantity; not a restock")
        if not data.get("cursor"):
            return found
        body["cursor"] = data["cursor"]


def for_order(order: dict[str, Any], restocked: dict[tuple[str, str], Decimal]) -> dict[str, Decimal]:
    """Catalog object id -> units restocked by the refunds of one return order."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for refund in order.get("refunds") or []:
        for (refund_id, var_id), units in restocked.items():
            if refund_id == refund.get("id"):
                out[var_id] += units
    return out
