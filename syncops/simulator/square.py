"""A Square-like POS on 127.0.0.1: catalog, locations, inventory counts, orders and returns.

Only what the Square connector uses is modelled, but what is modelled follows Square's wire
behaviour closely (vendor-apis.md section 2 and 6): `{"errors": [...]}` envelopes, body cursors
that are valid only with the original body, idempotency-key replay, per-item errors inside a 200
on the bulk inventory endpoint, and 429 without `Retry-After`.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import uuid
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Mapping, Sequence

from syncops.simulator.faults import Faults
from syncops.simulator.payouts import SquarePayoutBook
from syncops.simulator.square_history import InventoryHistory
from syncops.simulator.http import Request, Response, json_response

DEFAULT_SKUS = ("TSHIRT-RED-M", "TSHIRT-RED-L", "TSHIRT-BLUE-M", "MUG-WHITE", "CAP-BLACK", "TOTE-NATURAL")
DEFAULT_LOCATIONS = {"store-1": "L1STORE", "store-2": "L2STORE"}
TAX_ID = "SQ-TAX-SALES"
TAX_UID = "tax-sales"
MAX_CHANGES = 100  # Square's documented cap on changes per batch-create
TRACKED_STATE = "IN_STOCK"  # the only state the fake keeps counts for


def rfc3339(epoch: float) -> str:
    """Millisecond RFC 3339, as Square prints its timestamps."""
    ms = round(epoch * 1000)
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def parse_ms(value: str) -> int:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError("timestamp needs a UTC offset")
    return round(dt.timestamp() * 1000)


def _err(status: int, category: str, code: str, detail: str, field: str | None = None) -> Response:
    return json_response({"errors": [_error(category, code, detail, field)]}, status)


def _error(category: str, code: str, detail: str, field: str | None = None) -> dict[str, str]:
    error = {"category": category, "code": code, "detail": detail}
    if field:
        error["field"] = field
    return error


def _bad(code: str, detail: str, field: str | None = None) -> Response:
    return _err(400, "INVALID_REQUEST_ERROR", code, detail, field)


class _Reject(Exception):
    """A request-level validation failure; carries the 400 response to send."""

    def __init__(self, response: Response) -> None:
        super().__init__("rejected")
        self.response = response


class SquareApp:
    """Simulated Square seller account.

    `locations` maps a friendly name to a Square location id ({"store-1": "L1STORE"}); a plain
    sequence means each id is also its name. Generator and inspection methods accept either the
    name or the id. The wire always uses the Square id. Every SKU in `skus` becomes an
    ITEM_VARIATION ("SQ-VAR-<n>") stocked with `initial_qty` at every location.
    Money is kept in minor units (cents), as Square does.
    """

    name = "square"
    webhooks: Any = None  # a simulator.webhooks.WebhookSender: inventory.count.updated on every count change

    def __init__(
        self,
        faults: Faults | None = None,
        clock: Callable[[], float] = time.time,
        *,
        skus: Iterable[str] = DEFAULT_SKUS,
        locations: Mapping[str, str] | Sequence[str] = DEFAULT_LOCATIONS,
        initial_qty: int = 25,
        prices: Mapping[str, int] | None = None,  # minor units per SKU
        currency: str = "USD",
        tax_percentage: str = "8.25",
        cursor_ttl: float = 300.0,
        seed: int = 11,
    ) -> None:
        self.faults = faults or Faults(clock=clock)
        self.clock = clock
        self.currency = currency
        self.tax_percentage = tax_percentage
        self.cursor_ttl = cursor_ttl
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        if isinstance(locations, Mapping):
            self.locations: dict[str, str] = dict(locations)
        else:
            self.locations = {loc: loc for loc in locations}
        self._variations: dict[str, dict[str, Any]] = {}  # id -> CatalogObject (ITEM_VARIATION)
        self._by_sku: dict[str, str] = {}
        self._counts: dict[tuple[str, str], dict[str, Any]] = {}  # (var id, loc id) -> {qty, ms}
        self._orders: dict[str, dict[str, Any]] = {}
        self._cursors: dict[str, tuple[str, str, int, float]] = {}  # token -> (path, body sig, offset, issued)
        self._idempotency: dict[str, tuple[str, Response]] = {}  # key -> (body sig, original response)
        self.applied_changes: list[str] = []
        self.history = InventoryHistory(rfc3339)  # every InventoryChange, for changes/batch-retrieve
        self.known_skus = list(skus)
        # Card takings paid out by `payouts.settle()` (see simulator/payouts.py for the fee rate).
        self.payouts = SquarePayoutBook(currency, clock, rfc3339, next(iter(self.locations.values())))
        self._seq = 0
        self._mystery = 0
        self._garbage = 0
        now = clock()
        for sku in self.known_skus:
            price = (prices or {}).get(sku, 1500 + 250 * len(self._variations))
            self.add_variation(sku, price, stock=initial_qty, now=now)

    # ------------------------------------------------------------------ generators (world driver)

    def add_variation(self, sku: str, price: int = 1000, *, stock: int = 0, now: float | None = None) -> str:
        """Add an ITEM_VARIATION with `stock` IN_STOCK at every location; returns its id."""
        with self._lock:
            now = self.clock() if now is None else now
            var_id = f"SQ-VAR-{len(self._variations) + 1}"
            self._variations[var_id] = {
                "type": "ITEM_VARIATION", "id": var_id, "updated_at": rfc3339(now), "version": 1,
                "is_deleted": False, "present_at_all_locations": True,
                "item_variation_data": {
                    "item_id": f"SQ-ITEM-{len(self._variations) + 1}", "name": sku.title(), "sku": sku,
                    "pricing_type": "FIXED_PRICING", "price_money": self._money(price),
                },
            }
            self._by_sku[sku] = var_id
            for loc in self.locations.values():
                self._counts[(var_id, loc)] = {"qty": Decimal(stock), "ms": round(now * 1000)}
            return var_id

    def delete_variation(self, sku: str) -> None:
        """Soft-delete, as Square does: the id stays resolvable only with include_deleted_objects."""
        with self._lock:
            self._variations[self._by_sku.pop(sku)]["is_deleted"] = True

    def record_sale(self, location: str, lines: list[tuple[str, int]], *, now: float | None = None,
                    created_at: float | None = None, tender: str | None = None) -> str:
        """A COMPLETED POS sale; decrements stock. `created_at` earlier than `now` models an
        order taken offline that reaches Square late (it keeps its original created_at)."""
        with self._lock:
            now = self.clock() if now is None else now
            loc = self._loc(location)
            lines = list(lines)
            if not lines:
                raise ValueError("a sale needs at least one line")
            if self.faults.roll("unmapped_sku"):
                # Something rung up that the retailer never told syncops about.
                self._mystery += 1
                sku = f"MYSTERY-{self._mystery}"
                self.add_variation(sku, 999, stock=5, now=now)
                index = self._rng.randrange(len(lines))
                lines[index] = (sku, lines[index][1])
            untaxed = self._rng.randrange(len(lines)) if self.faults.roll("validation") else None
            order_id = self._next_id()
            items, tax_total, gross_total = [], 0, 0
            for n, (sku, qty) in enumerate(lines):
                var = self._variation(sku)
                if int(qty) <= 0:
                    raise ValueError(f"quantity must be positive, got {qty}")
                price = var["item_variation_data"]["price_money"]["amount"]
                gross = price * int(qty)
                tax = 0 if n == untaxed else self._tax(gross)
                item = {
                    "uid": f"li-{n + 1}", "name": var["item_variation_data"]["name"], "quantity": str(qty),
                    "catalog_object_id": var["id"], "catalog_version": var["version"],
                    "variation_name": var["item_variation_data"]["name"], "item_type": "ITEM",
                    "base_price_money": self._money(price), "gross_sales_money": self._money(gross),
                    "total_tax_money": self._money(tax), "total_discount_money": self._money(0),
                    "total_money": self._money(gross + tax),
                }
                if n != untaxed:
                    item["applied_taxes"] = [{"uid": f"at-{n + 1}", "tax_uid": TAX_UID,
                                              "applied_money": self._money(tax)}]
                items.append(item)
                tax_total += tax
                gross_total += gross
                self._adjust(var["id"], loc, -Decimal(qty), now)
                self.history.adjustment(var["id"], loc, str(qty), TRACKED_STATE, "SOLD", now, transaction_id=order_id,
                                        total_price_money=self._money(gross))
            total = gross_total + tax_total
            kind = tender or ("CARD" if self._rng.random() < 0.7 else "CASH")
            tender_obj: dict[str, Any] = {
                "id": f"TND-{order_id}", "location_id": loc, "transaction_id": order_id,
                "created_at": rfc3339(now), "amount_money": self._money(total), "type": kind,
            }
            if kind == "CARD":
                self.payouts.charge(loc, tender_obj["id"], total, now)
                tender_obj["card_details"] = {"status": "CAPTURED", "entry_method": "EMV",
                                              "card": {"card_brand": "VISA", "last_4": "1111"}}
            else:
                tender_obj["cash_details"] = {"buyer_tendered_money": self._money(total),
                                              "change_back_money": self._money(0)}
            self._orders[order_id] = {
                "id": order_id, "location_id": loc, "source": {"name": "Square Point of Sale"},
                "line_items": items,
                "taxes": [{"uid": TAX_UID, "catalog_object_id": TAX_ID, "name": "Sales Tax",
                           "type": "ADDITIVE", "percentage": self.tax_percentage, "scope": "LINE_ITEM",
                           "applied_money": self._money(tax_total)}],
                "tenders": [tender_obj],
                "total_money": self._money(total), "total_tax_money": self._money(tax_total),
                "total_discount_money": self._money(0),
                "net_amounts": {"total_money": self._money(total), "tax_money": self._money(tax_total),
                                "discount_money": self._money(0)},
                "created_at": rfc3339(created_at if created_at is not None else now),
                "updated_at": rfc3339(now), "closed_at": rfc3339(now),
                "state": "COMPLETED", "version": 1,
            }
            return order_id

    def record_return(self, order_id: str, lines: list[tuple[str, int]], *,
                      restock: bool | Mapping[str, int] = True, now: float | None = None) -> str:
        """Return goods from an earlier sale: a new order carrying `returns` and a refund to the
        original tender. Square has no restock flag on a return: what happened to the goods is
        inventory history, SOLD -> IN_STOCK for units put back on the shelf and SOLD -> WASTE for
        the rest, each adjustment carrying the refund's id. `restock` is True (all), False (none)
        or {sku: units restocked} for a partial restock."""
        with self._lock:
            now = self.clock() if now is None else now
            sale = self._orders[order_id]
            loc = sale["location_id"]
            return_id = self._next_id()
            items, tax_total, gross_total = [], 0, 0
            for n, (sku, qty) in enumerate(lines):
                var_id = self._by_sku.get(sku) or next(
                    (v["id"] for v in self._variations.values() if v["item_variation_data"]["sku"] == sku), None)
                source = next((li for li in sale["line_items"] if li["catalog_object_id"] == var_id), None)
                if source is None:
                    raise KeyError(f"{sku} was not sold on order {order_id}")
                remaining = int(source["quantity"]) - self._returned(order_id, source["uid"])
                if not 0 < int(qty) <= remaining:
                    raise ValueError(f"cannot return {qty} of {sku}: {remaining} returnable")
                unit = source["base_price_money"]["amount"]
                gross = unit * int(qty)
                tax = source["total_tax_money"]["amount"] * int(qty) // int(source["quantity"])
                item = {
                    "uid": f"rli-{n + 1}", "source_line_item_uid": source["uid"], "name": source["name"],
                    "quantity": str(qty), "catalog_object_id": var_id, "catalog_version": source["catalog_version"],
                    "variation_name": source["variation_name"], "item_type": "ITEM",
                    "base_price_money": self._money(unit), "gross_return_money": self._money(gross),
                    "total_tax_money": self._money(tax), "total_discount_money": self._money(0),
                    "total_money": self._money(gross + tax),
                }
                if "applied_taxes" in source:
                    item["applied_taxes"] = [{"uid": f"rat-{n + 1}", "tax_uid": "rtax-sales",
                                              "applied_money": self._money(tax)}]
                items.append(item)
                tax_total += tax
                gross_total += gross
                back = min(int(qty), int(restock.get(sku, 0))) if isinstance(restock, Mapping) else (
                    int(qty) if restock else 0)
                for units, state in ((back, TRACKED_STATE), (int(qty) - back, "WASTE")):
                    if units:
                        self.history.adjustment(var_id, loc, str(units), "SOLD", state, now,
                                                refund_id=f"RFD-{return_id}")
                if back:
                    self._adjust(var_id, loc, Decimal(back), now)
            total = gross_total + tax_total
            if sale["tenders"][0]["type"] == "CARD":
                self.payouts.refund(loc, sale["tenders"][0]["id"], f"RFD-{return_id}", total, now)
            amounts = {"total_money": self._money(total), "tax_money": self._money(tax_total),
                       "discount_money": self._money(0), "tip_money": self._money(0),
                       "service_charge_money": self._money(0)}
            self._orders[return_id] = {
                "id": return_id, "location_id": loc, "source": {"name": "Square Point of Sale"},
                "returns": [{
                    "uid": "ret-1", "source_order_id": order_id, "return_line_items": items,
                    "return_taxes": [{"uid": "rtax-sales", "source_tax_uid": TAX_UID, "catalog_object_id": TAX_ID,
                                      "name": "Sales Tax", "type": "ADDITIVE", "percentage": self.tax_percentage,
                                      "scope": "LINE_ITEM", "applied_money": self._money(tax_total)}],
                    "return_amounts": amounts,
                }],
                "return_amounts": amounts,
                "net_amounts": {"total_money": self._money(-total), "tax_money": self._money(-tax_total)},
                "refunds": [{
                    "id": f"RFD-{return_id}", "location_id": loc, "transaction_id": order_id,
                    "tender_id": sale["tenders"][0]["id"], "created_at": rfc3339(now), "reason": "Returned goods",
                    "amount_money": self._money(total), "status": "APPROVED",
                }],
                "total_money": self._money(0), "total_tax_money": self._money(0),
                "total_discount_money": self._money(0),
                "created_at": rfc3339(now), "updated_at": rfc3339(now), "closed_at": rfc3339(now),
                "state": "COMPLETED", "version": 1,
            }
            return return_id

    def restock(self, sku: str, location: str, qty: int, *, now: float | None = None) -> None:
        """Goods received at the till (NONE -> IN_STOCK); a negative qty is a sale-like removal."""
        with self._lock:
            now = self.clock() if now is None else now
            var_id, loc = self._variation(sku)["id"], self._loc(location)
            self._adjust(var_id, loc, Decimal(qty), now)
            states = ("NONE", TRACKED_STATE) if qty >= 0 else (TRACKED_STATE, "WASTE")
            self.history.adjustment(var_id, loc, str(abs(qty)), *states, now)

    def set_count(self, sku: str, location: str, qty: int, *, now: float | None = None) -> None:
        with self._lock:
            self._physical(self._variation(sku)["id"], self._loc(location), Decimal(qty),
                           self.clock() if now is None else now)

    def inject_garbage(self, count: int = 1) -> None:
        """The next `count` answers are an HTML error page with status 200 (a broken proxy)."""
        with self._lock:
            self._garbage += count

    def invalidate_cursors(self) -> None:
        """Forget every issued cursor, as if they had all expired."""
        with self._lock:
            self._cursors.clear()

    # ------------------------------------------------------------------ inspection

    def count(self, sku: str, location: str) -> int:
        with self._lock:
            return int(self._counts[(self._variation(sku)["id"], self._loc(location))]["qty"])

    def variation_id(self, sku: str) -> str:
        with self._lock:
            return self._variation(sku)["id"]

    @property
    def orders(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(json.dumps(o)) for o in self._orders.values()]

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response:
        with self._lock:  # Faults shares one RNG; the server is threaded
            if self.faults.in_outage():
                if self.faults.plan.outage_mode == "reset":
                    return Response(drop_connection=True)
                return _err(503, "API_ERROR", "SERVICE_UNAVAILABLE", "Service temporarily unavailable.")
            delay = self.faults.slow_delay()
        if delay:
            time.sleep(delay)  # outside the lock: a slow answer must not stall the other threads
        auth = request.header("authorization") or ""
        token = auth[7:].strip() if auth.startswith("Bearer ") else ""
        if not token or token == "bad-token":
            return _err(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED",
                        "This request could not be authorized.")
        version = request.header("square-version")
        if version is not None and not _is_date(version):
            return _bad("INVALID_SQUARE_VERSION_FORMAT", f"Invalid Square-Version {version!r}.")
        with self._lock:
            if self.faults.throttled():
                # Square documents no Retry-After and no quota headers: clients must back off blindly.
                return _err(429, "RATE_LIMIT_ERROR", "RATE_LIMITED", "Rate limited.")
            if self._garbage:
                self._garbage -= 1
                return Response(200, "<html><body>502 Bad Gateway</body></html>", content_type="text/html")
            if request.path.startswith("/v2/payouts"):
                return self.payouts.handle(request, _bad, parse_ms)
            route = self._routes().get((request.method, request.path))
            if route is None:
                return _err(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"No route {request.method} {request.path}.")
            if request.method == "GET":
                return route({})
            try:
                body = request.json()
            except ValueError:
                return _bad("EXPECTED_JSON_BODY", "The request body is not valid JSON.")
            if not isinstance(body, dict):
                return _bad("EXPECTED_OBJECT", "The request body must be a JSON object.")
            try:
                return route(body)
            except _Reject as reject:
                return reject.response

    def _routes(self) -> dict[tuple[str, str], Callable[[dict[str, Any]], Response]]:
        return {
            ("GET", "/v2/locations"): self._list_locations,
            ("POST", "/v2/inventory/counts/batch-retrieve"): self._retrieve_counts,
            ("POST", "/v2/inventory/changes/batch-create"): self._change_inventory,
            ("POST", "/v2/inventory/changes/batch-retrieve"): self._retrieve_changes,
            ("POST", "/v2/orders/search"): self._search_orders,
            ("POST", "/v2/orders/batch-retrieve"): self._retrieve_orders,
            ("POST", "/v2/catalog/search"): self._search_catalog,
            ("POST", "/v2/catalog/batch-retrieve"): self._retrieve_catalog,
        }

    def _list_locations(self, _body: dict[str, Any]) -> Response:
        return json_response({"locations": [
            {"id": loc, "name": name, "status": "ACTIVE", "type": "PHYSICAL", "currency": self.currency,
             "timezone": "UTC", "created_at": "2024-01-01T00:00:00.000Z"}
            for name, loc in self.locations.items()
        ]})

    def _retrieve_counts(self, body: dict[str, Any]) -> Response:
        _allowed(body, {"catalog_object_ids", "location_ids", "updated_after", "states", "cursor", "limit"})
        limit = _limit(body, 1000, 1000)
        after = _time(body, "updated_after") if body.get("updated_after") is not None else None
        ids = set(body.get("catalog_object_ids") or []) or None
        locs = set(body.get("location_ids") or []) or None
        states = set(body.get("states") or []) or None
        rows = [
            (key, count) for key, count in self._counts.items()
            if (ids is None or key[0] in ids) and (locs is None or key[1] in locs)
            and (states is None or TRACKED_STATE in states) and (after is None or count["ms"] > after)
        ]
        # Newest first, as Square documents; ties broken by id so pages are stable.
        rows.sort(key=lambda r: (-r[1]["ms"], r[0]))
        page, cursor = self._page("counts", body, rows, limit)
        counts = [{
            "catalog_object_id": var_id, "catalog_object_type": "ITEM_VARIATION", "state": TRACKED_STATE,
            "location_id": loc, "quantity": _qty(count["qty"]), "calculated_at": rfc3339(count["ms"] / 1000),
            "is_estimated": False,
        } for (var_id, loc), count in page]
        if counts and self.faults.roll("duplicate_event"):
            counts.append(dict(counts[self._rng.randrange(len(counts))]))
        return json_response({"counts": counts, **({"cursor": cursor} if cursor else {})})

    def _retrieve_changes(self, body: dict[str, Any]) -> Response:
        def bad(code: str, detail: str, field: str | None = None) -> None:
            raise _Reject(_bad(code, detail, field))

        return json_response(self.history.retrieve(
            body, bad=bad, parse_ms=parse_ms, page=lambda rows, limit: self._page("changes", body, rows, limit)))

    def _change_inventory(self, body: dict[str, Any]) -> Response:
        _allowed(body, {"idempotency_key", "changes", "ignore_unchanged_counts"})
        key = body.get("idempotency_key")
        if not isinstance(key, str) or not key:
            return _bad("MISSING_REQUIRED_PARAMETER", "Field must be set", "idempotency_key")
        if len(key) > 128:
            return _bad("VALUE_TOO_LONG", "Field must not be longer than 128 characters.", "idempotency_key")
        sig = _signature(body)
        if key in self._idempotency:
            original_sig, original = self._idempotency[key]
            if original_sig != sig:
                return _bad("IDEMPOTENCY_KEY_REUSED", "The idempotency key was used with a different request.",
                            "idempotency_key")
            return original  # replay: no second effect, same answer
        changes = body.get("changes")
        if not isinstance(changes, list) or not changes:
            return _bad("ARRAY_EMPTY", "Field must contain at least one change.", "changes")
        if len(changes) > MAX_CHANGES:
            return _bad("ARRAY_LENGTH_TOO_LONG", f"At most {MAX_CHANGES} changes per request.", "changes")
        parsed = [self._parse_change(i, change) for i, change in enumerate(changes)]
        ignore_unchanged = body.get("ignore_unchanged_counts", True)
        now = self.clock()
        errors, applied, touched = [], [], []
        for i, (kind, data, qty) in enumerate(parsed):
            where = f"changes[{i}].{kind.lower()}"
            var_id, loc = data.get("catalog_object_id"), data.get("location_id")
            var = self._variations.get(var_id or "")
            if var is None or var["is_deleted"]:
                errors.append(_error("INVALID_REQUEST_ERROR", "NOT_FOUND",
                                     f"Catalog object {var_id!r} not found.", f"{where}.catalog_object_id"))
                continue
            if loc not in self.locations.values():
                errors.append(_error("INVALID_REQUEST_ERROR", "NOT_FOUND",
                                     f"Location {loc!r} not found.", f"{where}.location_id"))
                continue
            if kind == "PHYSICAL_COUNT":
                self._physical(var_id, loc, qty, now, ignore_unchanged=ignore_unchanged)
            else:
                sign = (1 if data.get("to_state") == TRACKED_STATE else 0) - (
                    1 if data.get("from_state") == TRACKED_STATE else 0)
                self._adjust(var_id, loc, qty * sign, now)
            record = dict(data, id=f"CHG-{len(self.applied_changes)}-{i}", created_at=rfc3339(now))
            record.setdefault("state" if kind == "PHYSICAL_COUNT" else "to_state", TRACKED_STATE)
            applied.append(self.history.add(kind, record, now))
            touched.append((var_id, loc))
        result: dict[str, Any] = {
            "counts": [{"catalog_object_id": v, "catalog_object_type": "ITEM_VARIATION", "state": TRACKED_STATE,
                        "location_id": loc, "quantity": _qty(self._counts[(v, loc)]["qty"]),
                        "calculated_at": rfc3339(self._counts[(v, loc)]["ms"] / 1000), "is_estimated": False}
                       for v, loc in dict.fromkeys(touched)],
            "changes": applied,
        }
        if errors:
            result["errors"] = errors
        response = json_response(result)
        self._idempotency[key] = (sig, response)
        self.applied_changes.append(key)
        return response

    def _parse_change(self, i: int, change: Any) -> tuple[str, dict[str, Any], Decimal]:
        kind = change.get("type") if isinstance(change, dict) else None
        if kind not in ("PHYSICAL_COUNT", "ADJUSTMENT"):
            raise _Reject(_bad("INVALID_ENUM_VALUE", "Only PHYSICAL_COUNT and ADJUSTMENT are supported.",
                               f"changes[{i}].type"))
        data = change.get(kind.lower())
        where = f"changes[{i}].{kind.lower()}"
        if not isinstance(data, dict):
            raise _Reject(_bad("MISSING_REQUIRED_PARAMETER", "Field must be set", where))
        try:
            qty = Decimal(data.get("quantity"))
        except (TypeError, InvalidOperation):
            raise _Reject(_bad("INVALID_VALUE", "Quantity must be a decimal string.", f"{where}.quantity")) from None
        if not qty.is_finite() or qty < 0:
            raise _Reject(_bad("INVALID_VALUE", "Quantity must not be negative.", f"{where}.quantity"))
        if data.get("occurred_at") is not None:
            occurred = _time(data, "occurred_at", where)
            if occurred < (self.clock() - 86400) * 1000:
                raise _Reject(_bad("INVALID_VALUE", "occurred_at must be within the last 24 hours.",
                                   f"{where}.occurred_at"))
        return kind, data, qty

    def _search_orders(self, body: dict[str, Any]) -> Response:
        _allowed(body, {"location_ids", "cursor", "query", "limit", "return_entries"})
        locs = body.get("location_ids")
        if not isinstance(locs, list) or not locs:
            return _bad("MISSING_REQUIRED_PARAMETER", "Field must be set", "location_ids")
        if len(locs) > 10:
            return _bad("ARRAY_LENGTH_TOO_LONG", "At most 10 location ids.", "location_ids")
        limit = _limit(body, 500, 1000)
        query = body.get("query") or {}
        filt = query.get("filter") or {}
        sort = query.get("sort") or {}
        states = set((filt.get("state_filter") or {}).get("states") or []) or None
        window = (filt.get("date_time_filter") or {}).get("updated_at")
        field = sort.get("sort_field", "CREATED_AT")
        if window is not None and field != "UPDATED_AT":
            return _bad("INVALID_VALUE", "sort_field must match the date_time_filter field (UPDATED_AT).",
                        "query.sort.sort_field")
        start = _time(window, "start_at", "query.filter.date_time_filter.updated_at") if window and window.get(
            "start_at") else None
        end = _time(window, "end_at", "query.filter.date_time_filter.updated_at") if window and window.get(
            "end_at") else None
        rows = []
        for order in self._orders.values():
            updated = parse_ms(order["updated_at"])
            if order["location_id"] not in locs or (states and order["state"] not in states):
                continue
            if (start is not None and updated < start) or (end is not None and updated >= end):
                continue
            rows.append((parse_ms(order[field.lower()]), order["id"], order))
        rows.sort(key=lambda r: (r[0], r[1]), reverse=sort.get("sort_order", "DESC") == "DESC")
        page, cursor = self._page("orders", body, rows, limit)
        if body.get("return_entries"):
            result: dict[str, Any] = {"order_entries": [
                {"order_id": o["id"], "location_id": o["location_id"], "version": o["version"]} for _, _, o in page]}
        else:
            result = {"orders": [json.loads(json.dumps(o)) for _, _, o in page]}
        if cursor:
            result["cursor"] = cursor
        return json_response(result)

    def _retrieve_orders(self, body: dict[str, Any]) -> Response:
        _allowed(body, {"location_id", "order_ids"})
        ids = body.get("order_ids")
        if not isinstance(ids, list) or not ids:
            return _bad("MISSING_REQUIRED_PARAMETER", "Field must be set", "order_ids")
        if len(ids) > 100:
            return _bad("ARRAY_LENGTH_TOO_LONG", "At most 100 order ids.", "order_ids")
        return json_response({"orders": [json.loads(json.dumps(self._orders[i])) for i in ids if i in self._orders]})

    def _search_catalog(self, body: dict[str, Any]) -> Response:
        _allowed(body, {"cursor", "object_types", "include_deleted_objects", "include_related_objects",
                        "begin_time", "query", "limit", "include_category_path_to_root"})
        limit = _limit(body, 100, 1000)
        types = body.get("object_types")
        query = body.get("query") or {}
        objects = [v for v in self._variations.values()
                   if (not types or "ITEM_VARIATION" in types)
                   and (body.get("include_deleted_objects") or not v["is_deleted"])]
        if "exact_query" in query:
            q = query["exact_query"]
            # Square documents exact_query values as case-insensitive and possibly partial.
            value = str(q.get("attribute_value", "")).lower()
            objects = [o for o in objects if value in str(_attr(o, q.get("attribute_name"))).lower()]
        elif "set_query" in query:
            q = query["set_query"]
            values = {str(v).lower() for v in q.get("attribute_values") or []}
            objects = [o for o in objects if str(_attr(o, q.get("attribute_name"))).lower() in values]
        elif query:
            return _bad("INVALID_VALUE", "Only exact_query and set_query are supported by this fake.", "query")
        objects.sort(key=lambda o: int(o["id"].rsplit("-", 1)[1]))
        page, cursor = self._page("catalog", body, objects, limit)
        result: dict[str, Any] = {"objects": json.loads(json.dumps(page))}
        if cursor:
            result["cursor"] = cursor
        return json_response(result)

    def _retrieve_catalog(self, body: dict[str, Any]) -> Response:
        _allowed(body, {"object_ids", "include_related_objects", "catalog_version", "include_deleted_objects",
                        "include_category_path_to_root"})
        ids = body.get("object_ids")
        if not isinstance(ids, list) or not ids:
            return _bad("MISSING_REQUIRED_PARAMETER", "Field must be set", "object_ids")
        found = [self._variations[i] for i in ids if i in self._variations
                 and (body.get("include_deleted_objects") or not self._variations[i]["is_deleted"])]
        return json_response({"objects": json.loads(json.dumps(found))})

    # ------------------------------------------------------------------ internals

    def _page(self, path: str, body: dict[str, Any], rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
        """Offset pagination over the live result; the cursor is bound to the original body."""
        sig = _signature({k: v for k, v in body.items() if k != "cursor"})
        offset = 0
        token = body.get("cursor")
        now = self.clock()
        if token:
            entry = self._cursors.get(token)
            if entry is None or entry[0] != path or entry[1] != sig or now - entry[3] > self.cursor_ttl:
                raise _Reject(_bad("INVALID_CURSOR", "The cursor is invalid or has expired.", "cursor"))
            offset = entry[2]
        page = rows[offset:offset + limit]
        if offset + limit >= len(rows):
            return page, None
        self._cursors = {t: e for t, e in self._cursors.items() if now - e[3] <= self.cursor_ttl}
        new = hashlib.sha256(f"{sig}:{offset + limit}:{self._rng.random()}".encode()).hexdigest()[:32]
        self._cursors[new] = (path, sig, offset + limit, now)
        return page, new

    def _loc(self, location: str) -> str:
        if location in self.locations.values():
            return location
        try:
            return self.locations[location]
        except KeyError:
            raise KeyError(f"unknown Square location {location!r}") from None

    def _variation(self, sku: str) -> dict[str, Any]:
        try:
            return self._variations[self._by_sku[sku]]
        except KeyError:
            raise KeyError(f"SKU {sku!r} is not in the Square catalog") from None

    def _adjust(self, var_id: str, loc: str, delta: Decimal, now: float) -> None:
        count = self._counts.setdefault((var_id, loc), {"qty": Decimal(0), "ms": 0})
        count["qty"] += delta  # Square lets counts go negative after an oversell
        count["ms"] = max(round(now * 1000), count["ms"])
        self._count_webhook(var_id, loc)

    def _count_webhook(self, var_id: str, loc: str) -> None:
        if self.webhooks is None:
            return
        count = self._counts[(var_id, loc)]
        self.webhooks.emit("inventory.count.updated", {"type": "inventory_counts", "id": str(uuid.uuid4()), "object": {
            "inventory_counts": [{"catalog_object_id": var_id, "catalog_object_type": "ITEM_VARIATION",
                                  "state": TRACKED_STATE, "location_id": loc, "quantity": _qty(count["qty"]),
                                  "calculated_at": rfc3339(count["ms"] / 1000)}]}})

    def _physical(self, var_id: str, loc: str, qty: Decimal, now: float, *, ignore_unchanged: bool = True) -> None:
        count = self._counts.setdefault((var_id, loc), {"qty": Decimal(0), "ms": 0})
        if ignore_unchanged and count["ms"] and count["qty"] == qty:
            return  # Square's default ignore_unchanged_counts: no new count, no new calculated_at
        count["qty"] = qty
        count["ms"] = max(round(now * 1000), count["ms"])
        self._count_webhook(var_id, loc)

    def _returned(self, order_id: str, line_uid: str) -> int:
        return sum(int(item["quantity"]) for order in self._orders.values() for ret in order.get("returns", [])
                   if ret["source_order_id"] == order_id for item in ret["return_line_items"]
                   if item["source_line_item_uid"] == line_uid)

    def _tax(self, gross: int) -> int:
        return int((Decimal(gross) * Decimal(self.tax_percentage) / 100).quantize(Decimal(1), ROUND_HALF_UP))

    def _money(self, amount: int) -> dict[str, Any]:
        return {"amount": int(amount), "currency": self.currency}

    def _next_id(self) -> str:
        self._seq += 1
        return f"SQ-ORD-{self._seq:06d}"


    # ------------------------------------------------------------------ state (for /_sim/state)

    def state(self) -> dict[str, Any]:
        """Every count and order this seller holds, as plain JSON (tests and `syncops soak`)."""
        with self._lock:
            names = {loc: name for name, loc in self.locations.items()}
            skus = {vid: v["item_variation_data"]["sku"] for vid, v in self._variations.items()}
            levels = [{"sku": skus[vid], "location": loc, "location_name": names.get(loc, loc),
                       "quantity": _qty(count["qty"])} for (vid, loc), count in self._counts.items()]
            orders = []
            for order in self._orders.values():
                returns = order.get("returns") or []
                items = [i for r in returns for i in r["return_line_items"]] if returns else order["line_items"]
                orders.append({
                    "id": order["id"], "kind": "return" if returns else "sale", "state": order["state"],
                    "location": order["location_id"],
                    "source_order_id": returns[0]["source_order_id"] if returns else None,
                    "lines": [{"sku": skus.get(i["catalog_object_id"]), "quantity": i["quantity"]} for i in items],
                })
            return {"vendor": self.name, "levels": levels, "orders": orders, "payouts": []}



def _allowed(body: dict[str, Any], fields: set[str]) -> None:
    for name in body:
        if name not in fields:
            raise _Reject(_bad("UNKNOWN_BODY_PARAMETER", f"Unknown field {name!r}.", name))


def _limit(body: dict[str, Any], default: int, maximum: int) -> int:
    limit = body.get("limit", default)
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise _Reject(_bad("EXPECTED_INTEGER", "limit must be an integer.", "limit"))
    if limit < 1:
        raise _Reject(_bad("VALUE_TOO_LOW", "limit must be at least 1.", "limit"))
    if limit > maximum:
        raise _Reject(_bad("VALUE_TOO_HIGH", f"limit must be at most {maximum}.", "limit"))
    return limit


def _time(data: dict[str, Any], name: str, prefix: str | None = None) -> int:
    try:
        return parse_ms(str(data[name]))
    except (KeyError, ValueError):
        field = f"{prefix}.{name}" if prefix else name
        raise _Reject(_bad("INVALID_TIME", "Expected an RFC 3339 timestamp.", field)) from None


def _signature(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _attr(obj: dict[str, Any], name: Any) -> Any:
    return (obj.get("item_variation_data") or {}).get(name) if name != "id" else obj.get("id")


def _qty(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != value.to_integral_value() else str(int(value))


def _is_date(value: str) -> bool:
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True
