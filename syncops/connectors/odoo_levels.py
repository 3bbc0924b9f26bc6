"""Read current Odoo stock for reconciliation: stock.quant search_read at internal locations.

Kept out of odoo.py so the reconciliation read can change without touching delivery code.
"""

from __future__ import annotations

from typing import Any

CHUNK = 200  # SKUs per search_read: keeps the domain (and the answer) a sane size


async def read_levels(conn: Any, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """`available` (quantity - reserved, never below 0, as pulls compute it) per (sku, location
    display name). Quants of one product at one location are summed (lots, packages)."""
    if not pairs:
        return {}
    skus = sorted({sku for sku, _ in pairs})
    locations = sorted({loc for _, loc in pairs})
    found: dict[tuple[str, str], float] = {}
    known: set[str] = set()
    for start in range(0, len(skus), CHUNK):
        chunk = skus[start:start + CHUNK]
        products = await conn._search_read("product.product", [["default_code", "in", chunk]],
                                           ["id", "default_code"], context={"active_test": False})
        sku_of = {p["id"]: p["default_code"] for p in products if p.get("default_code")}
        known.update(sku_of.values())
        if not sku_of:
            continue
        quants = await conn._search_read(
            "stock.quant", [["product_id", "in", sorted(sku_of)], ["location_id.usage", "=", "internal"]],
            ["id", "product_id", "location_id", "quantity", "reserved_quantity"])
        for q in quants:
            product, location = q.get("product_id"), q.get("location_id")
            if not isinstance(product, list) or not isinstance(location, list) or len(location) < 2:
                continue
            key = (sku_of.get(product[0]), location[1])
            if key in pairs:
                free = float(q.get("quantity") or 0) - float(q.get("reserved_quantity") or 0)
                found[key] = found.get(key, 0.0) + free
    out: dict[tuple[str, str], int | None] = {}
    for sku, loc in pairs:
        if (sku, loc) in found:
            out[(sku, loc)] = max(0, int(found[(sku, loc)]))
        elif sku in known and loc in locations:
            out[(sku, loc)] = 0  # a product with no quant at a location has none there
    return out
