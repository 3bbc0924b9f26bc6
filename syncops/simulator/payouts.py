"""Processor payouts for the simulated Square and Shopify apps.

Each book watches the sales and refunds its app generates and, when ``settle()`` is called (by
a test or the activity driver), pays them out as one batch: every card sale becomes a charge
with a processing fee, every refund of a card sale a refund, and the payout's amount is the
sum of its entries, as the vendors document. Fees use each vendor's published US list rate:

- Square in-person card payments: 2.6% + 15 cents per charge; Square keeps its fee on refunds.
- Shopify Payments online (Basic plan): 2.9% + 30 cents per charge; no fee returned on refunds.

Cash tenders never pass through a payout. ``skew_cents`` makes a payout whose amount disagrees
with its entries (an "unbalanced" payout, which the connector must refuse to post).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

from syncops.simulator.http import Request, Response, json_response

SQUARE_FEE_RATE, SQUARE_FEE_FIXED = Decimal("0.026"), 15  # cents
SHOPIFY_FEE_RATE, SHOPIFY_FEE_FIXED = Decimal("0.029"), Decimal("0.30")
SQUARE_PAGE_MAX = 100  # ListPayouts / ListPayoutEntries: default and maximum page size


def square_fee(cents: int) -> int:
    return int((Decimal(cents) * SQUARE_FEE_RATE).quantize(Decimal(1), ROUND_HALF_UP)) + SQUARE_FEE_FIXED


def shopify_fee(amount: Decimal) -> Decimal:
    return (amount * SHOPIFY_FEE_RATE + SHOPIFY_FEE_FIXED).quantize(Decimal("0.01"), ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------- Square

@dataclass
class _SquarePending:
    location: str
    entries: list[dict[str, Any]] = field(default_factory=list)


class SquarePayoutBook:
    """Payouts and payout entries (`/v2/payouts`, `/v2/payouts/{id}/payout-entries`)."""

    def __init__(self, currency: str, clock: Callable[[], float], rfc3339: Callable[[float], str],
                 main_location: str) -> None:
        self.currency = currency
        self.clock = clock
        self.rfc3339 = rfc3339
        self.main_location = main_location
        self.payouts: dict[str, dict[str, Any]] = {}  # id -> Payout, in creation order
        self.entries: dict[str, list[dict[str, Any]]] = {}  # payout id -> PayoutEntry list
        self._pending: dict[str, _SquarePending] = {}  # location id -> entries not yet paid out
        self._seq = 0
        self._cursors: dict[str, tuple[str, int]] = {}  # token -> (query signature, offset)

    def _money(self, cents: int) -> dict[str, Any]:
        return {"amount": int(cents), "currency": self.currency}

    def _entry(self, kind: str, gross: int, fee: int, now: float, details: dict[str, Any]) -> dict[str, Any]:
        self._seq += 1
        return {"id": f"poe_sim{self._seq:08d}", "effective_at": self.rfc3339(now), "type": kind,
                "gross_amount_money": self._money(gross), "fee_amount_money": self._money(fee),
                "net_amount_money": self._money(gross - fee), f"type_{kind.lower()}_details": details}

    def charge(self, location: str, payment_id: str, cents: int, now: float) -> None:
        pending = self._pending.setdefault(location, _SquarePending(location))
        pending.entries.append(self._entry("CHARGE", cents, square_fee(cents), now, {"payment_id": payment_id}))

    def refund(self, location: str, payment_id: str, refund_id: str, cents: int, now: float) -> None:
        pending = self._pending.setdefault(location, _SquarePending(location))
        pending.entries.append(self._entry("REFUND", -cents, 0, now,
                                           {"payment_id": payment_id, "refund_id": refund_id}))

    def adjust(self, location: str, kind: str, cents: int, now: float | None = None) -> None:
        """A non-sale entry (e.g. RESERVE_HOLD -500, FEE -99) in the next payout."""
        now = self.clock() if now is None else now
        pending = self._pending.setdefault(location, _SquarePending(location))
        pending.entries.append(self._entry(kind, cents, 0, now, {}))

    @property
    def pending(self) -> int:
        return sum(len(p.entries) for p in self._pending.values())

    def settle(self, now: float | None = None, *, skew_cents: int = 0, status: str = "PAID") -> list[str]:
        """Pay out everything pending, one BATCH payout per location; returns the payout ids."""
        now = self.clock() if now is None else now
        made = []
        for location, pending in list(self._pending.items()):
            if not pending.entries:
                continue
            self._seq += 1
            pid = f"po_sim-{self._seq:08d}"
            for entry in pending.entries:
                entry["payout_id"] = pid
            amount = sum(e["net_amount_money"]["amount"] for e in pending.entries) + skew_cents
            self.payouts[pid] = {
                "id": pid, "status": status, "location_id": location, "created_at": self.rfc3339(now),
                "updated_at": self.rfc3339(now), "amount_money": self._money(amount),
                "destination": {"type": "BANK_ACCOUNT", "id": "bact:sim-checking"}, "version": 1,
                "type": "BATCH", "arrival_date": self.rfc3339(now)[:10], "end_to_end_id": f"L{self._seq:010d}",
            }
            self.entries[pid] = pending.entries
            made.append(pid)
            del self._pending[location]
        return made

    def mark_paid(self, payout_id: str, now: float | None = None) -> None:
        payout = self.payouts[payout_id]
        payout.update(status="PAID", updated_at=self.rfc3339(self.clock() if now is None else now),
                      version=payout["version"] + 1)

    # -- HTTP (GET only; called with the app's lock held)

    def handle(self, request: Request, bad: Callable[..., Response], parse_ms: Callable[[str], int]) -> Response:
        query = {k: v[-1] for k, v in request.query.items()}
        parts = request.path.rstrip("/").split("/")
        if request.method != "GET":
            return bad("INVALID_REQUEST", f"{request.method} is not supported on {request.path}.")
        try:
            limit = int(query.get("limit", SQUARE_PAGE_MAX))
        except ValueError:
            return bad("EXPECTED_INTEGER", "limit must be an integer.", "limit")
        if limit < 1:
            return bad("VALUE_TOO_LOW", "limit must be at least 1.", "limit")
        limit = min(limit, SQUARE_PAGE_MAX)  # documented: larger values are ignored, not refused
        order = query.get("sort_order", "DESC")
        if order not in ("ASC", "DESC"):
            return bad("INVALID_ENUM_VALUE", f"Expected ASC or DESC, got {order!r}.", "sort_order")
        if len(parts) == 3:  # /v2/payouts
            location = query.get("location_id", self.main_location)
            rows = [p for p in self.payouts.values() if p["location_id"] == location]
            if "status" in query:
                if query["status"] not in ("SENT", "FAILED", "PAID"):
                    return bad("INVALID_ENUM_VALUE", f"Unknown status {query['status']!r}.", "status")
                rows = [p for p in rows if p["status"] == query["status"]]
            for name, keep in (("begin_time", lambda t, b: t >= b), ("end_time", lambda t, b: t < b)):
                if name in query:
                    try:
                        bound = parse_ms(query[name])
                    except ValueError:
                        return bad("INVALID_TIME", "Expected an RFC 3339 timestamp.", name)
                    rows = [p for p in rows if keep(parse_ms(p["created_at"]), bound)]
            rows.sort(key=lambda p: (p["created_at"], p["id"]), reverse=order == "DESC")
            name = "payouts"
        elif len(parts) == 5 and parts[4] == "payout-entries":
            if parts[3] not in self.entries:
                return json_response({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND",
                                                  "detail": f"Payout {parts[3]} not found."}]}, 404)
            rows = sorted(self.entries[parts[3]], key=lambda e: (e["effective_at"], e["id"]),
                          reverse=order == "DESC")
            name = "payout_entries"
        else:
            return json_response({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND",
                                              "detail": f"No route GET {request.path}."}]}, 404)
        # The cursor is bound to the original query, as Square documents.
        sig = hashlib.sha256(json.dumps([request.path, {k: v for k, v in query.items() if k != "cursor"}],
                                        sort_keys=True).encode()).hexdigest()
        offset = 0
        if "cursor" in query:
            entry = self._cursors.get(query["cursor"])
            if entry is None or entry[0] != sig:
                return bad("INVALID_CURSOR", "The cursor is invalid or has expired.", "cursor")
            offset = entry[1]
        body: dict[str, Any] = {name: json.loads(json.dumps(rows[offset:offset + limit]))}
        if offset + limit < len(rows):
            token = base64.urlsafe_b64encode(f"{sig[:16]}:{offset + limit}".encode()).decode()
            self._cursors[token] = (sig, offset + limit)
            body["cursor"] = token
        return json_response(body)


# --------------------------------------------------------------------------------------- Shopify

_ISSUED_AT = re.compile(r"""issued_at:\s*(>=|<=|>|<)?\s*['"]?([0-9][0-9T:.+\-Z]*)['"]?""")
_TRANSFER_ID = re.compile(r"payments_transfer_id:\s*['\"]?(\d+)")
SHOPIFY_PAGE_MAX = 250


class ShopifyPayoutBook:
    """`shopifyPaymentsAccount { payouts / balanceTransactions }` for the simulated shop."""

    def __init__(self, currency: str, clock: Callable[[], float], iso: Callable[[float], str]) -> None:
        self.currency = currency
        self.clock = clock
        self.iso = iso
        self.payouts: dict[int, dict[str, Any]] = {}  # legacy id -> ShopifyPaymentsPayout node
        self.transactions: dict[int, list[dict[str, Any]]] = {}  # payout legacy id -> balance transactions
        self._pending: list[dict[str, Any]] = []
        self._seq = 0

    def _money(self, amount: Decimal) -> dict[str, Any]:
        return {"amount": str(amount), "currencyCode": self.currency}

    def _txn(self, kind: str, amount: Decimal, fee: Decimal, now: float, order: tuple[str, str] | None,
             source_id: int | None) -> None:
        self._seq += 1
        self._pending.append({
            "id": f"gid://shopify/ShopifyPaymentsBalanceTransaction/{9000 + self._seq}", "type": kind,
            "test": False, "transactionDate": self.iso(now), "amount": self._money(amount),
            "fee": self._money(fee), "net": self._money(amount - fee), "sourceId": source_id,
            "sourceType": kind if kind in ("CHARGE", "REFUND", "ADJUSTMENT") else "ADJUSTMENT",
            "associatedOrder": {"id": order[0], "name": order[1]} if order else None,
        })

    def charge(self, order_gid: str, name: str, amount: Decimal, now: float) -> None:
        self._txn("CHARGE", amount, shopify_fee(amount), now, (order_gid, name), None)

    def refund(self, order_gid: str, name: str, amount: Decimal, now: float) -> None:
        self._txn("REFUND", -amount, Decimal("0.00"), now, (order_gid, name), None)

    def adjust(self, kind: str, amount: Decimal, now: float | None = None) -> None:
        self._txn(kind, amount, Decimal("0.00"), self.clock() if now is None else now, None, None)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def settle(self, now: float | None = None, *, skew: Decimal = Decimal("0")) -> int | None:
        if not self._pending:
            return None
        now = self.clock() if now is None else now
        self._seq += 1
        legacy = 70000 + self._seq
        gid = f"gid://shopify/ShopifyPaymentsPayout/{legacy}"
        net = sum((Decimal(t["net"]["amount"]) for t in self._pending), Decimal("0")) + skew
        for txn in self._pending:
            txn["associatedPayout"] = {"id": gid, "status": "PAID"}
        self.payouts[legacy] = {
            "id": gid, "legacyResourceId": str(legacy), "issuedAt": self.iso(now), "status": "PAID",
            "transactionType": "DEPOSIT" if net >= 0 else "WITHDRAWAL", "net": self._money(abs(net)),
        }
        self.transactions[legacy] = self._pending
        self._pending = []
        return legacy

    # -- GraphQL (called with the app's lock held)

    def connection(self, field: str, variables: dict[str, Any], first: int, decode: Callable[[str], tuple],
                   encode: Callable[[tuple], str]) -> tuple[str, list[tuple[str, dict[str, Any]]], dict[str, Any]]:
        """(field name, [(cursor, node)], pageInfo) for `field`, the connection the document selects."""
        search = str(variables.get("query") or "")
        if field == "balanceTransactions":
            name = "balanceTransactions"
            match = _TRANSFER_ID.search(search)
            if match:
                txns = self.transactions.get(int(match.group(1)), [])
            else:
                txns = [t for rows in self.transactions.values() for t in rows]
            rows = [((int(t["id"].rsplit("/", 1)[1]),), t) for t in txns]
        elif field == "payouts":
            name = "payouts"
            payouts = sorted(self.payouts.values(), key=lambda p: (p["issuedAt"], int(p["legacyResourceId"])))
            for op, value in _ISSUED_AT.findall(search):
                test = {">=": str.__ge__, ">": str.__gt__, "<=": str.__le__, "<": str.__lt__}[op or ">="]
                payouts = [p for p in payouts if test(p["issuedAt"], value)]
            rows = [((p["issuedAt"], int(p["legacyResourceId"])), p) for p in payouts]
        else:
            raise ValueError("shopifyPaymentsAccount: only payouts and balanceTransactions are simulated")
        after = variables.get("after")
        if after:
            start = list(decode(after))
            rows = [r for r in rows if list(r[0]) > start]
        page = rows[:first]
        nodes = [(encode(k), json.loads(json.dumps(node))) for k, node in page]
        info = {"hasNextPage": len(rows) > first, "hasPreviousPage": bool(after),
                "startCursor": nodes[0][0] if nodes else None, "endCursor": nodes[-1][0] if nodes else None}
        return name, nodes, info
