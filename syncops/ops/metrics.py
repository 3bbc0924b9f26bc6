"""Prometheus metrics from the store (and the running engine's counters, when given).

`metrics_response(store, engine=None) -> (body, content type)` is what GET /metrics serves. Every call
builds a fresh CollectorRegistry (never the global one) from one read of the store, so several stores
or engines in one process never mix. Labels are bounded: tenant, flow, endpoint, state, category,
rule; never entity keys or record ids.
"""

from __future__ import annotations

import math
from typing import Any, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from syncops.ops import meta
from syncops.store import queries
from syncops.store.db import Store
from syncops.store.stats import BUCKETS_MS, histogram, merge_hist
from syncops.store.tables import EXCEPTION_STATES, OPEN_STATES, FlowMinute, Record

WINDOW_MINUTES = 30  # the latency histogram and delivery counts cover the same window as `status`
BREAKER_STATES = ("closed", "half_open", "open")


class StoreCollector:
    def __init__(self, store: Store, engine: Any = None) -> None:
        self.store, self.engine = store, engine

    def collect(self) -> Iterator[Any]:
        from sqlalchemy import func, select

        store, now = self.store, self.store.clock()
        counts = queries.open_counts(store)
        g = GaugeMetricFamily("syncops_records", "Unfinished records by state", labels=["tenant", "flow", "state"])
        for (t, f), by_state in sorted(counts.items()):
            for state in OPEN_STATES:
                g.add_metric([t, f, state], by_state.get(state, 0))
        yield g

        g = GaugeMetricFamily("syncops_oldest_waiting_seconds", "Age of the oldest undelivered record",
                              labels=["tenant", "flow"])
        for (t, f), created in sorted(queries.oldest_pending(store).items()):
            g.add_metric([t, f], max(0.0, now - created))
        yield g

        R = Record.__table__
        with store.read() as conn:
            rows = conn.execute(select(R.c.tenant, R.c.flow, R.c.error_category, func.count())
                                .where(R.c.state.in_(EXCEPTION_STATES))
                                .group_by(R.c.tenant, R.c.flow, R.c.error_category)).all()
            first = int(now // 60) - WINDOW_MINUTES + 1
            M = FlowMinute.__table__
            minutes = conn.execute(select(M).where(M.c.minute >= first, M.c.minute <= int(now // 60))).all()
        g = GaugeMetricFamily("syncops_exceptions", "Records in failed, retry_wait or quarantined, by category",
                              labels=["tenant", "flow", "category"])
        for t, f, c, n in sorted(rows, key=lambda r: (r[0], r[1], r[2] or "")):
            g.add_metric([t, f, c or "unknown"], n)
        yield g
        yield from self._window(minutes)
        yield from self._endpoints(now)
        yield from self._webhooks()
        yield from self._engine(now)
        yield from self._alerts()

    def _window(self, minutes: list[Any]) -> Iterator[Any]:
        per: dict[tuple[str, str], list[Any]] = {}
        for row in minutes:
            per.setdefault((row.tenant, row.flow), []).append(row)
        d = GaugeMetricFamily("syncops_delivered_window", f"Deliveries in the last {WINDOW_MINUTES} minutes",
                              labels=["tenant", "flow"])
        fl = GaugeMetricFamily("syncops_failed_window", f"Failed deliveries in the last {WINDOW_MINUTES} minutes",
                               labels=["tenant", "flow"])
        h = HistogramMetricFamily("syncops_delivery_latency_seconds",
                                  f"Source change to delivery, last {WINDOW_MINUTES} minutes",
                                  labels=["tenant", "flow"])
        for key, items in sorted(per.items()):
            d.add_metric(list(key), sum(r.delivered for r in items))
            fl.add_metric(list(key), sum(r.failed for r in items))
            hist = merge_hist(histogram(r) for r in items)
            cumulative, buckets = 0, []
            for ms in BUCKETS_MS:
                cumulative += hist.get(str(ms), 0)
                buckets.append((_le(ms / 1000), cumulative))
            buckets.append(("+Inf", cumulative))
            # Bucket midpoints stand in for the exact sum, which the per-minute table does not keep.
            total = sum(hist.get(str(ms), 0) * ms / 2000 for ms in BUCKETS_MS)
            h.add_metric(list(key), buckets, total)
        yield d
        yield fl
        yield h

    def _endpoints(self, now: float) -> Iterator[Any]:
        b = GaugeMetricFamily("syncops_breaker_state", "Circuit breaker state (1 = current)",
                              labels=["tenant", "endpoint", "state"])
        w = GaugeMetricFamily("syncops_rate_limit_wait_seconds", "Seconds the vendor asked us to wait, remaining",
                              labels=["tenant", "endpoint"])
        for (t, e), row in sorted(queries.endpoint_states(self.store).items()):
            for state in BREAKER_STATES:
                b.add_metric([t, e, state], 1.0 if row.breaker == state else 0.0)
            w.add_metric([t, e], max(0.0, (row.wait_until or 0) - now))
        yield b
        yield w

    def _webhooks(self) -> Iterator[Any]:
        c = CounterMetricFamily("syncops_webhook_verifications", "Webhook deliveries by verification result",
                                labels=["tenant", "endpoint", "result"])
        for result in ("accepted", "refused"):
            for key, value in sorted(meta.scan(self.store, f"webhooks:{result}:").items()):
                tenant, _, endpoint = key.split(":", 2)[2].partition("/")
                c.add_metric([tenant, endpoint, result], meta.counter(value))
        yield c

    def _engine(self, now: float) -> Iterator[Any]:
        engines = [e for e in queries.engines(self.store) if e.stopped_at is None]
        g = GaugeMetricFamily("syncops_engine_heartbeat_age_seconds", "Seconds since the newest engine heartbeat")
        if engines:
            g.add_metric([], max(0.0, now - max(e.beat_at for e in engines)))
        yield g
        up = GaugeMetricFamily("syncops_engine_up", "1 when an engine heartbeat is live")
        up.add_metric([], 1.0 if queries.live_engine(self.store) is not None else 0.0)
        yield up
        if self.engine is None:
            return
        d = CounterMetricFamily("syncops_engine_deliveries", "Records delivered by this engine process",
                                labels=["tenant", "flow"])
        for (t, f), n in sorted(self.engine.delivered.items()):
            d.add_metric([t, f], n)
        yield d
        f = CounterMetricFamily("syncops_engine_failures", "Delivery failures by this engine process",
                                labels=["category"])
        for cat, n in sorted(self.engine.failed_by_category.items()):
            f.add_metric([cat], n)
        yield f

    def _alerts(self) -> Iterator[Any]:
        from syncops.ops.alerts import firing

        g = GaugeMetricFamily("syncops_alerts_firing", "Alerts firing now", labels=["tenant", "rule", "silenced"])
        per: dict[tuple[str, str, str], int] = {}
        for doc in firing(self.store):
            k = (doc["tenant"], doc["rule"], "true" if doc.get("silenced_until") else "false")
            per[k] = per.get(k, 0) + 1
        for k, n in sorted(per.items()):
            g.add_metric(list(k), n)
        yield g


def _le(seconds: float) -> str:
    return repr(float(seconds)) if not math.isinf(seconds) else "+Inf"


def registry(store: Store, engine: Any = None) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StoreCollector(store, engine))
    return reg


def metrics_response(store: Store, engine: Any = None) -> tuple[bytes, str]:
    """The body and content type of GET /metrics."""
    return generate_latest(registry(store, engine)), CONTENT_TYPE_LATEST
