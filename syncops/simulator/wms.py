"""A small warehouse management system (WMS) with a plain JSON API, for `kind: rest` endpoints.

Under ``/api/v1``:
- ``GET  /me``  who the key belongs to (the cheap auth check)
- ``GET  /stock?updated_since=&page=&per_page=``  levels per SKU@warehouse changed at or after
  ``updated_since`` (inclusive), oldest first; ``{"data": [...], "meta": {page, per_page,
  total_pages, total}}`` and an RFC 8288 ``Link: <...>; rel="next"`` header; with ``offset=&limit=``
  instead, offset paging of the same list (``meta.total``)
- ``GET  /stock/changes?updated_since=&cursor=&limit=``  the same rows, cursor-paged (keyset:
  the cursor names the last row returned, so rows changing meanwhile are never skipped);
  ``{"items": [...], "next_cursor": "..." | null}``
- ``PUT  /stock/<sku>/<warehouse>``  ``{"on_hand", "available"}``: absolute levels
- ``POST /shipments``  ``{"reference", "lines": [{"sku", "quantity"}], "ship_to"}`` -> 201 ``{"id"}``;
  a second shipment with the same reference is a 409
- ``POST /oauth/token``  client credentials (form), for bearer-token clients

Writes honour ``Idempotency-Key``: a key seen before answers the first answer again and changes
nothing. Auth: ``X-Api-Key`` from ``api_keys``, or a bearer token from ``/oauth/token``; else 401.
Errors are ``{"error": {"code", "message", "fields"?}}``: 401, 404, 409, 422 (validation), 429
with ``Retry-After`` (``faults.throttled()``, or ``retry_after`` set by a test), 503 in an outage.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, unquote, urlencode

from syncops.simulator.faults import Faults
from syncops.simulator.http import Request, Response, json_response

PREFIX = "/api/v1"
DEFAULT_KEYS = ("simulator-token", "wms_live_7f3a9c2e")
CLIENT_ID, CLIENT_SECRET = "syncops-client", "wms-client-secret-0042"
MAX_PAGE = 200


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    return json_response({"error": {"code": code, "message": message, **extra}}, status)


class WmsApp:
    name = "wms"

    def __init__(self, faults: Faults | None = None, clock: Callable[[], float] = time.time, *,
                 skus: Iterable[str] = ("TSHIRT-RED-M", "MUG-WHITE"), warehouses: Iterable[str] = ("main",),
                 initial: int | None = 10, api_keys: Iterable[str] = DEFAULT_KEYS) -> None:
        self.faults = faults or Faults(clock=clock)
        self.clock = clock
        self.api_keys = set(api_keys)
        self.skus = list(dict.fromkeys(skus))
        self.warehouses = list(dict.fromkeys(warehouses))
        self._lock = threading.RLock()
        self.stock: dict[tuple[str, str], dict[str, Any]] = {}
        self.shipments: dict[str, dict[str, Any]] = {}  # id -> shipment
        self.idempotent: dict[str, Response] = {}  # Idempotency-Key -> first answer
        self.tokens: dict[str, float] = {}  # bearer token -> expiry
        self.tokens_issued = 0
        self.retry_after: str | None = None  # a test's 429s use this Retry-After
        self.throttle_next = 0  # answer the next N API calls 429
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self._version = 0
        if initial is not None:
            for sku in self.skus:
                for wh in self.warehouses:
                    self.set_stock(sku, wh, initial)

    # ------------------------------------------------------------------ generators / inspection

    def set_stock(self, sku: str, warehouse: str, on_hand: int, available: int | None = None) -> dict[str, Any]:
        """Stock moves in the warehouse (a receipt, a pick): the row's version and updated_at change."""
        with self._lock:
            self._version += 1
            row = {"sku": sku, "warehouse": warehouse, "on_hand": on_hand,
                   "available": on_hand if available is None else available,
                   "updated_at": _iso(self.clock()), "version": self._version}
            self.stock[(sku, warehouse)] = row
            if sku not in self.skus:
                self.skus.append(sku)
            return dict(row)

    def level(self, sku: str, warehouse: str) -> int | None:
        row = self.stock.get((sku, warehouse))
        return None if row is None else row["available"]

    def shipments_by_reference(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.shipments.values():
            out[s["reference"]] = out.get(s["reference"], 0) + 1
        return out

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"stock": [dict(r) for r in self._sorted()], "shipments": list(self.shipments.values())}

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response:
        if self.faults.in_outage():
            if self.faults.plan.outage_mode == "reset":
                return Response(drop_connection=True)
            return Response(503, "<html><body>503 Service Unavailable</body></html>", content_type="text/html")
        if request.path == "/oauth/token" and request.method == "POST":
            return self._token(request)
        if not request.path.startswith(PREFIX + "/"):
            return _error(404, "not_found", f"no route {request.method} {request.path}")
        if self.throttle_next or self.faults.throttled():
            self.throttle_next = max(0, self.throttle_next - 1)
            wait = self.retry_after or str(max(1, math.ceil(self.faults.throttle_remaining() or 1)))
            return Response(429, {"error": {"code": "rate_limited", "message": "Too many requests"}},
                            headers={"Retry-After": wait, "X-RateLimit-Remaining": "0"})
        delay = self.faults.slow_delay()
        if delay:
            time.sleep(delay)  # a slow warehouse: the tests' kill lands mid-call
        if not self._authorized(request):
            return _error(401, "unauthorized", "missing or invalid API key")
        route = request.path[len(PREFIX) + 1:].strip("/").split("/")
        with self._lock:
            self.requests.append((request.method, "/" + "/".join(route), request.query))
            key = request.header("Idempotency-Key") if request.method != "GET" else None
            if key and key in self.idempotent:
                return self.idempotent[key]  # the first answer again; nothing applied twice
            try:
                response = self._route(request, [unquote(p) for p in route])
            except (ValueError, TypeError) as exc:
                response = _error(400, "bad_request", str(exc))
            if key and response.status < 500:
                self.idempotent[key] = response
            return response

    def _authorized(self, request: Request) -> bool:
        key = request.header("X-Api-Key")
        if key is not None:
            return key in self.api_keys
        auth = request.header("Authorization") or ""
        if auth.startswith("Bearer "):
            expiry = self.tokens.get(auth[7:])
            return expiry is not None and self.clock() < expiry
        return False

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return json_response({"error": "invalid_client", "error_description": "client authentication failed"}, 401)
        token = "wms_at_" + secrets.token_hex(12)
        with self._lock:
            self.tokens[token] = self.clock() + 3600
            self.tokens_issued += 1
        return json_response({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _route(self, request: Request, route: list[str]) -> Response:
        m, q = request.method, request.query
        if route == ["me"] and m == "GET":
            return json_response({"account": "syncops-sim", "warehouses": self.warehouses})
        if route == ["stock"] and m == "GET":
            return self._stock_pages(q)
        if route == ["stock", "changes"] and m == "GET":
            return self._stock_changes(q)
        if len(route) == 3 and route[0] == "stock" and m == "PUT":
            return self._put_level(route[1], route[2], request)
        if route == ["shipments"] and m == "POST":
            return self._ship(request)
        return _error(404, "not_found", f"no route {m} {request.path}")

    def _sorted(self) -> list[dict[str, Any]]:
        return sorted(self.stock.values(), key=lambda r: (r["updated_at"], r["sku"], r["warehouse"]))

    def _since(self, q: dict[str, list[str]]) -> list[dict[str, Any]]:
        since = (q.get("updated_since") or [""])[0]
        if since:
            datetime.fromisoformat(since.replace("Z", "+00:00"))  # ValueError -> 400
        return [dict(r) for r in self._sorted() if not since or r["updated_at"] >= since]

    def _stock_pages(self, q: dict[str, list[str]]) -> Response:
        rows = self._since(q)
        if "offset" in q:  # offset/limit paging of the same list
            offset, limit = int(q["offset"][0]), int((q.get("limit") or ["50"])[0])
            if offset < 0 or not 1 <= limit <= MAX_PAGE:
                return _error(422, "validation_failed", f"offset >= 0 and limit 1..{MAX_PAGE}")
            return json_response({"data": rows[offset:offset + limit], "meta": {"offset": offset, "total": len(rows)}})
        page, per_page = int((q.get("page") or ["1"])[0]), int((q.get("per_page") or ["50"])[0])
        if page < 1 or not 1 <= per_page <= MAX_PAGE:
            return _error(422, "validation_failed", f"page >= 1 and per_page 1..{MAX_PAGE}")
        pages = max(1, math.ceil(len(rows) / per_page))
        chunk = rows[(page - 1) * per_page: page * per_page]
        headers = {}
        if page < pages:
            query = {k: v[0] for k, v in q.items()} | {"page": str(page + 1), "per_page": str(per_page)}
            headers["Link"] = f'<{PREFIX}/stock?{urlencode(query)}>; rel="next"'
        return json_response({"data": chunk, "meta": {"page": page, "per_page": per_page, "total_pages": pages,
                                                      "total": len(rows)}}, **headers)

    def _stock_changes(self, q: dict[str, list[str]]) -> Response:
        rows = self._since(q)
        limit = int((q.get("limit") or ["50"])[0])
        if not 1 <= limit <= MAX_PAGE:
            return _error(422, "validation_failed", f"limit 1..{MAX_PAGE}")
        cursor = (q.get("cursor") or [""])[0]
        if cursor:
            try:
                after = tuple(json.loads(base64.urlsafe_b64decode(cursor.encode())))
            except (ValueError, TypeError):
                return _error(422, "validation_failed", "cursor is not one this server issued")
            rows = [r for r in rows if (r["updated_at"], r["sku"], r["warehouse"]) > after]
        chunk = rows[:limit]
        token = None
        if len(rows) > limit:
            last = chunk[-1]
            token = base64.urlsafe_b64encode(json.dumps([last["updated_at"], last["sku"], last["warehouse"]])
                                             .encode()).decode()
        return json_response({"items": chunk, "next_cursor": token})

    def _put_level(self, sku: str, warehouse: str, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return _error(422, "validation_failed", "body must be an object")
        fields = {}
        for name in ("on_hand", "available"):
            value = body.get(name)
            if name == "available" and value is None:
                fields[name] = "is required"
            elif value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                fields[name] = "must be a whole number"
            elif name == "available" and value < 0:
                fields[name] = "must not be negative"
        if sku not in self.skus:
            fields["sku"] = f"unknown sku {sku}"
        if warehouse not in self.warehouses:
            fields["warehouse"] = f"unknown warehouse {warehouse}"
        if fields:
            return _error(422, "validation_failed", "; ".join(f"{k} {v}" for k, v in fields.items()), fields=fields)
        on_hand = body["on_hand"] if body.get("on_hand") is not None else body["available"]
        return json_response(self.set_stock(sku, warehouse, on_hand, body["available"]))

    def _ship(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return _error(422, "validation_failed", "body must be an object")
        ref, lines = body.get("reference"), body.get("lines")
        fields = {}
        if not isinstance(ref, str) or not ref:
            fields["reference"] = "is required"
        if not isinstance(lines, list) or not lines:
            fields["lines"] = "at least one line"
        else:
            for i, line in enumerate(lines):
                if not isinstance(line, dict) or line.get("sku") not in self.skus:
                    fields[f"lines[{i}].sku"] = "unknown sku"
                q = line.get("quantity") if isinstance(line, dict) else None
                try:
                    ok = q is not None and float(q) > 0 and float(q) == int(float(q))
                except (TypeError, ValueError):
                    ok = False
                if not ok:
                    fields[f"lines[{i}].quantity"] = "must be a positive whole number"
        if fields:
            return _error(422, "validation_failed", "; ".join(f"{k} {v}" for k, v in fields.items()), fields=fields)
        if any(s["reference"] == ref for s in self.shipments.values()):
            return _error(409, "duplicate_reference", f"a shipment for {ref} exists")
        sid = f"SHP-{len(self.shipments) + 1:06d}"
        self.shipments[sid] = {"id": sid, "reference": ref, "lines": lines, "ship_to": body.get("ship_to"),
                               "created_at": _iso(self.clock())}
        return json_response({"id": sid, "reference": ref, "status": "released"}, 201)

