"""Read current BigCommerce stock for reconciliation: GET /v3/inventory/items per location.

Kept out of bigcommerce.py so the reconciliation read can change without touching delivery code.
"""

from __future__ import annotations

from typing import Any

PATH = "v3/inventory/items"
SKUS_PER_CALL = 50  # keeps the sku:in query string well under URL limits


async def read_levels(conn: Any, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """`available_to_sell` per (sku, location as the flow names it: options.locations key, store
    location code/label, or numeric id, resolved the way pushes resolve it). Unknown SKUs or
    locations are absent."""
    if not pairs:
        return {}
    loc_ids: dict[str, int] = {}
    for loc in sorted({loc for _, loc in pairs}):
        resolved = await conn._location_id(loc)
        if resolved is not None:
            loc_ids[loc] = resolved
    if not loc_ids:
        return {}
    by_id: dict[int, list[str]] = {}
    for name, lid in loc_ids.items():
        by_id.setdefault(lid, []).append(name)
    skus = sorted({sku for sku, _ in pairs})
    out: dict[tuple[str, str], int | None] = {}
    for start in range(0, len(skus), SKUS_PER_CALL):
        page = 1
        while True:
            params = {"sku:in": ",".join(skus[start:start + SKUS_PER_CALL]),
                      "location_id:in": ",".join(str(i) for i in sorted(by_id)), "page": page, "limit": 250}
            data = conn._json(await conn._request("GET", PATH, params=params), f"GET /{PATH}")
            rows = data.get("data") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                raise conn._shape(f"GET /{PATH}", data)
            for row in rows:
                sku = ((row or {}).get("identity") or {}).get("sku") if isinstance(row, dict) else None
                for level in row.get("locations") or [] if isinstance(row, dict) else []:
                    qty = level.get("available_to_sell") if isinstance(level, dict) else None
                    for name in by_id.get(level.get("location_id"), []) if isinstance(level, dict) else []:
                        if (sku, name) in pairs and type(qty) is int:
                            out[(sku, name)] = max(qty, 0)
            pages = ((data.get("meta") or {}).get("pagination") or {}).get("total_pages") or 1
            if page >= pages:
                break
            page += 1
    return out
