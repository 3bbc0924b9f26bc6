"""Inventory reconciliation: does every system a flow feeds hold what its system of record holds?

For each enabled inventory flow of a tenant: read `available` per SKU@location from the source
(the system of record) and from the target through the connectors, map the source's SKU and
location the way deliveries do, and compare. A key with a record still on its way (pending,
in flight, retry wait), or touched while we were reading, is not judged: the difference may be
that record. A disagreement becomes a `drift` record (see syncops.store.drift) whose retry
pushes the source's value; a drift that is gone on the next check resolves itself.

Used by the engine's scheduled job and by `syncops reconcile inventory`; no Textual here.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from syncops.connectors.errors import DeliveryError
from syncops.mapping import UnmappedValue, apply_mappings
from syncops.services.actor import ENGINE, Actor
from syncops.store import drift as store_drift
from syncops.store.db import Store


@dataclass
class Drift:
    flow: str
    key: str  # sku@location as the flow keys its records (source terms)
    target_key: str  # the same position in the target's terms (after the flow's maps)
    source: str  # endpoint names
    target: str
    source_value: int
    target_value: int | None  # None: the target holds no level for it
    last_synced: float | None
    record_id: int | None = None
    change: str = ""  # new | updated | unchanged

    @property
    def size(self) -> int:
        return abs(self.source_value - (self.target_value or 0))


@dataclass
class FlowResult:
    flow: str
    source: str
    target: str
    checked: int = 0  # keys compared
    drifted: int = 0
    healed: int = 0
    in_transit: int = 0  # skipped: a record for the key is still on its way
    skipped: int = 0  # not compared: unmapped, an open exception already shows it, unreadable at source
    error: str | None = None  # the flow could not be checked (a read failed)
    drifts: list[Drift] = field(default_factory=list)


@dataclass
class TenantResult:
    tenant: str
    at: float
    flows: list[FlowResult] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return sum(f.checked for f in self.flows)

    @property
    def drifted(self) -> int:
        return sum(f.drifted for f in self.flows)

    @property
    def errors(self) -> list[str]:
        return [f"{f.flow}: {f.error}" for f in self.flows if f.error]

    @property
    def worst(self) -> Drift | None:
        drifts = [d for f in self.flows for d in f.drifts]
        return max(drifts, key=lambda d: (d.size, d.key), default=None)

    def summary(self) -> dict[str, Any]:
        """What `status` shows and syncops_meta keeps: when, how many checked, drifted, worst."""
        worst = self.worst
        return {"tenant": self.tenant, "at": self.at, "checked": self.checked, "drifted": self.drifted,
                "healed": sum(f.healed for f in self.flows), "in_transit": sum(f.in_transit for f in self.flows),
                "skipped": sum(f.skipped for f in self.flows), "errors": self.errors,
                "worst": None if worst is None else drift_dict(worst)}

    def as_dict(self) -> dict[str, Any]:
        return self.summary() | {"flows": [
            {k: v for k, v in asdict(f).items() if k != "drifts"} | {"drifts": [drift_dict(d) for d in f.drifts]}
            for f in self.flows]}


def drift_dict(d: Drift) -> dict[str, Any]:
    return {"flow": d.flow, "key": d.key, "target_key": d.target_key, "source": d.source, "target": d.target,
            "source_value": d.source_value, "target_value": d.target_value, "difference": d.size,
            "last_synced": d.last_synced, "record": d.record_id}


def when(ts: float | None) -> str:
    if ts is None:
        return "never"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def message(d: Drift) -> str:
    held = "nothing" if d.target_value is None else str(d.target_value)
    where = f" at {d.target_key}" if d.target_key != d.key else ""
    return (f"drift: {d.target}{where} holds {held}, {d.source} holds {d.source_value} (source of truth), "
            f"last synced {when(d.last_synced)}")


def inventory_flows(tenant: Any) -> list[Any]:
    return [f for f in tenant.flows.values() if f.entity == "inventory" and getattr(f, "enabled", True)]


async def reconcile_tenant(store: Store, tenant: Any, connector: Callable[[str], Any],
                           maps: dict[str, dict[str, str]], *, actor: Actor = ENGINE,
                           before_flow: Callable[[Any], Awaitable[str | None]] | None = None) -> TenantResult:
    """Check every enabled inventory flow of `tenant`; record drifts and heals; save the summary.

    `connector(endpoint_name)` returns a connector with `read_levels`, or raises DeliveryError.
    `before_flow(flow)` may prepare a flow (the engine polls it first) or return why it is skipped.
    """
    result = TenantResult(tenant.name, store.clock())
    for flow in inventory_flows(tenant):
        fr = FlowResult(flow.name, flow.source, flow.target)
        result.flows.append(fr)
        try:
            why_not = await before_flow(flow) if before_flow else None
            if why_not:
                fr.error = why_not
                continue
            await _check_flow(store, tenant.name, flow, connector, maps, fr, actor)
        except DeliveryError as exc:
            fr.error = f"{exc.category}: {exc.message}"[:300]
        except (TypeError, KeyError, AttributeError, ValueError, IndexError) as exc:
            # A vendor answer the reader could not take apart: this flow is unchecked, not the run.
            fr.error = f"malformed: could not read levels: {exc!r}"[:300]
    await asyncio.to_thread(store_drift.save_last, store, tenant.name, result.summary())
    return result


async def _check_flow(store: Store, tenant: str, flow: Any, connector: Callable[[str], Any],
                      maps: dict[str, dict[str, str]], fr: FlowResult, actor: Actor) -> None:
    keys = await asyncio.to_thread(store_drift.key_states, store, tenant, flow.name)
    plan: dict[str, tuple[tuple[str, str], tuple[str, str], dict[str, Any]]] = {}
    for key, ks in keys.items():
        sku, loc = ks.payload.get("sku"), ks.payload.get("location_id")
        if ks.in_transit:
            fr.in_transit += 1
            continue
        if ks.exception or not isinstance(sku, str) or not isinstance(loc, str):
            fr.skipped += 1
            continue
        try:
            mapped, _ = apply_mappings("inventory", {"sku": sku, "location_id": loc}, dict(flow.mappings), maps)
        except UnmappedValue:
            fr.skipped += 1  # deliveries fail as `mapping` for it; that exception is the one to fix
            continue
        plan[key] = ((sku, loc), (mapped["sku"], mapped["location_id"]), ks.payload)
    if not plan:
        return
    source = connector(flow.source)
    target = connector(flow.target)
    held_source = await source.read_levels({p[0] for p in plan.values()})
    held_target = await target.read_levels({p[1] for p in plan.values()})
    # Records that moved while we were reading may explain any difference: judge them next time.
    after = await asyncio.to_thread(store_drift.key_states, store, tenant, flow.name)
    for key, (src_pair, dst_pair, payload) in sorted(plan.items()):
        now = after.get(key)
        if now is None or now.in_transit or now.fingerprint != keys[key].fingerprint:
            fr.in_transit += 1
            continue
        src_value = held_source.get(src_pair)
        if src_value is None:
            fr.skipped += 1  # the system of record no longer knows it: nothing to be true to
            continue
        fr.checked += 1
        dst_value = held_target.get(dst_pair)
        if dst_value == src_value:
            if now.drift_id is not None and await asyncio.to_thread(
                    store_drift.heal_drift, store, now.drift_id, tenant=tenant):
                fr.healed += 1
            continue
        d = Drift(flow.name, key, f"{dst_pair[0]}@{dst_pair[1]}", flow.source, flow.target, src_value, dst_value,
                  now.last_synced)
        correction = {"sku": src_pair[0], "location_id": src_pair[1], "available": src_value,
                      "changed_at": datetime.fromtimestamp(store.clock(), tz=timezone.utc).isoformat()}
        details = {"reconcile": {"source": {"endpoint": flow.source, "key": key, "available": src_value},
                                 "target": {"endpoint": flow.target, "key": d.target_key, "available": dst_value},
                                 "checked_at": store.clock(), "last_synced": now.last_synced}}
        d.record_id, d.change = await asyncio.to_thread(
            store_drift.record_drift, store, tenant=tenant, flow=flow.name, target=flow.target, key=key,
            payload=correction, message=message(d), details=details, coalesce=flow.coalesce, actor=actor)
        fr.drifted += 1
        fr.drifts.append(d)
