"""Amazon settlements: closed financial event groups as canonical settlements (Finances API v0).

``listFinancialEventGroups`` is read from a watermark on ``FinancialEventGroupStart`` (paged by
``NextToken``). A group is a settlement once ``ProcessingStatus`` is ``Closed`` and its funds moved
(``FundTransferStatus`` ``Succeeded`` or ``Transferred``); the watermark stops at the oldest group
still open, so that one is read again until it closes. Its events come from
``listFinancialEventsByGroupId`` and are classified line by line:

- ``ShipmentEventList``: item charges (``Principal``, ``Tax``, shipping, gift wrap…) and
  promotions are sales; item and order fees are fees; the marketplace-facilitator tax Amazon
  withholds (``ItemTaxWithheldList``) is an adjustment (Amazon remits it, so it is not the
  seller's money).
- ``RefundEventList`` / ``GuaranteeClaimEventList`` / ``ChargebackEventList``: charge adjustments
  are refunds; fee adjustments (the commission Amazon gives back) are fees.
- ``ServiceFeeEventList``: fees. ``AdjustmentEventList``: adjustments. A group's
  ``BeginningBalance`` (carried from the last group) is a reserve.
- Any other event list (Amazon has dozens: coupons, liquidations, loans, removals…) is not
  classified yet: what the known lists leave of ``OriginalTotal`` goes to clearing as one
  adjustment line whose reference names those lists, so the bank amount, sales and fees are right
  and an accountant finds the rest in the clearing account, named.

The net is the group's ``OriginalTotal``. When every list is known and the lines still do not add
up to it, the canonical model refuses the settlement, so a disagreeing group waits for a human
instead of being posted.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from syncops.connectors.base import PullPage, SourceChange
from syncops.connectors.errors import DeliveryError
from syncops.models.settlement import SettlementAccounts
from syncops.store.categories import Category

if TYPE_CHECKING:  # pragma: no cover
    from syncops.connectors.amazon import AmazonConnector

GROUPS_OP, EVENTS_OP = "listFinancialEventGroups", "listFinancialEventsByGroupId"
PAID = ("Succeeded", "Transferred")
SHIPMENT_LISTS = ("ShipmentEventList",)
REFUND_LISTS = ("RefundEventList", "GuaranteeClaimEventList", "ChargebackEventList")
KNOWN_LISTS = frozenset({*SHIPMENT_LISTS, *REFUND_LISTS, "ServiceFeeEventList", "AdjustmentEventList"})
MAX_PAGES = 200  # events pages per group: a runaway NextToken chain is the vendor's fault


def money(value: Any, where: str) -> Decimal:
    """A Finances Currency object's amount, strictly: a finite number, at most cent precision."""
    amount = value.get("CurrencyAmount") if isinstance(value, dict) else None
    if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
        raise DeliveryError(Category.MALFORMED, f"Amazon {where} has no CurrencyAmount")
    if isinstance(amount, float) and not math.isfinite(amount):
        raise DeliveryError(Category.MALFORMED, f"Amazon {where} CurrencyAmount is not finite")
    try:
        parsed = Decimal(str(amount))
    except InvalidOperation:
        raise DeliveryError(Category.MALFORMED, f"Amazon {where} CurrencyAmount {str(amount)[:40]!r} is not a number") \
            from None
    if not parsed.is_finite() or abs(parsed) >= Decimal("1e12"):
        raise DeliveryError(Category.MALFORMED, f"Amazon {where} CurrencyAmount {str(amount)[:40]!r} is out of range")
    return parsed.quantize(Decimal("0.01"))


def _list(obj: Any, key: str) -> list[dict[str, Any]]:
    rows = obj.get(key) if isinstance(obj, dict) else None
    if rows is None:
        return []
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise DeliveryError(Category.MALFORMED, f"Amazon {key} is not a list of objects")
    return rows


def to_settlement(group: dict[str, Any], events: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    gid = str(group["FinancialEventGroupId"])
    unknown = sorted(k for k, v in events.items() if v and k not in KNOWN_LISTS)
    totals = {k: Decimal(0) for k in ("charge", "refund", "fee", "adjustment", "reserve")}
    lines: list[dict[str, Any]] = []

    def add(kind: str, reference: str, amount: Decimal) -> None:
        if amount:
            totals[kind] += amount
            lines.append({"kind": kind, "reference": reference[:200], "amount": str(amount)})

    def shipment(event: dict[str, Any], charge_kind: str, charge_key: str, fee_key: str, promo_key: str) -> None:
        ref = str(event.get("AmazonOrderId") or event.get("SellerOrderId") or "order")
        for item in _list(event, "ShipmentItemAdjustmentList" if charge_kind == "refund" else "ShipmentItemList"):
            for c in _list(item, charge_key):
                add(charge_kind, f"{ref} {c.get('ChargeType')}", money(c.get("ChargeAmount"), f"{ref} charge"))
            for p in _list(item, promo_key):
                add(charge_kind, f"{ref} promotion", money(p.get("PromotionAmount"), f"{ref} promotion"))
            for f in _list(item, fee_key):
                add("fee", f"{ref} {f.get('FeeType')}", money(f.get("FeeAmount"), f"{ref} fee"))
            for withheld in _list(item, "ItemTaxWithheldList"):
                for t in _list(withheld, "TaxesWithheld"):
                    add("adjustment", f"{ref} {t.get('ChargeType')}", money(t.get("ChargeAmount"), f"{ref} tax"))
        for f in _list(event, "OrderFeeList" if charge_kind == "charge" else "OrderFeeAdjustmentList"):
            add("fee", f"{ref} {f.get('FeeType')}", money(f.get("FeeAmount"), f"{ref} order fee"))
        for c in _list(event, "OrderChargeList" if charge_kind == "charge" else "OrderChargeAdjustmentList"):
            add(charge_kind, f"{ref} {c.get('ChargeType')}", money(c.get("ChargeAmount"), f"{ref} order charge"))

    for event in events.get("ShipmentEventList", []):
        shipment(event, "charge", "ItemChargeList", "ItemFeeList", "PromotionList")
    for key in REFUND_LISTS:
        for event in events.get(key, []):
            shipment(event, "refund", "ItemChargeAdjustmentList", "ItemFeeAdjustmentList", "PromotionAdjustmentList")
    for event in events.get("ServiceFeeEventList", []):
        for f in _list(event, "FeeList"):
            add("fee", str(event.get("FeeDescription") or event.get("FeeReason") or f.get("FeeType")),
                money(f.get("FeeAmount"), "service fee"))
    for event in events.get("AdjustmentEventList", []):
        add("adjustment", str(event.get("AdjustmentType") or "adjustment"),
            money(event.get("AdjustmentAmount"), "adjustment"))
    opening = group.get("BeginningBalance")
    if isinstance(opening, dict):
        add("reserve", f"{gid} beginning balance", money(opening, f"group {gid} BeginningBalance"))
    total = group.get("OriginalTotal")
    currency = total.get("CurrencyCode") if isinstance(total, dict) else None
    net = money(total, f"group {gid} OriginalTotal")
    if unknown:
        explained = totals["charge"] + totals["refund"] + totals["fee"] + totals["adjustment"] + totals["reserve"]
        add("adjustment", f"unclassified: {', '.join(unknown)}"[:200], net - explained)
    return {
        "payout_id": gid, "processor": "amazon", "currency": currency or "USD",
        "paid_at": group.get("FundTransferDate") or group.get("FinancialEventGroupEnd"),
        "gross": str(totals["charge"]), "refunds": str(-totals["refund"]), "fees": str(-totals["fee"]),
        "adjustments": str(totals["adjustment"]), "reserves": str(totals["reserve"]),
        "net": str(net), "lines": lines,
        "accounts": SettlementAccounts().model_dump(mode="json"),
    }


async def _group_events(conn: "AmazonConnector", gid: str) -> dict[str, list[dict[str, Any]]]:
    events: dict[str, list[dict[str, Any]]] = {}
    token = None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"MaxResultsPerPage": 100, **({"NextToken": token} if token else {})}
        resp = await conn._request("GET", f"finances/v0/financialEventGroups/{gid}/financialEvents", EVENTS_OP,
                                   params=params)
        data = conn._json(resp, EVENTS_OP)
        payload = data.get("payload") if isinstance(data, dict) else None
        lists = payload.get("FinancialEvents") if isinstance(payload, dict) else None
        if not isinstance(lists, dict):
            raise conn._shape(EVENTS_OP, data)
        for key, rows in lists.items():
            events.setdefault(key, []).extend(_list(lists, key))
        token = payload.get("NextToken")
        if not (isinstance(token, str) and token):
            return events
    raise DeliveryError(Category.MALFORMED, f"Amazon {EVENTS_OP} for group {gid} kept answering NextToken "
                        f"after {MAX_PAGES} pages")


async def pull_settlements(conn: "AmazonConnector", cursor: str | None, limit: int) -> PullPage:
    from syncops.connectors.amazon import epoch_of

    state = conn._state(cursor)
    since = state.get("since") if epoch_of(state.get("since")) is not None else conn._first_after()
    done = {str(g) for g in state.get("done") or [] if isinstance(g, str)}
    groups: list[dict[str, Any]] = []
    token = None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"MaxResultsPerPage": 100, "FinancialEventGroupStartedAfter": since,
                                  **({"NextToken": token} if token else {})}
        resp = await conn._request("GET", "finances/v0/financialEventGroups", GROUPS_OP, params=params)
        payload, rows = conn._payload(resp, GROUPS_OP, "FinancialEventGroupList")
        groups += rows
        token = payload.get("NextToken")
        if not (isinstance(token, str) and token):
            break
    groups.sort(key=lambda g: (epoch_of(g.get("FinancialEventGroupStart")) or 0.0,
                               str(g.get("FinancialEventGroupId"))))
    changes: list[SourceChange] = []
    blocked = None
    has_more = False
    for group in groups:
        gid, start = group.get("FinancialEventGroupId"), group.get("FinancialEventGroupStart")
        if not isinstance(gid, str) or not gid or epoch_of(start) is None:
            raise conn._shape(f"{GROUPS_OP} (FinancialEventGroupId/FinancialEventGroupStart)", group)
        closed = group.get("ProcessingStatus") == "Closed" and group.get("FundTransferStatus") in PAID
        if gid in done:
            continue
        if not closed:
            blocked = blocked or start
            continue
        if len(changes) >= max(1, int(limit)):
            has_more = True
            break
        events = await _group_events(conn, gid)
        payload = to_settlement(group, events)
        changes.append(SourceChange(
            idempotency_key=f"amazon:settlement:{gid}:{group.get('FundTransferStatus')}", entity_key=gid,
            payload=payload, source_payload={"group": group, "events": events},
            changed_at=epoch_of(group.get("FundTransferDate")) or epoch_of(start) or conn.clock()))
        done.add(gid)
    # The watermark stays at the oldest open group; groups started at or after it and already
    # taken are remembered, so they are not read (and their events fetched) again.
    newest = max((g["FinancialEventGroupStart"] for g in groups if g.get("FinancialEventGroupId") in done),
                 key=lambda s: epoch_of(s) or 0.0, default=since)
    mark = blocked or newest
    keep = sorted(str(g["FinancialEventGroupId"]) for g in groups
                  if g.get("FinancialEventGroupId") in done
                  and (epoch_of(g["FinancialEventGroupStart"]) or 0.0) >= (epoch_of(mark) or 0.0))
    return PullPage(changes=changes, cursor=json.dumps({"since": mark, "done": keep}, separators=(",", ":")),
                    has_more=has_more)
