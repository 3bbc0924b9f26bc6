"""Sales orders and sales credit memos into Business Central, exactly once, per record.

Business Central has no idempotency key, so the duplicate guard is the document's
``externalDocumentNumber`` (the channel's order or return number), looked up before anything is
created. A hit means an earlier attempt got through even if its answer was lost: the record is
linked to that document. For orders the posted ``salesInvoices`` are searched too, because a fully
shipped and invoiced order leaves ``salesOrders``.

A found document whose lines differ from the record (the order was edited at the source) is
brought to the record's lines: each changed line is PATCHed (or DELETEd) with ``If-Match`` set to
the ETag read a moment earlier, so a line someone changed in BC meanwhile answers 412 and the
record is a ``conflict`` instead of overwriting their edit. A record is delivered only when a
read-back shows the intended lines.

Customers are found by e-mail (``customers?$filter=email eq '...'``) or created; records without
an e-mail use ``options.walkin_customer_number``; a return without either uses the customer of its
original order (found by that order's number). Taxes are left to BC's own tax setup; the record's
tax lines are not sent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Awaitable, Callable

from pydantic import ValidationError

from syncops.connectors.base import Delivery, ItemResult
from syncops.connectors.errors import DeliveryError
from syncops.models import ReturnRefund, SalesOrder
from syncops.store.categories import Category

MAX_EXTERNAL = 35  # Sales Header."External Document No." is Code[35]
_PER_ITEM = frozenset({Category.VALIDATION, Category.CONFLICT, Category.MAPPING})
_LINE_FIELDS = ("lineType", "lineObjectNumber", "quantity", "unitPrice", "discountAmount")


class _Kind:
    def __init__(self, entity: str, collection: str, nav: str, date_field: str, label: str) -> None:
        self.entity, self.collection, self.nav, self.date_field, self.label = entity, collection, nav, date_field, label


ORDER = _Kind("order", "salesOrders", "salesOrderLines", "orderDate", "sales order")
RETURN = _Kind("return", "salesCreditMemos", "salesCreditMemoLines", "creditMemoDate", "sales credit memo")


class _Problem(Exception):
    def __init__(self, category: Category, message: str) -> None:
        super().__init__(message)
        self.category, self.message = category, message


def _num(value: Any, places: str = "0.00001") -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _line_key(line: dict[str, Any]) -> tuple:
    return (str(line.get("lineType") or ""), str(line.get("lineObjectNumber") or ""), _num(line.get("quantity")),
            _num(line.get("unitPrice"), "0.01"), _num(line.get("discountAmount"), "0.01"))


def order_lines(conn: Any, doc: SalesOrder) -> list[dict[str, Any]]:
    lines = [{"lineType": "Item", "lineObjectNumber": li.sku, "quantity": float(li.quantity),
              "unitPrice": float(li.unit_price), "discountAmount": float(li.discount)} for li in doc.lines]
    if doc.shipping:
        account = conn.options.get("shipping_account")
        if not account:
            raise _Problem(Category.VALIDATION, "the order charges shipping but the endpoint has no "
                           "options.shipping_account (the G/L account a shipping line posts to)")
        lines.append({"lineType": "Account", "lineObjectNumber": str(account), "quantity": 1.0,
                      "unitPrice": float(doc.shipping), "discountAmount": 0.0})
    return lines


def return_lines(doc: ReturnRefund) -> list[dict[str, Any]]:
    return [{"lineType": "Item", "lineObjectNumber": li.sku, "quantity": float(li.quantity),
             "unitPrice": float(_num(li.refund_amount / li.quantity)), "discountAmount": 0.0} for li in doc.lines]


def _same(have: list[dict[str, Any]], want: list[dict[str, Any]]) -> bool:
    return [_line_key(x) for x in have] == [_line_key(x) for x in want]


def _id_of(row: Any, what: str) -> str:
    if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not row["id"]:
        raise DeliveryError(Category.MALFORMED, f"Business Central sent a malformed response: {what} without an id",
                            status=200)
    return row["id"]


async def find(conn: Any, kind: _Kind, collection: str, external: str, *, expand: bool = True) -> dict | None:
    rows = await find_all(conn, kind, collection, external, expand=expand)
    return rows[0] if rows else None


async def find_all(conn: Any, kind: _Kind, collection: str, external: str, *, expand: bool = False) -> list[dict]:
    """Every document of `collection` carrying `external` as its externalDocumentNumber."""
    from syncops.connectors.businesscentral import odata_string

    params = {"$filter": f"externalDocumentNumber eq {odata_string(external)}"}
    if expand:
        params["$expand"] = kind.nav
    rows = await conn.list_of(conn.company_url(collection), params)
    for row in rows:
        _id_of(row, collection)
        if expand and not isinstance(row.get(kind.nav), list):
            raise DeliveryError(Category.MALFORMED, f"Business Central sent a malformed response: {collection} "
                                f"without its expanded {kind.nav}", status=200)
    return rows


async def customer_ref(conn: Any, customer: Any, fallback: dict[str, Any] | None = None) -> dict[str, Any]:
    """{"customerId": ...} or {"customerNumber": ...} for the document header."""
    from syncops.connectors.businesscentral import odata_string

    email = getattr(customer, "email", None) if customer is not None else None
    if email:
        rows = await conn.list_of(conn.company_url("customers"), {"$filter": f"email eq {odata_string(email)}"})
        if rows:
            return {"customerId": _id_of(rows[0], "customer")}
        name = (getattr(customer, "name", None) or email)[:100]
        body = {"displayName": name, "email": email, "type": "Person"}
        if getattr(customer, "phone", None):
            body["phoneNumber"] = customer.phone[:30]
        created = await conn.request("POST", conn.company_url("customers"), body=body)
        return {"customerId": _id_of(created, "created customer")}
    if fallback:
        return fallback
    walkin = conn.options.get("walkin_customer_number")
    if walkin:
        return {"customerNumber": str(walkin)}
    raise _Problem(Category.VALIDATION, "the record has no customer e-mail and the endpoint has no "
                   "options.walkin_customer_number to sell to")


async def sync_lines(conn: Any, kind: _Kind, doc: dict[str, Any], want: list[dict[str, Any]]) -> int:
    """Bring a found document's lines to `want`, each write guarded by the line's ETag. Returns writes."""
    doc_url = conn.company_url(f"{kind.collection}({doc['id']})")
    have = [x for x in doc[kind.nav] if isinstance(x, dict)]
    if str(doc.get("status") or "") == "Released":
        raise _Problem(Category.CONFLICT, f"the {kind.label} {doc.get('number')} is released in Business Central; "
                       "reopen it there so its lines can follow the source")
    writes = 0
    for pos, line in enumerate(want):
        if pos < len(have):
            old = have[pos]
            if _line_key(old) == _line_key(line):
                continue
            etag = old.get("@odata.etag")
            if not isinstance(etag, str) or not etag:
                raise DeliveryError(Category.MALFORMED, f"Business Central sent a malformed response: a {kind.nav} "
                                    "row without @odata.etag", status=200)
            await conn.request("PATCH", f"{doc_url}/{kind.nav}({_id_of(old, kind.nav)})", body=line,
                               headers={"If-Match": etag})
        else:
            await conn.request("POST", f"{doc_url}/{kind.nav}", body=line)
        writes += 1
    for old in have[len(want):]:
        etag = old.get("@odata.etag")
        await conn.request("DELETE", f"{doc_url}/{kind.nav}({_id_of(old, kind.nav)})",
                           headers={"If-Match": etag if isinstance(etag, str) and etag else "*"})
        writes += 1
    return writes


async def _read_back(conn: Any, kind: _Kind, doc_id: str, want: list[dict[str, Any]]) -> dict[str, Any]:
    row = await conn.request("GET", conn.company_url(f"{kind.collection}({doc_id})"), params={"$expand": kind.nav})
    lines = row.get(kind.nav) if isinstance(row, dict) else None
    if not isinstance(lines, list):
        raise DeliveryError(Category.MALFORMED, f"Business Central sent a malformed response: {kind.collection} "
                            f"read-back without {kind.nav}", status=200)
    if not _same(lines, want):
        raise _Problem(Category.CONFLICT, f"the {kind.label} {row.get('number')} does not hold the intended lines "
                       "after the write (changed in Business Central meanwhile?)")
    return row


def _ok(d: Delivery, row: dict[str, Any], summary: str, note: str | None, status: int = 200) -> ItemResult:
    return ItemResult(d.record_id, target_ref=str(row.get("id")), status=status, request_summary=summary,
                      response_excerpt=f"{row.get('number') or ''} id {row.get('id')}".strip(), note=note)


async def _deliver(conn: Any, kind: _Kind, d: Delivery) -> ItemResult:
    model = SalesOrder if kind is ORDER else ReturnRefund
    try:
        doc = model.model_validate(d.payload)
    except ValidationError as exc:
        raise _Problem(Category.VALIDATION, f"payload is not a valid {kind.entity}: {exc.errors()[0].get('msg')}")
    external = doc.order_number if kind is ORDER else doc.return_number
    if len(external) > MAX_EXTERNAL:
        raise _Problem(Category.VALIDATION, f"{external[:40]!r} is longer than the {MAX_EXTERNAL} characters "
                       "Business Central's externalDocumentNumber holds")
    want = order_lines(conn, doc) if kind is ORDER else return_lines(doc)
    summary = f"{kind.collection} externalDocumentNumber={external} ({len(want)} lines)"
    found = await find(conn, kind, kind.collection, external)
    if found is not None:
        if _same(found[kind.nav], want):
            return _ok(d, found, summary, f"found {kind.label} {found.get('number')} by externalDocumentNumber: "
                       "an earlier delivery applied")
        writes = await sync_lines(conn, kind, found, want)
        row = await _read_back(conn, kind, found["id"], want)
        return _ok(d, row, summary, f"updated {writes} line(s) of {kind.label} {row.get('number')} "
                   "(If-Match guarded), read back")
    if kind is ORDER:
        invoiced = await find(conn, kind, "salesInvoices", external, expand=False)
        if invoiced is not None:
            return _ok(d, invoiced, summary, f"already shipped and invoiced in Business Central as sales invoice "
                       f"{invoiced.get('number')} (found by externalDocumentNumber)")
    fallback = None
    if kind is RETURN and getattr(doc.customer, "email", None) is None:
        original = await find(conn, ORDER, "salesOrders", doc.order_number, expand=False) or \
            await find(conn, ORDER, "salesInvoices", doc.order_number, expand=False)
        if original is not None and isinstance(original.get("customerId"), str):
            fallback = {"customerId": original["customerId"]}
    header: dict[str, Any] = {"externalDocumentNumber": external}
    header.update(await customer_ref(conn, doc.customer, fallback))
    when = doc.placed_at if kind is ORDER else doc.created_at
    header[kind.date_field] = when.date().isoformat()
    if doc.currency != conn.local_currency:
        header["currencyCode"] = doc.currency
    header[kind.nav] = want
    created = await conn.request("POST", conn.company_url(kind.collection), body=header)
    doc_id = _id_of(created, f"created {kind.collection}")
    row = await _read_back(conn, kind, doc_id, want)
    return _ok(d, row, summary, None, status=201)


async def push(conn: Any, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
    kind = ORDER if entity == "order" else RETURN
    return await push_each(deliveries, lambda d: _deliver(conn, kind, d), f"{kind.collection} record")


async def push_each(deliveries: list[Delivery], deliver: Callable[[Delivery], Awaitable[ItemResult]],
                    label: str) -> list[ItemResult]:
    """One record at a time: a record's own problem fails it alone; a whole-call failure on the
    first record is raised (nothing of the batch got through), later ones end the batch there."""
    results: list[ItemResult] = []
    for pos, d in enumerate(deliveries):
        try:
            results.append(await deliver(d))
        except _Problem as exc:
            results.append(ItemResult(d.record_id, error=DeliveryError(exc.category, exc.message[:600]),
                                      request_summary=f"{label} {d.entity_key}"))
        except DeliveryError as exc:
            if exc.category in _PER_ITEM:
                results.append(ItemResult(d.record_id, error=exc, status=exc.status,
                                          request_summary=f"{label} {d.entity_key}",
                                          response_excerpt=exc.response_excerpt or ""))
                continue
            if pos == 0:
                raise  # nothing of this batch reached BC before the failure (this one may have)
            results.append(ItemResult(d.record_id, error=exc, status=exc.status,
                                      response_excerpt=exc.response_excerpt or ""))
            for rest in deliveries[pos + 1:]:  # not attempted: retried later, nothing applied
                results.append(ItemResult(rest.record_id, error=DeliveryError(
                    exc.category, f"not attempted: {exc.message}"[:600], retry_after=exc.retry_after)))
            break
    return results
