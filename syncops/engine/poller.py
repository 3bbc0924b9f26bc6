"""Pull changes from a flow's source and store them before moving its cursor."""

from __future__ import annotations

import asyncio
from typing import Any

from syncops.connectors.errors import DeliveryError
from syncops.store import lifecycle
from syncops.store.lifecycle import NewRecord

PAGE_LIMIT = 500
MAX_PAGES_PER_RUN = 200  # a runaway source cannot starve the loop; the next run continues


class Poller:
    def __init__(self, engine: Any, tenant: str, flow: Any, connector: Any) -> None:
        self.engine = engine
        self.store = engine.store
        self.tenant = tenant
        self.flow = flow
        self.connector = connector
        self.lock = asyncio.Lock()  # scheduled runs and run-now requests never overlap

    async def run(self, *, read_ahead: bool = True) -> None:
        """One pass. `read_ahead` (scheduled runs): first let the target's dispatcher drain a
        backlog it is busy with (see dispatcher.STALL_S); an operator's run-now goes at once."""
        if self.engine.stopping or self.engine.is_paused(self.tenant, self.flow.name):
            return
        if self.lock.locked():
            return
        dispatcher = self.engine.dispatchers.get((self.tenant, self.flow.target)) if read_ahead else None
        if dispatcher is not None:
            await dispatcher.caught_up()  # outside the lock: stop() never waits for this
            if self.engine.stopping or self.lock.locked():
                return
        async with self.lock:
            await self._run()

    async def _run(self) -> None:
        flow, tenant = self.flow, self.tenant
        breaker = self.engine.breaker_for(tenant, flow.source)
        gate = self.engine.gate_for(tenant, flow.source)
        if not breaker.allows() or gate.delay() > 0:
            return  # the endpoint is down or asked us to wait: the next scheduled run tries again
        stored = dupes = pages = 0
        status, error = "ok", None
        try:
            cursor = await asyncio.to_thread(lifecycle.load_cursor, self.store, tenant, flow.name)
            while pages < MAX_PAGES_PER_RUN and not self.engine.stopping:
                if gate.delay() > 0:
                    break
                gate.took_slot()
                page = await self.connector.pull(flow.entity, cursor, PAGE_LIMIT)
                pages += 1
                info = self.connector.last_call()
                if info.wait_seconds:
                    gate.vendor_says_wait(info.wait_seconds)
                records = [NewRecord(
                    tenant=tenant, flow=flow.name, entity=flow.entity, entity_key=c.entity_key,
                    idempotency_key=c.idempotency_key, target=flow.target, payload=c.payload,
                    source_ts=c.changed_at, source_payload=c.source_payload, coalesce=flow.coalesce,
                ) for c in page.changes]
                # Records and cursor commit together: the cursor never runs ahead of the store.
                result = await asyncio.to_thread(lifecycle.enqueue, self.store, records,
                                                 cursor=(tenant, flow.name, page.cursor))
                stored += len(result.inserted)
                dupes += result.duplicates
                cursor = page.cursor
                if result.inserted:
                    self.engine.wake(tenant, flow.target)
                if not page.has_more:
                    break
            if breaker.success():
                self.engine.breaker_changed(tenant, flow.source, breaker)
        except DeliveryError as exc:
            status, error = "error", f"{exc.category}: {exc.message}"
            if exc.category == "rate_limit":
                gate.vendor_says_wait(exc.retry_after)
            if exc.category in ("unavailable", "malformed") and breaker.failure(exc.message):
                self.engine.breaker_changed(tenant, flow.source, breaker)
        except (TypeError, KeyError, AttributeError, ValueError, IndexError, RecursionError) as exc:
            # A connector tripping over the vendor's answer: the vendor's shape, not our bug.
            status, error = "error", f"malformed: could not read the vendor's answer: {exc!r}"[:500]
            if breaker.failure(error):
                self.engine.breaker_changed(tenant, flow.source, breaker)
        except Exception as exc:  # never let one flow's bug stop the scheduler
            status, error = "error", f"unexpected: {exc!r}"
        if stored or dupes or error:
            self.engine.log("poll", tenant=tenant, flow=flow.name, pages=pages, stored=stored,
                            duplicates=dupes, **({"error": error} if error else {}))
        self.engine.polled(tenant, flow.name, status, error)
