"""The simulated vendors' webhooks: real headers and signatures, posted from a background thread.

Attach a sender to an app (`attach(square_app, url, key)`); the app calls it when its state
changes and the sender posts asynchronously, in order, so a vendor's lock is never held across
HTTP. Switches (each a probability 0..1, 1 = every delivery) make it misbehave the ways real
deliveries do or attackers would:
  forge     sign with the wrong secret          unsigned  leave the signature header out
  replay    send the delivery twice (same id)   reorder   swap a delivery with the next one
  stale     date it an hour back (re-signed, so only the timestamp is wrong)
Signatures (see /work/shared/reference/vendor-apis.md):
  Shopify   X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256(secret, body)
  Square    x-square-hmacsha256-signature = base64 HMAC-SHA256(key, notification URL + body)
  BigCommerce  a custom header on the subscription carrying a shared secret
  WooCommerce  X-WC-Webhook-Signature = base64 HMAC-SHA256(secret, body); the body is the order
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import httpx

SWITCHES = ("forge", "unsigned", "replay", "reorder", "stale")
RETRIES = 4
STALE_BY = 3600.0
BIGCOMMERCE_HEADER = "X-Syncops-Hook-Secret"


def _iso(epoch: float) -> str:
    dt = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _b64hmac(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


@dataclass
class _Event:
    kind: str
    topic: str
    data: Any
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Sent:
    event_id: str
    topic: str
    status: int | None  # None: the post failed (connection refused, timeout)
    tampered: tuple[str, ...] = ()
    attempt: int = 1  # vendors retry a delivery that was not accepted (see _post)


class WebhookSender:
    def __init__(self, kind: str, url: str, secret: str, *, notification_url: str | None = None,
                 header: str = BIGCOMMERCE_HEADER, shop_domain: str = "syncops-demo.myshopify.com",
                 api_version: str = "2025-07", store_hash: str = "abc123", merchant_id: str = "SIM-MERCHANT",
                 clock: Callable[[], float] = time.time, seed: int = 5, timeout: float = 5.0,
                 workers: int = 1) -> None:
        self.kind = kind
        self.url = url
        self.secret = secret
        self.notification_url = notification_url or url  # Square signs the subscription's URL
        self.header = header
        self.shop_domain = shop_domain
        self.api_version = api_version
        self.store_hash = store_hash
        self.merchant_id = merchant_id
        self.clock = clock
        self.switches: dict[str, float] = dict.fromkeys(SWITCHES, 0.0)
        self.sent: list[Sent] = []
        self.errors: list[str] = []  # transport failures, for tests
        self._rng = random.Random(seed)
        self._queue: queue.Queue[_Event | None] = queue.Queue()
        self._held: _Event | None = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._timeout = timeout
        # Vendors deliver in parallel (and so out of order); workers=1 keeps strict order for tests.
        self._threads = [threading.Thread(target=self._run, name=f"sim-webhooks-{kind}-{n}", daemon=True)
                         for n in range(max(1, workers))]
        for thread in self._threads:
            thread.start()

    # ---- what the apps call ------------------------------------------------------------------
    def emit(self, topic: str, data: Any) -> None:
        self._queue.put(_Event(self.kind, topic, data))

    def set(self, **switches: float) -> None:
        for name, rate in switches.items():
            if name not in SWITCHES:
                raise ValueError(f"unknown webhook switch {name!r}; known: {', '.join(SWITCHES)}")
            self.switches[name] = float(rate)

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far has been posted (tests)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.005)
        return False

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    # ---- the wire --------------------------------------------------------------------------
    def render(self, event: _Event, *, stale: bool = False, forge: bool = False,
               unsigned: bool = False) -> tuple[bytes, dict[str, str]]:
        """(raw body, headers) exactly as the vendor would send them."""
        now = self.clock() - (STALE_BY if stale else 0.0)
        secret = ("not-" + self.secret) if forge else self.secret
        headers = {"Content-Type": "application/json", "User-Agent": f"sim-{self.kind}-webhooks"}
        if self.kind == "square":
            body = {"merchant_id": self.merchant_id, "type": event.topic, "event_id": event.event_id,
                    "created_at": _iso(now), "data": event.data}
            raw = json.dumps(body, separators=(",", ":")).encode()
            headers["x-square-hmacsha256-signature"] = _b64hmac(secret, self.notification_url.encode() + raw)
            headers["square-environment"] = "Sandbox"
        elif self.kind == "shopify":
            raw = json.dumps(event.data, separators=(",", ":")).encode()
            headers.update({
                "X-Shopify-Topic": event.topic, "X-Shopify-Hmac-Sha256": _b64hmac(secret, raw),
                "X-Shopify-Shop-Domain": self.shop_domain, "X-Shopify-API-Version": self.api_version,
                "X-Shopify-Webhook-Id": event.event_id, "X-Shopify-Event-Id": event.event_id,
                "X-Shopify-Triggered-At": _iso(now)})
        elif self.kind == "bigcommerce":
            body = {"producer": f"stores/{self.store_hash}", "hash": hashlib.sha1(event.event_id.encode()).hexdigest(),
                    "created_at": int(now), "store_id": "1001", "scope": event.topic, "data": event.data}
            raw = json.dumps(body, separators=(",", ":")).encode()
            headers[self.header] = secret
        elif self.kind == "woocommerce":
            raw = json.dumps(event.data, separators=(",", ":")).encode()
            resource, _, action = event.topic.partition(".")
            headers.update({
                "X-WC-Webhook-Source": "https://shop.example.com/", "X-WC-Webhook-Topic": event.topic,
                "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": action,
                "X-WC-Webhook-Signature": _b64hmac(secret, raw), "X-WC-Webhook-ID": "7",
                "X-WC-Webhook-Delivery-ID": event.event_id})
        else:
            raise ValueError(f"no webhooks for {self.kind!r}")
        if unsigned:
            for name in ("x-square-hmacsha256-signature", "X-Shopify-Hmac-Sha256", "X-WC-Webhook-Signature",
                         self.header):
                headers.pop(name, None)
        return raw, headers

    def _roll(self, name: str) -> bool:
        rate = self.switches.get(name, 0.0)
        return rate >= 1.0 or (rate > 0 and self._rng.random() < rate)

    def _run(self) -> None:
        client = self._local.client = httpx.Client(timeout=self._timeout)
        try:
            while True:
                event = self._queue.get()
                try:
                    with self._lock:
                        held = self._held
                        if event is None:
                            self._held = None
                        elif held is None and self._roll("reorder"):
                            self._held = event  # goes out after the next one
                            continue
                        else:
                            self._held = None
                    if event is None:
                        if held is not None:
                            self._post(held)
                        return
                    self._post(event)
                    if held is not None:
                        self._post(held, tampered=("reorder",))
                finally:
                    self._queue.task_done()
        finally:
            client.close()

    def _post(self, event: _Event, tampered: tuple[str, ...] = ()) -> None:
        with self._lock:
            flags = {name: self._roll(name) for name in ("stale", "forge", "unsigned")}
            copies = 2 if self._roll("replay") else 1
        raw, headers = self.render(event, **flags)
        tampered = tampered + tuple(k for k, v in flags.items() if v)
        for n in range(copies):
            # Vendors retry a delivery the receiver did not take (5xx, 429, no answer) with backoff
            # over hours; compressed here to RETRIES tries within about a second and a half.
            for attempt in range(1, RETRIES + 2):
                try:
                    status: int | None = self._local.client.post(self.url, content=raw, headers=headers).status_code
                except httpx.HTTPError as exc:
                    status = None
                    self.errors.append(repr(exc))
                self.sent.append(Sent(event.event_id, event.topic, status, tampered + (("replay",) if n else ()),
                                      attempt))
                if n or not (status is None or status == 429 or status >= 500) or attempt > RETRIES:
                    break
                time.sleep(0.1 * 2 ** (attempt - 1))


def attach(app: Any, url: str, secret: str, **options: Any) -> WebhookSender:
    """Give a simulated vendor a webhook subscription to `url`, signed with `secret`."""
    sender = WebhookSender(app.name, url, secret, **options)
    app.webhooks = sender
    return sender
