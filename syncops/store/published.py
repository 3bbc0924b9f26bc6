"""The engine's settings, published into the store for consoles and CLI calls that have no config.

A console attached with only `--store URL` must still know which tenants are production (the typed
tenant confirmation depends on it), the SLAs, the flows and the maps in force. The engine writes them
here at start; readers take them from here when they have no config file (see
`syncops.services.settings.settings_in_force`).

One JSON document in the existing key/value table ``syncops_meta`` under ``published:settings`` (no
schema change). What is published is a whitelist: tenant names, production and break-glass flags, flows (entity,
source, target, schedule, SLA, retry, enabled, coalesce, batch size, role -> map name), endpoint names
and kinds, and the config value maps (map name -> {source value: target value}). Never base URLs,
credential references, endpoint options or secrets: an endpoint is published as its name and kind only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from syncops.store.db import Store
from syncops.store.dialect import upsert
from syncops.store.tables import Meta

KEY = "published:settings"
FORMAT = 1
M = Meta.__table__


@dataclass(frozen=True)
class Schedule:
    every: float | None = None
    cron: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True)
class Retry:
    max_attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 300.0


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str
    tenant: str = ""


@dataclass(frozen=True)
class Flow:
    name: str
    entity: str
    source: str
    target: str
    schedule: Schedule
    sla: float | None
    retry: Retry = field(default_factory=Retry)
    enabled: bool = True
    coalesce: bool = False
    batch_size: int = 100
    mappings: dict[str, str] = field(default_factory=dict)  # role -> map name
    tenant: str = ""


@dataclass(frozen=True)
class Tenant:
    name: str
    production: bool
    endpoints: dict[str, Endpoint]
    flows: dict[str, Flow]
    mappings: dict[str, dict[str, str]]  # config value maps in force: map name -> {source: target}
    break_glass: bool = False


@dataclass(frozen=True)
class Published:
    """The published settings; reads like a `syncops.config.Config` for what readers need."""

    format: int
    engine_id: str
    published_at: float
    tenants: dict[str, Tenant]
    store: None = None
    source_path: None = None  # not a file: see engine_id / published_at

    def iter_flows(self) -> Iterator[tuple[Tenant, Flow]]:
        for tenant in self.tenants.values():
            for flow in tenant.flows.values():
                yield tenant, flow


def document(config: Any, engine_id: str, published_at: float) -> dict[str, Any]:
    """The JSON-ready document for `config`: only whitelisted fields, never a URL or credential."""
    tenants: dict[str, Any] = {}
    for tname, t in config.tenants.items():
        tenants[tname] = {
            "production": bool(t.production),
            # Added within format 1: older readers ignore it, and a missing key reads as False.
            "break_glass": bool(getattr(t, "break_glass", False)),
            "endpoints": {name: {"kind": str(e.kind)} for name, e in t.endpoints.items()},
            "flows": {fname: _flow_doc(f) for fname, f in t.flows.items()},
            "maps": {name: {str(k): str(v) for k, v in dict(entries).items()}
                     for name, entries in dict(t.mappings).items()},
        }
    return {"format": FORMAT, "engine_id": engine_id, "published_at": published_at, "tenants": tenants}


def _flow_doc(f: Any) -> dict[str, Any]:
    s, r = f.schedule, f.retry
    return {
        "entity": f.entity, "source": f.source, "target": f.target,
        "schedule": {"every": s.every, "cron": s.cron, "timezone": s.timezone},
        "sla": f.sla,
        "retry": {"max_attempts": r.max_attempts, "base_delay": r.base_delay, "max_delay": r.max_delay},
        "enabled": bool(getattr(f, "enabled", True)), "coalesce": bool(getattr(f, "coalesce", False)),
        "batch_size": int(getattr(f, "batch_size", 100)),
        "mappings": {str(k): str(v) for k, v in dict(getattr(f, "mappings", {}) or {}).items()},
    }


def publish(store: Store, config: Any, engine_id: str) -> Published:
    """Write `config`'s publishable settings into the store (replacing what was there)."""
    doc = document(config, engine_id, store.clock())
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    with store.write() as conn:
        conn.execute(upsert(store.engine, M, ["key"], dict(key=KEY, value=text), dict(value=text)))
    return parse(doc)


def raw(store: Store) -> str | None:
    """The stored JSON text as is (None if nothing was published)."""
    with store.read() as conn:
        return conn.execute(select(M.c.value).where(M.c.key == KEY)).scalar()


def read(store: Store) -> Published | None:
    """The published settings, or None when there are none or they cannot be understood
    (unreadable JSON, or a format this version does not know: never half-guess a production flag)."""
    text = raw(store)
    if not text:
        return None
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            return None
        return parse(doc)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def parse(doc: dict[str, Any]) -> Published:
    tenants: dict[str, Tenant] = {}
    for tname, t in doc["tenants"].items():
        flows: dict[str, Flow] = {}
        for fname, f in t.get("flows", {}).items():
            s, r = f.get("schedule") or {}, f.get("retry") or {}
            flows[fname] = Flow(
                name=fname, entity=f["entity"], source=f["source"], target=f["target"],
                schedule=Schedule(every=s.get("every"), cron=s.get("cron"), timezone=s.get("timezone") or "UTC"),
                sla=f.get("sla"), retry=Retry(**{k: r[k] for k in ("max_attempts", "base_delay", "max_delay") if k in r}),
                enabled=bool(f.get("enabled", True)), coalesce=bool(f.get("coalesce", False)),
                batch_size=int(f.get("batch_size", 100)), mappings=dict(f.get("mappings") or {}), tenant=tname)
        tenants[tname] = Tenant(
            name=tname, production=bool(t.get("production", False)),
            endpoints={n: Endpoint(n, e.get("kind", ""), tname) for n, e in (t.get("endpoints") or {}).items()},
            flows=flows, mappings={n: dict(m) for n, m in (t.get("maps") or {}).items()},
            break_glass=bool(t.get("break_glass", False)))
    return Published(format=int(doc["format"]), engine_id=str(doc.get("engine_id", "")),
                     published_at=float(doc.get("published_at") or 0.0), tenants=tenants)
