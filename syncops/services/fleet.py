"""The fleet rollup: one row per tenant, worst first (the console's fleet view, `status --by-tenant`).

Built from ONE `flow_health` call (the same per-flow numbers the dashboard and `syncops status`
show), so a tenant's row can never disagree with its flows' rows; the rollup itself is a
single pass in Python over the flows, cheap even for 500 tenants x 10 flows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncops.services.health import CRITICAL, LEVEL, OK, WARNING, FlowHealth, Health, flow_health
from syncops.store.db import Store
from syncops.store.tables import FAILED, QUARANTINED

# SLA states, worst last. "-" is a tenant whose flows have no SLA.
NO_SLA, SLA_OK, SLA_WARNING, SLA_BREACH = "-", "ok", "warning", "breach"
SLA_LEVEL = {NO_SLA: -1, SLA_OK: 0, SLA_WARNING: 1, SLA_BREACH: 2}


def sla_state(h: FlowHealth, oldest_age: float | None = None) -> str:
    """A flow against its SLA: p95 latency or the oldest undelivered record past it is a breach,
    past half of it a warning (the rules of services.health's grade)."""
    if not h.sla:
        return NO_SLA
    age = h.oldest_age if oldest_age is None else oldest_age
    worst = max(v for v in (h.p95, age, 0.0) if v is not None)
    if worst > h.sla:
        return SLA_BREACH
    if worst > h.sla / 2:
        return SLA_WARNING
    return SLA_OK


@dataclass
class TenantRollup:
    tenant: str
    production: bool
    flows: int
    health: str  # worst of its flows: ok / warning / critical
    failed: int
    quarantined: int
    sla: str  # worst of its flows: - / ok / warning / breach
    oldest_age: float | None  # the oldest undelivered record of any of its flows
    paused: int  # flows paused
    breakers_open: int  # endpoints whose circuit breaker is not closed
    worst_flow: str | None  # the flow that set the health (the first to look at)
    reasons: list[str] = field(default_factory=list)  # the worst flow's reasons, then breakers

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Fleet:
    tenants: list[TenantRollup]  # worst first
    state: str
    reasons: list[str]
    health: Health  # the per-flow numbers the rollup came from (the drill-down needs no re-read)


def sort_key(t: TenantRollup) -> tuple[Any, ...]:
    """Worst first: health, then SLA, then what needs a human, then age; ties by name."""
    return (-LEVEL[t.health], -SLA_LEVEL[t.sla], -t.breakers_open, -t.failed, -t.quarantined,
            -(t.oldest_age or 0.0), -t.paused, t.tenant)


def rollup(health: Health) -> list[TenantRollup]:
    """The tenant rows of a Health, worst first (pure: no store access)."""
    rows: dict[str, TenantRollup] = {}
    worst: dict[str, FlowHealth] = {}
    for h in health.flows:
        t = rows.get(h.tenant)
        if t is None:
            t = rows[h.tenant] = TenantRollup(h.tenant, h.production, 0, OK, 0, 0, NO_SLA, None, 0, 0, None)
        t.flows += 1
        t.production = t.production or h.production
        t.failed += h.counts.get(FAILED, 0)
        t.quarantined += h.counts.get(QUARANTINED, 0)
        t.paused += int(h.paused)
        s = sla_state(h)
        if SLA_LEVEL[s] > SLA_LEVEL[t.sla]:
            t.sla = s
        if h.oldest_age is not None and (t.oldest_age is None or h.oldest_age > t.oldest_age):
            t.oldest_age = h.oldest_age
        w = worst.get(h.tenant)
        if w is None or LEVEL[h.state] > LEVEL[w.state]:
            worst[h.tenant] = h
    for (tenant, endpoint), b in health.breakers.items():
        if b.breaker == "closed":
            continue
        t = rows.get(tenant)
        if t is None:  # a tenant the store knows only from its endpoints
            t = rows[tenant] = TenantRollup(tenant, False, 0, OK, 0, 0, NO_SLA, None, 0, 0, None)
        t.breakers_open += 1
        t.reasons.append(f"circuit breaker {endpoint} is {b.breaker}")
    for tenant, t in rows.items():
        w = worst.get(tenant)
        if w is not None:
            t.health = w.state
            t.worst_flow = w.flow if w.state != OK else None
            t.reasons[:0] = [f"{w.flow}: {r}" for r in w.reasons]
        if t.breakers_open and t.health == OK:
            t.health = WARNING  # an open breaker is a warning for the whole store too
    return sorted(rows.values(), key=sort_key)


def fleet(store: Store, config: Any | None) -> Fleet:
    h = flow_health(store, config, series=False)  # no sparklines in a rollup: the slowest part skipped
    tenants = rollup(h)
    state = max([h.state] + [t.health for t in tenants], key=LEVEL.__getitem__)
    return Fleet(tenants, state, h.reasons, h)


__all__ = ["CRITICAL", "Fleet", "TenantRollup", "fleet", "rollup", "sla_state", "sort_key"]
