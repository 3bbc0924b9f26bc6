"""A BigCommerce-like storefront: multi-location inventory (v3), catalog variants (v3), orders (v2).

Serves, under ``/stores/<store_hash>/``:
- ``GET  v2/store``                          store information (cheap auth check)
- ``GET  v3/inventory/locations``            locations (id, code, label)
- ``PUT  v3/inventory/adjustments/absolute`` set stock; <= 2000 items, each naming exactly one
  of sku | variant_id | product_id (oneOf) + location_id + integer quantity; all-or-nothing;
  ``422 application/problem+json`` on bad input; ``{"transaction_id": ...}`` on success
- ``GET  v3/inventory/items``                stock per location (page/limit, sku:in, variant_id:in, location_id:in)
- ``GET  v3/catalog/variants``               variants (id, sku, page/limit)
- ``PUT  v3/catalog/variants``               batch update, <= 50 items (413), ``422 {"batch_errors": [...]}``
- ``GET  v2/orders``                         JSON array; min_date_modified, min_id, sort, page, limit,
  include=consignments.line_items&consignment_structure=object; an empty page is ``204``
  (not vendor-confirmed); ``GET v2/orders/<id>`` and ``v2/orders/<id>/products``

Auth is ``X-Auth-Token`` (any non-empty token except "bad-token"). Every answer carries the
store-wide 30-second window headers (X-Rate-Limit-Time-Window-Ms, -Time-Reset-Ms,
-Requests-Quota, -Requests-Left) computed on the injected clock; over quota, or when
``faults.throttled()``, the answer is 429 with those headers plus ``X-Retry-After`` (seconds).

Simplifications: every SKU is its own product with one base variant, tracked by variant
(so a ``product_id`` identity gets the vendor's "tracked by variant" 422); orders have one
shipping consignment; shipping is untaxed.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Callable, Iterable, Mapping

from syncops.simulator import bigcommerce_refunds
from syncops.simulator.faults import Faults
from syncops.simulator.http import Request, Response, json_response

DEFAULT_SKUS: dict[str, str] = {"TSHIRT-RED-M": "19.99", "TSHIRT-BLUE-L": "21.00", "MUG-WHITE": "12.50"}
DEFAULT_LOCATIONS = ("web", "store-1")
STATUS_DOC = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
MAX_ADJUSTMENT_ITEMS = 2000
MAX_VARIANT_BATCH = 50

STATUSES: dict[str, int] = {
    "Incomplete": 0, "Pending": 1, "Shipped": 2, "Partially Shipped": 3, "Refunded": 4, "Cancelled": 5,
    "Declined": 6, "Awaiting Payment": 7, "Awaiting Pickup": 8, "Awaiting Shipment": 9, "Completed": 10,
    "Awaiting Fulfillment": 11, "Manual Verification Required": 12, "Disputed": 13, "Partially Refunded": 14,
}

_FAKE_CUSTOMERS = [
    ("Jane", "Doe", "jane.doe@example.com", "+1 555-010-4477", "12 Market St", "Springfield", "Illinois", "62701"),
    ("Omar", "Haddad", "omar.h@example.com", "+1 555-010-9120", "8 Elm Ave", "Portland", "Oregon", "97205"),
    ("Mei", "Tanaka", "mei.tanaka@example.net", "+1 555-010-3301", "40 Pine Rd", "Austin", "Texas", "73301"),
]

_ROUTE = re.compile(r"^/stores/([^/]+)/(v2|v3)/(.+?)/?$")
_CENT = Decimal("0.01")


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _c(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _s4(value: Decimal) -> str:
    return f"{value:.4f}"


def rfc2822(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(int(epoch), tz=timezone.utc))


def _parse_date(value: str) -> float:
    """min_date_modified accepts RFC 2822 or ISO 8601 (the API docs say so)."""
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        pass
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _problem(status: int, title: str, errors: dict[str, str] | None = None) -> Response:
    return Response(status, {"status": status, "title": title, "type": STATUS_DOC, "errors": errors or {}},
                    content_type="application/problem+json")


def _v2_error(status: int, message: str) -> Response:
    return json_response([{"status": status, "message": message}], status=status)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class BigCommerceApp:
    """The simulated store. Thread-safe: one lock around all state."""

    name = "bigcommerce"
    webhooks: Any = None  # a simulator.webhooks.WebhookSender: store/order/created|statusUpdated (ids only)

    def __init__(
        self,
        faults: Faults | None = None,
        clock: Callable[[], float] = time.time,
        *,
        skus: Mapping[str, Any] | Iterable[str] = DEFAULT_SKUS,
        locations: Iterable[str] = DEFAULT_LOCATIONS,
        store_hash: str = "abc123",
        quota: int = 150,
        window_seconds: float = 30.0,
        tax_rate: Any = "0.0825",
        currency: str = "USD",
    ) -> None:
        self.faults = faults or Faults(clock=clock)
        self.clock = clock
        self.store_hash = store_hash
        self.quota = quota
        self.window_seconds = window_seconds
        self.tax_rate = _d(tax_rate)
        self.currency = currency
        self._lock = threading.RLock()
        self._window_start: float | None = None
        self._used = 0
        self.variants: dict[int, dict[str, Any]] = {}
        self.locations: dict[int, dict[str, Any]] = {}
        self.stock: dict[tuple[int, int], int] = {}  # (variant_id, location_id) -> on hand
        self.orders_by_id: dict[int, dict[str, Any]] = {}
        self.transactions: list[dict[str, Any]] = []  # every accepted absolute adjustment
        self.requests: list[tuple[str, str]] = []  # (method, path after the store hash)
        self._next_order = 100
        self._tx = 0
        for n, code in enumerate(locations, start=1):
            self.locations[n] = {"id": n, "code": code, "label": code.replace("-", " ").title(),
                                 "enabled": True, "type_id": "PHYSICAL", "is_default": n == 1}
        prices = skus if isinstance(skus, Mapping) else {sku: "10.00" for sku in skus}
        for sku, price in prices.items():
            self.add_variant(sku, price)

    # ------------------------------------------------------------------ generators / inspection

    def add_variant(self, sku: str, price: Any) -> int:
        with self._lock:
            vid = len(self.variants) + 1
            self.variants[vid] = {
                "id": vid, "product_id": 100 + vid, "sku": sku, "sku_id": None, "price": float(_d(price)),
                "sale_price": None, "retail_price": None, "cost_price": 0.0, "calculated_price": float(_d(price)),
                "inventory_level": 0, "option_values": [], "purchasing_disabled": False,
            }
            return vid

    def _variant_by_sku(self, sku: str) -> dict[str, Any] | None:
        return next((v for v in self.variants.values() if v["sku"] == sku), None)

    def _location_id(self, location: int | str) -> int:
        if isinstance(location, int):
            return location
        return next(loc["id"] for loc in self.locations.values() if loc["code"] == location)

    def stock_level(self, sku: str, location: int | str) -> int | None:
        with self._lock:
            variant = self._variant_by_sku(sku)
            if variant is None:
                return None
            return self.stock.get((variant["id"], self._location_id(location)))

    def variant(self, sku: str) -> dict[str, Any] | None:
        with self._lock:
            variant = self._variant_by_sku(sku)
            return dict(variant) if variant else None

    def place_order(self, lines: Iterable[tuple[Any, ...]], *, customer: int | None = None,
                    status: str = "Awaiting Fulfillment", shipping: Any = "0",
                    payment_method: str = "Credit Card", now: float | None = None) -> int:
        """A shopper checks out. lines: (sku, qty[, unit_price[, line_discount]])."""
        with self._lock:
            stamp = self.clock() if now is None else now
            oid = self._next_order
            self._next_order += 1
            products = []
            for n, line in enumerate(lines):
                sku, qty = line[0], int(line[1])
                variant = self._variant_by_sku(sku)
                if variant is None:
                    raise KeyError(f"unknown sku {sku!r}")
                price = _d(line[2]) if len(line) > 2 else _d(variant["price"])
                discount = _d(line[3]) if len(line) > 3 else Decimal("0")
                ex = price * qty
                tax = _c((ex - discount) * self.tax_rate)
                unit_tax = _c(price * self.tax_rate)
                products.append({
                    "id": oid * 10 + n, "order_id": oid, "product_id": variant["product_id"],
                    "variant_id": variant["id"], "name": sku.replace("-", " ").title(), "sku": sku,
                    "type": "physical", "quantity": qty, "base_price": _s4(price), "price_ex_tax": _s4(price),
                    "price_inc_tax": _s4(price + unit_tax), "price_tax": _s4(unit_tax),
                    "base_total": _s4(ex), "total_ex_tax": _s4(ex), "total_inc_tax": _s4(ex + tax),
                    "total_tax": _s4(tax), "is_refunded": False, "quantity_refunded": 0, "refund_amount": "0.0000",
                    "quantity_shipped": 0, "upc": "", "applied_discounts": (
                        [{"id": "manual-discount", "amount": _s4(discount), "name": "Discount", "code": None,
                          "target": "order"}] if discount else []),
                    "product_options": [],
                })
            who = customer if customer is not None else oid
            self.orders_by_id[oid] = {
                "id": oid, "customer": _FAKE_CUSTOMERS[who % len(_FAKE_CUSTOMERS)],
                "customer_id": 0 if customer is None else customer + 1, "created": stamp, "modified": stamp,
                "status": status, "shipping": _d(shipping), "payment_method": payment_method, "products": products,
            }
            if self.webhooks is not None:
                self.webhooks.emit("store/order/created", {"type": "order", "id": oid})
            return oid

    def refund_order(self, order_id: int, lines: list[tuple[str, int]], *, now: float | None = None) -> int:
        """A refund of product lines through the orders v3 refunds API (no restock: see the module)."""
        return bigcommerce_refunds.refund_order(self, order_id, lines, now=now)

    def set_order_status(self, order_id: int, status: str, *, now: float | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown BigCommerce order status {status!r}")
        with self._lock:
            order = self.orders_by_id[order_id]
            order["status"] = status
            order["modified"] = self.clock() if now is None else now
            if self.webhooks is not None:
                self.webhooks.emit("store/order/statusUpdated", {"type": "order", "id": order_id,
                                                                 "status": {"new_status_id": status}})

    def orders(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._render_order(o, True) for o in self.orders_by_id.values()]

    @property
    def requests_left(self) -> int:
        with self._lock:
            return max(0, self.quota - self._used)

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response:
        if self.faults.in_outage():
            if self.faults.plan.outage_mode == "reset":
                return Response(drop_connection=True)
            return _problem(503, "Service Unavailable: the store is temporarily unavailable")
        delay = self.faults.slow_delay()
        if delay:
            time.sleep(delay)  # outside the lock: a slow answer must not stall other clients
        with self._lock:
            match = _ROUTE.match(request.path)
            if not match or match.group(1) != self.store_hash:
                return _problem(404, "Store not found or the route does not exist")
            _, version, rest = match.groups()
            self.requests.append((request.method, f"{version}/{rest}"))
            now = self.clock()
            if self._window_start is None or now >= self._window_start + self.window_seconds:
                self._window_start, self._used = now, 0
            throttled = self.faults.throttled()
            if throttled or self._used >= self.quota:
                return self._too_many(now, throttled)
            self._used += 1
            token = request.header("x-auth-token")
            if not token or token == "bad-token":
                resp = (_problem(401, "Unauthorized: the access token is missing or invalid") if version == "v3"
                        else _v2_error(401, "No credentials were supplied in the request."))
            else:
                resp = self._route(request, version, rest)
            resp.headers.update(self._rate_headers(now))
            return resp

    def _rate_headers(self, now: float, *, left: int | None = None, reset_ms: int | None = None) -> dict[str, str]:
        assert self._window_start is not None
        if reset_ms is None:
            reset_ms = max(0, math.ceil((self._window_start + self.window_seconds - now) * 1000))
        return {
            "X-Rate-Limit-Time-Window-Ms": str(int(self.window_seconds * 1000)),
            "X-Rate-Limit-Time-Reset-Ms": str(reset_ms),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Requests-Left": str(max(0, self.quota - self._used) if left is None else left),
        }

    def _too_many(self, now: float, throttled: bool) -> Response:
        assert self._window_start is not None
        reset_ms = max(0, math.ceil((self._window_start + self.window_seconds - now) * 1000))
        if throttled and self.faults.throttle_remaining() > 0:
            reset_ms = math.ceil(self.faults.throttle_remaining() * 1000)
        resp = _problem(429, "Too many requests: the store's API quota for this window is used up")
        resp.headers.update(self._rate_headers(now, left=0, reset_ms=reset_ms))
        resp.headers["X-Retry-After"] = str(max(1, math.ceil(reset_ms / 1000)))
        return resp

    def _route(self, request: Request, version: str, rest: str) -> Response:
        method = request.method
        if version == "v2":
            if rest == "store" and method == "GET":
                return json_response({"id": self.store_hash, "name": "Simulated Store", "currency": self.currency,
                                      "domain": f"{self.store_hash}.example.com", "plan_name": "Standard"})
            if rest == "orders" and method == "GET":
                return self._list_orders(request)
            m = re.fullmatch(r"orders/(\d+)(/products)?", rest)
            if m and method == "GET":
                order = self.orders_by_id.get(int(m.group(1)))
                if order is None:
                    return _v2_error(404, "The requested resource was not found.")
                if m.group(2):
                    return json_response([dict(p) for p in order["products"]])
                return json_response(self._render_order(order, self._wants_lines(request)))
            return _v2_error(404, "The requested resource was not found.")
        refunds = bigcommerce_refunds.serve(self, request, rest)  # v3 orders payment_actions/refunds
        if refunds is not None:
            return refunds
        routes = {
            ("GET", "inventory/locations"): self._get_locations,
            ("PUT", "inventory/adjustments/absolute"): self._absolute,
            ("GET", "inventory/items"): self._get_items,
            ("GET", "catalog/variants"): self._get_variants,
            ("PUT", "catalog/variants"): self._put_variants,
        }
        handler = routes.get((method, rest))
        if handler is None:
            if any(path == rest for _, path in routes):
                return _problem(405, f"Method {method} is not allowed on /{rest}")
            return _problem(404, "The route is not found, check the URL")
        try:
            body = request.json() if method == "PUT" else None
        except ValueError:
            return _problem(400, "Syntax error: the request body is not valid JSON")
        return handler(request, body)

    # -- v3 helpers

    @staticmethod
    def _int_param(request: Request, name: str, default: int, maximum: int) -> int:
        raw = request.query.get(name, [str(default)])[0]
        try:
            value = int(raw)
        except ValueError:
            raise _BadParam(name) from None
        if value < 1:
            raise _BadParam(name)
        return min(value, maximum)

    @staticmethod
    def _paginate(items: list[Any], page: int, limit: int) -> tuple[list[Any], dict[str, Any]]:
        total = len(items)
        pages = max(1, math.ceil(total / limit))
        chunk = items[(page - 1) * limit: page * limit]
        links = {"current": f"?page={page}&limit={limit}"}
        if page < pages:
            links["next"] = f"?page={page + 1}&limit={limit}"
        if page > 1:
            links["previous"] = f"?page={page - 1}&limit={limit}"
        return chunk, {"pagination": {"total": total, "count": len(chunk), "per_page": limit,
                                      "current_page": page, "total_pages": pages, "links": links}}

    @staticmethod
    def _list_param(request: Request, name: str) -> list[str] | None:
        raw = request.query.get(name)
        if not raw:
            return None
        return [v for part in raw for v in part.split(",") if v]

    def _get_locations(self, request: Request, _body: Any) -> Response:
        try:
            page = self._int_param(request, "page", 1, 10_000)
            limit = self._int_param(request, "limit", 50, 1000)
        except _BadParam as exc:
            return _problem(400, f"Invalid query parameter {exc.args[0]!r}")
        chunk, meta = self._paginate([dict(v) for v in self.locations.values()], page, limit)
        return json_response({"data": chunk, "meta": meta})

    def _absolute(self, _request: Request, body: Any) -> Response:
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            return _problem(422, "JSON data is missing or invalid", {"items": "must be a non-empty array"})
        if len(items) > MAX_ADJUSTMENT_ITEMS:
            return _problem(413, "The request payload is too large. The maximum items allowed in the array "
                                 f"is {MAX_ADJUSTMENT_ITEMS}")
        errors: dict[str, str] = {}
        titles: list[str] = []
        changes: list[tuple[int, int, int]] = []
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                errors[f"items.{n}"] = "must be an object"
                continue
            identity = [k for k in ("sku", "variant_id", "product_id") if item.get(k) is not None]
            if len(identity) != 1:
                errors[f"items.{n}"] = "must match exactly one schema in oneOf (sku, variant_id, product_id)"
                titles.append(f"items.{n}: exactly one of sku, variant_id or product_id is required")
                continue
            kind, value = identity[0], item[identity[0]]
            location = item.get("location_id")
            if not _is_int(location) or location not in self.locations:
                errors[f"items.{n}.location_id"] = "location does not exist"
                titles.append(f"Location {location} does not exist")
                continue
            quantity = item.get("quantity")
            if not _is_int(quantity) or quantity < 0 or quantity > 2_147_483_647:
                errors[f"items.{n}.quantity"] = "must be an integer between 0 and 2147483647"
                titles.append(f"items.{n}.quantity must be a non-negative integer")
                continue
            if kind == "product_id":
                titles.append(f"Item with product_id {value} is tracked by variant, please update stock by variant id")
                errors[f"items.{n}.product_id"] = "tracked by variant"
                continue
            variant = (self._variant_by_sku(value) if kind == "sku"
                       else self.variants.get(value) if _is_int(value) else None)
            if variant is None:
                titles.append(f"Item with {kind} {value} does not exist")
                errors[f"items.{n}.{kind}"] = "not found"
                continue
            changes.append((variant["id"], location, quantity))
        if errors:
            # All-or-nothing: one bad item rejects the whole adjustment.
            return _problem(422, "[" + "; ".join(titles or ["Invalid items"]) + "]", errors)
        for vid, location, quantity in changes:
            self.stock[(vid, location)] = quantity
            if location == 1:
                self.variants[vid]["inventory_level"] = quantity  # the catalog shows the default location
        self._tx += 1
        transaction_id = str(uuid.UUID(int=self._tx))
        reason = body.get("reason") if isinstance(body, dict) else None
        self.transactions.append({"transaction_id": transaction_id, "reason": reason, "items": items})
        return json_response({"transaction_id": transaction_id})

    def _get_items(self, request: Request, _body: Any) -> Response:
        try:
            page = self._int_param(request, "page", 1, 10_000)
            limit = self._int_param(request, "limit", 50, 1000)
        except _BadParam as exc:
            return _problem(400, f"Invalid query parameter {exc.args[0]!r}")
        skus = self._list_param(request, "sku:in")
        vids = self._list_param(request, "variant_id:in")
        locs = self._list_param(request, "location_id:in")
        data = []
        for variant in self.variants.values():
            if skus is not None and variant["sku"] not in skus:
                continue
            if vids is not None and str(variant["id"]) not in vids:
                continue
            rows = []
            for loc in self.locations.values():
                if locs is not None and str(loc["id"]) not in locs:
                    continue
                qty = self.stock.get((variant["id"], loc["id"]), 0)
                rows.append({"location_id": loc["id"], "location_code": loc["code"], "location_name": loc["label"],
                             "available_to_sell": qty, "total_inventory_onhand": qty,
                             "location_enabled": loc["enabled"],
                             "settings": {"safety_stock": 0, "is_in_stock": qty > 0, "warning_level": 0,
                                          "bin_picking_number": ""}})
            data.append({"identity": {"sku": variant["sku"], "variant_id": variant["id"],
                                      "product_id": variant["product_id"], "sku_id": variant["sku_id"]},
                         "locations": rows})
        chunk, meta = self._paginate(data, page, limit)
        return json_response({"data": chunk, "meta": meta})

    def _get_variants(self, request: Request, _body: Any) -> Response:
        try:
            page = self._int_param(request, "page", 1, 10_000)
            limit = self._int_param(request, "limit", 50, 250)
        except _BadParam as exc:
            return _problem(400, f"Invalid query parameter {exc.args[0]!r}")
        sku = request.query.get("sku", [None])[0]
        vid = request.query.get("id", [None])[0]
        data = [dict(v) for v in self.variants.values()
                if (sku is None or v["sku"] == sku) and (vid is None or str(v["id"]) == vid)]
        chunk, meta = self._paginate(data, page, limit)
        return json_response({"data": chunk, "meta": meta})

    def _put_variants(self, _request: Request, body: Any) -> Response:
        if not isinstance(body, list):
            return _problem(422, "JSON data is invalid: expected an array of variants")
        if len(body) > MAX_VARIANT_BATCH:
            return Response(413, {"status": 413, "title": "The request payload is too large. The maximum items "
                                                          f"allowed in the array is {MAX_VARIANT_BATCH}",
                                  "type": "/api-docs/getting-started/api-status-codes"})
        batch_errors = []
        for n, item in enumerate(body):
            problems: dict[str, str] = {}
            if not isinstance(item, dict) or not _is_int(item.get("id")):
                problems["id"] = "is required"
            elif item["id"] not in self.variants:
                problems["id"] = f"variant {item['id']} does not exist"
            else:
                for name in ("price", "sale_price", "retail_price", "cost_price"):
                    value = item.get(name)
                    if value is None:
                        continue
                    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                        problems[name] = "must be a number >= 0"
            if problems:
                batch_errors.append({"status": 422, "title": f"Variant at index {n} is invalid",
                                     "type": STATUS_DOC, "errors": problems})
        if batch_errors:
            return json_response({"batch_errors": batch_errors}, status=422)
        out = []
        for item in body:
            variant = self.variants[item["id"]]
            for name in ("price", "sale_price", "retail_price", "cost_price"):
                if name in item:
                    variant[name] = item[name]
            variant["calculated_price"] = variant["sale_price"] or variant["price"]
            out.append(dict(variant))
        return json_response({"data": out, "meta": {}})

    # -- orders (v2)

    @staticmethod
    def _wants_lines(request: Request) -> bool:
        includes = [v for part in request.query.get("include", []) for v in part.split(",")]
        return ("consignments.line_items" in includes
                and request.query.get("consignment_structure", [""])[0] == "object")

    def _list_orders(self, request: Request) -> Response:
        try:
            page = self._int_param(request, "page", 1, 100_000)
            limit = self._int_param(request, "limit", 50, 250)
            min_id = self._int_param(request, "min_id", 1, 10**12)
        except _BadParam as exc:
            return _v2_error(400, f"The field '{exc.args[0]}' is invalid.")
        since = request.query.get("min_date_modified", [None])[0]
        try:
            since_ts = _parse_date(since) if since else None
        except ValueError:
            return _v2_error(400, "The field 'min_date_modified' is invalid.")
        sort = request.query.get("sort", ["id"])[0]
        field, _, direction = sort.partition(":")
        keys = {"id": lambda o: o["id"], "date_modified": lambda o: (o["modified"], o["id"]),
                "date_created": lambda o: (o["created"], o["id"])}
        if field not in keys or direction not in ("", "asc", "desc"):
            return _v2_error(400, "The field 'sort' is invalid.")
        orders = [o for o in self.orders_by_id.values()
                  if o["id"] >= min_id and (since_ts is None or o["modified"] >= since_ts)]
        orders.sort(key=keys[field], reverse=direction == "desc")
        chunk = orders[(page - 1) * limit: page * limit]
        if not chunk:
            return Response(204)
        wants = self._wants_lines(request)
        return json_response([self._render_order(o, wants) for o in chunk])

    def _render_order(self, order: dict[str, Any], with_lines: bool) -> dict[str, Any]:
        oid = order["id"]
        subtotal = sum((_d(p["total_ex_tax"]) for p in order["products"]), Decimal("0"))
        discount = sum((_d(d["amount"]) for p in order["products"] for d in p["applied_discounts"]), Decimal("0"))
        tax = sum((_d(p["total_tax"]) for p in order["products"]), Decimal("0"))
        shipping = order["shipping"]
        total_ex = subtotal - discount + shipping
        first, last, email, phone, street, city, state, zip_code = order["customer"]
        billing = {"first_name": first, "last_name": last, "company": "", "street_1": street, "street_2": "",
                   "city": city, "state": state, "zip": zip_code, "country": "United States", "country_iso2": "US",
                   "phone": phone, "email": email, "form_fields": []}
        base = f"https://api.bigcommerce.com/stores/{self.store_hash}/v2"
        body: dict[str, Any] = {
            "id": oid, "customer_id": order["customer_id"], "date_created": rfc2822(order["created"]),
            "date_modified": rfc2822(order["modified"]), "date_shipped": "",
            "status_id": STATUSES[order["status"]], "status": order["status"], "custom_status": order["status"],
            "subtotal_ex_tax": _s4(subtotal), "subtotal_inc_tax": _s4(subtotal + tax), "subtotal_tax": _s4(tax),
            "base_shipping_cost": _s4(shipping), "shipping_cost_ex_tax": _s4(shipping),
            "shipping_cost_inc_tax": _s4(shipping), "shipping_cost_tax": "0.0000",
            "base_handling_cost": "0.0000", "handling_cost_ex_tax": "0.0000", "handling_cost_inc_tax": "0.0000",
            "handling_cost_tax": "0.0000", "base_wrapping_cost": "0.0000", "wrapping_cost_ex_tax": "0.0000",
            "wrapping_cost_inc_tax": "0.0000", "wrapping_cost_tax": "0.0000",
            "total_ex_tax": _s4(total_ex), "total_inc_tax": _s4(total_ex + tax), "total_tax": _s4(tax),
            "items_total": sum(p["quantity"] for p in order["products"]), "items_shipped": 0,
            "payment_method": order["payment_method"], "payment_status": "captured", "refunded_amount": "0.0000",
            "currency_code": self.currency, "default_currency_code": self.currency,
            "discount_amount": _s4(discount), "coupon_discount": "0.0000", "is_tax_inclusive_pricing": False,
            "billing_address": billing, "order_source": "www", "channel_id": 1, "external_source": None,
            "external_id": None, "external_order_id": "",
            "products": {"url": f"{base}/orders/{oid}/products", "resource": f"/orders/{oid}/products"},
            "shipping_addresses": {"url": f"{base}/orders/{oid}/shipping_addresses",
                                   "resource": f"/orders/{oid}/shipping_addresses"},
            "coupons": {"url": f"{base}/orders/{oid}/coupons", "resource": f"/orders/{oid}/coupons"},
        }
        if with_lines:
            consignment = {**{k: billing[k] for k in ("first_name", "last_name", "street_1", "city", "state", "zip",
                                                       "country", "country_iso2", "phone", "email")},
                           "id": oid, "shipping_method": "Flat Rate",
                           "line_items": [dict(p) for p in order["products"]],
                           "items_total": body["items_total"], "items_shipped": 0,
                           "cost_ex_tax": float(shipping), "cost_inc_tax": float(shipping), "cost_tax": 0}
            body["consignments"] = {"pickups": [], "shipping": [consignment], "downloads": [],
                                    "email": {"gift_certificates": []}}
        else:
            body["consignments"] = {"url": f"{base}/orders/{oid}/consignments",
                                    "resource": f"/orders/{oid}/consignments"}
        return body


    # ------------------------------------------------------------------ state (for /_sim/state)

    def state(self) -> dict[str, Any]:
        """Every stock level and order this store holds, as plain JSON (tests and `syncops soak`)."""
        with self._lock:
            return {
                "vendor": self.name,
                "levels": [{"sku": self.variants[vid]["sku"], "location": self.locations[lid]["code"],
                            "quantity": qty} for (vid, lid), qty in self.stock.items()],
                "orders": [{"id": o["id"], "state": o["status"],
                            "lines": [{"sku": p["sku"], "quantity": p["quantity"]} for p in o["products"]]}
                           for o in self.orders_by_id.values()],
                "payouts": [],
            }



class _BadParam(Exception):
    pass
