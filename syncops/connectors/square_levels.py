"""Read current Square stock for reconciliation: inventory counts batch-retrieve, filtered by
the variations and locations asked for (the same endpoint pulls use, without a watermark).

Kept out of square.py so the reconciliation read can change without touching delivery code.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from syncops.connectors import signals
from syncops.connectors.square_wire import EXCERPT, expect_list

PATH = "/v2/inventory/counts/batch-retrieve"
IDS_PER_CALL = 1000  # Square's cap on catalog_object_ids


async def read_levels(conn: Any, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """`available` per (sku, Square location id), in canonical terms (negative counts read as 0,
    as pulls do). A SKU Square's catalog does not know is absent; a known variation without a
    count at a location holds 0 there (Square reports no count for stock it never had)."""
    if not pairs:
        return {}
    await conn._resolve_skus({sku for sku, _ in pairs})
    by_var: dict[str, str] = {}
    for sku, _ in pairs:
        var_id = conn._id_by_sku.get(sku)
        if var_id:
            by_var[var_id] = sku
    locations = sorted({loc for _, loc in pairs})
    out: dict[tuple[str, str], int | None] = {(sku, loc): 0 for sku, loc in pairs if conn._id_by_sku.get(sku)}
    ids = sorted(by_var)
    for start in range(0, len(ids), IDS_PER_CALL):
        body: dict[str, Any] = {"catalog_object_ids": ids[start:start + IDS_PER_CALL], "location_ids": locations,
                                "states": ["IN_STOCK"], "limit": 1000}
        while True:
            data = await conn._call("POST", PATH, body)
            for count in expect_list(data, "counts", PATH):
                if not isinstance(count, dict):
                    continue
                key = (by_var.get(count.get("catalog_object_id") or ""), count.get("location_id"))
                if key not in out:
                    continue
                try:
                    qty = Decimal(str(count.get("quantity")))
                except InvalidOperation:
                    raise signals.malformed("Square", f"{PATH}: count quantity {count.get('quantity')!r} is not "
                                            "a number", status=200, excerpt=str(count)[:EXCERPT]) from None
                out[key] = max(int(qty), 0)
            if not data.get("cursor"):
                break
            body["cursor"] = data["cursor"]
    return out
