"""Square payouts (`GET /v2/payouts`, `GET /v2/payouts/{id}/payout-entries`) as settlements.

Only PAID BATCH payouts are settlements: a SENT payout may still fail, and a SIMPLE payout has
no entries of its own (Square lists it as an entry of a later BATCH payout). Payouts are listed
per location, oldest first, from a watermark on `created_at`; the watermark never passes a
payout that is still SENT, so it is read again until it is PAID. Payouts already turned into
settlements at the watermark's edge are remembered in the cursor, so their entries are not
fetched twice. The same payout read twice (a restart before the cursor was saved) gives the
same idempotency key; the ERP push guards by payout id as well.

Entries are classified by their `type`: CHARGE and REFUND split into the sale (gross) and its
fee; fee types are fees; reserve and hold types are reserves; anything else is an adjustment.
The payout's `amount_money` is the net, so entries that do not add up to it make a settlement
that fails validation instead of a wrong journal entry.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from syncops.connectors.base import PullPage, SourceChange
from syncops.connectors.errors import DeliveryError
from syncops.connectors.square_convert import epoch
from syncops.connectors.square_wire import expect_list
from syncops.models.settlement import SettlementAccounts
from syncops.store.categories import Category

if TYPE_CHECKING:  # pragma: no cover
    from syncops.connectors.square import SquareConnector

PAGE = 100  # the documented maximum page size of both endpoints
FEE_TYPES = frozenset({
    "FEE", "PROCESSING_FEE", "PROCESSING_FEE_REFUND", "UNDO_PROCESSING_FEE_REFUND", "DEPOSIT_FEE",
    "DEPOSIT_FEE_REVERSED", "TAX_ON_FEE", "THIRD_PARTY_FEE", "THIRD_PARTY_FEE_REFUND", "PAID_SERVICE_FEE",
    "PAID_SERVICE_FEE_REFUND", "SUBSCRIPTION_FEE", "SUBSCRIPTION_FEE_PAID_REFUND", "SUBSCRIPTION_FEE_REFUND",
    "GIFT_CARD_LOAD_FEE", "GIFT_CARD_LOAD_FEE_REFUND", "UNDO_GIFT_CARD_LOAD_FEE_REFUND", "LOCAL_OFFERS_FEE",
})
RESERVE_TYPES = frozenset({"RESERVE_HOLD", "RESERVE_RELEASE", "HOLD_ADJUSTMENT", "RELEASE_ADJUSTMENT",
                           "OPEN_DISPUTE"})


def _cents(money: Any, where: str) -> tuple[int, str | None]:
    if not isinstance(money, dict) or isinstance(money.get("amount"), bool) or not isinstance(money.get("amount"), int):
        raise DeliveryError(Category.MALFORMED, f"Square {where} is not a Money object with whole cents")
    return money["amount"], money.get("currency")


def _decimal(cents: int) -> str:
    return str(Decimal(cents) / 100)


def _reference(entry: dict[str, Any]) -> str:
    details = entry.get(f"type_{str(entry.get('type', '')).lower()}_details")
    if isinstance(details, dict):
        for key in ("refund_id", "payment_id"):
            if isinstance(details.get(key), str) and details[key]:
                return details[key]
    return str(entry.get("id") or "")


def to_settlement(payout: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    net, currency = _cents(payout.get("amount_money"), f"payout {payout.get('id')} amount_money")
    lines: list[dict[str, Any]] = []
    totals = {"charge": 0, "refund": 0, "fee": 0, "adjustment": 0, "reserve": 0}

    def add(kind: str, reference: str, cents: int) -> None:
        if cents:
            totals[kind] += cents
            lines.append({"kind": kind, "reference": reference, "amount": _decimal(cents)})

    for entry in entries:
        kind = entry.get("type")
        where = f"payout entry {entry.get('id')}"
        ref = _reference(entry)
        if kind in ("CHARGE", "REFUND"):
            gross, _ = _cents(entry.get("gross_amount_money"), f"{where} gross_amount_money")
            fee, _ = _cents(entry.get("fee_amount_money") or {"amount": 0}, f"{where} fee_amount_money")
            add("charge" if kind == "CHARGE" else "refund", ref, gross)
            add("fee", str(entry.get("id") or ref), -fee)  # Square's fee is positive when it is charged
        else:
            amount, _ = _cents(entry.get("net_amount_money"), f"{where} net_amount_money")
            add("fee" if kind in FEE_TYPES else "reserve" if kind in RESERVE_TYPES else "adjustment", ref, amount)
    return {
        "payout_id": str(payout["id"]), "processor": "square", "currency": currency or "USD",
        "paid_at": payout.get("updated_at") or payout.get("created_at"),
        "gross": _decimal(totals["charge"]), "refunds": _decimal(-totals["refund"]),
        "fees": _decimal(-totals["fee"]), "adjustments": _decimal(totals["adjustment"]),
        "reserves": _decimal(totals["reserve"]), "net": _decimal(net), "lines": lines,
        # Role names the flow's gl_account map turns into the ERP's account codes.
        "accounts": SettlementAccounts().model_dump(mode="json"),
    }


class _State:
    """Per location: watermark (created_at, inclusive) and the payout ids done at or after it."""

    def __init__(self, raw: str | None) -> None:
        self.since: dict[str, str] = {}
        self.done: dict[str, list[str]] = {}
        try:
            data = json.loads(raw) if raw else {}
            self.since = {str(k): str(v) for k, v in (data.get("since") or {}).items()}
            self.done = {str(k): [str(i) for i in v] for k, v in (data.get("done") or {}).items()}
        except (ValueError, AttributeError, TypeError):
            # Unreadable (hand-edited or older) cursor: start over; idempotency keys drop the repeats.
            self.since, self.done = {}, {}

    def dump(self) -> str:
        return json.dumps({"since": self.since, "done": self.done}, sort_keys=True)


async def _all_pages(conn: "SquareConnector", path: str, params: dict[str, str], key: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = dict(params, limit=str(PAGE), **({"cursor": cursor} if cursor else {}))
        data = await conn._call("GET", f"{path}?{urlencode(query)}")
        rows += [r for r in expect_list(data, key, path) if isinstance(r, dict)]
        cursor = data.get("cursor") or None
        if not cursor:
            return rows


async def pull_settlements(conn: "SquareConnector", cursor: str | None, limit: int) -> PullPage:
    state = _State(cursor)
    locations = conn.location_ids
    if locations is None:
        if conn._active_locations is None:
            conn._active_locations = [loc["id"] for loc in await conn._locations()
                                      if loc.get("id") and loc.get("status", "ACTIVE") == "ACTIVE"]
        locations = conn._active_locations
    budget = max(1, int(limit))
    changes: list[SourceChange] = []
    has_more = False
    for location in locations:
        params = {"location_id": location, "sort_order": "ASC"}
        if location in state.since:
            params["begin_time"] = state.since[location]
        payouts = await _all_pages(conn, "/v2/payouts", params, "payouts")
        done = set(state.done.get(location, []))
        blocked: str | None = None  # created_at of the oldest payout that may still change
        last: str | None = None
        for payout in payouts:
            pid, created = payout.get("id"), payout.get("created_at")
            if not isinstance(pid, str) or not isinstance(created, str):
                raise DeliveryError(Category.MALFORMED, "Square payout without id or created_at",
                                    response_excerpt=json.dumps(payout)[:500])
            if payout.get("type") == "SIMPLE" or payout.get("status") == "FAILED" or pid in done:
                last = created if blocked is None else last
                continue
            if payout.get("status") != "PAID":
                blocked = blocked or created
                continue
            if len(changes) >= budget:
                has_more = True
                break
            entries = await _all_pages(conn, f"/v2/payouts/{quote(pid, safe='')}/payout-entries",
                                       {"sort_order": "ASC"}, "payout_entries")
            payload = to_settlement(payout, entries)
            changes.append(SourceChange(
                idempotency_key=f"square:settlement:{pid}:{payout.get('version', 1)}", entity_key=pid,
                payload=payload, source_payload={"payout": payout, "payout_entries": entries},
                changed_at=epoch(payout.get("updated_at") or created)))
            done.add(pid)
            if blocked is None:
                last = created
        mark = blocked or last or state.since.get(location)
        if mark:
            state.since[location] = mark
            # Only payouts at or after the new watermark can be listed again.
            state.done[location] = sorted(p["id"] for p in payouts if p.get("id") in done
                                          and epoch(p["created_at"]) >= epoch(mark))
        if has_more:
            break
    return PullPage(changes=changes, cursor=state.dump(), has_more=has_more)
