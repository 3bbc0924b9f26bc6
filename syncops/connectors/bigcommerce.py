"""BigCommerce storefront: stock levels and prices in (v3), orders out (v2).

BigCommerce has no idempotency key. Stock goes through *absolute* inventory adjustments
("set on-hand to N"), which are safe to repeat: a retry after a lost response, or a replay of
an older delivery of the same value, leaves the store exactly where one delivery would. That
is also why a rejected batch can be re-sent item by item to isolate the bad item.

Rate limits are one store-wide quota per 30-second window, reported on every response in the
X-Rate-Limit-* headers; ``last_call()`` passes them on so the engine can pace itself.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Awaitable, Callable

import httpx
from pydantic import ValidationError

from syncops.connectors import signals
from syncops.connectors.base import CallInfo, Delivery, ItemResult, PullPage, SourceChange
from syncops.connectors.errors import DeliveryError
from syncops.models import InventoryPosition, Price
from syncops.store.categories import Category

EXCERPT = 500
MAX_ADJUSTMENT_ITEMS = 2000  # PUT /v3/inventory/adjustments/absolute
MAX_VARIANT_BATCH = 50  # PUT /v3/catalog/variants
CATALOG_TTL = 300.0  # seconds before an unknown location or SKU makes us re-read the store


def _excerpt(text: str, secret: str = "") -> str:
    if secret:
        text = text.replace(secret, "***")
    return text[:EXCERPT]


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    """A quota header as a whole number; garbage (1e309, nan, -5, words) counts as absent."""
    value = signals.number(headers.get(name))
    return None if value is None else int(value)


def _money(value: Any) -> str:
    d = Decimal(str(value or 0))
    cents = d.quantize(Decimal("0.01"))
    return str(cents if cents == d else d.normalize())


def _rfc_epoch(value: str) -> float:
    return parsedate_to_datetime(value).timestamp()


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                     for e in exc.errors(include_input=False, include_url=False))


def rate_info(headers: httpx.Headers, status: int, ceiling: float = signals.MAX_WAIT) -> CallInfo:
    """What the X-Rate-Limit-* headers say; wait only when the window is used up."""
    left = _int_header(headers, "X-Rate-Limit-Requests-Left")
    reset_ms = _int_header(headers, "X-Rate-Limit-Time-Reset-Ms")
    retry = signals.retry_after(headers.get("X-Retry-After"), ceiling=ceiling, header="X-Retry-After")
    wait = None
    if status == 429 or left == 0:
        wait = (signals.clamp(reset_ms / 1000, ceiling, what="X-Rate-Limit-Time-Reset-Ms").seconds
                if reset_ms is not None else retry.seconds)
    extra = {k: v for k, v in (("quota", _int_header(headers, "X-Rate-Limit-Requests-Quota")),
                               ("window_ms", _int_header(headers, "X-Rate-Limit-Time-Window-Ms")),
                               ("reset_ms", reset_ms)) if v is not None}
    return CallInfo(wait_seconds=wait, remaining=left, extra=extra)


def classify(resp: httpx.Response, what: str, secret: str = "", ceiling: float = signals.MAX_WAIT) -> DeliveryError:
    """Map a BigCommerce error response (v3 problem+json, v3 batch_errors or v2 list) to a Category."""
    status = resp.status_code
    text = resp.text
    detail = ""
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("batch_errors"), list):
            parts = [f"{e.get('title', '')} {json.dumps(e.get('errors') or {})}".strip()
                     for e in body["batch_errors"] if isinstance(e, dict)]
            detail = "; ".join(parts)
        else:
            detail = str(body.get("title") or body.get("message") or "")
            if body.get("errors"):
                detail += f" {json.dumps(body['errors'])}"
    elif isinstance(body, list) and body and isinstance(body[0], dict):
        detail = "; ".join(str(e.get("message", "")) for e in body if isinstance(e, dict))
    detail = detail.strip() or f"HTTP {status}"
    kw: dict[str, Any] = {"status": status, "response_excerpt": _excerpt(text, secret)}
    if status in (401, 403):
        return DeliveryError(Category.AUTH, f"BigCommerce refused {what}: {detail}", **kw)
    if status == 429:
        info = rate_info(resp.headers, status, ceiling)
        # Without the rate headers a 429 means platform overload; the engine's backoff applies.
        return DeliveryError(Category.RATE_LIMIT, f"BigCommerce throttled {what} (429)",
                             retry_after=info.wait_seconds, **kw)
    if status in (400, 404, 405, 413, 422):
        return DeliveryError(Category.VALIDATION, f"BigCommerce rejected {what}: {detail}", **kw)
    if status == 409:
        return DeliveryError(Category.CONFLICT, f"BigCommerce reported a conflict on {what}: {detail}", **kw)
    if status >= 500:
        wait = signals.retry_after(resp.headers.get("Retry-After"), ceiling=ceiling)
        return DeliveryError(Category.UNAVAILABLE, f"BigCommerce failed {what} with HTTP {status}{wait.describe()}",
                             retry_after=wait.seconds, **kw)
    return DeliveryError(Category.UNKNOWN, f"unexpected HTTP {status} from BigCommerce for {what}", **kw)


class BigCommerceConnector:
    kind = "bigcommerce"
    pull_entities = frozenset({"order", "return"})
    push_entities = frozenset({"inventory", "price"})
    # One push is one variant batch call at most; stock batches could be 2000 but the Connector
    # protocol has one limit per connector.
    max_batch = MAX_VARIANT_BATCH

    def __init__(self, base_url: str, secret: str, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time, options: dict[str, Any] | None = None) -> None:
        self.options = dict(options or {})
        base = base_url.rstrip("/")
        store_hash = self.options.get("store_hash")
        if store_hash and "/stores/" not in base:
            base = f"{base}/stores/{store_hash}"
        self.base_url = base  # .../stores/<hash>; v2 and v3 paths hang off it
        self.ceiling = signals.ceiling_of(self.options)
        self._secret = secret
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=10.0, limits=httpx.Limits(max_keepalive_connections=8))
        self.clock = clock
        self.currency: str = self.options.get("currency", "USD")
        self._configured_locations = {str(k): int(v) for k, v in (self.options.get("locations") or {}).items()}
        self._store_locations: dict[str, int] = {}
        self._locations_read_at: float | None = None
        self._variant_ids: dict[str, int] = {}
        self._variants_read_at: float | None = None
        self._last = CallInfo()

    # ------------------------------------------------------------------ transport

    async def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                       body: Any = None) -> httpx.Response:
        what = f"{method} /{path}"
        headers = {"X-Auth-Token": self._secret, "Accept": "application/json", "User-Agent": "syncops"}
        write = method != "GET"  # a lost answer to a write may mean it was applied
        try:
            resp = await self._client.request(method, f"{self.base_url}/{path}", params=params,
                                              json=body, headers=headers)
        except httpx.HTTPError as exc:
            self._last = CallInfo()
            err = signals.transport_failure(exc, f"BigCommerce {what}")
            err.maybe_applied = err.maybe_applied and write
            raise err from None
        self._last = rate_info(resp.headers, resp.status_code, self.ceiling)
        if resp.status_code >= 400:
            err = classify(resp, what, self._secret, self.ceiling)
            err.maybe_applied = write and signals.status_may_have_applied(resp.status_code)
            raise err
        return resp

    def _json(self, resp: httpx.Response, what: str) -> Any:
        body = signals.json_body(resp)
        if body is None and resp.content.strip() not in (b"null",):
            raise signals.malformed("BigCommerce", f"{what} answered with a body that is not JSON "
                                    f"({resp.headers.get('content-type', '?')})", status=resp.status_code,
                                    excerpt=_excerpt(resp.text, self._secret),
                                    applied_if_write=resp.request.method != "GET")
        return body

    def _shape(self, what: str, value: Any) -> DeliveryError:
        return signals.malformed("BigCommerce", f"{what} returned an unexpected shape", status=200,
                                 excerpt=_excerpt(json.dumps(value, default=str)))

    # ------------------------------------------------------------------ protocol

    def last_call(self) -> CallInfo:
        return self._last

    async def check_auth(self) -> str:
        resp = await self._request("GET", "v2/store")
        store = self._json(resp, "GET /v2/store")
        if not isinstance(store, dict):
            raise self._shape("GET /v2/store", store)
        left = f"; {self._last.remaining} requests left in this window" if self._last.remaining is not None else ""
        return f"BigCommerce store {store.get('id')} ({store.get('name')}) OK{left}"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def push(self, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
        if entity == "inventory":
            return await self._push_inventory(deliveries)
        if entity == "price":
            return await self._push_prices(deliveries)
        raise DeliveryError(Category.VALIDATION, f"the BigCommerce connector cannot push {entity!r}")

    async def pull(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        if entity == "return":  # orders v3 refunds, see bigcommerce_refunds.py
            from syncops.connectors.bigcommerce_refunds import pull_returns
            return await pull_returns(self, cursor, limit)
        if entity != "order":
            raise DeliveryError(Category.VALIDATION, f"the BigCommerce connector cannot pull {entity!r}")
        return await self._pull_orders(cursor, limit)

    async def read_levels(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        from syncops.connectors.bigcommerce_levels import read_levels  # reconciliation only; see that module
        return await read_levels(self, pairs)

    # ------------------------------------------------------------------ push helpers

    async def _send_all(self, batch: list[tuple[int, Any]], send: Callable[[list[Any]], Awaitable[str]],
                        chunk: int) -> dict[int, str | DeliveryError]:
        """Send in vendor-sized chunks; per-item outcomes. Raises only if nothing was applied."""
        out: dict[int, str | DeliveryError] = {}
        for start in range(0, len(batch), chunk):
            try:
                out.update(await self._send_isolating(batch[start:start + chunk], send))
            except DeliveryError as exc:
                if not any(isinstance(v, str) for v in out.values()):
                    raise
                for key, _ in batch[start:]:
                    out[key] = exc
                break
        return out

    async def _send_isolating(self, part: list[tuple[int, Any]], send: Callable[[list[Any]], Awaitable[str]]
                              ) -> dict[int, str | DeliveryError]:
        try:
            ref = await send([item for _, item in part])
            return {key: ref for key, _ in part}
        except DeliveryError as exc:
            if exc.category != Category.VALIDATION:
                raise
            if len(part) == 1:
                return {part[0][0]: exc}
        # The whole batch was rejected for one bad item; both endpoints we write are plain
        # "set to this value" updates, so re-sending the others one by one is harmless.
        out: dict[int, str | DeliveryError] = {}
        for pos, (key, item) in enumerate(part):
            try:
                out[key] = await send([item])
            except DeliveryError as exc:
                if exc.category == Category.VALIDATION:
                    out[key] = exc
                    continue
                if not any(isinstance(v, str) for v in out.values()):
                    raise
                for rest, _ in part[pos:]:
                    out[rest] = exc
                break
        return out

    @staticmethod
    def _results(deliveries: list[Delivery], errors: dict[int, DeliveryError],
                 outcomes: dict[int, str | DeliveryError], summary: str,
                 target: Callable[[int, str], str]) -> list[ItemResult]:
        results = []
        for i, d in enumerate(deliveries):
            if i in errors:
                results.append(ItemResult(d.record_id, error=errors[i]))
                continue
            outcome = outcomes[i]
            if isinstance(outcome, DeliveryError):
                results.append(ItemResult(d.record_id, error=outcome, status=outcome.status,
                                          request_summary=summary,
                                          response_excerpt=outcome.response_excerpt or ""))
            else:
                results.append(ItemResult(d.record_id, target_ref=target(i, outcome), status=200,
                                          request_summary=summary, response_excerpt=outcome))
        return results

    # ------------------------------------------------------------------ inventory

    async def _location_id(self, name: str) -> int | None:
        if name in self._configured_locations:
            return self._configured_locations[name]
        if name.isdigit():
            return int(name)
        now = self.clock()
        if name not in self._store_locations and (
                self._locations_read_at is None or now - self._locations_read_at > CATALOG_TTL):
            resp = await self._request("GET", "v3/inventory/locations", params={"limit": 1000})
            data = self._json(resp, "GET /v3/inventory/locations")
            rows = data.get("data") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                raise self._shape("GET /v3/inventory/locations", data)
            self._store_locations = {}
            for row in rows:
                for label in (row.get("label"), row.get("code")):
                    if label:
                        self._store_locations[str(label)] = int(row["id"])
            self._locations_read_at = now
        return self._store_locations.get(name)

    async def _push_inventory(self, deliveries: list[Delivery]) -> list[ItemResult]:
        errors: dict[int, DeliveryError] = {}
        batch: list[tuple[int, dict[str, Any]]] = []
        for i, d in enumerate(deliveries):
            try:
                pos = InventoryPosition.model_validate(d.payload)
            except ValidationError as exc:
                errors[i] = DeliveryError(Category.VALIDATION, f"payload is not a valid inventory position: "
                                                               f"{_problems(exc)}")
                continue
            location = await self._location_id(pos.location_id)
            if location is None:
                errors[i] = DeliveryError(Category.MAPPING, f"location {pos.location_id!r} is not a BigCommerce "
                                                            "location (options.locations or the store's "
                                                            "location codes/labels)")
                continue
            batch.append((i, {"sku": pos.sku, "location_id": location, "quantity": pos.available}))

        async def send(items: list[dict[str, Any]]) -> str:
            what = "PUT /v3/inventory/adjustments/absolute"
            resp = await self._request("PUT", "v3/inventory/adjustments/absolute",
                                       body={"reason": self.options.get("reason", "syncops stock sync"),
                                             "items": items})
            data = self._json(resp, what)
            if not isinstance(data, dict) or not data.get("transaction_id"):
                raise self._shape(what, data)
            return str(data["transaction_id"])

        outcomes = await self._send_all(batch, send, MAX_ADJUSTMENT_ITEMS)
        return self._results(deliveries, errors, outcomes, "PUT /v3/inventory/adjustments/absolute",
                             lambda _i, tx: tx)

    # ------------------------------------------------------------------ prices

    async def _resolve_variants(self, skus: set[str]) -> dict[str, int]:
        missing = skus - self._variant_ids.keys()
        now = self.clock()
        if missing and (self._variants_read_at is None or len(missing) > 20
                        or now - self._variants_read_at > CATALOG_TTL):
            await self._read_all_variants()
            missing = skus - self._variant_ids.keys()
        for sku in sorted(missing):  # added since the last full read?
            resp = await self._request("GET", "v3/catalog/variants", params={"sku": sku})
            data = self._json(resp, "GET /v3/catalog/variants")
            for row in (data.get("data") or []) if isinstance(data, dict) else []:
                if row.get("sku") == sku:
                    self._variant_ids[sku] = int(row["id"])
        return {sku: self._variant_ids[sku] for sku in skus if sku in self._variant_ids}

    async def _read_all_variants(self) -> None:
        page, ids = 1, {}
        while True:
            resp = await self._request("GET", "v3/catalog/variants",
                                       params={"page": page, "limit": 250, "include_fields": "sku"})
            data = self._json(resp, "GET /v3/catalog/variants")
            rows = data.get("data") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                raise self._shape("GET /v3/catalog/variants", data)
            ids.update({row["sku"]: int(row["id"]) for row in rows if row.get("sku")})
            total = ((data.get("meta") or {}).get("pagination") or {}).get("total_pages") or 1
            if page >= total or not rows:
                break
            page += 1
        self._variant_ids = ids
        self._variants_read_at = self.clock()

    async def _push_prices(self, deliveries: list[Delivery]) -> list[ItemResult]:
        errors: dict[int, DeliveryError] = {}
        prices: dict[int, Price] = {}
        for i, d in enumerate(deliveries):
            try:
                price = Price.model_validate(d.payload)
            except ValidationError as exc:
                errors[i] = DeliveryError(Category.VALIDATION, f"payload is not a valid price: {_problems(exc)}")
                continue
            if price.currency != self.currency:
                errors[i] = DeliveryError(Category.VALIDATION, f"price currency {price.currency} differs from the "
                                                               f"store currency {self.currency}")
                continue
            prices[i] = price
        variant_ids = await self._resolve_variants({p.sku for p in prices.values()}) if prices else {}
        batch: list[tuple[int, dict[str, Any]]] = []
        for i, price in prices.items():
            if price.sku not in variant_ids:
                errors[i] = DeliveryError(Category.VALIDATION, f"sku {price.sku!r} has no variant in the "
                                                               "BigCommerce catalog")
                continue
            item: dict[str, Any] = {"id": variant_ids[price.sku], "price": float(price.amount)}
            if price.compare_at is not None:
                item["retail_price"] = float(price.compare_at)  # BigCommerce shows retail (MSRP) struck through
            batch.append((i, item))

        async def send(items: list[dict[str, Any]]) -> str:
            what = "PUT /v3/catalog/variants"
            data = self._json(await self._request("PUT", "v3/catalog/variants", body=items), what)
            if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                raise self._shape(what, data)
            return f"{len(data['data'])} variants updated"

        outcomes = await self._send_all(batch, send, MAX_VARIANT_BATCH)
        by_index = dict(batch)
        return self._results(deliveries, errors, outcomes, "PUT /v3/catalog/variants",
                             lambda i, _ref: str(by_index[i]["id"]))

    # ------------------------------------------------------------------ orders

    @staticmethod
    def _parse_cursor(cursor: str | None) -> tuple[int, int]:
        if not cursor:
            return 0, 1
        try:
            state = json.loads(cursor)
            return int(state["watermark"]), max(1, int(state.get("page", 1)))
        except (ValueError, KeyError, TypeError):
            return 0, 1  # unreadable cursor: start over, idempotency keys drop the repeats

    async def _pull_orders(self, cursor: str | None, limit: int) -> PullPage:
        watermark, page = self._parse_cursor(cursor)
        limit = max(1, min(limit, 250))
        since = datetime.fromtimestamp(watermark, tz=timezone.utc).isoformat()
        params = {"min_date_modified": since, "sort": "date_modified:asc", "page": page, "limit": limit,
                  "include": "consignments.line_items", "consignment_structure": "object"}
        resp = await self._request("GET", "v2/orders", params=params)
        rows: list[dict[str, Any]] = []
        if resp.status_code != 204 and resp.content:
            data = self._json(resp, "GET /v2/orders")
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise self._shape("GET /v2/orders", data)
            rows = data
        changes = []
        stamps = []
        for row in rows:
            try:
                modified = int(_rfc_epoch(row["date_modified"]))
            except (KeyError, TypeError, ValueError):
                raise self._shape("GET /v2/orders (date_modified)", row) from None
            stamps.append(modified)
            changes.append(await self._order_change(row, modified))
        # Inclusive watermark (min_date_modified is >=) with whole-second dates: orders modified
        # in the last second are read again next time and dropped by their idempotency keys.
        if len(rows) < limit:
            state, more = {"watermark": max([watermark, *stamps]), "page": 1}, False
        elif stamps[-1] == watermark:
            state, more = {"watermark": watermark, "page": page + 1}, True  # a full page in one second
        else:
            # Page 1 at the new watermark starts with this page's rows from the last second; when
            # that is the whole page, page 2 is where the unseen rows begin.
            same = all(stamp == stamps[-1] for stamp in stamps)
            state, more = {"watermark": stamps[-1], "page": 2 if same else 1}, True
        return PullPage(changes=changes, cursor=json.dumps(state), has_more=more)

    async def _order_change(self, row: dict[str, Any], modified: int) -> SourceChange:
        lines = await self._order_lines(row)
        payload = self._order_payload(row, lines)
        return SourceChange(
            idempotency_key=f"bc:order:{row['id']}:{modified}:{_digest(payload)}",
            entity_key=payload["order_number"], payload=payload, source_payload=row,
            changed_at=float(modified))

    async def fetch_order(self, order_id: int | str) -> SourceChange | None:
        """One order as the poll would read it: BigCommerce webhooks carry only its id."""
        params = {"include": "consignments.line_items", "consignment_structure": "object"}
        try:
            resp = await self._request("GET", f"v2/orders/{int(order_id)}", params=params)
        except DeliveryError as exc:
            if exc.status == 404:
                return None
            raise
        if resp.status_code == 204 or not resp.content:
            return None
        row = self._json(resp, "GET /v2/orders/{id}")
        if not isinstance(row, dict):
            raise self._shape("GET /v2/orders/{id}", row)
        try:
            modified = int(_rfc_epoch(row["date_modified"]))
        except (KeyError, TypeError, ValueError):
            raise self._shape("GET /v2/orders/{id} (date_modified)", row) from None
        return await self._order_change(row, modified)

    async def _order_lines(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        consignments = row.get("consignments")
        if isinstance(consignments, dict):
            for group in ("shipping", "pickups"):
                for consignment in consignments.get(group) or []:
                    items = consignment.get("line_items") if isinstance(consignment, dict) else None
                    lines += [li for li in items or [] if isinstance(li, dict) and "sku" in li]
        if lines:
            return lines
        # Older stores ignore consignment_structure; fall back to the products sub-resource.
        resp = await self._request("GET", f"v2/orders/{row['id']}/products")
        if resp.status_code == 204 or not resp.content:
            return []
        data = self._json(resp, "GET /v2/orders/{id}/products")
        if not isinstance(data, list):
            raise self._shape("GET /v2/orders/{id}/products", data)
        return [li for li in data if isinstance(li, dict)]

    def _order_payload(self, row: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
        def dec(name: str) -> Decimal:
            return Decimal(str(row.get(name) or 0))

        total_tax, total_ex = dec("total_tax"), dec("total_ex_tax")
        shipping = dec("shipping_cost_ex_tax") + dec("handling_cost_ex_tax") + dec("wrapping_cost_ex_tax")
        # BigCommerce v2 orders carry tax per order, not a code per line; one order-level tax
        # line keeps the total formula, and the tax_code mapping turns the code into the ERP's.
        rate = min(Decimal(1), (total_tax / total_ex).quantize(Decimal("0.0001"))) if total_ex > 0 else Decimal(0)
        code = (self.options.get("tax_code", "BC-TAX") if total_tax > 0
                else self.options.get("exempt_tax_code", "BC-EXEMPT"))
        order_lines = []
        for li in lines:
            discount = sum((Decimal(str(d.get("amount") or 0)) for d in li.get("applied_discounts") or []
                            if isinstance(d, dict)), Decimal(0))
            order_lines.append({"sku": li.get("sku") or "", "quantity": str(li.get("quantity")),
                                "unit_price": _money(li.get("price_ex_tax")), "tax_code": None,
                                "discount": _money(discount)})
        billing = row.get("billing_address") or {}
        customer = None
        if billing or row.get("customer_id"):
            country = billing.get("country_iso2") or None
            customer = {
                "customer_id": str(row["customer_id"]) if row.get("customer_id") else None,
                "name": f"{billing.get('first_name', '')} {billing.get('last_name', '')}".strip() or None,
                "email": billing.get("email") or None, "phone": billing.get("phone") or None,
                "address": {"line1": billing.get("street_1") or None, "line2": billing.get("street_2") or None,
                            "city": billing.get("city") or None, "region": billing.get("state") or None,
                            "postal_code": billing.get("zip") or None, "country": country},
            }
        status = re.sub(r"[^a-z0-9]+", "_", str(row.get("status") or "unknown").lower()).strip("_")
        total = dec("total_inc_tax")
        payments = ([{"method": row["payment_method"], "amount": _money(total), "reference": None}]
                    if row.get("payment_method") else [])
        try:
            placed = parsedate_to_datetime(row["date_created"]).isoformat()
        except (KeyError, TypeError, ValueError):
            placed = None  # left for the engine's payload validation to report
        return {
            "order_number": f"{self.options.get('order_number_prefix', '')}{row.get('id')}",
            "channel": "bigcommerce", "status": status, "placed_at": placed,
            "currency": row.get("currency_code"), "customer": customer, "lines": order_lines,
            "taxes": [{"code": code, "rate": str(rate), "amount": _money(total_tax)}],
            "payments": payments, "location_id": self.options.get("order_location"),
            "shipping": _money(shipping), "taxes_included": False, "total": _money(total),
        }
