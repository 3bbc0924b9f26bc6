"""Square connector: POS inventory, sales and returns in; absolute stock counts out.

Incremental reads use a watermark that only moves once a pass has been read to its last page:
inventory counts come newest-first, so the newest time of a pass is known only at the end, and a
Square cursor is valid only with the exact original body, which therefore must not change
mid-pass. Overlap (`overlap_seconds`) re-reads the edge of the previous pass; the idempotency
keys make those repeats harmless.

Options: `location_ids` (Square ids to read; default all active locations), `overlap_seconds`
(default 1.0), `initial_watermark` (epoch seconds or RFC 3339; default the epoch = full history),
`square_version` (default 2025-08-20).
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import httpx

from syncops.connectors import signals
from syncops.connectors.base import CallInfo, Delivery, ItemResult, PullPage, SourceChange
from syncops.connectors.errors import DeliveryError
from syncops.connectors.square_payouts import pull_settlements
from syncops.connectors.square_restock import for_order, restocked_units
from syncops.connectors.square_convert import (
    Unexpressible, epoch, inventory_change, return_refund, rfc3339, sales_order,
)
from syncops.connectors.square_wire import (
    CHANGE_INDEX, EXCERPT, FIELD_INDEX, MAX_WARNINGS, SQUARE_VERSION, PullState, classify, expect_list,
    item_category, rebind_key, request_key,
)
from syncops.store.categories import Category


class SquareConnector:
    kind = "square"
    pull_entities = frozenset({"inventory", "order", "return", "settlement"})
    push_entities = frozenset({"inventory"})
    max_batch = 100  # Square's cap on changes per batch-create

    def __init__(self, base_url: str, secret: str, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time, options: dict[str, Any] | None = None) -> None:
        options = dict(options or {})
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=10.0)
        self._headers = {
            "Authorization": f"Bearer {secret}",
            "Square-Version": str(options.get("square_version") or SQUARE_VERSION),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self.location_ids: list[str] | None = list(options["location_ids"]) if options.get("location_ids") else None
        self.overlap = float(options.get("overlap_seconds", 1.0))
        self.ceiling = signals.ceiling_of(options)
        start = options.get("initial_watermark", 0)
        self.initial_watermark = rfc3339(epoch(start) if isinstance(start, str) else float(start))
        self.warnings: list[str] = []
        self._sku_by_id: dict[str, str] = {}
        self._id_by_sku: dict[str, str] = {}
        self._tender_types: dict[str, str] = {}
        self._active_locations: list[str] | None = None  # read once; restart the engine after adding a store
        self._last = CallInfo()

    # ------------------------------------------------------------------ protocol

    def last_call(self) -> CallInfo:
        return self._last

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def check_auth(self) -> str:
        locations = await self._locations()
        names = ", ".join(str(loc.get("name") or loc.get("id")) for loc in locations[:5])
        return f"square: {len(locations)} location(s): {names}"

    async def pull(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        if entity not in self.pull_entities:
            raise DeliveryError(Category.VALIDATION, f"square cannot pull {entity!r}")
        if entity == "settlement":  # payouts: their own cursor and endpoints (square_payouts.py)
            return await pull_settlements(self, cursor, limit)
        state = self._load(cursor)
        if state.page is None or state.limit is None:
            state.limit = max(1, min(int(limit), 1000))
        body = self._counts_body(state) if entity == "inventory" else await self._orders_body(state)
        path = "/v2/inventory/counts/batch-retrieve" if entity == "inventory" else "/v2/orders/search"
        try:
            data = await self._call("POST", path, body)
        except DeliveryError as exc:
            if exc.vendor_code != "INVALID_CURSOR" or state.page is None:
                raise
            # Expired or foreign cursor: restart the pass from the watermark, never fail the poll.
            self._warn(f"square {entity}: page cursor rejected ({exc.message}); restarting from {state.watermark}")
            state.page = None
            body.pop("cursor", None)
            data = await self._call("POST", path, body)
        if entity == "inventory":
            rows = expect_list(data, "counts", path)
            changes = await self._inventory_changes(rows)
            times = [r.get("calculated_at") for r in rows if isinstance(r, dict)]
        else:
            rows = expect_list(data, "orders", path)
            changes = await self._order_changes(entity, rows)
            times = [r.get("updated_at") for r in rows if isinstance(r, dict)]
        for value in times:
            try:
                if state.newest is None or epoch(value) > epoch(state.newest):
                    state.newest = value
            except Unexpressible:
                continue
        next_page = data.get("cursor")
        if next_page:
            state.page = str(next_page)
            return PullPage(changes, state.dump(), has_more=True)
        # End of the pass: only now is the newest change time of the whole pass known.
        newest = state.newest if state.newest and epoch(state.newest) > epoch(state.watermark) else state.watermark
        return PullPage(changes, PullState(watermark=newest).dump(), has_more=False)

    async def push(self, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
        if entity not in self.push_entities:
            raise DeliveryError(Category.VALIDATION, f"square cannot push {entity!r}")
        results: list[ItemResult | None] = [None] * len(deliveries)
        wanted: dict[int, tuple[str, str, int]] = {}
        for i, delivery in enumerate(deliveries):
            p = delivery.payload
            sku, loc, qty = p.get("sku"), p.get("location_id"), p.get("available")
            if not isinstance(sku, str) or not sku or not isinstance(loc, str) or not loc \
                    or not isinstance(qty, int) or isinstance(qty, bool) or qty < 0:
                results[i] = self._failed(delivery, Category.VALIDATION,
                                          "payload needs sku, location_id and a whole available >= 0", "")
            else:
                wanted[i] = (sku, loc, qty)
        await self._resolve_skus({sku for sku, _, _ in wanted.values()})
        pending: list[tuple[int, dict[str, Any]]] = []
        for i, (sku, loc, qty) in wanted.items():
            var_id = self._id_by_sku.get(sku)
            if var_id is None:
                results[i] = self._failed(deliveries[i], Category.VALIDATION,
                                          f"sku {sku!r} is not an item variation in Square's catalog", "")
                continue
            pending.append((i, {"type": "PHYSICAL_COUNT", "physical_count": {
                "catalog_object_id": var_id, "location_id": loc, "state": "IN_STOCK", "quantity": str(qty),
                "occurred_at": self._occurred_at(deliveries[i].payload.get("changed_at")),
                "reference_id": deliveries[i].delivery_key[:255],
            }}))
        answered = False  # once Square has answered for some items, later failures are per item
        for start in range(0, len(pending), self.max_batch):
            chunk = pending[start:start + self.max_batch]
            try:
                await self._send_counts(chunk, deliveries, results)
            except DeliveryError as exc:
                if not answered:
                    raise  # nothing reached Square: the whole call failed
                for i, _ in pending[start:]:
                    results[i] = ItemResult(deliveries[i].record_id, error=exc, status=exc.status,
                                            response_excerpt=exc.response_excerpt or "")
                break
            answered = True
        return [r if r is not None else ItemResult(d.record_id) for r, d in zip(results, deliveries)]

    async def webhook_inventory(self, counts: list[Any]) -> list[SourceChange]:
        """`inventory.count.updated` counts -> the very changes a poll would read (same keys).

        Only the states and locations the poll reads: anything else a poll would never see.
        """
        wanted = [c for c in counts if isinstance(c, dict) and c.get("state", "IN_STOCK") == "IN_STOCK"
                  and (self.location_ids is None or c.get("location_id") in self.location_ids)]
        return await self._inventory_changes(wanted)

    async def read_levels(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        from syncops.connectors.square_levels import read_levels  # reconciliation only; see that module
        return await read_levels(self, pairs)

    # ------------------------------------------------------------------ push internals

    async def _send_counts(self, chunk: list[tuple[int, dict[str, Any]]], deliveries: list[Delivery],
                           results: list[ItemResult | None]) -> None:
        rebound = False
        while chunk:
            key = request_key([deliveries[i].delivery_key for i, _ in chunk])
            body = {"idempotency_key": key, "changes": [c for _, c in chunk], "ignore_unchanged_counts": True}
            if rebound:
                body["idempotency_key"] = key = rebind_key(key, body["changes"])
            try:
                data = await self._call("POST", "/v2/inventory/changes/batch-create", body, write=True)
            except DeliveryError as exc:
                if exc.vendor_code == "IDEMPOTENCY_KEY_REUSED" and not rebound:
                    # An earlier attempt under this key had another body (occurred_at clamped later,
                    # or the variation re-resolved). An absolute count is safe to send again.
                    rebound = True
                    continue
                # A 400 that names one change: fail that item and resend the rest (nothing was applied).
                match = FIELD_INDEX.search(exc.response_excerpt or "") if exc.status == 400 else None
                if exc.category is not Category.VALIDATION or match is None or int(match[1]) >= len(chunk):
                    raise
                bad = int(match[1])
                i = chunk[bad][0]
                results[i] = self._failed(deliveries[i], exc.category, exc.message, exc.response_excerpt or "",
                                          status=exc.status, summary=self._summary(key, chunk[bad][1]))
                chunk = chunk[:bad] + chunk[bad + 1:]
                continue
            errors = data.get("errors") or []
            by_index: dict[int, dict[str, Any]] = {}
            for error in errors if isinstance(errors, list) else []:
                match = CHANGE_INDEX.match(str(error.get("field", ""))) if isinstance(error, dict) else None
                if match and int(match[1]) < len(chunk):
                    by_index.setdefault(int(match[1]), error)
                else:  # an error we cannot pin on one change: every item in the call shares it
                    by_index.update({n: error for n in range(len(chunk)) if n not in by_index})
            for n, (i, change) in enumerate(chunk):
                summary = self._summary(key, change)
                if n in by_index:
                    error = by_index[n]
                    text = json.dumps(error)[:EXCERPT]
                    message = f"Square rejected change: {error.get('code')}: {error.get('detail', '')}"
                    results[i] = self._failed(deliveries[i], item_category(error), message, text, status=200,
                                              summary=summary, code=error.get("code"))
                    if error.get("code") == "NOT_FOUND":
                        self._forget(change["physical_count"]["catalog_object_id"])
                else:
                    results[i] = ItemResult(deliveries[i].record_id, target_ref=change["physical_count"][
                        "catalog_object_id"], status=200, request_summary=summary,
                        response_excerpt=f"PHYSICAL_COUNT {change['physical_count']['quantity']} applied")
            return

    def _summary(self, key: str, change: dict[str, Any]) -> str:
        c = change["physical_count"]
        return (f"POST /v2/inventory/changes/batch-create PHYSICAL_COUNT {c['catalog_object_id']}@"
                f"{c['location_id']} quantity={c['quantity']} idempotency_key={key}")

    def _failed(self, delivery: Delivery, category: Category, message: str, excerpt: str, *,
                status: int | None = None, summary: str = "", code: str | None = None) -> ItemResult:
        error = DeliveryError(category, message, status=status, response_excerpt=excerpt[:EXCERPT] or None,
                              vendor_code=code)
        return ItemResult(delivery.record_id, error=error, status=status, request_summary=summary,
                          response_excerpt=excerpt[:EXCERPT])

    def _occurred_at(self, changed_at: Any) -> str:
        # Square rejects occurred_at older than 24 h or in the future; keep the source time when
        # possible so Square orders the count correctly against POS sales.
        now = self.clock()
        try:
            when = epoch(changed_at) if isinstance(changed_at, str) else float(changed_at)
        except (Unexpressible, TypeError, ValueError):
            when = now
        return rfc3339(min(max(when, now - 23 * 3600), now))

    # ------------------------------------------------------------------ pull internals

    def _load(self, cursor: str | None) -> PullState:
        if not cursor:
            return PullState(watermark=self.initial_watermark)
        try:
            raw = json.loads(cursor)
            epoch(raw["watermark"])
            return PullState(watermark=raw["watermark"], newest=raw.get("newest"), page=raw.get("page"),
                             limit=raw.get("limit"))
        except (ValueError, TypeError, KeyError, Unexpressible):
            self._warn(f"square: unreadable cursor {cursor[:80]!r}; starting from the initial watermark")
            return PullState(watermark=self.initial_watermark)

    def _since(self, state: PullState) -> str:
        return rfc3339(max(0.0, epoch(state.watermark) - self.overlap))

    def _counts_body(self, state: PullState) -> dict[str, Any]:
        body: dict[str, Any] = {"updated_after": self._since(state), "states": ["IN_STOCK"], "limit": state.limit}
        if self.location_ids:
            body["location_ids"] = self.location_ids
        if state.page:
            body["cursor"] = state.page
        return body

    async def _orders_body(self, state: PullState) -> dict[str, Any]:
        if self.location_ids is None and self._active_locations is None:
            self._active_locations = [loc["id"] for loc in await self._locations()
                                      if loc.get("id") and loc.get("status", "ACTIVE") == "ACTIVE"]
        locations = self.location_ids or self._active_locations or []
        if len(locations) > 10:
            raise DeliveryError(Category.VALIDATION, "Square searches at most 10 locations per call; "
                                "set options.location_ids to at most 10 ids")
        body: dict[str, Any] = {
            "location_ids": locations,
            "limit": state.limit,
            "query": {
                "filter": {"state_filter": {"states": ["COMPLETED"]},
                           "date_time_filter": {"updated_at": {"start_at": self._since(state)}}},
                # Offline POS orders arrive late with an old created_at: only updated_at is monotonic.
                "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
            },
        }
        if state.page:
            body["cursor"] = state.page
        return body

    async def _inventory_changes(self, counts: list[Any]) -> list[SourceChange]:
        await self._resolve_ids({c.get("catalog_object_id") for c in counts if isinstance(c, dict)})
        changes: dict[str, SourceChange] = {}
        for count in counts:
            try:
                if not isinstance(count, dict):
                    raise Unexpressible(f"count is not an object: {str(count)[:80]}")
                var_id = count.get("catalog_object_id")
                sku = self._sku_by_id.get(var_id or "")
                if not sku:
                    raise Unexpressible(f"catalog object {var_id} has no SKU in Square's catalog")
                change = inventory_change(count, sku)
            except Unexpressible as exc:
                self._warn(f"square inventory: skipped: {exc}")
                continue
            changes.setdefault(change.idempotency_key, change)  # Square may repeat an entry in a page
        return list(changes.values())

    async def _order_changes(self, entity: str, orders: list[Any]) -> list[SourceChange]:
        orders = [o for o in orders if isinstance(o, dict)]
        for order in orders:
            for tender in order.get("tenders") or []:
                if tender.get("id") and tender.get("type"):
                    self._tender_types[tender["id"]] = tender["type"]
        if entity == "order":
            wanted = []
            for order in orders:
                if order.get("returns"):
                    if order.get("line_items"):
                        self._warn(f"square order {order.get('id')}: exchange; only its return part is synced")
                    continue
                wanted.append(order)
            items = [li for o in wanted for li in o.get("line_items") or []]
        else:
            wanted = [o for o in orders if o.get("returns")]
            items = [li for o in wanted for r in o["returns"] for li in r.get("return_line_items") or []]
            await self._resolve_tenders(wanted)
            restocked = await restocked_units(self, wanted)  # Square's own record of what went back IN_STOCK
        await self._resolve_ids({li.get("catalog_object_id") for li in items})
        changes = []
        for order in wanted:
            try:
                if entity == "order":
                    changes.append(sales_order(order, self._sku_by_id))
                else:
                    changes.append(return_refund(order, self._sku_by_id, self._tender_types,
                                                 for_order(order, restocked)))
            except Unexpressible as exc:
                self._warn(f"square {entity}: skipped: {exc}")
        return changes

    async def _resolve_tenders(self, returns: list[dict[str, Any]]) -> None:
        """Refunds name only a tender id; its type (CARD/CASH) lives on the original sale."""
        missing = sorted({r.get("source_order_id") for o in returns for r in o["returns"] if r.get("source_order_id")
                          and any(f.get("tender_id") not in self._tender_types for f in o.get("refunds") or [])})
        for start in range(0, len(missing), 100):
            data = await self._call("POST", "/v2/orders/batch-retrieve", {"order_ids": missing[start:start + 100]})
            for order in expect_list(data, "orders", "/v2/orders/batch-retrieve"):
                for tender in (order.get("tenders") or []) if isinstance(order, dict) else []:
                    if tender.get("id") and tender.get("type"):
                        self._tender_types[tender["id"]] = tender["type"]

    # ------------------------------------------------------------------ catalog cache

    def _remember(self, obj: Any) -> None:
        if not isinstance(obj, dict) or obj.get("type") != "ITEM_VARIATION" or not obj.get("id"):
            return
        sku = (obj.get("item_variation_data") or {}).get("sku")
        if sku:
            self._sku_by_id[obj["id"]] = sku  # deleted variations still name old orders' SKUs
            if not obj.get("is_deleted"):
                self._id_by_sku.setdefault(sku, obj["id"])

    def _forget(self, var_id: str) -> None:
        sku = self._sku_by_id.pop(var_id, None)
        if sku and self._id_by_sku.get(sku) == var_id:
            del self._id_by_sku[sku]

    async def _resolve_ids(self, ids: set[Any]) -> None:
        missing = sorted(i for i in ids if isinstance(i, str) and i and i not in self._sku_by_id)
        for start in range(0, len(missing), 1000):
            body = {"object_ids": missing[start:start + 1000], "include_deleted_objects": True}
            data = await self._call("POST", "/v2/catalog/batch-retrieve", body)
            for obj in expect_list(data, "objects", "/v2/catalog/batch-retrieve"):
                self._remember(obj)

    async def _resolve_skus(self, skus: set[str]) -> None:
        missing = sorted(s for s in skus if s not in self._id_by_sku)
        for start in range(0, len(missing), 250):  # set_query takes at most 250 values
            chunk = missing[start:start + 250]
            body: dict[str, Any] = {"object_types": ["ITEM_VARIATION"], "limit": 1000,
                                    "query": {"set_query": {"attribute_name": "sku", "attribute_values": chunk}}}
            found: dict[str, set[str]] = {}
            while True:
                data = await self._call("POST", "/v2/catalog/search", body)
                for obj in expect_list(data, "objects", "/v2/catalog/search"):
                    sku = (obj.get("item_variation_data") or {}).get("sku") if isinstance(obj, dict) else None
                    # Square matches SKUs case-insensitively; only an exact match is the same SKU.
                    if sku in chunk and not obj.get("is_deleted"):
                        found.setdefault(sku, set()).add(obj["id"])
                        self._remember(obj)
                if not data.get("cursor"):
                    break
                body["cursor"] = data["cursor"]
            for sku, ids in found.items():
                if len(ids) > 1:
                    self._warn(f"square: sku {sku!r} is on {len(ids)} variations; not pushing it")
                    self._id_by_sku.pop(sku, None)

    async def _locations(self) -> list[dict[str, Any]]:
        data = await self._call("GET", "/v2/locations")
        return [loc for loc in expect_list(data, "locations", "/v2/locations") if isinstance(loc, dict)]

    # ------------------------------------------------------------------ transport

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None, *,
                    write: bool = False) -> dict[str, Any]:
        """One request; `write` marks calls that change Square, whose lost answers may mean applied."""
        what = f"{method} {path}"
        try:
            response = await self._client.request(method, self.base_url + path, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            err = signals.transport_failure(exc, f"Square {what}")
            err.maybe_applied = err.maybe_applied and write
            raise err from None
        self._last = CallInfo(extra={"status": response.status_code, "path": path})
        text = response.text
        if not 200 <= response.status_code < 300:
            err = classify(response.status_code, text, what=what, retry_after=response.headers.get("retry-after"),
                           ceiling=self.ceiling)
            err.maybe_applied = write and signals.status_may_have_applied(response.status_code)
            raise err
        data = signals.json_body(response)
        if not isinstance(data, dict):
            raise signals.malformed(f"Square {what}", f"HTTP {response.status_code} with a body that is not a "
                                    "JSON object", status=response.status_code, excerpt=text[:EXCERPT],
                                    applied_if_write=write)
        return data

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        del self.warnings[:-MAX_WARNINGS]
