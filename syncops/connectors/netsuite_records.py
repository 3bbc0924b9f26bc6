"""Canonical payloads to NetSuite records (push); rows to payloads (pull) are in netsuite_rows.py.

Idempotency is NetSuite's own: the externalId.

- Documents (``order`` -> salesOrder, ``return`` -> creditMemo, ``settlement`` -> journalEntry) are
  upserted with ``PUT /record/v1/<type>/eid:<externalId>``, the externalId named after the entity
  key (``syncops-so-WEB-1001``). A replay, a reclaimed record or a lost answer upserts the same
  record again, and a later version of the same order updates its one sales order instead of
  creating a second.
- Stock (``inventory`` -> inventoryAdjustment) is a delta, so it is created with ``POST`` and an
  externalId named after the delivery key (one per record version): NetSuite answers a second
  create with the same externalId ``DUP_RCRD``, which means an earlier attempt applied. The delta is
  the record's ``available`` minus what NetSuite holds now, guarded like the other stock
  connectors: NetSuite must hold ``expected_previous`` (or a value one of ``possible_previous``
  explains, or already the intended level); anything else is a ``conflict``. NetSuite has no
  compare-and-swap, so a change between the read and the adjustment is not detected.

SKUs are items by ``itemid``, locations by name, accounts by account number, customers by e-mail
(else ``options.default_customer``); an unknown one is ``validation`` naming it. Taxes are left
to NetSuite's tax engine; the created record's internal id comes from the ``Location`` header.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import ValidationError

from syncops.connectors import signals
from syncops.connectors.base import Delivery, ItemResult
from syncops.connectors.errors import DeliveryError
from syncops.models import ReturnRefund, SalesOrder, Settlement
from syncops.store.categories import Category

MAX_EXTERNAL = 100
_PER_ITEM = frozenset({Category.VALIDATION, Category.CONFLICT, Category.MAPPING, Category.DUPLICATE})
_DOCS = {"order": ("salesOrder", "so"), "return": ("creditMemo", "cm"), "settlement": ("journalEntry", "je")}


class Problem(Exception):
    def __init__(self, category: Category, message: str) -> None:
        super().__init__(message)
        self.category, self.message = category, message


@dataclass
class Lookups:
    """Internal ids found by SuiteQL, kept for the connector's life (they do not change)."""

    items: dict[str, int] = field(default_factory=dict)
    locations: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)


def _q(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def external_id(prefix: str, key: str) -> str:
    """``syncops-<prefix>-<key>``; a key with characters unsafe in a URL path (``#1001``) or too long
    keeps its safe part and gains a hash of the whole key, so two keys never share one externalId."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "", key)
    if safe == key and len(key) <= MAX_EXTERNAL - 12:
        return f"syncops-{prefix}-{key}"
    return f"syncops-{prefix}-{safe[:60]}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


# ---------------------------------------------------------------------------------------- lookups

async def _resolve(conn: Any, cache: dict[str, int], table: str, column: str, names: set[str],
                   extra: str = "") -> None:
    from syncops.connectors.netsuite import sql_string

    missing = sorted(n for n in names if n not in cache)
    for start in range(0, len(missing), 100):
        chunk = missing[start:start + 100]
        q = f"SELECT id, {column} FROM {table} WHERE {column} IN ({', '.join(map(sql_string, chunk))}){extra}"
        for row in await conn.suiteql_all(q):
            rid = signals.number(row.get("id"), minimum=1)
            if rid is not None and isinstance(row.get(column), str):
                cache.setdefault(row[column], int(rid))


async def _items(conn: Any, skus: set[str]) -> dict[str, int]:
    await _resolve(conn, conn.lookups.items, "item", "itemid", skus)
    unknown = sorted(s for s in skus if s not in conn.lookups.items)
    if unknown:
        raise Problem(Category.VALIDATION, f"no NetSuite item with itemid {', '.join(map(repr, unknown[:5]))}")
    return conn.lookups.items


async def _customer(conn: Any, customer: Any) -> dict[str, str]:
    from syncops.connectors.netsuite import sql_string

    email = getattr(customer, "email", None) if customer is not None else None
    if email:
        key = email.lower()
        if key not in conn.lookups.customers:
            rows = await conn.suiteql_all(f"SELECT id FROM customer WHERE LOWER(email) = {sql_string(key)}")
            rid = signals.number(rows[0].get("id"), minimum=1) if rows else None
            if rid is not None:
                conn.lookups.customers[key] = int(rid)
        if key in conn.lookups.customers:
            return {"id": str(conn.lookups.customers[key])}
    default = conn.options.get("default_customer")
    if default:
        return {"id": str(default)}
    why = "no NetSuite customer has the record's e-mail" if email else "the record has no customer e-mail"
    raise Problem(Category.VALIDATION, f"{why} and the endpoint has no options.default_customer (internal id) "
                  "to sell to")


# ---------------------------------------------------------------------------------------- push

def _validated(model: Any, d: Delivery, entity: str) -> Any:
    try:
        return model.model_validate(d.payload)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        raise Problem(Category.VALIDATION, f"payload is not a valid {entity}: "
                      f"{'.'.join(map(str, first['loc']))}: {first['msg']}")


def _currency(conn: Any, currency: str) -> None:
    if currency != conn.local_currency:
        raise Problem(Category.VALIDATION, f"currency {currency} differs from the endpoint's local_currency "
                      f"{conn.local_currency}; foreign-currency records are not supported yet")


async def _order_body(conn: Any, doc: SalesOrder) -> dict[str, Any]:
    _currency(conn, doc.currency)
    items = await _items(conn, {li.sku for li in doc.lines})
    body: dict[str, Any] = {
        "entity": await _customer(conn, doc.customer), "tranDate": doc.placed_at.date().isoformat(),
        "otherRefNum": doc.order_number[:45], "memo": f"{doc.channel} order {doc.order_number}"[:999],
        "item": {"items": [{"item": {"id": str(items[li.sku])}, "quantity": float(li.quantity),
                            "rate": float(_q((li.amount) / li.quantity))} for li in doc.lines]},
    }
    if doc.shipping:
        body["shippingCost"] = float(doc.shipping)
    return body


async def _credit_body(conn: Any, doc: ReturnRefund) -> dict[str, Any]:
    _currency(conn, doc.currency)
    items = await _items(conn, {li.sku for li in doc.lines})
    return {"entity": await _customer(conn, doc.customer), "tranDate": doc.created_at.date().isoformat(),
            "otherRefNum": doc.order_number[:45], "memo": f"return {doc.return_number} of {doc.order_number}"[:999],
            "item": {"items": [{"item": {"id": str(items[li.sku])}, "quantity": float(li.quantity),
                                "rate": float(_q(li.refund_amount / li.quantity))} for li in doc.lines]}}


async def _journal_body(conn: Any, lines: list[tuple[str, Decimal, str]], date: str, memo: str,
                        currency: str) -> dict[str, Any]:
    _currency(conn, currency)
    codes = {code for code, _, _ in lines}
    await _resolve(conn, conn.lookups.accounts, "account", "acctnumber", codes)
    unknown = sorted(c for c in codes if c not in conn.lookups.accounts)
    if unknown:
        raise Problem(Category.VALIDATION, f"no NetSuite account with number {', '.join(map(repr, unknown[:5]))}")
    out = []
    for code, amount, text in lines:
        side = "credit" if amount > 0 else "debit"
        out.append({"account": {"id": str(conn.lookups.accounts[code])}, side: float(abs(amount)), "memo": text[:999]})
    return {"subsidiary": {"id": str(conn.options.get("subsidiary") or 1)}, "tranDate": date, "memo": memo[:999],
            "line": {"items": out}}


async def _settlement_body(conn: Any, doc: Settlement) -> dict[str, Any]:
    text = f"{doc.processor} payout {doc.payout_id}"
    memo = (f"{text}: gross {doc.gross}, refunds {doc.refunds}, fees {doc.fees}, net {doc.net} {doc.currency}")
    return await _journal_body(conn, [(code, amount, text) for code, amount in doc.postings()],
                               doc.paid_at.date().isoformat(), memo, doc.currency)


def _record_id(resp: Any, rtype: str) -> str | None:
    location = resp.headers.get("location") or ""
    tail = location.rstrip("/").rsplit("/", 1)[-1]
    return tail if location and f"/{rtype}/" in location and tail.isdigit() else None


async def _upsert(conn: Any, entity: str, d: Delivery) -> ItemResult:
    from syncops.connectors.netsuite import RECORD_PATH

    rtype, prefix = _DOCS[entity]
    if entity == "order":
        body = await _order_body(conn, _validated(SalesOrder, d, entity))
    elif entity == "return":
        body = await _credit_body(conn, _validated(ReturnRefund, d, entity))
    else:
        body = await _settlement_body(conn, _validated(Settlement, d, entity))
    eid = external_id(prefix, d.entity_key)
    body["externalId"] = eid
    path = f"{RECORD_PATH}/{rtype}/eid:{eid}"
    summary = f"PUT /record/v1/{rtype}/eid:{eid}"
    resp = await conn.request("PUT", path, body=body, params={"replace": "item" if "item" in body else "line"})
    rid = _record_id(resp, rtype)
    if rid is None:
        raise signals.malformed("NetSuite", f"the {rtype} upsert answered without a Location of the record",
                                status=resp.status_code, excerpt=conn.auth.scrub(resp.text)[:500],
                                applied_if_write=True)
    note = "upserted by externalId: an earlier attempt may already have created it" if d.outcome_unknown else None
    return ItemResult(d.record_id, target_ref=rid, status=resp.status_code, request_summary=summary,
                      response_excerpt=f"{rtype} {rid} externalId {eid}", note=note)


async def read_levels(conn: Any, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    if not pairs:
        return {}
    await _resolve(conn, conn.lookups.items, "item", "itemid", {s for s, _ in pairs})
    await _resolve(conn, conn.lookups.locations, "location", "name", {loc for _, loc in pairs})
    known = [(s, loc) for s, loc in pairs if s in conn.lookups.items and loc in conn.lookups.locations]
    out: dict[tuple[str, str], int | None] = {}
    for start in range(0, len(known), 100):
        chunk = known[start:start + 100]
        ids = sorted({conn.lookups.items[s] for s, _ in chunk})
        q = ("SELECT iil.item, iil.location, iil.quantityavailable FROM inventoryitemlocations iil "
             f"WHERE iil.item IN ({', '.join(map(str, ids))})")
        held = {}
        for row in await conn.suiteql_all(q):
            item, loc = signals.number(row.get("item"), minimum=1), signals.number(row.get("location"), minimum=1)
            qty = signals.number(row.get("quantityavailable"), minimum=-1e12)
            if item is not None and loc is not None and qty is not None:
                held[(int(item), int(loc))] = int(qty)
        for s, loc in chunk:
            key = (conn.lookups.items[s], conn.lookups.locations[loc])
            out[(s, loc)] = max(0, held.get(key, 0))
    return out


async def _adjust(conn: Any, d: Delivery) -> ItemResult:
    from syncops.connectors.netsuite import RECORD_PATH

    p = d.payload
    sku, loc, want = p.get("sku"), p.get("location_id"), p.get("available")
    if not isinstance(sku, str) or not isinstance(loc, str) or type(want) is not int or want < 0:
        raise Problem(Category.VALIDATION, f"inventory payload needs sku, location_id and available >= 0, got "
                      f"sku={sku!r} location_id={loc!r} available={want!r}")
    account = conn.options.get("adjustment_account")
    if not account:
        raise Problem(Category.VALIDATION, "the endpoint has no options.adjustment_account (the account number "
                      "inventory adjustments post to)")
    await _items(conn, {sku})
    await _resolve(conn, conn.lookups.locations, "location", "name", {loc})
    if loc not in conn.lookups.locations:
        raise Problem(Category.VALIDATION, f"no NetSuite location named {loc!r}")
    await _resolve(conn, conn.lookups.accounts, "account", "acctnumber", {str(account)})
    if str(account) not in conn.lookups.accounts:
        raise Problem(Category.VALIDATION, f"no NetSuite account with number {str(account)!r} "
                      "(options.adjustment_account)")
    eid = external_id("adj", d.delivery_key)
    where = f"{sku}@{loc}"
    held = (await read_levels(conn, {(sku, loc)})).get((sku, loc), 0) or 0
    expected = (d.expected_previous or {}).get("available")
    summary = f"POST /record/v1/inventoryAdjustment externalId={eid} {where} -> {want}"
    if held == want:
        return ItemResult(d.record_id, target_ref=None, status=200, request_summary=summary,
                          response_excerpt=f"read back available={held}",
                          note=f"already at target: NetSuite holds {held} at {where}")
    ours = {x.get("available") for x in d.possible_previous}
    if expected is not None and held != expected and held not in ours:
        raise Problem(Category.CONFLICT, f"{where}: NetSuite holds {held}, syncops last delivered {expected} and "
                      f"intends {want}; something else changed it. Retry to overwrite with {want}, or resolve to "
                      f"keep {held}")
    body = {"externalId": eid, "subsidiary": {"id": str(conn.options.get("subsidiary") or 1)},
            "account": {"id": str(conn.lookups.accounts[str(account)])},
            "adjLocation": {"id": str(conn.lookups.locations[loc])},
            "tranDate": datetime.fromtimestamp(conn.clock(), tz=timezone.utc).date().isoformat(),
            "memo": f"syncops: {where} to {want} (was {held})",
            "inventory": {"items": [{"item": {"id": str(conn.lookups.items[sku])},
                                     "location": {"id": str(conn.lookups.locations[loc])},
                                     "adjustQtyBy": want - held}]}}
    try:
        resp = await conn.request("POST", f"{RECORD_PATH}/inventoryAdjustment", body=body)
    except DeliveryError as exc:
        if exc.category is Category.DUPLICATE:
            # This very record's adjustment exists: an earlier attempt applied, its answer was lost.
            return ItemResult(d.record_id, status=exc.status, request_summary=summary,
                              response_excerpt=exc.response_excerpt or "",
                              note=f"NetSuite already holds adjustment {eid} (DUP_RCRD): an earlier attempt applied")
        raise
    rid = _record_id(resp, "inventoryAdjustment")
    if rid is None:
        raise signals.malformed("NetSuite", "the inventoryAdjustment create answered without a Location",
                                status=resp.status_code, excerpt=conn.auth.scrub(resp.text)[:500],
                                applied_if_write=True)
    return ItemResult(d.record_id, target_ref=rid, status=resp.status_code, request_summary=summary,
                      response_excerpt=f"inventoryAdjustment {rid} adjustQtyBy {want - held}")


async def _one(conn: Any, entity: str, d: Delivery) -> ItemResult:
    try:
        if entity == "inventory":
            return await _adjust(conn, d)
        return await _upsert(conn, entity, d)
    except Problem as exc:
        return ItemResult(d.record_id, error=DeliveryError(exc.category, exc.message[:600]),
                          request_summary=f"{entity} record {d.entity_key}")
    except DeliveryError as exc:
        if exc.category in _PER_ITEM:
            return ItemResult(d.record_id, error=exc, status=exc.status,
                              request_summary=f"{entity} record {d.entity_key}",
                              response_excerpt=exc.response_excerpt or "")
        raise


async def push(conn: Any, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
    """Every record of the batch at once (the connector's semaphore caps what is in flight). When all
    of them failed for the endpoint's sake (down, throttled, refused), the whole call failed."""
    # Records of one entity key go one after another (a stock delta is read, then written).
    groups: dict[str, list[int]] = {}
    for i, d in enumerate(deliveries):
        groups.setdefault(d.entity_key, []).append(i)
    outcomes: list[Any] = [None] * len(deliveries)

    async def in_turn(indexes: list[int]) -> None:
        for i in indexes:
            try:
                outcomes[i] = await _one(conn, entity, deliveries[i])
            except Exception as exc:  # sorted out below, once every record has had its turn
                outcomes[i] = exc

    await asyncio.gather(*(in_turn(ix) for ix in groups.values()))
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    for o in errors:
        if not isinstance(o, DeliveryError):
            raise o
    if errors and len(errors) == len(outcomes):
        first = errors[0]
        first.maybe_applied = any(e.maybe_applied for e in errors)
        raise first
    results = []
    for d, o in zip(deliveries, outcomes):
        if isinstance(o, DeliveryError):
            results.append(ItemResult(d.record_id, error=o, status=o.status, response_excerpt=o.response_excerpt or "",
                                      request_summary=f"{entity} record {d.entity_key}"))
        else:
            results.append(o)
    return results

