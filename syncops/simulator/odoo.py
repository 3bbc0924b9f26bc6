"""An Odoo-19-like ERP speaking a slice of the JSON-2 external API.

Serves ``POST /json/2/<model>/<method>`` (and, for older clients, ``POST /jsonrpc``).

Behaviours reproduced (vendor-apis.md §4 and §6):
- ``Authorization: bearer <api key>``; the key "bad-token" (or none) gets 401
  ``werkzeug.exceptions.Unauthorized`` / "Invalid apikey". ``X-Odoo-Database`` is optional
  and checked only when the app was given a database name.
- Errors as real 4xx/5xx statuses with the JSON-2 body {name, message, arguments, context,
  debug}: unknown model/method 404, bad keyword or field 422, ``odoo.exceptions.ValidationError``
  422. The legacy ``/jsonrpc`` endpoint answers errors with HTTP 200 and an ``error`` member.
- Each call is one transaction: ``create`` with a ``vals_list`` creates every record or none.
- No uniqueness on ``sale.order.client_order_ref`` or ``account.move.ref`` (real Odoo has
  none), so a connector that pushes twice really creates two documents.
- ``write_date`` with second precision, like Odoo (it truncates microseconds).
- Throttling as 429 + ``Retry-After`` seconds: Odoo.sh / Odoo Online answer 429 under load,
  but the format is not vendor-confirmed.

Supported methods: search_read, search, search_count, read, create (all models below) and
res.users/context_get. Domains support the prefix operators & | ! and the term operators
= != in "not in" > >= < <= like ilike =ilike, with one level of dotted paths through
many2one fields (e.g. "location_id.usage").
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping

from syncops.simulator import odoo_ledger
from syncops.simulator import odoo_workflow as workflow
from syncops.simulator.faults import Faults
from syncops.simulator.http import Request, Response, json_response

DEFAULT_SKUS: dict[str, str] = {"TSHIRT-RED-M": "19.99", "TSHIRT-BLUE-L": "21.00", "MUG-WHITE": "12.50"}
DEFAULT_LOCATIONS = ("WH/Stock",)
# Tax name -> percentage; "the company requires taxes" is on by default so that generated
# orders with a missing tax code fail the way a strict accounting setup makes them fail.
DEFAULT_TAXES: dict[str, str] = {"Tax 8.25%": "8.25", "Tax 0%": "0"}
# Payment journals a fresh Odoo company has, plus the ones the demo's payment maps name.
DEFAULT_JOURNALS: dict[str, str] = {"Bank": "bank", "Cash": "cash", "PayPal": "bank", "Card": "bank"}
CUSTOMERS_LOCATION = "Partners/Customers"
WALKIN_PARTNER = "Walk-in Customer"


def odoo_datetime(epoch: float) -> str:
    """Odoo's wire format for datetimes: UTC, no zone, whole seconds."""
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class OdooError(Exception):
    """An exception as the JSON-2 layer reports it."""

    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.name = name
        self.message = message

    def body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "message": self.message,
            "arguments": [self.message],
            "context": {},
            "debug": f"Traceback (most recent call last):\n  (simulated)\n{self.name}: {self.message}",
        }


def _validation(message: str) -> OdooError:
    return OdooError(422, "odoo.exceptions.ValidationError", message)


def _value_error(message: str) -> OdooError:
    return OdooError(422, "builtins.ValueError", message)


def _not_found(message: str) -> OdooError:
    return OdooError(404, "werkzeug.exceptions.NotFound", message)


@dataclass(frozen=True)
class _F:
    kind: str  # char float int bool datetime date m2o o2m m2m selection
    comodel: str | None = None
    required: bool = False
    readonly: bool = False  # computed or system-managed: ignored on create like the ORM does


_SYSTEM = {"create_date": _F("datetime", readonly=True), "write_date": _F("datetime", readonly=True)}

SCHEMA: dict[str, dict[str, _F]] = {
    "product.product": {
        "default_code": _F("char"), "name": _F("char", required=True), "lst_price": _F("float"),
        "barcode": _F("char"), "active": _F("bool"), "product_tmpl_id": _F("int", readonly=True),
        "type": _F("selection"), **_SYSTEM,
    },
    "stock.location": {
        "name": _F("char", required=True), "complete_name": _F("char"), "usage": _F("selection"),
        "active": _F("bool"), **_SYSTEM,
    },
    "stock.quant": {
        "product_id": _F("m2o", "product.product", required=True),
        "location_id": _F("m2o", "stock.location", required=True),
        "quantity": _F("float"), "reserved_quantity": _F("float"), **_SYSTEM,
    },
    "res.partner": {
        "name": _F("char", required=True), "email": _F("char"), "phone": _F("char"),
        "street": _F("char"), "street2": _F("char"), "city": _F("char"), "zip": _F("char"),
        "active": _F("bool"), **_SYSTEM,
    },
    "account.tax": {
        "name": _F("char", required=True), "amount": _F("float"), "type_tax_use": _F("selection"),
        "active": _F("bool"), **_SYSTEM,
    },
    "sale.order": {
        "name": _F("char", readonly=True), "client_order_ref": _F("char"), "origin": _F("char"),
        "partner_id": _F("m2o", "res.partner", required=True), "date_order": _F("datetime"),
        "order_line": _F("o2m", "sale.order.line"), "state": _F("selection"), "note": _F("char"),
        "warehouse_id": _F("m2o", "stock.warehouse"), "amount_untaxed": _F("float", readonly=True), "amount_tax": _F("float", readonly=True),
        "amount_total": _F("float", readonly=True), **_SYSTEM,
    },
    "sale.order.line": {
        "order_id": _F("m2o", "sale.order"), "product_id": _F("m2o", "product.product", required=True),
        "name": _F("char"), "product_uom_qty": _F("float"), "price_unit": _F("float"),
        "discount": _F("float"), "tax_id": _F("m2m", "account.tax"),
        "price_subtotal": _F("float", readonly=True), "price_total": _F("float", readonly=True),
        **_SYSTEM,
    },
    "account.account": {
        "code": _F("char", required=True), "name": _F("char", required=True), "active": _F("bool"), **_SYSTEM,
    },
    "account.move": {
        "name": _F("char", readonly=True), "move_type": _F("selection", required=True),
        # partner_id is required on invoices and credit notes only (checked in _create_moves).
        "ref": _F("char"), "partner_id": _F("m2o", "res.partner"), "date": _F("date"),
        "narration": _F("char"), "line_ids": _F("o2m", "account.move.line"),
        "invoice_origin": _F("char"), "invoice_date": _F("date"), "state": _F("selection"),
        "invoice_line_ids": _F("o2m", "account.move.line"),
        "amount_untaxed": _F("float", readonly=True), "amount_tax": _F("float", readonly=True),
        "amount_total": _F("float", readonly=True), **_SYSTEM,
    },
    "account.move.line": {
        "move_id": _F("m2o", "account.move"), "product_id": _F("m2o", "product.product"),
        "name": _F("char"), "quantity": _F("float"), "price_unit": _F("float"),
        "tax_ids": _F("m2m", "account.tax"), "price_subtotal": _F("float", readonly=True),
        "account_id": _F("m2o", "account.account"), "debit": _F("float"), "credit": _F("float"),
        "price_total": _F("float", readonly=True), **_SYSTEM,
    },
    "res.users": {"name": _F("char"), "login": _F("char"), **_SYSTEM},
    "stock.warehouse": {
        "name": _F("char", required=True), "code": _F("char"), "lot_stock_id": _F("m2o", "stock.location"),
        **_SYSTEM,
    },
    "account.journal": {"name": _F("char", required=True), "code": _F("char"), "type": _F("selection"),
                        **_SYSTEM},
    "account.payment": {
        "name": _F("char", readonly=True), "partner_id": _F("m2o", "res.partner"),
        "journal_id": _F("m2o", "account.journal", required=True), "amount": _F("float"),
        "payment_type": _F("selection"), "memo": _F("char"), "state": _F("selection"), **_SYSTEM,
    },
    "stock.picking": {
        "name": _F("char", readonly=True), "picking_type_code": _F("selection"), "origin": _F("char"),
        "location_id": _F("m2o", "stock.location", required=True),
        "location_dest_id": _F("m2o", "stock.location", required=True),
        "move_ids": _F("o2m", "stock.move"), "state": _F("selection"), **_SYSTEM,
    },
    "stock.move": {
        "picking_id": _F("m2o", "stock.picking"), "product_id": _F("m2o", "product.product", required=True),
        "product_uom_qty": _F("float"), "location_id": _F("m2o", "stock.location"),
        "location_dest_id": _F("m2o", "stock.location"), "state": _F("selection"), **_SYSTEM,
    },
}

_METHOD_PARAMS: dict[str, frozenset[str]] = {
    "search_read": frozenset({"domain", "fields", "offset", "limit", "order"}),
    "search": frozenset({"domain", "offset", "limit", "order"}),
    "search_count": frozenset({"domain", "limit"}),
    "read": frozenset({"fields"}),
    "create": frozenset({"vals_list"}),
    "write": frozenset({"vals"}),
    "context_get": frozenset(),
    **{action: frozenset() for actions in workflow.ACTIONS.values() for action in actions},
}
# Positional parameter order for the legacy execute_kw API.
_POSITIONAL: dict[str, tuple[str, ...]] = {
    "search_read": ("domain", "fields", "offset", "limit", "order"),
    "search": ("domain", "offset", "limit", "order"),
    "search_count": ("domain", "limit"),
    "read": ("ids", "fields"),
    "create": ("vals_list",),
    "write": ("ids", "vals"),
    "context_get": (),
    "action_post": ("ids",),
}
_OPERATORS = frozenset({"=", "!=", "in", "not in", ">", ">=", "<", "<=", "like", "ilike", "=ilike"})


def _r2(value: float) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.01")))


class OdooApp:
    """The simulated Odoo database. Thread-safe: one lock around all state."""

    name = "odoo"

    def __init__(
        self,
        faults: Faults | None = None,
        clock: Callable[[], float] = time.time,
        *,
        skus: Mapping[str, Any] | Iterable[str] = DEFAULT_SKUS,
        locations: Iterable[str] = DEFAULT_LOCATIONS,
        taxes: Mapping[str, Any] = DEFAULT_TAXES,
        require_tax: bool = True,
        database: str | None = None,
        currency: str = "USD",
        journals: Mapping[str, str] = DEFAULT_JOURNALS,
        accounts: Mapping[str, str] | None = None,  # chart of accounts, code -> name
    ) -> None:
        self.faults = faults or Faults(clock=clock)
        self.clock = clock
        self.require_tax = require_tax
        self.database = database
        self.currency = currency
        self._lock = threading.RLock()
        self._tables: dict[str, dict[int, dict[str, Any]]] = {model: {} for model in SCHEMA}
        self._next_id: dict[str, int] = {model: 1 for model in SCHEMA}
        self._order_seq = 0
        self._refund_seq = 0
        self._seq: dict[str, int] = {}
        # Test switches for whole-response faults.
        self._lose: dict[tuple[str, str], int] = {}  # (model, method) -> calls to answer with a reset
        self.garbage_responses = 0  # answer the next N calls with an HTML page and status 200
        self.calls: list[tuple[str, str]] = []  # (model, method) per JSON-2/JSON-RPC call

        now = odoo_datetime(clock())
        self._insert("res.users", {"name": "API User", "login": "api"}, now)
        self._insert("res.partner", {"name": WALKIN_PARTNER, "active": True}, now)
        for name in locations:
            loc = self._insert("stock.location", {
                "name": name.rsplit("/", 1)[-1], "complete_name": name, "usage": "internal", "active": True,
            }, now)
            # Each stock location is its warehouse's main stock, as Odoo sets them up ("WH/Stock").
            code = name.split("/", 1)[0]
            self._insert("stock.warehouse", {"name": code, "code": code[:5], "lot_stock_id": loc}, now)
        self._insert("stock.location", {"name": "Customers", "complete_name": CUSTOMERS_LOCATION,
                                        "usage": "customer", "active": True}, now)
        for name, kind in journals.items():
            self._insert("account.journal", {"name": name, "code": name[:5].upper(), "type": kind}, now)
        for code, title in {**odoo_ledger.DEFAULT_ACCOUNTS, **(accounts or {})}.items():
            self._insert("account.account", {"code": code, "name": title, "active": True}, now)
        for name, amount in taxes.items():
            self._insert("account.tax", {
                "name": name, "amount": float(amount), "type_tax_use": "sale", "active": True,
            }, now)
        prices = skus if isinstance(skus, Mapping) else {sku: "10.00" for sku in skus}
        for sku, price in prices.items():
            self._add_product(sku, sku.replace("-", " ").title(), float(price), None, now)

    # ------------------------------------------------------------------ storage helpers

    def _insert(self, model: str, vals: dict[str, Any], now: str) -> int:
        rid = self._next_id[model]
        self._next_id[model] = rid + 1
        record = {name: None for name in SCHEMA[model]}
        record.update(vals)
        record.update(id=rid, create_date=now, write_date=now)
        if model == "product.product":
            record["product_tmpl_id"] = rid
        self._tables[model][rid] = record
        return rid

    def _add_product(self, sku: str, name: str, price: float, barcode: str | None, now: str) -> int:
        return self._insert("product.product", {
            "default_code": sku, "name": name, "lst_price": price, "barcode": barcode,
            "active": True, "type": "consu",
        }, now)

    def _display_name(self, model: str, rid: int) -> str:
        rec = self._tables[model].get(rid)
        if rec is None:
            return f"{model},{rid}"
        if model == "product.product":
            return f"[{rec['default_code']}] {rec['name']}" if rec.get("default_code") else rec["name"]
        if model == "stock.location":
            return rec.get("complete_name") or rec["name"]
        return str(rec.get("name") or f"{model},{rid}")

    def _now(self, now: float | None) -> str:
        return odoo_datetime(self.clock() if now is None else now)

    def _product_by_sku(self, sku: str) -> dict[str, Any]:
        for rec in self._tables["product.product"].values():
            if rec["default_code"] == sku:
                return rec
        raise KeyError(f"no product with default_code {sku!r}")

    def _location_by_name(self, name: str) -> dict[str, Any]:
        for rec in self._tables["stock.location"].values():
            if name in (rec["complete_name"], rec["name"]):
                return rec
        raise KeyError(f"no stock.location {name!r}")

    # ------------------------------------------------------------------ generators / inspection

    def add_product(self, sku: str, price: Any, *, name: str | None = None, barcode: str | None = None,
                    now: float | None = None) -> int:
        with self._lock:
            return self._add_product(sku, name or sku, float(price), barcode, self._now(now))

    def change_price(self, sku: str, price: Any, *, now: float | None = None) -> None:
        """A user edits the list price in Odoo; write_date moves so pollers see it."""
        with self._lock:
            rec = self._product_by_sku(sku)
            rec["lst_price"] = float(price)
            rec["write_date"] = self._now(now)

    def archive_product(self, sku: str, *, now: float | None = None) -> None:
        with self._lock:
            rec = self._product_by_sku(sku)
            rec["active"] = False
            rec["write_date"] = self._now(now)

    def set_stock(self, sku: str, quantity: float, location: str = DEFAULT_LOCATIONS[0], *,
                  reserved: float = 0, now: float | None = None) -> None:
        with self._lock:
            product = self._product_by_sku(sku)
            loc = self._location_by_name(location)
            stamp = self._now(now)
            for quant in self._tables["stock.quant"].values():
                if quant["product_id"] == product["id"] and quant["location_id"] == loc["id"]:
                    quant.update(quantity=float(quantity), reserved_quantity=float(reserved), write_date=stamp)
                    return
            self._insert("stock.quant", {
                "product_id": product["id"], "location_id": loc["id"],
                "quantity": float(quantity), "reserved_quantity": float(reserved),
            }, stamp)

    def add_sale_order(self, client_order_ref: str, lines: Iterable[tuple[str, float, float]] = (), *,
                       now: float | None = None) -> int:
        """Create an order out of band, e.g. an earlier delivery whose response was lost."""
        with self._lock:
            stamp = self._now(now)
            order_lines = []
            for sku, qty, price in lines:
                product = self._product_by_sku(sku)
                order_lines.append((0, 0, {"product_id": product["id"], "product_uom_qty": qty, "price_unit": price}))
            vals = {"client_order_ref": client_order_ref, "partner_id": 1, "order_line": order_lines}
            return self._create_sale_orders([vals], stamp, check_tax=False)[0]

    def add_credit_note(self, ref: str, *, now: float | None = None) -> int:
        """Create a credit note out of band (see add_sale_order)."""
        with self._lock:
            vals = {"move_type": "out_refund", "ref": ref, "partner_id": 1, "invoice_line_ids": []}
            return self._create_moves([vals], self._now(now))[0]

    def journal_entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return odoo_ledger.journal_entries(self)

    def count_entries_with_ref(self, ref: str) -> int:
        with self._lock:
            return sum(1 for r in self._tables["account.move"].values()
                       if r["move_type"] == "entry" and r["ref"] == ref)

    def lose_next_response(self, model: str = "sale.order", method: str = "create", times: int = 1) -> None:
        """Carry out the next call(s) to model/method, then drop the connection instead of answering."""
        with self._lock:
            self._lose[(model, method)] = self._lose.get((model, method), 0) + times

    def products(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._tables["product.product"].values()]

    def sale_orders(self) -> list[dict[str, Any]]:
        """Orders with their lines inlined under "lines" for easy assertions."""
        with self._lock:
            out = []
            for rec in self._tables["sale.order"].values():
                order = dict(rec)
                order["lines"] = [dict(self._tables["sale.order.line"][i]) for i in rec["order_line"]]
                out.append(order)
            return out

    def credit_notes(self) -> list[dict[str, Any]]:
        with self._lock:
            out = []
            for rec in self._tables["account.move"].values():
                if rec["move_type"] == "out_refund":
                    move = dict(rec)
                    move["lines"] = [dict(self._tables["account.move.line"][i]) for i in rec["invoice_line_ids"]]
                    out.append(move)
            return out

    def state_table(self, model: str) -> list[dict[str, Any]]:
        """Raw rows of one model (tests: warehouses, journals)."""
        with self._lock:
            return [dict(r) for r in self._tables[model].values()]

    def payments(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._tables["account.payment"].values()]

    def pickings(self) -> list[dict[str, Any]]:
        """Pickings with their moves inlined under "moves"."""
        with self._lock:
            return [dict(p, moves=[dict(self._tables["stock.move"][m]) for m in p["move_ids"] or []])
                    for p in self._tables["stock.picking"].values()]

    def on_hand(self, sku: str, location: str) -> float:
        with self._lock:
            product, loc = self._product_by_sku(sku)["id"], self._location_by_name(location)["id"]
            return sum(q["quantity"] or 0 for q in self._tables["stock.quant"].values()
                       if q["product_id"] == product and q["location_id"] == loc)

    def order_state(self, ref: str) -> str | None:
        with self._lock:
            return next((r["state"] for r in self._tables["sale.order"].values() if r["client_order_ref"] == ref),
                        None)

    def partners(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._tables["res.partner"].values()]

    def count_orders_with_ref(self, ref: str) -> int:
        with self._lock:
            return sum(1 for r in self._tables["sale.order"].values() if r["client_order_ref"] == ref)

    def count_credit_notes_with_ref(self, ref: str) -> int:
        with self._lock:
            return sum(1 for r in self._tables["account.move"].values()
                       if r["move_type"] == "out_refund" and r["ref"] == ref)

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response:
        if self.faults.in_outage():
            if self.faults.plan.outage_mode == "reset":
                return Response(drop_connection=True)
            return self._error_response(OdooError(
                503, "werkzeug.exceptions.ServiceUnavailable",
                "The server is temporarily unable to service your request (maintenance)."))
        delay = self.faults.slow_delay()
        if delay:
            time.sleep(delay)  # outside the lock: a slow answer must not stall other clients
        if self.faults.throttled():
            wait = max(1, math.ceil(self.faults.throttle_remaining()))
            resp = self._error_response(OdooError(
                429, "werkzeug.exceptions.TooManyRequests", "Too many requests, please slow down."))
            resp.headers["Retry-After"] = str(wait)
            return resp
        if request.path == "/jsonrpc":
            return self._handle_jsonrpc(request)
        if not request.path.startswith("/json/2/"):
            return self._error_response(_not_found(f"The requested URL {request.path} was not found on the server."))
        if request.method != "POST":
            return self._error_response(OdooError(405, "werkzeug.exceptions.MethodNotAllowed",
                                                  "The method is not allowed for the requested URL."))
        auth = request.header("authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or token.strip() == "bad-token":
            return self._error_response(OdooError(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey"))
        db = request.header("x-odoo-database")
        if self.database is not None and db is not None and db != self.database:
            return self._error_response(_not_found(f"database {db!r} not found"))
        parts = request.path[len("/json/2/"):].split("/")
        if len(parts) != 2 or not all(parts):
            return self._error_response(_not_found(f"The requested URL {request.path} was not found on the server."))
        model, method = parts
        try:
            params = request.json()
        except ValueError:
            return self._error_response(OdooError(400, "werkzeug.exceptions.BadRequest", "Invalid JSON data"))
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return self._error_response(OdooError(400, "werkzeug.exceptions.BadRequest",
                                                  "Invalid JSON data: expected an object"))
        return self._finish(lambda: self.execute(model, method, params), target=(model, method))

    def _finish(self, call: Callable[[], Any], *, jsonrpc_id: Any = None, legacy: bool = False,
                target: tuple[str, str] | None = None) -> Response:
        with self._lock:
            if self.garbage_responses > 0:
                self.garbage_responses -= 1
                return Response(200, "<!DOCTYPE html><html><head><title>Odoo</title></head>"
                                     "<body>Log in</body></html>", content_type="text/html; charset=utf-8")
            try:
                result = call()
            except OdooError as exc:
                if legacy:
                    return json_response({"jsonrpc": "2.0", "id": jsonrpc_id, "error": {
                        "code": 200, "message": "Odoo Server Error", "data": exc.body()}})
                return self._error_response(exc)
            if target is not None and self._lose.get(target, 0) > 0:
                # The work is committed but the answer never arrives (timeout, proxy reset).
                self._lose[target] -= 1
                return Response(drop_connection=True)
        if legacy:
            return json_response({"jsonrpc": "2.0", "id": jsonrpc_id, "result": result})
        return json_response(result)

    @staticmethod
    def _error_response(exc: OdooError) -> Response:
        return json_response(exc.body(), status=exc.status)

    def _handle_jsonrpc(self, request: Request) -> Response:
        # Legacy Odoo <= 18 transport: every error is an HTTP 200 with an "error" member.
        try:
            body = request.json()
            params = body["params"]
            service, method, args = params["service"], params["method"], list(params.get("args") or [])
            rpc_id = body.get("id")
        except (ValueError, KeyError, TypeError):
            return json_response({"jsonrpc": "2.0", "id": None, "error": {
                "code": 200, "message": "Odoo Server Error",
                "data": OdooError(400, "werkzeug.exceptions.BadRequest", "Invalid JSON-RPC request").body()}})

        def call() -> Any:
            if service == "common" and method in ("login", "authenticate"):
                return 2 if len(args) >= 3 and args[2] and args[2] != "bad-token" else False
            if service == "common" and method == "version":
                return {"server_version": "19.0", "server_version_info": [19, 0, 0, "final", 0, ""],
                        "protocol_version": 1}
            if service != "object" or method != "execute_kw" or len(args) < 5:
                raise OdooError(404, "werkzeug.exceptions.NotFound", f"Unknown service method {service}.{method}")
            _db, _uid, password, model, meth = args[:5]
            if not password or password == "bad-token":
                raise OdooError(403, "odoo.exceptions.AccessDenied", "Access Denied")
            positional = list(args[5]) if len(args) > 5 and args[5] else []
            kwargs = dict(args[6]) if len(args) > 6 and args[6] else {}
            names = _POSITIONAL.get(meth, ())
            if len(positional) > len(names):
                raise OdooError(422, "builtins.TypeError", f"{meth}() takes too many positional arguments")
            for name, value in zip(names, positional):
                kwargs[name] = value
            return self.execute(model, meth, kwargs)

        return self._finish(call, jsonrpc_id=rpc_id, legacy=True)

    # ------------------------------------------------------------------ ORM

    def execute(self, model: str, method: str, params: dict[str, Any]) -> Any:
        """Run one model method as one transaction. Call with the lock held."""
        self.calls.append((model, method))
        if model not in SCHEMA:
            raise _not_found(f"Model {model!r} does not exist.")
        is_action = method in workflow.ACTIONS.get(model, ())
        if method not in _METHOD_PARAMS or (method == "context_get" and model != "res.users") or (
                method.startswith(("action_", "button_")) and not is_action):
            raise _not_found(f"The method {method!r} does not exist on the model {model!r}.")
        params = dict(params)
        ids = params.pop("ids", None)
        context = params.pop("context", None) or {}
        unknown = set(params) - _METHOD_PARAMS[method]
        if unknown:
            raise OdooError(422, "builtins.TypeError",
                            f"{model}.{method}() got an unexpected keyword argument {sorted(unknown)[0]!r}")
        if method == "context_get":
            return {"lang": "en_US", "tz": "UTC", "uid": 2}
        if method == "create":
            return self._create(model, params.get("vals_list"))
        if method == "action_post" and model == "account.move":
            return odoo_ledger.action_post(self, model, ids)  # journal entries and credit notes alike
        if is_action or method == "write":
            try:
                if is_action:
                    return workflow.run_action(self, model, method, ids)
                return self._write(model, ids, params.get("vals"))
            except workflow.UserError as exc:
                raise OdooError(422, "odoo.exceptions.UserError", exc.message) from None
        if method == "read":
            if not isinstance(ids, list):
                raise _value_error("read() requires a list of ids")
            recs = [self._tables[model][i] for i in ids if i in self._tables[model]]
            return [self._project(model, r, params.get("fields")) for r in recs]
        active_test = context.get("active_test", True) if isinstance(context, dict) else True
        recs = self._search(model, params.get("domain") or [], active_test)
        if method == "search_count":
            limit = params.get("limit")
            return min(len(recs), limit) if limit else len(recs)
        recs = self._sort(model, recs, params.get("order"))
        offset = params.get("offset") or 0
        limit = params.get("limit")
        if not isinstance(offset, int) or (limit is not None and not isinstance(limit, int)):
            raise _value_error("offset and limit must be integers")
        recs = recs[offset: offset + limit] if limit else recs[offset:]
        if method == "search":
            return [r["id"] for r in recs]
        return [self._project(model, r, params.get("fields")) for r in recs]

    # -- search

    def _field(self, model: str, name: str) -> _F:
        if name == "id":
            return _F("int")
        if name == "display_name":
            return _F("char")
        try:
            return SCHEMA[model][name]
        except KeyError:
            raise _value_error(f"Invalid field {name!r} on model {model!r}") from None

    def _value(self, model: str, rec: dict[str, Any], path: str) -> tuple[_F, Any]:
        head, _, rest = path.partition(".")
        field = self._field(model, head)
        value = self._display_name(model, rec["id"]) if head == "display_name" else rec.get(head)
        if not rest:
            return field, value
        if field.kind != "m2o":
            raise _value_error(f"Invalid field {path!r} on model {model!r}")
        target = self._tables[field.comodel].get(value) if value else None
        if target is None:
            return self._field(field.comodel, rest.split(".")[0]), None
        return self._value(field.comodel, target, rest)

    def _term(self, model: str, rec: dict[str, Any], term: Any) -> bool:
        if not isinstance(term, (list, tuple)) or len(term) != 3:
            raise _value_error(f"Invalid domain term {term!r}")
        path, op, arg = term
        if op not in _OPERATORS:
            raise _value_error(f"Invalid domain operator {op!r}")
        field, value = self._value(model, rec, path)
        if field.kind == "m2o" and isinstance(arg, str) and op in ("=", "!=", "like", "ilike", "=ilike"):
            value = self._display_name(field.comodel, value) if value else None
        if op in ("in", "not in"):
            if not isinstance(arg, (list, tuple)):
                raise _value_error(f"Invalid domain term {term!r}: 'in' needs a list")
            if isinstance(value, list):
                hit = any(v in arg for v in value)
            else:
                hit = value in arg or (value is None and False in arg)
            return hit if op == "in" else not hit
        if op in ("=", "!="):
            if arg is False or arg is None:
                hit = value in (None, False, "", [])
            elif isinstance(value, list):
                hit = arg in value
            else:
                hit = value == arg
            return hit if op == "=" else not hit
        if value is None or value is False:
            return False
        if op in ("like", "ilike", "=ilike"):
            text, pattern = str(value), str(arg)
            if op != "like":
                text, pattern = text.lower(), pattern.lower()
            return text == pattern if op == "=ilike" else pattern in text
        try:
            if op == ">":
                return value > arg
            if op == ">=":
                return value >= arg
            if op == "<":
                return value < arg
            return value <= arg
        except TypeError:
            raise _value_error(f"Cannot compare field {path!r} with {arg!r}") from None

    def _matches(self, model: str, rec: dict[str, Any], domain: list[Any]) -> bool:
        # Polish notation read right to left; leftover operands are implicitly AND-ed.
        stack: list[bool] = []
        for item in reversed(domain):
            if item == "!":
                stack.append(not stack.pop())
            elif item in ("&", "|"):
                if len(stack) < 2:
                    raise _value_error("Invalid domain: operator without two operands")
                a, b = stack.pop(), stack.pop()
                stack.append((a and b) if item == "&" else (a or b))
            else:
                stack.append(self._term(model, rec, item))
        return all(stack)

    def _search(self, model: str, domain: Any, active_test: bool) -> list[dict[str, Any]]:
        if not isinstance(domain, list):
            raise _value_error("domain must be a list")
        mentions_active = any(isinstance(t, (list, tuple)) and t and t[0] == "active" for t in domain)
        has_active = "active" in SCHEMA[model]
        out = []
        for rec in self._tables[model].values():
            if has_active and active_test and not mentions_active and rec.get("active") is False:
                continue
            if self._matches(model, rec, domain):
                out.append(rec)
        return out

    def _sort(self, model: str, recs: list[dict[str, Any]], order: Any) -> list[dict[str, Any]]:
        spec = [("id", False)]
        if order:
            if not isinstance(order, str):
                raise _value_error("order must be a string")
            spec = []
            for part in order.split(","):
                words = part.split()
                if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
                    raise _value_error(f"Invalid order {order!r}")
                self._field(model, words[0])
                spec.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
        out = list(recs)
        for name, desc in reversed(spec):
            # NULLs last in ascending order, like PostgreSQL.
            out.sort(key=lambda r: (r.get(name) is None, r.get(name) if r.get(name) is not None else 0),
                     reverse=desc)
        return out

    def _project(self, model: str, rec: dict[str, Any], fields: Any) -> dict[str, Any]:
        if fields is None or fields == []:
            names = ["id", *SCHEMA[model]]
        elif isinstance(fields, list):
            names = list(fields)
        else:
            raise _value_error("fields must be a list of field names")
        out: dict[str, Any] = {"id": rec["id"]}
        for name in names:
            field = self._field(model, name)
            if name == "display_name":
                out[name] = self._display_name(model, rec["id"])
                continue
            value = rec.get(name)
            if field.kind == "m2o":
                out[name] = [value, self._display_name(field.comodel, value)] if value else False
            elif field.kind in ("o2m", "m2m"):
                out[name] = list(value or [])
            elif field.kind == "float":
                out[name] = float(value or 0.0)
            elif name == "product_tmpl_id":
                # A many2one in real Odoo (product.template, not modelled here): [id, name].
                out[name] = [value, rec.get("name") or ""] if value else False
            elif field.kind == "int":
                out[name] = value if value is not None else False
            elif value is None:
                out[name] = False
            else:
                out[name] = value
        return out

    # -- create

    def _create(self, model: str, vals_list: Any) -> Any:
        single = isinstance(vals_list, dict)
        if single:
            vals_list = [vals_list]
        if not isinstance(vals_list, list) or not all(isinstance(v, dict) for v in vals_list):
            raise _value_error("create() expects vals_list: a list of dicts")
        now = self._now(None)
        if model == "sale.order":
            ids = self._create_sale_orders(vals_list, now, check_tax=self.require_tax)
        elif model == "account.move":
            ids = self._create_moves(vals_list, now)
        elif model in ("account.payment", "stock.picking"):
            ids = [self._create_with_children(model, vals, now) for vals in
                   [self._prepare_child_create(model, v) for v in vals_list]]
        elif model in ("product.product", "res.partner", "stock.location", "account.tax"):
            rows = [self._check_vals(model, vals) for vals in vals_list]
            ids = []
            for row in rows:
                row.setdefault("active", True)
                if model == "stock.location":
                    row.setdefault("complete_name", row["name"])
                    row.setdefault("usage", "internal")
                ids.append(self._insert(model, row, now))
        else:
            raise OdooError(403, "odoo.exceptions.AccessError",
                            f"You are not allowed to create '{model}' records.")
        return ids[0] if single else ids

    def _prepare_child_create(self, model: str, vals: dict[str, Any]) -> tuple[dict[str, Any], list]:
        vals = dict(vals)
        commands = vals.pop("move_ids", []) if model == "stock.picking" else []
        vals.pop("name", None)
        row = self._check_vals(model, vals)
        children = self._line_rows(model, "move_ids", commands) if model == "stock.picking" else []
        return row, children

    def _create_with_children(self, model: str, prepared: tuple[dict[str, Any], list], now: str) -> int:
        row, children = prepared
        prefix = {"account.payment": "PBNK", "stock.picking": "WH/IN"}[model]
        self._seq[model] = self._seq.get(model, 0) + 1
        row["name"] = f"{prefix}/{now[:4]}/{self._seq[model]:05d}"
        row.setdefault("state", "draft")
        rid = self._insert(model, row, now)
        if model == "stock.picking":
            ids = []
            for child in children:
                child.update(picking_id=rid, state="draft")
                child.setdefault("location_id", row["location_id"])
                child.setdefault("location_dest_id", row["location_dest_id"])
                ids.append(self._insert("stock.move", child, now))
            self._tables[model][rid]["move_ids"] = ids
        return rid

    def _write(self, model: str, ids: Any, vals: Any) -> bool:
        if not isinstance(ids, list) or not ids or not isinstance(vals, dict):
            raise _value_error("write() expects ids (a list) and vals (a dict)")
        table = self._tables[model]
        for rid in ids:
            if rid not in table:
                raise _validation(f"Record does not exist or has been deleted. (Record: {model}({rid},))")
            workflow.check_write(model, table[rid], vals)
        plain = {k: v for k, v in vals.items() if k != "order_line"}
        row = self._check_vals(model, plain, partial=True) if plain else {}
        row = {k: v for k, v in row.items() if k in plain}  # only what was written, not defaults
        now = self._now(None)
        for rid in ids:
            table[rid].update(row, write_date=now)
            if model == "sale.order" and "order_line" in vals:
                self._rewrite_lines(rid, vals["order_line"], now)
        return True

    def _rewrite_lines(self, oid: int, commands: Any, now: str) -> None:
        """(5, 0, 0) clears the lines, (0, 0, vals) adds one: how an integration replaces them."""
        order = self._tables["sale.order"][oid]
        keep = [c for c in commands or [] if not (isinstance(c, (list, tuple)) and c and c[0] == 5)]
        if len(keep) != len(commands or []):
            for lid in order["order_line"]:
                self._tables["sale.order.line"].pop(lid, None)
            order["order_line"] = []
        for line in self._line_rows("sale.order", "order_line", keep):
            sub, line_tax = self._amounts(line.get("product_uom_qty") or 0.0, line.get("price_unit") or 0.0,
                                          line.get("discount") or 0.0, line["tax_id"])
            line.update(order_id=oid, price_subtotal=sub, price_total=_r2(sub + line_tax))
            line.setdefault("name", self._display_name("product.product", line["product_id"]))
            order["order_line"].append(self._insert("sale.order.line", line, now))
        lines = [self._tables["sale.order.line"][i] for i in order["order_line"]]
        untaxed = _r2(sum(line["price_subtotal"] for line in lines))
        total = _r2(sum(line["price_total"] for line in lines))
        order.update(amount_untaxed=untaxed, amount_tax=_r2(total - untaxed), amount_total=total)

    def _check_vals(self, model: str, vals: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
        """Validate plain (non-relational-command) values; returns the row to store. `partial`:
        a write, which changes some fields and need not repeat the required ones."""
        row: dict[str, Any] = {}
        for name, value in vals.items():
            field = self._field(model, name)
            if field.readonly or name == "id":
                continue
            if field.kind == "m2o":
                if value in (False, None):
                    value = None
                elif not isinstance(value, int) or value not in self._tables[field.comodel]:
                    raise _validation(
                        f"The operation cannot be completed: {field.comodel}({value!r},) does not exist "
                        f"(field {name!r} on {model!r}).")
            elif field.kind == "float":
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise _value_error(f"Invalid value {value!r} for float field {name!r} on {model!r}")
                value = float(value)
            elif field.kind in ("o2m", "m2m"):
                continue  # handled by the model-specific create
            elif value is False:
                value = None
            row[name] = value
        for name, field in SCHEMA[model].items():
            if partial and name not in vals:
                continue
            if field.required and row.get(name) in (None, "") and field.kind != "o2m":
                raise _validation(
                    f"The operation cannot be completed: Missing required value for the field "
                    f"{name!r} on {model!r}.")
        return row

    def _m2m_ids(self, model: str, name: str, value: Any) -> list[int]:
        """Accept [[6,0,ids]], [[4,id]] commands or a plain id list."""
        comodel = SCHEMA[model][name].comodel
        ids: list[int] = []
        for item in value or []:
            if isinstance(item, int) and not isinstance(item, bool):
                ids.append(item)
            elif isinstance(item, (list, tuple)) and item and item[0] == 6 and len(item) == 3:
                ids = list(item[2])
            elif isinstance(item, (list, tuple)) and item and item[0] == 4 and len(item) >= 2:
                ids.append(item[1])
            else:
                raise _value_error(f"Invalid command {item!r} for field {name!r} on {model!r}")
        for i in ids:
            if not isinstance(i, int) or i not in self._tables[comodel]:
                raise _validation(f"The operation cannot be completed: {comodel}({i!r},) does not exist.")
        return ids

    def _line_rows(self, model: str, name: str, commands: Any) -> list[dict[str, Any]]:
        """One2many create commands [[0, 0, vals], ...] -> validated rows (not inserted)."""
        line_model = SCHEMA[model][name].comodel
        m2m_name = "tax_id" if line_model == "sale.order.line" else "tax_ids"
        rows = []
        for command in commands or []:
            if not (isinstance(command, (list, tuple)) and len(command) == 3 and command[0] == 0
                    and isinstance(command[2], dict)):
                raise _value_error(f"Invalid one2many command {command!r} for field {name!r}; "
                                   "only (0, 0, vals) is supported on create")
            vals = dict(command[2])
            if line_model == "sale.order.line" and "tax_ids" in vals:
                vals[m2m_name] = vals.pop("tax_ids")  # Odoo 19 spelling of the same field
            has_taxes = m2m_name in SCHEMA[line_model]
            taxes = self._m2m_ids(line_model, m2m_name, vals.pop(m2m_name, None)) if has_taxes else []
            row = self._check_vals(line_model, vals)
            if has_taxes:
                row[m2m_name] = taxes
            rows.append(row)
        return rows

    def _amounts(self, qty: float, price: float, discount: float, tax_ids: list[int]) -> tuple[float, float]:
        subtotal = _r2(qty * price * (1 - (discount or 0.0) / 100.0))
        rate = sum(self._tables["account.tax"][t]["amount"] for t in tax_ids)
        return subtotal, _r2(subtotal * rate / 100.0)

    def _create_sale_orders(self, vals_list: list[dict[str, Any]], now: str, *, check_tax: bool) -> list[int]:
        # Validate everything first: the call is one transaction, nothing is stored on error.
        prepared = []
        for vals in vals_list:
            vals = dict(vals)
            commands = vals.pop("order_line", [])
            vals.pop("name", None)
            row = self._check_vals("sale.order", vals)
            lines = self._line_rows("sale.order", "order_line", commands)
            for n, line in enumerate(lines, start=1):
                if line.get("product_id") is None:
                    raise _validation(f"The operation cannot be completed: Missing required value for the "
                                      f"field 'product_id' on 'sale.order.line' (line {n}).")
                if check_tax and not line["tax_id"]:
                    product = self._display_name("product.product", line["product_id"])
                    raise _validation(
                        f"Taxes are mandatory on sales order lines for this company: line {n} "
                        f"({product}) of order with reference {row.get('client_order_ref')!r} has no tax.")
            prepared.append((row, lines))
        ids = []
        for row, lines in prepared:
            self._order_seq += 1
            row.setdefault("state", "draft")
            row.setdefault("date_order", now)
            row["name"] = f"S{self._order_seq:05d}"
            oid = self._insert("sale.order", row, now)
            line_ids, untaxed, tax = [], 0.0, 0.0
            for line in lines:
                sub, line_tax = self._amounts(line.get("product_uom_qty") or 0.0, line.get("price_unit") or 0.0,
                                              line.get("discount") or 0.0, line["tax_id"])
                line.update(order_id=oid, price_subtotal=sub, price_total=_r2(sub + line_tax))
                line.setdefault("name", self._display_name("product.product", line["product_id"]))
                line_ids.append(self._insert("sale.order.line", line, now))
                untaxed, tax = untaxed + sub, tax + line_tax
            self._tables["sale.order"][oid].update(
                order_line=line_ids, amount_untaxed=_r2(untaxed), amount_tax=_r2(tax),
                amount_total=_r2(untaxed + tax))
            ids.append(oid)
        return ids

    def _create_moves(self, vals_list: list[dict[str, Any]], now: str) -> list[int]:
        prepared = []
        for vals in vals_list:
            vals = dict(vals)
            commands = vals.pop("invoice_line_ids", [])
            entry_commands = vals.pop("line_ids", None)
            vals.pop("name", None)
            row = self._check_vals("account.move", vals)
            if row["move_type"] not in ("out_invoice", "out_refund", "in_invoice", "in_refund", "entry"):
                raise _value_error(f"Wrong value for account.move.move_type: {row['move_type']!r}")
            if row["move_type"] == "entry":
                row["line_ids"] = odoo_ledger.entry_lines(self, entry_commands)
                row.setdefault("date", now[:10])
                prepared.append((row, []))
                continue
            if row.get("partner_id") is None:
                raise _validation("The operation cannot be completed: Missing required value for the field "
                                  "'partner_id' on 'account.move'.")
            prepared.append((row, self._line_rows("account.move", "invoice_line_ids", commands)))
        ids = []
        for row, lines in prepared:
            self._refund_seq += 1
            year = now[:4]
            prefix = {"out_refund": "RINV", "entry": "MISC"}.get(row["move_type"], "INV")
            row["name"] = f"{prefix}/{year}/{self._refund_seq:05d}"
            row.setdefault("state", "draft")
            entry_rows = row.pop("line_ids", None)
            mid = self._insert("account.move", row, now)
            if entry_rows is not None:
                self._tables["account.move"][mid]["line_ids"] = [
                    self._insert("account.move.line", {**line, "move_id": mid}, now) for line in entry_rows]
            line_ids, untaxed, tax = [], 0.0, 0.0
            for line in lines:
                sub, line_tax = self._amounts(line.get("quantity") or 0.0, line.get("price_unit") or 0.0,
                                              0.0, line["tax_ids"])
                line.update(move_id=mid, price_subtotal=sub, price_total=_r2(sub + line_tax))
                line_ids.append(self._insert("account.move.line", line, now))
                untaxed, tax = untaxed + sub, tax + line_tax
            self._tables["account.move"][mid].update(
                invoice_line_ids=line_ids, amount_untaxed=_r2(untaxed), amount_tax=_r2(tax),
                amount_total=_r2(untaxed + tax))
            ids.append(mid)
        return ids

    # ------------------------------------------------------------------ state (for /_sim/state)

    def state(self) -> dict[str, Any]:
        """Every stock level and ERP document this database holds, as plain JSON (tests and `syncops soak`)."""
        with self._lock:
            t = self._tables
            sku = {pid: p["default_code"] for pid, p in t["product.product"].items()}
            loc = {lid: rec["complete_name"] for lid, rec in t["stock.location"].items()}

            def lines(ids: list[int], model: str, qty_field: str) -> list[dict[str, Any]]:
                return [{"sku": sku.get(t[model][i]["product_id"]), "quantity": t[model][i][qty_field],
                         "price_unit": t[model][i]["price_unit"]} for i in ids]

            return {
                "vendor": self.name,
                "levels": [{"sku": sku.get(q["product_id"]), "location": loc.get(q["location_id"]),
                            "quantity": q["quantity"]} for q in t["stock.quant"].values()],
                "prices": {p["default_code"]: p["lst_price"] for p in t["product.product"].values()},
                "orders": [{"id": o["id"], "name": o["name"], "ref": o["client_order_ref"], "state": o["state"],
                            "amount_total": o["amount_total"],
                            "lines": lines(o["order_line"] or [], "sale.order.line", "product_uom_qty")}
                           for o in t["sale.order"].values()],
                "credit_notes": [{"id": m["id"], "name": m["name"], "ref": m["ref"], "state": m["state"],
                                  "amount_total": m["amount_total"],
                                  "lines": lines(m["invoice_line_ids"] or [], "account.move.line", "quantity")}
                                 for m in t["account.move"].values() if m["move_type"] == "out_refund"],
                # Payouts arrive as journal entries (ref = the payout id).
                "journal_entries": [{"id": m["id"], "name": m["name"], "ref": m["ref"], "state": m["state"],
                                     "lines": [{"account": ln["account_code"], "debit": ln.get("debit"),
                                                "credit": ln.get("credit")} for ln in m["lines"]]}
                                    for m in odoo_ledger.journal_entries(self)],
                "payments": [{"id": p["id"], "memo": p["memo"], "amount": p["amount"], "state": p["state"]}
                             for p in t["account.payment"].values()],
                "pickings": [{"id": p["id"], "name": p["name"], "origin": p["origin"], "state": p["state"]}
                             for p in t["stock.picking"].values()],
                "payouts": [],  # an ERP holds no payouts; they are the journal entries above
            }
