"""Amazon Selling Partner API: orders and FBA stock in, MFN stock out.

- pull ``order``: Orders API v0 ``getOrders`` by ``LastUpdatedAfter`` (inclusive watermark, pages by
  ``NextToken``) and ``getOrderItems`` per order -> canonical SalesOrder (amazon_orders.py).
- pull ``inventory``: FBA Inventory ``getInventorySummaries`` (marketplace granularity, by
  ``startDateTime`` and ``nextToken``) -> canonical InventoryPosition at ``options.fba_location``.
- push ``inventory``: Listings Items ``patchListingsItem`` per SKU (amazon_listings.py).
- pull ``settlement``: Finances v0 closed financial event groups and their events -> canonical
  Settlement (amazon_finances.py).

Auth is Login with Amazon (amazon_auth.py); the access token goes in ``x-amz-access-token``.
Rate limits are per operation (amazon_rates.py): the documented usage plans, replaced by the
``x-amzn-RateLimit-Limit`` header when Amazon sends it; a 429 (``QuotaExceeded``) asks the engine
to wait until the operation's bucket has a token again.

Options: ``client_id`` (LWA), ``seller_id`` (listings writes), ``marketplace_id`` (default
ATVPDKIKX0DER, amazon.com), ``token_url`` (default the LWA endpoint; a loopback base URL, i.e. the
built-in simulator, defaults to its own ``/auth/o2/token``), ``orders_since`` (ISO date of the first
read; default 30 days back), ``fba_location``, ``locations`` (location -> fulfillment channel code),
``product_type``, ``order_location``, ``order_number_prefix``, ``tax_code``, ``payment_method``,
``max_wait``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from syncops.connectors import signals
from syncops.connectors.amazon_auth import LWA_URL, LwaTokens
from syncops.connectors.amazon_orders import UNPRICED, redacted, to_sales_order
from syncops.connectors.amazon_rates import HEADER, Buckets
from syncops.connectors.base import CallInfo, Delivery, ItemResult, PullPage, SourceChange
from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

EXCERPT = 500
US_MARKETPLACE = "ATVPDKIKX0DER"
FIRST_READ_DAYS = 30


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


epoch_of = signals.timestamp


def _errors(body: Any) -> tuple[str | None, str]:
    """(first error code, readable detail) from an SP-API error answer ({"errors": [...]})."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return None, ""
    parts, code = [], None
    for e in errors:
        if isinstance(e, dict):
            code = code or (e.get("code") if isinstance(e.get("code"), str) else None)
            parts.append(" ".join(str(e.get(k)) for k in ("code", "message", "details") if e.get(k)))
    return code, "; ".join(parts)


class AmazonConnector:
    kind = "amazon"
    pull_entities = frozenset({"order", "inventory", "settlement"})
    push_entities = frozenset({"inventory"})
    max_batch = 25  # one patchListingsItem per SKU, 5 per second: a batch takes about 5 s

    def __init__(self, base_url: str, secret: str, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time, options: dict[str, Any] | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.options = dict(options or {})
        self.base_url = base_url.rstrip("/")
        self.ceiling = signals.ceiling_of(self.options)
        self.clock = clock
        self.marketplace = str(self.options.get("marketplace_id", US_MARKETPLACE))
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=15.0, limits=httpx.Limits(max_keepalive_connections=8))
        token_url = self.options.get("token_url")
        if not token_url:
            host = urlsplit(self.base_url).hostname or ""
            token_url = f"{self.base_url}/auth/o2/token" if host in ("127.0.0.1", "localhost", "::1") else LWA_URL
        self.tokens = LwaTokens(self._client, str(token_url), self.options.get("client_id"), secret, clock=clock)
        self.buckets = Buckets(clock, sleep, self.ceiling)
        self._last = CallInfo()

    # ------------------------------------------------------------------ transport

    async def _request(self, method: str, path: str, op: str, *, params: dict[str, Any] | None = None,
                       body: Any = None, _again: bool = True) -> httpx.Response:
        what = f"{method} /{path.split('?')[0]} ({op})"
        write = method != "GET"
        await self.buckets.take(op)
        token = await self.tokens.access_token()
        headers = {"x-amz-access-token": token, "Accept": "application/json", "User-Agent": "syncops"}
        try:
            resp = await self._client.request(method, f"{self.base_url}/{path}", params=params, json=body,
                                              headers=headers)
        except httpx.HTTPError as exc:
            self._last = CallInfo(extra={"operation": op})
            err = signals.transport_failure(exc, f"Amazon {what}")
            err.maybe_applied = err.maybe_applied and write
            raise err from None
        rate = self.buckets.observe(op, resp.headers.get(HEADER))
        extra = {"operation": op, "rate": rate if rate is not None else self.buckets.rates.get(op)}
        if resp.status_code in (401, 403) and _again:
            # An access token can expire (or be revoked) before our clock says so: exchange the
            # refresh token once more, and only then believe the refusal.
            self.tokens.invalidate()
            return await self._request(method, path, op, params=params, body=body, _again=False)
        if resp.status_code >= 400:
            err = self._classify(resp, what, op)
            err.maybe_applied = write and signals.status_may_have_applied(resp.status_code)
            self._last = CallInfo(wait_seconds=err.retry_after if err.category == Category.RATE_LIMIT else None,
                                  extra=extra)
            raise err
        wait = self.buckets.wait_for(op)
        self._last = CallInfo(wait_seconds=wait or None, extra=extra)
        return resp

    def _excerpt(self, text: str) -> str:
        return self.tokens.scrub(text)[:EXCERPT]

    def _classify(self, resp: httpx.Response, what: str, op: str) -> DeliveryError:
        status = resp.status_code
        code, detail = _errors(signals.json_body(resp))
        detail = detail or f"HTTP {status}"
        kw: dict[str, Any] = {"status": status, "response_excerpt": self._excerpt(resp.text), "vendor_code": code}
        if status in (401, 403):
            return DeliveryError(Category.AUTH, f"Amazon refused {what}: {detail}", **kw)
        if status == 429:
            wait = self.buckets.exhausted(op)
            return DeliveryError(Category.RATE_LIMIT, f"Amazon throttled {what} ({code or '429'}); next token in "
                                 f"{wait:.1f}s at {self.buckets.rates.get(op)} requests/s", retry_after=wait, **kw)
        if status in (400, 404, 413, 415, 422):
            return DeliveryError(Category.VALIDATION, f"Amazon rejected {what}: {detail}"[:600], **kw)
        if status >= 500:
            wait = signals.retry_after(resp.headers.get("Retry-After"), ceiling=self.ceiling)
            return DeliveryError(Category.UNAVAILABLE, f"Amazon failed {what} with HTTP {status}{wait.describe()}",
                                 retry_after=wait.seconds, **kw)
        return DeliveryError(Category.UNKNOWN, f"unexpected HTTP {status} from Amazon for {what}", **kw)

    def _json(self, resp: httpx.Response, what: str) -> Any:
        body = signals.json_body(resp)
        if body is None:
            raise signals.malformed("Amazon", f"{what} answered with a body that is not JSON "
                                    f"({resp.headers.get('content-type', '?')})", status=resp.status_code,
                                    excerpt=self._excerpt(resp.text), applied_if_write=resp.request.method != "GET")
        return body

    def _shape(self, what: str, value: Any, *, applied_if_write: bool = False) -> DeliveryError:
        return signals.malformed("Amazon", f"{what} returned an unexpected shape", status=200,
                                 excerpt=self._excerpt(json.dumps(value, default=str)),
                                 applied_if_write=applied_if_write)

    def _payload(self, resp: httpx.Response, what: str, key: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        data = self._json(resp, what)
        payload = data.get("payload") if isinstance(data, dict) else None
        rows = payload.get(key) if isinstance(payload, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise self._shape(what, {k: v for k, v in (data.items() if isinstance(data, dict) else [])
                                     if k != "payload"} or data)
        return payload, rows

    # ------------------------------------------------------------------ protocol

    def last_call(self) -> CallInfo:
        return self._last

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def check_auth(self) -> str:
        op = "getMarketplaceParticipations"
        resp = await self._request("GET", "sellers/v1/marketplaceParticipations", op)
        data = self._json(resp, op)
        rows = data.get("payload") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise self._shape(op, data)
        ours = next((r for r in rows if isinstance(r, dict)
                     and (r.get("marketplace") or {}).get("id") == self.marketplace), None)
        if ours is None:
            raise DeliveryError(Category.AUTH, f"the seller does not participate in marketplace {self.marketplace} "
                                               "(options.marketplace_id)")
        market = ours.get("marketplace") or {}
        return f"Amazon seller {ours.get('storeName')!r} in {market.get('name')} ({self.marketplace}) OK"

    async def pull(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        if entity == "order":
            return await self._pull_orders(cursor, limit)
        if entity == "inventory":
            return await self._pull_fba(cursor, limit)
        if entity == "settlement":
            from syncops.connectors.amazon_finances import pull_settlements

            return await pull_settlements(self, cursor, limit)
        raise DeliveryError(Category.VALIDATION, f"the Amazon connector cannot pull {entity!r}")

    async def push(self, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
        if entity != "inventory":
            raise DeliveryError(Category.VALIDATION, f"the Amazon connector cannot push {entity!r}")
        from syncops.connectors.amazon_listings import push_inventory

        return await push_inventory(self, deliveries)

    async def read_levels(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        from syncops.connectors.amazon_levels import read_levels  # reconciliation only; see that module

        return await read_levels(self, pairs)

    # ------------------------------------------------------------------ orders

    def _first_after(self) -> str:
        since = epoch_of(self.options.get("orders_since"))
        return iso(since if since is not None else self.clock() - FIRST_READ_DAYS * 86400)

    @staticmethod
    def _state(cursor: str | None) -> dict[str, Any]:
        try:
            state = json.loads(cursor) if cursor else {}
        except ValueError:
            state = {}
        return state if isinstance(state, dict) else {}

    async def _pull_orders(self, cursor: str | None, limit: int) -> PullPage:
        state = self._state(cursor)
        after = state.get("after") if epoch_of(state.get("after")) is not None else self._first_after()
        token, high = state.get("next"), state.get("high") or after
        # Orders updated exactly at the watermark that were read (and stored) already: the
        # inclusive LastUpdatedAfter returns them again, but their items need not be fetched.
        done = {str(i) for i in state.get("done") or [] if isinstance(i, str)}
        at_high = {str(i) for i in state.get("at_high") or [] if isinstance(i, str)}
        params: dict[str, Any] = {"MarketplaceIds": self.marketplace, "LastUpdatedAfter": after,
                                  "MaxResultsPerPage": max(1, min(limit, 100))}
        if token:
            params["NextToken"] = token
        try:
            resp = await self._request("GET", "orders/v0/orders", "getOrders", params=params)
        except DeliveryError as exc:
            if not (token and exc.category == Category.VALIDATION):
                raise
            # A NextToken from before a restart may have expired: read the window again from its
            # start; the idempotency keys drop what was stored already.
            params.pop("NextToken")
            token = None
            resp = await self._request("GET", "orders/v0/orders", "getOrders", params=params)
        payload, orders = self._payload(resp, "getOrders", "Orders")
        changes = []
        for order in orders:
            oid, updated = order.get("AmazonOrderId"), order.get("LastUpdateDate")
            changed = epoch_of(updated)
            if not isinstance(oid, str) or not oid or changed is None:
                raise self._shape("getOrders (AmazonOrderId/LastUpdateDate)", redacted(order))
            if epoch_of(high) is None or changed > (epoch_of(high) or 0):
                high, at_high = updated, set()
            if changed == epoch_of(high):
                at_high.add(oid)
            if changed == epoch_of(after) and oid in done:
                continue
            if order.get("OrderStatus") in UNPRICED:
                continue  # no prices yet; read again when payment is authorised (LastUpdateDate moves)
            items = await self._order_items(oid)
            payload_out = to_sales_order(order, items, self.options)
            changes.append(SourceChange(idempotency_key=f"amazon:order:{oid}:{updated}",
                                        entity_key=payload_out["order_number"], payload=payload_out,
                                        source_payload={**redacted(order), "OrderItems": [redacted(i) for i in items]},
                                        changed_at=changed))
        next_token = payload.get("NextToken")
        if isinstance(next_token, str) and next_token:
            new = {"after": after, "next": next_token, "high": high, "at_high": sorted(at_high),
                   "done": sorted(done)}
            return PullPage(changes=changes, cursor=json.dumps(new), has_more=True)
        # Inclusive watermark: orders updated in the newest second come back next time; those
        # named in "done" are skipped, any other repeat is dropped by its idempotency key.
        return PullPage(changes=changes, cursor=json.dumps({"after": high, "next": None, "done": sorted(at_high)}),
                        has_more=False)

    async def _order_items(self, order_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = None
        for _ in range(100):
            params = {"NextToken": token} if token else None
            resp = await self._request("GET", f"orders/v0/orders/{order_id}/orderItems", "getOrderItems",
                                       params=params)
            payload, rows = self._payload(resp, "getOrderItems", "OrderItems")
            items += rows
            token = payload.get("NextToken")
            if not (isinstance(token, str) and token):
                break
        return items

    # ------------------------------------------------------------------ FBA inventory

    async def _pull_fba(self, cursor: str | None, limit: int) -> PullPage:
        state = self._state(cursor)
        since = state.get("since") if epoch_of(state.get("since")) is not None else None
        token, high = state.get("next"), state.get("high") or since
        params: dict[str, Any] = {"details": "true", "granularityType": "Marketplace",
                                  "granularityId": self.marketplace, "marketplaceIds": self.marketplace}
        if since:
            params["startDateTime"] = since
        if token:
            params["nextToken"] = token
        op = "getInventorySummaries"
        try:
            resp = await self._request("GET", "fba/inventory/v1/summaries", op, params=params)
        except DeliveryError as exc:
            if not (token and exc.category == Category.VALIDATION):
                raise
            params.pop("nextToken")  # nextToken lives 30 seconds; start the window again
            resp = await self._request("GET", "fba/inventory/v1/summaries", op, params=params)
        payload, rows = self._payload(resp, op, "inventorySummaries")
        location = str(self.options.get("fba_location", "amazon-fba"))
        now = self.clock()
        changes = []
        for row in rows:
            sku = row.get("sellerSku")
            if not isinstance(sku, str) or not sku:
                continue
            details = row.get("inventoryDetails") if isinstance(row.get("inventoryDetails"), dict) else {}
            fulfillable = details.get("fulfillableQuantity")
            total = row.get("totalQuantity")
            if type(fulfillable) is not int or (total is not None and type(total) is not int):
                raise self._shape(f"{op} (fulfillableQuantity/totalQuantity of {sku})", row)
            stamp = row.get("lastUpdatedTime")
            changed = epoch_of(stamp)
            if changed is not None and (epoch_of(high) is None or changed > (epoch_of(high) or 0)):
                high = stamp
            payload_out = {"sku": sku, "location_id": location, "available": max(fulfillable, 0),
                           "on_hand": total, "changed_at": iso(changed if changed is not None else now),
                           "source_ref": row.get("fnSku") or row.get("asin")}
            changes.append(SourceChange(
                idempotency_key=f"amazon:fba:{sku}:{stamp or ''}:{fulfillable}:{total}",
                entity_key=f"{sku}@{location}", payload=payload_out, source_payload=row,
                changed_at=changed if changed is not None else now))
        pagination = (resp.json() or {}).get("pagination") if isinstance(resp.json(), dict) else None
        next_token = pagination.get("nextToken") if isinstance(pagination, dict) else None
        if isinstance(next_token, str) and next_token:
            return PullPage(changes=changes, cursor=json.dumps({"since": since, "next": next_token, "high": high}),
                            has_more=True)
        return PullPage(changes=changes, cursor=json.dumps({"since": high, "next": None}), has_more=False)
