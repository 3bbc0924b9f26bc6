"""The engine: one object that runs pollers on APScheduler, dispatchers, and housekeeping.

It runs on whatever asyncio loop is current: its own in `syncops engine`, the console's
when embedded. All shared state lives in the store, so consoles in other processes see
it and steer it (pause, run now) through the store as well.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections import Counter, defaultdict
from typing import Any, Callable, Mapping

from syncops import __version__
from syncops.engine.breaker import Breaker
from syncops.engine.connections import build_connector, check_flows
from syncops.engine.dispatcher import Dispatcher
from syncops.engine.events import EventLog
from syncops.engine.poller import Poller
from syncops.engine.ratelimit import Gate
from syncops.store import control, lifecycle, liveness
from syncops.store.backoff import RetryPolicy
from syncops.store.db import Store, StoreError


class EngineError(Exception):
    pass


class Engine:
    def __init__(self, config: Any, store: Store, *, url_overrides: Mapping[tuple[str, str], str] | None = None,
                 log: EventLog | None = None, mode: str = "service", idle_poll: float = 0.2,
                 heartbeat_every: float = 2.0, stale_after: float = 15.0, control_every: float = 0.5,
                 maintenance_every: float = 30.0, retention_days: float | None = 30.0,
                 get_secret: Callable[..., str] | None = None, breaker_cooldown: float = 5.0,
                 lease_seconds: float = 60.0, webhook_listen: str | None = None,
                 get_webhook_secret: Callable[..., str] | None = None) -> None:
        self.config = config
        self.store = store
        self.url_overrides = dict(url_overrides or {})
        self.log = log or EventLog()
        self.mode = mode
        self.idle_poll = idle_poll
        self.heartbeat_every = heartbeat_every
        self.stale_after = stale_after
        self.control_every = control_every
        self.maintenance_every = maintenance_every
        self.retention_days = retention_days
        self.get_secret = get_secret
        self.breaker_cooldown = breaker_cooldown
        self.lease_seconds = lease_seconds
        # Webhook intake (syncops/intake): served when the config has `webhooks:` or an endpoint
        # `webhook:`; webhook_listen overrides the address ("127.0.0.1:0" = any free port).
        self.webhook_listen = webhook_listen
        self.get_webhook_secret = get_webhook_secret
        self.intake: Any = None
        # monotonic time of the last heartbeat the store took: the systemd watchdog's evidence
        self.last_beat: float | None = None
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.engine_id = liveness.engine_id(self.host, self.pid)
        self.stopping = False
        self.started = False
        self.connectors: dict[tuple[str, str], Any] = {}
        self.dispatchers: dict[tuple[str, str], Dispatcher] = {}
        self.pollers: dict[tuple[str, str], Poller] = {}
        self.breakers: dict[tuple[str, str], Breaker] = {}
        self.gates: dict[tuple[str, str], Gate] = {}
        self.paused: set[tuple[str, str]] = set()
        self._maps: dict[str, dict[str, dict[str, str]]] = {}
        self._run_now_seen: dict[tuple[str, str], float] = {}
        self._tasks: list[asyncio.Task] = []
        self._side: set[asyncio.Task] = set()
        self.scheduler: Any = None
        self.delivered: Counter = Counter()
        self.failed_by_category: Counter = Counter()
        self.latencies: dict[tuple[str, str], list[float]] = defaultdict(list)

    # ---- lookups used by pollers and dispatchers -------------------------------------------
    def flow(self, tenant: str, name: str) -> Any:
        return self.config.tenants[tenant].flows[name]

    def is_paused(self, tenant: str, flow: str) -> bool:
        return (tenant, flow) in self.paused

    def policy_for(self, tenant: str, flow: str) -> Any:
        try:
            return self.flow(tenant, flow).retry
        except KeyError:
            return RetryPolicy()

    def maps_for(self, tenant: str) -> dict[str, dict[str, str]]:
        return self._maps.get(tenant) or {k: dict(v) for k, v in self.config.tenants[tenant].mappings.items()}

    def breaker_for(self, tenant: str, endpoint: str) -> Breaker:
        key = (tenant, endpoint)
        if key not in self.breakers:
            self.breakers[key] = Breaker(clock=self.store.clock, cooldown=self.breaker_cooldown)
        return self.breakers[key]

    def gate_for(self, tenant: str, endpoint: str) -> Gate:
        """One pacing gate per endpoint, shared by its poller and dispatcher: a vendor's
        "slow down" applies to every call we make to it."""
        key = (tenant, endpoint)
        if key not in self.gates:
            self.gates[key] = Gate(clock=self.store.clock)
        return self.gates[key]

    def wake(self, tenant: str, endpoint: str) -> None:
        d = self.dispatchers.get((tenant, endpoint))
        if d is not None:
            d.wake.set()

    # ---- reporting into the store (fire and forget, off the loop) --------------------------
    def _background(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        async def run() -> None:
            try:
                await asyncio.to_thread(fn, *args, **kwargs)
            except StoreError as exc:
                self.log("store_error", error=str(exc))
        task = asyncio.get_running_loop().create_task(run())
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    def breaker_changed(self, tenant: str, endpoint: str, breaker: Breaker) -> None:
        self.log("breaker", tenant=tenant, endpoint=endpoint, state=breaker.state, failures=breaker.failures,
                 **({"error": breaker.last_error[:200]} if breaker.last_error and breaker.state != "closed" else {}))
        self._background(control.save_endpoint, self.store, tenant, endpoint, breaker=breaker.state,
                         failures=breaker.failures, opened_at=breaker.opened_at,
                         last_error=breaker.last_error if breaker.state != "closed" else "")

    def endpoint_waiting(self, tenant: str, endpoint: str, until: float, message: str) -> None:
        self.log("rate_limited", tenant=tenant, endpoint=endpoint, wait_s=round(until - self.store.clock(), 2))
        self._background(control.save_endpoint, self.store, tenant, endpoint, wait_until=until, last_error=message)

    def polled(self, tenant: str, flow: str, status: str, error: str | None) -> None:
        job = self.scheduler.get_job(f"poll:{tenant}:{flow}") if self.scheduler else None
        nxt = job.next_run_time.timestamp() if job is not None and job.next_run_time else None
        self._background(control.record_run, self.store, tenant, flow, status=status, error=error, next_run_at=nxt)

    def count_outcomes(self, tenant: str, flow: str, outcomes: list, states: dict[int, str]) -> None:
        now = self.store.clock()
        for o in outcomes:
            state = states.get(o.record.id)
            if state == "delivered":
                self.delivered[(tenant, flow)] += 1
                self.latencies[(tenant, flow)].append(now - o.record.source_ts)
            elif state is not None:
                self.failed_by_category[str(o.category)] += 1
                if state == "failed":
                    self.log("record_failed", tenant=tenant, flow=flow, record=o.record.id,
                             category=o.category, error=(o.message or "")[:160])

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        problems = check_flows(self.config)
        if problems:
            raise EngineError("these flows cannot run:\n  " + "\n  ".join(problems))
        await asyncio.to_thread(
            control.register_engine, self.store, engine_id=self.engine_id, host=self.host, pid=self.pid,
            version=__version__, mode=self.mode, stale_after=self.stale_after, exclusive=self.store.is_sqlite)
        self.last_beat = time.monotonic()  # registering was a write the store took
        try:
            await self._build()
            await self.publish_settings()
            await self._start_intake()
        except BaseException:
            await self._stop_intake()
            await asyncio.to_thread(control.unregister_engine, self.store, self.engine_id)
            await self._close_connectors()
            raise
        self.started = True
        self.log("engine_started", engine=self.engine_id, mode=self.mode, flows=len(self.pollers),
                 endpoints=len(self.dispatchers))

    async def _start_intake(self) -> None:
        settings = getattr(self.config, "webhooks", None)
        if settings is None:
            return
        from syncops.intake.server import IntakeServer

        self.intake = IntakeServer(self, settings, get_secret=self.get_webhook_secret, listen=self.webhook_listen)
        await self.intake.start()

    async def _stop_intake(self) -> None:
        if self.intake is not None:
            try:
                await self.intake.stop()
            except Exception as exc:  # never let the web server hold up a shutdown
                self.log("housekeeping_error", job="webhooks", error=repr(exc))

    async def publish_settings(self) -> None:
        """Put this engine's tenants' and flows' settings (never credentials) into the store, so a
        console or CLI call without the config still knows production flags, SLAs, flows and maps.
        Called at start; call it again whenever the engine's config changes."""
        from syncops.store import published

        await asyncio.to_thread(published.publish, self.store, self.config, self.engine_id)

    async def _build(self) -> None:
        import logging

        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        # A poll that outlasts its interval is skipped by design (max_instances=1); APScheduler
        # would warn about it on stderr, which in embedded mode is the console's screen.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)

        await self._refresh_controls()
        await self._refresh_maps()
        targets: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for tname, tenant in self.config.tenants.items():
            for fname, flow in tenant.flows.items():
                if not getattr(flow, "enabled", True):
                    continue
                for ep in (flow.source, flow.target):
                    if (tname, ep) not in self.connectors:
                        self.connectors[(tname, ep)] = build_connector(
                            tname, tenant.endpoints[ep], url_overrides=self.url_overrides,
                            clock=self.store.clock, get_secret=self.get_secret)
                self.pollers[(tname, fname)] = Poller(self, tname, flow, self.connectors[(tname, flow.source)])
                targets[(tname, flow.target)].append(flow)
        # Whatever breaker state an earlier run left in the store is stale now: start closed.
        for tname, ep in self.connectors:
            await asyncio.to_thread(control.save_endpoint, self.store, tname, ep, breaker="closed", failures=0,
                                    last_error="")
        for (tname, ep), flows in targets.items():
            self.dispatchers[(tname, ep)] = Dispatcher(self, tname, self.config.tenants[tname].endpoints[ep],
                                                       self.connectors[(tname, ep)], flows)
        self.scheduler = AsyncIOScheduler(job_defaults={"max_instances": 1, "coalesce": True,
                                                        "misfire_grace_time": 30})
        for (tname, fname), poller in self.pollers.items():
            self.scheduler.add_job(poller.run, _trigger(poller.flow.schedule), id=f"poll:{tname}:{fname}",
                                   name=f"poll {tname}/{fname}", next_run_time=_now_dt())
        for tname, tenant in self.config.tenants.items():
            schedule = getattr(tenant, "reconcile", None)
            if schedule is not None and any(
                    f.entity == "inventory" and getattr(f, "enabled", True) for f in tenant.flows.values()):
                # First check one interval after start: the first polls must have run by then.
                self.scheduler.add_job(self.run_reconcile, _trigger(schedule), args=[tname],
                                       id=f"reconcile:{tname}", name=f"reconcile {tname}")
        from syncops.config.alerts import effective_alerts

        self.scheduler.add_job(self.run_alerts, "interval", seconds=effective_alerts(self.config).every,
                               id="alerts", name="alerts")
        self.scheduler.start()  # must happen on the running loop
        self._tasks = [asyncio.create_task(d.run(), name=f"dispatch {k}") for k, d in self.dispatchers.items()]
        self._tasks += [asyncio.create_task(self._every(self.control_every, self._control), name="control"),
                        asyncio.create_task(self._every(self.heartbeat_every, self._heartbeat), name="heartbeat"),
                        asyncio.create_task(self._every(self.maintenance_every, self._maintenance), name="maint")]

    async def _every(self, seconds: float, fn: Callable[[], Any]) -> None:
        while not self.stopping:
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # housekeeping failures are logged, never fatal
                self.log("housekeeping_error", job=getattr(fn, "__name__", "?"), error=repr(exc))
            await asyncio.sleep(seconds)

    async def _refresh_controls(self) -> dict[tuple[str, str], Any]:
        rows = await asyncio.to_thread(control.controls, self.store)
        self.paused = {k for k, r in rows.items() if r.paused}
        return rows

    async def _refresh_maps(self) -> None:
        for tname in self.config.tenants:
            await self.reload_maps(tname)

    async def reload_maps(self, tenant: str) -> dict[str, dict[str, str]]:
        from syncops.services.mappings import effective_maps

        maps = await asyncio.to_thread(effective_maps, self.store, tenant, self.config.tenants[tenant].mappings)
        self._maps[tenant] = maps
        return maps

    async def _control(self) -> None:
        before = set(self.paused)
        rows = await self._refresh_controls()
        for key in before ^ self.paused:
            self.log("flow_paused" if key in self.paused else "flow_resumed", tenant=key[0], flow=key[1])
            if key not in self.paused:
                self.wake(key[0], self.flow(*key).target)
        for key, row in rows.items():
            if row.run_now_at and row.run_now_at > self._run_now_seen.get(key, 0) and key in self.pollers:
                self._run_now_seen[key] = row.run_now_at
                if self.started:
                    self.log("run_now", tenant=key[0], flow=key[1])
                    task = asyncio.create_task(self.pollers[key].run(read_ahead=False))
                    self._side.add(task)
                    task.add_done_callback(self._side.discard)
        await self._refresh_maps()

    async def _heartbeat(self) -> None:
        await asyncio.to_thread(control.beat, self.store, self.engine_id)
        await asyncio.to_thread(lifecycle.renew_leases, self.store, self.engine_id, lease_seconds=self.lease_seconds)
        self.last_beat = time.monotonic()

    async def _maintenance(self) -> None:
        n = await asyncio.to_thread(lifecycle.reclaim_expired, self.store, policy_for=self.policy_for)
        if n:
            self.log("reclaimed", records=n)
        if self.retention_days:
            from syncops.store.retention import purge, purge_stats

            purged = await asyncio.to_thread(purge, self.store, older_than_days=self.retention_days)
            minutes = await asyncio.to_thread(purge_stats, self.store, older_than_days=self.retention_days)
            if purged or minutes:
                self.log("purged", records=purged, stat_minutes=minutes)

    async def run_alerts(self) -> None:
        """Evaluate the alert rules and notify (the scheduled job; syncops.ops.alerts)."""
        from syncops.ops.alerts import run_alerts

        try:
            for done in await asyncio.to_thread(run_alerts, self.store, self.config):
                self.log("alert", event=done["event"], key=done["key"], sent=sum(done["sent"]))
        except StoreError as exc:
            self.log("store_error", error=str(exc))

    async def run_poll(self, tenant: str, flow: str) -> None:
        """Poll one flow now (tests and run-now)."""
        await self.pollers[(tenant, flow)].run()

    async def run_reconcile(self, tenant: str) -> Any:
        """Reconcile one tenant's inventory flows now (the scheduled job; tests call it too)."""
        from syncops.services.reconcile import reconcile_tenant

        if self.stopping:
            return None

        async def prepare(flow: Any) -> str | None:
            for ep in (flow.source, flow.target):
                if not self.breaker_for(tenant, ep).allows():
                    return f"{ep} unavailable (circuit open); not checked"
                if self.gate_for(tenant, ep).delay() > 0:
                    return f"{ep} asked us to wait (rate limit); not checked"
            if self.is_paused(tenant, flow.name):
                return "flow paused; not checked"
            # Pull what the source changed since the last poll first: a change we have not read
            # yet is in flight too, and would otherwise be reported as drift.
            poller = self.pollers.get((tenant, flow.name))
            if poller is not None:
                await poller.run()
            return None

        try:
            result = await reconcile_tenant(self.store, self.config.tenants[tenant],
                                            lambda ep: self.connectors[(tenant, ep)], self.maps_for(tenant),
                                            before_flow=prepare)
        except StoreError as exc:
            self.log("store_error", error=str(exc))
            return None
        s = result.summary()
        self.log("reconciled", tenant=tenant, checked=s["checked"], drifted=s["drifted"], healed=s["healed"],
                 **({"errors": "; ".join(s["errors"])[:300]} if s["errors"] else {}))
        return result

    async def stop(self, deadline: float = 10.0) -> None:
        """Stop claiming, finish or give back in-flight work within `deadline`, close down."""
        if self.stopping:
            return
        self.stopping = True
        await self._stop_intake()  # no new deliveries; the vendors retry what they could not hand over
        # Let a poll that is storing a page finish: its cursor and records commit together.
        busy = [p.lock for p in self.pollers.values() if p.lock.locked()]
        end = time.monotonic() + deadline
        while busy and time.monotonic() < end:
            await asyncio.sleep(0.05)
            busy = [lock for lock in busy if lock.locked()]
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for d in self.dispatchers.values():
            d.wake.set()
        dispatch = [t for t in self._tasks if t.get_name().startswith("dispatch")]
        others = [t for t in self._tasks if t not in dispatch]
        for t in others:
            t.cancel()
        if dispatch:
            done, pending = await asyncio.wait(dispatch, timeout=deadline + 1)
            for t in pending:
                t.cancel()
        if self._side:
            await asyncio.wait(set(self._side), timeout=2)
        await self._close_connectors()
        try:
            await asyncio.to_thread(control.unregister_engine, self.store, self.engine_id)
        except StoreError as exc:
            self.log("store_error", error=str(exc))
        self.log("engine_stopped", engine=self.engine_id)

    async def _close_connectors(self) -> None:
        for c in self.connectors.values():
            try:
                await c.aclose()
            except Exception:
                pass


def _now_dt() -> Any:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def _trigger(schedule: Any) -> Any:
    if schedule.every:
        from apscheduler.triggers.interval import IntervalTrigger

        return IntervalTrigger(seconds=schedule.every)
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(schedule.cron, timezone=schedule.timezone)
