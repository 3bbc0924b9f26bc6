"""One Shopify Admin GraphQL call: send, classify failures, read the cost bucket.

Kept apart from the connector so the classification rules (which decide retry vs. human)
can be read in one place.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from syncops.connectors import signals
from syncops.connectors.base import CallInfo
from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

EXCERPT = 500
DEFAULT_VERSION = "2026-04"


class ShopifyTransport:
    def __init__(self, base_url: str, secret: str, client: httpx.AsyncClient, version: str = DEFAULT_VERSION,
                 *, ceiling: float = signals.MAX_WAIT) -> None:
        self.ceiling = ceiling  # the longest wait this endpoint's signals may impose
        self.url = f"{base_url.rstrip('/')}/admin/api/{version}/graphql.json"
        self.version = version
        self._secret = secret
        self._client = client
        self.last = CallInfo()

    def excerpt(self, text: str) -> str:
        if self._secret:
            text = text.replace(self._secret, "***")  # a vendor echoing the token must not leak it
        return text[:EXCERPT]

    async def call(self, query: str, variables: dict[str, Any] | None = None, *,
                   write: bool = False) -> dict[str, Any]:
        """POST one document; return `data`. Raises DeliveryError for any whole-call failure.

        `write`: the document is a mutation, so an answer lost after sending may mean it applied.
        """
        headers = {"X-Shopify-Access-Token": self._secret, "Content-Type": "application/json",
                   "Accept": "application/json"}
        self.last = CallInfo()  # describe the most recent response only
        try:
            response = await self._client.post(self.url, json={"query": query, "variables": variables or {}},
                                               headers=headers)
        except httpx.HTTPError as exc:
            err = signals.transport_failure(exc, "Shopify")
            err.maybe_applied = err.maybe_applied and write
            raise err from None
        status = response.status_code
        text = response.text
        body = signals.json_body(response)
        if isinstance(body, dict):
            self._record_cost(body)

        if status in (401, 403):
            raise DeliveryError(Category.AUTH, f"Shopify rejected the access token (HTTP {status})",
                                status=status, response_excerpt=self.excerpt(text))
        throttled = _throttled(body)
        if throttled or status == 429:
            wait = self._retry_after(body, response.headers.get("Retry-After"))
            self.last.wait_seconds = wait.seconds
            shown = f"retry in {wait.seconds:.2f}s" if wait.seconds is not None else "no usable wait given"
            raise DeliveryError(Category.RATE_LIMIT, f"Shopify throttled the request (HTTP {status}); "
                                f"{shown}{wait.describe()}", status=status, retry_after=wait.seconds,
                                response_excerpt=self.excerpt(text), vendor_code="THROTTLED" if throttled else None)
        if status >= 500:
            wait = signals.retry_after(response.headers.get("Retry-After"), ceiling=self.ceiling)
            raise DeliveryError(Category.UNAVAILABLE, f"Shopify is unavailable (HTTP {status}){wait.describe()}",
                                status=status, response_excerpt=self.excerpt(text), retry_after=wait.seconds,
                                maybe_applied=write and signals.status_may_have_applied(status))
        if status >= 400:
            raise DeliveryError(Category.VALIDATION, f"Shopify refused the request (HTTP {status})", status=status,
                                response_excerpt=self.excerpt(text))
        if not isinstance(body, dict):
            raise signals.malformed("Shopify", "the body is not a JSON object", status=status,
                                    excerpt=self.excerpt(text), applied_if_write=write)
        errors = body.get("errors")
        if errors:
            raise _top_level_error(errors, status, self.excerpt(text))
        data = body.get("data")
        if not isinstance(data, dict):
            raise signals.malformed("Shopify", "`data` is not an object", status=status,
                                    excerpt=self.excerpt(text), applied_if_write=write)
        return data

    def _record_cost(self, body: dict[str, Any]) -> None:
        cost = (body.get("extensions") or {}).get("cost") if isinstance(body.get("extensions"), dict) else None
        if not isinstance(cost, dict):
            return
        status = cost.get("throttleStatus") if isinstance(cost.get("throttleStatus"), dict) else {}
        available = signals.number(status.get("currentlyAvailable"))
        rate = signals.number(status.get("restoreRate"))
        requested = signals.number(cost.get("requestedQueryCost"))
        wait = None
        # Next request likely costs about as much as this one: wait if the bucket cannot pay it.
        if available is not None and rate and requested is not None and available < requested:
            wait = signals.clamp((requested - available) / rate, self.ceiling, what="throttle wait").seconds
        self.last = CallInfo(wait_seconds=wait, remaining=available, extra={
            "requestedQueryCost": cost.get("requestedQueryCost"),
            "actualQueryCost": cost.get("actualQueryCost"),
            "maximumAvailable": status.get("maximumAvailable"),
            "currentlyAvailable": status.get("currentlyAvailable"),
            "restoreRate": status.get("restoreRate"),
        })

    def _retry_after(self, body: Any, header: str | None) -> signals.Wait:
        """(requestedQueryCost - currentlyAvailable) / restoreRate, as Shopify documents; else
        the Retry-After header; else a second."""
        cost = (body.get("extensions") or {}).get("cost") if isinstance(body, dict) and isinstance(
            body.get("extensions"), dict) else None
        if isinstance(cost, dict):
            status = cost.get("throttleStatus") if isinstance(cost.get("throttleStatus"), dict) else {}
            requested = signals.number(cost.get("requestedQueryCost"))
            available = signals.number(status.get("currentlyAvailable"))
            rate = signals.number(status.get("restoreRate"))
            if requested is not None and available is not None and rate:
                wait = signals.clamp((requested - available) / rate, self.ceiling, what="throttle wait")
                if wait.seconds:
                    return wait
        from_header = signals.retry_after(header, ceiling=self.ceiling)
        if from_header.seconds:
            return from_header
        return signals.Wait(1.0, from_header.note)


def _throttled(body: Any) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return False
    return any(isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED"
               for e in body["errors"])


def _top_level_error(errors: Any, status: int, excerpt: str) -> DeliveryError:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        message = str(first.get("message", ""))[:200]
        code = (first.get("extensions") or {}).get("code") if isinstance(first.get("extensions"), dict) else None
    else:  # REST-style {"errors": "..."} or {"errors": {"field": [...]}}
        message, code = json.dumps(errors)[:200], None
    if code == "ACCESS_DENIED":
        category = Category.AUTH
    elif code in ("INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"):
        category = Category.UNAVAILABLE
    else:
        # Query, variable or directive problems: resending the same document cannot succeed.
        category = Category.VALIDATION
    return DeliveryError(category, f"Shopify GraphQL error{f' {code}' if code else ''}: {message}",
                         status=status, response_excerpt=excerpt, vendor_code=code)
