"""The entity timeline: everything that happened to one SKU (at every location) or one order.

Every record whose entity key is KEY, or KEY@location (inventory keys are SKU@location),
across every tenant, flow and system, unrolled into typed events in time order: the source
event, each delivery attempt, failures, payload edits, operator actions and superseding.
Payload snapshots are masked here, in the core, so no caller can show them raw by mistake.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from syncops.models.pii import mask_diff, mask_pii
from syncops.store.db import Store
from syncops.store.filters import _like_escape
from syncops.store.tables import (
    DELIVERED, FAILED, QUARANTINED, RESOLVED, RETRY_WAIT, SUPERSEDED, Attempt, AuditEvent, PayloadVersion, Record,
)

R, A, V, E = Record.__table__, Attempt.__table__, PayloadVersion.__table__, AuditEvent.__table__

# Event kinds, in the order they sort when two share a timestamp (cause before effect).
SOURCE, ATTEMPT, DELIVERY, FAILURE, EDIT, ACTION, SUPERSEDE = (
    "source", "attempt", "delivered", "failure", "edit", "action", "superseded")
KIND_ORDER = {k: i for i, k in enumerate((SOURCE, EDIT, ACTION, ATTEMPT, DELIVERY, FAILURE, SUPERSEDE))}
DEFAULT_RECORD_LIMIT = 200  # the newest records of the key; an old SKU may have thousands


@dataclass
class TimelineEvent:
    at: float
    kind: str  # source / attempt / delivered / failure / edit / action / superseded
    record_id: int
    tenant: str
    flow: str
    entity_key: str
    system: str  # the endpoint involved: the flow's source for source events, else the target
    summary: str  # one line, what a technician reads
    actor: str | None = None  # who: an operator, "engine" or "source"
    snapshot: Any = None  # masked payload (source events, edits: the masked diff)
    outcome: str | None = None  # attempts: delivered / failed / retry / deferred

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Timeline:
    key: str
    events: list[TimelineEvent]
    records: int  # records found (at most the limit)
    truncated: bool  # older records of the key were left out
    keys: list[str] = field(default_factory=list)  # the entity keys found (SKU@each location)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "records": self.records, "truncated": self.truncated, "keys": self.keys,
                "events": [e.as_dict() for e in self.events]}


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _masked(entity: str, payload: Any) -> Any:
    if not isinstance(payload, dict):
        return payload if payload is None else "***"  # not a JSON object: nothing to mask by path, hide it
    try:
        return mask_pii(entity, payload)
    except ValueError:  # an entity the models do not know: hide everything rather than leak
        return {k: "***" for k in payload}


def key_clause(key: str) -> Any:
    """KEY itself, or KEY@anything (a SKU at each location); LIKE is served by the key-prefix index."""
    return or_(R.c.entity_key == key, R.c.entity_key.like(f"{_like_escape(key)}@%", escape="\\"))


def _source_system(config: Any | None, tenant: str, flow: str) -> str | None:
    t = config.tenants.get(tenant) if config is not None else None
    f = t.flows.get(flow) if t is not None else None
    return getattr(f, "source", None)


def _attempt_event(rec: Any, a: Any) -> TimelineEvent:
    # The cause first: at 80 columns only the start of the line is visible.
    status = f" (HTTP {a.status}" + (f", {a.duration_ms:.0f} ms)" if a.duration_ms is not None else ")") \
        if a.status else ""
    if a.outcome == "delivered":
        kind, text = DELIVERY, f"delivered to {a.endpoint}{status}"
    else:
        kind = ATTEMPT
        why = f": [{a.error_category or 'error'}] {a.error_message}" if a.error_message else ""
        text = f"{a.outcome} at {a.endpoint}{why}{status}"
    return TimelineEvent(a.at, kind, rec.id, rec.tenant, rec.flow, rec.entity_key, a.endpoint, text, "engine",
                         outcome=a.outcome)


def _action_event(rec: Any, e: Any) -> TimelineEvent:
    text = e.action.replace("_", " ") + (f": {e.reason}" if e.reason else "")
    return TimelineEvent(e.at, ACTION, rec.id, rec.tenant, rec.flow, rec.entity_key, rec.target, text,
                         f"{e.actor} ({e.via})")


def _record_events(rec: Any, attempts: list[Any], versions: list[Any], audit: list[Any],
                   config: Any | None) -> list[TimelineEvent]:
    ev = []
    first = versions[0].payload if versions else rec.payload  # the payload as the source sent it
    source = _source_system(config, rec.tenant, rec.flow) or "source"
    lag = rec.created_at - rec.source_ts
    ev.append(TimelineEvent(rec.source_ts, SOURCE, rec.id, rec.tenant, rec.flow, rec.entity_key, source,
                            f"changed at {source} -> record #{rec.id} for {rec.target} ({lag:.0f}s later)",
                            "source", _masked(rec.entity, _loads(first))))
    ev += [_attempt_event(rec, a) for a in attempts]
    for v in versions:
        if v.author == "source" and v.reason == "original":
            continue  # the original is the source event's snapshot
        ev.append(TimelineEvent(v.at, EDIT, rec.id, rec.tenant, rec.flow, rec.entity_key, rec.target,
                                f"payload edited (rev {v.rev})" + (f": {v.reason}" if v.reason else ""),
                                v.author, mask_diff(v.diff) if v.diff else None))
    ev += [_action_event(rec, e) for e in audit if e.action != "edit"]  # an edit is its version already
    seen = {a.error_message for a in attempts if a.error_message}
    if rec.state in (FAILED, QUARANTINED, RETRY_WAIT) and rec.error_message and rec.error_message not in seen:
        # Failed before any delivery attempt (a mapping or validation failure): only the record says so.
        ev.append(TimelineEvent(rec.updated_at, FAILURE, rec.id, rec.tenant, rec.flow, rec.entity_key, rec.target,
                                f"{rec.state.replace('_', ' ')}: [{rec.error_category or 'error'}] {rec.error_message}",
                                "engine"))
    if rec.state == SUPERSEDED:
        by = f" by record #{rec.superseded_by}" if rec.superseded_by else ""
        ev.append(TimelineEvent(rec.updated_at, SUPERSEDE, rec.id, rec.tenant, rec.flow, rec.entity_key, rec.target,
                                f"superseded{by} (a newer value replaced it before delivery)", "engine"))
    elif rec.state == RESOLVED and not any(e.action in ("resolve", "auto_resolve") for e in audit):
        ev.append(TimelineEvent(rec.updated_at, ACTION, rec.id, rec.tenant, rec.flow, rec.entity_key, rec.target,
                                "resolved" + (f": {rec.resolution}" if rec.resolution else ""), "engine"))
    elif rec.state == DELIVERED and not any(a.outcome == "delivered" for a in attempts) and rec.delivered_at:
        ev.append(TimelineEvent(rec.delivered_at, DELIVERY, rec.id, rec.tenant, rec.flow, rec.entity_key,
                                rec.target, f"delivered to {rec.target}", "engine"))
    return ev


def entity_timeline(store: Store, key: str, config: Any | None = None, *, tenant: str | None = None,
                    limit: int = DEFAULT_RECORD_LIMIT) -> Timeline:
    """Five indexed reads whatever the number of records: records by key, then their attempts,
    versions and audit events by record id (in chunks, for the database's parameter limit)."""
    key = key.strip()
    stmt = select(R).where(key_clause(key))
    if tenant:
        stmt = stmt.where(R.c.tenant == tenant)
    with store.read() as conn:
        recs = conn.execute(stmt.order_by(R.c.id.desc()).limit(limit + 1)).all()
        truncated = len(recs) > limit
        recs = recs[:limit]
        ids = [r.id for r in recs]
        attempts: dict[int, list[Any]] = {}
        versions: dict[int, list[Any]] = {}
        audit: dict[int, list[Any]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for a in conn.execute(select(A).where(A.c.record_id.in_(chunk)).order_by(A.c.id)):
                attempts.setdefault(a.record_id, []).append(a)
            for v in conn.execute(select(V).where(V.c.record_id.in_(chunk)).order_by(V.c.rev)):
                versions.setdefault(v.record_id, []).append(v)
            for e in conn.execute(select(E).where(E.c.target_type == "record",
                                                  E.c.target_id.in_([str(x) for x in chunk])).order_by(E.c.id)):
                audit.setdefault(int(e.target_id), []).append(e)
    events: list[TimelineEvent] = []
    for rec in recs:
        events += _record_events(rec, attempts.get(rec.id, []), versions.get(rec.id, []), audit.get(rec.id, []),
                                 config)
    events.sort(key=lambda e: (e.at, e.record_id, KIND_ORDER[e.kind]))
    return Timeline(key, events, len(recs), truncated, sorted({r.entity_key for r in recs}))
