"""WooCommerce (REST API v3, ``/wp-json/wc/v3``): orders and refunds in, product/variation stock out.

- Auth: consumer key and secret, the credential store holding ``"ck_...:cs_..."``. Sent as HTTP
  Basic, or as ``consumer_key``/``consumer_secret`` query parameters with ``options.query_auth``
  (for servers that drop the Authorization header). Both are only safe over HTTPS; over plain
  HTTP WooCommerce wants OAuth 1.0a, which syncops does not implement, so a plain-HTTP base URL
  other than loopback is refused before any call.
- Orders: ``GET /orders?modified_after=W&dates_are_gmt=true&orderby=id&order=asc&page&per_page``.
  The documented sort keys do not include the modification date, so one *pass* pages through
  everything modified after the watermark W (in id order, so rows modified during the pass only
  ever shift later, i.e. are re-read, never skipped), and only when the pass ends does W move: to
  one second before the smaller of the newest ``date_modified_gmt`` seen and the server's
  ``Date`` at the start of the pass (``modified_after`` is exclusive and dates are whole seconds).
  Everything re-read is dropped by its idempotency key ``wc:order:<id>:<modified>:<digest>``.
- Refunds (entity "return"): the same order walk; for each order listing refunds,
  ``GET /orders/<id>/refunds``; key ``wc:return:<refund id>``. See ``_return_payload``.
- Stock (entity "inventory"): absolute ``stock_quantity`` with ``manage_stock: true`` through
  ``POST /products/batch`` (simple products) and ``POST /products/<id>/variations/batch``
  (variations), <= 100 updates per call, per-item results from the batch answer. WooCommerce
  keeps one stock figure per product, so a store is one location (``options.stock_location``).
- Errors: ``{code, message, data: {status}}``; 401/403 -> auth, 400/404 -> validation,
  409 -> conflict, 429 -> rate limit (strict ``Retry-After``), 5xx -> unavailable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from syncops.connectors import signals
from syncops.connectors.base import CallInfo, Delivery, ItemResult, PullPage, SourceChange
from syncops.connectors.credentials import SIMULATOR_SECRET
from syncops.connectors.errors import DeliveryError
from syncops.models import InventoryPosition
from syncops.store.categories import Category

API_PATH = "/wp-json/wc/v3"
MAX_BATCH = 100  # "By default it's limited to up to 100 objects to be created, updated or deleted."
MAX_PER_PAGE = 100  # WordPress REST collections cap per_page at 100
CATALOG_TTL = 300.0
EXCERPT = 500


def verify_webhook(raw: bytes, signature: str | None, secret: str) -> bool:
    """``X-WC-Webhook-Signature``: base64(HMAC-SHA256(webhook secret, raw body)), compared in constant time."""
    if not signature or not raw:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        return Decimal(0)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _gmt_epoch(value: Any) -> int | None:
    """``date_*_gmt`` fields: ISO 8601 without an offset, in GMT."""
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp())


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def _excerpt(text: str, secrets: tuple[str, ...] = ()) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text[:EXCERPT]


def classify(resp: httpx.Response, what: str, ceiling: float = signals.MAX_WAIT,
             secrets: tuple[str, ...] = ()) -> DeliveryError:
    status = resp.status_code
    body = signals.json_body(resp)
    code = body.get("code") if isinstance(body, dict) and isinstance(body.get("code"), str) else None
    message = body.get("message") if isinstance(body, dict) and isinstance(body.get("message"), str) else ""
    detail = f"{code}: {message}" if code else (message or f"HTTP {status}")
    kw: dict[str, Any] = {"status": status, "response_excerpt": _excerpt(resp.text, secrets), "vendor_code": code}
    if status in (401, 403):
        return DeliveryError(Category.AUTH, f"WooCommerce refused {what}: {detail}", **kw)
    if status == 429:
        wait = signals.retry_after(resp.headers.get("Retry-After"), ceiling=ceiling)
        return DeliveryError(Category.RATE_LIMIT, f"WooCommerce throttled {what} (429){wait.describe()}",
                             retry_after=wait.seconds, **kw)
    if status in (400, 404, 405, 413, 422):
        return DeliveryError(Category.VALIDATION, f"WooCommerce rejected {what}: {detail}", **kw)
    if status == 409:
        return DeliveryError(Category.CONFLICT, f"WooCommerce reported a conflict on {what}: {detail}", **kw)
    if status >= 500:
        wait = signals.retry_after(resp.headers.get("Retry-After"), ceiling=ceiling)
        return DeliveryError(Category.UNAVAILABLE, f"WooCommerce failed {what} with HTTP {status}{wait.describe()}",
                             retry_after=wait.seconds, **kw)
    return DeliveryError(Category.UNKNOWN, f"unexpected HTTP {status} from WooCommerce for {what}", **kw)


class WooCommerceConnector:
    kind = "woocommerce"
    pull_entities = frozenset({"order", "return"})
    push_entities = frozenset({"inventory"})
    max_batch = MAX_BATCH

    def __init__(self, base_url: str, secret: str, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time, options: dict[str, Any] | None = None) -> None:
        self.options = dict(options or {})
        base = base_url.rstrip("/")
        if not base.endswith(API_PATH):
            base += API_PATH
        self.base_url = base
        parts = urlsplit(base)
        self._insecure = parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1")
        if secret == SIMULATOR_SECRET:
            secret = "ck_simulator:cs_simulator"
        key, sep, sec = secret.partition(":")
        self._key, self._sec = key, sec
        self._bad_secret = not (sep and key and sec)
        self.ceiling = signals.ceiling_of(self.options)
        self.clock = clock
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=15.0, limits=httpx.Limits(max_keepalive_connections=8))
        self._catalog: dict[str, tuple[int, int | None]] = {}  # sku -> (product id, variation id | None)
        self._stock: dict[str, int | None] = {}  # sku -> managed stock at the last catalog read
        self._catalog_read_at: float | None = None
        self._last = CallInfo()

    # ------------------------------------------------------------------ transport

    async def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                       body: Any = None) -> httpx.Response:
        what = f"{method} /{path}"
        if self._bad_secret:
            raise DeliveryError(Category.AUTH, "the WooCommerce credential must be \"consumer_key:consumer_secret\"")
        if self._insecure:
            raise DeliveryError(Category.AUTH, "WooCommerce accepts key/secret only over HTTPS (plain HTTP needs "
                                               "OAuth 1.0a, which syncops does not implement)")
        params = dict(params or {})
        headers = {"Accept": "application/json", "User-Agent": "syncops"}
        if self.options.get("query_auth"):
            params.update(consumer_key=self._key, consumer_secret=self._sec)
        else:
            token = base64.b64encode(f"{self._key}:{self._sec}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        write = method != "GET"
        try:
            resp = await self._client.request(method, f"{self.base_url}/{path}", params=params,
                                              json=body, headers=headers)
        except httpx.HTTPError as exc:
            self._last = CallInfo()
            err = signals.transport_failure(exc, f"WooCommerce {what}")
            err.maybe_applied = err.maybe_applied and write
            raise err from None
        wait = None
        if resp.status_code == 429:
            wait = signals.retry_after(resp.headers.get("Retry-After"), ceiling=self.ceiling).seconds
        total = signals.number(resp.headers.get("X-WP-Total"))
        self._last = CallInfo(wait_seconds=wait, extra={"total": int(total)} if total is not None else {})
        if resp.status_code >= 400:
            err = classify(resp, what, self.ceiling, (self._sec,))
            err.maybe_applied = write and signals.status_may_have_applied(resp.status_code)
            raise err
        return resp

    def _json(self, resp: httpx.Response, what: str) -> Any:
        body = signals.json_body(resp)
        if body is None:
            raise signals.malformed("WooCommerce", f"{what} answered with a body that is not JSON "
                                    f"({resp.headers.get('content-type', '?')})", status=resp.status_code,
                                    excerpt=_excerpt(resp.text, (self._sec,)),
                                    applied_if_write=resp.request.method != "GET")
        return body

    def _shape(self, what: str, value: Any, *, write: bool = False) -> DeliveryError:
        return signals.malformed("WooCommerce", f"{what} returned an unexpected shape", status=200,
                                 excerpt=_excerpt(json.dumps(value, default=str)), applied_if_write=write)

    async def _list(self, path: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], httpx.Response]:
        resp = await self._request("GET", path, params=params)
        rows = self._json(resp, f"GET /{path}")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise self._shape(f"GET /{path}", rows)
        return rows, resp

    @staticmethod
    def _total_pages(resp: httpx.Response) -> int | None:
        value = signals.number(resp.headers.get("X-WP-TotalPages"), maximum=1e9)
        return None if value is None else int(value)

    # ------------------------------------------------------------------ protocol

    def last_call(self) -> CallInfo:
        return self._last

    async def check_auth(self) -> str:
        _, resp = await self._list("orders", {"per_page": 1})
        total = resp.headers.get("X-WP-Total", "?")
        return f"WooCommerce store at {self.base_url} OK; {total} orders"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def pull(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        if entity not in self.pull_entities:
            raise DeliveryError(Category.VALIDATION, f"the WooCommerce connector cannot pull {entity!r}")
        return await self._pull(entity, cursor, limit)

    async def push(self, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
        if entity != "inventory":
            raise DeliveryError(Category.VALIDATION, f"the WooCommerce connector cannot push {entity!r}")
        return await self._push_inventory(deliveries)

    # ------------------------------------------------------------------ pull

    @staticmethod
    def _parse_cursor(cursor: str | None) -> dict[str, Any]:
        state = {"watermark": 0, "page": 1, "high": 0, "start": None, "total": None}
        if cursor:
            try:
                raw = json.loads(cursor)
                state.update(watermark=int(raw["watermark"]), page=max(1, int(raw.get("page", 1))),
                             total=int(raw["total"]) if raw.get("total") is not None else None,
                             high=int(raw.get("high", 0)),
                             start=int(raw["start"]) if raw.get("start") is not None else None)
            except (ValueError, KeyError, TypeError):
                pass  # unreadable: start over; idempotency keys drop the repeats
        return state

    async def _pull(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        state = self._parse_cursor(cursor)
        per_page = max(1, min(limit, MAX_PER_PAGE))
        params = {"modified_after": _iso(state["watermark"]), "dates_are_gmt": "true", "orderby": "id",
                  "order": "asc", "page": state["page"], "per_page": per_page}
        try:
            rows, resp = await self._list("orders", params)
        except DeliveryError as exc:
            # Orders trashed since the pass began can leave the cursor past the last page, which
            # WordPress answers with 400 ..._invalid_page_number: the pass is over.
            if state["page"] == 1 or exc.status != 400 or "invalid_page_number" not in (exc.vendor_code or ""):
                raise
            return self._end_pass(state)
        total = signals.number(resp.headers.get("X-WP-Total"), maximum=1e12)
        if state["page"] > 1 and total is not None and state.get("total") is not None and total < state["total"]:
            # Orders were trashed since the pass began, so later rows moved to pages already read:
            # read the pass again from page 1 (the repeats are dropped by their keys).
            return PullPage(changes=[], cursor=json.dumps({**state, "page": 1, "total": int(total)}), has_more=True)
        if total is not None:
            state["total"] = int(total)
        if state["page"] == 1 and state["start"] is None:
            try:
                state["start"] = int(parsedate_to_datetime(resp.headers["Date"]).timestamp())
            except (KeyError, TypeError, ValueError, IndexError):
                state["start"] = None
        changes: list[SourceChange] = []
        for row in rows:
            modified = _gmt_epoch(row.get("date_modified_gmt"))
            if modified is None or row.get("id") is None:
                raise self._shape("GET /orders (id, date_modified_gmt)", row)
            state["high"] = max(state["high"], modified)
            if entity == "order":
                changes.append(self._order_change(row, modified))
            elif row.get("refunds"):
                changes += await self._refund_changes(row)
        pages = self._total_pages(resp)
        done = len(rows) < per_page if pages is None else state["page"] >= pages or not rows
        if done:
            return self._end_pass(state, changes)
        return PullPage(changes=changes, cursor=json.dumps({**state, "page": state["page"] + 1}), has_more=True)

    def _order_change(self, row: dict[str, Any], modified: int) -> SourceChange:
        payload = self._order_payload(row)
        return SourceChange(idempotency_key=f"wc:order:{row['id']}:{modified}:{_digest(payload)}",
                            entity_key=payload["order_number"], payload=payload, source_payload=row,
                            changed_at=float(modified))

    async def fetch_order(self, order_id: int) -> SourceChange | None:
        """One order as the poll reads it (webhooks: the key is the poll's, so both make one record).
        A webhook's body is not trusted as the order: it is re-read, and a deleted order is None."""
        try:
            resp = await self._request("GET", f"orders/{int(order_id)}")
        except DeliveryError as exc:
            if exc.status == 404:
                return None
            raise
        row = self._json(resp, "GET /orders/<id>")
        modified = _gmt_epoch(row.get("date_modified_gmt")) if isinstance(row, dict) else None
        if modified is None or row.get("id") is None:
            raise self._shape("GET /orders/<id> (id, date_modified_gmt)", row)
        return self._order_change(row, modified)

    @staticmethod
    def _end_pass(state: dict[str, Any], changes: list[SourceChange] | None = None) -> PullPage:
        """Move the watermark to one second before min(newest modification read, server time at
        the pass's start): anything modified during the pass is after it (modified_after is exclusive)."""
        bound = state["high"] if state["start"] is None else min(state["high"], state["start"])
        cursor = {"watermark": max(state["watermark"], bound - 1), "page": 1, "high": 0, "start": None,
                  "total": None}
        return PullPage(changes=changes or [], cursor=json.dumps(cursor), has_more=False)

    def _fees(self, row: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        """Fee lines (a gift-wrap or handling fee; a negative one is how discount plugins take money
        off): a positive fee is one more order line on ``options.fee_sku`` (default ``FEE``, a service
        item the sku map can send to the ERP's), a negative one is spread over the item lines as
        discount in proportion to their amounts, cent-exact. Their tax is already in ``tax_lines``."""
        credit = Decimal(0)
        for fee in row.get("fee_lines") or []:
            if not isinstance(fee, dict):
                continue
            total = _dec(fee.get("total"))
            if total > 0:
                lines.append({"sku": str(self.options.get("fee_sku") or "FEE"), "quantity": "1",
                              "unit_price": _money(total), "tax_code": None, "discount": "0.00"})
            else:
                credit -= total
        if credit <= 0:
            return
        items = [ln for ln in lines if ln["sku"] != str(self.options.get("fee_sku") or "FEE")]
        room = [_dec(ln["unit_price"]) * _dec(ln["quantity"]) - _dec(ln["discount"]) for ln in items]
        base = sum(room, Decimal(0))
        if base <= 0:
            return  # nothing to take it off: the total check names the gap
        left = min(credit, base)
        for i, (ln, r) in enumerate(zip(items, room)):
            share = left if i == len(items) - 1 else min(r, (credit * r / base).quantize(Decimal("0.01")))
            share = min(share, r)
            ln["discount"] = _money(_dec(ln["discount"]) + share)
            left -= share

    def _order_number(self, row: dict[str, Any]) -> str:
        return f"{self.options.get('order_number_prefix', '')}{row.get('number') or row.get('id')}"

    def _order_payload(self, row: dict[str, Any]) -> dict[str, Any]:
        lines = []
        for li in row.get("line_items") or []:
            if not isinstance(li, dict):
                continue
            qty = _dec(li.get("quantity"))
            subtotal, total = _dec(li.get("subtotal")), _dec(li.get("total"))
            unit = (subtotal / qty).quantize(Decimal("0.0001")) if qty else Decimal(0)
            discount = max(Decimal(0), unit * qty - total)
            lines.append({"sku": li.get("sku") or "", "quantity": str(li.get("quantity")),
                          "unit_price": _money(unit) if unit == unit.quantize(Decimal("0.01")) else str(unit),
                          "tax_code": None, "discount": _money(discount)})
        self._fees(row, lines)
        taxes = []
        for tl in row.get("tax_lines") or []:
            if not isinstance(tl, dict):
                continue
            amount = _dec(tl.get("tax_total")) + _dec(tl.get("shipping_tax_total"))
            rate = (_dec(tl.get("rate_percent")) / 100).quantize(Decimal("0.0001"))
            taxes.append({"code": str(tl.get("rate_code") or tl.get("label") or "WC-TAX"),
                          "rate": str(min(Decimal(1), max(Decimal(0), rate))), "amount": _money(amount)})
        billing = row.get("billing") if isinstance(row.get("billing"), dict) else {}
        customer = None
        if billing or row.get("customer_id"):
            customer = {
                "customer_id": str(row["customer_id"]) if row.get("customer_id") else None,
                "name": f"{billing.get('first_name', '')} {billing.get('last_name', '')}".strip() or None,
                "email": billing.get("email") or None, "phone": billing.get("phone") or None,
                "address": {"line1": billing.get("address_1") or None, "line2": billing.get("address_2") or None,
                            "city": billing.get("city") or None, "region": billing.get("state") or None,
                            "postal_code": billing.get("postcode") or None,
                            "country": billing.get("country") or None},
            }
        total = _dec(row.get("total"))
        payments = ([{"method": str(row["payment_method"]), "amount": _money(total),
                      "reference": row.get("transaction_id") or None}] if row.get("payment_method") else [])
        created = _gmt_epoch(row.get("date_created_gmt"))
        return {
            "order_number": self._order_number(row), "channel": "woocommerce",
            "status": str(row.get("status") or "unknown").replace("-", "_"),
            "placed_at": datetime.fromtimestamp(created, tz=timezone.utc).isoformat() if created else None,
            "currency": row.get("currency"), "customer": customer, "lines": lines, "taxes": taxes,
            "payments": payments, "location_id": self.options.get("order_location"),
            "shipping": _money(_dec(row.get("shipping_total"))),
            "taxes_included": bool(row.get("prices_include_tax")), "total": _money(total),
        }

    async def _refund_changes(self, order: dict[str, Any]) -> list[SourceChange]:
        path = f"orders/{int(order['id'])}/refunds"
        refunds, page = [], 1
        while True:
            rows, resp = await self._list(path, {"page": page, "per_page": MAX_PER_PAGE})
            refunds += rows
            pages = self._total_pages(resp) or 1
            if page >= pages or not rows:
                break
            page += 1
        out = []
        for refund in refunds:
            payload = self._return_payload(order, refund)
            if payload is None:
                continue  # an amount-only refund: no goods came back
            created = _gmt_epoch(refund.get("date_created_gmt")) or 0
            out.append(SourceChange(idempotency_key=f"wc:return:{refund['id']}", entity_key=payload["return_number"],
                                    payload=payload, source_payload=refund, changed_at=float(created)))
        return out

    def _return_payload(self, order: dict[str, Any], refund: dict[str, Any]) -> dict[str, Any] | None:
        """Refund line items carry negative quantity, total (ex tax) and total_tax; the refunded
        amount of a line is -(total + total_tax). Whether the items were restocked (``api_restock``)
        is write-only in the API, so ``restock`` is the retailer's policy, option ``refund_restock``."""
        if refund.get("id") is None:
            raise self._shape(f"GET /orders/{order.get('id')}/refunds (id)", refund)
        lines = []
        for li in refund.get("line_items") or []:
            if not isinstance(li, dict) or not _dec(li.get("quantity")):
                continue
            amount = abs(_dec(li.get("total")) + _dec(li.get("total_tax")))
            lines.append({"sku": li.get("sku") or "", "quantity": str(abs(_dec(li.get("quantity")))),
                          "refund_amount": _money(amount), "restock": bool(self.options.get("refund_restock", False))})
        if not lines:
            return None
        created = _gmt_epoch(refund.get("date_created_gmt"))
        method = str(order.get("payment_method") or "OTHER") if refund.get("refunded_payment") else "MANUAL"
        return {
            "return_number": f"{self._order_number(order)}-R{refund['id']}",
            "order_number": self._order_number(order), "location_id": self.options.get("order_location"),
            "created_at": datetime.fromtimestamp(created, tz=timezone.utc).isoformat() if created else None,
            "currency": order.get("currency"), "lines": lines, "refund_method": method,
            "total": _money(sum((_dec(ln["refund_amount"]) for ln in lines), Decimal(0))),
        }

    # ------------------------------------------------------------------ push

    async def _read_catalog(self) -> None:
        """Products and variations by SKU; their managed stock is kept too (reconciliation reads it)."""
        catalog: dict[str, tuple[int, int | None]] = {}
        stock: dict[str, int | None] = {}

        def keep(row: dict[str, Any], ids: tuple[int, int | None]) -> None:
            catalog[str(row["sku"])] = ids
            qty = row.get("stock_quantity")
            managed = row.get("manage_stock") is True and type(qty) is int
            stock[str(row["sku"])] = qty if managed else None

        page = 1
        while True:
            rows, resp = await self._list("products", {"page": page, "per_page": MAX_PER_PAGE})
            for p in rows:
                if p.get("sku"):
                    keep(p, (int(p["id"]), None))
                if p.get("type") == "variable":
                    vpage = 1
                    while True:
                        vrows, vresp = await self._list(f"products/{int(p['id'])}/variations",
                                                        {"page": vpage, "per_page": MAX_PER_PAGE})
                        for v in vrows:
                            if v.get("sku"):
                                keep(v, (int(p["id"]), int(v["id"])))
                        if vpage >= (self._total_pages(vresp) or 1) or not vrows:
                            break
                        vpage += 1
            if page >= (self._total_pages(resp) or 1) or not rows:
                break
            page += 1
        self._catalog, self._stock, self._catalog_read_at = catalog, stock, self.clock()

    async def read_levels(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        """Current managed stock for reconciliation: one fresh catalog walk. The store is one
        location (options.stock_location, when set); SKUs without managed stock are absent."""
        location = self.options.get("stock_location")
        wanted = {(sku, loc) for sku, loc in pairs if not location or loc == location}
        if not wanted:
            return {}
        await self._read_catalog()
        return {(sku, loc): self._stock[sku] for sku, loc in wanted if self._stock.get(sku) is not None}

    async def _resolve(self, skus: set[str]) -> dict[str, tuple[int, int | None]]:
        """SKU -> (product id, variation id); the catalog is re-read when stale, or when a SKU is
        unknown and the last read is more than 30 s old (a product added since)."""
        now = self.clock()
        age = None if self._catalog_read_at is None else now - self._catalog_read_at
        if age is None or age > CATALOG_TTL or (skus - self._catalog.keys() and age > 30):
            await self._read_catalog()
        return {s: self._catalog[s] for s in skus if s in self._catalog}

    async def _push_inventory(self, deliveries: list[Delivery]) -> list[ItemResult]:
        results: dict[int, ItemResult] = {}
        positions: dict[int, InventoryPosition] = {}
        location = self.options.get("stock_location")
        for i, d in enumerate(deliveries):
            try:
                pos = InventoryPosition.model_validate(d.payload)
            except ValidationError as exc:
                results[i] = ItemResult(d.record_id, error=DeliveryError(
                    Category.VALIDATION, f"payload is not a valid inventory position: {exc.error_count()} problem(s)"))
                continue
            if location and pos.location_id != location:
                results[i] = ItemResult(d.record_id, error=DeliveryError(
                    Category.MAPPING, f"location {pos.location_id!r} is not this store's stock location {location!r}"))
                continue
            positions[i] = pos
        ids = await self._resolve({p.sku for p in positions.values()}) if positions else {}
        groups: dict[int | None, list[tuple[int, dict[str, Any]]]] = {}  # parent id (None: products) -> items
        for i, pos in positions.items():
            if pos.sku not in ids:
                results[i] = ItemResult(deliveries[i].record_id, error=DeliveryError(
                    Category.MAPPING, f"sku {pos.sku!r} is no product or variation in the WooCommerce store"))
                continue
            product_id, variation_id = ids[pos.sku]
            item = {"id": variation_id or product_id, "manage_stock": True, "stock_quantity": pos.available}
            groups.setdefault(product_id if variation_id else None, []).append((i, item))
        applied = False
        for parent, items in groups.items():
            path = "products/batch" if parent is None else f"products/{parent}/variations/batch"
            for start in range(0, len(items), MAX_BATCH):
                chunk = items[start:start + MAX_BATCH]
                try:
                    outcome = await self._send_batch(path, [item for _, item in chunk])
                except DeliveryError as exc:
                    if not applied:
                        raise
                    for i, _ in chunk:
                        results[i] = ItemResult(deliveries[i].record_id, error=exc, status=exc.status,
                                                request_summary=f"POST /{path}",
                                                response_excerpt=exc.response_excerpt or "")
                    continue
                applied = True
                for i, item in chunk:
                    answer = outcome.get(item["id"])
                    d = deliveries[i]
                    if isinstance(answer, DeliveryError):
                        results[i] = ItemResult(d.record_id, error=answer, status=answer.status,
                                                request_summary=f"POST /{path}",
                                                response_excerpt=answer.response_excerpt or "")
                    else:
                        results[i] = ItemResult(d.record_id, target_ref=str(item["id"]), status=200,
                                                request_summary=f"POST /{path}",
                                                response_excerpt=f"stock_quantity={answer}")
        return [results[i] for i in range(len(deliveries))]

    async def _send_batch(self, path: str, items: list[dict[str, Any]]) -> dict[int, Any]:
        """id -> stock_quantity the store now holds, or the item's DeliveryError."""
        what = f"POST /{path}"
        data = self._json(await self._request("POST", path, body={"update": items}), what)
        rows = data.get("update") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise self._shape(what, data, write=True)
        out: dict[int, Any] = {}
        for row in rows:
            if not isinstance(row, dict) or not isinstance(row.get("id"), int):
                raise self._shape(what, data, write=True)
            err = row.get("error")
            if isinstance(err, dict):
                status = (err.get("data") or {}).get("status") if isinstance(err.get("data"), dict) else None
                cat = Category.AUTH if status in (401, 403) else Category.VALIDATION
                out[row["id"]] = DeliveryError(cat, f"WooCommerce rejected item {row['id']}: {err.get('code')}: "
                                                    f"{err.get('message')}", status=status,
                                               vendor_code=err.get("code"), response_excerpt=_excerpt(json.dumps(row)))
            else:
                out[row["id"]] = row.get("stock_quantity")
        missing = [it["id"] for it in items if it["id"] not in out]
        for item_id in missing:
            out[item_id] = signals.malformed("WooCommerce", f"{what} answer lacks item {item_id}", status=200,
                                             excerpt=_excerpt(json.dumps(data)), applied_if_write=True)
        return out
