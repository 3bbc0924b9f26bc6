"""Audit events: who, when, what, before and after, why. Written in the same transaction as the change."""

from __future__ import annotations

import json
from typing import Any, Sequence

from sqlalchemy.engine import Connection

from syncops.services.actor import Actor
from syncops.store.tables import AuditEvent

E = AuditEvent.__table__


def _j(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=str, sort_keys=True)


def audit_row(actor: Actor, at: float, action: str, target_type: str, target_id: str, *,
              tenant: str | None = None, before: Any = None, after: Any = None,
              reason: str | None = None) -> dict[str, Any]:
    return dict(at=at, actor=actor.user, client=actor.client, via=actor.via, action=action,
                target_type=target_type, target_id=str(target_id), tenant=tenant,
                before=_j(before), after=_j(after), reason=reason)


def write(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(E.insert(), list(rows))
