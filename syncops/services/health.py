"""Per-flow health: the numbers `syncops status` and the console dashboard both show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncops.store import queries
from syncops.store.db import Store
from syncops.store.tables import FAILED, IN_FLIGHT, PENDING, QUARANTINED, RETRY_WAIT

OK, WARNING, CRITICAL = "ok", "warning", "critical"
LEVEL = {OK: 0, WARNING: 1, CRITICAL: 2}


@dataclass
class FlowHealth:
    tenant: str
    flow: str
    entity: str | None
    sla: float | None
    counts: dict[str, int]
    oldest_age: float | None
    p50: float | None
    p95: float | None
    delivered_series: list[int]
    paused: bool
    paused_reason: str | None
    last_run_at: float | None
    next_run_at: float | None
    last_run_status: str | None
    production: bool
    state: str = OK
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Health:
    flows: list[FlowHealth]
    engine: Any | None
    breakers: dict[tuple[str, str], Any]
    state: str
    reasons: list[str]
    # The last inventory reconciliation per tenant (syncops.store.drift.last_runs), by tenant name.
    reconciliation: list[dict[str, Any]] = field(default_factory=list)


def _grade(h: FlowHealth) -> None:
    if h.sla:
        if h.oldest_age is not None and h.oldest_age > h.sla:
            h.reasons.append(f"oldest undelivered record is {h.oldest_age:.0f}s old (SLA {h.sla:.0f}s)")
            h.state = CRITICAL
        if h.p95 is not None and h.p95 > h.sla:
            h.reasons.append(f"p95 latency {h.p95:.1f}s exceeds SLA {h.sla:.0f}s")
            h.state = CRITICAL
        if h.state == OK and h.oldest_age is not None and h.oldest_age > h.sla / 2:
            h.reasons.append(f"oldest undelivered record is {h.oldest_age:.0f}s old (over half the SLA)")
            h.state = WARNING
    if h.counts.get(FAILED):
        h.reasons.append(f"{h.counts[FAILED]} failed record(s) need a human")
        if h.state == OK:
            h.state = WARNING


def flow_health(store: Store, config: Any | None, *, minutes: int = 30, series: bool = True) -> Health:
    """Every flow's health. `series=False`: no per-minute delivered series (empty), for the fleet rollup."""
    now = store.clock()
    counts = queries.open_counts(store)
    oldest = queries.oldest_pending(store)
    activity = queries.flow_activity(store, minutes=minutes, now=now, series=series)
    controls = queries.flow_controls(store)
    keys: set[tuple[str, str]] = set(counts) | set(oldest) | set(activity)
    meta: dict[tuple[str, str], tuple[Any, Any]] = {}
    if config is not None:
        for tname, tenant in config.tenants.items():
            for fname, flow in tenant.flows.items():
                meta[(tname, fname)] = (tenant, flow)
                keys.add((tname, fname))
    flows = []
    for key in sorted(keys):
        tenant, flow = meta.get(key, (None, None))
        act = activity.get(key)
        ctl = controls.get(key)
        h = FlowHealth(
            tenant=key[0], flow=key[1], entity=getattr(flow, "entity", None), sla=getattr(flow, "sla", None),
            counts={s: counts.get(key, {}).get(s, 0) for s in (PENDING, IN_FLIGHT, RETRY_WAIT, FAILED, QUARANTINED)},
            oldest_age=(now - oldest[key]) if key in oldest else None,
            p50=act.p50 if act else None, p95=act.p95 if act else None,
            delivered_series=act.delivered_per_minute if act else [0] * minutes if series else [],
            paused=bool(ctl.paused) if ctl else False, paused_reason=ctl.paused_reason if ctl else None,
            last_run_at=ctl.last_run_at if ctl else None, next_run_at=ctl.next_run_at if ctl else None,
            last_run_status=ctl.last_run_status if ctl else None,
            production=bool(getattr(tenant, "production", False)),
        )
        _grade(h)
        flows.append(h)
    engine = queries.live_engine(store)
    breakers = queries.endpoint_states(store)
    state, reasons = OK, []
    for h in flows:
        if LEVEL[h.state] > LEVEL[state]:
            state = h.state
    for (t, e), b in breakers.items():
        if b.breaker != "closed":
            reasons.append(f"circuit breaker {t}/{e} is {b.breaker}")
            state = state if LEVEL[state] >= 1 else WARNING
    if engine is None and meta:
        reasons.append("no live engine heartbeat on this store")
        state = state if LEVEL[state] >= 1 else WARNING
    from syncops.store.drift import last_runs

    runs = last_runs(store)
    reconciliation = [dict(runs[t], tenant=t) for t in sorted(runs)]
    return Health(flows, engine, breakers, state, reasons, reconciliation)
