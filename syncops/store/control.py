"""Engine-side writes of shared runtime state: heartbeats, flow runs, endpoint health.

These are the engine reporting facts, not operator actions, so they are not audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from syncops.store.db import Store, StoreError
from syncops.store.dialect import upsert
from syncops.store.liveness import heartbeat_is_live
from syncops.store.tables import EndpointState, EngineHeartbeat, FlowControl

H = EngineHeartbeat.__table__
F = FlowControl.__table__
E = EndpointState.__table__


class EngineAlreadyRunning(StoreError):
    pass


def register_engine(store: Store, *, engine_id: str, host: str, pid: int, version: str, mode: str,
                    stale_after: float, exclusive: bool) -> None:
    """Record this engine's first heartbeat; with `exclusive`, refuse if another is alive.

    Check and insert happen in one write transaction, so two engines started at the
    same moment cannot both win. Liveness is `heartbeat_is_live`: a dead pid on this host
    is dead at once, other hosts' engines are judged by their heartbeat's age.
    """
    now = store.clock()
    with store.write() as conn:
        if exclusive:
            for other in conn.execute(select(H).where(H.c.stopped_at.is_(None), H.c.engine_id != engine_id)):
                age = now - other.beat_at
                if heartbeat_is_live(other, now=now, stale_after=stale_after, host=host):
                    raise EngineAlreadyRunning(
                        f"another engine is running on this store: {other.host} pid {other.pid} "
                        f"(heartbeat {age:.0f}s ago, {other.mode}); stop it first or attach a console to it")
            # The others belong to engines that died: take over.
            conn.execute(H.update().where(H.c.stopped_at.is_(None), H.c.engine_id != engine_id)
                         .values(stopped_at=now))
        conn.execute(upsert(store.engine, H, ["engine_id"],
                            dict(engine_id=engine_id, host=host, pid=pid, version=version, started_at=now,
                                 beat_at=now, stopped_at=None, mode=mode),
                            dict(beat_at=now, stopped_at=None)))


def beat(store: Store, engine_id: str) -> None:
    with store.write() as conn:
        conn.execute(H.update().where(H.c.engine_id == engine_id).values(beat_at=store.clock()))


def unregister_engine(store: Store, engine_id: str) -> None:
    with store.write() as conn:
        conn.execute(H.update().where(H.c.engine_id == engine_id).values(stopped_at=store.clock()))


def record_run(store: Store, tenant: str, flow: str, *, status: str, error: str | None,
               next_run_at: float | None) -> None:
    now = store.clock()
    values = dict(last_run_at=now, last_run_status=status, last_run_error=error, next_run_at=next_run_at,
                  updated_at=now)
    with store.write() as conn:
        conn.execute(upsert(store.engine, F, ["tenant", "flow"], dict(tenant=tenant, flow=flow, **values), values))


def record_next_runs(store: Store, next_runs: dict[tuple[str, str], float | None]) -> None:
    now = store.clock()
    with store.write() as conn:
        for (tenant, flow), nxt in next_runs.items():
            conn.execute(upsert(store.engine, F, ["tenant", "flow"],
                                dict(tenant=tenant, flow=flow, next_run_at=nxt, updated_at=now),
                                dict(next_run_at=nxt)))


def controls(store: Store) -> dict[tuple[str, str], Any]:
    with store.read() as conn:
        return {(r.tenant, r.flow): r for r in conn.execute(select(F))}


def save_endpoint(store: Store, tenant: str, endpoint: str, *, breaker: str | None = None,
                  failures: int | None = None, opened_at: float | None = None,
                  wait_until: float | None = None, last_error: str | None = None) -> None:
    now = store.clock()
    values: dict[str, Any] = dict(updated_at=now)
    if breaker is not None:
        values.update(breaker=breaker, consecutive_failures=failures or 0, opened_at=opened_at)
    if wait_until is not None:
        values["wait_until"] = wait_until
    if last_error is not None:
        values["last_error"] = last_error[:500]
    with store.write() as conn:
        conn.execute(upsert(store.engine, E, ["tenant", "endpoint"],
                            dict(tenant=tenant, endpoint=endpoint, **values), values))
