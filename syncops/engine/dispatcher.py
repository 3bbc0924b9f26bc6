"""Deliver claimed records to one endpoint: map, validate, push in batches, settle each record.

One Dispatcher per (tenant, target endpoint). Store calls run in a worker thread so the
event loop (shared with the console when embedded) never blocks on SQLite.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

from syncops.connectors.base import SOURCE_PROBLEM, Delivery, ItemResult
from syncops.connectors.errors import DeliveryError
from syncops.mapping import UnmappedValue, apply_mappings
from syncops.models.registry import PayloadInvalid, validate_payload
from syncops.store import lifecycle
from syncops.store.categories import Category
from syncops.store.db import StoreError
from syncops.store.lifecycle import Claimed, Outcome

LEASE_SECONDS = 60.0
# Read-ahead: while claims come back full the target has a backlog, and a new poll pass only
# competes with its delivery (one process, one GIL) for records that would queue behind it.
# The hold ends when a claim comes back short, when no full claim came for STALL_S (the
# dispatcher is stuck behind a gate, a breaker or a slow target), or after MAX_HOLD_S.
STALL_S = 2.0
MAX_HOLD_S = 30.0


class Dispatcher:
    def __init__(self, engine: Any, tenant: str, endpoint: Any, connector: Any, flows: list[Any], *,
                 concurrency: int = 2) -> None:
        self.engine = engine
        self.store = engine.store
        self.tenant = tenant
        self.endpoint = endpoint
        self.connector = connector
        self.flows = {f.name: f for f in flows}
        self.gate = engine.gate_for(tenant, endpoint.name)
        self.breaker = engine.breaker_for(tenant, endpoint.name)
        self.wake = asyncio.Event()
        self.slots = asyncio.Semaphore(concurrency)
        self.batch = max(1, min(min(f.batch_size for f in flows), connector.max_batch))
        self.inflight: set[asyncio.Task] = set()
        self.claimed_ids: set[int] = set()
        self.log = engine.log
        self._caught_up = asyncio.Event()
        self._caught_up.set()
        self._last_full = 0.0  # loop time of the last claim that came back full

    def active_flows(self) -> list[str]:
        return [n for n in self.flows if not self.engine.is_paused(self.tenant, n)]

    async def run(self) -> None:
        try:
            while not self.engine.stopping:
                try:
                    await self._step()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a store hiccup must not kill delivery for good
                    self.log("dispatch_error", tenant=self.tenant, endpoint=self.endpoint.name, error=repr(exc))
                    self._caught_up.set()
                    await self._idle(1.0)
        finally:
            self._caught_up.set()  # no poller waits for a dispatcher that has stopped
        await self.drain()

    async def caught_up(self, *, stall: float = STALL_S, ceiling: float = MAX_HOLD_S) -> float:
        """Wait until the backlog is drained (see STALL_S); returns the seconds waited."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        while not self._caught_up.is_set() and not self.engine.stopping:
            timeout = min(start + ceiling, self._last_full + stall) - loop.time()
            if timeout <= 0:
                break
            try:
                await asyncio.wait_for(self._caught_up.wait(), timeout=timeout)
            except asyncio.TimeoutError:
                pass
        return loop.time() - start

    def _claimed(self, n: int, limit: int) -> None:
        if n >= limit > 1:
            self._last_full = asyncio.get_running_loop().time()
            self._caught_up.clear()
        else:
            self._caught_up.set()

    async def _idle(self, seconds: float) -> None:
        self.wake.clear()
        try:
            await asyncio.wait_for(self.wake.wait(), timeout=max(0.01, seconds))
        except asyncio.TimeoutError:
            pass

    async def _step(self) -> None:
        flows = self.active_flows()
        if not flows:
            await self._idle(0.5)
            return
        if not self.breaker.allows():
            await self._idle(min(1.0, self.breaker.retry_in()))
            return
        wait = self.gate.delay()
        if wait > 0:
            await self._idle(min(wait, 1.0))
            return
        probing = self.breaker.probing
        if probing and self.inflight:
            await self._idle(0.2)  # one probe at a time while half-open
            return
        await self.slots.acquire()
        if self.engine.stopping:  # stopped while waiting for a slot: claim nothing new
            self.slots.release()
            return
        try:
            claimed = await asyncio.to_thread(
                lifecycle.claim, self.store, tenant=self.tenant, target=self.endpoint.name,
                owner=self.engine.engine_id, limit=1 if probing else self.batch,
                lease_seconds=self.engine.lease_seconds, flows=flows)
        except BaseException:
            self.slots.release()
            raise
        self._claimed(len(claimed), 1 if probing else self.batch)
        if not claimed:
            self.slots.release()
            await self._idle(self.engine.idle_poll)
            return
        self.claimed_ids.update(c.id for c in claimed)
        task = asyncio.create_task(self._deliver_all(claimed))
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    async def _deliver_all(self, claimed: list[Claimed]) -> None:
        try:
            groups: dict[str, list[Claimed]] = defaultdict(list)
            for c in claimed:
                groups[c.flow].append(c)
            for flow_name, records in groups.items():
                await self._deliver(self.flows[flow_name], records)
        except StoreError as exc:
            self.log("deliver_error", tenant=self.tenant, endpoint=self.endpoint.name, error=str(exc))
            # The store hiccuped: put the batch back untouched; it is not the records' fault.
            await asyncio.to_thread(lifecycle.defer, self.store, self.engine.engine_id,
                                    [c.id for c in claimed], until=self.store.clock() + 5)
        except Exception as exc:
            # Something nobody classified: count it as an attempt, so a poison batch ends in
            # `failed` for a human instead of looping. The call may have gone out, so its outcome
            # is unknown; an answer the connector could not take apart is the vendor's shape.
            self.log("deliver_error", tenant=self.tenant, endpoint=self.endpoint.name, error=repr(exc))
            shape = isinstance(exc, (TypeError, KeyError, AttributeError, ValueError, IndexError, RecursionError))
            category = Category.MALFORMED if shape else Category.UNKNOWN
            what = "could not read the vendor's answer" if shape else "unexpected error while delivering"
            outcomes = [Outcome(c, category, f"{what}: {exc!r}"[:500], maybe_applied=True) for c in claimed]
            await asyncio.to_thread(lifecycle.settle, self.store, self.engine.engine_id, outcomes,
                                    endpoint=self.endpoint.name, policy_for=self.engine.policy_for)
        finally:
            self.claimed_ids.difference_update(c.id for c in claimed)
            self.slots.release()
            self.wake.set()

    async def _prepare(self, flow: Any, records: list[Claimed]) -> tuple[list[tuple[Claimed, dict, list]], list[Outcome]]:
        maps = self.engine.maps_for(self.tenant)
        reloaded = False
        ready, outcomes = [], []
        for rec in records:
            if isinstance(rec.payload, dict) and SOURCE_PROBLEM in rec.payload:
                outcomes.append(Outcome(rec, Category.VALIDATION, str(rec.payload[SOURCE_PROBLEM])[:1000]))
                continue
            try:
                try:
                    mapped, applied = apply_mappings(flow.entity, rec.payload, dict(flow.mappings), maps)
                except UnmappedValue:
                    if reloaded:
                        raise
                    # An operator may have just added the entry (and released this record):
                    # look at the store once before failing it again.
                    maps = await self.engine.reload_maps(self.tenant)
                    reloaded = True
                    mapped, applied = apply_mappings(flow.entity, rec.payload, dict(flow.mappings), maps)
            except UnmappedValue as exc:
                outcomes.append(Outcome(rec, Category.MAPPING, str(exc), error_map=exc.map_name,
                                        error_value=str(exc.value)))
                continue
            try:
                validate_payload(flow.entity, mapped)
            except PayloadInvalid as exc:
                outcomes.append(Outcome(rec, Category.VALIDATION, str(exc)))
                continue
            ready.append((rec, mapped, applied))
        return ready, outcomes

    async def _deliver(self, flow: Any, records: list[Claimed]) -> None:
        ready, outcomes = await self._prepare(flow, records)
        if ready:
            delivered: dict[str, dict] = {}
            unknown: dict[str, list[dict]] = {}
            if flow.entity == "inventory":
                delivered, unknown = await asyncio.to_thread(
                    lifecycle.baselines, self.store, self.tenant, flow.name, [r.entity_key for r, _, _ in ready])
            deliveries = []
            for rec, mapped, _ in ready:
                # After a conflict a human chose to send it again: overwrite, don't compare.
                prev = None if rec.overwrite else delivered.get(rec.entity_key)
                deliveries.append(Delivery(rec.id, rec.delivery_key, rec.entity_key, mapped,
                                           expected_previous=prev,
                                           possible_previous=tuple(unknown.get(rec.entity_key, ())),
                                           outcome_unknown=rec.outcome_unknown))
            outcomes += await self._push(flow, ready, deliveries)
        if outcomes:
            states = await asyncio.to_thread(
                lifecycle.settle, self.store, self.engine.engine_id, outcomes, endpoint=self.endpoint.name,
                policy_for=self.engine.policy_for)
            self.engine.count_outcomes(self.tenant, flow.name, outcomes, states)

    async def _push(self, flow: Any, ready: list[tuple[Claimed, dict, list]],
                    deliveries: list[Delivery]) -> list[Outcome]:
        self.gate.took_slot()
        started = time.perf_counter()
        try:
            results = await self.connector.push(flow.entity, deliveries)
        except DeliveryError as exc:
            return await self._whole_call_failed(flow, [r for r, _, _ in ready], exc,
                                                 (time.perf_counter() - started) * 1000)
        ms = (time.perf_counter() - started) * 1000
        self._observe_limits()
        if self.breaker.success():
            self.engine.breaker_changed(self.tenant, self.endpoint.name, self.breaker)
        self.gate.call_succeeded()
        by_id = {r.record_id: r for r in results}
        out = []
        for rec, _mapped, applied in ready:
            res = by_id.get(rec.id) or ItemResult(rec.id, DeliveryError(
                Category.UNKNOWN, "connector returned no result for this record"))
            out.append(self._outcome(rec, res, applied, ms / max(1, len(ready))))
        return out

    def _outcome(self, rec: Claimed, res: ItemResult, applied: list, ms: float) -> Outcome:
        summary = res.request_summary
        if applied:
            maps = ", ".join(sorted({f"{a.map}:{a.source}->{a.target}" for a in applied}))
            summary = (summary + " | " if summary else "") + f"maps {maps}"
        err = res.error
        if err is None:
            return Outcome(rec, None, res.note, status=res.status, duration_ms=ms, request_summary=summary,
                           response_excerpt=res.response_excerpt, target_ref=res.target_ref)
        if err.category == Category.DUPLICATE and res.target_ref:
            # The target already has this document (an earlier delivery whose answer we
            # lost): link it instead of creating a second one.
            return Outcome(rec, None, f"already at target, linked to {res.target_ref}", status=res.status,
                           duration_ms=ms, request_summary=summary,
                           response_excerpt=res.response_excerpt or err.message, target_ref=res.target_ref)
        return Outcome(rec, err.category, err.message, retry_after=err.retry_after, status=err.status or res.status,
                       duration_ms=ms, request_summary=summary,
                       response_excerpt=err.response_excerpt or res.response_excerpt,
                       maybe_applied=err.maybe_applied)

    async def _whole_call_failed(self, flow: Any, records: list[Claimed], exc: DeliveryError,
                                 ms: float) -> list[Outcome]:
        self.log("push_failed", tenant=self.tenant, endpoint=self.endpoint.name, flow=flow.name,
                 category=exc.category, records=len(records), error=exc.message[:200])
        if exc.category == Category.RATE_LIMIT:
            # The vendor refused before doing anything and told us (or we infer) when to come
            # back: wait exactly that long, without spending the records' attempts.
            waited = self.gate.vendor_says_wait(exc.retry_after)
            self.engine.endpoint_waiting(self.tenant, self.endpoint.name, self.gate.wait_until, exc.message)
            await asyncio.to_thread(lifecycle.defer, self.store, self.engine.engine_id, [r.id for r in records],
                                    until=self.gate.wait_until,
                                    reason=f"rate limited by {self.endpoint.name}: waiting {waited:.1f}s",
                                    category=Category.RATE_LIMIT)
            return []
        if exc.category in (Category.UNAVAILABLE, Category.MALFORMED):
            # An endpoint answering garbage is as broken as one not answering.
            if self.breaker.failure(exc.message):
                self.engine.breaker_changed(self.tenant, self.endpoint.name, self.breaker)
            if self.breaker.state != "closed":
                # The endpoint is down as a whole: records wait for it without burning
                # their attempts, so a long outage cannot fail them.
                until = self.store.clock() + max(self.breaker.retry_in(), 0.1)
                await asyncio.to_thread(lifecycle.defer, self.store, self.engine.engine_id, [r.id for r in records],
                                        until=until, reason=f"{self.endpoint.name} unavailable, circuit open: "
                                        f"{exc.message[:200]}", category=exc.category,
                                        maybe_applied=exc.maybe_applied)
                return []
        return [Outcome(r, exc.category, exc.message, retry_after=exc.retry_after, status=exc.status,
                        duration_ms=ms, response_excerpt=exc.response_excerpt, maybe_applied=exc.maybe_applied)
                for r in records]

    def _observe_limits(self) -> None:
        info = self.connector.last_call()
        if info.wait_seconds:
            self.gate.vendor_says_wait(info.wait_seconds)

    async def drain(self, deadline: float = 10.0) -> None:
        """Finish in-flight batches within the deadline; give back whatever is still leased."""
        if self.inflight:
            done, pending = await asyncio.wait(set(self.inflight), timeout=deadline)
            for t in pending:
                t.cancel()
        if self.claimed_ids:
            ids = list(self.claimed_ids)
            await asyncio.to_thread(lifecycle.defer, self.store, self.engine.engine_id, ids,
                                    until=self.store.clock(), reason="engine stopped before delivery")
            self.claimed_ids.clear()
