"""A Business Central company behind API v2.0, plus the Entra ID token endpoint.

Serves (shapes from the API v2.0 reference):
- ``POST /<tenant>/oauth2/v2.0/token``  client credentials grant (form-encoded)
- under ``/v2.0/<tenant>/<environment>/api/v2.0``:
  ``GET companies``, ``GET companies(<id>)``;
  ``GET companies(<id>)/items`` ($filter ``lastModifiedDateTime gt|ge <datetime>`` or
  ``number eq '<n>'``, ``$orderby=lastModifiedDateTime``, ``Prefer: odata.maxpagesize``, answered
  with ``@odata.nextLink`` carrying a ``$skiptoken``);
  ``GET|POST customers`` ($filter ``email eq '...'``);
  ``GET|POST salesOrders``, ``salesCreditMemos`` (deep insert of ``salesOrderLines`` /
  ``salesCreditMemoLines``; $filter ``externalDocumentNumber eq '...'``; $expand of the lines);
  ``GET salesInvoices``; ``GET <doc>(<id>)``;
  ``POST|PATCH|DELETE <doc>(<id>)/<lines>(<lineId>)`` — PATCH and DELETE need ``If-Match``
  (the line's ``@odata.etag``, or ``*``); a stale one is 412 ``Request_EntityChanged``;
  ``journals``, ``journals(<id>)/journalLines``, ``journals(<id>)/Microsoft.NAV.post`` and
  ``generalLedgerEntries`` (businesscentral_journal.py).

Errors use BC's envelope ``{"error": {"code", "message"}}``: an expired, unknown or missing token
is 401 ``Authentication_InvalidCredentials``; an unknown item is 400 ``Application_DialogException``;
while ``faults.throttled()`` every API call is 429 ``Application_TooManyRequests`` with
``Retry-After``; an outage is 503 (or a dropped connection). With ``faults.plan.stale_cas`` a line
changes behind the client's back just before a guarded write (so the ETag is stale).

Simplifications: one company; the token endpoint accepts any client id and any non-empty client
secret except "bad-secret"; no tax is computed; a posting (``post_inventory``) changes an item's
``inventory`` without touching its ``lastModifiedDateTime``, as in BC; ``invoice`` moves an order to
``salesInvoices``.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qs, quote, unquote, urlencode

from syncops.simulator.businesscentral_journal import Journals
from syncops.simulator.faults import Faults
from syncops.simulator.http import Request, Response, json_response

TENANT = "00000000-0000-4000-8000-00000000c0de"  # the connector's SIM_TENANT / SIM_COMPANY
COMPANY = "1b2c3d4e-0000-4000-8000-000000000001"
ENVIRONMENT = "production"
MAX_PAGE = 20000  # BC's default server page size is large; tests ask for small pages via Prefer

_ROOT = re.compile(r"^/v2\.0/([^/]+)/([^/]+)/api/v2\.0(?:/(.*))?$")
_SEG = re.compile(r"^([A-Za-z][A-Za-z.]*)(?:\(([^)]*)\))?$")  # dots: bound actions (Microsoft.NAV.post)
_FILTER = re.compile(r"^(\w+) (eq|gt|ge) (?:'((?:[^']|'')*)'|(\S+))$")


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _when(value: str) -> float:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _err(status: int, code: str, message: str, **headers: str) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status, **headers)


class BusinessCentralApp:
    name = "businesscentral"

    def __init__(self, faults: Faults | None = None, clock: Callable[[], float] = time.time, *,
                 items: Mapping[str, Any] | Iterable[str] = ("TSHIRT-RED-M", "MUG-WHITE"),
                 inventory: Mapping[str, int] | None = None, tenant: str = TENANT, company: str = COMPANY,
                 environment: str = ENVIRONMENT, token_lifetime: float = 3599.0,
                 accounts: Iterable[str] = ("40100",), walkin: str | None = "WALKIN") -> None:
        self.faults = faults or Faults(clock=clock)
        self.clock = clock
        self.tenant, self.company, self.environment = tenant, company, environment
        self.token_lifetime = token_lifetime
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.tokens: dict[str, float] = {}
        self.token_requests = 0
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        prices = dict(items) if isinstance(items, Mapping) else {sku: "10.00" for sku in items}
        now = clock()
        self.items: dict[str, dict[str, Any]] = {}
        for sku, price in prices.items():
            self.items[sku] = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"item:{sku}")), "number": sku,
                               "displayName": sku.replace("-", " ").title(), "type": "Inventory",
                               "inventory": int((inventory or {}).get(sku, 20)), "unitPrice": float(price),
                               "lastModifiedDateTime": iso(now), "_etag": 1}
        self.accounts = set(accounts)
        self.journals = Journals(self.accounts, lambda: iso(self.clock()), _err)
        self.customers: dict[str, dict[str, Any]] = {}
        if walkin:
            self.customers["walkin"] = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"customer:{walkin}")),
                                        "number": walkin, "displayName": "Walk-in customer", "type": "Person",
                                        "email": "", "phoneNumber": "", "lastModifiedDateTime": iso(now)}
        self.docs: dict[str, dict[str, dict[str, Any]]] = {"salesOrders": {}, "salesCreditMemos": {},
                                                          "salesInvoices": {}}
        self._numbers = {"salesOrders": itertools.count(101001), "salesCreditMemos": itertools.count(104001),
                         "salesInvoices": itertools.count(103001), "customers": itertools.count(50001)}

    # ------------------------------------------------------------------ test and world helpers

    def set_item(self, sku: str, *, inventory: int | None = None, now: float | None = None, **fields: Any) -> None:
        """An edit of the item card: lastModifiedDateTime moves."""
        with self._lock:
            item = self.items.get(sku)
            if item is None:
                item = self.items[sku] = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"item:{sku}")), "number": sku,
                                          "displayName": sku, "type": "Inventory", "inventory": 0,
                                          "unitPrice": 10.0, "_etag": 0}
            if inventory is not None:
                item["inventory"] = int(inventory)
            item.update(fields)
            item["lastModifiedDateTime"] = iso(self.clock() if now is None else now)
            item["_etag"] += 1

    def post_inventory(self, sku: str, delta: int) -> None:
        """An item journal posting: inventory changes, the item record (and its timestamp) does not."""
        with self._lock:
            self.items[sku]["inventory"] += int(delta)

    def invoice(self, order_id: str) -> str:
        """Ship and invoice an order: it leaves salesOrders and becomes a posted sales invoice."""
        with self._lock:
            order = self.docs["salesOrders"].pop(order_id)
            inv = {**order, "id": str(uuid.uuid4()), "number": str(next(self._numbers["salesInvoices"])),
                   "status": "Open", "orderNumber": order["number"]}
            inv.pop("salesOrderLines", None)
            self.docs["salesInvoices"][inv["id"]] = inv
            return inv["id"]

    def edit_line(self, collection: str, doc_id: str, pos: int, **fields: Any) -> None:
        """Someone changes a line in BC (its ETag moves)."""
        with self._lock:
            nav = _NAV[collection]
            line = self.docs[collection][doc_id][nav][pos]
            line.update(fields)
            line["_etag"] += 1

    def orders(self) -> list[dict[str, Any]]:
        return list(self.docs["salesOrders"].values())

    def credit_memos(self) -> list[dict[str, Any]]:
        return list(self.docs["salesCreditMemos"].values())

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"items": {k: _public(v) for k, v in self.items.items()},
                    "customers": [_public(c) for c in self.customers.values()],
                    **{name: [self._render(name, d, expand=True) for d in docs.values()]
                       for name, docs in self.docs.items()},
                    "generalLedgerEntries": [dict(e) for e in self.journals.ledger],
                    "journalLines": [dict(ln) for j in self.journals.journals.values() for ln in j["lines"].values()]}

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append((request.method, request.path, request.query))
            if self.faults.in_outage():
                if self.faults.plan.outage_mode == "reset":
                    return Response(drop_connection=True)
                return _err(503, "ServiceUnavailable", "The service is temporarily unavailable.")
            if request.method == "POST" and request.path == f"/{self.tenant}/oauth2/v2.0/token":
                return self._token(request)
            match = _ROOT.match(request.path)
            if match is None or match.group(1) != self.tenant or match.group(2) != self.environment:
                return _err(404, "BadRequest_NotFound", f"The request URL {request.path} is not valid.")
            token = (request.header("authorization") or "").removeprefix("Bearer ")
            expires = self.tokens.get(token)
            if expires is None or self.clock() >= expires:
                return _err(401, "Authentication_InvalidCredentials",
                            "The server has rejected the client credentials.")
            if self.faults.throttled():
                wait = max(1, int(self.faults.throttle_remaining() + 0.999))
                return _err(429, "Application_TooManyRequests", "Too many requests reached. Actual (601). "
                            "Maximum (600).", **{"Retry-After": str(wait)})
            rest = (match.group(3) or "").strip("/")
            if rest == "$batch":
                return self._batch(request)
            return self._api(request, rest)

    def _batch(self, request: Request) -> Response:
        """OData JSON batch: ``{"requests": [{id, method, url, headers, body}]}`` answered with
        ``{"responses": [{id, status, headers, body}]}``. With ``Isolation: snapshot`` the batch is
        one transaction: a failing request rolls back the ones before it (as BC does)."""
        if request.method != "POST":
            return _err(405, "BadRequest_MethodNotAllowed", "Method not allowed.")
        body = _json(request)
        subs = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(subs, list) or not subs or len(subs) > 100 or not all(isinstance(r, dict) for r in subs):
            return _err(400, "BadRequest", "The batch needs 1 to 100 requests.")
        snapshot = (request.header("isolation") or "").lower() == "snapshot"
        saved = copy.deepcopy((self.docs, self.journals.journals, self.journals.ledger)) if snapshot else None
        out = []
        for sub in subs:
            url = str(sub.get("url") or "")
            path, _, query = url.partition("?")
            inner = Request(method=str(sub.get("method") or "GET").upper(), path=path, query=parse_qs(query),
                            headers={k.lower(): str(v) for k, v in (sub.get("headers") or {}).items()},
                            body=json.dumps(sub["body"]).encode() if "body" in sub else b"")
            resp = self._api(inner, path.strip("/"))
            out.append({"id": str(sub.get("id")), "status": resp.status, "headers": {},
                        "body": resp.body if isinstance(resp.body, (dict, list)) else None})
            if snapshot and resp.status >= 400:
                self.docs, self.journals.journals, self.journals.ledger = saved
                break
        return json_response({"responses": out})

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        self.token_requests += 1
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type",
                                  "error_description": "AADSTS70003: grant type not supported"}, 400)
        if not form.get("client_id") or not form.get("client_secret") or form["client_secret"] == "bad-secret":
            return json_response({"error": "invalid_client", "error_description":
                                  "AADSTS7000215: Invalid client secret provided."}, 401)
        token = f"eyJ0eXAi.sim.{uuid.uuid4().hex}"
        self.tokens[token] = self.clock() + self.token_lifetime
        return json_response({"token_type": "Bearer", "expires_in": int(self.token_lifetime),
                              "ext_expires_in": int(self.token_lifetime), "access_token": token})

    def _api(self, request: Request, rest: str) -> Response:
        segs = [s for s in rest.split("/") if s]
        parsed = []
        for seg in segs:
            m = _SEG.match(unquote(seg))
            if m is None:
                return _err(400, "BadRequest_InvalidRequestUrl", f"Bad request URL segment {seg}.")
            parsed.append((m.group(1), m.group(2)))
        q = {k: v[0] for k, v in request.query.items()}
        if not parsed or parsed[0][0] != "companies":
            return _err(404, "BadRequest_NotFound", "The request URL is not valid.")
        if parsed[0][1] is None:
            if request.method != "GET":
                return _err(405, "BadRequest_MethodNotAllowed", "Method not allowed.")
            return json_response({"value": [self._company()]})
        if parsed[0][1] != self.company:
            return _err(404, "BadRequest_NotFound", f"The company {parsed[0][1]} does not exist.")
        tail = parsed[1:]
        if not tail:
            return json_response(self._company())
        name, key = tail[0]
        if name == "items" and key is None and request.method == "GET":
            return self._items(request, q)
        if name == "customers" and key is None:
            return self._customers(request, q)
        if name in self.docs:
            return self._documents(request, q, name, key, tail[1:])
        if name in ("journals", "generalLedgerEntries"):
            return self._journal_api(request, q, tail)
        return _err(404, "BadRequest_NotFound", f"Resource not found for the segment '{name}'.")

    def _journal_api(self, request: Request, q: dict[str, str], tail: list[tuple[str, str | None]]) -> Response:
        flt = None
        if q.get("$filter"):
            m = _FILTER.match(q["$filter"].strip())
            if m is None or m.group(2) != "eq" or m.group(3) is None:
                return _err(400, "BadRequest", f"Could not parse filter '{q['$filter']}'.")
            flt = (m.group(1), m.group(3).replace("''", "'"))
        (name, key), rest = tail[0], tail[1:]
        if name == "generalLedgerEntries" and key is None and not rest and request.method == "GET":
            return self.journals.entries(flt)
        if name == "journals" and key is None and not rest and request.method == "GET":
            return self.journals.list_journals(flt)
        if name == "journals" and key is not None and len(rest) == 1:
            sub, sub_key = rest[0]
            if sub == "journalLines":
                return self.journals.lines(request.method, key, sub_key, _json(request) if request.body else None,
                                           flt)
            if sub == "Microsoft.NAV.post" and request.method == "POST":
                return self.journals.post(key)
        return _err(404, "BadRequest_NotFound", f"Resource not found for the segment '{name}'.")

    def _company(self) -> dict[str, Any]:
        return {"id": self.company, "systemVersion": "24.0", "name": "CRONUS USA, Inc.",
                "displayName": "CRONUS USA, Inc.", "businessProfileId": ""}

    # -- items

    def _items(self, request: Request, q: dict[str, str]) -> Response:
        rows = list(self.items.values())
        flt = q.get("$filter")
        if flt:
            m = _FILTER.match(flt.strip())
            if m is None or m.group(1) not in ("lastModifiedDateTime", "number"):
                return _err(400, "BadRequest", f"Could not parse filter '{flt}'.")
            fld, op, text, bare = m.groups()
            if fld == "lastModifiedDateTime":
                try:
                    since = _when(bare or "")
                except ValueError:
                    return _err(400, "BadRequest", f"The DateTimeOffset text '{bare}' is not valid.")
                rows = [r for r in rows if (_when(r["lastModifiedDateTime"]) > since if op == "gt"
                                            else _when(r["lastModifiedDateTime"]) >= since)]
            else:
                value = (text or "").replace("''", "'")
                rows = [r for r in rows if r["number"] == value]
        if q.get("$orderby", "").split(" ")[0] == "lastModifiedDateTime":
            rows.sort(key=lambda r: (_when(r["lastModifiedDateTime"]), r["number"]))
        else:
            rows.sort(key=lambda r: r["number"])
        return self._page(request, q, [self._render_item(r, q.get("$select")) for r in rows])

    def _render_item(self, item: dict[str, Any], select: str | None) -> dict[str, Any]:
        out = {"@odata.etag": f'W/"JzE5OzEyMzQ1Njc4OTA7{item["_etag"]}Jyc="', **_public(item),
               "baseUnitOfMeasureCode": "PCS", "blocked": False, "unitCost": 0}
        if select:
            keep = {s.strip() for s in select.split(",")}
            out = {k: v for k, v in out.items() if k in keep or k == "@odata.etag"}
        return out

    def _page(self, request: Request, q: dict[str, str], rows: list[dict[str, Any]]) -> Response:
        size = MAX_PAGE
        prefer = request.header("prefer") or ""
        m = re.search(r"odata\.maxpagesize=(\d+)", prefer)
        headers = {}
        if m:
            size = max(1, min(int(m.group(1)), MAX_PAGE))
            headers["Preference-Applied"] = f"odata.maxpagesize={size}"
        start = 0
        if "$skiptoken" in q:
            try:
                start = int(q["$skiptoken"])
            except ValueError:
                return _err(400, "BadRequest", "The skip token is not valid.")
        body: dict[str, Any] = {"@odata.context": "$metadata#items", "value": rows[start:start + size]}
        if start + size < len(rows):
            # BC's skiptoken names the last row's key; an offset stands in for it (same for a stable set).
            nq = {k: v for k, v in q.items() if k != "$skiptoken"} | {"aid": "FIN", "$skiptoken": str(start + size)}
            host = request.header("host") or "127.0.0.1"
            body["@odata.nextLink"] = f"http://{host}{request.path}?{urlencode(nq, quote_via=quote)}"
        return json_response(body, **headers)

    # -- customers

    def _customers(self, request: Request, q: dict[str, str]) -> Response:
        if request.method == "GET":
            rows = list(self.customers.values())
            flt = q.get("$filter")
            if flt:
                m = _FILTER.match(flt.strip())
                if m is None or m.group(1) != "email" or m.group(2) != "eq" or m.group(3) is None:
                    return _err(400, "BadRequest", f"Could not parse filter '{flt}'.")
                value = m.group(3).replace("''", "'")
                rows = [c for c in rows if c["email"].lower() == value.lower()]
            return json_response({"value": [_public(c) for c in rows]})
        if request.method == "POST":
            body = _json(request)
            if not isinstance(body, dict) or not body.get("displayName"):
                return _err(400, "BadRequest", "displayName is required.")
            cust = {"id": str(uuid.uuid4()), "number": f"C{next(self._numbers['customers'])}",
                    "displayName": str(body["displayName"]), "type": body.get("type", "Company"),
                    "email": str(body.get("email") or ""), "phoneNumber": str(body.get("phoneNumber") or ""),
                    "lastModifiedDateTime": iso(self.clock())}
            self.customers[cust["id"]] = cust
            return json_response(_public(cust), 201)
        return _err(405, "BadRequest_MethodNotAllowed", "Method not allowed.")

    # -- documents

    def _documents(self, request: Request, q: dict[str, str], name: str, key: str | None,
                   rest: list[tuple[str, str | None]]) -> Response:
        docs = self.docs[name]
        nav = _NAV.get(name)
        expand = q.get("$expand") == nav and nav is not None
        if key is None:
            if request.method == "GET":
                rows = list(docs.values())
                flt = q.get("$filter")
                if flt:
                    m = _FILTER.match(flt.strip())
                    if m is None or m.group(1) != "externalDocumentNumber" or m.group(2) != "eq" or m.group(3) is None:
                        return _err(400, "BadRequest", f"Could not parse filter '{flt}'.")
                    value = m.group(3).replace("''", "'")
                    rows = [d for d in rows if d["externalDocumentNumber"] == value]
                return json_response({"value": [self._render(name, d, expand=expand) for d in rows]})
            if request.method == "POST" and nav is not None:
                return self._create(name, _json(request))
            return _err(405, "BadRequest_MethodNotAllowed", "Method not allowed.")
        doc = docs.get(key)
        if doc is None:
            return _err(404, "BadRequest_NotFound", f"The {name} {key} does not exist.")
        if not rest:
            if request.method == "GET":
                return json_response(self._render(name, doc, expand=expand))
            return _err(405, "BadRequest_MethodNotAllowed", "Method not allowed.")
        if nav is None or rest[0][0] != nav:
            return _err(404, "BadRequest_NotFound", "Resource not found.")
        return self._line(request, name, doc, rest[0][1])

    def _check_line(self, body: Any) -> tuple[dict[str, Any] | None, Response | None]:
        if not isinstance(body, dict):
            return None, _err(400, "BadRequest", "The request body is not a valid line.")
        kind = body.get("lineType", "Item")
        number = str(body.get("lineObjectNumber") or "")
        if kind == "Item" and number not in self.items:
            return None, _err(400, "Application_DialogException",
                              f"The Item does not exist. Identification fields and values: No.='{number}'")
        if kind == "Account" and number not in self.accounts:
            return None, _err(400, "Application_DialogException",
                              f"The G/L Account does not exist. Identification fields and values: No.='{number}'")
        if kind not in ("Item", "Account", "Comment"):
            return None, _err(400, "BadRequest", f"Cannot convert the literal '{kind}' to the expected type.")
        try:
            qty, price = float(body.get("quantity", 0)), float(body.get("unitPrice", 0))
            discount = float(body.get("discountAmount", 0))
        except (TypeError, ValueError):
            return None, _err(400, "BadRequest", "Cannot convert a value to the expected type 'Edm.Decimal'.")
        if qty < 0:
            return None, _err(400, "Application_FieldValidationException", "Quantity must be positive.")
        return {"id": str(uuid.uuid4()), "lineType": kind, "lineObjectNumber": number,
                "description": self.items[number]["displayName"] if kind == "Item" else number,
                "quantity": qty, "unitPrice": price, "discountAmount": discount, "_etag": 1}, None

    def _create(self, name: str, body: Any) -> Response:
        nav = _NAV[name]
        if not isinstance(body, dict):
            return _err(400, "BadRequest", "The request body is not a valid document.")
        ext = str(body.get("externalDocumentNumber") or "")
        if len(ext) > 35:
            return _err(400, "Application_StringExceededLength",
                        f"The length of the string is {len(ext)}, but it must be less than or equal to 35 characters.")
        cust = None
        if body.get("customerId"):
            cust = self.customers.get(str(body["customerId"]))
        elif body.get("customerNumber"):
            cust = next((c for c in self.customers.values() if c["number"] == body["customerNumber"]), None)
        if cust is None:
            return _err(400, "Application_DialogException", "The Customer does not exist.")
        lines = []
        for n, raw in enumerate(body.get(nav) or [], start=1):
            line, problem = self._check_line(raw)
            if problem is not None:
                return problem
            line["sequence"] = n * 10000
            lines.append(line)
        date_field = "orderDate" if name == "salesOrders" else "creditMemoDate"
        doc = {"id": str(uuid.uuid4()), "number": str(next(self._numbers[name])), "externalDocumentNumber": ext,
               date_field: str(body.get(date_field) or ""), "customerId": cust["id"],
               "customerNumber": cust["number"], "customerName": cust["displayName"],
               "currencyCode": str(body.get("currencyCode") or ""), "status": "Draft" if name != "salesOrders"
               else "Open", "lastModifiedDateTime": iso(self.clock()), nav: lines, "_etag": 1}
        self.docs[name][doc["id"]] = doc
        return json_response(self._render(name, doc, expand=False), 201)

    def _line(self, request: Request, name: str, doc: dict[str, Any], key: str | None) -> Response:
        nav = _NAV[name]
        lines = doc[nav]
        if key is None:
            if request.method == "GET":
                return json_response({"value": [_line_out(x) for x in lines]})
            if request.method == "POST":
                line, problem = self._check_line(_json(request))
                if problem is not None:
                    return problem
                line["sequence"] = (max((x["sequence"] for x in lines), default=0)) + 10000
                lines.append(line)
                doc["_etag"] += 1
                return json_response(_line_out(line), 201)
            return _err(405, "BadRequest_MethodNotAllowed", "Method not allowed.")
        line = next((x for x in lines if x["id"] == key), None)
        if line is None:
            return _err(404, "BadRequest_NotFound", f"The {nav} {key} does not exist.")
        if request.method == "GET":
            return json_response(_line_out(line))
        if request.method not in ("PATCH", "DELETE"):
            return _err(405, "BadRequest_MethodNotAllowed", "Method not allowed.")
        match = request.header("if-match")
        if not match:
            return _err(400, "Application_MissingIfMatchHeader", "Could not process your request because the "
                        "If-Match header is missing.")
        if self.faults.roll("stale_cas"):
            line["_etag"] += 1  # someone edits the line in BC just before our write lands
        if match != "*" and match != _etag(line):
            return _err(412, "Request_EntityChanged", "Could not save because another user has already changed "
                        "the record.")
        if request.method == "DELETE":
            lines.remove(line)
            doc["_etag"] += 1
            return Response(204)
        new, problem = self._check_line({**{k: line[k] for k in ("lineType", "lineObjectNumber", "quantity",
                                                                     "unitPrice", "discountAmount")},
                                         **(_json(request) or {})})
        if problem is not None:
            return problem
        for k in ("lineType", "lineObjectNumber", "description", "quantity", "unitPrice", "discountAmount"):
            line[k] = new[k]
        line["_etag"] += 1
        doc["_etag"] += 1
        return json_response(_line_out(line))

    def _render(self, name: str, doc: dict[str, Any], *, expand: bool) -> dict[str, Any]:
        nav = _NAV.get(name)
        out = {"@odata.etag": _etag(doc), **{k: v for k, v in _public(doc).items() if k != nav}}
        lines = doc.get(nav, []) if nav else []
        out["totalAmountExcludingTax"] = round(sum(x["quantity"] * x["unitPrice"] - x["discountAmount"]
                                                   for x in lines), 2)
        if expand and nav:
            out[nav] = [_line_out(x) for x in lines]
        return out


_NAV = {"salesOrders": "salesOrderLines", "salesCreditMemos": "salesCreditMemoLines"}


def _etag(row: dict[str, Any]) -> str:
    return f'W/"JzIwOzE3{row["id"][:8]}{row["_etag"]}MTsn"'


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def _line_out(line: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.etag": _etag(line), **_public(line)}


def _json(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        return None
