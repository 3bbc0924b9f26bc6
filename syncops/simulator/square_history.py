"""Square inventory history for the simulator: the InventoryChange records behind every count.

Square keeps each stock movement as an `InventoryChange` (type ADJUSTMENT or PHYSICAL_COUNT) and
serves them at POST /v2/inventory/changes/batch-retrieve, oldest first by `occurred_at`. A sale
moves units IN_STOCK -> SOLD (with `transaction_id`); a return moves them out of SOLD again, back
to IN_STOCK when the goods are restocked or to WASTE when they are not, with `refund_id` naming
the refund of the return. That is the only record of a restock Square has: OrderReturn carries no
restock flag. Request fields and limits follow BatchRetrieveInventoryChangesRequest in the Square
OpenAPI (catalog_object_ids, location_ids, types, states, updated_after, updated_before, cursor,
limit 1..1000); `types` may not name TRANSFER (the spec: "values other than TRANSFER").
"""

from __future__ import annotations

from typing import Any, Callable

FIELDS = {"catalog_object_ids", "location_ids", "types", "states", "updated_after", "updated_before",
          "cursor", "limit"}
TYPES = ("PHYSICAL_COUNT", "ADJUSTMENT")
STATES = {"CUSTOM", "IN_STOCK", "SOLD", "RETURNED_BY_CUSTOMER", "RESERVED_FOR_SALE", "SOLD_ONLINE",
          "ORDERED_FROM_VENDOR", "RECEIVED_FROM_VENDOR", "IN_TRANSIT_TO", "NONE", "WASTE", "UNLINKED_RETURN",
          "COMPOSED", "DECOMPOSED", "SUPPORTED_BY_NEWER_VERSION", "IN_TRANSIT"}


class InventoryHistory:
    """Append-only list of InventoryChange objects, each kept with its time in epoch ms."""

    def __init__(self, rfc3339: Callable[[float], str]) -> None:
        self._rfc3339 = rfc3339
        self._rows: list[tuple[int, dict[str, Any]]] = []

    def adjustment(self, var_id: str, loc: str, qty: str, from_state: str, to_state: str, now: float,
                   **links: Any) -> dict[str, Any]:
        """Record one ADJUSTMENT; `links` are transaction_id, refund_id, total_price_money, ..."""
        at = self._rfc3339(now)
        record = {"id": f"ADJ-{len(self._rows) + 1:06d}", "from_state": from_state, "to_state": to_state,
                  "location_id": loc, "catalog_object_id": var_id, "catalog_object_type": "ITEM_VARIATION",
                  "quantity": qty, "occurred_at": at, "created_at": at,
                  "source": {"product": "SQUARE_POS", "name": "Square Point of Sale"},
                  **{k: v for k, v in links.items() if v is not None}}
        return self.add("ADJUSTMENT", record, now)

    def add(self, kind: str, record: dict[str, Any], now: float) -> dict[str, Any]:
        change = {"type": kind, kind.lower(): dict(record)}
        self._rows.append((round(now * 1000), change))
        return change

    def retrieve(self, body: dict[str, Any], *, bad: Callable[..., Any], parse_ms: Callable[[str], int],
                 page: Callable[[list[Any], int], tuple[list[Any], str | None]]) -> dict[str, Any]:
        """The answer to batch-retrieve; `bad(code, detail, field)` raises the 400 to send."""
        for name in body:
            if name not in FIELDS:
                bad("UNKNOWN_BODY_PARAMETER", f"Unknown field {name!r}.", name)
        limit = body.get("limit", 1000)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            bad("INVALID_VALUE", "limit must be an integer from 1 to 1000.", "limit")
        types = body.get("types") or list(TYPES)
        for t in types:
            if t not in TYPES:
                bad("INVALID_ENUM_VALUE", f"types may only contain {', '.join(TYPES)}.", "types")
        states = set(body.get("states") or [])
        if states - STATES:
            bad("INVALID_ENUM_VALUE", f"Unknown inventory state(s) {sorted(states - STATES)}.", "states")
        bounds = {}
        for name in ("updated_after", "updated_before"):
            if body.get(name) is not None:
                try:
                    bounds[name] = parse_ms(str(body[name]))
                except ValueError:
                    bad("INVALID_TIME", "Expected an RFC 3339 timestamp.", name)
        ids = set(body.get("catalog_object_ids") or []) or None
        locs = set(body.get("location_ids") or []) or None
        rows = []
        for ms, change in sorted(self._rows, key=lambda r: r[0]):  # oldest first, as Square serves
            record = change[change["type"].lower()]
            if change["type"] not in types or (ids and record["catalog_object_id"] not in ids):
                continue
            if locs and record["location_id"] not in locs:
                continue
            # `states` filters ADJUSTMENT results only; an adjustment matches on either side of it.
            if states and change["type"] == "ADJUSTMENT" and not {record["from_state"], record["to_state"]} & states:
                continue
            if ms <= bounds.get("updated_after", -1) or ("updated_before" in bounds and ms >= bounds["updated_before"]):
                continue
            rows.append(change)
        got, cursor = page(rows, limit)
        return {"changes": [dict(c) for c in got], **({"cursor": cursor} if cursor else {})}
