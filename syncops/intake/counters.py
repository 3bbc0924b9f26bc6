"""Webhook outcomes per tenant/endpoint: in memory for /metrics, and in the store's key/value
table (syncops_meta, key "webhooks:<tenant>/<endpoint>") so `status` and consoles in other
processes see them and they survive a restart. No schema change."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

from sqlalchemy import select

from syncops.store.db import Store
from syncops.store.dialect import upsert
from syncops.store.tables import Meta

M = Meta.__table__
PREFIX = "webhooks:"
ACCEPTED = "accepted"


def _key(tenant: str, endpoint: str) -> str:
    return f"{PREFIX}{tenant}/{endpoint}"


class WebhookCounters:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self.counts: dict[tuple[str, str], Counter] = {}

    def load(self, endpoints: list[tuple[str, str]]) -> None:
        """Carry on from what the store already holds (call once, off the event loop)."""
        saved = read_all(self.store)
        with self._lock:
            for key in endpoints:
                self.counts[key] = Counter(saved.get(key, {}))

    def add(self, tenant: str, endpoint: str, outcome: str, n: int = 1) -> dict[str, int]:
        with self._lock:
            c = self.counts.setdefault((tenant, endpoint), Counter())
            c[outcome] += n
            return dict(c)

    def get(self, tenant: str, endpoint: str) -> dict[str, int]:
        with self._lock:
            return dict(self.counts.get((tenant, endpoint), {}))

    def refused(self, tenant: str, endpoint: str) -> int:
        return sum(v for k, v in self.get(tenant, endpoint).items() if k != ACCEPTED)

    def save(self, tenant: str, endpoint: str) -> None:
        """Write one endpoint's counts (blocking: run it in a thread)."""
        with self._lock:
            value = json.dumps(dict(sorted(self.counts.get((tenant, endpoint), {}).items())))
        with self.store.write() as conn:
            conn.execute(upsert(self.store.engine, M, ["key"], dict(key=_key(tenant, endpoint), value=value),
                                dict(value=value)))


def read_all(store: Store) -> dict[tuple[str, str], dict[str, int]]:
    """{(tenant, endpoint): {outcome: count}} as stored (for `status`, metrics and tests)."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    with store.read() as conn:
        for key, value in conn.execute(select(M.c.key, M.c.value).where(M.c.key.like(PREFIX + "%"))):
            tenant, _, endpoint = key[len(PREFIX):].partition("/")
            try:
                data: Any = json.loads(value)
            except ValueError:
                continue
            if isinstance(data, dict):
                out[(tenant, endpoint)] = {str(k): int(v) for k, v in data.items() if isinstance(v, int)}
    return out
