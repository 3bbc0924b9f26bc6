"""Oracle NetSuite (SuiteTalk REST web services): SuiteQL reads, record-service writes.

- pull ``order`` (sales orders) and ``return`` (return authorizations) with SuiteQL
  (``POST /services/rest/query/v1/suiteql``, ``Prefer: transient``), keyset-paged by
  (``lastmodifieddate``, ``id``): the cursor is the last row's modification second and id, so rows
  sharing one timestamp across a page boundary are neither lost nor read twice. Lines come from
  ``transactionline`` in a second query per page. ``inventory``: item x location from
  ``inventoryitemlocations``, which carries no modification date, so it is read in full keyset
  passes (item id, location id), one pass at most every ``options.rescan_every`` (default 5 min);
  unchanged levels repeat with the same idempotency key and are dropped.
- push ``order`` -> salesOrder, ``return`` -> creditMemo, ``settlement`` -> journalEntry,
  ``inventory`` -> inventoryAdjustment (netsuite_records.py), idempotent by externalId.

Auth: token-based authentication, OAuth 1.0a HMAC-SHA256 (netsuite_auth.py), or OAuth 2.0
machine-to-machine with a signed JWT assertion (netsuite_m2m.py), chosen by the secret's shape.

Limits: NetSuite caps concurrent web-service requests per account (5 without SuiteCloud Plus) and
answers 429 ``CONCURRENCY_LIMIT_EXCEEDED`` beyond it; this connector keeps at most
``options.concurrency`` (default 5) requests in flight, and a 429 is ``rate_limit``.

URLs: ``base_url`` is ``https://<account>.suitetalk.api.netsuite.com``. Options: ``account_id``
(realm, e.g. ``1234567_SB1``; derived from the host when absent), ``concurrency``, ``timezone``
(the account's, in which SuiteQL renders dates; default UTC), ``rescan_every``, ``orders_since``,
``subsidiary`` (internal id, default 1),
``adjustment_account`` (account number of inventory adjustments), ``default_customer`` (internal id
for records without a known e-mail), ``local_currency`` (default USD), ``settle`` (default 2 s: a
transaction is read once its modification second is this far in the past), ``max_wait``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import datetime
from typing import Any, Callable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from syncops.connectors import netsuite_records as records
from syncops.connectors import netsuite_rows as rows_of
from syncops.connectors import signals
from syncops.connectors.base import CallInfo, Delivery, ItemResult, PullPage, SourceChange
from syncops.connectors.errors import DeliveryError
from syncops.connectors.netsuite_auth import TokenAuth
from syncops.connectors.netsuite_m2m import TOKEN_PATH, MachineToMachine, is_m2m_secret
from syncops.store.categories import Category

EXCERPT = 500
CONCURRENCY = 5  # NetSuite's account limit without SuiteCloud Plus licences
RESCAN_EVERY = 300.0
CONCURRENCY_WAIT = 1.0  # NetSuite sends no Retry-After with CONCURRENCY_LIMIT_EXCEEDED: our own pause
SETTLE = 2.0  # seconds a modification second must be over before it is read (clock skew margin)
SIM_ACCOUNT = "SIM1234567"
QUERY_PATH = "/services/rest/query/v1/suiteql"
RECORD_PATH = "/services/rest/record/v1"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_TYPES = {"order": ("SalesOrd", "so"), "return": ("RtnAuth", "ra")}

# The SuiteQL this connector sends (the simulator parses exactly these shapes).
TRANSACTIONS = (
    "SELECT t.id, t.tranid, t.trandate, t.status, t.foreigntotal, cur.symbol AS currency, c.email, "
    "c.companyname, src.tranid AS createdfrom, TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS modified "
    "FROM transaction t JOIN currency cur ON cur.id = t.currency LEFT JOIN customer c ON c.id = t.entity "
    "LEFT JOIN transaction src ON src.id = t.createdfrom WHERE t.type = '{type}' AND "
    "(t.lastmodifieddate > TO_TIMESTAMP('{since}', 'YYYY-MM-DD HH24:MI:SS') OR "
    "(t.lastmodifieddate = TO_TIMESTAMP('{since}', 'YYYY-MM-DD HH24:MI:SS') AND t.id > {after})) AND "
    "t.lastmodifieddate < TO_TIMESTAMP('{until}', 'YYYY-MM-DD HH24:MI:SS') ORDER BY t.lastmodifieddate, t.id")
LINES = ("SELECT tl.transaction, i.itemid, tl.quantity, tl.rate, tl.netamount FROM transactionline tl "
         "JOIN item i ON i.id = tl.item WHERE tl.transaction IN ({ids}) AND tl.mainline = 'F' "
         "ORDER BY tl.transaction, tl.linesequencenumber")
LEVELS = ("SELECT iil.item, iil.location, i.itemid, l.name AS locationname, iil.quantityonhand, "
          "iil.quantityavailable FROM inventoryitemlocations iil JOIN item i ON i.id = iil.item "
          "JOIN location l ON l.id = iil.location WHERE (iil.item > {item} OR (iil.item = {item} AND "
          "iil.location > {location})) ORDER BY iil.item, iil.location")


sql_string = signals.quoted  # a string literal: single quotes doubled


def classify(status: int, text: str, headers: httpx.Headers, what: str, *, now: float, ceiling: float,
             scrub: Callable[[str], str]) -> DeliveryError:
    """Map NetSuite's error envelope {"type","title","status","o:errorDetails":[...]} onto a Category."""
    excerpt = scrub(text)[:EXCERPT]
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        body = None
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    first = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}
    code = first.get("o:errorCode") if isinstance(first.get("o:errorCode"), str) else None
    path = first.get("o:errorPath") if isinstance(first.get("o:errorPath"), str) else None
    message = first.get("detail") if isinstance(first.get("detail"), str) else None
    if message is None and isinstance(body, dict) and isinstance(body.get("title"), str):
        message = body["title"]
    detail = scrub(" ".join(x for x in (f"{code}:" if code else None, message, f"(field {path})" if path else None)
                            if x) or f"HTTP {status}")[:300]
    kw: dict[str, Any] = {"status": status, "response_excerpt": excerpt, "vendor_code": code}
    if status in (401, 403):
        return DeliveryError(Category.AUTH, f"NetSuite refused {what}: {detail}", **kw)
    if status == 429 or status >= 500:
        wait = signals.retry_after(headers.get("Retry-After"), ceiling=ceiling, now=now)
        if status == 429:
            seconds = wait.seconds if wait.seconds is not None else min(CONCURRENCY_WAIT, ceiling)
            return DeliveryError(Category.RATE_LIMIT, f"NetSuite throttled {what} (429 {code or 'no code'})"
                                 f"{wait.describe()}", retry_after=seconds, **kw)
        return DeliveryError(Category.UNAVAILABLE, f"NetSuite failed {what} with HTTP {status}: {detail}"
                             f"{wait.describe()}", retry_after=wait.seconds, **kw)
    if body is None or not isinstance(details, list):
        return DeliveryError(Category.UNKNOWN, f"unexpected HTTP {status} from NetSuite for {what}", **kw)
    if code == "DUP_RCRD" or status == 409:
        return DeliveryError(Category.DUPLICATE, f"NetSuite already holds this record ({what}): {detail}", **kw)
    return DeliveryError(Category.VALIDATION, f"NetSuite rejected {what}: {detail}", **kw)


class NetSuiteConnector:
    kind = "netsuite"
    pull_entities = frozenset({"order", "return", "inventory"})
    push_entities = frozenset({"order", "return", "settlement", "inventory"})
    max_batch = 20

    def __init__(self, base_url: str, secret: str, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time, options: dict[str, Any] | None = None,
                 nonce: Callable[[], str] | None = None) -> None:
        self.options = dict(options or {})
        self.clock = clock
        self.ceiling = signals.ceiling_of(self.options)
        self.base = base_url.rstrip("/")
        host = urlsplit(self.base).hostname or ""
        loopback = host in _LOOPBACK
        account = self.options.get("account_id")
        if not account and host.endswith(".suitetalk.api.netsuite.com"):
            account = host.split(".", 1)[0]
        account = str(account or (SIM_ACCOUNT if loopback else ""))
        self.realm = account.upper().replace("-", "_")  # 1234567-sb1 in hosts, 1234567_SB1 as realm
        self.host = urlsplit(self.base).netloc
        try:
            concurrency = int(self.options.get("concurrency") or CONCURRENCY)
        except (TypeError, ValueError):
            concurrency = CONCURRENCY
        self.concurrency = max(1, min(concurrency, 100))
        self._slots = asyncio.Semaphore(self.concurrency)
        try:
            self.zone = ZoneInfo(str(self.options.get("timezone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ZoneInfo("UTC")
        self.local_currency = str(self.options.get("local_currency") or "USD")
        self.rescan_every = signals.option_duration(self.options.get("rescan_every"), RESCAN_EVERY)
        self.settle = signals.option_duration(self.options.get("settle"), SETTLE)
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=30.0, limits=httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency))
        self.auth: Any
        if is_m2m_secret(secret):
            self.auth = MachineToMachine(self._client, f"{self.base}{TOKEN_PATH}", secret, clock=clock,
                                         ceiling=self.ceiling)
        else:
            self.auth = TokenAuth(secret, self.realm, clock=clock, nonce=nonce, simulated=loopback)
        self._last = CallInfo()
        self.lookups = records.Lookups()

    # ------------------------------------------------------------------ transport

    async def request(self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None,
                      headers: dict[str, str] | None = None, _again: bool = True) -> httpx.Response:
        """One signed call, at most `concurrency` in flight; returns a 2xx response. Raises DeliveryError."""
        if not self.realm:
            raise DeliveryError(Category.AUTH, "the NetSuite endpoint needs options.account_id")
        url = f"{self.base}{path}"
        query = [(k, str(v)) for k, v in (params or {}).items()]
        what = f"{method} {path.removeprefix('/services/rest')}"
        write = method != "GET" and path != QUERY_PATH
        async with self._slots:
            sent = {"Authorization": await self.auth.authorization(method, url, query),
                    "Accept": "application/json", "User-Agent": "syncops", **(headers or {})}
            try:
                resp = await self._client.request(method, url, params=query or None, json=body, headers=sent)
            except httpx.HTTPError as exc:
                self._last = CallInfo()
                err = signals.transport_failure(exc, f"NetSuite {what}")
                err.maybe_applied = err.maybe_applied and write
                raise err from None
        if resp.status_code == 401 and _again and isinstance(self.auth, MachineToMachine):
            # The access token may have been revoked or expired early: one new token, then believe it.
            self.auth.invalidate()
            return await self.request(method, path, params=params, body=body, headers=headers, _again=False)
        if resp.status_code >= 400:
            err = classify(resp.status_code, resp.text, resp.headers, what, now=self.clock(), ceiling=self.ceiling,
                           scrub=self.auth.scrub)
            err.maybe_applied = write and signals.status_may_have_applied(resp.status_code)
            self._last = CallInfo(wait_seconds=err.retry_after)
            raise err
        self._last = CallInfo()
        return resp

    def excerpt(self, data: Any) -> str:
        return self.auth.scrub(json.dumps(data, default=str))[:EXCERPT]

    async def suiteql(self, q: str, *, limit: int = 1000, offset: int = 0) -> tuple[list[dict[str, Any]], bool]:
        """One SuiteQL page: (rows, hasMore). Raises DeliveryError (malformed on a bad shape)."""
        resp = await self.request("POST", QUERY_PATH, params={"limit": str(limit), "offset": str(offset)},
                                  body={"q": q}, headers={"Prefer": "transient"})
        data = signals.json_body(resp)
        items = data.get("items") if isinstance(data, dict) else None
        more = data.get("hasMore") if isinstance(data, dict) else None
        if not isinstance(items, list) or not all(isinstance(r, dict) for r in items) or not isinstance(more, bool):
            raise signals.malformed("NetSuite", "a SuiteQL answer lacks an items list of objects or hasMore",
                                    status=resp.status_code, excerpt=self.auth.scrub(resp.text)[:EXCERPT])
        return [{k: v for k, v in row.items() if k != "links"} for row in items], more

    async def suiteql_all(self, q: str) -> list[dict[str, Any]]:
        """Every row of a small lookup (a few pages at most)."""
        rows: list[dict[str, Any]] = []
        for page in range(20):
            got, more = await self.suiteql(q, limit=1000, offset=page * 1000)
            rows += got
            if not more:
                return rows
        return rows

    # ------------------------------------------------------------------ protocol

    async def check_auth(self) -> str:
        rows, _ = await self.suiteql("SELECT id, name FROM subsidiary", limit=1)
        name = rows[0].get("name") if rows else None
        return f"NetSuite account {self.realm}" + (f" ({name})" if isinstance(name, str) and name else "")

    def last_call(self) -> CallInfo:
        return self._last

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def pull(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        if entity not in self.pull_entities:
            raise DeliveryError(Category.VALIDATION, f"NetSuite cannot be read for {entity}")
        limit = max(1, min(int(limit), 1000))
        if entity == "inventory":
            return await self._pull_levels(cursor, limit)
        return await self._pull_transactions(entity, cursor, limit)

    def _cursor(self, cursor: str | None, default: dict[str, Any]) -> dict[str, Any]:
        if not cursor:
            return default
        try:
            state = json.loads(cursor)
        except ValueError:
            state = None
        if not isinstance(state, dict):
            raise DeliveryError(Category.VALIDATION, f"NetSuite cursor {cursor[:80]!r} is not one syncops wrote")
        return state

    def stamp(self, epoch: float) -> str:
        return datetime.fromtimestamp(int(epoch), tz=self.zone).strftime("%Y-%m-%d %H:%M:%S")

    def _since(self) -> float:
        raw = self.options.get("orders_since")
        if not raw:
            return 0.0
        try:
            when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise DeliveryError(Category.VALIDATION, f"options.orders_since {str(raw)[:40]!r} is not an ISO "
                                "date or date-time") from None
        return (when if when.tzinfo else when.replace(tzinfo=self.zone)).timestamp()

    def epoch(self, stamp: Any) -> float | None:
        """A TO_CHAR'd 'YYYY-MM-DD HH24:MI:SS' in the account's time zone, as epoch seconds."""
        if not isinstance(stamp, str) or not _STAMP.fullmatch(stamp):
            return None
        try:
            return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=self.zone).timestamp()
        except ValueError:
            return None

    async def _pull_transactions(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        state = self._cursor(cursor, {"m": self.stamp(self._since()), "id": 0})
        stamp, after = state.get("m"), state.get("id")
        if self.epoch(stamp) is None or type(after) is not int or after < 0:
            raise DeliveryError(Category.VALIDATION, f"NetSuite cursor {str(cursor)[:80]!r} is not one syncops wrote")
        trantype, _ = _TYPES[entity]
        # Only seconds that are over: a row written later in the cursor's own second could carry a
        # lower id than the cursor's and would be skipped (NetSuite dates have whole seconds).
        until = self.stamp(self.clock() - self.settle)
        q = TRANSACTIONS.format(type=trantype, since=stamp, after=after, until=until)
        rows, more = await self.suiteql(q, limit=limit)
        ids = []
        for row in rows:
            tid = signals.number(row.get("id"), minimum=1, maximum=1e15)
            if tid is None or self.epoch(row.get("modified")) is None:
                raise signals.malformed("NetSuite", f"a {trantype} row lacks a numeric id or modified stamp",
                                        status=200, excerpt=self.excerpt(row))
            ids.append(int(tid))
        lines: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            for line in await self.suiteql_all(LINES.format(ids=", ".join(map(str, ids)))):
                tid = signals.number(line.get("transaction"), minimum=1, maximum=1e15)
                if tid is not None and int(tid) in lines:
                    lines[int(tid)].append(line)
        changes = [rows_of.change_of(self, entity, row, lines[i]) for row, i in zip(rows, ids)]
        if rows:
            state = {"m": rows[-1]["modified"], "id": ids[-1]}
        return PullPage(changes, json.dumps(state, separators=(",", ":")), more)

    async def _pull_levels(self, cursor: str | None, limit: int) -> PullPage:
        state = self._cursor(cursor, {"item": 0, "location": 0, "pass_at": None})
        item, location, pass_at = state.get("item"), state.get("location"), state.get("pass_at")
        if type(item) is not int or type(location) is not int:
            raise DeliveryError(Category.VALIDATION, f"NetSuite cursor {str(cursor)[:80]!r} is not one syncops wrote")
        now = self.clock()
        if item == 0 and location == 0 and isinstance(pass_at, (int, float)) and now - pass_at < self.rescan_every:
            return PullPage([], cursor, False)  # the last full pass is recent enough
        rows, more = await self.suiteql(LEVELS.format(item=item, location=location), limit=limit)
        changes = []
        for row in rows:
            change = rows_of.level_of(self, row)
            changes.append(change)
            item, location = int(row["item"]), int(row["location"])
        if more:
            state = {"item": item, "location": location, "pass_at": pass_at}
        else:
            state = {"item": 0, "location": 0, "pass_at": now}
        return PullPage(changes, json.dumps(state, separators=(",", ":")), more)

    def source_change(self, key: str, entity_key: str, payload: dict[str, Any], source: dict[str, Any],
                      changed: float) -> SourceChange:
        return SourceChange(idempotency_key=key, entity_key=entity_key, payload=payload, source_payload=source,
                            changed_at=changed)

    async def push(self, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
        if entity not in self.push_entities:
            raise DeliveryError(Category.VALIDATION, f"NetSuite cannot receive {entity}")
        return await records.push(self, entity, deliveries)

    async def read_levels(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        """Current quantity available per (sku, location name), for reconciliation; unknown pairs absent."""
        return await records.read_levels(self, pairs)
