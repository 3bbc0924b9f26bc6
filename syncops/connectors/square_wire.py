"""Square wire details shared by the connector: error classification, idempotency keys, cursors."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from syncops.connectors import signals
from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

SQUARE_VERSION = "2025-08-20"
EXCERPT = 500
MAX_WARNINGS = 200
CHANGE_INDEX = re.compile(r"^changes\[(\d+)\]")
FIELD_INDEX = re.compile(r'"field"\s*:\s*"changes\[(\d+)\]')
# Codes that mean "the target moved / the request clashes with earlier state", not a bad payload.
_CONFLICT_CODES = frozenset({"CONFLICT", "VERSION_MISMATCH", "IDEMPOTENCY_KEY_REUSED"})


@dataclass
class PullState:
    """Persisted pull position (the JSON inside PullPage.cursor)."""

    watermark: str  # RFC 3339; the same for every page of one pass
    newest: str | None = None  # newest change time seen so far in this pass
    page: str | None = None  # Square's cursor for the next page
    limit: int | None = None  # page size, frozen for the pass because the cursor is bound to the body

    def dump(self) -> str:
        return json.dumps({"v": 1, "watermark": self.watermark, "newest": self.newest, "page": self.page,
                           "limit": self.limit}, separators=(",", ":"))


def classify(status: int, text: str, *, what: str, retry_after: str | None = None,
             ceiling: float = signals.MAX_WAIT) -> DeliveryError:
    """Turn a non-2xx Square answer into a DeliveryError (never includes request headers)."""
    excerpt = text[:EXCERPT]
    try:
        errors = json.loads(text).get("errors")
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else None
    except (ValueError, AttributeError, RecursionError):
        first = None
    code = str(first.get("code")) if first else None
    vendor_category = str(first.get("category")) if first else None
    detail = f"{code}: {first.get('detail', '')}" if first else f"unexpected body {excerpt[:80]!r}"
    message = f"Square {what} -> HTTP {status} {detail}"
    if status in (401, 403) or vendor_category == "AUTHENTICATION_ERROR":
        category = Category.AUTH
    elif status == 429 or vendor_category == "RATE_LIMIT_ERROR":
        category = Category.RATE_LIMIT
    elif status >= 500:
        category = Category.UNAVAILABLE
    elif first is None:
        category = Category.UNKNOWN
    else:
        category = item_category(first, status)
    wait = signals.Wait(None)
    if category in (Category.RATE_LIMIT, Category.UNAVAILABLE):
        # Square documents no Retry-After; honour one strictly if a proxy adds it.
        wait = signals.retry_after(retry_after, ceiling=ceiling)
    return DeliveryError(category, message + wait.describe(), status=status, retry_after=wait.seconds,
                         response_excerpt=excerpt, vendor_code=code)


def item_category(error: dict[str, Any], status: int = 200) -> Category:
    code, vendor_category = error.get("code"), error.get("category")
    if vendor_category == "AUTHENTICATION_ERROR":
        return Category.AUTH
    if vendor_category == "RATE_LIMIT_ERROR":
        return Category.RATE_LIMIT
    if code in _CONFLICT_CODES or status == 409:
        return Category.CONFLICT
    if vendor_category == "API_ERROR":
        return Category.UNAVAILABLE
    if vendor_category == "INVALID_REQUEST_ERROR" or status in (400, 404, 422):
        return Category.VALIDATION
    return Category.UNKNOWN


def request_key(delivery_keys: list[str]) -> str:
    """Square idempotency key (1..128 chars) for one batch-create call.

    A single delivery uses its own key, so a retry of that delivery replays Square's original
    answer; a batch uses a digest of its members, so the same batch retried is also a replay.
    """
    if len(delivery_keys) == 1 and len(delivery_keys[0]) <= 128:
        return delivery_keys[0]
    digest = hashlib.sha256("\n".join(delivery_keys).encode()).hexdigest()
    return ("sqh-" if len(delivery_keys) == 1 else "sqb-") + digest


def rebind_key(key: str, changes: list[Any]) -> str:
    """A key bound to this exact body, for re-sending after IDEMPOTENCY_KEY_REUSED."""
    body = json.dumps(changes, sort_keys=True, separators=(",", ":"))
    return "sqr-" + hashlib.sha256(f"{key}\n{body}".encode()).hexdigest()


def expect_list(data: dict[str, Any], key: str, path: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise signals.malformed(f"Square {path}", f"{key!r} is not a list", status=200,
                                excerpt=json.dumps(data)[:EXCERPT])
    return value
