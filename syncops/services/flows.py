"""Flow control through the store: a console in another process pauses, resumes or kicks a flow."""

from __future__ import annotations

from sqlalchemy import select

from syncops.services import audit
from syncops.services.actor import Actor
from syncops.services.errors import ReasonRequired
from syncops.store.db import Store
from syncops.store.dialect import upsert
from syncops.store.tables import FlowControl

F = FlowControl.__table__


def _set(store: Store, tenant: str, flow: str, values: dict, *, actor: Actor, action: str,
         reason: str | None) -> None:
    now = store.clock()
    with store.write() as conn:
        before = conn.execute(select(F.c.paused, F.c.paused_reason).where(
            F.c.tenant == tenant, F.c.flow == flow)).first()
        conn.execute(upsert(store.engine, F, ["tenant", "flow"],
                            dict(tenant=tenant, flow=flow, updated_at=now, **values),
                            dict(updated_at=now, **values)))
        audit.write(conn, [audit.audit_row(
            actor, now, action, "flow", f"{tenant}/{flow}", tenant=tenant,
            before=None if before is None else {"paused": bool(before.paused), "reason": before.paused_reason},
            after={k: v for k, v in values.items() if k in ("paused", "paused_reason")} or None, reason=reason)])


def pause(store: Store, tenant: str, flow: str, *, actor: Actor, reason: str | None) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("pausing a flow needs a reason (other technicians will see it)")
    _set(store, tenant, flow, dict(paused=True, paused_reason=reason, paused_by=str(actor),
                                   paused_at=store.clock()), actor=actor, action="pause", reason=reason)


def resume(store: Store, tenant: str, flow: str, *, actor: Actor, reason: str | None = None) -> None:
    _set(store, tenant, flow, dict(paused=False, paused_reason=None, paused_by=None, paused_at=None),
         actor=actor, action="resume", reason=reason)


def run_now(store: Store, tenant: str, flow: str, *, actor: Actor) -> None:
    _set(store, tenant, flow, dict(run_now_at=store.clock()), actor=actor, action="run_now", reason=None)
