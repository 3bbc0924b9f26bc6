"""Alert rules evaluated against the store: which conditions hold right now.

Each condition has a stable key (rule + tenant + flow or endpoint): the notifier keeps one alert per key
until the condition clears. Nothing here sends anything; `syncops.ops.alerts` decides what to notify.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select

from syncops.config.alerts import effective_alerts
from syncops.ops import meta
from syncops.store import queries
from syncops.store.db import Store
from syncops.store.tables import EXCEPTION_STATES, IN_FLIGHT, PENDING, RETRY_WAIT, Record

RULES = ("sla_breach", "failures", "new_error_signature", "breaker_open", "oldest_waiting",
         "heartbeat_missing", "webhook_refused")
FLEET = "*"  # tenant of fleet-wide conditions (the engine heartbeat)
MEMORY_KEY = "alerts:memory"  # known error signatures and webhook counter samples
WEBHOOK_PREFIX = "webhooks:refused:"
MAX_SIGNATURES = 20  # new-signature alerts per flow and evaluation: a storm is one page, not a hundred


@dataclass
class Condition:
    key: str
    rule: str
    tenant: str
    flow: str | None  # or None for endpoint / fleet conditions
    endpoint: str | None
    problem: str  # what is wrong, in words
    since: float
    records: int
    command: str  # the CLI command that opens it
    console: str  # the console jump that opens it
    severity: str = "critical"
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cmd(tenant: str, flow: str, *states: str, older: float | None = None) -> str:
    parts = ["syncops records list", f"--tenant {tenant}", f"--flow {flow}", *(f"--state {s}" for s in states)]
    if older:
        parts.append(f"--older-than {int(older)}s")
    return " ".join(parts)


def evaluate(store: Store, config: Any, *, only: tuple[str, ...] | None = None) -> list[Condition]:
    """Conditions holding now under `config`'s alert rules; `only` limits the rules checked."""
    want = set(only or RULES)
    now = store.clock()
    out: list[Condition] = []
    memory = meta.get(store, MEMORY_KEY) or {}
    if want - {"heartbeat_missing"}:
        out += _flow_conditions(store, config, now, want, memory)
    if "heartbeat_missing" in want:
        out += _heartbeat(store, config, now)
    if "webhook_refused" in want:
        out += _webhooks(store, config, now, memory)
    if want & {"new_error_signature", "webhook_refused"}:
        meta.put(store, MEMORY_KEY, memory)
    return out


def _flow_conditions(store: Store, config: Any, now: float, want: set[str], memory: dict) -> list[Condition]:
    from syncops.services.health import flow_health

    h = flow_health(store, config)
    windows = {effective_alerts(config, f.tenant).rules.failure_window for f in h.flows}
    activity = {w: queries.flow_activity(store, minutes=max(1, math.ceil(w / 60)), now=now) for w in windows}
    out: list[Condition] = []
    for f in h.flows:
        rules = effective_alerts(config, f.tenant).rules
        waiting = sum(f.counts.get(s, 0) for s in (PENDING, IN_FLIGHT, RETRY_WAIT))
        jump = f":flow {f.flow}"
        if "sla_breach" in want and rules.sla_breach and f.sla:
            late_oldest = f.oldest_age is not None and f.oldest_age > f.sla
            late_p95 = f.p95 is not None and f.p95 > f.sla
            if late_oldest or late_p95:
                what = (f"oldest undelivered record is {f.oldest_age:.0f}s old, over the {f.sla:.0f}s SLA"
                        if late_oldest else f"p95 delivery latency {f.p95:.1f}s exceeds the {f.sla:.0f}s SLA")
                since = now - f.oldest_age + f.sla if late_oldest else now
                out.append(Condition(f"sla_breach:{f.tenant}/{f.flow}", "sla_breach", f.tenant, f.flow, None,
                                     f"SLA breach: {what}", since, waiting,
                                     _cmd(f.tenant, f.flow, PENDING, RETRY_WAIT, older=f.sla), jump))
        if "oldest_waiting" in want and rules.oldest_waiting and f.oldest_age and f.oldest_age > rules.oldest_waiting:
            out.append(Condition(f"oldest_waiting:{f.tenant}/{f.flow}", "oldest_waiting", f.tenant, f.flow, None,
                                 f"oldest waiting record is {f.oldest_age:.0f}s old (limit {rules.oldest_waiting:.0f}s)",
                                 now - f.oldest_age + rules.oldest_waiting, waiting,
                                 _cmd(f.tenant, f.flow, PENDING, RETRY_WAIT, older=rules.oldest_waiting), jump,
                                 severity="warning"))
        act = activity[rules.failure_window].get((f.tenant, f.flow))
        if "failures" in want and act is not None and act.failed:
            delivered = sum(act.delivered_per_minute)
            total = delivered + act.failed
            rate = act.failed / total if total else 0.0
            by_count = rules.failed_count is not None and act.failed >= rules.failed_count
            by_rate = rules.failure_rate is not None and total >= rules.failure_min and rate >= rules.failure_rate
            if by_count or by_rate:
                mins = max(1, math.ceil(rules.failure_window / 60))
                out.append(Condition(f"failures:{f.tenant}/{f.flow}", "failures", f.tenant, f.flow, None,
                                     f"{act.failed} failed deliveries in the last {mins} min "
                                     f"({rate:.0%} of {total})", now - rules.failure_window,
                                     f.counts.get("failed", 0), _cmd(f.tenant, f.flow, "failed"), jump,
                                     details={"failed": act.failed, "delivered": delivered}))
    if "new_error_signature" in want:
        out += _signatures(store, config, now, memory)
    if "breaker_open" in want:
        out += _breakers(config, h.breakers, now)
    return out


def _signatures(store: Store, config: Any, now: float, memory: dict) -> list[Condition]:
    R = Record.__table__
    stmt = (select(R.c.tenant, R.c.flow, R.c.error_signature, R.c.error_category, func.count(),
                   func.max(R.c.error_message), func.min(R.c.updated_at))
            .where(R.c.state.in_(EXCEPTION_STATES), R.c.error_signature.is_not(None))
            .group_by(R.c.tenant, R.c.flow, R.c.error_signature, R.c.error_category))
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    seeded = "signatures" in memory
    known: dict[str, list[str]] = memory.setdefault("signatures", {})
    out: list[Condition] = []
    per_flow: dict[str, int] = {}
    for tenant, flow, sig, category, n, message, first in rows:
        slot = f"{tenant}/{flow}"
        seen = known.setdefault(slot, [])
        key = f"new_error_signature:{slot}:{sig}"
        if sig not in seen:
            seen.append(sig)
            del seen[:-500]
            if not seeded or not effective_alerts(config, tenant).rules.new_error_signature:
                continue  # the first evaluation learns what is already there
            memory.setdefault("new", {})[key] = first
        if key in memory.get("new", {}) and per_flow.get(slot, 0) < MAX_SIGNATURES:
            per_flow[slot] = per_flow.get(slot, 0) + 1
            out.append(Condition(key, "new_error_signature", tenant, flow, None,
                                 f"new error ({category or 'unknown'}): {(message or '')[:160]}",
                                 memory["new"][key], n, _cmd(tenant, flow, "failed") + f" --error {sig[:40]!r}",
                                 f":flow {flow}", severity="warning", details={"signature": sig}))
    open_keys = {c.key for c in out}
    memory["new"] = {k: v for k, v in memory.get("new", {}).items() if k in open_keys}
    return out


def _breakers(config: Any, breakers: dict, now: float) -> list[Condition]:
    out = []
    for (tenant, endpoint), b in breakers.items():
        limit = effective_alerts(config, tenant).rules.breaker_open
        if limit is None or b.breaker != "open" or b.opened_at is None or now - b.opened_at < limit:
            continue
        out.append(Condition(f"breaker_open:{tenant}/{endpoint}", "breaker_open", tenant, None, endpoint,
                             f"circuit breaker for endpoint {endpoint} open for {now - b.opened_at:.0f}s"
                             + (f": {b.last_error[:160]}" if b.last_error else ""),
                             b.opened_at, 0, f"syncops status; syncops records list --tenant {tenant} --state retry_wait",
                             f":tenant {tenant}"))
    return out


def _heartbeat(store: Store, config: Any, now: float) -> list[Condition]:
    limit = effective_alerts(config).rules.heartbeat_missing
    if limit is None or not getattr(config, "tenants", None):
        return []
    engines = queries.engines(store)
    running = [e for e in engines if e.stopped_at is None]
    last = max((e.beat_at for e in running), default=None)
    if last is not None and now - last <= limit:
        return []
    since = last if last is not None else max((e.stopped_at or e.beat_at for e in engines), default=now)
    what = (f"no engine heartbeat for {now - last:.0f}s (limit {limit:.0f}s)" if last is not None
            else "no engine is running on this store")
    return [Condition(f"heartbeat_missing:{FLEET}", "heartbeat_missing", FLEET, None, None, what, since, 0,
                      "syncops status; systemctl status syncops", ":dashboard")]


def _webhooks(store: Store, config: Any, now: float, memory: dict) -> list[Condition]:
    samples: dict[str, list] = memory.setdefault("webhooks", {})
    out = []
    for key, value in meta.scan(store, WEBHOOK_PREFIX).items():
        slot = key[len(WEBHOOK_PREFIX):]
        tenant, _, endpoint = slot.partition("/")
        rules = effective_alerts(config, tenant).rules
        count = meta.counter(value)
        series = [s for s in samples.get(slot, []) if now - s[0] <= rules.webhook_window]
        series.append([now, count])
        samples[slot] = series
        base = min(s[1] for s in series)
        rise = count - base if count >= base else count  # a reset counter starts again from 0
        if rules.webhook_refused is not None and rise >= rules.webhook_refused:
            out.append(Condition(f"webhook_refused:{slot}", "webhook_refused", tenant, None, endpoint,
                                 f"{rise} webhook deliveries to {endpoint} refused (bad or missing signature) "
                                 f"in the last {rules.webhook_window / 60:.0f} min",
                                 min(s[0] for s in series if s[1] == base), rise,
                                 f"syncops status --json  # webhooks:refused:{slot}", f":tenant {tenant}"))
    return out
