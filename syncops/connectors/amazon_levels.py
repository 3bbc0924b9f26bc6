"""Current Amazon stock for reconciliation.

- MFN (a location in ``options.locations``): ``getListingsItem`` with
  ``includedData=fulfillmentAvailability``, the quantity of that fulfillment channel code.
- FBA (``options.fba_location``): ``getInventorySummaries`` by ``sellerSkus`` (50 per call),
  ``fulfillableQuantity``.

Unknown SKUs (404, no listing) and locations are absent, as for the other connectors.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from syncops.connectors.amazon_listings import DEFAULT_LOCATIONS
from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

SKUS_PER_CALL = 50  # getInventorySummaries sellerSkus maxItems


async def read_levels(conn: Any, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    locations = {str(k): str(v) for k, v in (conn.options.get("locations") or DEFAULT_LOCATIONS).items()}
    fba = str(conn.options.get("fba_location", "amazon-fba"))
    out: dict[tuple[str, str], int | None] = {}
    mfn = sorted((sku, loc) for sku, loc in pairs if loc in locations)
    seller = conn.options.get("seller_id")
    for sku, loc in mfn if seller else []:
        try:
            resp = await conn._request("GET", f"listings/2021-08-01/items/{quote(seller, safe='')}/{quote(sku, safe='')}",
                                       "getListingsItem", params={"marketplaceIds": conn.marketplace,
                                                                  "includedData": "fulfillmentAvailability"})
        except DeliveryError as exc:
            if exc.category == Category.VALIDATION and exc.status == 404:
                continue
            raise
        item = conn._json(resp, "getListingsItem")
        rows = item.get("fulfillmentAvailability") if isinstance(item, dict) else None
        for row in rows or []:
            if isinstance(row, dict) and row.get("fulfillmentChannelCode") == locations[loc] \
                    and type(row.get("quantity")) is int:
                out[(sku, loc)] = max(row["quantity"], 0)
    skus = sorted({sku for sku, loc in pairs if loc == fba})
    for start in range(0, len(skus), SKUS_PER_CALL):
        params = {"details": "true", "granularityType": "Marketplace", "granularityId": conn.marketplace,
                  "marketplaceIds": conn.marketplace, "sellerSkus": ",".join(skus[start:start + SKUS_PER_CALL])}
        token = None
        while True:
            resp = await conn._request("GET", "fba/inventory/v1/summaries", "getInventorySummaries",
                                       params={**params, **({"nextToken": token} if token else {})})
            _, rows = conn._payload(resp, "getInventorySummaries", "inventorySummaries")
            for row in rows:
                qty = (row.get("inventoryDetails") or {}).get("fulfillableQuantity")
                if row.get("sellerSku") in skus and type(qty) is int:
                    out[(row["sellerSku"], fba)] = max(qty, 0)
            page = resp.json().get("pagination") if isinstance(resp.json(), dict) else None
            token = page.get("nextToken") if isinstance(page, dict) else None
            if not token:
                break
    return out
