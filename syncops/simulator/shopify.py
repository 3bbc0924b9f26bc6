"""A Shopify-like storefront speaking a slice of the Admin GraphQL API (2026-04 semantics).

Serves ``POST /admin/api/<YYYY-MM|unstable>/graphql.json``.

Every document is parsed and validated with graphql-core against ``shopify_schema.graphql``
(shopify_graphql.py): an invalid one gets Shopify's HTTP 200 ``errors`` (message, locations,
extensions.code) and no ``data``. Arguments are read from the document (literals and variables)
and the ``@idempotent(key:)`` directive; the resolvers below build full nodes and the answer is
then pruned to the selected fields under their response keys (aliases). Limits, on purpose: one
root field per document (and one connection under ``shopifyPaymentsAccount``); variable values
are passed to the resolvers as sent, which check what they use.

Behaviours reproduced (see vendor-apis.md §1 and §6): cost leaky bucket with
``extensions.cost`` on every response and the THROTTLED body with no ``data``; business
errors as HTTP 200 ``userErrors``; mandatory ``@idempotent`` on inventorySetQuantities with
replay / IDEMPOTENCY_KEY_PARAMETER_MISMATCH / IDEMPOTENCY_CONCURRENT_REQUEST /
IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED; ``changeFromQuantity`` compare-and-set; atomic
mutations (one userError and nothing in that mutation is applied); Relay pagination.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable, Mapping

from syncops.simulator.faults import Faults
from syncops.simulator.payouts import ShopifyPayoutBook
from syncops.simulator.http import Request, Response, json_response
from syncops.simulator import shopify_graphql, shopify_refunds

_PATH = re.compile(r"^/admin/api/(?:\d{4}-\d{2}|unstable)/graphql\.json$")
_SKU_TERM = re.compile(r"""sku:\s*(?:'([^']*)'|"([^"]*)"|([^\s()'"]+))""")
_UPDATED_AT = re.compile(r"""updated_at:\s*(>=|<=|>|<)?\s*['"]?([0-9][0-9T:.+\-Z]*)['"]?""")

# Requested cost per returned node of each connection (plus 2 for the connection itself),
# chosen so orders(first: 250) costs 752 like the documented throttled example.
_NODE_COST = {"orders": 3, "inventoryItems": 2, "productVariants": 2, "locations": 1}
_MUTATION_COST = 10
MAX_PAGE = 250
MAX_QUANTITY = 1_000_000_000

REASONS = frozenset({
    "correction", "cycle_count_available", "damaged", "movement_canceled", "movement_created",
    "movement_received", "movement_updated", "other", "promotion", "quality_control", "received",
    "reservation_created", "reservation_deleted", "reservation_updated", "restock", "safety_stock",
    "shrinkage",
})

DEFAULT_SKUS = {"TSHIRT-RED-M": "19.99", "TSHIRT-BLUE-L": "21.00", "MUG-WHITE": "12.50"}
DEFAULT_LOCATIONS = ("web", "store-1")

_FAKE_CUSTOMERS = [
    ("Jane Doe", "jane.doe@example.com", "+1 555-010-4477", "12 Market St", "Springfield", "IL", "62701"),
    ("Omar Haddad", "omar.h@example.com", "+1 555-010-9120", "8 Elm Ave", "Portland", "OR", "97205"),
    ("Mei Tanaka", "mei.tanaka@example.net", "+1 555-010-3301", "40 Pine Rd", "Austin", "TX", "73301"),
]

THROTTLED_DOC = "https://shopify.dev/api/usage/rate-limits"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    value = {"amount": str(amount), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": dict(value)}


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _encode_cursor(key: tuple[Any, ...]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[Any, ...]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except Exception as exc:
        raise _GraphQLError("Invalid cursor for current pagination sort.", "BAD_REQUEST") from exc
    if not isinstance(value, list):
        raise _GraphQLError("Invalid cursor for current pagination sort.", "BAD_REQUEST")
    return tuple(value)


class _GraphQLError(Exception):
    """A top-level GraphQL error: the root field resolves to null."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class AppliedMutation:
    """One mutation that changed state (replays are not logged again)."""

    key: str | None
    mutation: str
    changes: int
    at: float


@dataclass
class _Item:
    sku: str
    number: int  # shared by the InventoryItem, ProductVariant and Product gids
    price: Decimal
    compare_at: Decimal | None = None

    @property
    def item_gid(self) -> str:
        return f"gid://shopify/InventoryItem/{self.number}"

    @property
    def variant_gid(self) -> str:
        return f"gid://shopify/ProductVariant/{self.number}"

    @property
    def product_gid(self) -> str:
        return f"gid://shopify/Product/{self.number}"


@dataclass
class _Order:
    number: int
    name: str
    created_at: float
    updated_at: float
    currency: str
    customer: dict[str, Any] | None
    lines: list[dict[str, Any]]  # sku, title, quantity, unit_price, tax
    tax_title: str
    tax_rate: Decimal
    cancelled_at: float | None = None

    @property
    def gid(self) -> str:
        return f"gid://shopify/Order/{self.number}"

    def sort_key(self) -> tuple[float, int]:
        return (self.updated_at, self.number)


@dataclass
class _IdempotencyEntry:
    variables_hash: str
    result: dict[str, Any] | None  # None while in flight or when the attempt crashed
    failed: bool = False


class ShopifyApp:
    name = "shopify"
    webhooks: Any = None  # a simulator.webhooks.WebhookSender: orders/create|updated|cancelled

    def _order_webhook(self, topic: str, order: "_Order") -> None:
        if self.webhooks is not None:  # the REST shape Shopify posts (the id is what syncops reads back)
            self.webhooks.emit(topic, {"id": order.number, "admin_graphql_api_id": order.gid, "name": order.name,
                                       "created_at": iso(order.created_at), "updated_at": iso(order.updated_at),
                                       "cancelled_at": iso(order.cancelled_at) if order.cancelled_at else None,
                                       "currency": order.currency})

    def __init__(
        self,
        faults: Faults | None = None,
        clock: Callable[[], float] = time.time,
        *,
        skus: Mapping[str, str | Decimal] | Iterable[str] = DEFAULT_SKUS,
        locations: Iterable[str] = DEFAULT_LOCATIONS,
        stock: Mapping[tuple[str, str], int] | None = None,
        currency: str = "USD",
        shop_name: str = "syncops-demo",
        web_location: str = "web",
        tax_title: str = "Sales Tax",
        tax_rate: str | Decimal = "0.0825",
        maximum_available: float = 1000.0,
        restore_rate: float = 100.0,
        throttle_status: int = 200,  # community reports both 200 and 429 for THROTTLED
    ) -> None:
        self.faults = faults or Faults(clock=clock)
        self.clock = clock
        self.currency = currency
        self.shop_name = shop_name
        self.tax_title = tax_title
        self.tax_rate = Decimal(str(tax_rate))
        self.maximum_available = float(maximum_available)
        self.restore_rate = float(restore_rate)
        self.throttle_status = throttle_status
        self._lock = threading.RLock()

        self.locations: dict[str, str] = {}  # name -> gid
        for n, loc in enumerate(locations, start=1):
            self.locations[loc] = f"gid://shopify/Location/{n}"
        self.web_location = web_location if web_location in self.locations else next(iter(self.locations))
        self.items: dict[str, _Item] = {}
        prices = skus if isinstance(skus, Mapping) else {sku: "10.00" for sku in skus}
        for n, (sku, price) in enumerate(prices.items(), start=1):
            self.items[sku] = _Item(sku=sku, number=1000 + n, price=Decimal(str(price)))
        # Every item is stocked everywhere; (sku, location name) -> {"available", "on_hand"}.
        self.levels: dict[tuple[str, str], dict[str, int]] = {
            (sku, loc): {"available": 0, "on_hand": 0} for sku in self.items for loc in self.locations
        }
        for (sku, loc), qty in (stock or {}).items():
            self.levels[(sku, loc)] = {"available": qty, "on_hand": qty}

        self.orders: dict[str, _Order] = {}
        self.refunds: dict[str, list[dict[str, Any]]] = {}  # order gid -> refunds (shopify_refunds.py)
        self._next_order = 1001
        self._idempotency: dict[str, _IdempotencyEntry] = {}
        self.mutation_log: list[AppliedMutation] = []
        self.replays: dict[str, int] = {}  # idempotency key -> times answered from the stored result
        self.requests: list[str] = []  # operation names served, in order (for tests)
        self._fail_next_mutation = False
        # Shopify Payments takings paid out by `payouts.settle()` (fee rate in simulator/payouts.py).
        self.payouts = ShopifyPayoutBook(currency, clock, iso)
        self._bucket = self.maximum_available
        self._bucket_at = clock()

    # ------------------------------------------------------------------ inspection / generators

    def level(self, sku: str, location: str, name: str = "available") -> int:
        with self._lock:
            return self.levels[(sku, location)][name]

    def price(self, sku: str) -> Decimal:
        with self._lock:
            return self.items[sku].price

    def item_gid(self, sku: str) -> str:
        return self.items[sku].item_gid

    def applied(self, key: str) -> list[AppliedMutation]:
        """Mutations applied under one idempotency key (length 1 proves exactly-once)."""
        with self._lock:
            return [m for m in self.mutation_log if m.key == key]

    def add_sku(self, sku: str, price: str | Decimal = "10.00") -> str:
        with self._lock:
            item = _Item(sku=sku, number=1001 + len(self.items), price=Decimal(str(price)))
            self.items[sku] = item
            for loc in self.locations:
                self.levels[(sku, loc)] = {"available": 0, "on_hand": 0}
            return item.item_gid

    def set_level(self, sku: str, location: str, quantity: int) -> None:
        with self._lock:
            self.levels[(sku, location)] = {"available": quantity, "on_hand": quantity}

    def adjust_behind_back(self, sku: str, location: str, delta: int) -> int:
        """A stock change syncops did not make (a return, a recount in the Shopify admin).

        The next compare-and-set from syncops for this level then sees a stale value.
        """
        with self._lock:
            level = self.levels[(sku, location)]
            level["available"] += delta
            level["on_hand"] += delta
            return level["available"]

    def set_available_points(self, points: float) -> None:
        """Put the cost bucket at `points` now (tests use it to provoke THROTTLED)."""
        with self._lock:
            self._bucket = float(points)
            self._bucket_at = self.clock()

    def currently_available(self) -> float:
        with self._lock:
            return self._refill()

    def fail_next_mutation(self) -> None:
        """The next keyed inventorySetQuantities crashes server-side (500, nothing applied).

        Its key is then burnt: reusing it answers IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED.
        """
        with self._lock:
            self._fail_next_mutation = True

    def place_web_order(
        self,
        lines: list[tuple[str, int]],
        customer: dict[str, Any] | None = None,
        *,
        now: float | None = None,
    ) -> str:
        """A storefront checkout: creates a paid order and takes stock from the web location.

        `customer` uses canonical names (name, email, phone, address{line1, city, region,
        postal_code, country}); a made-up customer is used when it is None.
        """
        with self._lock:
            at = float(int(self.clock() if now is None else now))  # Shopify stores whole seconds
            number = self._next_order
            self._next_order += 1
            if customer is None:
                name, email, phone, line1, city, region, zip_ = _FAKE_CUSTOMERS[number % len(_FAKE_CUSTOMERS)]
                customer = {"name": name, "email": email, "phone": phone, "address": {
                    "line1": line1, "city": city, "region": region, "postal_code": zip_, "country": "US"}}
            order_lines = []
            for sku, qty in lines:
                item = self.items[sku]  # KeyError for an unknown SKU is a test bug, not a vendor answer
                line_total = item.price * qty
                order_lines.append({
                    "sku": sku, "title": sku, "quantity": qty, "unit_price": item.price,
                    "tax": _cents(line_total * self.tax_rate),
                })
                # Oversells are allowed (inventory policy "continue"), so stock may go negative.
                self.levels[(sku, self.web_location)]["available"] -= qty
            order = _Order(
                number=number, name=f"#{number}", created_at=at, updated_at=at, currency=self.currency,
                customer={"id": f"gid://shopify/Customer/{5000 + number}", **customer},
                lines=order_lines, tax_title=self.tax_title, tax_rate=self.tax_rate,
            )
            self.orders[order.gid] = order
            self.payouts.charge(order.gid, order.name, self._order_total(order), at)
            self._order_webhook("orders/create", order)
            return order.gid

    def touch_order(self, gid: str, *, now: float | None = None) -> None:
        """An edit in the Shopify admin (note, tag): only `updatedAt` moves."""
        with self._lock:
            self.orders[gid].updated_at = float(int(self.clock() if now is None else now))
            self._order_webhook("orders/updated", self.orders[gid])

    def refund_order(self, gid: str, lines: list[tuple[str, int]], *, restock: bool | str = True,
                     now: float | None = None) -> str:
        """Refund lines of an order (RETURN restocks at the web location, NO_RESTOCK does not)."""
        return shopify_refunds.refund_order(self, gid, lines, restock=restock, now=now)

    def cancel_order(self, gid: str, *, now: float | None = None) -> None:
        with self._lock:
            at = float(int(self.clock() if now is None else now))
            order = self.orders[gid]
            if order.cancelled_at is None:
                self.payouts.refund(order.gid, order.name, self._order_total(order), at)
            order.cancelled_at = at
            order.updated_at = at
            self._order_webhook("orders/cancelled", order)

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response:
        if not _PATH.match(request.path):
            return json_response({"errors": "Not Found"}, 404)
        if request.method != "POST":
            return json_response({"errors": "Method Not Allowed"}, 405)
        token = request.header("X-Shopify-Access-Token")
        if not token or token == "bad-token":
            return json_response({"errors": INVALID_TOKEN}, 401)
        if self.faults.in_outage():
            if self.faults.plan.outage_mode == "reset":
                return Response(drop_connection=True)
            return Response(503, {"errors": "Service Unavailable: this shop is temporarily unavailable."},
                            headers={"Retry-After": "5"})
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return json_response({"errors": {"query": "Required parameter missing or invalid"}}, 400)
        query: str = body["query"]
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            return json_response({"errors": {"variables": "must be an object"}}, 400)

        try:
            doc = shopify_graphql.load(query, variables, body.get("operationName"))
            served = self._served_field(doc)
        except shopify_graphql.DocumentError as exc:
            return json_response({"errors": exc.errors})  # Shopify: HTTP 200, no data
        operation, response_key, parent, nodes, args = served
        response = self._dispatch(operation, doc, nodes, args)
        return self._select(response, doc, operation, response_key, parent, nodes)

    def _served_field(self, doc: "shopify_graphql.Document"):
        """(operation, response key, parent type, field nodes, arguments) of the one root field served."""
        roots = {k: v for k, v in doc.root_fields().items() if v[0].name.value != "__typename"}
        if len(roots) != 1:
            raise shopify_graphql.DocumentError([{
                "message": "The simulator serves exactly one root field per document.",
                "extensions": {"code": "undefinedField"}}])
        [(response_key, nodes)] = roots.items()
        parent = doc.root_type
        operation = nodes[0].name.value
        args = doc.arguments(parent, nodes[0])
        if operation == "inventorySetQuantities":
            directive = doc.directive(nodes[0], "idempotent")
            args = {**args, "__idempotency_key__": (directive or {}).get("key")}
        elif operation == "inventoryItems":
            args = {**args, "__level_names__": doc.argument_anywhere(parent, nodes, "quantities", "names")}
        elif operation == "shopifyPaymentsAccount":
            account = parent.fields[operation].type
            children = {k: v for k, v in doc.subfields(parent, nodes).items() if v[0].name.value != "__typename"}
            if len(children) != 1:
                raise shopify_graphql.DocumentError([{
                    "message": "shopifyPaymentsAccount: the simulator serves one of payouts or "
                               "balanceTransactions per document.", "extensions": {"code": "undefinedField"}}])
            [child] = children.values()
            args = {**doc.arguments(account, child[0]), "__connection__": child[0].name.value}
        return operation, response_key, parent, nodes, args

    def _select(self, response: Response, doc, operation: str, response_key: str, parent, nodes) -> Response:
        """Keep only the selected fields of the answer, under the document's response key (alias)."""
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            return response
        data = body["data"]
        value = data.get(operation)
        pruned: dict[str, Any] = {}
        for key, root_nodes in doc.root_fields().items():
            if key == response_key:
                pruned[key] = doc.prune(value, parent, nodes)
            elif root_nodes[0].name.value == "__typename":
                pruned[key] = parent.name
        errors = body.get("errors")
        if isinstance(errors, list):
            errors = [{**e, "path": [response_key, *e["path"][1:]]} if isinstance(e, dict) and e.get("path")
                      else e for e in errors]
        out = {"data": pruned, **({"errors": errors} if errors else {}),
               **({"extensions": body["extensions"]} if "extensions" in body else {})}
        response.body = out
        return response

    def _dispatch(self, operation: str, doc, nodes, args: dict[str, Any]) -> Response:
        if operation == "shopifyPaymentsAccount":
            with self._lock:
                return self._serve_payouts(args)
        key = args.pop("__idempotency_key__", None)
        key = key if isinstance(key, str) and key else None
        delay = self.faults.slow_delay()
        reserved = None
        if operation == "inventorySetQuantities" and key is not None:
            reserved = self._reserve_key(key, args)
            if isinstance(reserved, Response):
                return reserved
        try:
            if delay:
                time.sleep(delay)  # outside the lock: other requests (and concurrent keys) proceed
            with self._lock:
                return self._serve(operation, args, key)
        finally:
            if reserved:
                with self._lock:
                    entry = self._idempotency.get(key)  # type: ignore[arg-type]
                    if entry is not None and entry.result is None and not entry.failed:
                        del self._idempotency[key]  # type: ignore[arg-type]  # never completed: forget it

    def _reserve_key(self, key: str, variables: dict[str, Any]) -> bool | Response:
        """Mark a key in flight; a second request with it meanwhile is a concurrent request."""
        with self._lock:
            entry = self._idempotency.get(key)
            if entry is None:
                self._idempotency[key] = _IdempotencyEntry(_hash(variables), None)
                return True
            if entry.result is None and not entry.failed:
                cost = self._charge(_MUTATION_COST)
                if isinstance(cost, Response):
                    return cost
                payload = {"inventoryAdjustmentGroup": None, "userErrors": [{
                    "code": "IDEMPOTENCY_CONCURRENT_REQUEST", "field": None,
                    "message": "A request with this idempotency key is already in progress."}]}
                return self._answer({"inventorySetQuantities": payload}, cost)
            return False  # completed before: _serve replays or rejects it

    # ------------------------------------------------------------------ cost bucket

    def _refill(self) -> float:
        now = self.clock()
        elapsed = max(0.0, now - self._bucket_at)
        self._bucket = min(self.maximum_available, self._bucket + elapsed * self.restore_rate)
        self._bucket_at = now
        return self._bucket

    def _throttle_status(self) -> dict[str, Any]:
        return {"maximumAvailable": self.maximum_available, "currentlyAvailable": int(self._bucket),
                "restoreRate": self.restore_rate}

    def _charge(self, requested: int) -> dict[str, Any] | Response:
        """Reserve the requested cost, or answer THROTTLED. Returns the cost dict to finish."""
        with self._lock:
            self._refill()
            if requested > self.maximum_available:
                body = {"errors": [{"message": f"Query cost is {requested}, which exceeds the single query "
                                               f"max cost limit ({int(self.maximum_available)}).",
                                    "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                                                   "maxCost": int(self.maximum_available)}}],
                        "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                                "throttleStatus": self._throttle_status()}}}
                return json_response(body)
            forced = self.faults.throttled()
            if forced:
                self._bucket = 0.0  # a burst from other clients of this app drained the shared bucket
            if forced or self._bucket < requested:
                body = {"errors": [{"message": "Throttled",
                                    "extensions": {"code": "THROTTLED", "documentation": THROTTLED_DOC}}],
                        "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                                "throttleStatus": self._throttle_status()}}}
                return json_response(body, self.throttle_status)
            self._bucket -= requested
            return {"requestedQueryCost": requested, "actualQueryCost": requested}

    def _answer(self, data: dict[str, Any], cost: dict[str, Any], actual: int | None = None,
                errors: list[dict[str, Any]] | None = None, status: int = 200) -> Response:
        with self._lock:
            if actual is not None and actual < cost["requestedQueryCost"]:
                self._bucket = min(self.maximum_available,
                                   self._bucket + cost["requestedQueryCost"] - actual)  # refund
                cost = {**cost, "actualQueryCost": actual}
            body: dict[str, Any] = {"data": data}
            if errors:
                body["errors"] = errors
            body["extensions"] = {"cost": {**cost, "throttleStatus": self._throttle_status()}}
            return json_response(body, status)

    # ------------------------------------------------------------------ operations

    def _serve(self, operation: str, variables: dict[str, Any], key: str | None) -> Response:
        self.requests.append(operation)
        first = variables.get("first", 50)
        if operation in _NODE_COST:
            if not isinstance(first, int) or first < 1:
                return self._top_error(operation, "first must be a positive integer", "BAD_REQUEST")
            if first > MAX_PAGE:
                return self._top_error(operation, f"The maximum number of records per page is {MAX_PAGE}.",
                                       "BAD_REQUEST")
            requested = 2 + first * _NODE_COST[operation]
        else:
            requested = _MUTATION_COST if operation != "shop" else 1
        cost = self._charge(requested)
        if isinstance(cost, Response):
            return cost
        try:
            if operation == "inventorySetQuantities":
                return self._set_quantities(variables, key, cost)
            if operation == "productVariantsBulkUpdate":
                return self._answer({operation: self._bulk_update(variables)}, cost)
            if operation == "shop":
                return self._answer({"shop": {"name": self.shop_name, "currencyCode": self.currency}}, cost, 1)
            nodes, page_info = self._connection(operation, variables, first)
            edges = [{"cursor": cursor, "node": node} for cursor, node in nodes]
            data = {operation: {"edges": edges, "nodes": [n for _, n in nodes], "pageInfo": page_info}}
            return self._answer(data, cost, 2 + len(nodes) * _NODE_COST[operation])
        except _GraphQLError as exc:
            return self._answer({operation: None}, cost, 1, errors=[
                {"message": exc.message, "locations": [], "path": [operation], "extensions": {"code": exc.code}}])

    def _serve_payouts(self, variables: dict[str, Any]) -> Response:
        self.requests.append("shopifyPaymentsAccount")
        first = variables.get("first", 50)
        if not isinstance(first, int) or isinstance(first, bool) or not 1 <= first <= MAX_PAGE:
            return self._top_error("shopifyPaymentsAccount", f"first must be between 1 and {MAX_PAGE}",
                                   "BAD_REQUEST")
        cost = self._charge(2 + first)
        if isinstance(cost, Response):
            return cost
        try:
            name, nodes, info = self.payouts.connection(variables["__connection__"], variables, first,
                                                        _decode_cursor, _encode_cursor)
        except (_GraphQLError, TypeError):
            return self._answer({"shopifyPaymentsAccount": None}, cost, 1, errors=[
                {"message": "Invalid cursor for current pagination sort.", "locations": [],
                 "path": ["shopifyPaymentsAccount"], "extensions": {"code": "BAD_REQUEST"}}])
        except ValueError as exc:
            return self._top_error("shopifyPaymentsAccount", str(exc), "undefinedField")
        connection = {"edges": [{"cursor": c, "node": n} for c, n in nodes], "nodes": [n for _, n in nodes],
                      "pageInfo": info}
        return self._answer({"shopifyPaymentsAccount": {name: connection}}, cost, 2 + len(nodes))

    @staticmethod
    def _order_total(order: _Order) -> Decimal:
        return sum((line["unit_price"] * line["quantity"] + line["tax"] for line in order.lines), Decimal("0"))

    def _top_error(self, operation: str | None, message: str, code: str) -> Response:
        with self._lock:
            self._refill()
            cost = {"requestedQueryCost": 0, "actualQueryCost": 0, "throttleStatus": self._throttle_status()}
        body: dict[str, Any] = {"errors": [{"message": message, "extensions": {"code": code}}]}
        if operation:
            body = {"data": {operation: None}, "errors": [{**body["errors"][0], "path": [operation]}]}
        return json_response({**body, "extensions": {"cost": cost}})

    # -- inventorySetQuantities

    def _set_quantities(self, variables: dict[str, Any], key: str | None, cost: dict[str, Any]) -> Response:
        if key is None:
            # 2026-04: mandatory at runtime although the schema does not mark the directive required.
            raise _GraphQLError("The @idempotent directive is required for this mutation: "
                                "inventorySetQuantities(...) @idempotent(key: \"<unique key>\").", "BAD_REQUEST")
        entry = self._idempotency.get(key)
        vhash = _hash(variables)
        if entry is not None and entry.variables_hash != vhash:
            return self._answer({"inventorySetQuantities": _user_error(
                "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", ["idempotent", "key"],
                "The idempotency key was already used with different parameters.")}, cost)
        if entry is not None and entry.failed:
            return self._answer({"inventorySetQuantities": _user_error(
                "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED", ["idempotent", "key"],
                "The previous attempt with this idempotency key failed. Use a new key.")}, cost)
        if entry is not None and entry.result is not None:
            self.replays[key] = self.replays.get(key, 0) + 1
            return self._answer({"inventorySetQuantities": entry.result}, cost)
        if self._fail_next_mutation:
            self._fail_next_mutation = False
            self._idempotency[key] = _IdempotencyEntry(vhash, None, failed=True)
            return self._answer({"inventorySetQuantities": None}, cost, errors=[{
                "message": "Internal error. Looks like something went wrong on our end.",
                "extensions": {"code": "INTERNAL_SERVER_ERROR"}}])
        payload = self._apply_quantities(variables.get("input"), key)
        self._idempotency[key] = _IdempotencyEntry(vhash, payload)
        return self._answer({"inventorySetQuantities": payload}, cost)

    def _apply_quantities(self, data: Any, key: str) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("quantities"), list):
            raise _GraphQLError("Variable $input of type InventorySetQuantitiesInput! was provided invalid value",
                                "INVALID_VARIABLE")
        errors: list[dict[str, Any]] = []
        name = data.get("name")
        if name not in ("available", "on_hand"):
            errors.append(_err("INVALID_NAME", ["input", "name"], "The quantity name must be available or on_hand."))
        if data.get("reason") not in REASONS:
            errors.append(_err("INVALID_REASON", ["input", "reason"], "The reason is not a valid reason."))
        uri = data.get("referenceDocumentUri")
        if uri is not None and (not isinstance(uri, str) or not re.match(r"^[a-zA-Z][\w+.-]*:\S+$", uri)):
            errors.append(_err("INVALID_REFERENCE_DOCUMENT", ["input", "referenceDocumentUri"],
                               "The reference document URI isn't a valid URI."))
        by_item = {item.item_gid: item for item in self.items.values()}
        by_location = {gid: loc for loc, gid in self.locations.items()}
        planned: list[tuple[tuple[str, str], int]] = []
        seen: set[tuple[str, str]] = set()
        for i, q in enumerate(data["quantities"]):
            path = ["input", "quantities", str(i)]
            if not isinstance(q, dict):
                errors.append(_err("INVALID_INVENTORY_ITEM", path, "The quantity is not an object."))
                continue
            item = by_item.get(q.get("inventoryItemId"))
            loc = by_location.get(q.get("locationId"))
            quantity = q.get("quantity")
            if item is None:
                errors.append(_err("INVALID_INVENTORY_ITEM", path + ["inventoryItemId"],
                                   "The specified inventory item could not be found."))
            if loc is None:
                errors.append(_err("INVALID_LOCATION", path + ["locationId"],
                                   "The specified location could not be found."))
            if not isinstance(quantity, int) or isinstance(quantity, bool):
                errors.append(_err("INVALID_QUANTITY_TOO_LOW", path + ["quantity"], "The quantity is invalid."))
                continue
            if quantity < 0:
                errors.append(_err("INVALID_QUANTITY_NEGATIVE", path + ["quantity"],
                                   "The quantity can't be negative."))
            elif quantity > MAX_QUANTITY:
                errors.append(_err("INVALID_QUANTITY_TOO_HIGH", path + ["quantity"],
                                   "The quantity can't be higher than 1,000,000,000."))
            if item is None or loc is None:
                continue
            pair = (item.sku, loc)
            if pair in seen:
                errors.append(_err("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", path,
                                   "The combination of inventoryItemId and locationId must be unique."))
                continue
            seen.add(pair)
            if q.get("changeFromQuantity") is not None and self.faults.roll("stale_cas"):
                self.adjust_behind_back(item.sku, loc, 1 + self.faults.rng.randrange(3))
            current = self.levels[pair][name] if name in ("available", "on_hand") else 0
            if "changeFromQuantity" in q:
                expected = q["changeFromQuantity"]
                if expected is not None and expected != current:
                    errors.append(_err("CHANGE_FROM_QUANTITY_STALE", path + ["changeFromQuantity"],
                                       "The changeFromQuantity argument no longer matches the persisted quantity."))
            elif q.get("compareQuantity") is not None:  # pre-2026 field, still honoured
                if q["compareQuantity"] != current:
                    errors.append(_err("COMPARE_QUANTITY_STALE", path + ["compareQuantity"],
                                       "The compareQuantity argument no longer matches the persisted quantity."))
            elif not data.get("ignoreCompareQuantity"):
                errors.append(_err("COMPARE_QUANTITY_REQUIRED", path + ["changeFromQuantity"],
                                   "changeFromQuantity must be passed for each quantity (null to skip the check)."))
            planned.append((pair, quantity))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}  # atomic: nothing applied
        changes = []
        for pair, quantity in planned:
            level = self.levels[pair]
            delta = quantity - level[name]
            level[name] = quantity
            other = "on_hand" if name == "available" else "available"
            level[other] += delta
            changes.append({"name": name, "delta": delta, "quantityAfterChange": quantity,
                            "item": {"id": self.items[pair[0]].item_gid, "sku": pair[0]},
                            "location": {"id": self.locations[pair[1]], "name": pair[1]}})
        at = self.clock()
        self.mutation_log.append(AppliedMutation(key, "inventorySetQuantities", len(changes), at))
        group = {"id": f"gid://shopify/InventoryAdjustmentGroup/{len(self.mutation_log)}", "createdAt": iso(at),
                 "reason": data.get("reason"), "referenceDocumentUri": uri, "changes": changes}
        return {"inventoryAdjustmentGroup": group, "userErrors": []}

    # -- productVariantsBulkUpdate

    def _bulk_update(self, variables: dict[str, Any]) -> dict[str, Any]:
        product_id = variables.get("productId")
        variants = variables.get("variants")
        if not isinstance(variants, list):
            raise _GraphQLError("Variable $variants of type [ProductVariantsBulkInput!]! was provided invalid value",
                                "INVALID_VARIABLE")
        products = {item.product_gid: item for item in self.items.values()}
        if product_id not in products:
            return {"product": None, "productVariants": None, "userErrors": [
                _err("PRODUCT_DOES_NOT_EXIST", ["productId"], "Product does not exist")]}
        by_variant = {item.variant_gid: item for item in self.items.values()}
        errors, planned = [], []
        for i, v in enumerate(variants):
            path = ["variants", str(i)]
            item = by_variant.get(v.get("id")) if isinstance(v, dict) else None
            if item is None:
                errors.append(_err("PRODUCT_VARIANT_DOES_NOT_EXIST", path + ["id"], "Product variant does not exist"))
                continue
            if item.product_gid != product_id:
                errors.append(_err("MUST_BE_FOR_THIS_PRODUCT", path + ["id"], "Variant must be for this product"))
                continue
            try:
                price = Decimal(str(v["price"])) if v.get("price") is not None else None
                compare = Decimal(str(v["compareAtPrice"])) if v.get("compareAtPrice") is not None else None
            except ArithmeticError:
                errors.append(_err("INVALID_INPUT", path + ["price"], "Price is invalid"))
                continue
            if (price is not None and price < 0) or (compare is not None and compare < 0):
                errors.append(_err("NEGATIVE_PRICE_VALUE", path + ["price"], "Price can't be negative"))
                continue
            planned.append((i, item, price, compare, "compareAtPrice" in v))
        if errors and not variables.get("allowPartialUpdates"):
            return {"product": None, "productVariants": None, "userErrors": errors}
        updated = []
        for _, item, price, compare, has_compare in planned:
            if price is not None:
                item.price = price
            if has_compare:
                item.compare_at = compare
            updated.append(self._variant_node(item))
        if planned:
            self.mutation_log.append(AppliedMutation(None, "productVariantsBulkUpdate", len(planned), self.clock()))
        return {"product": {"id": product_id}, "productVariants": updated, "userErrors": errors}

    # -- connections

    def _connection(self, operation: str, variables: dict[str, Any], first: int):
        query = variables.get("query") or ""
        if operation == "orders":
            rows = self._order_rows(query)
        elif operation == "inventoryItems":
            # Levels only when the document selects them, as the real API answers selected fields.
            levels = variables.get("__level_names__")
            rows = [((item.number,), self._inventory_item_node(item, levels)) for item in self._sku_filter(query)]
        elif operation == "productVariants":
            rows = [((item.number,), self._variant_node(item)) for item in self._sku_filter(query)]
        else:
            rows = [((n,), {"id": gid, "name": loc, "isActive": True})
                    for n, (loc, gid) in enumerate(self.locations.items())]
        after = variables.get("after")
        if after:
            start = list(_decode_cursor(after))
            try:
                rows = [r for r in rows if list(r[0]) > start]
            except TypeError:  # a cursor from another connection or sort
                raise _GraphQLError("Invalid cursor for current pagination sort.", "BAD_REQUEST") from None
        page = rows[:first]
        nodes = [(_encode_cursor(k), node) for k, node in page]
        info = {"hasNextPage": len(rows) > first, "hasPreviousPage": bool(after),
                "startCursor": nodes[0][0] if nodes else None, "endCursor": nodes[-1][0] if nodes else None}
        return nodes, info

    def _sku_filter(self, query: str) -> list[_Item]:
        wanted = {next(g for g in m.groups() if g is not None) for m in _SKU_TERM.finditer(query)}
        items = sorted(self.items.values(), key=lambda it: it.number)
        return [it for it in items if it.sku in wanted] if wanted else items

    def _order_rows(self, query: str):
        orders = sorted(self.orders.values(), key=_Order.sort_key)
        ids = re.findall(r"(?<![\w_])id:(\d+)", query)  # `id:1001` (the webhook follow-up read)
        if ids:
            orders = [o for o in orders if str(o.number) in ids or o.gid.rsplit("/", 1)[-1] in ids]
        for op, value in _UPDATED_AT.findall(query):
            try:
                bound = parse_iso(value)
            except ValueError:
                raise _GraphQLError(f"Invalid date in search query: {value}", "BAD_REQUEST") from None
            test = {">=": float.__ge__, ">": float.__gt__, "<=": float.__le__, "<": float.__lt__}[op or ">="]
            orders = [o for o in orders if test(o.updated_at, bound)]
        return [(o.sort_key(), self._order_node(o)) for o in orders]

    def _inventory_item_node(self, item: _Item, levels: list[Any] | None = None) -> dict[str, Any]:
        node: dict[str, Any] = {"id": item.item_gid, "sku": item.sku, "tracked": True,
                                "variant": {"id": item.variant_gid, "product": {"id": item.product_gid}}}
        if levels is not None:
            names = [n for n in levels if isinstance(n, str)]
            node["inventoryLevels"] = {"nodes": [
                {"location": {"id": gid, "name": loc},
                 "quantities": [{"name": n, "quantity": self.levels[(item.sku, loc)][n]}
                                for n in names if n in ("available", "on_hand")]}
                for loc, gid in self.locations.items() if (item.sku, loc) in self.levels]}
        return node

    def _variant_node(self, item: _Item) -> dict[str, Any]:
        return {"id": item.variant_gid, "sku": item.sku, "price": str(item.price),
                "compareAtPrice": None if item.compare_at is None else str(item.compare_at),
                "product": {"id": item.product_gid}, "inventoryItem": {"id": item.item_gid}}

    def _order_node(self, o: _Order) -> dict[str, Any]:
        cur = o.currency
        subtotal = sum((line["unit_price"] * line["quantity"] for line in o.lines), Decimal("0"))
        tax = sum((line["tax"] for line in o.lines), Decimal("0"))
        total = subtotal + tax
        customer = o.customer or {}
        first_name, _, last_name = (customer.get("name") or "").partition(" ")
        address = customer.get("address") or None
        mailing = None
        if address:
            mailing = {"firstName": first_name or None, "lastName": last_name or None,
                       "name": customer.get("name"), "phone": customer.get("phone"),
                       "address1": address.get("line1"), "address2": address.get("line2"),
                       "city": address.get("city"), "provinceCode": address.get("region"),
                       "zip": address.get("postal_code"), "countryCodeV2": address.get("country")}
        line_nodes = [{
            "id": f"gid://shopify/LineItem/{o.number * 100 + i}", "sku": line["sku"], "title": line["title"],
            "quantity": line["quantity"], "currentQuantity": line["quantity"],
            "originalUnitPriceSet": _money(line["unit_price"], cur),
            "totalDiscountSet": _money(Decimal("0.00"), cur),
            "taxLines": [{"title": o.tax_title, "rate": float(o.tax_rate), "ratePercentage": float(o.tax_rate * 100),
                          "priceSet": _money(line["tax"], cur)}],
        } for i, line in enumerate(o.lines)]
        cancelled = o.cancelled_at is not None
        return {
            "id": o.gid, "name": o.name, "createdAt": iso(o.created_at), "processedAt": iso(o.created_at),
            "updatedAt": iso(o.updated_at), "cancelledAt": iso(o.cancelled_at) if cancelled else None,
            "closed": cancelled, "sourceName": "web", "currencyCode": cur,
            "displayFinancialStatus": shopify_refunds.financial_status(self, o, "VOIDED" if cancelled else "PAID"),
            "refunds": shopify_refunds.refund_nodes(self, o),
            "displayFulfillmentStatus": "UNFULFILLED",
            "email": customer.get("email"), "phone": customer.get("phone"),
            "customer": None if not o.customer else {
                "id": customer.get("id"), "displayName": customer.get("name"), "firstName": first_name or None,
                "lastName": last_name or None, "email": customer.get("email"), "phone": customer.get("phone"),
                "defaultAddress": mailing},
            "shippingAddress": mailing, "billingAddress": mailing,
            "lineItems": {"nodes": line_nodes, "edges": [{"node": n} for n in line_nodes],
                          "pageInfo": {"hasNextPage": False, "endCursor": None}},
            "taxLines": [{"title": o.tax_title, "rate": float(o.tax_rate), "ratePercentage": float(o.tax_rate * 100),
                          "priceSet": _money(tax, cur)}],
            "transactions": [{"id": f"gid://shopify/OrderTransaction/{o.number * 10}", "kind": "SALE",
                              "status": "SUCCESS", "gateway": "shopify_payments",
                              "formattedGateway": "Shopify Payments", "processedAt": iso(o.created_at),
                              "amountSet": _money(total, cur)}],
            "subtotalPriceSet": _money(subtotal, cur), "totalTaxSet": _money(tax, cur),
            "totalDiscountsSet": _money(Decimal("0.00"), cur), "totalShippingPriceSet": _money(Decimal("0.00"), cur),
            "totalPriceSet": _money(total, cur), "taxesIncluded": False,
        }


    # ------------------------------------------------------------------ state (for /_sim/state)

    def state(self) -> dict[str, Any]:
        """Every level, price and order this shop holds, as plain JSON (tests and `syncops soak`)."""
        with self._lock:
            return {
                "vendor": self.name,
                "levels": [{"sku": sku, "location": loc, **dict(level)} for (sku, loc), level in self.levels.items()],
                "prices": {sku: str(item.price) for sku, item in self.items.items()},
                "orders": [{"id": o.gid, "name": o.name, "state": "cancelled" if o.cancelled_at else "paid",
                            "updated_at": iso(o.updated_at),
                            "lines": [{"sku": line["sku"], "quantity": line["quantity"]} for line in o.lines]}
                           for o in self.orders.values()],
                "payouts": [],
            }



def _hash(variables: Any) -> str:
    return hashlib.sha256(json.dumps(variables, sort_keys=True, default=str).encode()).hexdigest()


def _err(code: str, field: list[str] | None, message: str) -> dict[str, Any]:
    return {"code": code, "field": field, "message": message}


def _user_error(code: str, field: list[str] | None, message: str) -> dict[str, Any]:
    return {"inventoryAdjustmentGroup": None, "userErrors": [_err(code, field, message)]}
