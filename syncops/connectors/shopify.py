"""Shopify Admin GraphQL connector: inventory and prices out, web orders in.

Inventory uses `inventorySetQuantities` (absolute levels) with the 2026-04 rules: every
mutation carries `@idempotent(key:)`, every quantity carries `changeFromQuantity`
(the last level syncops set, or an explicit null to overwrite). Shopify applies a mutation
atomically, so one bad item rejects the whole batch; the connector then resends the good
items in a follow-up mutation within the same push so one bad SKU never blocks the rest.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import httpx

from syncops.connectors import signals
from syncops.connectors.base import CallInfo, Delivery, ItemResult, PullPage, SourceChange
from syncops.connectors.errors import DeliveryError
from syncops.connectors.shopify_refunds import pull_returns
from syncops.connectors.shopify_orders import ORDERS_QUERY, OrdersCursor, epoch, later, to_sales_order
from syncops.connectors.shopify_payouts import pull_settlements
from syncops.connectors.shopify_transport import DEFAULT_VERSION, ShopifyTransport
from syncops.store.categories import Category

MAX_BATCH = 250

LOOKUP_ITEMS = """
query SyncopsItems($first: Int!, $query: String!) {
  inventoryItems(first: $first, query: $query) {
    nodes { id sku variant { id product { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
LOOKUP_LOCATIONS = """
query SyncopsLocations($first: Int!, $after: String) {
  locations(first: $first, after: $after) { nodes { id name isActive } pageInfo { hasNextPage endCursor } }
}
"""
READ_LEVELS = """
query SyncopsLevels($first: Int!, $query: String!) {
  inventoryItems(first: $first, query: $query) {
    nodes { id sku inventoryLevels(first: 250) { nodes { location { id name } quantities(names: ["available"]) { name quantity } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
SHOP_QUERY = "query SyncopsShop { shop { name currencyCode } }"
SET_QUANTITIES = """
mutation SyncopsSetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) @idempotent(key: %s) {
    inventoryAdjustmentGroup { id reason referenceDocumentUri changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}
"""
BULK_UPDATE = """
mutation SyncopsPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants, allowPartialUpdates: true) {
    productVariants { id price compareAtPrice }
    userErrors { code field message }
  }
}
"""

_STALE_CODES = {"CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE"}
_CONFLICT_CODES = _STALE_CODES | {"IDEMPOTENCY_KEY_PARAMETER_MISMATCH", "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"}
_RETRY_CODES = {"IDEMPOTENCY_CONCURRENT_REQUEST"}
_MISSING_CODES = {"INVALID_INVENTORY_ITEM", "PRODUCT_VARIANT_DOES_NOT_EXIST", "PRODUCT_DOES_NOT_EXIST"}


@dataclass(frozen=True)
class _Sku:
    item_id: str
    variant_id: str | None
    product_id: str | None


@dataclass
class _Work:
    """One delivery on its way to a mutation."""

    index: int  # position in the push's delivery list
    delivery: Delivery
    sku: str
    location: str  # inventory: location name; price: unused
    value: dict[str, Any]  # the vendor-side input for this item
    rebased: bool = False  # changeFromQuantity was re-read from the target after a stale answer

    @property
    def key(self) -> str:
        # A re-read baseline changes the mutation's parameters, so it needs a key of its own
        # (Shopify refuses a reused key with other parameters).
        base = self.delivery.delivery_key
        return f"{base}:from{self.value['changeFromQuantity']}" if self.rebased else base


def _user_error(err: dict[str, Any], what: str) -> DeliveryError:
    code = str(err.get("code") or "")
    message = f"{what}: {code or 'error'}: {err.get('message', '')}"[:400]
    excerpt = json.dumps(err)[:500]
    if code in _CONFLICT_CODES:
        category = Category.CONFLICT
    elif code in _RETRY_CODES:
        return DeliveryError(Category.RATE_LIMIT, message, status=200, retry_after=1.0,
                             response_excerpt=excerpt, vendor_code=code)
    else:
        category = Category.VALIDATION
    return DeliveryError(category, message, status=200, response_excerpt=excerpt, vendor_code=code)


def _error_index(err: dict[str, Any], list_name: str) -> int | None:
    """['input', 'quantities', '3', 'changeFromQuantity'] -> 3 (None when not item-specific)."""
    field = err.get("field") or []
    for pos, part in enumerate(field[:-1]):
        if part == list_name:
            try:
                return int(field[pos + 1])
            except (TypeError, ValueError):
                return None
    return None


def _rounds(work: list[_Work], ident: Callable[[_Work], Any], size: int) -> list[list[_Work]]:
    """Split into mutations of at most `size`, never with one target twice (later one wins)."""
    groups: list[list[_Work]] = []
    current: list[_Work] = []
    seen: set[Any] = set()
    for w in work:
        if len(current) >= size or ident(w) in seen:
            groups.append(current)
            current, seen = [], set()
        current.append(w)
        seen.add(ident(w))
    if current:
        groups.append(current)
    return groups


def idempotency_key(deliveries: Iterable[Delivery | str]) -> str:
    """The delivery key for one delivery; a hash of the sorted keys for a batch.

    A retried identical batch replays; any other combination gets a new key. Shopify keys
    whole mutations, not items, so this alone cannot recognise a record replayed in another
    batch: the compare-and-swap read-back does (see `_settle_stale`).
    """
    keys = sorted(d if isinstance(d, str) else d.delivery_key for d in deliveries)
    if len(keys) == 1:
        return keys[0]
    return "syncops-batch-" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:40]


def _levels_of(node: Any) -> list[tuple[str, int]]:
    """(location name, available) pairs of one inventory item node, strictly typed."""
    if not isinstance(node, dict) or not isinstance(node.get("sku"), str):
        return []
    levels = node.get("inventoryLevels")
    rows = levels.get("nodes") if isinstance(levels, dict) else None
    out = []
    for row in rows if isinstance(rows, list) else []:
        loc = row.get("location") if isinstance(row, dict) else None
        name = loc.get("name") if isinstance(loc, dict) else None
        for q in row.get("quantities") or [] if isinstance(row, dict) else []:
            qty = q.get("quantity") if isinstance(q, dict) else None
            if isinstance(name, str) and q.get("name") == "available" and type(qty) is int and abs(qty) < 10**12:
                out.append((name, qty))
    return out


class ShopifyConnector:
    kind = "shopify"
    pull_entities = frozenset({"order", "return", "settlement"})
    push_entities = frozenset({"inventory", "price"})
    max_batch = MAX_BATCH

    def __init__(self, base_url: str, secret: str, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time, options: dict | None = None) -> None:
        self.options = dict(options or {})
        self.clock = clock
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=10.0, limits=httpx.Limits(max_keepalive_connections=5))
        self._api = ShopifyTransport(base_url, secret, self._client, self.options.get("api_version", DEFAULT_VERSION),
                                     ceiling=signals.ceiling_of(self.options))
        self._skus: dict[str, _Sku] = {}
        self._locations: dict[str, str] = {}  # name -> gid
        self._currency: str | None = None
        self.warnings: list[str] = []  # objects skipped as having no canonical form

    # ------------------------------------------------------------------ protocol

    def last_call(self) -> CallInfo:
        return self._api.last

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def check_auth(self) -> str:
        shop = (await self._api.call(SHOP_QUERY)).get("shop") or {}
        self._currency = shop.get("currencyCode") or self._currency
        return f"Shopify shop {shop.get('name')!r} ({shop.get('currencyCode')}), API {self._api.version}"

    async def pull(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        if entity == "settlement":  # Shopify Payments payouts, see shopify_payouts.py
            return await pull_settlements(self, cursor, limit)
        if entity == "return":  # refunds on orders, see shopify_refunds.py
            return await pull_returns(self, cursor, limit)
        if entity != "order":
            raise DeliveryError(Category.VALIDATION, f"Shopify connector cannot pull {entity!r}")
        state = OrdersCursor.load(cursor, self.options.get("orders_since", OrdersCursor().watermark))
        first = max(1, min(int(limit), MAX_BATCH))
        try:
            data = await self._api.call(ORDERS_QUERY, {"first": first, "after": state.after, "query": state.search()})
        except DeliveryError as exc:
            if not (state.after and exc.category == Category.VALIDATION and "cursor" in exc.message.lower()):
                raise
            # Shopify rejected the page cursor (expired, sort changed): restart from the watermark.
            state = OrdersCursor(watermark=state.watermark)
            data = await self._api.call(ORDERS_QUERY, {"first": first, "after": None, "query": state.search()})
        connection = data.get("orders")
        if not isinstance(connection, dict) or not isinstance(connection.get("edges"), list):
            raise DeliveryError(Category.UNKNOWN, "Shopify orders response has no edges",
                                response_excerpt=self._api.excerpt(json.dumps(data)))
        location = self.options.get("order_location", "web")
        changes, high = [], state.high
        for edge in connection["edges"]:
            node = edge.get("node") or {}
            updated = node.get("updatedAt")
            if not node.get("id") or not updated:
                raise DeliveryError(Category.UNKNOWN, "Shopify order without id or updatedAt",
                                    response_excerpt=self._api.excerpt(json.dumps(node)))
            changes.append(self._order_change(node, location))
            high = later(high, updated)
        info = connection.get("pageInfo") or {}
        if info.get("hasNextPage") and info.get("endCursor"):
            nxt = OrdersCursor(watermark=state.watermark, after=info["endCursor"], high=high)
            return PullPage(changes=changes, cursor=nxt.dump(), has_more=True)
        # Inclusive overlap: the next poll re-reads the newest second; idempotency keys drop repeats.
        return PullPage(changes=changes, cursor=OrdersCursor(watermark=high or state.watermark).dump(),
                        has_more=False)

    @staticmethod
    def _order_change(node: dict[str, Any], location: str) -> SourceChange:
        payload = to_sales_order(node, location)
        return SourceChange(
            idempotency_key=f"shop:order:{node['id']}:{node['updatedAt']}",
            entity_key=str(payload["order_number"]),
            payload=payload, source_payload=node, changed_at=epoch(node["updatedAt"]),
        )

    async def fetch_order(self, order_id: str | int) -> SourceChange | None:
        """One order as the poll would read it (a webhook names it; this completes the record).

        `order_id` is the numeric id or the gid; None when Shopify has no such order."""
        number = str(order_id).rsplit("/", 1)[-1]
        data = await self._api.call(ORDERS_QUERY, {"first": 1, "after": None, "query": f"id:{number}"})
        edges = ((data.get("orders") or {}).get("edges") or []) if isinstance(data, dict) else []
        for edge in edges:
            node = edge.get("node") or {}
            if str(node.get("id", "")).rsplit("/", 1)[-1] == number and node.get("updatedAt"):
                return self._order_change(node, self.options.get("order_location", "web"))
        return None

    async def push(self, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
        if entity == "inventory":
            return await self._push(deliveries, self._inventory_work, self._set_quantities,
                                    lambda w: (w.sku, w.location))
        if entity == "price":
            return await self._push(deliveries, self._price_work, self._bulk_update, lambda w: w.sku)
        raise DeliveryError(Category.VALIDATION, f"Shopify connector cannot push {entity!r}")

    # ------------------------------------------------------------------ push machinery

    async def _push(self, deliveries, prepare, send, ident) -> list[ItemResult]:
        results: dict[int, ItemResult] = {}
        work = await prepare(deliveries, results)
        try:
            for group in _rounds(work, ident, MAX_BATCH):
                pending = group
                while pending:
                    failed = await send(pending, results)
                    # Atomic mutation: if anything failed, nothing was applied; resend the rest.
                    pending = [w for w in pending if w.index not in results] if failed else []
        except DeliveryError as exc:
            if not results:
                raise  # nothing decided, nothing applied: the whole call failed
            # Some items are settled already; the rest share this failure (usually retryable).
            for w in work:
                if w.index not in results:
                    self._fail(results, w, exc)
        return [results[i] for i in range(len(deliveries))]

    def _fail(self, results: dict[int, ItemResult], w_or_d: _Work | tuple[int, Delivery],
              error: DeliveryError, summary: str = "") -> None:
        index, delivery = (w_or_d.index, w_or_d.delivery) if isinstance(w_or_d, _Work) else w_or_d
        results[index] = ItemResult(delivery.record_id, error=error, status=error.status,
                                    request_summary=summary, response_excerpt=error.response_excerpt or "")

    async def _resolve_skus(self, skus: set[str]) -> None:
        """Batch lookup of SKUs not cached yet; misses stay uncached (the SKU may appear later)."""
        missing = sorted(s for s in skus if s not in self._skus)
        for start in range(0, len(missing), MAX_BATCH):
            chunk = missing[start:start + MAX_BATCH]
            search = " OR ".join(f"sku:'{s}'" if "'" not in s else f'sku:"{s}"' for s in chunk if '"' not in s)
            if not search:
                continue
            # Room for a few duplicate SKUs without paying for a full 250-node page.
            first = min(MAX_BATCH, 2 * len(chunk))
            data = await self._api.call(LOOKUP_ITEMS, {"first": first, "query": search})
            for node in ((data.get("inventoryItems") or {}).get("nodes") or []):
                variant = node.get("variant") or {}
                if node.get("sku") in chunk and node.get("id"):
                    self._skus[node["sku"]] = _Sku(node["id"], variant.get("id"),
                                                   (variant.get("product") or {}).get("id"))

    async def _resolve_locations(self, names: set[str]) -> None:
        if names <= self._locations.keys():
            return
        found: dict[str, str] = {}
        after = None
        while True:
            data = await self._api.call(LOOKUP_LOCATIONS, {"first": 50, "after": after})
            connection = data.get("locations") or {}
            found.update({n["name"]: n["id"] for n in connection.get("nodes") or [] if n.get("name") and n.get("id")})
            info = connection.get("pageInfo") or {}
            if not (info.get("hasNextPage") and info.get("endCursor")):
                break
            after = info["endCursor"]
        self._locations = found

    # -- inventory

    async def _inventory_work(self, deliveries: list[Delivery], results: dict[int, ItemResult]) -> list[_Work]:
        parsed = []
        for i, d in enumerate(deliveries):
            p = d.payload
            sku, loc, qty = p.get("sku"), p.get("location_id"), p.get("available")
            if not isinstance(sku, str) or not isinstance(loc, str) or type(qty) is not int or qty < 0:
                self._fail(results, (i, d), DeliveryError(
                    Category.VALIDATION, f"inventory payload needs sku, location_id and available >= 0, got "
                    f"sku={sku!r} location_id={loc!r} available={qty!r}"))
                continue
            prev = (d.expected_previous or {}).get("available")
            parsed.append((i, d, sku, loc, qty, prev if type(prev) is int else None))
        await self._resolve_skus({p[2] for p in parsed})
        await self._resolve_locations({p[3] for p in parsed})
        work = []
        for i, d, sku, loc, qty, prev in parsed:
            if sku not in self._skus:
                self._fail(results, (i, d), DeliveryError(
                    Category.VALIDATION, f"SKU {sku!r} has no inventory item in Shopify"))
            elif loc not in self._locations:
                self._fail(results, (i, d), DeliveryError(
                    Category.VALIDATION, f"location {loc!r} not found in Shopify "
                    f"(known: {', '.join(sorted(self._locations)) or 'none'})"))
            else:
                work.append(_Work(i, d, sku, loc, {
                    "inventoryItemId": self._skus[sku].item_id, "locationId": self._locations[loc],
                    "quantity": qty, "changeFromQuantity": prev}))  # None is sent as explicit null
        return work

    async def _set_quantities(self, pending: list[_Work], results: dict[int, ItemResult]) -> bool:
        """One atomic mutation; returns True when some item failed (so nothing was applied)."""
        ordered = sorted(pending, key=lambda w: w.delivery.delivery_key)  # same batch -> same variables
        key = idempotency_key(w.key for w in ordered)
        first = ordered[0].delivery.record_id
        uri = f"gid://syncops/Record/{first}" + (f"?batch={len(ordered)}" if len(ordered) > 1 else "")
        variables = {"input": {"name": "available", "reason": "correction", "referenceDocumentUri": uri,
                               "quantities": [w.value for w in ordered]}}
        data = await self._api.call(SET_QUANTITIES % json.dumps(key), variables, write=True)
        payload = data.get("inventorySetQuantities")
        if not isinstance(payload, dict) or not isinstance(payload.get("userErrors"), list):
            raise signals.malformed("Shopify", "inventorySetQuantities has no userErrors list", status=200,
                                    excerpt=self._api.excerpt(json.dumps(data)), applied_if_write=True)

        def summary(w: _Work) -> str:
            return (f"inventorySetQuantities key={key} {w.sku}@{w.location} -> {w.value['quantity']} "
                    f"(changeFrom {w.value['changeFromQuantity']})")

        failed = False
        stale: dict[int, _Work] = {}
        for err in payload["userErrors"]:
            failed = True
            if not isinstance(err, dict):
                continue
            index = _error_index(err, "quantities")
            targets = [ordered[index]] if index is not None and 0 <= index < len(ordered) else ordered
            for w in targets:
                if w.index in results:
                    continue
                if err.get("code") in _STALE_CODES and index is not None:
                    stale[w.index] = w  # decided below, after reading what Shopify holds
                    continue
                if err.get("code") in _MISSING_CODES:
                    self._skus.pop(w.sku, None)  # deleted in Shopify: look it up again next time
                self._fail(results, w, _user_error(err, f"{w.sku}@{w.location}"), summary(w))
        if stale:
            await self._settle_stale(list(stale.values()), results, summary)
        if failed:
            return True
        group = payload.get("inventoryAdjustmentGroup") if isinstance(payload.get("inventoryAdjustmentGroup"),
                                                                       dict) else {}
        changes = group.get("changes") if isinstance(group.get("changes"), list) else []
        for pos, w in enumerate(ordered):
            excerpt = json.dumps(changes[pos])[:500] if pos < len(changes) else ""
            ref = group.get("id") if isinstance(group.get("id"), str) else w.value["inventoryItemId"]
            results[w.index] = ItemResult(w.delivery.record_id, target_ref=ref, status=200,
                                          request_summary=summary(w), response_excerpt=excerpt)
        return False

    async def _settle_stale(self, stale: list[_Work], results: dict[int, ItemResult],
                            summary: Callable[[_Work], str]) -> None:
        """Shopify holds something other than the baseline we sent. Read it back and decide:
        our own value (this record applied earlier, its answer lost) -> delivered; a value an
        earlier record of ours may have put there -> send again from it; anything else -> a
        conflict for a human, naming every value involved."""
        held = await self.read_levels({(w.sku, w.location) for w in stale})
        for w in stale:
            observed = held.get((w.sku, w.location))
            intended, sent_from = w.value["quantity"], w.value["changeFromQuantity"]
            where = f"{w.sku}@{w.location}"
            if observed == intended:
                results[w.index] = ItemResult(
                    w.delivery.record_id, target_ref=w.value["inventoryItemId"], status=200,
                    request_summary=summary(w), response_excerpt=f"read back available={observed}",
                    note=f"already at target: Shopify holds {observed} at {where} (read back after a stale "
                         "compare-and-swap)")
                continue
            ours = {p.get("available") for p in w.delivery.possible_previous}
            if observed is not None and observed in ours and not w.rebased:
                w.value["changeFromQuantity"] = observed
                w.rebased = True  # resent in the next round of this push
                continue
            if observed is None:
                message = f"{where}: compare-and-swap stale and the level could not be read back"
            else:
                believed = "had delivered nothing yet" if sent_from is None else f"last delivered {sent_from}"
                message = (f"{where}: compare-and-swap stale: Shopify holds {observed}, syncops {believed} "
                           f"and intends {intended}; something else changed it. Retry to overwrite with "
                           f"{intended}, or resolve to keep {observed}")
            self._fail(results, w, DeliveryError(Category.CONFLICT, message[:400], status=200,
                                                 vendor_code="CHANGE_FROM_QUANTITY_STALE"), summary(w))

    async def read_levels(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        """Current `available` per (sku, location name), read from Shopify; missing -> absent."""
        out: dict[tuple[str, str], int | None] = {}
        skus = sorted({sku for sku, _ in pairs})
        for start in range(0, len(skus), 50):
            chunk = [s for s in skus[start:start + 50] if '"' not in s]
            search = " OR ".join(f"sku:'{s}'" if "'" not in s else f'sku:"{s}"' for s in chunk)
            if not search:
                continue
            data = await self._api.call(READ_LEVELS, {"first": min(MAX_BATCH, 2 * len(chunk)), "query": search})
            nodes = (data.get("inventoryItems") or {}).get("nodes") if isinstance(data.get("inventoryItems"),
                                                                                dict) else None
            if not isinstance(nodes, list):
                raise signals.malformed("Shopify", "inventoryItems.nodes is not a list", status=200,
                                        excerpt=self._api.excerpt(json.dumps(data)))
            for node in nodes:
                for loc, qty in _levels_of(node):
                    if (node.get("sku"), loc) in pairs:
                        out[(node["sku"], loc)] = qty
        return out

    # -- prices

    async def _price_work(self, deliveries: list[Delivery], results: dict[int, ItemResult]) -> list[_Work]:
        parsed = []
        for i, d in enumerate(deliveries):
            p = d.payload
            sku, amount = p.get("sku"), p.get("amount")
            if not isinstance(sku, str) or amount is None:
                self._fail(results, (i, d), DeliveryError(
                    Category.VALIDATION, f"price payload needs sku and amount, got sku={sku!r} amount={amount!r}"))
                continue
            parsed.append((i, d, sku))
        if parsed and self._currency is None:
            self._currency = ((await self._api.call(SHOP_QUERY)).get("shop") or {}).get("currencyCode")
        await self._resolve_skus({p[2] for p in parsed})
        work = []
        for i, d, sku in parsed:
            currency = d.payload.get("currency")
            info = self._skus.get(sku)
            if info is None or not info.variant_id or not info.product_id:
                self._fail(results, (i, d), DeliveryError(
                    Category.VALIDATION, f"SKU {sku!r} has no variant in Shopify"))
            elif self._currency and currency and currency != self._currency:
                self._fail(results, (i, d), DeliveryError(
                    Category.VALIDATION, f"price for {sku!r} is in {currency} but the Shopify shop sells in "
                    f"{self._currency}"))
            else:
                value = {"id": info.variant_id, "price": str(d.payload["amount"])}
                if "compare_at" in d.payload:
                    ca = d.payload["compare_at"]
                    value["compareAtPrice"] = None if ca is None else str(ca)
                work.append(_Work(i, d, sku, info.product_id, value))
        # One mutation per product (the API takes one productId); keep products together.
        work.sort(key=lambda w: w.location)
        return work

    async def _bulk_update(self, pending: list[_Work], results: dict[int, ItemResult]) -> bool:
        # The price mutation is per product: send the first product's items, leave the rest pending.
        product = pending[0].location
        batch = [w for w in pending if w.location == product]
        data = await self._api.call(BULK_UPDATE, {"productId": product, "variants": [w.value for w in batch]})
        payload = data.get("productVariantsBulkUpdate")
        if not isinstance(payload, dict) or not isinstance(payload.get("userErrors"), list):
            raise DeliveryError(Category.UNKNOWN, "productVariantsBulkUpdate returned no payload",
                                response_excerpt=self._api.excerpt(json.dumps(data)))

        def summary(w: _Work) -> str:
            return f"productVariantsBulkUpdate {w.sku} ({w.value['id']}) price={w.value['price']}"

        for err in payload["userErrors"]:
            index = _error_index(err, "variants")
            targets = [batch[index]] if index is not None and 0 <= index < len(batch) else batch
            for w in targets:
                if w.index not in results:
                    if err.get("code") in _MISSING_CODES:
                        self._skus.pop(w.sku, None)
                    self._fail(results, w, _user_error(err, w.sku), summary(w))
        # allowPartialUpdates: the items without errors were applied.
        for w in batch:
            if w.index not in results:
                results[w.index] = ItemResult(w.delivery.record_id, target_ref=w.value["id"], status=200,
                                              request_summary=summary(w))
        return len(batch) < len(pending)  # more products still pending
