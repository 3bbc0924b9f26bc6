"""Per-minute flow statistics: throughput and a latency histogram that merges exactly."""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from sqlalchemy.engine import Connection

from syncops.store.dialect import upsert_add_statement
from syncops.store.tables import DELIVERED, FAILED, FlowMinute

if TYPE_CHECKING:
    from syncops.store.db import Store
    from syncops.store.lifecycle import Outcome

M = FlowMinute.__table__
# Upper bounds in milliseconds; the last bucket catches everything slower.
BUCKETS_MS = (50, 100, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 300_000, 900_000,
              3_600_000, 86_400_000)


def bucket_for(latency_s: float) -> int:
    ms = max(0.0, latency_s * 1000)
    i = bisect.bisect_left(BUCKETS_MS, ms)
    return BUCKETS_MS[min(i, len(BUCKETS_MS) - 1)]


def bucket_column(upper_ms: int) -> str:
    return f"le_{upper_ms}"


_KEYS = ["tenant", "flow", "minute"]
_COUNTERS = ["delivered", "failed", "duplicates", *(f"le_{ms}" for ms in BUCKETS_MS)]


def add(store: "Store", conn: Connection, tenant: str, flow: str, now: float, *,
        delivered: int = 0, failed: int = 0, duplicates: int = 0,
        latencies: Mapping[int, int] | None = None) -> None:
    """Add to this minute's counters for a flow (latencies: {bucket upper ms: deliveries}).

    One cached statement adding every counter (zeros included): building and compiling a
    statement per call cost more than the upsert itself on the delivery hot path.
    """
    params: dict[str, Any] = dict.fromkeys(_COUNTERS, 0)
    params.update(tenant=tenant, flow=flow, minute=int(now // 60), delivered=delivered, failed=failed,
                  duplicates=duplicates)
    for ms, n in (latencies or {}).items():
        params[bucket_column(ms)] += n
    conn.execute(upsert_add_statement(store.engine.dialect.name, M, _KEYS, _COUNTERS), params)


def histogram(row: Any) -> dict[str, int]:
    """A stats row's latency histogram as {bucket upper ms: count}."""
    return {str(ms): getattr(row, bucket_column(ms)) or 0 for ms in BUCKETS_MS}


def record_outcomes(store: "Store", conn: Connection, outcomes: Sequence["Outcome"],
                    new_states: Mapping[int, str], now: float) -> None:
    per_flow: dict[tuple[str, str], dict[str, Any]] = {}
    for o in outcomes:
        state = new_states.get(o.record.id)
        if state not in (DELIVERED, FAILED):
            continue
        agg = per_flow.setdefault((o.record.tenant, o.record.flow), {"d": 0, "f": 0, "h": {}})
        if state == DELIVERED:
            agg["d"] += 1
            b = bucket_for(now - o.record.source_ts)
            agg["h"][b] = agg["h"].get(b, 0) + 1
        else:
            agg["f"] += 1
    for (tenant, flow), agg in per_flow.items():
        add(store, conn, tenant, flow, now, delivered=agg["d"], failed=agg["f"], latencies=agg["h"])


def merge_hist(hists: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for h in hists:
        for k, v in h.items():
            out[str(k)] = out.get(str(k), 0) + int(v)
    return out


def percentile(hist: Mapping[str, int], q: float) -> float | None:
    """The q-quantile in seconds, interpolated within its bucket; None without data.

    Using the bucket's upper bound would overstate latency by up to a bucket width and
    raise false SLA alarms; linear interpolation is what histogram_quantile does too.
    """
    total = sum(hist.values())
    if total == 0:
        return None
    need = q * total
    seen = 0
    for k in sorted(hist, key=int):
        upper, count = int(k), hist[k]
        if count and seen + count >= need:
            i = bisect.bisect_left(BUCKETS_MS, upper)
            lower = BUCKETS_MS[i - 1] if 0 < i <= len(BUCKETS_MS) else 0
            return (lower + (upper - lower) * (need - seen) / count) / 1000
        seen += count
    return int(max(hist, key=int)) / 1000
