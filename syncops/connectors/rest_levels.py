"""Read current levels from a declarative REST endpoint, for reconciliation.

A REST API has no level lookup syncops could know of, but the endpoint's inventory pull says
how to list its stock: a pass of that pull without its incremental filter (every row, not
only those changed since some time), mapped exactly as a poll maps it, is what the system
holds. Kept out of rest.py so the reconciliation read can change without touching delivery code.
"""

from __future__ import annotations

from typing import Any

from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

MAX_PAGES = 10_000  # a pass that never ends is the API's bug, not a reason to loop for ever


async def read_levels(conn: Any, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """`available` per (sku, location) the listing shows; a pair it does not list is None (holds
    nothing). A row listed twice in one pass (it changed while we paged) counts as its newest."""
    if not pairs:
        return {}
    if "inventory" not in conn.spec.pulls:
        raise DeliveryError(Category.VALIDATION, "this rest endpoint declares no inventory pull, so its levels "
                            "cannot be read: add entities.inventory.pull to check it")
    newest: dict[tuple[str, str], tuple[float, int]] = {}
    cursor, pages = conn.WHOLE_LISTING, 0
    while True:
        page = await conn.pull("inventory", cursor, 1000)
        for change in page.changes:
            pair = (change.payload["sku"], change.payload["location_id"])
            if pair in pairs and (pair not in newest or change.changed_at >= newest[pair][0]):
                newest[pair] = (change.changed_at, int(change.payload["available"]))
        cursor, pages = page.cursor, pages + 1
        if not page.has_more:
            break
        if pages >= MAX_PAGES:
            raise DeliveryError(Category.MALFORMED, f"inventory listing did not end after {MAX_PAGES} pages")
    return {pair: newest[pair][1] if pair in newest else None for pair in pairs}
