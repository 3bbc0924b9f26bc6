"""Each vendor's webhook check, exactly as the vendor defines it, on the raw body, in constant time.

- Shopify: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(app client secret, raw body)); the
  delivery id is `X-Shopify-Webhook-Id`; `X-Shopify-Triggered-At`, when sent, dates it.
- Square: `x-square-hmacsha256-signature` = base64(HMAC-SHA256(signature key, notification URL +
  raw body)); the id is the body's `event_id`, the date its `created_at`.
- BigCommerce: no HMAC; the subscription carries a custom header with a shared secret, compared in
  constant time; the id is the body's `hash`, the date its `created_at` (unix seconds).
- WooCommerce: `X-WC-Webhook-Signature` = base64(HMAC-SHA256(webhook secret, raw body)); the id is
  `X-WC-Webhook-Delivery-ID`, the topic `X-WC-Webhook-Topic`; no timestamp is sent.

Pure functions: no I/O, no clock of their own. A refusal says why in a word (the counters'
name) and never includes the secret or the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

# Refusal reasons (also the counter names).
UNSIGNED, FORGED, STALE, REPLAYED, MALFORMED, OVERSIZED = (
    "unsigned", "forged", "stale", "replayed", "malformed", "oversized")


class Refused(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Verified:
    event_id: str  # the vendor's delivery id: a second delivery with it is a replay
    topic: str  # e.g. "orders/updated", "inventory.count.updated", "store/order/updated"
    sent_at: float | None  # vendor timestamp (epoch seconds), when the vendor sends one
    body: Any  # the parsed JSON body


def hmac_b64(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Refused(MALFORMED, "body is not JSON") from None


def _rfc3339(value: Any) -> float | None:
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.timestamp() if dt.tzinfo is not None else None


def shopify(raw: bytes, headers: Mapping[str, str], secret: str) -> Verified:
    given = headers.get("x-shopify-hmac-sha256") or headers.get("shopify-hmac-sha256")
    if not given or not raw:
        raise Refused(UNSIGNED, "no X-Shopify-Hmac-Sha256 header" if not given else "empty body")
    if not _same(hmac_b64(secret, raw), given):
        raise Refused(FORGED, "X-Shopify-Hmac-Sha256 does not match the body")
    event_id = headers.get("x-shopify-webhook-id") or headers.get("shopify-webhook-id") \
        or headers.get("x-shopify-event-id") or headers.get("shopify-event-id")
    topic = headers.get("x-shopify-topic") or headers.get("shopify-topic")
    if not event_id or not topic:
        raise Refused(MALFORMED, "X-Shopify-Webhook-Id or X-Shopify-Topic missing")
    triggered = headers.get("x-shopify-triggered-at") or headers.get("shopify-triggered-at")
    sent_at = _rfc3339(triggered) if triggered else None
    if triggered and sent_at is None:
        raise Refused(MALFORMED, "X-Shopify-Triggered-At is not a timestamp")
    return Verified(event_id=event_id, topic=topic, sent_at=sent_at, body=_json(raw))


def square(raw: bytes, headers: Mapping[str, str], secret: str, notification_url: str) -> Verified:
    given = headers.get("x-square-hmacsha256-signature")
    if not given or not raw:
        raise Refused(UNSIGNED, "no x-square-hmacsha256-signature header" if not given else "empty body")
    if not _same(hmac_b64(secret, notification_url.encode() + raw), given):
        raise Refused(FORGED, "x-square-hmacsha256-signature does not match the URL and body")
    body = _json(raw)
    if not isinstance(body, dict) or not body.get("event_id") or not body.get("type"):
        raise Refused(MALFORMED, "body without event_id or type")
    sent_at = _rfc3339(body.get("created_at")) if body.get("created_at") else None
    return Verified(event_id=str(body["event_id"]), topic=str(body["type"]), sent_at=sent_at, body=body)


def bigcommerce(raw: bytes, headers: Mapping[str, str], secret: str, header: str) -> Verified:
    given = headers.get(header.lower())
    if not given:
        raise Refused(UNSIGNED, f"no {header} header")
    if not _same(secret, given):
        raise Refused(FORGED, f"{header} does not match the hook's secret")
    body = _json(raw)
    if not isinstance(body, dict) or not body.get("hash") or not body.get("scope"):
        raise Refused(MALFORMED, "body without hash or scope")
    created = body.get("created_at")
    sent_at = float(created) if isinstance(created, (int, float)) and not isinstance(created, bool) else None
    return Verified(event_id=str(body["hash"]), topic=str(body["scope"]), sent_at=sent_at, body=body)


_WC_PING = re.compile(rb"webhook_id=[0-9]{1,20}")


def woocommerce_ping(raw: bytes, headers: Mapping[str, str]) -> bool:
    """WooCommerce's test ping when a webhook is saved: an unsigned POST of `webhook_id=<id>`. The
    shop refuses to create the webhook unless it gets a 200, and nothing is taken in from it."""
    return "x-wc-webhook-signature" not in headers and _WC_PING.fullmatch(raw) is not None


def woocommerce(raw: bytes, headers: Mapping[str, str], secret: str) -> Verified:
    given = headers.get("x-wc-webhook-signature")
    if not given or not raw:
        raise Refused(UNSIGNED, "no X-WC-Webhook-Signature header" if not given else "empty body")
    if not _same(hmac_b64(secret, raw), given):
        raise Refused(FORGED, "X-WC-Webhook-Signature does not match the body")
    event_id, topic = headers.get("x-wc-webhook-delivery-id"), headers.get("x-wc-webhook-topic")
    if not event_id or not topic:
        raise Refused(MALFORMED, "X-WC-Webhook-Delivery-ID or X-WC-Webhook-Topic missing")
    return Verified(event_id=event_id, topic=topic, sent_at=None, body=_json(raw))


def check_fresh(verified: Verified, now: float, tolerance: float) -> None:
    """Stale (or from the future) beyond `tolerance` seconds: refused like a forgery."""
    if verified.sent_at is not None and abs(now - verified.sent_at) > tolerance:
        raise Refused(STALE, f"sent {now - verified.sent_at:.0f} s ago; the window is {tolerance:.0f} s")
