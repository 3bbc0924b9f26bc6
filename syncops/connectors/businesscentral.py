"""Microsoft Dynamics 365 Business Central (API v2.0, OData v4): stock out, orders and returns in.

- pull ``inventory``: ``GET companies(<id>)/items`` with ``$filter=lastModifiedDateTime ge <since>``,
  ``$orderby=lastModifiedDateTime``, ``Prefer: odata.maxpagesize=<limit>``, following
  ``@odata.nextLink`` (only ever on the same host, so the bearer token never leaves it). Each item's
  ``inventory`` becomes an InventoryPosition at ``options.location`` (default ``bc``). BC computes
  ``inventory`` from item ledger entries, and a posting does not touch the item's
  ``lastModifiedDateTime``, so every ``options.rescan_every`` (default 1 h) the read starts over
  without the filter; unchanged levels repeat with the same idempotency key and are dropped.
- push ``order``: ``salesOrders`` with ``salesOrderLines`` (deep insert); push ``return``:
  ``salesCreditMemos`` with ``salesCreditMemoLines`` (businesscentral_documents.py). Per record,
  with a duplicate guard by ``externalDocumentNumber`` and ETag-guarded line updates.
- push ``settlement``: general journal lines in syncops's own batch, posted with
  ``Microsoft.NAV.post`` and read back from ``generalLedgerEntries`` (businesscentral_journal.py).

Auth: OAuth 2.0 client credentials (businesscentral_auth.py). A refused token is dropped and
requested once more before the refusal is believed.

URLs: ``base_url`` is ``https://api.businesscentral.dynamics.com`` (or a full
``.../api/v2.0`` root); the API root is ``<base_url>/v2.0/<tenant_id>/<environment>/api/v2.0``.

Options: ``tenant_id``, ``client_id``, ``company_id`` (GUID), ``environment`` (default
``production``), ``token_url``, ``scope``, ``location``, ``rescan_every``, ``inventory_since``,
``local_currency`` (default USD: orders in it are sent without a currencyCode),
``walkin_customer_number`` (orders without a customer e-mail), ``shipping_account`` (G/L account
for a shipping line), ``settlement_journal`` (default SYNCOPS), ``settlement_prefix`` (default
STL-), ``max_wait``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import quote, urlsplit

import httpx

from syncops.connectors import businesscentral_documents as documents
from syncops.connectors import signals
from syncops.connectors.base import CallInfo, Delivery, ItemResult, PullPage, SourceChange
from syncops.connectors.businesscentral_auth import SCOPE, TOKEN_URL, ClientCredentials
from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

EXCERPT = 500
EPOCH = "1970-01-01T00:00:00Z"
RESCAN_EVERY = 3600.0
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
SIM_TENANT = "00000000-0000-4000-8000-00000000c0de"
SIM_COMPANY = "1b2c3d4e-0000-4000-8000-000000000001"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


epoch_of = signals.timestamp


odata_string = signals.quoted  # a string literal: single quotes doubled


def classify(status: int, text: str, headers: httpx.Headers, what: str, *, now: float, ceiling: float,
             scrub: Callable[[str], str]) -> DeliveryError:
    """Map a Business Central error answer ({"error": {"code", "message"}}) onto a Category."""
    excerpt = scrub(text)[:EXCERPT]
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) and isinstance(error.get("code"), str) else None
    message = error.get("message") if isinstance(error, dict) and isinstance(error.get("message"), str) else None
    detail = scrub(f"{code}: {message}" if code and message else (message or code or f"HTTP {status}"))
    kw: dict[str, Any] = {"status": status, "response_excerpt": excerpt, "vendor_code": code}
    if status in (401, 403):
        return DeliveryError(Category.AUTH, f"Business Central refused {what}: {detail}", **kw)
    if status == 412:
        return DeliveryError(Category.CONFLICT, f"Business Central: the record changed since it was read "
                             f"(stale ETag) on {what}: {detail}", **kw)
    if status == 409:
        return DeliveryError(Category.CONFLICT, f"Business Central reported a conflict on {what}: {detail}", **kw)
    if status == 429 or status >= 500:
        wait = signals.retry_after(headers.get("Retry-After"), ceiling=ceiling, now=now)
        if status == 429:
            return DeliveryError(Category.RATE_LIMIT, f"Business Central throttled {what} (429){wait.describe()}",
                                 retry_after=wait.seconds, **kw)
        return DeliveryError(Category.UNAVAILABLE, f"Business Central failed {what} with HTTP {status}: "
                             f"{detail}{wait.describe()}", retry_after=wait.seconds, **kw)
    if 400 <= status < 500:
        if error is None and status not in (400, 404):
            return DeliveryError(Category.UNKNOWN, f"unexpected HTTP {status} from Business Central for {what}", **kw)
        return DeliveryError(Category.VALIDATION, f"Business Central rejected {what}: {detail}", **kw)
    return DeliveryError(Category.UNKNOWN, f"unexpected HTTP {status} from Business Central for {what}", **kw)


class BusinessCentralConnector:
    kind = "businesscentral"
    pull_entities = frozenset({"inventory"})
    push_entities = frozenset({"order", "return", "settlement"})
    max_batch = 20  # one record at a time: BC has no multi-document create outside $batch

    def __init__(self, base_url: str, secret: str, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time, options: dict[str, Any] | None = None) -> None:
        self.options = dict(options or {})
        self.clock = clock
        self.ceiling = signals.ceiling_of(self.options)
        base = base_url.rstrip("/")
        loopback = (urlsplit(base).hostname or "") in _LOOPBACK
        # The built-in simulator (only ever on loopback) has one tenant and company of its own.
        self.tenant = str(self.options.get("tenant_id") or (SIM_TENANT if loopback else ""))
        self.company = str(self.options.get("company_id") or (SIM_COMPANY if loopback else ""))
        if base.endswith("/api/v2.0"):
            self.api_root = base
        else:
            env = str(self.options.get("environment") or "production")
            self.api_root = f"{base}/v2.0/{quote(self.tenant, safe='')}/{quote(env, safe='')}/api/v2.0"
        self.host = urlsplit(self.api_root).netloc
        self.location = str(self.options.get("location") or "bc")
        self.local_currency = str(self.options.get("local_currency") or "USD")
        self.rescan_every = signals.option_duration(self.options.get("rescan_every"), RESCAN_EVERY)
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=20.0, limits=httpx.Limits(max_keepalive_connections=8))
        token_url = self.options.get("token_url")
        if not token_url:
            token_url = (f"{urlsplit(base).scheme}://{urlsplit(base).netloc}/{self.tenant}/oauth2/v2.0/token"
                         if loopback else TOKEN_URL.format(tenant=quote(self.tenant, safe="")))
        self.tokens = ClientCredentials(self._client, str(token_url), self.options.get("client_id"), secret,
                                        scope=str(self.options.get("scope") or SCOPE), clock=clock,
                                        ceiling=self.ceiling)
        self._last = CallInfo()

    # ------------------------------------------------------------------ transport

    def company_url(self, path: str = "") -> str:
        return f"{self.api_root}/companies({self.company})" + (f"/{path}" if path else "")

    async def request(self, method: str, url: str, *, params: dict[str, str] | None = None, body: Any = None,
                      headers: dict[str, str] | None = None, _again: bool = True) -> Any:
        """One call; returns the decoded JSON body (None for 204). Raises DeliveryError."""
        if not self.tenant or not self.company:
            raise DeliveryError(Category.AUTH, "the Business Central endpoint needs options.tenant_id and "
                                "options.company_id")
        if urlsplit(url).netloc != self.host:
            raise signals.malformed("Business Central", f"a link points off the API host ({urlsplit(url).netloc})",
                                    status=200, excerpt=None)
        what = f"{method} {urlsplit(url).path.rsplit('/api/v2.0/', 1)[-1]}"
        write = method != "GET"
        token = await self.tokens.access_token()
        sent = {"Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": "syncops",
                **(headers or {})}
        try:
            resp = await self._client.request(method, url, params=params, json=body, headers=sent)
        except httpx.HTTPError as exc:
            self._last = CallInfo()
            err = signals.transport_failure(exc, f"Business Central {what}")
            err.maybe_applied = err.maybe_applied and write
            raise err from None
        if resp.status_code == 401 and _again:
            # The token may have expired (or been revoked) before our clock says so: one new token.
            self.tokens.invalidate()
            return await self.request(method, url, params=params, body=body, headers=headers, _again=False)
        if resp.status_code >= 400:
            err = classify(resp.status_code, resp.text, resp.headers, what, now=self.clock(), ceiling=self.ceiling,
                           scrub=self.tokens.scrub)
            err.maybe_applied = write and signals.status_may_have_applied(resp.status_code)
            self._last = CallInfo(wait_seconds=err.retry_after)
            raise err
        self._last = CallInfo()
        if resp.status_code == 204 or not resp.content:
            return None
        data = signals.json_body(resp)
        if not isinstance(data, dict):
            ctype = resp.headers.get("content-type", "?")
            raise signals.malformed("Business Central", f"{what} answered with a body that is not a JSON object "
                                    f"({ctype})", status=resp.status_code,
                                    excerpt=self.tokens.scrub(resp.text), applied_if_write=write)
        return data

    async def batch(self, requests: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
        """One OData JSON ``$batch`` call with ``Isolation: snapshot`` (all the requests apply, or
        none). ``requests``: {method, url (relative to the API root), body}. Returns the answers in
        order; the first one that failed is raised, classified like a plain call."""
        body = {"requests": [{"id": str(n), "method": r["method"], "url": r["url"],
                              "headers": {"Content-Type": "application/json"}, **({"body": r["body"]} if "body" in r
                                                                                  else {})}
                             for n, r in enumerate(requests, start=1)]}
        data = await self.request("POST", f"{self.api_root}/$batch", body=body, headers={"Isolation": "snapshot"})
        answers = data.get("responses") if isinstance(data, dict) else None
        if not isinstance(answers, list) or not all(isinstance(a, dict) for a in answers):
            raise signals.malformed("Business Central", f"$batch ({what}) answer lacks a responses list", status=200,
                                    excerpt=self.tokens.scrub(json.dumps(data)[:EXCERPT]), applied_if_write=True)
        by_id = {str(a.get("id")): a for a in answers}
        out = []
        for n in range(1, len(requests) + 1):
            answer = by_id.get(str(n))
            status = answer.get("status") if answer else None
            if isinstance(status, bool) or not isinstance(status, int):
                raise signals.malformed("Business Central", f"$batch ({what}) request {n} has no status", status=200,
                                        excerpt=None, applied_if_write=True)
            if status >= 400:
                # Isolation: snapshot rolled the whole batch back, so nothing of it applied.
                raise classify(status, json.dumps(answer.get("body")), httpx.Headers(answer.get("headers") or {}),
                               f"{what} (in $batch)", now=self.clock(), ceiling=self.ceiling, scrub=self.tokens.scrub)
            out.append(answer.get("body") if isinstance(answer.get("body"), dict) else {})
        return out

    async def list_of(self, url: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """A collection read that must answer {"value": [objects]}; follows nextLink (small lookups)."""
        out: list[dict[str, Any]] = []
        next_url: str | None = url
        for _ in range(50):
            if next_url is None:
                return out
            data = await self.request("GET", next_url, params=params)
            params = None  # the nextLink carries the query
            rows = data.get("value") if isinstance(data, dict) else None
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise signals.malformed("Business Central", f"{url.rsplit('/', 1)[-1]} lacks a value list of objects",
                                        status=200, excerpt=self.tokens.scrub(json.dumps(data)[:EXCERPT]))
            out += rows
            link = data.get("@odata.nextLink")
            next_url = link if isinstance(link, str) and link else None
        return out

    # ------------------------------------------------------------------ protocol

    async def check_auth(self) -> str:
        data = await self.request("GET", f"{self.api_root}/companies({self.company})")
        name = data.get("displayName") or data.get("name") if isinstance(data, dict) else None
        return f"Business Central company {name or self.company} ({self.tenant})"

    def last_call(self) -> CallInfo:
        return self._last

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def pull(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        if entity != "inventory":
            raise DeliveryError(Category.VALIDATION, f"Business Central cannot be read for {entity}")
        state = self._cursor(cursor)
        now = self.clock()
        since, link = state["since"], state.get("next")
        rescan_at = float(state.get("rescanned", 0.0))
        if link is None and now - rescan_at >= self.rescan_every:
            since, rescan_at = EPOCH if cursor else str(self.options.get("inventory_since") or EPOCH), now
            state = {"since": since, "max": since}
        limit = max(1, min(int(limit), 1000))
        headers = {"Prefer": f"odata.maxpagesize={limit}"}
        if link:
            data = await self.request("GET", link, headers=headers)
        else:
            params = {"$filter": f"lastModifiedDateTime ge {since}", "$orderby": "lastModifiedDateTime asc",
                      "$select": "id,number,displayName,type,inventory,lastModifiedDateTime"}
            data = await self.request("GET", self.company_url("items"), params=params, headers=headers)
        rows = data.get("value")
        if not isinstance(rows, list):
            raise signals.malformed("Business Central", "items answer lacks a value list", status=200,
                                    excerpt=self.tokens.scrub(json.dumps(data)[:EXCERPT]))
        changes: list[SourceChange] = []
        top = state.get("max") or since
        for row in rows:
            change = self._position(row)
            if change is None:
                continue
            changes.append(change)
            stamp = row["lastModifiedDateTime"]
            if epoch_of(stamp) > (epoch_of(top) or 0):
                top = stamp
        link = data.get("@odata.nextLink")
        if link is not None and (not isinstance(link, str) or urlsplit(link).netloc != self.host):
            raise signals.malformed("Business Central", "@odata.nextLink is not a link on the API host",
                                    status=200, excerpt=self.tokens.scrub(str(link))[:EXCERPT])
        if link:
            nxt = {"since": since, "next": link, "max": top, "rescanned": rescan_at}
        else:
            nxt = {"since": top, "rescanned": rescan_at}
        return PullPage(changes, json.dumps(nxt, separators=(",", ":")), bool(link))

    def _cursor(self, cursor: str | None) -> dict[str, Any]:
        if not cursor:
            return {"since": str(self.options.get("inventory_since") or EPOCH)}
        try:
            state = json.loads(cursor)
        except ValueError:
            state = None
        if not isinstance(state, dict) or epoch_of(state.get("since")) is None:
            raise DeliveryError(Category.VALIDATION, f"Business Central cursor {cursor[:80]!r} is not one syncops wrote")
        return state

    def _position(self, row: Any) -> SourceChange | None:
        if not isinstance(row, dict):
            raise signals.malformed("Business Central", "an item is not an object", status=200, excerpt=None)
        number, qty, stamp = row.get("number"), row.get("inventory"), row.get("lastModifiedDateTime")
        changed = epoch_of(stamp)
        if not isinstance(number, str) or changed is None or isinstance(qty, bool) or not isinstance(qty, (int, float)):
            raise signals.malformed("Business Central", f"item {str(number)[:40]!r} lacks number, a numeric "
                                    "inventory or lastModifiedDateTime", status=200,
                                    excerpt=self.tokens.scrub(json.dumps(row, default=str))[:EXCERPT])
        if row.get("type") not in (None, "Inventory") or not number:
            return None  # services and non-inventory items carry no stock
        on_hand = int(qty)
        payload = {"sku": number, "location_id": self.location, "available": max(0, on_hand), "on_hand": on_hand,
                   "changed_at": iso(changed), "source_ref": str(row.get("id") or number)}
        return SourceChange(idempotency_key=f"bc:inventory:{number}:{on_hand}:{stamp}",
                            entity_key=f"{number}@{self.location}", payload=payload,
                            source_payload={k: row.get(k) for k in ("id", "number", "displayName", "type",
                                                                     "inventory", "lastModifiedDateTime")},
                            changed_at=changed)

    async def read_documents(self, entity: str, refs: set[str]) -> dict[str, dict[str, Any]]:
        from syncops.connectors.businesscentral_audit import read_documents  # reconciliation only

        return await read_documents(self, entity, refs)

    @staticmethod
    def expected_document(entity: str, mapped: dict[str, Any]) -> Any:
        from syncops.connectors.businesscentral_audit import expected_document

        return expected_document(entity, mapped)

    async def read_levels(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        from syncops.connectors.businesscentral_levels import read_levels  # reconciliation only

        return await read_levels(self, pairs)

    async def push(self, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
        if entity not in self.push_entities:
            raise DeliveryError(Category.VALIDATION, f"Business Central cannot receive {entity}")
        if entity == "settlement":
            from syncops.connectors.businesscentral_journal import push as post_settlements

            return await post_settlements(self, deliveries)
        return await documents.push(self, entity, deliveries)
