"""Triage: which error group to work on first, and the likely fix for it.

Ranking: the worst tenant first (most records waiting for a human: failed and quarantined
count double, a retry_wait may still heal itself), then its groups by size, biggest first
(one fix clears the most records). The fix is read from what the failure recorded: the map
and value for a mapping failure, the field the vendor or model rejected for a validation
failure, the endpoint's breaker and last error for unavailable / rate limit / auth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select

from syncops.store.db import Store
from syncops.store.tables import EXCEPTION_STATES, FAILED, QUARANTINED, EndpointState, Record

R = Record.__table__
ENDPOINT_CATEGORIES = ("unavailable", "rate_limit", "auth")
# "(field lines[0].sku)", "field 'sku'", "422 Unprocessable Entity: partner_id: customer not found"
_FIELD_PATTERNS = [re.compile(r"\(field ([\w\[\].]+)\)"), re.compile(r"\bfield '?([\w\[\].]+)'?"),
                   re.compile(r"^(?:\d{3}[\w ]*: )?([a-z_][\w\[\].]*): ")]


@dataclass
class TriageGroup:
    tenant: str
    signature: str
    category: str | None
    count: int
    sample_id: int  # the oldest record of the group
    tenant_weight: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.tenant, self.signature)


@dataclass
class Fix:
    kind: str  # mapping | validation | endpoint | other
    summary: str  # one line: what to do
    details: list[str] = field(default_factory=list)
    map_name: str | None = None
    value: str | None = None
    field_name: str | None = None
    endpoint: str | None = None


def rank_groups(store: Store, *, limit: int = 200) -> list[TriageGroup]:
    needs_human = func.sum(case((R.c.state.in_((FAILED, QUARANTINED)), 1), else_=0))
    stmt = (select(R.c.tenant, R.c.error_signature, R.c.error_category, func.count(), func.min(R.c.id), needs_human)
            .where(R.c.state.in_(EXCEPTION_STATES), R.c.error_signature.is_not(None))
            .group_by(R.c.tenant, R.c.error_signature, R.c.error_category))
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    weight: dict[str, int] = {}
    for t, _s, _c, n, _id, human in rows:
        weight[t] = weight.get(t, 0) + n + int(human or 0)
    groups = [TriageGroup(t, s, c, n, i, weight[t]) for t, s, c, n, i, _h in rows]
    # Ties are broken by tenant name and the oldest record, so the order never flickers.
    groups.sort(key=lambda g: (-g.tenant_weight, g.tenant, -g.count, g.sample_id))
    return groups[:limit]


def failing_field(message: str | None) -> str | None:
    for pattern in _FIELD_PATTERNS:
        m = pattern.search(message or "")
        if m:
            return m.group(1)
    return None


def likely_fix(store: Store, group: TriageGroup, record: Any | None = None,
               mapped: dict[str, dict[str, str]] | None = None) -> Fix:
    """What probably clears `group`; `record` is its sample (read here when not given)."""
    if record is None:
        with store.read() as conn:
            record = conn.execute(select(R).where(R.c.id == group.sample_id)).first()
    cat = group.category or "unknown"
    if cat == "mapping" and record.error_map:
        already = (mapped or {}).get(record.error_map, {}).get(record.error_value or "")
        if already is not None:
            return Fix("mapping", f"{record.error_value} is mapped now (-> {already}): retry the group (r)",
                       map_name=record.error_map, value=record.error_value)
        return Fix("mapping", f"add {record.error_value!s} to map {record.error_map} (m adds it and releases "
                   f"the {group.count} record(s))", map_name=record.error_map, value=record.error_value)
    if cat == "validation":
        name = failing_field(record.error_message)
        summary = (f"field {name} fails: correct it in the source or edit the record (enter opens it)" if name
                   else "the payload is rejected: open the record (enter) and read the vendor's answer")
        return Fix("validation", summary, field_name=name)
    if cat in ENDPOINT_CATEGORIES:
        E = EndpointState.__table__
        with store.read() as conn:
            ep = conn.execute(select(E).where(E.c.tenant == record.tenant, E.c.endpoint == record.target)).first()
        details = []
        if ep is not None:
            details.append(f"breaker {ep.breaker}, {ep.consecutive_failures} failure(s) in a row"
                           + (f"; last error: {ep.last_error}" if ep.last_error else ""))
            if ep.wait_until and ep.wait_until > store.clock():
                details.append(f"rate limited for {ep.wait_until - store.clock():.0f}s more")
        what = {"auth": "check the endpoint's credentials (syncops creds check)",
                "rate_limit": "the vendor is throttling: wait, or lower the flow's batch",
                "unavailable": "the vendor is down or unreachable: wait for it, then retry the group (r)"}[cat]
        return Fix("endpoint", f"endpoint {record.target}: {what}", details, endpoint=record.target)
    return Fix("other", f"[{cat}] open the record (enter) to decide")
