"""A WooCommerce-like store (REST API v3) under ``/wp-json/wc/v3/``.

Serves:
- ``GET  orders``   modified_after / modified_before (exclusive, GMT with dates_are_gmt, else the
  site's timezone, which here is GMT), orderby=id|date, order=asc|desc, page, per_page (1..100,
  else ``400 rest_invalid_param``); ``X-WP-Total`` / ``X-WP-TotalPages`` headers
- ``GET  orders/<id>``, ``GET orders/<id>/refunds`` (page/per_page)
- ``GET  products`` (page, per_page, sku), ``GET products/<id>``, ``GET products/<id>/variations``
- ``PUT  products/<id>``, ``PUT products/<id>/variations/<vid>``
- ``POST|PUT products/batch``, ``products/<id>/variations/batch``: ``{"update": [...]}`` <= 100
  objects (``413 woocommerce_rest_request_entity_too_large`` above), per-item
  ``{"id", "error": {code, message, data: {status}}}`` for unknown ids or bad stock values

Auth: HTTP Basic or ``consumer_key``/``consumer_secret`` query parameters; the key must start
with ``ck_`` and the secret with ``cs_``; ``ck_bad`` (or a missing pair) gets
``401 woocommerce_rest_cannot_view`` / ``woocommerce_rest_authentication_error``.

WooCommerce itself has no REST rate limit; hosts and proxies in front of it answer 429 with
``Retry-After``, which is what ``faults.throttled()`` serves. Outages answer 503 (or drop the
connection). Dates are whole seconds, like WordPress's.

Simplifications: one tax rate; no fees or coupons; refunds are created through ``refund()``.
"""

from __future__ import annotations

import base64
import json
import math
import re
import threading
import time
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable, Mapping

from syncops.simulator.faults import Faults
from syncops.simulator.http import Request, Response, json_response

DEFAULT_SKUS: dict[str, str] = {"TSHIRT-RED-M": "19.99", "TSHIRT-BLUE-L": "21.00", "MUG-WHITE": "12.50"}
MAX_BATCH = 100
_ROUTE = re.compile(r"^/wp-json/wc/v3/(.+?)/?$")
_CENT = Decimal("0.01")


def _c(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _gmt(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _error(status: int, code: str, message: str) -> Response:
    return json_response({"code": code, "message": message, "data": {"status": status}}, status=status)


def _parse_date(value: str) -> float:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = (query.get(name) or [str(default)])[0]
    return int(raw)


class WooCommerceApp:
    name = "woocommerce"
    date_from_clock = True  # the HTTP Date header follows `clock` (the connector bounds a pass by it)

    def __init__(self, faults: Faults | None = None, clock: Callable[[], float] = time.time, *,
                 skus: Mapping[str, Any] | Iterable[str] = DEFAULT_SKUS,
                 variable: Mapping[str, Iterable[str]] | None = None,
                 tax_rate: Any = "0.0825", currency: str = "USD") -> None:
        self.faults = faults or Faults(clock=clock)
        self.clock = clock
        self.tax_rate = Decimal(str(tax_rate))
        self.currency = currency
        self._lock = threading.RLock()
        self.products: dict[int, dict[str, Any]] = {}
        self.variations: dict[int, dict[str, Any]] = {}  # variation id -> variation (has parent_id)
        self.orders: dict[int, dict[str, Any]] = {}
        self.refunds: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.webhooks: Any = None  # a simulator.webhooks.WebhookSender: order.created|updated (the order)
        self._next_id = 10
        prices = skus if isinstance(skus, Mapping) else {sku: "10.00" for sku in skus}
        for sku, price in prices.items():
            self.add_product(sku, price)
        for parent_sku, children in (variable or {}).items():
            self.add_variable(parent_sku, {c: "15.00" for c in children})

    # ------------------------------------------------------------------ generators / inspection

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_product(self, sku: str, price: Any) -> int:
        with self._lock:
            pid = self._id()
            self.products[pid] = {"id": pid, "name": sku.title(), "type": "simple", "sku": sku,
                                  "price": str(price), "regular_price": str(price), "manage_stock": False,
                                  "stock_quantity": None, "stock_status": "instock",
                                  "date_modified_gmt": _gmt(self.clock())}
            return pid

    def add_variable(self, sku: str, children: Mapping[str, Any]) -> int:
        with self._lock:
            pid = self._id()
            self.products[pid] = {"id": pid, "name": sku.title(), "type": "variable", "sku": sku, "price": "",
                                  "manage_stock": False, "stock_quantity": None, "stock_status": "instock",
                                  "date_modified_gmt": _gmt(self.clock())}
            for child, price in children.items():
                vid = self._id()
                self.variations[vid] = {"id": vid, "parent_id": pid, "sku": child, "price": str(price),
                                        "regular_price": str(price), "manage_stock": False,
                                        "stock_quantity": None, "stock_status": "instock"}
            return pid

    def _hook(self, topic: str, order_id: int) -> None:
        if self.webhooks is not None:  # the order as GET /orders/<id> shows it, as WooCommerce sends
            self.webhooks.emit(topic, json.loads(json.dumps(self.orders[order_id])))

    def state(self) -> dict[str, Any]:
        """What the shop holds, for /_sim/state and end-state checks: managed stock per SKU (one
        location, "web"), orders and refunds."""
        with self._lock:
            return {"vendor": self.name,
                    "levels": [{"sku": i["sku"], "location": "web", "quantity": i["stock_quantity"]}
                               for i in (*self.products.values(), *self.variations.values())
                               if i["manage_stock"] and i["sku"]],
                    "orders": [{"id": o["id"], "state": o["status"],
                                "lines": [{"sku": li["sku"], "quantity": li["quantity"]} for li in o["line_items"]]}
                               for o in self.orders.values()],
                    "refunds": [{"order_id": oid, "id": r["id"], "amount": r["amount"]}
                                for oid, rs in self.refunds.items() for r in rs],
                    "payouts": []}

    def _by_sku(self, sku: str) -> dict[str, Any] | None:
        for item in (*self.products.values(), *self.variations.values()):
            if item["sku"] == sku:
                return item
        return None

    def stock_level(self, sku: str) -> int | None:
        with self._lock:
            item = self._by_sku(sku)
            return None if item is None or not item["manage_stock"] else item["stock_quantity"]

    def place_order(self, lines: Iterable[tuple[Any, ...]], *, status: str = "processing",
                    shipping: Any = "0", fees: Iterable[tuple[str, Any]] = (), now: float | None = None) -> int:
        """A shopper checks out. lines: (sku, qty[, unit_price[, line_discount]]); fees: (name,
        amount) fee lines, untaxed (a negative amount is a discount plugin's fee)."""
        with self._lock:
            stamp = self.clock() if now is None else now
            oid = self._id()
            items, tax_total, subtotal_sum = [], Decimal(0), Decimal(0)
            for line in lines:
                sku, qty = line[0], int(line[1])
                product = self._by_sku(sku)
                if product is None:
                    raise KeyError(f"unknown sku {sku!r}")
                price = Decimal(str(line[2] if len(line) > 2 else product["price"]))
                discount = Decimal(str(line[3])) if len(line) > 3 else Decimal(0)
                subtotal, total = _c(price * qty), _c(price * qty - discount)
                tax = _c(total * self.tax_rate)
                tax_total += tax
                subtotal_sum += total
                items.append({"id": self._id(), "name": product["sku"].title(), "sku": sku, "quantity": qty,
                              "product_id": product.get("parent_id", product["id"]),
                              "variation_id": product["id"] if "parent_id" in product else 0,
                              "subtotal": str(subtotal), "subtotal_tax": str(_c(subtotal * self.tax_rate)),
                              "total": str(total), "total_tax": str(tax), "price": float(price)})
            ship = _c(Decimal(str(shipping)))
            fee_lines = [{"id": self._id(), "name": name, "tax_class": "", "tax_status": "none",
                          "amount": str(_c(Decimal(str(amount)))), "total": str(_c(Decimal(str(amount)))),
                          "total_tax": "0.00", "taxes": [], "meta_data": []} for name, amount in fees]
            subtotal_sum += sum((Decimal(f["total"]) for f in fee_lines), Decimal(0))
            self.orders[oid] = {
                "id": oid, "parent_id": 0, "number": str(oid), "status": status, "currency": self.currency,
                "date_created_gmt": _gmt(stamp), "date_modified_gmt": _gmt(stamp),
                "prices_include_tax": False, "discount_total": "0.00", "shipping_total": str(ship),
                "total_tax": str(tax_total), "total": str(subtotal_sum + ship + tax_total),
                "customer_id": 0, "payment_method": "stripe", "payment_method_title": "Credit card",
                "transaction_id": f"ch_{oid}",
                "billing": {"first_name": "Jane", "last_name": "Doe", "email": "jane.doe@example.com",
                            "phone": "", "address_1": "12 Market St", "address_2": "", "city": "Springfield",
                            "state": "IL", "postcode": "62701", "country": "US"},
                "line_items": items,
                "tax_lines": [{"id": 1, "rate_code": "US-IL-TAX-1", "rate_id": 1, "label": "Tax",
                               "compound": False, "tax_total": str(tax_total), "shipping_tax_total": "0.00",
                               "rate_percent": float(self.tax_rate * 100)}],
                "shipping_lines": [], "fee_lines": fee_lines, "coupon_lines": [], "refunds": [],
            }
            self._hook("order.created", oid)
            return oid

    def update_order(self, order_id: int, *, status: str, now: float | None = None) -> None:
        with self._lock:
            order = self.orders[order_id]
            order["status"] = status
            order["date_modified_gmt"] = _gmt(self.clock() if now is None else now)
            self._hook("order.updated", order_id)

    def refund(self, order_id: int, lines: Iterable[tuple[str, int]], *, api_refund: bool = True,
               api_restock: bool = True, reason: str = "", now: float | None = None) -> int:
        """POST orders/<id>/refunds as the shop admin would: (sku, qty) of the order's line items."""
        with self._lock:
            stamp = self.clock() if now is None else now
            order = self.orders[order_id]
            rid = self._id()
            items, amount = [], Decimal(0)
            for sku, qty in lines:
                li = next(li for li in order["line_items"] if li["sku"] == sku)
                total = _c(Decimal(li["total"]) / li["quantity"] * qty)
                tax = _c(Decimal(li["total_tax"]) / li["quantity"] * qty)
                amount += total + tax
                items.append({"id": self._id(), "name": li["name"], "product_id": li["product_id"],
                              "variation_id": li["variation_id"], "quantity": -qty, "sku": sku,
                              "subtotal": str(-total), "total": str(-total), "total_tax": str(-tax),
                              "price": -li["price"], "meta_data": [{"key": "_refunded_item_id", "value": str(li["id"])}]})
                product = self._by_sku(sku)
                if api_restock and product is not None and product["manage_stock"]:
                    product["stock_quantity"] += qty
            refund = {"id": rid, "date_created_gmt": _gmt(stamp), "amount": str(amount), "reason": reason,
                      "refunded_by": 1, "refunded_payment": api_refund, "meta_data": [], "line_items": items}
            self.refunds.setdefault(order_id, []).append(refund)
            order["refunds"].append({"id": rid, "reason": reason, "total": str(-amount)})
            order["date_modified_gmt"] = _gmt(stamp)
            self._hook("order.updated", order_id)
            return rid

    # ------------------------------------------------------------------ HTTP

    def _authorized(self, request: Request) -> Response | None:
        key = (request.query.get("consumer_key") or [""])[0]
        secret = (request.query.get("consumer_secret") or [""])[0]
        auth = request.header("authorization") or ""
        if auth.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                key = secret = ""
        if not key:
            return _error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        if not key.startswith("ck_") or key == "ck_bad":
            return _error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if not secret.startswith("cs_"):
            return _error(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
        return None

    def handle(self, request: Request) -> Response:
        if self.faults.in_outage():
            if self.faults.plan.outage_mode == "reset":
                return Response(drop_connection=True)
            return Response(503, "<html><body><h1>503 Service Unavailable</h1></body></html>",
                            content_type="text/html")
        if self.faults.throttled():
            wait = max(1, math.ceil(self.faults.throttle_remaining() or 1))
            return Response(429, "<html><body>Too Many Requests</body></html>", content_type="text/html",
                            headers={"Retry-After": str(wait)})
        match = _ROUTE.match(request.path)
        if not match:
            return _error(404, "rest_no_route", "No route was found matching the URL and request method")
        denied = self._authorized(request)
        if denied is not None:
            return denied
        path = match.group(1)
        with self._lock:
            self.requests.append((request.method, path))
            try:
                return self._route(request, path.split("/"))
            except ValueError as exc:
                return _error(400, "rest_invalid_param", f"Invalid parameter(s): {exc}")

    def _route(self, request: Request, parts: list[str]) -> Response:
        m = request.method
        if parts == ["orders"] and m == "GET":
            return self._list_orders(request.query)
        if len(parts) == 2 and parts[0] == "orders" and m == "GET":
            order = self.orders.get(int(parts[1]))
            return json_response(order) if order else _error(404, "woocommerce_rest_shop_order_invalid_id",
                                                             "Invalid ID.")
        if len(parts) == 3 and parts[0] == "orders" and parts[2] == "refunds" and m == "GET":
            if int(parts[1]) not in self.orders:
                return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            return self._paged(list(self.refunds.get(int(parts[1]), [])), request.query)
        if parts == ["products"] and m == "GET":
            rows = list(self.products.values())
            sku = (request.query.get("sku") or [None])[0]
            if sku is not None:
                rows = [p for p in rows if p["sku"] in sku.split(",")]
            return self._paged(rows, request.query)
        if parts == ["products", "batch"] and m in ("POST", "PUT", "PATCH"):
            return self._batch(request, None)
        if len(parts) == 2 and parts[0] == "products" and m in ("PUT", "POST", "PATCH"):
            return self._single(self.products.get(int(parts[1])), request, "product")
        if len(parts) == 3 and parts[0] == "products" and parts[2] == "variations" and m == "GET":
            pid = int(parts[1])
            if pid not in self.products:
                return _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            return self._paged([v for v in self.variations.values() if v["parent_id"] == pid], request.query)
        if len(parts) == 4 and parts[0] == "products" and parts[2] == "variations":
            pid = int(parts[1])
            if pid not in self.products:
                return _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            if parts[3] == "batch" and m in ("POST", "PUT", "PATCH"):
                return self._batch(request, pid)
            if m in ("PUT", "POST", "PATCH"):
                v = self.variations.get(int(parts[3]))
                return self._single(v if v and v["parent_id"] == pid else None, request, "product_variation")
        return _error(404, "rest_no_route", "No route was found matching the URL and request method")

    def _paged(self, rows: list[dict[str, Any]], query: dict[str, list[str]]) -> Response:
        page, per_page = _int_param(query, "page", 1), _int_param(query, "per_page", 10)
        if not 1 <= per_page <= 100:
            raise ValueError("per_page must be between 1 (inclusive) and 100 (inclusive)")
        if page < 1:
            raise ValueError("page must be greater than or equal to 1")
        total = len(rows)
        pages = math.ceil(total / per_page) if total else 0
        if page > 1 and page > pages:
            return _error(400, "rest_post_invalid_page_number",
                          "The page number requested is larger than the number of pages available.")
        body = rows[(page - 1) * per_page: page * per_page]
        return json_response(body, **{"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)})

    def _list_orders(self, query: dict[str, list[str]]) -> Response:
        rows = list(self.orders.values())
        for name, keep in (("modified_after", lambda t, b: t > b), ("modified_before", lambda t, b: t < b),
                           ("after", None), ("before", None)):
            raw = (query.get(name) or [None])[0]
            if raw is None:
                continue
            bound = _parse_date(raw)
            field = "date_modified_gmt" if name.startswith("modified") else "date_created_gmt"
            cmp = keep or ((lambda t, b: t > b) if name == "after" else (lambda t, b: t < b))
            rows = [o for o in rows if cmp(_parse_date(o[field]), bound)]
        orderby = (query.get("orderby") or ["date"])[0]
        if orderby not in ("date", "id", "include", "title", "slug"):
            raise ValueError("orderby is not one of date, id, include, title, and slug")
        order = (query.get("order") or ["desc"])[0]
        key = (lambda o: o["id"]) if orderby in ("id", "include", "title", "slug") \
            else (lambda o: (o["date_created_gmt"], o["id"]))
        rows.sort(key=key, reverse=order == "desc")
        return self._paged(rows, query)

    def _apply(self, item: dict[str, Any], update: dict[str, Any]) -> str | None:
        """Apply a stock update; an error message when the update is invalid (nothing changed)."""
        qty = update.get("stock_quantity", item["stock_quantity"])
        if "stock_quantity" in update and (not isinstance(qty, int) or isinstance(qty, bool)):
            return "stock_quantity is not of type integer."
        if "manage_stock" in update:
            item["manage_stock"] = bool(update["manage_stock"])
        if "stock_quantity" in update:
            item["stock_quantity"] = qty
            item["stock_status"] = "instock" if qty > 0 else "outofstock"
        if "parent_id" not in item:
            item["date_modified_gmt"] = _gmt(self.clock())
        return None

    def _single(self, item: dict[str, Any] | None, request: Request, what: str) -> Response:
        if item is None:
            return _error(404, f"woocommerce_rest_{what}_invalid_id", "Invalid ID.")
        body = request.json()
        problem = self._apply(item, body if isinstance(body, dict) else {})
        if problem:
            return _error(400, "rest_invalid_param", f"Invalid parameter(s): {problem}")
        return json_response(item)

    def _batch(self, request: Request, parent: int | None) -> Response:
        body = request.json()
        updates = body.get("update", []) if isinstance(body, dict) else None
        if not isinstance(updates, list):
            return _error(400, "rest_invalid_param", "Invalid parameter(s): update")
        count = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
        if count > MAX_BATCH:
            return _error(413, "woocommerce_rest_request_entity_too_large",
                          f"Unable to accept more than {MAX_BATCH} items for this request.")
        out = []
        for update in updates:
            item_id = update.get("id") if isinstance(update, dict) else None
            pool = self.products if parent is None else {
                k: v for k, v in self.variations.items() if v["parent_id"] == parent}
            item = pool.get(item_id) if isinstance(item_id, int) else None
            what = "product" if parent is None else "product_variation"
            if item is None:
                out.append({"id": item_id if isinstance(item_id, int) else 0, "error": {
                    "code": f"woocommerce_rest_{what}_invalid_id", "message": "Invalid ID.", "data": {"status": 400}}})
                continue
            problem = self._apply(item, update)
            if problem:
                out.append({"id": item_id, "error": {"code": "rest_invalid_param",
                                                     "message": f"Invalid parameter(s): {problem}",
                                                     "data": {"status": 400}}})
                continue
            out.append(dict(item))
        return json_response({"update": out})
