"""Current Business Central item inventory for reconciliation.

One read of the item list (``$select=number,type,inventory``, paged by ``@odata.nextLink``): BC
answers 20,000 items a page, so a company's whole catalogue is usually one call, fewer than one
``number eq`` filter per SKU would be. BC keeps one inventory figure per item here, reported under
``options.location`` (the same name pulls use); other locations and non-inventory items are absent.
"""

from __future__ import annotations

from typing import Any

from syncops.connectors import signals


async def read_levels(conn: Any, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    wanted = {sku for sku, loc in pairs if loc == conn.location}
    if not wanted:
        return {}
    rows = await conn.list_of(conn.company_url("items"), {"$select": "number,type,inventory"})
    out: dict[tuple[str, str], int | None] = {}
    for row in rows:
        number, qty = row.get("number"), row.get("inventory")
        if number not in wanted or row.get("type") not in (None, "Inventory"):
            continue
        if isinstance(qty, bool) or not isinstance(qty, (int, float)):
            raise signals.malformed("Business Central", f"item {str(number)[:40]!r} has no numeric inventory",
                                    status=200, excerpt=None)
        out[(number, conn.location)] = max(0, int(qty))  # what pulls report as available
    return out
