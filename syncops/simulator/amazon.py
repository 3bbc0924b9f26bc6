"""An Amazon Selling Partner API seller account, plus the Login with Amazon token endpoint.

Serves (shapes from the published SP-API models):
- ``POST /auth/o2/token``                           LWA refresh-token grant (form-encoded)
- ``GET  /sellers/v1/marketplaceParticipations``    getMarketplaceParticipations (auth check)
- ``GET  /orders/v0/orders``                        getOrders: MarketplaceIds + LastUpdatedAfter or
  CreatedAfter, MaxResultsPerPage 1-100, NextToken (opaque, bound to its query)
- ``GET  /orders/v0/orders/<id>/orderItems``        getOrderItems, NextToken paging
- ``PATCH /listings/2021-08-01/items/<seller>/<sku>`` patchListingsItem: fulfillment_availability
  (fulfillment_channel_code + quantity); 200 ACCEPTED, or 200 INVALID with issues
- ``GET  /fba/inventory/v1/summaries``              getInventorySummaries (Marketplace granularity,
  startDateTime, nextToken that expires after 30 s)
- ``GET  /finances/v0/financialEventGroups``        listFinancialEventGroups (FinancialEventGroupStartedAfter,
  MaxResultsPerPage 1-100, NextToken); ``/financialEventGroups/<id>/financialEvents``
  listFinancialEventsByGroupId (MaxResultsPerPage 1-100, NextToken): see amazon_finances.py

Access tokens (``x-amz-access-token``) expire after ``token_lifetime`` seconds on the injected
clock; an expired, unknown or missing token gets 403 ``Unauthorized`` (the models document 403
for "Expired Token"). Each operation has its documented usage plan as a token bucket on the clock;
over it, or while ``faults.throttled()``, the answer is 429 ``QuotaExceeded`` carrying
``x-amzn-RateLimit-Limit``. Success answers carry that header too, and ``x-amzn-RequestId``.

Simplifications: LWA accepts any non-empty refresh token except "bad-token" and any client
secret except "bad-secret", and does not insist on a client secret (real LWA does); one
marketplace; an order's tax is ``tax_rate`` of its items and shipping; listings exist for the
catalog SKUs only (any other SKU gets INVALID); FBA summaries change only through `set_fba`.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qs, unquote

from syncops.simulator.amazon_data import STATUSES, asin, c, iso, render_items, render_order
from syncops.simulator.amazon_finances import AmazonFinanceBook
from syncops.simulator.faults import Faults
from syncops.simulator.http import Request, Response, json_response

MARKETPLACE = "ATVPDKIKX0DER"
SELLER = "A2SIMSELLER01"
# operation -> (rate per second, burst): the usage plans in the models.
PLANS = {"getOrders": (0.0167, 20), "getOrderItems": (0.5, 30), "patchListingsItem": (5.0, 5),
         "getListingsItem": (5.0, 10),
         "getInventorySummaries": (2.0, 2), "getMarketplaceParticipations": (0.016, 15),
         "listFinancialEventGroups": (0.5, 30), "listFinancialEventsByGroupId": (0.5, 30)}
FBA_PAGE = 50
UNSETTLED = ("Pending", "PendingAvailability", "Canceled")  # no money has moved for these
FBA_TOKEN_TTL = 30.0


def _err(status: int, code: str, message: str, details: str = "") -> Response:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json_response({"errors": [error]}, status=status)


def _when(value: str) -> float:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


class AmazonApp:
    name = "amazon"

    def __init__(self, faults: Faults | None = None, clock: Callable[[], float] = time.time, *,
                 skus: Mapping[str, Any] | Iterable[str] = ("TSHIRT-RED-M", "MUG-WHITE"),
                 seller_id: str = SELLER, marketplace: str = MARKETPLACE, currency: str = "USD",
                 tax_rate: Any = "0.0825", token_lifetime: float = 3600.0, items_page: int = 30,
                 fba: Mapping[str, int] | None = None, plans: Mapping[str, tuple[float, int]] | None = None) -> None:
        self.faults = faults or Faults(clock=clock)
        self.clock = clock
        self.seller_id, self.marketplace, self.currency = seller_id, marketplace, currency
        self.tax_rate = Decimal(str(tax_rate))
        self.token_lifetime = token_lifetime
        self.items_page = items_page
        self.plans = dict(PLANS, **(plans or {}))
        self._lock = threading.RLock()
        prices = skus if isinstance(skus, Mapping) else {s: "10.00" for s in skus}
        self.prices = {s: Decimal(str(p)) for s, p in prices.items()}
        self.listings: dict[str, dict[str, int]] = {s: {} for s in self.prices}  # sku -> channel code -> qty
        self.submissions: list[dict[str, Any]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.fba: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, float] = {}  # access token -> expiry
        self.token_grants = 0
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.server_errors = 0  # answer the next N SP-API calls with 500 InternalFailure
        self._buckets: dict[str, tuple[float, float]] = {}
        self._next_tokens: dict[str, tuple[str, Any, int, float]] = {}
        self._seq = itertools.count(1)
        # Settlements: closed by `payouts.settle()` (the activity driver's payout tick, or a test).
        self.payouts = AmazonFinanceBook(currency, clock, iso)
        for sku, qty in (fba or {}).items():
            self.set_fba(sku, qty)

    # ------------------------------------------------------------------ the seller's world

    def place_order(self, lines: Iterable[tuple[Any, ...]], *, status: str = "Unshipped", channel: str = "MFN",
                    shipping: Any = "0", promo: Any = "0", now: float | None = None) -> str:
        """A buyer orders. lines: (sku, qty[, unit price]); shipping and promo go on the first line."""
        if status not in STATUSES:
            raise ValueError(f"unknown Amazon order status {status!r}")
        with self._lock:
            stamp = self.clock() if now is None else now
            n = next(self._seq)
            oid = f"111-{1000000 + n:07d}-{(n * 7919) % 10000000:07d}"
            rows = []
            for i, line in enumerate(lines):
                sku, qty = line[0], int(line[1])
                price = Decimal(str(line[2])) if len(line) > 2 else self.prices[sku]
                ship = Decimal(str(shipping)) if i == 0 else Decimal(0)
                disc = Decimal(str(promo)) if i == 0 else Decimal(0)
                rows.append({"sku": sku, "asin": asin(sku), "qty": qty, "price": price,
                             "ship": ship, "promo": disc, "tax": c((price * qty - disc) * self.tax_rate),
                             "ship_tax": c(ship * self.tax_rate)})
            self.orders[oid] = {"id": oid, "n": n, "created": stamp, "modified": stamp, "status": status,
                                "channel": channel, "lines": rows}
            if status not in UNSETTLED:
                self.payouts.shipment(self.orders[oid], stamp)
            return oid

    def set_order_status(self, order_id: str, status: str, *, now: float | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown Amazon order status {status!r}")
        with self._lock:
            order = self.orders[order_id]
            was = order["status"]
            order["status"] = status
            order["modified"] = self.clock() if now is None else now
            if was in UNSETTLED and status not in UNSETTLED:
                self.payouts.shipment(order, order["modified"])

    def set_fba(self, sku: str, fulfillable: int, *, inbound: int = 0, now: float | None = None) -> None:
        with self._lock:
            self.fba[sku] = {"sku": sku, "fulfillable": fulfillable, "inbound": inbound,
                             "updated": self.clock() if now is None else now}

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (revoked or expired early)."""
        with self._lock:
            self.tokens = {t: 0.0 for t in self.tokens}

    def quantity(self, sku: str, channel: str = "DEFAULT") -> int | None:
        with self._lock:
            return self.listings.get(sku, {}).get(channel)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"vendor": self.name,
                    "levels": [{"sku": s, "location": ch, "quantity": q}
                               for s, chans in self.listings.items() for ch, q in chans.items()],
                    "orders": [{"id": o["id"], "state": o["status"],
                                "lines": [{"sku": li["sku"], "quantity": li["qty"]} for li in o["lines"]]}
                               for o in self.orders.values()],
                    "payouts": self.payouts.state()}

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response:
        if self.faults.in_outage():
            if self.faults.plan.outage_mode == "reset":
                return Response(drop_connection=True)
            return _err(503, "ServiceUnavailable", "Temporary overloading or maintenance of the server.")
        delay = self.faults.slow_delay()
        if delay:
            time.sleep(delay)
        with self._lock:
            self.requests.append((request.method, request.path, request.query))
            if request.path == "/auth/o2/token" and request.method == "POST":
                return self._token(request)
            route = self._route(request)
            if route is None:
                return _err(404, "NotFound", "The resource specified does not exist.")
            op, handler, args = route
            resp = self._guard(request, op)
            if resp is None:
                resp = handler(request, *args)
            resp.headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
            if resp.status < 500 and resp.status not in (403,):
                resp.headers.setdefault("x-amzn-RateLimit-Limit", f"{self.plans[op][0]:g}")
            return resp

    def _route(self, request: Request) -> tuple[str, Callable[..., Response], tuple[Any, ...]] | None:
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        m = request.method
        if m == "GET" and parts == ["sellers", "v1", "marketplaceParticipations"]:
            return "getMarketplaceParticipations", self._participations, ()
        if m == "GET" and parts == ["orders", "v0", "orders"]:
            return "getOrders", self._get_orders, ()
        if m == "GET" and len(parts) == 5 and parts[:3] == ["orders", "v0", "orders"] and parts[4] == "orderItems":
            return "getOrderItems", self._get_items, (parts[3],)
        if m == "GET" and len(parts) == 5 and parts[:3] == ["listings", "2021-08-01", "items"]:
            return "getListingsItem", self._get_listing, (parts[3], parts[4])
        if m == "PATCH" and len(parts) == 5 and parts[:3] == ["listings", "2021-08-01", "items"]:
            return "patchListingsItem", self._patch_listing, (parts[3], parts[4])
        if m == "GET" and parts == ["fba", "inventory", "v1", "summaries"]:
            return "getInventorySummaries", self._summaries, ()
        if m == "GET" and parts == ["finances", "v0", "financialEventGroups"]:
            return "listFinancialEventGroups", self._event_groups, ()
        if m == "GET" and len(parts) == 5 and parts[:3] == ["finances", "v0", "financialEventGroups"] \
                and parts[4] == "financialEvents":
            return "listFinancialEventsByGroupId", self._group_events, (parts[3],)
        return None

    def _guard(self, request: Request, op: str) -> Response | None:
        token = request.header("x-amz-access-token")
        expiry = self.tokens.get(token or "")
        if not token or expiry is None:
            return _err(403, "Unauthorized", "Access to requested resource is denied.",
                        "The access token you provided is revoked, malformed or invalid.")
        if self.clock() >= expiry:
            return _err(403, "Unauthorized", "Access to requested resource is denied.",
                        "The access token you provided has expired.")
        now = self.clock()
        rate, burst = self.plans[op]
        tokens, at = self._buckets.get(op, (float(burst), now))
        tokens = min(float(burst), tokens + max(0.0, now - at) * rate)
        if self.faults.throttled() or tokens < 1.0 - 1e-6:  # float dust from clock arithmetic
            self._buckets[op] = (tokens, now)
            return _err(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
        self._buckets[op] = (tokens - 1.0, now)
        if self.server_errors:
            self.server_errors -= 1
            return _err(500, "InternalFailure", "We encountered an internal error. Please try again.")
        return None

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "refresh_token":
            return json_response({"error": "unsupported_grant_type",
                                  "error_description": "The authorization grant type is not supported"}, 400)
        if not form.get("client_id"):
            return json_response({"error": "invalid_request",
                                  "error_description": "The request is missing a required parameter : client_id"}, 400)
        if form.get("client_secret") == "bad-secret":
            return json_response({"error": "invalid_client",
                                  "error_description": "Client authentication failed"}, 401)
        refresh = form.get("refresh_token") or ""
        if not refresh or refresh == "bad-token":
            return json_response({"error": "invalid_grant",
                                  "error_description": "The request has an invalid grant parameter : refresh_token"},
                                 400)
        self.token_grants += 1
        token = f"Atza|sim-{uuid.uuid4().hex}"
        self.tokens[token] = self.clock() + self.token_lifetime
        return json_response({"access_token": token, "refresh_token": refresh, "token_type": "bearer",
                              "expires_in": int(self.token_lifetime)})

    def _participations(self, _request: Request) -> Response:
        return json_response({"payload": [{
            "marketplace": {"id": self.marketplace, "name": "Amazon.com", "countryCode": "US",
                            "defaultCurrencyCode": self.currency, "defaultLanguageCode": "en_US",
                            "domainName": "www.amazon.com"},
            "participation": {"isParticipating": True, "hasSuspendedListings": False},
            "storeName": "syncops-sim"}]})

    # -- pagination tokens: opaque, bound to the query that made them

    def _new_token(self, op: str, query: Any, offset: int) -> str:
        token = uuid.uuid4().hex + uuid.uuid4().hex
        self._next_tokens[token] = (op, query, offset, self.clock())
        return token

    def _use_token(self, op: str, token: str, query: Any, ttl: float | None = None) -> int | None:
        entry = self._next_tokens.get(token)
        if entry is None or entry[0] != op or entry[1] != query:
            return None
        if ttl is not None and self.clock() - entry[3] > ttl:
            return None
        return entry[2]

    def _get_orders(self, request: Request) -> Response:
        q = request.query
        markets = [v for part in q.get("MarketplaceIds", []) for v in part.split(",") if v]
        if not markets:
            return _err(400, "InvalidInput", "Missing required 'MarketplaceIds' parameter.")
        updated, created = q.get("LastUpdatedAfter", [None])[0], q.get("CreatedAfter", [None])[0]
        if bool(updated) == bool(created):
            return _err(400, "InvalidInput", "Exactly one of CreatedAfter or LastUpdatedAfter is required.")
        try:
            since = _when(updated or created)
        except ValueError:
            return _err(400, "InvalidInput", "Invalid date format for LastUpdatedAfter/CreatedAfter; use ISO 8601.")
        if since > self.clock():
            return _err(400, "InvalidInput", "Date provided is later than the current time.")
        try:
            size = int(q.get("MaxResultsPerPage", ["100"])[0])
        except ValueError:
            size = 0
        if not 1 <= size <= 100:
            return _err(400, "InvalidInput", "MaxResultsPerPage must be between 1 and 100.")
        query = (tuple(markets), updated, created, size)
        offset = 0
        if q.get("NextToken"):
            found = self._use_token("getOrders", q["NextToken"][0], query)
            if found is None:
                return _err(400, "InvalidInput", "Invalid NextToken.")
            offset = found
        field = "modified" if updated else "created"
        rows = sorted((o for o in self.orders.values() if o[field] >= since and self.marketplace in markets),
                      key=lambda o: (o[field], o["id"]))
        chunk = rows[offset:offset + size]
        payload: dict[str, Any] = {"Orders": [render_order(o, self.currency, self.marketplace) for o in chunk]}
        if offset + size < len(rows):
            payload["NextToken"] = self._new_token("getOrders", query, offset + size)
        payload["LastUpdatedBefore" if updated else "CreatedBefore"] = iso(self.clock())
        return json_response({"payload": payload})

    def _get_items(self, request: Request, order_id: str) -> Response:
        order = self.orders.get(order_id)
        if order is None:
            return _err(404, "InvalidInput", f"Invalid AmazonOrderId: {order_id}")
        items = render_items(order, self.currency)
        offset = 0
        if request.query.get("NextToken"):
            found = self._use_token("getOrderItems", request.query["NextToken"][0], order_id)
            if found is None:
                return _err(400, "InvalidInput", "Invalid NextToken.")
            offset = found
        payload: dict[str, Any] = {"AmazonOrderId": order_id, "OrderItems": items[offset:offset + self.items_page]}
        if offset + self.items_page < len(items):
            payload["NextToken"] = self._new_token("getOrderItems", order_id, offset + self.items_page)
        return json_response({"payload": payload})

    # -- finances

    def _page_size(self, query: dict[str, list[str]], default: int) -> int | None:
        try:
            size = int(query.get("MaxResultsPerPage", [str(default)])[0])
        except ValueError:
            return None
        return size if 1 <= size <= 100 else None

    def _event_groups(self, request: Request) -> Response:
        q = request.query
        size = self._page_size(q, 10)
        if size is None:
            return _err(400, "InvalidInput", "MaxResultsPerPage must be between 1 and 100.")
        after = q.get("FinancialEventGroupStartedAfter", [None])[0]
        try:
            since = _when(after) if after else None
        except ValueError:
            return _err(400, "InvalidInput", "Invalid date format for FinancialEventGroupStartedAfter.")
        query = (after, size)
        offset = 0
        if q.get("NextToken"):
            found = self._use_token("listFinancialEventGroups", q["NextToken"][0], query)
            if found is None:
                return _err(400, "InvalidInput", "Invalid NextToken.")
            offset = found
        rows = [g for g in self.payouts.groups.values()
                if since is None or _when(g["FinancialEventGroupStart"]) >= since]
        payload: dict[str, Any] = {"FinancialEventGroupList": [dict(g) for g in rows[offset:offset + size]]}
        if offset + size < len(rows):
            payload["NextToken"] = self._new_token("listFinancialEventGroups", query, offset + size)
        return json_response({"payload": payload})

    def _group_events(self, request: Request, group_id: str) -> Response:
        q = request.query
        size = self._page_size(q, 100)
        if size is None:
            return _err(400, "InvalidInput", "MaxResultsPerPage must be between 1 and 100.")
        if group_id not in self.payouts.groups:
            return _err(400, "InvalidInput", f"Invalid event group id: {group_id}")
        offset = 0
        if q.get("NextToken"):
            found = self._use_token("listFinancialEventsByGroupId", q["NextToken"][0], (group_id, size))
            if found is None:
                return _err(400, "InvalidInput", "Invalid NextToken.")
            offset = found
        flat = [(kind, e) for kind, events in self.payouts.events[group_id].items() for e in events]
        lists: dict[str, list[Any]] = {}
        for kind, event in flat[offset:offset + size]:
            lists.setdefault(kind, []).append(event)
        payload: dict[str, Any] = {"FinancialEvents": lists}
        if offset + size < len(flat):
            payload["NextToken"] = self._new_token("listFinancialEventsByGroupId", (group_id, size), offset + size)
        return json_response({"payload": payload})

    def _patch_listing(self, request: Request, seller: str, sku: str) -> Response:
        if seller != self.seller_id:
            return _err(403, "Unauthorized", "Access to requested resource is denied.",
                        "The seller id does not match the authorised selling partner.")
        markets = [v for part in request.query.get("marketplaceIds", []) for v in part.split(",") if v]
        if not markets:
            return _err(400, "InvalidInput", "Missing required 'marketplaceIds' parameter.")
        if markets != [self.marketplace]:
            return _err(400, "InvalidInput", f"Invalid marketplaceIds: {','.join(markets)}")
        try:
            body = request.json()
        except ValueError:
            return _err(400, "InvalidInput", "Request body is not valid JSON.")
        patches = body.get("patches") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(body.get("productType"), str) or not isinstance(patches, list) \
                or not patches:
            return _err(400, "InvalidInput", "Request has missing or invalid parameters: productType and a "
                                             "non-empty patches array are required.")
        submission = str(uuid.uuid4())
        issues = []
        changes: list[tuple[str, int]] = []
        if sku not in self.listings:
            issues.append({"code": "4000001", "message": f"The SKU '{sku}' does not have a listing in this "
                           "marketplace; create it with putListingsItem first.", "severity": "ERROR",
                           "attributeNames": []})
        for patch in patches:
            if not isinstance(patch, dict) or patch.get("op") not in ("add", "replace", "merge", "delete") \
                    or not isinstance(patch.get("path"), str):
                return _err(400, "InvalidInput", "Each patch needs an op (add, replace, merge, delete) and a path.")
            if patch["path"] != "/attributes/fulfillment_availability":
                issues.append({"code": "90000900", "message": f"{patch['path']} is not supported by this simulator",
                               "severity": "ERROR", "attributeNames": [patch["path"].rsplit("/", 1)[-1]]})
                continue
            for value in patch.get("value") or []:
                qty = value.get("quantity") if isinstance(value, dict) else None
                code = value.get("fulfillment_channel_code") if isinstance(value, dict) else None
                if not isinstance(code, str) or type(qty) is not int or qty < 0:
                    issues.append({"code": "90244", "message": "fulfillment_availability needs a "
                                   "fulfillment_channel_code and a whole quantity of 0 or more",
                                   "severity": "ERROR", "attributeNames": ["fulfillment_availability"]})
                    continue
                changes.append((code, qty))
        if issues:
            return json_response({"sku": sku, "status": "INVALID", "submissionId": submission, "issues": issues})
        for code, qty in changes:
            self.listings[sku][code] = qty
        self.submissions.append({"submissionId": submission, "sku": sku, "changes": changes})
        return json_response({"sku": sku, "status": "ACCEPTED", "submissionId": submission, "issues": []})

    def _get_listing(self, request: Request, seller: str, sku: str) -> Response:
        if seller != self.seller_id:
            return _err(403, "Unauthorized", "Access to requested resource is denied.")
        markets = [v for part in request.query.get("marketplaceIds", []) for v in part.split(",") if v]
        if markets != [self.marketplace]:
            return _err(400, "InvalidInput", "Exactly one valid marketplaceIds value is required.")
        if sku not in self.listings:
            return _err(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {self.marketplace}")
        included = [v for part in request.query.get("includedData", ["summaries"]) for v in part.split(",")]
        item: dict[str, Any] = {"sku": sku}
        if "summaries" in included:
            item["summaries"] = [{"marketplaceId": self.marketplace, "asin": asin(sku), "productType": "PRODUCT",
                                  "status": ["BUYABLE"], "itemName": sku.title(),
                                  "createdDate": iso(0), "lastUpdatedDate": iso(self.clock())}]
        if "fulfillmentAvailability" in included:
            item["fulfillmentAvailability"] = [{"fulfillmentChannelCode": code, "quantity": qty}
                                               for code, qty in self.listings[sku].items()]
        return json_response(item)

    def _summaries(self, request: Request) -> Response:
        q = request.query
        if q.get("granularityType", [None])[0] != "Marketplace" or not q.get("granularityId"):
            return _err(400, "InvalidInput", "granularityType must be Marketplace and granularityId is required.")
        markets = [v for part in q.get("marketplaceIds", []) for v in part.split(",") if v]
        if markets != [self.marketplace] or q["granularityId"][0] != self.marketplace:
            return _err(400, "InvalidInput", "Exactly one valid marketplaceIds value is required.")
        start = q.get("startDateTime", [None])[0]
        try:
            since = _when(start) if start else None
        except ValueError:
            return _err(400, "InvalidInput", "Invalid startDateTime.")
        details = q.get("details", ["false"])[0] == "true"
        query = (start, details, tuple(q.get("sellerSkus", [])))
        offset = 0
        if q.get("nextToken"):
            found = self._use_token("getInventorySummaries", q["nextToken"][0], query, FBA_TOKEN_TTL)
            if found is None:
                return _err(400, "InvalidInput", "Invalid or expired nextToken.")
            offset = found
        wanted = [v for part in q.get("sellerSkus", []) for v in part.split(",") if v] if not start else []
        if len(wanted) > 50:
            return _err(400, "InvalidInput", "sellerSkus accepts at most 50 SKUs.")
        rows = sorted((r for r in self.fba.values() if (since is None or r["updated"] >= since)
                       and (not wanted or r["sku"] in wanted)),
                      key=lambda r: (r["updated"], r["sku"]))
        out = []
        for r in rows[offset:offset + FBA_PAGE]:
            summary: dict[str, Any] = {"asin": asin(r["sku"]), "fnSku": f"X00{r['sku'][:7]}",
                                       "sellerSku": r["sku"], "condition": "NewItem",
                                       "lastUpdatedTime": iso(r["updated"]), "productName": r["sku"].title(),
                                       "totalQuantity": r["fulfillable"] + r["inbound"]}
            if details:
                summary["inventoryDetails"] = {"fulfillableQuantity": r["fulfillable"],
                                               "inboundWorkingQuantity": r["inbound"], "inboundShippedQuantity": 0,
                                               "inboundReceivingQuantity": 0}
            out.append(summary)
        body: dict[str, Any] = {"payload": {"granularity": {"granularityType": "Marketplace",
                                                            "granularityId": self.marketplace},
                                            "inventorySummaries": out}}
        if offset + FBA_PAGE < len(rows):
            body["pagination"] = {"nextToken": self._new_token("getInventorySummaries", query, offset + FBA_PAGE)}
        return json_response(body)
