"""One Shopify Admin GraphQL call: send, classify failures, read the cost bucket.

Kept apart from the connector so the classification rules (which decide retry vs. human)
can be read in one place.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from syncops.connectors.base import CallInfo
from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

EXCERPT = 500
DEFAULT_VERSION = "2026-04"


class ShopifyTransport:
    def __init__(self, base_url: str, secret: str, client: httpx.AsyncClient, version: str = DEFAULT_VERSION) -> None:
        self.url = f"{base_url.rstrip('/')}/admin/api/{version}/graphql.json"
        self.version = version
        self._secret = secret
        self._client = client
        self.last = CallInfo()

    def excerpt(self, text: str) -> str:
        if self._secret:
            text = text.replace(self._secret, "***")  # a vendor echoing the token must not leak it
        return text[:EXCERPT]

    async def call(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST one document; return `data`. Raises DeliveryError for any whole-call failure."""
        headers = {"X-Shopify-Access-Token": self._secret, "Content-Type": "application/json",
                   "Accept": "application/json"}
        self.last = CallInfo()  # describe the most recent response only
        try:
            response = await self._client.post(self.url, json={"query": query, "variables": variables or {}},
                                               headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(Category.UNAVAILABLE, f"Shopify timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise DeliveryError(Category.UNAVAILABLE, f"Shopify unreachable ({type(exc).__name__})") from None
        status = response.status_code
        text = response.text
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            self._record_cost(body)

        if status in (401, 403):
            raise DeliveryError(Category.AUTH, f"Shopify rejected the access token (HTTP {status})",
                                status=status, response_excerpt=self.excerpt(text))
        throttled = _throttled(body)
        if throttled or status == 429:
            retry_after = self._retry_after(body, response.headers.get("Retry-After"))
            self.last.wait_seconds = retry_after
            raise DeliveryError(Category.RATE_LIMIT, f"Shopify throttled the request (HTTP {status}); "
                                f"retry in {retry_after:.2f}s", status=status, retry_after=retry_after,
                                response_excerpt=self.excerpt(text), vendor_code="THROTTLED" if throttled else None)
        if status >= 500:
            raise DeliveryError(Category.UNAVAILABLE, f"Shopify is unavailable (HTTP {status})", status=status,
                                response_excerpt=self.excerpt(text),
                                retry_after=_float(response.headers.get("Retry-After")))
        if status >= 400:
            raise DeliveryError(Category.VALIDATION, f"Shopify refused the request (HTTP {status})", status=status,
                                response_excerpt=self.excerpt(text))
        if not isinstance(body, dict):
            raise DeliveryError(Category.UNKNOWN, "Shopify answered with something that is not a JSON object",
                                status=status, response_excerpt=self.excerpt(text))
        errors = body.get("errors")
        if errors:
            raise _top_level_error(errors, status, self.excerpt(text))
        data = body.get("data")
        if not isinstance(data, dict):
            raise DeliveryError(Category.UNKNOWN, "Shopify response has no data object", status=status,
                                response_excerpt=self.excerpt(text))
        return data

    def _record_cost(self, body: dict[str, Any]) -> None:
        cost = (body.get("extensions") or {}).get("cost") if isinstance(body.get("extensions"), dict) else None
        if not isinstance(cost, dict):
            return
        status = cost.get("throttleStatus") or {}
        available = _float(status.get("currentlyAvailable"))
        rate = _float(status.get("restoreRate"))
        requested = _float(cost.get("requestedQueryCost"))
        wait = None
        # Next request likely costs about as much as this one: wait if the bucket cannot pay it.
        if available is not None and rate and requested is not None and available < requested:
            wait = (requested - available) / rate
        self.last = CallInfo(wait_seconds=wait, remaining=available, extra={
            "requestedQueryCost": cost.get("requestedQueryCost"),
            "actualQueryCost": cost.get("actualQueryCost"),
            "maximumAvailable": status.get("maximumAvailable"),
            "currentlyAvailable": status.get("currentlyAvailable"),
            "restoreRate": status.get("restoreRate"),
        })

    def _retry_after(self, body: Any, header: str | None) -> float:
        """(requestedQueryCost - currentlyAvailable) / restoreRate, as Shopify documents."""
        cost = (body.get("extensions") or {}).get("cost") if isinstance(body, dict) else None
        if isinstance(cost, dict):
            status = cost.get("throttleStatus") or {}
            requested = _float(cost.get("requestedQueryCost"))
            available = _float(status.get("currentlyAvailable"))
            rate = _float(status.get("restoreRate"))
            if requested is not None and available is not None and rate:
                wait = (requested - available) / rate
                if wait > 0:
                    return wait
        from_header = _float(header)
        return from_header if from_header is not None and from_header > 0 else 1.0


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


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
