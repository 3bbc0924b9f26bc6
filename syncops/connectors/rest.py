"""`kind: rest`: a connector described entirely by its endpoint's options (see rest_spec.py).

For the long tail (a WMS, a tax engine, a loyalty CRM): auth, pagination, rate-limit signal,
error statuses, and per canonical entity a pull (items and fields by JMESPath) and/or a push
(path template, body by JMESPath over the canonical payload, an idempotency header carrying
the record's delivery key). Reads are incremental: the cursor keeps the vendor's own value of
`incremental.cursor_field` (the newest seen in the last finished pass) and sends it as
`incremental.param`; within a pass it keeps the page / offset / cursor / next link, so a
restart continues where the stored cursor says, and the idempotency keys drop re-reads.
"""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import datetime
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from syncops.connectors import rest_spec, signals
from syncops.connectors.base import CallInfo, Delivery, ItemResult, PullPage, SourceChange
from syncops.connectors.errors import DeliveryError
from syncops.connectors.oauth import TokenCache
from syncops.store.categories import Category

EXCERPT = 500
MAX_BATCH = 20  # records handled per dispatch; each is its own call
_LINK = re.compile(r'<([^>]*)>\s*((?:;\s*[^;,]*)*)')


class _ClientCredentials(TokenCache):
    vendor = "REST token endpoint"

    def __init__(self, *args: Any, scope: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope

    def form(self) -> dict[str, str]:
        form = {"grant_type": "client_credentials", "client_id": self.client_id or "", "client_secret": self._secret}
        if self.scope:
            form["scope"] = self.scope
        return form


def next_link(header: str | None) -> str | None:
    """The target of RFC 8288 `Link: <...>; rel="next"` (rel may list several relation types)."""
    if not header:
        return None
    for match in _LINK.finditer(header):
        for param in match.group(2).split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return match.group(1).strip()
    return None


def _order_key(value: Any) -> tuple[int, Any]:
    """Cursor values compare as numbers when they are numbers, else as text (ISO dates sort)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


class RestConnector:
    kind = "rest"
    max_batch = MAX_BATCH

    @classmethod
    def entities_for(cls, options: Any) -> tuple[frozenset[str], frozenset[str]]:
        return rest_spec.entities_of(options)

    def __init__(self, base_url: str, secret: str, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time, options: dict[str, Any] | None = None) -> None:
        self.options = dict(options or {})
        try:
            self.spec = rest_spec.parse(self.options)
        except rest_spec.SpecProblems as exc:
            raise DeliveryError(Category.VALIDATION, f"rest endpoint options are invalid: {exc}"[:500]) from None
        self.base_url = base_url.rstrip("/")
        self.pull_entities = frozenset(self.spec.pulls)
        self.push_entities = frozenset(self.spec.pushes)
        self.clock = clock
        self.ceiling = signals.ceiling_of(self.options)
        self._secret = secret or ""
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=self.spec.timeout,
                                                   limits=httpx.Limits(max_keepalive_connections=8))
        self._last = CallInfo()
        auth = self.spec.auth
        self.tokens: _ClientCredentials | None = None
        if auth is not None and auth.type == "oauth_client_credentials":
            self.tokens = _ClientCredentials(self._client, auth.token_url or "", auth.client_id, self._secret,
                                             clock=clock, ceiling=self.ceiling, scope=auth.scope)

    # ------------------------------------------------------------------ transport

    def _secrets(self) -> tuple[str, ...]:
        return (self._secret, *(self.tokens.secrets() if self.tokens else ()))

    def _scrub(self, text: str) -> str:
        for s in self._secrets():
            if s and len(s) >= 4:
                text = text.replace(s, "***")
        return text[:EXCERPT]

    async def _auth(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        auth = self.spec.auth
        if auth is None:
            return
        if auth.type == "api_key":
            if auth.query:
                params[auth.query] = self._secret
            else:
                headers[auth.header or "X-Api-Key"] = self._secret
        elif auth.type == "bearer":
            headers["Authorization"] = f"Bearer {self._secret}"
        elif auth.type == "basic":
            token = base64.b64encode(f"{auth.username}:{self._secret}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        elif self.tokens is not None:
            headers["Authorization"] = f"Bearer {await self.tokens.access_token()}"

    def _without_key(self, url: str) -> str:
        """A vendor's link may repeat a query-parameter key: it goes into the stored cursor, so
        the key is taken out (it is added again on every request)."""
        auth = self.spec.auth
        if auth is None or not auth.query:
            return url
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != auth.query]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def _same_origin(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.base_url)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)

    async def _request(self, method: str, url: str, *, params: dict[str, Any] | None = None, body: Any = None,
                       headers: dict[str, str] | None = None, what: str) -> httpx.Response:
        write = method != "GET"
        for attempt in (1, 2):
            hdrs = {"Accept": "application/json", "User-Agent": "syncops", **(headers or {})}
            query = dict(params or {})
            await self._auth(hdrs, query)
            try:
                resp = await self._client.request(method, url, params=query or None,
                                                  json=body if write else None, headers=hdrs)
            except httpx.HTTPError as exc:
                self._last = CallInfo()
                err = signals.transport_failure(exc, f"{self.base_url} {what}")
                err.maybe_applied = err.maybe_applied and write
                raise err from None
            self._observe(resp)
            if resp.status_code in self.spec.errors.auth and self.tokens is not None and attempt == 1:
                self.tokens.invalidate()  # a revoked or rotated token: one fresh token before believing it
                continue
            if resp.status_code >= 400:
                raise self._classify(resp, what, write)
            return resp
        raise AssertionError("unreachable")

    def _observe(self, resp: httpx.Response) -> None:
        rl = self.spec.rate_limit
        wait = None
        if resp.status_code in rl.statuses:
            wait = self._wait(resp).seconds
        remaining = signals.number(resp.headers.get(rl.remaining_header)) if rl.remaining_header else None
        if wait is None and remaining == 0 and rl.reset_header:
            wait = signals.clamp(signals.number(resp.headers.get(rl.reset_header)), self.ceiling,
                                 what=rl.reset_header).seconds
        self._last = CallInfo(wait_seconds=wait, remaining=remaining)

    def _wait(self, resp: httpx.Response) -> signals.Wait:
        rl = self.spec.rate_limit
        wait = signals.retry_after(resp.headers.get(rl.retry_after_header), ceiling=self.ceiling,
                                   now=self.clock(), header=rl.retry_after_header)
        if wait.seconds is None and rl.reset_header:
            reset = signals.clamp(signals.number(resp.headers.get(rl.reset_header)), self.ceiling,
                                  what=rl.reset_header)
            if reset.seconds is not None:
                return reset
        return wait

    def _classify(self, resp: httpx.Response, what: str, write: bool,
                  push: rest_spec.Push | None = None) -> DeliveryError:
        status = resp.status_code
        body = signals.json_body(resp)
        errs = self.spec.errors
        code = message = None
        try:
            code = errs.code.search(body) if errs.code and body is not None else None
            message = errs.message.search(body) if errs.message and body is not None else None
        except Exception:  # a vendor body the expression cannot walk: just no detail
            pass
        detail = " ".join(str(x) for x in (f"{code}:" if code else None, message) if x) or f"HTTP {status}"
        detail = self._scrub(detail)[:200]
        kw: dict[str, Any] = {"status": status, "response_excerpt": self._scrub(resp.text),
                              "vendor_code": str(code)[:100] if code is not None else None}
        where = f"{self.base_url} {what}"
        if status in self.spec.rate_limit.statuses:
            wait = self._wait(resp)
            return DeliveryError(Category.RATE_LIMIT, f"{where} throttled (HTTP {status}){wait.describe()}",
                                 retry_after=wait.seconds, **kw)
        if status in errs.auth:
            return DeliveryError(Category.AUTH, f"{where} refused the credentials: {detail}", **kw)
        if status in (push.validation_statuses if push else errs.validation):
            return DeliveryError(Category.VALIDATION, f"{where} rejected the request: {detail}", **kw)
        if status in (push.conflict_statuses if push else errs.conflict):
            return DeliveryError(Category.CONFLICT, f"{where} reported a conflict: {detail}", **kw)
        if status >= 500:
            wait = signals.retry_after(resp.headers.get("Retry-After"), ceiling=self.ceiling, now=self.clock())
            return DeliveryError(Category.UNAVAILABLE, f"{where} failed with HTTP {status}{wait.describe()}",
                                 retry_after=wait.seconds, maybe_applied=write and
                                 signals.status_may_have_applied(status), **kw)
        return DeliveryError(Category.UNKNOWN, f"unexpected HTTP {status} from {where}: {detail}", **kw)

    def _json(self, resp: httpx.Response, what: str) -> Any:
        body = signals.json_body(resp)
        if body is None:
            raise signals.malformed(self.base_url, f"{what} answered with a body that is not JSON "
                                    f"({resp.headers.get('content-type', '?')})", status=resp.status_code,
                                    excerpt=self._scrub(resp.text), applied_if_write=resp.request.method != "GET")
        return body

    # ------------------------------------------------------------------ protocol

    def last_call(self) -> CallInfo:
        return self._last

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def check_auth(self) -> str:
        path = self.spec.check_path or next((p.path for p in self.spec.pulls.values()), None)
        if path is None:
            if self.tokens is not None:
                await self.tokens.access_token()
                return f"token from {self.spec.auth.token_url} OK"
            raise DeliveryError(Category.VALIDATION, "no cheap GET to check: set options.check.path")
        resp = await self._request("GET", self.base_url + path, what=f"GET {path}")
        return f"{self.base_url}{path} answered HTTP {resp.status_code}"

    # ------------------------------------------------------------------ pull

    # A cursor for one pass over everything, without the incremental parameter (reconciliation).
    WHOLE_LISTING = json.dumps({"since": None, "high": None, "next": None})

    async def pull(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        spec = self.spec.pulls.get(entity)
        if spec is None:
            raise DeliveryError(Category.VALIDATION, f"this rest endpoint declares no pull for {entity!r}")
        state = {"since": spec.start, "high": None, "next": None}
        if cursor:
            try:
                raw = json.loads(cursor)
                state.update({k: raw[k] for k in ("since", "high", "next") if k in raw})
            except (ValueError, TypeError):
                pass  # unreadable: start over; idempotency keys drop the repeats
        pg = spec.pagination
        size = max(1, min(pg.size, limit))
        params: dict[str, Any] = dict(spec.params)
        url = self.base_url + spec.path
        if spec.incremental_param and state["since"] is not None:
            params[spec.incremental_param] = state["since"]
        if pg.size_param:
            params[pg.size_param] = size
        nxt = state["next"]
        if pg.style == "page":
            params[pg.page_param] = int(nxt or 1)
        elif pg.style == "offset":
            params[pg.offset_param] = int(nxt or 0)
        elif pg.style == "cursor" and nxt:
            params[pg.cursor_param] = nxt
        elif pg.style == "link" and nxt:
            if not isinstance(nxt, str) or not self._same_origin(nxt):
                nxt = None  # never follow (or send the key) off the API's origin
            else:
                # The link's own query replaces ours; as separate params, so auth can add its key.
                parts = urlsplit(nxt)
                url = urlunsplit(parts._replace(query=""))
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
        what = f"GET {spec.path}"
        resp = await self._request("GET", url, params=params, what=what)
        body = self._json(resp, what)
        rows = spec.items.search(body)
        if rows is None:
            rows = []  # many APIs send null (or leave the list out) when nothing changed
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise signals.malformed(self.base_url, f"{what}: items ({spec.items.text!r}) is not a list of objects",
                                    status=resp.status_code, excerpt=self._scrub(resp.text))
        changes = [self._change(entity, spec, row, i, what) for i, row in enumerate(rows)]
        high = state["high"]
        if spec.cursor_field is not None:
            for i, row in enumerate(rows):
                value = spec.cursor_field.search(row)
                if value is None or isinstance(value, (dict, list, bool)):
                    raise DeliveryError(Category.VALIDATION, f"{what} item {i}: incremental.cursor_field "
                                        f"{spec.cursor_field.text!r} gives {value!r}; item: "
                                        f"{self._scrub(json.dumps(row, default=str))[:200]}")
                if high is None or _order_key(value) > _order_key(high):
                    high = value
        following = self._following(pg, body, resp, rows, size, nxt)
        if following is not None and rows:
            state = {**state, "high": high, "next": following}
            return PullPage(changes=changes, cursor=json.dumps(state), has_more=True)
        since = state["since"] if high is None else (str(high) if not isinstance(high, (int, float)) else high)
        return PullPage(changes=changes, cursor=json.dumps({"since": since, "high": None, "next": None}),
                        has_more=False)

    def _following(self, pg: rest_spec.Pagination, body: Any, resp: httpx.Response, rows: list, size: int,
                   current: Any) -> Any:
        """Where the next page of this pass is, or None when the pass is over."""
        if pg.style == "page":
            page = int(current or 1)
            total = None
            if pg.total_pages is not None:
                total = signals.number(pg.total_pages.search(body), maximum=1e9)
            elif pg.total_pages_header:
                total = signals.number(resp.headers.get(pg.total_pages_header), maximum=1e9)
            more = page < total if total is not None else len(rows) >= size
            return page + 1 if more else None
        if pg.style == "offset":
            offset = int(current or 0)
            total = signals.number(pg.total.search(body)) if pg.total is not None else None
            more = offset + len(rows) < total if total is not None else len(rows) >= size
            return offset + len(rows) if more else None
        if pg.style == "cursor":
            token = pg.next.search(body) if pg.next is not None else resp.headers.get(pg.next_header or "")
            if isinstance(token, (int, float)) and not isinstance(token, bool):
                token = str(token)
            return token if isinstance(token, str) and token and token != current else None
        if pg.style == "link":
            link = next_link(resp.headers.get("Link"))
            if not link:
                return None
            absolute = urljoin(str(resp.url), link)
            if not self._same_origin(absolute):
                raise signals.malformed(self.base_url, f"next link leaves the API's origin ({urlsplit(absolute).hostname})",
                                        status=resp.status_code, excerpt=None)
            return self._without_key(absolute)
        return None

    def _change(self, entity: str, spec: rest_spec.Pull, row: dict[str, Any], index: int, what: str) -> SourceChange:
        from syncops.models.registry import PayloadInvalid, validate_payload

        payload: dict[str, Any] = {}
        missing = []
        for name, expr in spec.fields.items():
            value = expr.search(row)
            if value is None:
                missing.append(f"{name} ({expr.text!r})")
                continue
            payload[name] = value
        item = self._scrub(json.dumps(row, default=str))[:200]
        try:
            model = validate_payload(entity, payload)
        except PayloadInvalid as exc:
            gave = f"; nothing from {', '.join(missing)}" if missing else ""
            raise DeliveryError(Category.VALIDATION, f"{what} item {index} does not map to a canonical {entity}"
                                f"{gave}: {exc}; item: {item}"[:500]) from None
        ident = spec.idempotency.search(row)
        if ident is None or isinstance(ident, (dict, list, bool)):
            raise DeliveryError(Category.VALIDATION, f"{what} item {index}: idempotency {spec.idempotency.text!r} "
                                f"gives {ident!r}; item: {item}")
        canonical = model.model_dump(mode="json")
        changed = next((getattr(model, f) for f in ("changed_at", "updated_at", "placed_at", "created_at")
                        if isinstance(getattr(model, f, None), datetime)), None)
        return SourceChange(idempotency_key=f"rest:{entity}:{ident}", entity_key=model.entity_key(),
                            payload=canonical, source_payload=row,
                            changed_at=changed.timestamp() if changed else self.clock())

    async def read_levels(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        from syncops.connectors.rest_levels import read_levels  # reconciliation only; see that module
        return await read_levels(self, pairs)

    # ------------------------------------------------------------------ push

    async def push(self, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
        spec = self.spec.pushes.get(entity)
        if spec is None:
            raise DeliveryError(Category.VALIDATION, f"this rest endpoint declares no push for {entity!r}")
        results: list[ItemResult] = []
        stopped: DeliveryError | None = None
        for n, d in enumerate(deliveries):
            if stopped is not None:
                # The endpoint as a whole refused (throttled, down): the rest were not sent.
                results.append(ItemResult(d.record_id, error=DeliveryError(
                    stopped.category, f"not sent: {stopped.message}"[:400], retry_after=stopped.retry_after,
                    status=stopped.status)))
                continue
            try:
                results.append(await self._push_one(spec, d))
            except DeliveryError as exc:
                if exc.category in (Category.VALIDATION, Category.CONFLICT, Category.DUPLICATE):
                    results.append(ItemResult(d.record_id, error=exc, status=exc.status,
                                              request_summary=f"{spec.method} {spec.path}",
                                              response_excerpt=exc.response_excerpt or ""))
                    continue
                if n == 0 and not exc.maybe_applied:
                    raise  # nothing applied: the engine treats the whole call (breaker, rate-limit gate)
                results.append(ItemResult(d.record_id, error=exc, status=exc.status,
                                          request_summary=f"{spec.method} {spec.path}",
                                          response_excerpt=exc.response_excerpt or ""))
                stopped = exc
        return results

    async def _push_one(self, spec: rest_spec.Push, d: Delivery) -> ItemResult:
        payload = d.payload
        try:
            path = spec.path.format(**{k: quote(str(v), safe="") for k, v in payload.items()
                                       if not isinstance(v, (dict, list))})
        except (KeyError, IndexError) as exc:
            raise DeliveryError(Category.VALIDATION, f"path {spec.path!r} needs field {exc} the payload "
                                                     "does not have") from None
        body = {name: expr.search(payload) for name, expr in spec.body.items()}
        headers = {spec.idempotency_header: d.delivery_key} if spec.idempotency_header else {}
        what = f"{spec.method} {path}"
        try:
            resp = await self._request(spec.method, self.base_url + path, body=body, headers=headers, what=what)
        except DeliveryError as exc:
            if exc.status in spec.validation_statuses or exc.status in spec.conflict_statuses:
                # Per-push status lists may differ from the endpoint's: classify again.
                raise self._reclassify(exc, spec) from None
            raise
        data = signals.json_body(resp) if resp.content else None
        ref = None
        if spec.id is not None:
            if data is None:
                raise signals.malformed(self.base_url, f"{what} answered with a body that is not JSON",
                                        status=resp.status_code, excerpt=self._scrub(resp.text), applied_if_write=True)
            value = spec.id.search(data)
            if value is None or isinstance(value, (dict, list, bool)):
                raise signals.malformed(self.base_url, f"{what}: id ({spec.id.text!r}) gives {value!r}",
                                        status=resp.status_code, excerpt=self._scrub(resp.text), applied_if_write=True)
            ref = str(value)[:255]
        return ItemResult(d.record_id, target_ref=ref, status=resp.status_code, request_summary=what,
                          response_excerpt=self._scrub(resp.text)[:200])

    @staticmethod
    def _reclassify(exc: DeliveryError, spec: rest_spec.Push) -> DeliveryError:
        category = Category.VALIDATION if exc.status in spec.validation_statuses else Category.CONFLICT
        if category == exc.category:
            return exc
        return DeliveryError(category, exc.message, status=exc.status, response_excerpt=exc.response_excerpt,
                             vendor_code=exc.vendor_code)
