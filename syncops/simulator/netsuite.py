"""A NetSuite account behind SuiteTalk REST web services.

Serves (shapes from Oracle's REST web services guide):
- ``POST /services/rest/query/v1/suiteql?limit=&offset=`` with ``Prefer: transient`` and
  ``{"q": ...}``, answered ``{"links", "count", "hasMore", "items", "offset", "totalResults"}``.
  Only the statements the connector sends are understood (a strict parser for exactly those
  shapes, see ``_QUERIES``); anything else is 400 ``INVALID_PARAMETER`` as NetSuite answers a
  query it cannot parse.
- ``PUT /services/rest/record/v1/<salesOrder|creditMemo|journalEntry>/eid:<externalId>`` upsert
  (204, ``Location`` of the record); ``POST .../inventoryAdjustment`` create (a second create
  with the same externalId is 400 ``DUP_RCRD``), which moves the item's level at the location;
  ``GET .../<type>/<id>``.

Every call must carry a valid OAuth 1.0a HMAC-SHA256 signature made with the account's
integration record and token (``credentials``), a timestamp within 5 minutes of the simulator's
clock and a nonce not seen before, or a bearer token from ``POST /services/rest/auth/oauth2/v1/token``
(client credentials with a JWT assertion signed PS256 or ES256 by the key whose public half is
``m2m_public_key``, ``kid`` = ``m2m_certificate_id``); otherwise 401 ``INVALID_LOGIN``. At most ``concurrency`` calls
are served at once; beyond that 429 ``CONCURRENCY_LIMIT_EXCEEDED``. ``faults.throttled()`` gives
the same 429; an outage is 503 (or a dropped connection). ``hold`` (a threading.Event, set by
default) lets tests keep requests in flight.

Errors use NetSuite's envelope ``{"type", "title", "status", "o:errorDetails": [{"detail",
"o:errorCode", "o:errorPath"}]}``. Simplifications: one subsidiary; ``lastmodifieddate`` has
whole-second precision in UTC; no tax; sales-order lines are stored with negative quantities,
as ``transactionline`` reports them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote, unquote

from syncops.simulator.faults import Faults
from syncops.simulator.http import Request, Response, json_response

ACCOUNT = "SIM1234567"  # the connector's SIM_ACCOUNT (realm)
CREDENTIALS = {"consumer_key": "c0ffee" * 8, "consumer_secret": "5ec2e7" * 8,
               "token_id": "70ce11" * 8, "token_secret": "7a57e5" * 8}  # the connector's SIM_CREDENTIALS
CONCURRENCY = 5
RECORD = "/services/rest/record/v1/"
_TS = r"TO_TIMESTAMP\('(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})', 'YYYY-MM-DD HH24:MI:SS'\)"
_STR = r"'((?:[^']|'')*)'"
_LIST = r"((?:'(?:[^']|'')*'(?:, )?)+)"

_QUERIES = {
    "subsidiary": re.compile(r"SELECT id, name FROM subsidiary"),
    "transactions": re.compile(
        r"SELECT t\.id, t\.tranid, t\.trandate, t\.status, t\.foreigntotal, cur\.symbol AS currency, c\.email, "
        r"c\.companyname, src\.tranid AS createdfrom, TO_CHAR\(t\.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS'\) AS "
        r"modified FROM transaction t JOIN currency cur ON cur\.id = t\.currency LEFT JOIN customer c ON c\.id = "
        r"t\.entity LEFT JOIN transaction src ON src\.id = t\.createdfrom WHERE t\.type = '(SalesOrd|RtnAuth)' AND "
        rf"\(t\.lastmodifieddate > {_TS} OR \(t\.lastmodifieddate = {_TS} AND t\.id > (\d+)\)\) AND "
        rf"t\.lastmodifieddate < {_TS} ORDER BY t\.lastmodifieddate, t\.id"),
    "lines": re.compile(
        r"SELECT tl\.transaction, i\.itemid, tl\.quantity, tl\.rate, tl\.netamount FROM transactionline tl "
        r"JOIN item i ON i\.id = tl\.item WHERE tl\.transaction IN \((\d+(?:, \d+)*)\) AND tl\.mainline = 'F' "
        r"ORDER BY tl\.transaction, tl\.linesequencenumber"),
    "levels": re.compile(
        r"SELECT iil\.item, iil\.location, i\.itemid, l\.name AS locationname, iil\.quantityonhand, "
        r"iil\.quantityavailable FROM inventoryitemlocations iil JOIN item i ON i\.id = iil\.item "
        r"JOIN location l ON l\.id = iil\.location WHERE \(iil\.item > (\d+) OR \(iil\.item = (\d+) AND "
        r"iil\.location > (\d+)\)\) ORDER BY iil\.item, iil\.location"),
    "levels_of": re.compile(r"SELECT iil\.item, iil\.location, iil\.quantityavailable FROM inventoryitemlocations "
                            r"iil WHERE iil\.item IN \((\d+(?:, \d+)*)\)"),
    "lookup": re.compile(rf"SELECT id, (itemid|name|acctnumber) FROM (item|location|account) WHERE \1 IN \({_LIST}\)"),
    "customer": re.compile(rf"SELECT id FROM customer WHERE LOWER\(email\) = {_STR}"),
}
_TABLES = {"item": "itemid", "location": "name", "account": "acctnumber"}
_DOC_TYPES = {"salesOrder": "SalesOrd", "creditMemo": "CustCred", "journalEntry": "Journal",
              "inventoryAdjustment": "InvAdjst", "returnAuthorization": "RtnAuth"}
_PREFIX = {"SalesOrd": "SO", "CustCred": "CM", "Journal": "JE", "InvAdjst": "ADJ", "RtnAuth": "RA"}


def pct(value: str) -> str:
    return quote(value, safe="-._~")


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _epoch(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp())


def _err(status: int, code: str, detail: str, path: str | None = None, **headers: str) -> Response:
    titles = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
              429: "Too Many Requests", 503: "Service Unavailable"}
    entry: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if path:
        entry["o:errorPath"] = path
    return json_response({"type": f"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.{status // 100}",
                          "title": titles.get(status, "Error"), "status": status, "o:errorDetails": [entry]},
                         status, **headers)


class NetSuiteApp:
    name = "netsuite"

    def __init__(self, faults: Faults | None = None, clock: Callable[[], float] = time.time, *,
                 items: Mapping[str, Any] | Iterable[str] = ("TSHIRT-RED-M", "MUG-WHITE"),
                 locations: Iterable[str] = ("Main Warehouse",), stock: int = 20,
                 accounts: Iterable[str] = ("1000", "4000", "4010", "6100", "1100", "1200", "5000"),
                 customers: Mapping[str, str] | None = None, account: str = ACCOUNT,
                 credentials: Mapping[str, str] | None = None, concurrency: int = CONCURRENCY,
                 m2m_public_key: Any = None, m2m_client_id: str = "sim-m2m-client",
                 m2m_certificate_id: str = "sim-cert-1", token_lifetime: float = 3600.0) -> None:
        self.faults = faults or Faults(clock=clock)
        self.clock = clock
        self.account = account
        self.credentials = dict(credentials or CREDENTIALS)
        self.concurrency = concurrency
        self.m2m_public_key, self.m2m_client_id, self.m2m_certificate_id = m2m_public_key, m2m_client_id, \
            m2m_certificate_id
        self.token_lifetime = token_lifetime
        self.tokens: dict[str, float] = {}  # bearer token -> expiry
        self.token_requests = 0
        self.hold = threading.Event()
        self.hold.set()
        self._lock = threading.RLock()
        self._flight = threading.Condition()
        self.in_flight = self.max_in_flight = self.rejected = 0
        self.nonces: set[str] = set()
        self.requests: list[tuple[str, str, str]] = []  # (method, path, SuiteQL or record type)
        self._ids = itertools.count(101)
        self._numbers = itertools.count(1001)
        prices = dict(items) if isinstance(items, Mapping) else {sku: "10.00" for sku in items}
        self.items = {next(self._ids): {"itemid": sku, "price": str(price)} for sku, price in prices.items()}
        self.locations = {n: name for n, name in enumerate(dict.fromkeys(locations), start=1)}
        self.levels = {(i, loc): {"onhand": stock, "committed": 0} for i in self.items for loc in self.locations}
        self.accounts = {next(self._ids): str(a) for a in dict.fromkeys(accounts)}
        # Internal id 1 is the walk-in customer (options.default_customer: "1").
        self.customers = {1: {"email": "", "companyname": "Walk-in Customer"}}
        self.customers.update({next(self._ids): {"email": e.lower(), "companyname": name}
                               for e, name in (customers or {"ada@example.com": "Ada Lovelace"}).items()})
        self.records: dict[int, dict[str, Any]] = {}  # internal id -> transaction

    # ------------------------------------------------------------------ test and world helpers

    def item_id(self, sku: str) -> int:
        return next(i for i, it in self.items.items() if it["itemid"] == sku)

    def location_id(self, name: str) -> int:
        return next(n for n, loc in self.locations.items() if loc == name)

    def level(self, sku: str, location: str) -> int:
        with self._lock:
            row = self.levels[(self.item_id(sku), self.location_id(location))]
            return row["onhand"] - row["committed"]

    def set_level(self, sku: str, location: str, onhand: int) -> None:
        with self._lock:
            self.levels[(self.item_id(sku), self.location_id(location))]["onhand"] = onhand

    def add_transaction(self, trantype: str, lines: list[tuple[str, int, str]], *, email: str | None = None,
                        modified: float | None = None, created_from: int | None = None,
                        tranid: str | None = None) -> int:
        """A transaction entered in NetSuite (lines: sku, quantity, rate)."""
        with self._lock:
            rid = next(self._ids)
            cust = next((c for c, v in self.customers.items() if v["email"] == (email or "").lower()), None)
            when = self.clock() if modified is None else modified
            self.records[rid] = {
                "id": rid, "type": trantype, "tranid": tranid or f"{_PREFIX[trantype]}{next(self._numbers)}",
                "externalid": None, "trandate": stamp(when)[:10], "status": "B", "entity": cust, "currency": "USD",
                "createdfrom": created_from, "modified": int(when),
                "lines": [{"item": self.item_id(s), "quantity": q, "rate": float(r)} for s, q, r in lines],
                "body": {}}
            return rid

    def touch(self, rid: int, modified: float | None = None) -> None:
        with self._lock:
            self.records[rid]["modified"] = int(self.clock() if modified is None else modified)

    def of_type(self, rtype: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.records.values() if r["type"] == _DOC_TYPES[rtype]]

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"account": self.account, "concurrency": self.concurrency, "max_in_flight": self.max_in_flight,
                    "rejected": self.rejected,
                    "items": {str(i): v["itemid"] for i, v in self.items.items()},
                    "locations": {str(n): v for n, v in self.locations.items()},
                    "levels": [{"itemid": self.items[i]["itemid"], "location": self.locations[loc], **v}
                               for (i, loc), v in self.levels.items()],
                    "records": [{k: v for k, v in r.items()} for r in self.records.values()]}

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response:
        with self._flight:
            if self.in_flight >= self.concurrency:
                self.rejected += 1
                return _err(429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request "
                            "blocked.")
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._flight.notify_all()
        try:
            self.hold.wait(10)
            return self._handle(request)
        finally:
            with self._flight:
                self.in_flight -= 1
                self._flight.notify_all()

    def wait_in_flight(self, count: int, timeout: float = 10.0) -> bool:
        """Block until `count` requests are being served (tests hold them with `hold`)."""
        with self._flight:
            return self._flight.wait_for(lambda: self.in_flight >= count, timeout)

    def _handle(self, request: Request) -> Response:
        with self._lock:
            if self.faults.in_outage():
                if self.faults.plan.outage_mode == "reset":
                    return Response(drop_connection=True)
                return _err(503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable.")
            if request.path == "/services/rest/auth/oauth2/v1/token" and request.method == "POST":
                return self._token(request)
            problem = self._verify(request)
            if problem is not None:
                self.requests.append((request.method, request.path, "(refused)"))
                return _err(401, "INVALID_LOGIN", f"Invalid login attempt. {problem}")
            if self.faults.throttled():
                return _err(429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked.")
            if request.path == "/services/rest/query/v1/suiteql":
                if request.method != "POST":
                    return _err(405, "INVALID_REQUEST", "SuiteQL takes POST.")
                return self._suiteql(request)
            if request.path.startswith(RECORD):
                return self._record(request, request.path[len(RECORD):])
            return _err(404, "NONEXISTENT_ID", f"The request URL {request.path} is not valid.")

    # -- OAuth 1.0a, checked independently of the connector's signer

    def _token(self, request: Request) -> Response:
        from urllib.parse import parse_qs

        self.token_requests += 1
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        host = request.header("host") or "127.0.0.1"
        problem = self._check_assertion(form, f"http://{host}{request.path}")
        if problem is not None:
            return json_response({"error": "invalid_client", "error_description": problem}, 400)
        token = f"sim-m2m.{uuid.uuid4().hex}"
        self.tokens[token] = self.clock() + self.token_lifetime
        return json_response({"access_token": token, "expires_in": str(int(self.token_lifetime)),
                              "token_type": "Bearer"})

    def _check_assertion(self, form: dict[str, str], audience: str) -> str | None:
        import json

        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != \
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return "unsupported grant or assertion type"
        if self.m2m_public_key is None:
            return "no certificate is mapped to an integration record"
        parts = form.get("client_assertion", "").split(".")
        if len(parts) != 3:
            return "the assertion is not a JWT"
        try:
            header, claims = (json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in parts[:2])
            signature = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        except ValueError:
            return "the assertion is not a JWT"
        if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("kid") != self.m2m_certificate_id:
            return "unknown certificate id (kid)"
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        signed = f"{parts[0]}.{parts[1]}".encode()
        try:
            if header.get("alg") == "PS256":
                self.m2m_public_key.verify(signature, signed, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                                          salt_length=32), hashes.SHA256())
            elif header.get("alg") == "ES256" and len(signature) == 64:
                der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
                self.m2m_public_key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            else:
                return "unsupported algorithm"
        except (InvalidSignature, TypeError, AttributeError):
            return "the assertion's signature does not verify"
        now = self.clock()
        iat, exp = claims.get("iat"), claims.get("exp")
        if claims.get("iss") != self.m2m_client_id or claims.get("aud") != audience:
            return "wrong iss or aud"
        if not isinstance(iat, int) or not isinstance(exp, int) or not iat - 300 <= now < exp or exp - iat > 3600:
            return "the assertion is expired or lives longer than an hour"
        if "rest_webservices" not in (claims.get("scope") or []):
            return "scope lacks rest_webservices"
        return None

    def _verify(self, request: Request) -> str | None:
        header = request.header("authorization") or ""
        if header.startswith("Bearer "):
            expires = self.tokens.get(header[7:])
            return None if expires is not None and self.clock() < expires else "Invalid or expired access token."
        if not header.startswith("OAuth "):
            return "No OAuth header."
        fields = dict((k, unquote(v)) for k, v in re.findall(r'(\w+)="([^"]*)"', header))
        cred = self.credentials
        if fields.get("realm") != self.account:
            return "Wrong account (realm)."
        if fields.get("oauth_consumer_key") != cred["consumer_key"] or fields.get("oauth_token") != cred["token_id"]:
            return "Unknown consumer key or token."
        if fields.get("oauth_signature_method") != "HMAC-SHA256" or fields.get("oauth_version", "1.0") != "1.0":
            return "Unsupported signature method."
        try:
            ts = int(fields.get("oauth_timestamp", ""))
        except ValueError:
            return "Bad timestamp."
        if abs(ts - self.clock()) > 300:
            return "Timestamp out of range."
        nonce = fields.get("oauth_nonce") or ""
        if not nonce or (ts, nonce) in self.nonces:
            return "Nonce reused."
        params = [(k, v) for k, vs in request.query.items() for v in vs]
        params += [(k, v) for k, v in fields.items() if k.startswith("oauth_") and k != "oauth_signature"]
        host = (request.header("host") or "").lower()
        base = "&".join([request.method.upper(), pct(f"http://{host}{request.path}"),
                         pct("&".join(f"{k}={v}" for k, v in sorted((pct(k), pct(v)) for k, v in params)))])
        key = f"{pct(cred['consumer_secret'])}&{pct(cred['token_secret'])}".encode()
        good = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(good, fields.get("oauth_signature", "")):
            return "Signature mismatch."
        self.nonces.add((ts, nonce))
        if len(self.nonces) > 20000:  # a timestamp outside the window is refused anyway
            self.nonces = {(t, n) for t, n in self.nonces if abs(t - self.clock()) <= 300}
        return None

    # -- SuiteQL

    def _suiteql(self, request: Request) -> Response:
        try:
            body = request.json()
            limit = int(request.query.get("limit", ["1000"])[0])
            offset = int(request.query.get("offset", ["0"])[0])
        except (ValueError, TypeError):
            return _err(400, "INVALID_PARAMETER", "Invalid request body or paging parameters.")
        if request.header("prefer") != "transient":
            return _err(400, "INVALID_PARAMETER", "SuiteQL requires the header Prefer: transient.")
        q = body.get("q") if isinstance(body, dict) else None
        if not isinstance(q, str) or not 1 <= limit <= 1000 or offset < 0:
            return _err(400, "INVALID_PARAMETER", "Provide q, limit 1..1000 and offset >= 0.")
        self.requests.append(("POST", request.path, q))
        for name, pattern in _QUERIES.items():
            m = pattern.fullmatch(q.strip())
            if m is not None:
                rows = getattr(self, f"_q_{name}")(m)
                break
        else:
            return _err(400, "INVALID_PARAMETER", "Invalid search query. Detailed unprocessed description follows. "
                        "Search error occurred: Unknown identifier or syntax.", "q")
        page = rows[offset:offset + limit]
        host = request.header("host") or "127.0.0.1"
        return json_response({"links": [{"rel": "self", "href": f"http://{host}{request.path}?limit={limit}&"
                                                                 f"offset={offset}"}],
                              "count": len(page), "hasMore": offset + limit < len(rows),
                              "items": [{"links": [], **r} for r in page], "offset": offset,
                              "totalResults": len(rows)})

    def _q_subsidiary(self, m: re.Match[str]) -> list[dict[str, Any]]:
        return [{"id": "1", "name": "Honeycomb Mfg. (Parent)"}]

    def _q_transactions(self, m: re.Match[str]) -> list[dict[str, Any]]:
        trantype, gt, eq, after = m.group(1), _epoch(m.group(2)), _epoch(m.group(3)), int(m.group(4))
        before = _epoch(m.group(5))
        rows = [r for r in self.records.values() if r["type"] == trantype and r["modified"] < before
                and (r["modified"] > gt or (r["modified"] == eq and r["id"] > after))]
        rows.sort(key=lambda r: (r["modified"], r["id"]))
        out = []
        for r in rows:
            cust = self.customers.get(r["entity"]) or {}
            src = self.records.get(r["createdfrom"]) if r["createdfrom"] else None
            sign = -1 if trantype == "SalesOrd" else 1
            total = sum(abs(x["quantity"]) * x["rate"] for x in r["lines"])
            out.append({"id": str(r["id"]), "tranid": r["tranid"], "trandate": r["trandate"], "status": r["status"],
                        "foreigntotal": f"{total * -sign:.2f}" if sign < 0 else f"{total:.2f}",
                        "currency": r["currency"], "email": cust.get("email"), "companyname": cust.get("companyname"),
                        "createdfrom": src["tranid"] if src else None, "modified": stamp(r["modified"])})
        return out

    def _q_lines(self, m: re.Match[str]) -> list[dict[str, Any]]:
        out = []
        for tid in sorted(int(x) for x in m.group(1).split(", ")):
            rec = self.records.get(tid)
            for line in rec["lines"] if rec else []:
                qty = -abs(line["quantity"]) if rec["type"] == "SalesOrd" else abs(line["quantity"])
                out.append({"transaction": str(tid), "itemid": self.items[line["item"]]["itemid"],
                            "quantity": str(qty), "rate": f"{line['rate']:.2f}",
                            "netamount": f"{qty * line['rate']:.2f}"})
        return out

    def _q_levels(self, m: re.Match[str]) -> list[dict[str, Any]]:
        item, item_eq, loc = int(m.group(1)), int(m.group(2)), int(m.group(3))
        keys = sorted(k for k in self.levels if k[0] > item or (k[0] == item_eq and k[1] > loc))
        return [{"item": str(i), "location": str(n), "itemid": self.items[i]["itemid"],
                 "locationname": self.locations[n], "quantityonhand": str(self.levels[(i, n)]["onhand"]),
                 "quantityavailable": str(self.levels[(i, n)]["onhand"] - self.levels[(i, n)]["committed"])}
                for i, n in keys]

    def _q_levels_of(self, m: re.Match[str]) -> list[dict[str, Any]]:
        ids = {int(x) for x in m.group(1).split(", ")}
        return [{"item": str(i), "location": str(n), "quantityavailable": str(v["onhand"] - v["committed"])}
                for (i, n), v in sorted(self.levels.items()) if i in ids]

    def _q_lookup(self, m: re.Match[str]) -> list[dict[str, Any]]:
        column, table = m.group(1), m.group(2)
        if _TABLES[table] != column:
            return []
        wanted = {v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", m.group(3))}
        source = {"item": {i: v["itemid"] for i, v in self.items.items()}, "location": self.locations,
                  "account": self.accounts}[table]
        return [{"id": str(i), column: v} for i, v in source.items() if v in wanted]

    def _q_customer(self, m: re.Match[str]) -> list[dict[str, Any]]:
        email = m.group(1).replace("''", "'")
        return [{"id": str(c)} for c, v in self.customers.items() if v["email"] == email]

    # -- records

    def _record(self, request: Request, rest: str) -> Response:
        parts = rest.split("/")
        rtype = parts[0]
        if rtype not in _DOC_TYPES or len(parts) > 2:
            return _err(404, "INVALID_RCRD_TYPE", f"Record type {rtype} does not exist.")
        self.requests.append((request.method, request.path, rtype))
        host = request.header("host") or "127.0.0.1"
        if request.method == "GET" and len(parts) == 2:
            key = unquote(parts[1])
            rec = (next((r for r in self.records.values() if r["externalid"] == key[4:]), None)
                   if key.startswith("eid:") else self.records.get(int(key)) if key.isdigit() else None)
            if rec is None or rec["type"] != _DOC_TYPES[rtype]:
                return _err(404, "NONEXISTENT_ID", f"Record {key} was not found.")
            return json_response({"id": str(rec["id"]), "tranId": rec["tranid"], "externalId": rec["externalid"],
                                  **rec["body"]})
        try:
            body = request.json()
        except ValueError:
            return _err(400, "INVALID_CONTENT", "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _err(400, "INVALID_CONTENT", "The request body must be a JSON object.")
        if request.method == "PUT" and len(parts) == 2 and unquote(parts[1]).startswith("eid:"):
            if rtype in ("inventoryAdjustment", "returnAuthorization"):
                return _err(405, "INVALID_REQUEST", f"Upsert is not supported for {rtype} here.")
            ext = unquote(parts[1])[4:]
            if body.get("externalId") not in (None, ext):
                return _err(400, "USER_ERROR", "externalId in the body differs from the URL.", "externalId")
            existing = next((r for r in self.records.values() if r["externalid"] == ext), None)
            if existing is not None and existing["type"] != _DOC_TYPES[rtype]:
                return _err(400, "DUP_RCRD", "A record with this external ID already exists.", "externalId")
            return self._write(rtype, ext, body, existing, host)
        if request.method == "POST" and len(parts) == 1:
            ext = body.get("externalId")
            if isinstance(ext, str) and any(r["externalid"] == ext for r in self.records.values()):
                return _err(400, "DUP_RCRD", "This record already exists: a record with this external ID "
                            f"({ext}) exists.", "externalId")
            return self._write(rtype, ext if isinstance(ext, str) else None, body, None, host)
        return _err(405, "INVALID_REQUEST", f"{request.method} is not supported here.")

    def _ref(self, value: Any, table: dict[int, Any], path: str) -> tuple[int | None, Response | None]:
        rid = value.get("id") if isinstance(value, dict) else None
        if not isinstance(rid, str) or not rid.isdigit() or int(rid) not in table:
            return None, _err(400, "INVALID_KEY_OR_REF", f"Invalid {path.split('.')[-1]} reference key {rid}.",
                              path)
        return int(rid), None

    def _write(self, rtype: str, ext: str | None, body: dict[str, Any], existing: dict[str, Any] | None,
               host: str) -> Response:
        trantype = _DOC_TYPES[rtype]
        lines: list[dict[str, Any]] = []
        entity = None
        if rtype in ("salesOrder", "creditMemo"):
            entity, problem = self._ref(body.get("entity"), self.customers, "entity")
            if problem:
                return problem
            sublist = (body.get("item") or {}).get("items") if isinstance(body.get("item"), dict) else None
            if not isinstance(sublist, list) or not sublist:
                return _err(400, "USER_ERROR", "You must enter at least one line item for this transaction.", "item")
            for n, line in enumerate(sublist):
                item, problem = self._ref((line or {}).get("item"), self.items, f"item.items[{n}].item")
                if problem:
                    return problem
                qty, rate = line.get("quantity"), line.get("rate")
                if not isinstance(qty, (int, float)) or isinstance(qty, bool) or qty <= 0:
                    return _err(400, "INVALID_FLD_VALUE", "Quantity must be greater than zero.",
                                f"item.items[{n}].quantity")
                if not isinstance(rate, (int, float)) or isinstance(rate, bool):
                    return _err(400, "INVALID_FLD_VALUE", "Invalid rate.", f"item.items[{n}].rate")
                lines.append({"item": item, "quantity": qty, "rate": float(rate)})
        elif rtype == "journalEntry":
            sublist = (body.get("line") or {}).get("items") if isinstance(body.get("line"), dict) else None
            if not isinstance(sublist, list) or len(sublist) < 2:
                return _err(400, "USER_ERROR", "A journal entry needs at least two lines.", "line")
            debit = credit = 0.0
            for n, line in enumerate(sublist):
                account, problem = self._ref((line or {}).get("account"), self.accounts, f"line.items[{n}].account")
                if problem:
                    return problem
                debit += float(line.get("debit") or 0)
                credit += float(line.get("credit") or 0)
                lines.append({"account": account, "debit": line.get("debit"), "credit": line.get("credit")})
            if round(debit - credit, 2) != 0:
                return _err(400, "USER_ERROR", "The debit and credit totals of this journal entry must be equal.",
                            "line")
        elif rtype == "inventoryAdjustment":
            _, problem = self._ref(body.get("account"), self.accounts, "account")
            if problem:
                return problem
            sublist = (body.get("inventory") or {}).get("items") if isinstance(body.get("inventory"), dict) else None
            if not isinstance(sublist, list) or not sublist:
                return _err(400, "USER_ERROR", "Please enter at least one inventory line.", "inventory")
            for n, line in enumerate(sublist):
                item, problem = self._ref((line or {}).get("item"), self.items, f"inventory.items[{n}].item")
                loc, problem2 = self._ref((line or {}).get("location"), self.locations,
                                          f"inventory.items[{n}].location")
                if problem or problem2:
                    return problem or problem2
                delta = line.get("adjustQtyBy")
                if type(delta) is not int or delta == 0:
                    return _err(400, "INVALID_FLD_VALUE", "Adjust Qty. By must be a non-zero whole number.",
                                f"inventory.items[{n}].adjustQtyBy")
                lines.append({"item": item, "location": loc, "adjustQtyBy": delta})
            for line in lines:
                self.levels[(line["item"], line["location"])]["onhand"] += line["adjustQtyBy"]
        else:
            return _err(405, "INVALID_REQUEST", f"Creating {rtype} is not supported here.")
        now = int(self.clock())
        if existing is None:
            rid = next(self._ids)
            existing = self.records[rid] = {"id": rid, "type": trantype, "externalid": ext,
                                            "tranid": f"{_PREFIX[trantype]}{next(self._numbers)}", "status": "B",
                                            "currency": "USD", "createdfrom": None, "writes": 0}
        existing.update({"entity": entity, "trandate": str(body.get("tranDate") or stamp(now)[:10]),
                         "modified": now, "lines": lines, "writes": existing.get("writes", 0) + 1,
                         "body": {k: v for k, v in body.items() if k not in ("item", "line", "inventory")}})
        return Response(204, headers={"Location": f"http://{host}{RECORD}{rtype}/{existing['id']}"})
