"""Money and documents reconciliation: does the ERP hold what syncops says it delivered?

Every delivered order exists in the ERP once, in the state its (mapped) status means; every
delivered refund is one posted credit note; every delivered payout is one posted journal entry
whose postings, account by account, are the payout's (so its net reached the bank account).
Only keys whose newest record is delivered are judged: anything newer is still on its way.
Differences are reported (and the last run kept per tenant), not turned into records: fixing a
document in the ERP is a human's decision.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import func, select

from syncops.connectors.errors import DeliveryError
from syncops.connectors.odoo_documents import ItemProblem, intended_state
from syncops.mapping import UnmappedValue, apply_mappings
from syncops.models import Settlement
from syncops.store.db import Store
from syncops.store.dialect import upsert
from syncops.store.tables import DELIVERED, Meta, Record

ENTITIES = {"orders": ("order",), "returns": ("return",), "settlements": ("settlement",)}
R = Record.__table__


@dataclass
class Difference:
    key: str
    record_id: int
    problem: str  # missing | duplicated | state | amounts
    detail: str


@dataclass
class DocFlowResult:
    flow: str
    entity: str
    target: str
    checked: int = 0
    in_transit: int = 0
    differences: list[Difference] = field(default_factory=list)
    error: str | None = None


def document_flows(tenant: Any, entities: tuple[str, ...]) -> list[Any]:
    return [f for f in tenant.flows.values() if f.entity in entities and getattr(f, "enabled", True)]


def _newest(store: Store, tenant: str, flow: str) -> dict[str, tuple[int, str, dict[str, Any]]]:
    """entity key -> (id, state, payload) of its newest record."""
    newest = (select(R.c.entity_key, func.max(R.c.id).label("id"))
              .where(R.c.tenant == tenant, R.c.flow == flow).group_by(R.c.entity_key).subquery())
    with store.read() as conn:
        rows = conn.execute(select(R.c.entity_key, R.c.id, R.c.state, R.c.payload)
                            .join(newest, newest.c.id == R.c.id)).all()
    return {r.entity_key: (r.id, r.state, json.loads(r.payload)) for r in rows}


def _expected(entity: str, payload: dict[str, Any], flow: Any, maps: dict[str, dict[str, str]],
              target: Any = None) -> Any:
    """What the ERP's document must show. A target with its own notion (`expected_document`: BC
    documents carry no channel status) says so; None there means "exists once"."""
    mapped, _ = apply_mappings(entity, payload, dict(flow.mappings), maps)
    if hasattr(target, "expected_document"):
        return target.expected_document(entity, mapped)
    if entity == "order":
        return intended_state(mapped["status"])
    if entity == "settlement":
        return {a: v.quantize(Decimal("0.01")) for a, v in Settlement.model_validate(mapped).postings()}
    return "posted"


def _judge(entity: str, key: str, rid: int, want: Any, doc: dict[str, Any] | None) -> Difference | None:
    kind = {"order": "order", "return": "credit note", "settlement": "journal entry"}[entity]
    if doc is None:
        return Difference(key, rid, "missing", f"delivered as #{rid}, but the ERP has no {kind} for {key}")
    if doc["count"] > 1:
        return Difference(key, rid, "duplicated", f"the ERP holds {doc['count']} {kind}s for {key}")
    if want is None:
        return None  # the target judges existence and uniqueness only
    if entity == "order":
        if doc["state"] != want and not (want == "sale" and doc["state"] == "done"):
            return Difference(key, rid, "state", f"{doc['name']} is {doc['state']}, the source means {want}")
        return None
    if doc["state"] != "posted":
        return Difference(key, rid, "state", f"{doc['name']} is {doc['state']}, not posted")
    if entity == "settlement" and doc.get("postings") != want:
        return Difference(key, rid, "amounts", f"{doc['name']} posts {_fmt(doc.get('postings'))}; the payout "
                          f"means {_fmt(want)}")
    return None


def _fmt(postings: dict[str, Decimal] | None) -> str:
    return ", ".join(f"{a} {v:+}" for a, v in sorted((postings or {}).items())) or "nothing"


async def reconcile_documents(store: Store, tenant: Any, connector: Callable[[str], Any],
                              maps: dict[str, dict[str, str]], what: str) -> list[DocFlowResult]:
    results = []
    for flow in document_flows(tenant, ENTITIES[what]):
        fr = DocFlowResult(flow.name, flow.entity, flow.target)
        results.append(fr)
        try:
            newest = await asyncio.to_thread(_newest, store, tenant.name, flow.name)
            target = connector(flow.target)
            wanted: dict[str, tuple[int, Any]] = {}
            for key, (rid, state, payload) in newest.items():
                if state != DELIVERED:
                    fr.in_transit += state not in ("failed", "quarantined", "resolved")
                    continue
                try:
                    wanted[key] = (rid, _expected(flow.entity, payload, flow, maps, target))
                except (UnmappedValue, ItemProblem, ValueError):
                    continue  # it could not have been delivered as it is now: nothing to compare
            if not hasattr(target, "read_documents"):
                fr.error = f"a {flow.target} endpoint cannot be read back for {flow.entity} documents"
                continue
            held = await target.read_documents(flow.entity, set(wanted)) if wanted else {}
            for key, (rid, want) in sorted(wanted.items()):
                fr.checked += 1
                diff = _judge(flow.entity, key, rid, want, held.get(key))
                if diff:
                    fr.differences.append(diff)
        except DeliveryError as exc:
            fr.error = f"{exc.category}: {exc.message}"[:300]
    summary = {"at": store.clock(), "checked": sum(r.checked for r in results),
               "differences": sum(len(r.differences) for r in results),
               "errors": [f"{r.flow}: {r.error}" for r in results if r.error]}
    await asyncio.to_thread(_save, store, f"reconcile:{what}:{tenant.name}", summary)
    return results


def _save(store: Store, key: str, summary: dict[str, Any]) -> None:
    value = json.dumps(summary, sort_keys=True)
    with store.write() as conn:
        conn.execute(upsert(store.engine, Meta.__table__, ["key"], dict(key=key, value=value), dict(value=value)))


def last_runs(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    """(what, tenant) -> the last documents reconciliation summary, as `_save` kept it."""
    prefix = "reconcile:"
    out: dict[tuple[str, str], dict[str, Any]] = {}
    with store.read() as conn:
        rows = conn.execute(select(Meta.__table__.c.key, Meta.__table__.c.value)
                            .where(Meta.__table__.c.key.like(prefix + "%"))).all()
    for key, value in rows:
        what, sep, tenant = key[len(prefix):].partition(":")
        if not sep or what not in ENTITIES:
            continue  # reconcile:<tenant> is the inventory run (syncops.store.drift.last_runs)
        try:
            doc = json.loads(value)
        except ValueError:
            continue  # a hand-edited value must not break the console
        if isinstance(doc, dict):
            out[(what, tenant)] = doc
    return out


def as_dict(r: DocFlowResult) -> dict[str, Any]:
    return asdict(r)
