"""Shift handover digest: what broke, what was fixed and by whom, what is still open.

One structure (sections of tables) rendered three ways: Markdown that pastes cleanly into
a ticket, plain text for the terminal, JSON for scripts. Customer data never appears:
records are named by id (entity keys can be e-mail addresses), failures by their error
signature (ids, numbers and quoted values already normalised away) with e-mail addresses
and phone-like digit runs scrubbed, and technicians' free-text reasons are left out (they
may quote a customer); only pause reasons are shown, as the flows screen shows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select

from syncops.services import health
from syncops.store import queries
from syncops.store.db import Store
from syncops.store.tables import (
    DELIVERED, EXCEPTION_STATES, FAILED, QUARANTINED, RETRY_WAIT, AuditEvent, Record,
)
from syncops.textfmt import duration

R, E = Record.__table__, AuditEvent.__table__
# Per-record audit actions that count as fixing something; bulk_* rows repeat them, so they are not counted.
FIX_ACTIONS = ("retry", "release", "resolve", "edit", "quarantine", "mapping_set", "mapping_delete")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"\+?\d[\d ()-]{6,}\d")


def scrub(text: str | None) -> str:
    """Take what could be customer data out of a signature (belt and braces: signatures are normalised)."""
    return _PHONE.sub("<n>", _EMAIL.sub("<email>", text or ""))


@dataclass
class Section:
    key: str  # broke | fixed | open | sla | paused
    title: str
    headers: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    empty: str = "None."


@dataclass
class Digest:
    since: float
    until: float
    sections: list[Section]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    @property
    def title(self) -> str:
        return f"Shift handover: {_utc(self.since)} to {_utc(self.until)} UTC ({duration(self.until - self.since)})"

    def as_dict(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "title": self.title,
                **{s.key: {"rows": [dict(zip(s.headers, r)) for r in s.rows], "notes": s.notes}
                   for s in self.sections}}


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M")


def build(store: Store, config: Any | None, *, since_seconds: float) -> Digest:
    now = store.clock()
    since = now - since_seconds
    h = health.flow_health(store, config)
    return Digest(since, now, [_broke(store, since), _fixed(store, since), _open(store, h, now),
                               _sla(h), _paused(store, now)])


def _broke(store: Store, since: float) -> Section:
    # Records still in trouble whose failure happened in the window, by error signature.
    stmt = (select(R.c.tenant, R.c.error_category, R.c.error_signature, func.count(), func.min(R.c.updated_at))
            .where(R.c.state.in_(EXCEPTION_STATES), R.c.updated_at >= since, R.c.error_signature.is_not(None))
            .group_by(R.c.tenant, R.c.error_category, R.c.error_signature)
            .order_by(func.count().desc(), R.c.tenant))
    with store.read() as conn:
        rows = [[t, c or "unknown", n, scrub(sig)] for t, c, sig, n, _first in conn.execute(stmt)]
    total = sum(r[2] for r in rows)
    return Section("broke", f"What broke ({total} new failure(s))", ["Tenant", "Category", "Records", "Signature"],
                   rows, empty="No new failures.")


def _fixed(store: Store, since: float) -> Section:
    stmt = (select(E.c.actor, E.c.action, func.count(), func.count(func.distinct(E.c.tenant)))
            .where(E.c.at >= since, E.c.action.in_(FIX_ACTIONS))
            .group_by(E.c.actor, E.c.action).order_by(E.c.actor, func.count().desc()))
    canary = select(E.c.actor, E.c.after).where(E.c.at >= since, E.c.action == "canary_retry").order_by(E.c.id)
    delivered = (select(func.count()).where(R.c.state == DELIVERED, R.c.delivered_at >= since,
                                            R.c.manual_retries > 0))
    import json

    with store.read() as conn:
        rows = [[a, act, n] for a, act, n, _t in conn.execute(stmt)]
        canaries = conn.execute(canary).all()
        n_delivered = conn.execute(delivered).scalar_one()
    notes = [f"{n_delivered} record(s) delivered after a technician's retry or edit."]
    for actor, after in canaries:
        a = json.loads(after or "{}")
        notes.append(f"Canary retry by {actor}: {a.get('outcome')}, {a.get('delivered', 0)}/{a.get('canaries', 0)} "
                     f"canaries delivered, {a.get('released', 0)} more released.")
    return Section("fixed", "Fixed, and by whom", ["Who", "Action", "Records"], rows, notes,
                   empty="No operator actions.")


def _open(store: Store, h: health.Health, now: float) -> Section:
    rows = []
    for f in h.flows:
        c = f.counts
        if c.get(FAILED) or c.get(QUARANTINED) or c.get(RETRY_WAIT):
            rows.append([f.tenant, f.flow, c.get(FAILED, 0), c.get(QUARANTINED, 0), c.get(RETRY_WAIT, 0),
                         duration(f.oldest_age) if f.oldest_age is not None else "-"])
    stmt = (select(R.c.id, R.c.tenant, R.c.flow, R.c.state, R.c.error_category, R.c.created_at)
            .where(R.c.state.in_(EXCEPTION_STATES)).order_by(R.c.created_at, R.c.id).limit(1))
    with store.read() as conn:
        oldest = conn.execute(stmt).first()
    notes = []
    if oldest is not None:
        notes.append(f"Oldest open: record #{oldest.id} {oldest.tenant}/{oldest.flow}, {oldest.state} "
                     f"[{oldest.error_category or 'unknown'}], {duration(now - oldest.created_at)} old.")
    return Section("open", "Still open", ["Tenant", "Flow", "Failed", "Quarantined", "Retry wait", "Oldest undelivered"],
                   rows, notes, empty="Nothing open.")


def _sla(h: health.Health) -> Section:
    rows = [[f.tenant, f.flow, r] for f in h.flows for r in f.reasons if "SLA" in r and "half" not in r]
    return Section("sla", "SLA breaches", ["Tenant", "Flow", "Breach"], rows, empty="No SLA breached.")


def _paused(store: Store, now: float) -> Section:
    rows = [[t, f, c.paused_reason or "-", c.paused_by or "-", duration(now - c.paused_at) if c.paused_at else "-"]
            for (t, f), c in sorted(queries.flow_controls(store).items()) if c.paused]
    return Section("paused", "Paused flows", ["Tenant", "Flow", "Reason", "Paused by", "For"], rows,
                   empty="No flow is paused.")


# --- rendering ---------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    # A pipe or a newline inside a cell would break the ticket's table.
    return " ".join(str(value).split()).replace("|", "\\|")


def to_markdown(d: Digest) -> str:
    out = [f"# {d.title}", ""]
    for s in d.sections:
        out += [f"## {s.title}", ""]
        if s.rows:
            out.append("| " + " | ".join(s.headers) + " |")
            out.append("|" + "|".join("---:" if isinstance(s.rows[0][i], int) else "---"
                                      for i in range(len(s.headers))) + "|")
            out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in s.rows]
        else:
            out.append(f"_{s.empty}_")
        if s.notes:
            out.append("")
            out += [f"- {_cell(n)}" for n in s.notes]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def to_text(d: Digest) -> str:
    out = [d.title]
    for s in d.sections:
        out += ["", s.title.upper()]
        if s.rows:
            cells = [[_cell(c).replace("\\|", "|") for c in r] for r in s.rows]
            widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(s.headers)]
            out += ["  " + "  ".join(h.ljust(w) for h, w in zip(s.headers, widths)).rstrip()]
            out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
        else:
            out.append(f"  {s.empty}")
        out += [f"  {n}" for n in s.notes]
    return "\n".join(out) + "\n"
