"""Break-glass tenants: read-only for everyone until someone elevates, with a reason, for a while.

A tenant is break-glass when its config says `break_glass: true` or the engine's published settings
do (see `syncops.services.settings`). Writing to it (console or CLI) needs an active elevation.

Elevations live in the store so every console and CLI call sees the same answer, WITHOUT a schema
change: one row per tenant in the key/value table ``syncops_meta`` (key ``elevation:TENANT``, a JSON
document: actor, client, reason, at, until), plus audit events ``elevate`` and ``elevation_expired``
(tenant, actor, reason, until). Expiry is judged from the store's injectable clock; the expired row
is removed, and its expiry audited, by whoever notices first (`expire`), exactly once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from syncops.services import audit
from syncops.services.actor import Actor
from syncops.services.errors import ActionError, ReasonRequired
from syncops.store.db import Store
from syncops.store.dialect import upsert
from syncops.store.tables import Meta

M = Meta.__table__
PREFIX = "elevation:"
DEFAULT_MINUTES = 15
MAX_MINUTES = 8 * 60  # a shift; a break-glass tenant elevated for days is not break-glass any more


class BreakGlassLocked(ActionError):
    """A write on a break-glass tenant without an active elevation."""


@dataclass(frozen=True)
class Elevation:
    tenant: str
    actor: str
    client: str | None
    reason: str
    at: float
    until: float

    def remaining(self, now: float) -> float:
        return max(0.0, self.until - now)


def is_break_glass(config: Any | None, tenant: str | None) -> bool:
    """From the settings in force (config or published): see `settings_in_force`."""
    if config is None or not tenant:
        return False
    t = config.tenants.get(tenant)
    return bool(t is not None and getattr(t, "break_glass", False))


def break_glass_tenants(config: Any | None) -> list[str]:
    return [n for n, t in (config.tenants.items() if config is not None else ()) if getattr(t, "break_glass", False)]


def _parse(key: str, text: str) -> Elevation | None:
    try:
        d = json.loads(text)
        return Elevation(key[len(PREFIX):], str(d["actor"]), d.get("client"), str(d.get("reason") or ""),
                         float(d["at"]), float(d["until"]))
    except (ValueError, TypeError, KeyError):
        return None  # unreadable: counts as not elevated (the safe side)


def _rows(conn: Any, tenant: str | None = None) -> list[tuple[str, str]]:
    stmt = select(M.c.key, M.c.value)
    stmt = stmt.where(M.c.key == PREFIX + tenant) if tenant else stmt.where(M.c.key.like(PREFIX + "%"))
    return [(k, v) for k, v in conn.execute(stmt).all()]


def active(store: Store, now: float | None = None) -> dict[str, Elevation]:
    """Tenant -> its elevation still in force at `now` (read only; see `expire` for the clean-up)."""
    now = store.clock() if now is None else now
    with store.read() as conn:
        found = [_parse(k, v) for k, v in _rows(conn)]
    return {e.tenant: e for e in found if e is not None and e.until > now}


def current(store: Store, tenant: str, now: float | None = None) -> Elevation | None:
    return active(store, now).get(tenant)


def elevate(store: Store, tenant: str, *, actor: Actor, reason: str | None,
            minutes: float = DEFAULT_MINUTES) -> Elevation:
    """Grant writes on `tenant` until now + minutes (replacing an elevation still running)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("elevating needs a reason (it is kept in the audit trail)")
    if not 0 < minutes <= MAX_MINUTES:
        raise ActionError(f"elevation minutes must be between 1 and {MAX_MINUTES}, got {minutes:g}")
    now = store.clock()
    e = Elevation(tenant, actor.user, actor.client, reason, now, now + minutes * 60)
    text = json.dumps(dict(actor=e.actor, client=e.client, reason=e.reason, at=e.at, until=e.until),
                      sort_keys=True)
    with store.write() as conn:
        before = [_parse(k, v) for k, v in _rows(conn, tenant)]
        prior = next((p for p in before if p is not None and p.until > now), None)
        conn.execute(upsert(store.engine, M, ["key"], dict(key=PREFIX + tenant, value=text), dict(value=text)))
        audit.write(conn, [audit.audit_row(
            actor, now, "elevate", "tenant", tenant, tenant=tenant, reason=reason,
            before={"until": prior.until, "actor": prior.actor} if prior else None,
            after={"until": e.until, "minutes": minutes})])
    return e


def expire(store: Store, now: float | None = None) -> list[Elevation]:
    """Remove elevations past their time and audit each expiry once (whoever calls first wins)."""
    now = store.clock() if now is None else now
    with store.read() as conn:
        due = [(k, v) for k, v in _rows(conn) if (_parse(k, v) is None or _parse(k, v).until <= now)]
    if not due:
        return []
    gone: list[Elevation] = []
    with store.write() as conn:
        for key, text in due:
            # Delete only the row as read: a fresh elevation written meanwhile must survive.
            if conn.execute(M.delete().where(M.c.key == key, M.c.value == text)).rowcount != 1:
                continue
            e = _parse(key, text)
            if e is None:
                continue
            who = Actor(user=e.actor, client=e.client, via="expiry")
            audit.write(conn, [audit.audit_row(who, now, "elevation_expired", "tenant", e.tenant, tenant=e.tenant,
                                               reason=e.reason, before={"until": e.until}, after=None)])
            gone.append(e)
    return gone


def locked_message(tenant: str) -> str:
    return (f"tenant {tenant} is break-glass (read-only): elevate first, with a reason: "
            f"`syncops elevate {tenant} --reason ...` or `:elevate {tenant}` in the console")


def check(store: Store, config: Any | None, tenants: Any, now: float | None = None) -> None:
    """Raise BreakGlassLocked unless every break-glass tenant among `tenants` is elevated now."""
    wanted = [t for t in dict.fromkeys(tenants) if is_break_glass(config, t)]
    if not wanted:
        return
    elevated = active(store, now)
    for t in wanted:
        if t not in elevated:
            raise BreakGlassLocked(locked_message(t))
