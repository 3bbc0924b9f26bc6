"""Operator actions on records, shared by the CLI and the console.

Each action runs in one write transaction, checks the record's version (optimistic
concurrency: a human never overwrites what the engine did since they looked, and the
engine's lease guard means it never overwrites a human), and writes its audit event
in the same transaction so an action and its audit trail cannot be separated.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, func, select

from syncops.models.pii import mask_diff
from syncops.services import audit
from syncops.services.actor import Actor
from syncops.services.errors import ActionError, ConcurrencyConflict, InvalidTransition, ReasonRequired
from syncops.store.db import Store
from syncops.store.queries import RecordNotFound
from syncops.store.tables import (
    FAILED, IN_FLIGHT, PENDING, QUARANTINED, RESOLVED, RETRY_WAIT, PayloadVersion, Record,
)

R = Record.__table__
V = PayloadVersion.__table__


@dataclass(frozen=True)
class ActionSpec:
    name: str
    from_states: tuple[str, ...]
    to_state: str
    reason_required: bool
    verb: str  # for messages: "retried", "quarantined", ...


ACTIONS: dict[str, ActionSpec] = {
    "retry": ActionSpec("retry", (FAILED, RETRY_WAIT, QUARANTINED, PENDING), PENDING, False, "retried"),
    "quarantine": ActionSpec("quarantine", (PENDING, RETRY_WAIT, FAILED), QUARANTINED, True, "quarantined"),
    "release": ActionSpec("release", (QUARANTINED, FAILED), PENDING, False, "released"),
    "resolve": ActionSpec("resolve", (FAILED, QUARANTINED, RETRY_WAIT, PENDING), RESOLVED, True, "resolved"),
}
EDITABLE_STATES = (FAILED, RETRY_WAIT, QUARANTINED, PENDING)


def spec(action: str) -> ActionSpec:
    try:
        return ACTIONS[action]
    except KeyError:
        raise ActionError(f"unknown action {action!r}; actions are {', '.join(ACTIONS)}") from None


def transition_values(s: ActionSpec, now: float, reason: str | None) -> dict[str, Any]:
    values: dict[str, Any] = dict(state=s.to_state, updated_at=now, lease_owner=None, lease_until=None)
    if s.to_state == PENDING:
        # A human retry gets a fresh attempt budget (the attempts table keeps the history)
        # and a new vendor idempotency key (see Record.manual_retries).
        values.update(due_at=now, attempts=0, manual_retries=R.c.manual_retries + 1,
                      # sending it again after a stale compare-and-swap means "overwrite"; so does
                      # pushing a drift correction: the target holds something syncops did not send
                      overwrite=func.coalesce(R.c.error_category.in_(("conflict", "drift")), false()))
    else:
        values.update(due_at=None)
    if s.to_state == RESOLVED:
        values["resolution"] = reason
    return values


def snapshot(row: Any) -> dict[str, Any]:
    return {"state": row.state, "version": row.version, "attempts": row.attempts,
            "error_category": row.error_category}


def check_transition(row: Any, record_id: int, expected_version: int | None, allowed: tuple[str, ...], what: str) -> None:
    if row is None:
        raise RecordNotFound(record_id)
    if expected_version is not None and row.version != expected_version:
        raise ConcurrencyConflict(
            f"record {record_id} changed since you loaded it (version {expected_version} -> "
            f"{row.version}, now {row.state}); nothing was changed: reload it and decide again"
        )
    if row.state == IN_FLIGHT:
        raise InvalidTransition(f"record {record_id} is being delivered right now; wait a moment and reload")
    if row.state not in allowed:
        raise InvalidTransition(f"cannot {what} record {record_id}: it is {row.state} "
                                f"(only {', '.join(allowed)} records can be)")


def act(store: Store, action: str, record_id: int, *, actor: Actor,
        expected_version: int | None = None, reason: str | None = None) -> Any:
    """Apply one action to one record; returns the updated row."""
    s = spec(action)
    reason = (reason or "").strip() or None
    if s.reason_required and not reason:
        raise ReasonRequired(f"{action} needs a reason (it is kept in the audit trail)")
    now = store.clock()
    with store.write() as conn:
        row = conn.execute(select(R).where(R.c.id == record_id)).first()
        check_transition(row, record_id, expected_version, s.from_states, action)
        values = transition_values(s, now, reason)
        res = conn.execute(R.update().where(R.c.id == record_id, R.c.version == row.version)
                           .values(version=row.version + 1, **values))
        if res.rowcount != 1:  # only reachable on PostgreSQL under concurrent writers
            raise ConcurrencyConflict(f"record {record_id} changed while acting; nothing was changed")
        after = conn.execute(select(R).where(R.c.id == record_id)).first()
        audit.write(conn, [audit.audit_row(actor, now, action, "record", str(record_id), tenant=row.tenant,
                                           before=snapshot(row), after=snapshot(after), reason=reason)])
    return after


def canonical_json(payload: Any) -> str:
    return json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def payload_diff(old: Any, new: Any) -> str:
    return "\n".join(difflib.unified_diff(canonical_json(old).splitlines(), canonical_json(new).splitlines(),
                                          "before", "after", lineterm=""))


def validate_edit(entity: str, payload: Any) -> tuple[dict[str, Any], str]:
    """Validate an edited payload against the canonical model; returns (normalised, entity_key)."""
    from syncops.models.json_input import JsonInputError, check_payload_size, parse
    from syncops.models.registry import PayloadInvalid, validate_payload

    try:
        if isinstance(payload, str):
            payload = parse(payload)  # strict: bad UTF-8, deep nesting, huge numbers, over 1 MiB
        else:  # already parsed (console save, API): the same size limit as a typed-in payload
            check_payload_size(len(json.dumps(payload, separators=(",", ":"), default=str).encode()))
    except JsonInputError as exc:
        raise ActionError(f"the edited payload: {exc}") from None
    if not isinstance(payload, dict):
        raise ActionError("the edited payload must be a JSON object")
    try:
        model = validate_payload(entity, payload)
    except PayloadInvalid as exc:
        raise ActionError(f"the edited payload is not a valid {entity}: {exc}") from None
    return model.model_dump(mode="json"), model.entity_key()


def normalised(entity: str, payload: Any) -> Any:
    """The payload as the model would store it (defaults filled in), or as is if it is invalid.

    Connectors may store payloads without the model's defaults; comparing normalised forms
    keeps an untouched edit from becoming a new revision and a retry.
    """
    try:
        return validate_edit(entity, payload)[0]
    except ActionError:
        return payload


def edit_payload(store: Store, record_id: int, payload: Any, *, actor: Actor, reason: str | None,
                 expected_version: int | None) -> Any:
    """Replace a record's payload (validated), keep the old version and its diff, and retry it."""
    reason = (reason or "").strip() or None
    if not reason:
        raise ReasonRequired("an edit needs a reason (it is kept with the payload version)")
    now = store.clock()
    with store.write() as conn:
        row = conn.execute(select(R).where(R.c.id == record_id)).first()
        check_transition(row, record_id, expected_version, EDITABLE_STATES, "edit")
        new_payload, new_key = validate_edit(row.entity, payload)
        old_payload = json.loads(row.payload)
        if new_payload == normalised(row.entity, old_payload):
            raise ActionError("the payload is unchanged; nothing to save")
        diff = payload_diff(old_payload, new_payload)
        text = json.dumps(new_payload, separators=(",", ":"), sort_keys=True)
        values = transition_values(ACTIONS["retry"], now, None)
        # The guarded write first: if someone else changed the record meanwhile, nothing at all
        # (not even a payload version) is written.
        res = conn.execute(R.update().where(R.c.id == record_id, R.c.version == row.version).values(
            version=row.version + 1, payload=text, payload_rev=row.payload_rev + 1, entity_key=new_key, **values))
        if res.rowcount != 1:
            raise ConcurrencyConflict(f"record {record_id} changed while saving; nothing was changed")
        has_versions = conn.execute(select(V.c.id).where(V.c.record_id == record_id).limit(1)).first()
        if not has_versions:
            conn.execute(V.insert().values(record_id=record_id, rev=row.payload_rev, payload=row.payload,
                                           author="source", reason="original", at=row.created_at))
        conn.execute(V.insert().values(record_id=record_id, rev=row.payload_rev + 1, payload=text,
                                       author=str(actor), reason=reason, at=now, diff=diff))
        after = conn.execute(select(R).where(R.c.id == record_id)).first()
        before = snapshot(row) | {"payload_rev": row.payload_rev}
        # The audit log is exported: it keeps the diff with customer values masked (the
        # payload versions keep the real one, behind the audited reveal).
        audit.write(conn, [audit.audit_row(actor, now, "edit", "record", str(record_id), tenant=row.tenant,
                                           before=before, after=snapshot(after) | {"payload_rev": after.payload_rev,
                                                                                    "diff": mask_diff(diff)},
                                           reason=reason)])
    return after


def reveal_pii(store: Store, record_id: int, *, actor: Actor, reason: str | None = None) -> None:
    """Unmasking customer data is an action like any other: audited."""
    now = store.clock()
    with store.write() as conn:
        row = conn.execute(select(R.c.tenant).where(R.c.id == record_id)).first()
        if row is None:
            raise RecordNotFound(record_id)
        audit.write(conn, [audit.audit_row(actor, now, "reveal_pii", "record", str(record_id),
                                           tenant=row.tenant, reason=reason)])
