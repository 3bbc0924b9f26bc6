"""Shopify Payments payouts and their balance transactions as settlements (Admin GraphQL).

`shopifyPaymentsAccount.payouts` is read oldest first (sortKey ISSUED_AT) from a watermark on
`issuedAt`; only PAID payouts are settlements, and the watermark stops at the oldest payout still
SCHEDULED or IN_TRANSIT so it is read again once paid. Each payout's transactions come from
`balanceTransactions(query: "payments_transfer_id:<payout id>", hideTransfers: true)` (the
payout's own transfer is left out: it is the net, not a part of it).

Classification by transaction `type`: CHARGE and REFUND split into the sale and its fee; reserve,
hold and risk types are reserves; fee-like types (application and marketplace fees, shipping
labels, billing debits) are fees; everything else is an adjustment. A WITHDRAWAL payout has a
negative net.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from syncops.connectors.base import PullPage, SourceChange
from syncops.connectors.errors import DeliveryError
from syncops.connectors.shopify_orders import epoch
from syncops.models.settlement import SettlementAccounts
from syncops.store.categories import Category

if TYPE_CHECKING:  # pragma: no cover
    from syncops.connectors.shopify import ShopifyConnector

PAGE = 100
_MONEY = "{ amount currencyCode }"
PAYOUTS_QUERY = f"""
query SyncopsPayouts($first: Int!, $after: String, $query: String) {{
  shopifyPaymentsAccount {{
    payouts(first: $first, after: $after, sortKey: ISSUED_AT, query: $query) {{
      nodes {{ id legacyResourceId issuedAt status transactionType net {_MONEY} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""
TRANSACTIONS_QUERY = f"""
query SyncopsPayoutTransactions($first: Int!, $after: String, $query: String!) {{
  shopifyPaymentsAccount {{
    balanceTransactions(first: $first, after: $after, hideTransfers: true, query: $query) {{
      nodes {{ id type test transactionDate amount {_MONEY} fee {_MONEY} net {_MONEY}
               sourceType associatedOrder {{ id name }} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""
RESERVE_TYPES = frozenset({"RESERVED_FUNDS", "RESERVED_FUNDS_WITHDRAWAL", "RESERVED_FUNDS_REVERSAL",
                           "CHARGEBACK_HOLD", "CHARGEBACK_HOLD_RELEASE", "RISK_WITHDRAWAL", "RISK_REVERSAL"})
FEE_TYPES = frozenset({"APPLICATION_FEE_REFUND", "STRIPE_FEE", "CHARGEBACK_FEE", "CHARGEBACK_FEE_REFUND",
                       "MARKETPLACE_FEE_CREDIT", "MARKETPLACE_FEE_CREDIT_REVERSAL", "SHIPPING_LABEL",
                       "BILLING_DEBIT", "BILLING_DEBIT_REVERSAL"})


def _amount(money: Any, where: str) -> tuple[Decimal, str | None]:
    try:
        return Decimal(str(money["amount"])), money.get("currencyCode")
    except (TypeError, KeyError, InvalidOperation):
        raise DeliveryError(Category.MALFORMED, f"Shopify {where} is not a MoneyV2") from None


def to_settlement(payout: dict[str, Any], transactions: list[dict[str, Any]]) -> dict[str, Any]:
    net, currency = _amount(payout.get("net"), f"payout {payout.get('id')} net")
    if payout.get("transactionType") == "WITHDRAWAL":
        net = -net  # Shopify reports the amount; the direction says which way it went
    totals = {k: Decimal("0") for k in ("charge", "refund", "fee", "adjustment", "reserve")}
    lines: list[dict[str, Any]] = []

    def add(kind: str, reference: str, amount: Decimal) -> None:
        if amount:
            totals[kind] += amount
            lines.append({"kind": kind, "reference": reference, "amount": str(amount)})

    for txn in transactions:
        kind, tid = txn.get("type"), str(txn.get("id") or "")
        order = txn.get("associatedOrder") if isinstance(txn.get("associatedOrder"), dict) else {}
        ref = str(order.get("name") or tid)
        if kind in ("CHARGE", "REFUND"):
            amount, _ = _amount(txn.get("amount"), f"transaction {tid} amount")
            fee, _ = _amount(txn.get("fee") or {"amount": "0"}, f"transaction {tid} fee")
            add("charge" if kind == "CHARGE" else "refund", ref, amount)
            add("fee", tid, -fee)
        else:
            amount, _ = _amount(txn.get("net"), f"transaction {tid} net")
            add("reserve" if kind in RESERVE_TYPES else "fee" if kind in FEE_TYPES else "adjustment", ref, amount)
    return {
        "payout_id": str(payout["id"]), "processor": "shopify_payments", "currency": currency or "USD",
        "paid_at": payout.get("issuedAt"), "gross": str(totals["charge"]), "refunds": str(-totals["refund"]),
        "fees": str(-totals["fee"]), "adjustments": str(totals["adjustment"]), "reserves": str(totals["reserve"]),
        "net": str(net), "lines": lines,
        # Role names the flow's gl_account map turns into the ERP's account codes.
        "accounts": SettlementAccounts().model_dump(mode="json"),
    }


def _connection(data: dict[str, Any], name: str, excerpt: Any) -> dict[str, Any]:
    account = data.get("shopifyPaymentsAccount")
    if account is None:
        raise DeliveryError(Category.VALIDATION, "this shop has no Shopify Payments account to read payouts from")
    conn = account.get(name) if isinstance(account, dict) else None
    if not isinstance(conn, dict) or not isinstance(conn.get("nodes"), list):
        raise DeliveryError(Category.MALFORMED, f"Shopify {name} response has no nodes",
                            response_excerpt=excerpt(json.dumps(data)))
    return conn


async def _transactions(conn: "ShopifyConnector", legacy_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        data = await conn._api.call(TRANSACTIONS_QUERY, {"first": PAGE, "after": after,
                                                          "query": f"payments_transfer_id:{legacy_id}"})
        page = _connection(data, "balanceTransactions", conn._api.excerpt)
        rows += [n for n in page["nodes"] if isinstance(n, dict)]
        info = page.get("pageInfo") or {}
        if not (info.get("hasNextPage") and info.get("endCursor")):
            return rows
        after = info["endCursor"]


async def pull_settlements(conn: "ShopifyConnector", cursor: str | None, limit: int) -> PullPage:
    try:
        state = json.loads(cursor) if cursor else {}
        since, done = state.get("since"), set(state.get("done") or [])
    except (ValueError, AttributeError, TypeError):
        since, done = None, set()  # unreadable cursor: start over; idempotency keys drop repeats
    budget = max(1, int(limit))
    search = f"issued_at:>={since}" if since else None
    payouts: list[dict[str, Any]] = []
    after = None
    while True:
        data = await conn._api.call(PAYOUTS_QUERY, {"first": PAGE, "after": after, "query": search})
        page = _connection(data, "payouts", conn._api.excerpt)
        payouts += [n for n in page["nodes"] if isinstance(n, dict)]
        info = page.get("pageInfo") or {}
        if not (info.get("hasNextPage") and info.get("endCursor")):
            break
        after = info["endCursor"]
    changes: list[SourceChange] = []
    blocked = last = None
    has_more = False
    for payout in payouts:
        gid, issued = payout.get("id"), payout.get("issuedAt")
        if not isinstance(gid, str) or not isinstance(issued, str):
            raise DeliveryError(Category.MALFORMED, "Shopify payout without id or issuedAt",
                                response_excerpt=conn._api.excerpt(json.dumps(payout)))
        status = payout.get("status")
        if gid in done or status in ("FAILED", "CANCELED"):
            last = issued if blocked is None else last
            continue
        if status != "PAID":
            blocked = blocked or issued
            continue
        if len(changes) >= budget:
            has_more = True
            break
        txns = await _transactions(conn, str(payout.get("legacyResourceId") or gid.rsplit("/", 1)[-1]))
        changes.append(SourceChange(
            idempotency_key=f"shop:settlement:{gid}:{status}", entity_key=gid,
            payload=to_settlement(payout, txns), source_payload={"payout": payout, "balance_transactions": txns},
            changed_at=epoch(issued)))
        done.add(gid)
        if blocked is None:
            last = issued
    mark = blocked or last or since
    keep = sorted(p["id"] for p in payouts if p.get("id") in done and mark and p["issuedAt"] >= mark)
    return PullPage(changes=changes, cursor=json.dumps({"since": mark, "done": keep}), has_more=has_more)
