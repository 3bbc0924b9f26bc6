"""Odoo 19 ERP over the JSON-2 API: sales orders and credit notes in; prices, products, stock out.

Odoo has no idempotency key and each JSON-2 call is its own transaction, so exactly-once
delivery rests on a duplicate guard: before creating, one ``search_read`` looks for
documents that already carry the batch's external references (``sale.order.client_order_ref``,
``account.move.ref``). A hit means an earlier attempt got through even if its response was
lost; it is reported as a duplicate *with* ``target_ref`` so the engine links the record to
the existing document instead of creating a second one.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable

import httpx
from pydantic import ValidationError

from syncops.connectors import odoo_documents as documents
from syncops.connectors import odoo_types, signals
from syncops.connectors.base import CallInfo, Delivery, ItemResult, PullPage, SourceChange
from syncops.connectors.errors import DeliveryError
from syncops.connectors.odoo_journal import push_settlements
from syncops.models import Customer, ReturnRefund, SalesOrder
from syncops.store.categories import Category

EPOCH = "1970-01-01 00:00:00"
EXCERPT = 500


def _excerpt(text: str, secret: str = "") -> str:
    if secret:
        text = text.replace(secret, "***")
    return text[:EXCERPT]


def odoo_to_epoch(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


def to_odoo_datetime(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _typed_rows(model: str, method: str, rows: Any, fields: list[str]) -> list[dict[str, Any]]:
    """Rows as Odoo types them, or `malformed` naming the first field that is not."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "id" in r for r in rows):
        raise signals.malformed("Odoo", f"{model}/{method} returned rows that are not objects with an id",
                                status=200, excerpt=_excerpt(json.dumps(rows, default=str)))
    for row in rows:
        wrong = odoo_types.problem(row, fields)
        if wrong:
            raise signals.malformed("Odoo", f"{model}/{method}: {wrong}", status=200,
                                    excerpt=_excerpt(json.dumps(row, default=str)))
    return rows


# JSON-2 methods that only read: their lost answers cannot have changed anything.
_READ_METHODS = frozenset({"search_read", "read", "search", "search_count", "context_get", "fields_get",
                           "name_search", "read_group"})


def classify(status: int, text: str, headers: httpx.Headers | dict[str, str], what: str, *,
             now: float, secret: str = "", ceiling: float = signals.MAX_WAIT) -> DeliveryError:
    """Map a JSON-2 error response onto a Category."""
    excerpt = _excerpt(text, secret)
    name = message = None
    try:
        body = json.loads(text)
        if isinstance(body, dict):
            name, message = body.get("name"), body.get("message")
    except (ValueError, RecursionError):
        body = None
    detail = message or f"HTTP {status}"
    kw: dict[str, Any] = {"status": status, "response_excerpt": excerpt, "vendor_code": name}
    if status in (401, 403):
        return DeliveryError(Category.AUTH, f"Odoo refused {what}: {detail}", **kw)
    if status == 404:
        return DeliveryError(Category.VALIDATION, f"Odoo has no such model/method for {what}: {detail}", **kw)
    if status in (400, 422):
        return DeliveryError(Category.VALIDATION, f"Odoo rejected {what}: {detail}", **kw)
    if status == 409:
        return DeliveryError(Category.CONFLICT, f"Odoo reported a conflict on {what}: {detail}", **kw)
    if status == 429 or status >= 500:
        wait = signals.retry_after(headers.get("Retry-After"), ceiling=ceiling, now=now)
        if status == 429:
            return DeliveryError(Category.RATE_LIMIT, f"Odoo throttled {what} (429){wait.describe()}",
                                 retry_after=wait.seconds, **kw)
        return DeliveryError(Category.UNAVAILABLE, f"Odoo failed {what} with HTTP {status}: {detail}"
                             f"{wait.describe()}", retry_after=wait.seconds, **kw)
    return DeliveryError(Category.UNKNOWN, f"unexpected HTTP {status} from Odoo for {what}", **kw)


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def _money(value: Any) -> str:
    return str(Decimal(str(value or 0)))


@dataclass(frozen=True)
class _DocKind:
    entity: str
    model: str
    ref_field: str
    extra_domain: tuple[tuple[str, str, Any], ...]
    label: str


_ORDER = _DocKind("order", "sale.order", "client_order_ref", (), "sale.order")
_RETURN = _DocKind("return", "account.move", "ref", (("move_type", "=", "out_refund"),), "credit note")


@dataclass
class _Item:
    index: int
    delivery: Delivery
    doc: Any = None  # SalesOrder | ReturnRefund
    vals: dict[str, Any] | None = None
    result: ItemResult | None = None
    leader: int | None = None  # index of an earlier item in this batch with the same reference
    partner_id: int | None = None
    doc_id: int | None = None  # the Odoo document, created now or found by its reference
    existing: bool = False  # found: an earlier delivery (or an edit of the same order)
    want: str | None = None  # the Odoo state the order is brought to
    products: dict[str, int] | None = None  # sku -> product id, for restock pickings
    stock_location: int | None = None  # where restocked goods go back on the shelf


@dataclass
class _Pulled:
    rows: list[dict[str, Any]]
    cursor: str
    has_more: bool


class OdooConnector:
    kind = "odoo"
    pull_entities = frozenset({"price", "product", "inventory"})
    push_entities = frozenset({"order", "return", "settlement"})
    max_batch = 100

    def __init__(self, base_url: str, secret: str, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time, options: dict[str, Any] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=10.0, limits=httpx.Limits(max_keepalive_connections=8))
        self.clock = clock
        self.options = dict(options or {})
        self.ceiling = signals.ceiling_of(self.options)
        self.currency: str = self.options.get("currency", "USD")
        self.price_list: str = self.options.get("price_list", "odoo-list")
        self.database: str | None = self.options.get("database")
        self._walkin_id: int | None = self.options.get("walkin_partner_id")
        # sale.order.line's tax field: "tax_id" up to Odoo 18; later versions spell it "tax_ids".
        self.line_tax_field: str = self.options.get("line_tax_field", "tax_id")
        self._last = CallInfo()

    # ------------------------------------------------------------------ transport

    async def _call(self, model: str, method: str, **params: Any) -> Any:
        what = f"POST /json/2/{model}/{method}"
        headers = {"Authorization": f"bearer {self._secret}", "User-Agent": "syncops"}
        if self.database:
            headers["X-Odoo-Database"] = self.database
        write = method not in _READ_METHODS  # a lost answer to a write may mean it was applied
        try:
            resp = await self._client.post(f"{self.base_url}/json/2/{model}/{method}", json=params,
                                           headers=headers)
        except httpx.HTTPError as exc:
            self._last = CallInfo()
            err = signals.transport_failure(exc, f"Odoo {what}")
            err.maybe_applied = err.maybe_applied and write
            raise err from None
        if resp.status_code >= 400:
            err = classify(resp.status_code, resp.text, resp.headers, what, now=self.clock(),
                           secret=self._secret, ceiling=self.ceiling)
            err.maybe_applied = write and signals.status_may_have_applied(resp.status_code)
            self._last = CallInfo(wait_seconds=err.retry_after)
            raise err
        self._last = CallInfo()
        body = signals.json_body(resp)
        if body is None and resp.content.strip() != b"null":
            ctype = resp.headers.get("content-type", "?")
            raise signals.malformed("Odoo", f"{what} answered with a body that is not JSON ({ctype}); "
                                    "is base_url the Odoo server?", status=resp.status_code,
                                    excerpt=_excerpt(resp.text, self._secret), applied_if_write=write)
        return body

    async def _search_read(self, model: str, domain: list[Any], fields: list[str], **kw: Any) -> list[dict]:
        rows = await self._call(model, "search_read", domain=domain, fields=fields, **kw)
        return _typed_rows(model, "search_read", rows, fields)

    async def _create(self, model: str, vals_list: list[dict[str, Any]]) -> list[int]:
        ids = await self._call(model, "create", vals_list=vals_list)
        if not isinstance(ids, list) or len(ids) != len(vals_list) or not all(type(i) is int for i in ids):
            # Created, but we cannot tell which ids: the duplicate guard resolves it on the retry.
            raise signals.malformed("Odoo", f"{model}/create did not answer one id per record", status=200,
                                    excerpt=_excerpt(json.dumps(ids, default=str)), applied_if_write=True)
        return ids

    async def _read(self, model: str, ids: list[int], fields: list[str]) -> list[dict[str, Any]]:
        return _typed_rows(model, "read", await self._call(model, "read", ids=ids, fields=fields), fields)

    async def _create_isolating(self, model: str, batch: list[tuple[int, dict[str, Any]]]
                                ) -> dict[int, int | DeliveryError]:
        """Create all records in one call; if Odoo rejects the batch, retry one by one.

        A JSON-2 call is all-or-nothing, so one bad record sinks the whole batch; creating the
        records separately isolates it while the good ones still go through.
        """
        if not batch:
            return {}
        try:
            ids = await self._create(model, [vals for _, vals in batch])
            return {key: rid for (key, _), rid in zip(batch, ids)}
        except DeliveryError as exc:
            if exc.category != Category.VALIDATION:
                raise
            if len(batch) == 1:
                return {batch[0][0]: exc}
        out: dict[int, int | DeliveryError] = {}
        for pos, (key, vals) in enumerate(batch):
            try:
                out[key] = (await self._create(model, [vals]))[0]
            except DeliveryError as exc:
                if exc.category == Category.VALIDATION:
                    out[key] = exc
                    continue
                if not any(isinstance(v, int) for v in out.values()):
                    raise  # nothing applied yet: the whole call failed
                for rest_key, _ in batch[pos:]:  # transient trouble midway: the rest is retried later
                    out[rest_key] = exc
                break
        return out

    # ------------------------------------------------------------------ protocol

    def last_call(self) -> CallInfo:
        return self._last

    async def check_auth(self) -> str:
        ctx = await self._call("res.users", "context_get")
        if not isinstance(ctx, dict):
            raise DeliveryError(Category.UNKNOWN, "Odoo res.users/context_get returned an unexpected shape",
                                status=200, response_excerpt=_excerpt(json.dumps(ctx)))
        db = f" database {self.database}," if self.database else ""
        return f"Odoo JSON-2 OK:{db} API user lang {ctx.get('lang')}, tz {ctx.get('tz')}"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def push(self, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
        if entity == "order":
            return await self._push_documents(_ORDER, deliveries)
        if entity == "return":
            return await self._push_documents(_RETURN, deliveries)
        if entity == "settlement":  # posted journal entries, see odoo_journal.py
            return await push_settlements(self, deliveries)
        raise DeliveryError(Category.VALIDATION, f"the Odoo connector cannot push {entity!r}")

    async def pull(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        if entity not in self.pull_entities:
            raise DeliveryError(Category.VALIDATION, f"the Odoo connector cannot pull {entity!r}")
        watermark, offset = self._parse_cursor(cursor)
        if entity == "inventory":
            page = await self._page("stock.quant", watermark, offset, limit,
                                    [["location_id.usage", "=", "internal"]],
                                    ["id", "product_id", "location_id", "quantity", "reserved_quantity",
                                     "write_date"], {})
            changes = await self._inventory_changes(page.rows)
        else:
            # Products include archived ones so deactivation syncs; prices only active ones.
            context = {"active_test": False} if entity == "product" else {}
            page = await self._page("product.product", watermark, offset, limit,
                                    [["default_code", "!=", False]],
                                    ["id", "default_code", "name", "lst_price", "barcode", "active",
                                     "product_tmpl_id", "write_date"], context)
            convert = self._price_change if entity == "price" else self._product_change
            changes = [convert(row) for row in page.rows if row.get("default_code")]
        return PullPage(changes=changes, cursor=page.cursor, has_more=page.has_more)

    async def read_levels(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        from syncops.connectors.odoo_levels import read_levels  # reconciliation only; see that module
        return await read_levels(self, pairs)

    async def read_documents(self, entity: str, refs: set[str]) -> dict[str, dict[str, Any]]:
        from syncops.connectors.odoo_audit import read_documents  # reconciliation only; see that module
        return await read_documents(self, entity, refs)

    # ------------------------------------------------------------------ pull

    @staticmethod
    def _parse_cursor(cursor: str | None) -> tuple[str, int]:
        if not cursor:
            return EPOCH, 0
        try:
            state = json.loads(cursor)
            watermark, offset = str(state["watermark"]), int(state.get("offset", 0))
            odoo_to_epoch(watermark)
            return watermark, max(0, offset)
        except (ValueError, KeyError, TypeError):
            # Our own cursor is unreadable (hand-edited or from an older version): start over;
            # idempotency keys drop the repeats.
            return EPOCH, 0

    async def _page(self, model: str, watermark: str, offset: int, limit: int, domain: list[Any],
                    fields: list[str], context: dict[str, Any]) -> _Pulled:
        # Inclusive (>=) watermark: write_date has whole-second precision, so rows written in the
        # same second as the last one we saw may still appear; idempotency keys drop repeats.
        rows = await self._search_read(model, [["write_date", ">=", watermark], *domain], fields,
                                       order="write_date asc, id asc", limit=limit, offset=offset,
                                       context=context)
        if len(rows) < limit:
            last = rows[-1]["write_date"] if rows else watermark
            cursor = {"watermark": max(watermark, last), "offset": 0}
            return _Pulled(rows, json.dumps(cursor), False)
        last = rows[-1]["write_date"]
        if last == watermark:
            # A full page inside one second: step over it, or the poller would spin forever.
            cursor = {"watermark": watermark, "offset": offset + len(rows)}
        else:
            cursor = {"watermark": last, "offset": sum(1 for r in rows if r["write_date"] == last)}
        return _Pulled(rows, json.dumps(cursor), True)

    def _change(self, entity: str, row: dict[str, Any], key: str, payload: dict[str, Any]) -> SourceChange:
        return SourceChange(
            idempotency_key=f"odoo:{entity}:{row['id']}:{row['write_date']}:{_digest(payload)}",
            entity_key=key, payload=payload, source_payload=row,
            changed_at=odoo_to_epoch(row["write_date"]))

    def _price_change(self, row: dict[str, Any]) -> SourceChange:
        sku = row["default_code"]
        payload = {"sku": sku, "price_list": self.price_list, "currency": self.currency,
                   "amount": _money(row.get("lst_price")), "compare_at": None, "effective_at": None}
        return self._change("price", row, f"{sku}@{self.price_list}", payload)

    def _product_change(self, row: dict[str, Any]) -> SourceChange:
        sku = row["default_code"]
        tmpl = row.get("product_tmpl_id")
        tmpl_id = tmpl[0] if isinstance(tmpl, list) and tmpl else tmpl
        payload = {"sku": sku, "product_id": str(tmpl_id) if tmpl_id else None, "title": row.get("name") or sku,
                   "options": {}, "barcode": row.get("barcode") or None, "price": _money(row.get("lst_price")),
                   "active": bool(row.get("active", True))}
        return self._change("product", row, sku, payload)

    async def _inventory_changes(self, rows: list[dict[str, Any]]) -> list[SourceChange]:
        # Assumes one quant per product and location (no lots or packages).
        product_ids = sorted({r["product_id"][0] for r in rows if r.get("product_id")})
        skus: dict[int, str] = {}
        if product_ids:
            products = await self._read("product.product", product_ids, ["default_code"])
            skus = {p["id"]: p["default_code"] for p in products if p.get("default_code")}
        changes = []
        for row in rows:
            product, location = row.get("product_id"), row.get("location_id")
            if not product or not location or product[0] not in skus:
                continue
            quantity = float(row.get("quantity") or 0)
            reserved = float(row.get("reserved_quantity") or 0)
            sku, loc = skus[product[0]], location[1]
            payload = {"sku": sku, "location_id": loc, "available": max(0, int(quantity - reserved)),
                       "on_hand": int(quantity),
                       "changed_at": datetime.fromtimestamp(odoo_to_epoch(row["write_date"]),
                                                            tz=timezone.utc).isoformat(),
                       "source_ref": f"stock.quant/{row['id']}"}
            changes.append(self._change("inventory", row, f"{sku}@{loc}", payload))
        return changes

    # ------------------------------------------------------------------ push

    async def _push_documents(self, kind: _DocKind, deliveries: list[Delivery]) -> list[ItemResult]:
        items = [_Item(i, d) for i, d in enumerate(deliveries)]
        model_cls = SalesOrder if kind is _ORDER else ReturnRefund
        for item in items:
            try:
                item.doc = model_cls.model_validate(item.delivery.payload)
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                     for e in exc.errors(include_input=False, include_url=False))
                self._fail(item, Category.VALIDATION, f"payload is not a valid {kind.entity}: {problems}")
                continue
            if item.doc.currency != self.currency:
                self._fail(item, Category.VALIDATION,
                           f"{kind.entity} currency {item.doc.currency} differs from the Odoo company "
                           f"currency {self.currency}; multi-currency documents are not supported")

        live = [it for it in items if it.result is None]
        refs = sorted({self._ref(kind, it) for it in live})
        existing: dict[str, dict[str, Any]] = {}
        if refs:
            # One lookup for the whole batch: the exactly-once guard.
            domain = [list(t) for t in kind.extra_domain] + [[kind.ref_field, "in", refs]]
            for row in await self._search_read(kind.model, domain, ["id", "name", kind.ref_field], order="id asc"):
                existing.setdefault(row[kind.ref_field], row)
        first_of: dict[str, int] = {}
        for item in live:
            ref = self._ref(kind, item)
            if ref in existing:
                # Delivered before (its answer may have been lost) or edited since: link it and
                # bring it to the intended state below, never create a second document.
                item.doc_id, item.existing = existing[ref]["id"], True
            elif ref in first_of:
                item.leader = first_of[ref]
            else:
                first_of[ref] = item.index

        work = [it for it in items if it.result is None and it.leader is None]
        if work:
            await self._build_vals(kind, work)
        batch = [(it.index, it.vals) for it in work if it.result is None and not it.existing and it.vals is not None]
        created = await self._create_isolating(kind.model, batch)
        for key, outcome in created.items():
            item = items[key]
            if isinstance(outcome, DeliveryError):
                item.result = ItemResult(item.delivery.record_id, error=outcome, status=outcome.status,
                                         request_summary=f"POST /json/2/{kind.model}/create (1 record)",
                                         response_excerpt=outcome.response_excerpt or "")
            else:
                item.doc_id = outcome
        ready = [it for it in work if it.result is None and it.doc_id is not None]
        if kind is _ORDER:
            await documents.finish_orders(self, ready)
        else:
            await documents.finish_returns(self, ready)
        for item in items:
            if item.leader is not None:
                lead = items[item.leader].result
                assert lead is not None
                if lead.error is None:
                    item.result = ItemResult(
                        item.delivery.record_id, target_ref=lead.target_ref, status=200,
                        error=DeliveryError(Category.DUPLICATE,
                                            f"{kind.label} with {kind.ref_field} {self._ref(kind, item)!r} was "
                                            f"created earlier in this batch (id {lead.target_ref}): already "
                                            "delivered, linked to the existing document", status=200))
                else:
                    item.result = ItemResult(item.delivery.record_id, error=lead.error, status=lead.status)
        return [it.result for it in items]  # type: ignore[misc]

    @staticmethod
    def _ref(kind: _DocKind, item: _Item) -> str:
        return item.doc.order_number if kind is _ORDER else item.doc.return_number

    @staticmethod
    def _fail(item: _Item, category: Category, message: str) -> None:
        item.result = ItemResult(item.delivery.record_id, error=DeliveryError(category, message))

    async def _build_vals(self, kind: _DocKind, items: list[_Item]) -> None:
        shipping_sku = self.options.get("shipping_sku")
        skus = {line.sku for it in items for line in it.doc.lines}
        if kind is _ORDER and shipping_sku:
            skus.add(shipping_sku)
        products = await self._lookup("product.product", "default_code", skus)
        taxes: dict[str, list[int]] = {}
        if kind is _ORDER:
            codes = {c for it in items for c in self._tax_codes(it.doc)}
            if self.options.get("shipping_tax_code"):
                codes.add(self.options["shipping_tax_code"])
            taxes = await self._lookup("account.tax", "name", codes, [["type_tax_use", "=", "sale"]])
        places = {it.doc.location_id for it in items if it.doc.location_id}
        if kind is _ORDER:
            stocks = await documents.warehouses(self, places)
        else:
            stocks = await documents.stock_locations(
                self, {it.doc.location_id for it in items if it.doc.location_id and any(ln.restock for ln in it.doc.lines)})
        await self._resolve_partners(kind, items)
        for item in items:
            if item.result is not None:
                continue
            try:
                if kind is _ORDER:
                    item.vals = self._order_vals(item, products, taxes)
                    if item.doc.location_id:
                        item.vals["warehouse_id"] = self._place(stocks, item.doc.location_id, "a warehouse's stock")
                else:
                    item.vals = self._refund_vals(item, products)
                    item.products = {ln.sku: self._one(products, ln.sku, "SKU", "lines") for ln in item.doc.lines}
                    if any(ln.restock for ln in item.doc.lines):
                        item.stock_location = self._place(stocks, item.doc.location_id, "a stock location")
            except (_ItemProblem, documents.ItemProblem) as exc:
                self._fail(item, Category.VALIDATION, str(exc))

    async def _lookup(self, model: str, field_name: str, values: set[str],
                      extra: list[Any] | None = None) -> dict[str, list[int]]:
        if not values:
            return {}
        rows = await self._search_read(model, [[field_name, "in", sorted(values)], *(extra or [])],
                                       ["id", field_name], order="id asc")
        found: dict[str, list[int]] = {}
        for row in rows:
            found.setdefault(row[field_name], []).append(row["id"])
        return found

    @staticmethod
    def _tax_codes(order: SalesOrder) -> set[str]:
        fallback = OdooConnector._order_tax_code(order)
        return {line.tax_code or fallback for line in order.lines if line.tax_code or fallback}

    @staticmethod
    def _order_tax_code(order: SalesOrder) -> str | None:
        # Channels that report tax per order (one rate for the whole basket) leave line codes
        # empty; that single order-level code then applies to every line. When some lines do
        # carry a code, a line without one was sold untaxed: taxing it anyway would book tax the
        # channel never charged, so there is no fallback (a strict ERP then rejects the order).
        if any(line.tax_code for line in order.lines):
            return None
        codes = {tax.code for tax in order.taxes}
        return codes.pop() if len(codes) == 1 else None

    @staticmethod
    def _place(found: dict[str, int], location: str | None, what: str) -> int:
        # The mapped location decides where the goods are: never silently Odoo's default.
        if not location or location not in found:
            raise _ItemProblem(f"location_id: {location!r} is not {what} in Odoo; map it with a location map "
                               "to an Odoo stock location such as WH/Stock")
        return found[location]

    @staticmethod
    def _one(found: dict[str, list[int]], value: str, what: str, where: str) -> int:
        ids = found.get(value, [])
        if not ids:
            raise _ItemProblem(f"{where}: {what} {value!r} not found in Odoo")
        if len(ids) > 1:
            raise _ItemProblem(f"{where}: {what} {value!r} matches {len(ids)} Odoo records; make it unique")
        return ids[0]

    def _order_vals(self, item: _Item, products: dict[str, list[int]], taxes: dict[str, list[int]]) -> dict:
        order: SalesOrder = item.doc
        fallback = self._order_tax_code(order)
        lines = []
        for n, line in enumerate(order.lines):
            vals: dict[str, Any] = {
                "product_id": self._one(products, line.sku, "SKU (product.product default_code)", f"lines[{n}].sku"),
                "product_uom_qty": float(line.quantity), "price_unit": float(line.unit_price)}
            if line.discount:
                # Odoo discounts are a percentage of the line; ours are an amount.
                vals["discount"] = float((line.discount * 100 / (line.quantity * line.unit_price))
                                         .quantize(Decimal("0.000001")))
            code = line.tax_code or fallback
            if code:
                tax_id = self._one(taxes, code, "tax (account.tax name)", f"lines[{n}].tax_code")
                vals[self.line_tax_field] = [[6, 0, [tax_id]]]
            lines.append([0, 0, vals])
        if order.shipping:
            sku = self.options.get("shipping_sku")
            if not sku:
                raise _ItemProblem(f"shipping: order has shipping {order.shipping} but the Odoo endpoint has no "
                                   "options.shipping_sku to book it on")
            vals = {"product_id": self._one(products, sku, "shipping SKU", "options.shipping_sku"),
                    "product_uom_qty": 1.0, "price_unit": float(order.shipping)}
            tax_code = self.options.get("shipping_tax_code")
            if tax_code:
                tax_id = self._one(taxes, tax_code, "tax", "options.shipping_tax_code")
                vals[self.line_tax_field] = [[6, 0, [tax_id]]]
            lines.append([0, 0, vals])
        return {"partner_id": item.partner_id, "client_order_ref": order.order_number,
                "date_order": to_odoo_datetime(order.placed_at), "origin": f"{order.channel}:{order.order_number}",
                "order_line": lines}

    def _refund_vals(self, item: _Item, products: dict[str, list[int]]) -> dict:
        ret: ReturnRefund = item.doc
        lines = []
        for n, line in enumerate(ret.lines):
            lines.append([0, 0, {
                "product_id": self._one(products, line.sku, "SKU (product.product default_code)", f"lines[{n}].sku"),
                "quantity": float(line.quantity),
                "price_unit": float((line.refund_amount / line.quantity).quantize(Decimal("0.000001"))),
                "name": f"Return {ret.return_number}: {line.sku}"}])
        return {"move_type": "out_refund", "ref": ret.return_number, "partner_id": item.partner_id,
                "invoice_origin": ret.order_number, "invoice_date": ret.created_at.date().isoformat(),
                "invoice_line_ids": lines}

    async def _resolve_partners(self, kind: _DocKind, items: list[_Item]) -> None:
        # Credit notes go to the customer of the original order when Odoo has it.
        if kind is _RETURN:
            numbers = sorted({it.doc.order_number for it in items})
            rows = await self._search_read("sale.order", [["client_order_ref", "in", numbers]],
                                           ["id", "client_order_ref", "partner_id"], order="id asc")
            by_order: dict[str, int] = {}
            for row in rows:
                if row.get("partner_id"):
                    by_order.setdefault(row["client_order_ref"], row["partner_id"][0])
            for it in items:
                it.partner_id = by_order.get(it.doc.order_number)
        pending = [it for it in items if it.partner_id is None]
        with_email = [it for it in pending if it.doc.customer is not None and it.doc.customer.email]
        if with_email:
            emails = {it.doc.customer.email for it in with_email}
            known = await self._lookup("res.partner", "email", emails)
            new: dict[str, Customer] = {}
            for it in with_email:
                if known.get(it.doc.customer.email):
                    it.partner_id = known[it.doc.customer.email][0]
                else:
                    new.setdefault(it.doc.customer.email, it.doc.customer)
            # Partners are created before (and apart from) the documents; a retry finds them by
            # email, so a failure between the two calls leaves no duplicate customers.
            new_list = list(new.items())
            made = await self._create_isolating(
                "res.partner", [(i, self._partner_vals(c)) for i, (_, c) in enumerate(new_list)])
            by_email = {new_list[i][0]: outcome for i, outcome in made.items()}
            for it in with_email:
                if it.partner_id is not None:
                    continue
                outcome = by_email[it.doc.customer.email]
                if isinstance(outcome, DeliveryError):
                    it.result = ItemResult(it.delivery.record_id, error=outcome, status=outcome.status)
                else:
                    it.partner_id = outcome
        if any(it.partner_id is None and it.result is None for it in pending):
            walkin = await self._walkin_partner()
            for it in pending:
                if it.partner_id is None:
                    it.partner_id = walkin

    @staticmethod
    def _partner_vals(customer: Customer) -> dict[str, Any]:
        vals: dict[str, Any] = {"name": customer.name or customer.email, "email": customer.email}
        if customer.phone:
            vals["phone"] = customer.phone
        if customer.address is not None:
            addr = customer.address
            vals.update({k: v for k, v in (("street", addr.line1), ("street2", addr.line2),
                                           ("city", addr.city), ("zip", addr.postal_code)) if v})
        return vals

    async def _walkin_partner(self) -> int:
        if self._walkin_id is None:
            name = self.options.get("walkin_partner_name", "Walk-in Customer")
            rows = await self._search_read("res.partner", [["name", "=", name]], ["id"], order="id asc", limit=1)
            if rows:
                self._walkin_id = rows[0]["id"]
            else:
                self._walkin_id = (await self._create("res.partner", [{"name": name}]))[0]
        return self._walkin_id


class _ItemProblem(Exception):
    """A per-item problem found before calling Odoo (unknown SKU or tax, missing option)."""
