"""One webhook delivery, start to finish: size cap, signature, freshness, replay, conversion,
durable store, wake the dispatcher. The HTTP layer (app.py) only moves bytes in and out.

Answers: 200 stored (or nothing to store), 401 refused (unsigned, forged, stale, replayed),
400 malformed after a valid signature, 404 no such hook, 413 oversized, 503 the store or the
vendor's follow-up read failed (the vendor retries; the poll is the safety net either way).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import and_, func, select

from syncops.connectors.errors import DeliveryError
from syncops.intake import events, verify
from syncops.intake.counters import ACCEPTED, WebhookCounters
from syncops.intake.replay import SeenIds
from syncops.store import lifecycle
from syncops.store.db import StoreError
from syncops.store.lifecycle import NewRecord
from syncops.store.tables import Record

R = Record.__table__
REFUSALS = (verify.UNSIGNED, verify.FORGED, verify.STALE, verify.REPLAYED)


@dataclass
class Hook:
    tenant: str
    endpoint: str
    kind: str
    secret: str
    notification_url: str | None  # Square
    header: str  # BigCommerce


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


class Receiver:
    def __init__(self, engine: Any, hooks: dict[tuple[str, str], Hook], *, max_body: int, tolerance: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.store = engine.store
        self.hooks = hooks
        self.max_body = max_body
        self.tolerance = tolerance
        self.clock = clock
        self.counters = WebhookCounters(self.store)
        self.seen = SeenIds()
        self._dirty: set[tuple[str, str]] = set()
        # Group commit: deliveries that arrive while a write is under way share the next one.
        self._pending: list[tuple[list[NewRecord], asyncio.Future]] = []
        self._writer: asyncio.Task | None = None

    # ---- counters ------------------------------------------------------------------------
    def count(self, tenant: str, endpoint: str, outcome: str) -> None:
        self.counters.add(tenant, endpoint, outcome)
        self._dirty.add((tenant, endpoint))

    async def flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for tenant, endpoint in dirty:
            try:
                await asyncio.to_thread(self.counters.save, tenant, endpoint)
            except StoreError as exc:
                self._dirty.add((tenant, endpoint))
                self.engine.log("store_error", error=str(exc))

    def refuse(self, hook: Hook, reason: str, status: int, detail: str = "") -> Answer:
        self.count(hook.tenant, hook.endpoint, reason)
        self.engine.log("webhook_refused", tenant=hook.tenant, endpoint=hook.endpoint, reason=reason,
                        **({"detail": detail[:200]} if detail else {}))
        return Answer(status, {"error": reason})

    # ---- one delivery ----------------------------------------------------------------------
    def too_big(self, hook: Hook) -> Answer:
        return self.refuse(hook, verify.OVERSIZED, 413, f"over {self.max_body} bytes")

    async def receive(self, hook: Hook, raw: bytes, headers: dict[str, str]) -> Answer:
        if hook.kind == "woocommerce" and verify.woocommerce_ping(raw, headers):
            self.count(hook.tenant, hook.endpoint, "ping")
            return Answer(200, {"ping": True})
        try:
            event = self._verify(hook, raw, headers)
            verify.check_fresh(event, self.clock(), self.tolerance)
        except verify.Refused as exc:
            return self.refuse(hook, exc.reason, 400 if exc.reason == verify.MALFORMED else 401, exc.detail)
        key = (hook.tenant, hook.endpoint, event.event_id)
        if not self.seen.claim(key):
            return self.refuse(hook, verify.REPLAYED, 401, f"delivery {event.event_id[:60]} seen before")
        stored = False
        try:
            answer = await self._take_in(hook, event)
            stored = answer.status == 200
            return answer
        finally:
            self.seen.done(key, stored)

    def _verify(self, hook: Hook, raw: bytes, headers: dict[str, str]) -> verify.Verified:
        if hook.kind == "shopify":
            return verify.shopify(raw, headers, hook.secret)
        if hook.kind == "square":
            return verify.square(raw, headers, hook.secret, hook.notification_url or "")
        if hook.kind == "woocommerce":
            return verify.woocommerce(raw, headers, hook.secret)
        return verify.bigcommerce(raw, headers, hook.secret, hook.header)

    async def _take_in(self, hook: Hook, event: verify.Verified) -> Answer:
        entity = events.entity_of(hook.kind, event.topic)
        tenant = self.engine.config.tenants[hook.tenant]
        flows = [f for f in tenant.flows.values() if f.source == hook.endpoint and f.entity == entity
                 and getattr(f, "enabled", True) and (hook.tenant, f.name) in self.engine.pollers]
        connector = self.engine.connectors.get((hook.tenant, hook.endpoint))
        if not flows or connector is None:
            self.count(hook.tenant, hook.endpoint, "ignored")
            return Answer(200, {"stored": 0, "ignored": event.topic})
        try:
            changes = await events.changes_for(hook.kind, connector, event)
        except verify.Refused as exc:
            return self.refuse(hook, exc.reason, 400, exc.detail)
        except DeliveryError as exc:
            self.count(hook.tenant, hook.endpoint, "fetch_failed")
            self.engine.log("webhook_fetch_failed", tenant=hook.tenant, endpoint=hook.endpoint,
                            error=f"{exc.category}: {exc.message}"[:200])
            return Answer(503, {"error": "could not read the change from the vendor; retry later"})
        records = [NewRecord(
            tenant=hook.tenant, flow=f.name, entity=f.entity, entity_key=c.entity_key,
            idempotency_key=c.idempotency_key, target=f.target, payload=c.payload, source_ts=c.changed_at,
            source_payload=c.source_payload, coalesce=f.coalesce) for f in flows for c in changes]
        try:
            inserted, late = await self._write(records)
        except StoreError as exc:
            self.count(hook.tenant, hook.endpoint, "store_failed")
            self.engine.log("store_error", error=str(exc))
            return Answer(503, {"error": "store unavailable; retry later"})
        self.count(hook.tenant, hook.endpoint, ACCEPTED)
        if late:
            self.count(hook.tenant, hook.endpoint, "out_of_order")
        if inserted:
            for target in {f.target for f in flows}:
                self.engine.wake(hook.tenant, target)
        return Answer(200, {"stored": len(records) - late, "older": late})

    async def _write(self, records: list[NewRecord]) -> tuple[int, int]:
        """Store durably; returns (records inserted in this write, records older than the store's)."""
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending.append((records, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop())
        return await future

    async def _write_loop(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                inserted, lates = await asyncio.to_thread(_store, self.store, [r for r, _ in batch])
            except BaseException as exc:  # every waiter gets the failure; nothing was committed
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else StoreError(repr(exc)))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), late in zip(batch, lates):
                if not future.done():
                    future.set_result((inserted, late))


def _store(store: Any, groups: list[list[NewRecord]]) -> tuple[int, list[int]]:
    """Enqueue every group in one transaction, except absolute values (coalescing flows) older
    than what the store or an earlier group holds for their key: an out-of-order delivery must
    not replace a newer level. Returns (inserted, per group: records left out as older)."""
    newest = _newest(store, [r for g in groups for r in g if r.coalesce])
    keep, lates = [], []
    for group in groups:
        late = 0
        for r in group:
            key = (r.tenant, r.flow, r.entity_key)
            if r.coalesce and r.source_ts < newest.get(key, 0.0):
                late += 1
                continue
            if r.coalesce:
                newest[key] = r.source_ts
            keep.append(r)
        lates.append(late)
    result = lifecycle.enqueue(store, keep)
    return len(result.inserted), lates


def _newest(store: Any, records: list[NewRecord]) -> dict[tuple[str, str, str], float]:
    out: dict[tuple[str, str, str], float] = {}
    keys = {(r.tenant, r.flow, r.entity_key) for r in records}
    if not keys:
        return out
    with store.read() as conn:
        for tenant, flow, entity_key in keys:
            ts = conn.execute(select(func.max(R.c.source_ts)).where(and_(
                R.c.tenant == tenant, R.c.flow == flow, R.c.entity_key == entity_key))).scalar()
            if ts is not None:
                out[(tenant, flow, entity_key)] = float(ts)
    return out
