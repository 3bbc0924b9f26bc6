"""Canary bulk retry: retry a few records first, watch them, then release the rest or stop.

A fix (a mapping, a credential, a vendor back up) is proven by the engine delivering a
handful of records, not by a human's hope: retrying 500 on a wrong fix only produces 500
fresh failures and a rate limit. The canaries are the oldest matching records (the ones
the customer has waited for longest). The whole run is one operation in the audit trail:
`canary_start` when the canaries go, `canary_retry` with the outcome counts at the end
(both carry the same op id), plus the usual per-record retry events.

Waiting is a loop over an injectable clock and sleep, so tests drive it without real time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select

from syncops.services import audit
from syncops.services.actions import ACTIONS
from syncops.services.actor import Actor
from syncops.services.bulk import _matching, act_on_rows
from syncops.services.errors import ActionError
from syncops.store.db import Store
from syncops.store.filters import RecordFilter
from syncops.store.tables import (
    DELIVERED, FAILED, IN_FLIGHT, PENDING, QUARANTINED, RESOLVED, RETRY_WAIT, SUPERSEDED, Record,
)

R = Record.__table__
DEFAULT_SIZE = 5
RETRYABLE = ACTIONS["retry"].from_states
DEFAULT_TIMEOUT = 300.0  # seconds; an engine with a backlog may take a while to reach them
# A canary in retry_wait was tried and failed again (a transient error): the fix is not proven.
BAD_STATES = (FAILED, RETRY_WAIT, QUARANTINED)
WAITING_STATES = (PENDING, IN_FLIGHT)
CLOSED_STATES = (RESOLVED, SUPERSEDED)  # someone or something else closed it: neither proof nor failure


@dataclass
class CanaryRun:
    op: str  # links the start and outcome audit events
    filter: RecordFilter
    canary_ids: tuple[int, ...]
    total: int  # records the technician confirmed (canaries included)
    reason: str | None
    started_at: float

    @property
    def rest(self) -> int:
        return self.total - len(self.canary_ids)


@dataclass
class CanaryRecord:
    id: int
    tenant: str
    flow: str
    entity_key: str
    state: str
    error_category: str | None
    error_message: str | None


@dataclass
class CanaryStatus:
    records: list[CanaryRecord]
    elapsed: float
    timed_out: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.counts = {"delivered": self.delivered, "failed": self.failed, "waiting": self.waiting,
                       "closed": self.closed}

    def _n(self, states: tuple[str, ...]) -> int:
        return sum(1 for r in self.records if r.state in states)

    @property
    def delivered(self) -> int:
        return self._n((DELIVERED,))

    @property
    def failed(self) -> int:
        return self._n(BAD_STATES)

    @property
    def waiting(self) -> int:
        return self._n(WAITING_STATES)

    @property
    def closed(self) -> int:
        return self._n(CLOSED_STATES)

    @property
    def settled(self) -> bool:
        """Every canary has an outcome, or one already failed (no need to wait for the others)."""
        return self.waiting == 0 or self.failed > 0

    @property
    def all_delivered(self) -> bool:
        return self.waiting == 0 and self.failed == 0 and self.delivered > 0

    def line(self) -> str:
        return (f"canaries: {self.delivered} delivered, {self.failed} failed, {self.waiting} waiting"
                + (f", {self.closed} closed" if self.closed else "") + f" ({self.elapsed:.0f}s)")


@dataclass
class CanaryOutcome:
    outcome: str  # released | stopped | timed_out
    released: int
    status: CanaryStatus


def start(store: Store, f: RecordFilter, *, actor: Actor, confirmed_count: int, size: int = DEFAULT_SIZE,
          reason: str | None = None) -> CanaryRun:
    """Retry the `size` oldest matching records; the rest wait for `release`."""
    reason = (reason or "").strip() or None
    if size < 1:
        raise ActionError("a canary needs at least one record")
    if f.is_empty():
        raise ActionError("a bulk action needs at least one filter; to act on everything, say so with a state filter")
    now = store.clock()
    with store.write() as conn:
        rows = sorted(_matching(conn, f, RETRYABLE, now),
                      key=lambda r: r.id)
        if len(rows) > confirmed_count:
            raise ActionError(f"{len(rows)} records match now, more than the {confirmed_count} you confirmed; "
                              f"nothing was changed: preview again")
        if not rows:
            raise ActionError("no record matches any more; nothing to retry")
        done = act_on_rows(conn, "retry", rows[:size], actor=actor, now=now, reason=reason)
        ids = tuple(r.id for r in done)
        op = f"canary-{int(now)}-{ids[0] if ids else 0}"
        audit.write(conn, [audit.audit_row(actor, now, "canary_start", "bulk", f.describe(), tenant=f.tenant,
                                           after={"op": op, "canaries": len(ids), "matching": len(rows)},
                                           reason=reason)])
    return CanaryRun(op, f, ids, len(rows), reason, now)


def status(store: Store, run: CanaryRun) -> CanaryStatus:
    with store.read() as conn:
        rows = conn.execute(select(R.c.id, R.c.tenant, R.c.flow, R.c.entity_key, R.c.state, R.c.error_category,
                                   R.c.error_message).where(R.c.id.in_(list(run.canary_ids)))
                            .order_by(R.c.id)).all()
    return CanaryStatus([CanaryRecord(*r) for r in rows], store.clock() - run.started_at)


def wait(store: Store, run: CanaryRun, *, timeout: float = DEFAULT_TIMEOUT, poll: float = 1.0,
         sleep: Callable[[float], None] = time.sleep,
         on_progress: Callable[[CanaryStatus], None] | None = None) -> CanaryStatus:
    """Poll until every canary has an outcome (or one failed), or `timeout` seconds passed.

    Time is the store's clock, so a test's fake clock and a `sleep` that advances it (and
    plays the engine) make this deterministic.
    """
    while True:
        st = status(store, run)
        if on_progress is not None:
            on_progress(st)
        if st.settled:
            return st
        if st.elapsed >= timeout:
            st.timed_out = True
            return st
        sleep(poll)


def release(store: Store, run: CanaryRun, *, actor: Actor) -> CanaryOutcome:
    """Retry the rest, only when every canary was delivered; records the outcome."""
    st = status(store, run)
    if not st.all_delivered:
        raise ActionError(f"not releasing the rest: {st.line()}; stop, fix and try again")
    now = store.clock()
    with store.write() as conn:
        canaries = set(run.canary_ids)
        rows = [r for r in _matching(conn, run.filter, RETRYABLE, now)
                if r.id not in canaries]
        if len(rows) > run.rest:
            raise ActionError(f"{len(rows)} records match now, more than the {run.rest} you confirmed; "
                              f"nothing more was changed: stop and preview again")
        done = act_on_rows(conn, "retry", rows, actor=actor, now=now, reason=run.reason)
        _outcome_event(conn, run, actor, now, "released", len(done), st)
    return CanaryOutcome("released", len(done), st)


def stop(store: Store, run: CanaryRun, *, actor: Actor, timed_out: bool = False) -> CanaryOutcome:
    """Leave the rest as they are; records the outcome (the canaries keep whatever state they reached)."""
    st = status(store, run)
    outcome = "timed_out" if timed_out else "stopped"
    now = store.clock()
    with store.write() as conn:
        _outcome_event(conn, run, actor, now, outcome, 0, st)
    return CanaryOutcome(outcome, 0, st)


def _outcome_event(conn, run: CanaryRun, actor: Actor, now: float, outcome: str, released: int,
                   st: CanaryStatus) -> None:
    audit.write(conn, [audit.audit_row(
        actor, now, "canary_retry", "bulk", run.filter.describe(), tenant=run.filter.tenant,
        before={"op": run.op, "matching": run.total},
        after={"op": run.op, "outcome": outcome, "canaries": len(run.canary_ids), **st.counts,
               "released": released, "seconds": round(now - run.started_at, 1)},
        reason=run.reason)])
