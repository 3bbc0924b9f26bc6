"""Shared fixtures for the store and services tests: a fake clock, a fresh store, record helpers."""

from __future__ import annotations

import os
from typing import Any, Sequence

import pytest

from syncops.models import sample_payload
from syncops.store import lifecycle
from syncops.store.db import Store, open_store
from syncops.store.lifecycle import Claimed, NewRecord, Outcome
from syncops.store.queries import get_record

T0 = 1_700_000_000.0  # a fixed "now" so minute buckets and ages are predictable


class FakeClock:
    """A clock tests move by hand: `clock()` and `clock.now` are the current epoch seconds."""

    def __init__(self, now: float = T0) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


POSTGRES = os.environ.get("SYNCOPS_TEST_POSTGRES")  # a server URL; .ci/run starts one
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES else [])


def pytest_report_header(config):
    return ("store backends: sqlite, postgresql" if POSTGRES else
            "store backends: sqlite (set SYNCOPS_TEST_POSTGRES to a server URL to add postgresql)")


@pytest.fixture(scope="session")
def postgres_url(worker_id="master") -> str | None:
    """A database of our own on the PostgreSQL server (one per xdist worker)."""
    if not POSTGRES:
        return None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"syncops_test_{worker}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path, clock) -> Store:
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path}/s.db", clock=clock)
    else:
        from sqlmodel import SQLModel

        url = request.getfixturevalue("postgres_url")
        s = open_store(url, clock=clock)
        with s.engine.begin() as conn:  # every test starts from an empty store
            SQLModel.metadata.drop_all(conn)
        s.close()
        s = open_store(url, clock=clock)
    yield s
    s.close()


def new_record(i: int | str, *, tenant: str = "acme", flow: str = "orders", entity: str = "order",
               key: str | None = None, target: str = "shop", coalesce: bool = False,
               payload: dict[str, Any] | None = None, idem: str | None = None,
               source_ts: float | None = None) -> NewRecord:
    """One record; the idempotency key defaults to something unique per (flow, i)."""
    if payload is None:
        payload = sample_payload(entity)
    return NewRecord(
        tenant=tenant, flow=flow, entity=entity, entity_key=key if key is not None else f"K{i}",
        idempotency_key=idem if idem is not None else f"{flow}:{i}", target=target, payload=payload,
        source_ts=T0 - 10 if source_ts is None else source_ts, coalesce=coalesce,
    )


def enqueue_n(store: Store, n: int, *, start: int = 0, **kw: Any) -> list[int]:
    """Enqueue `n` distinct records (keys K<start>..); returns their ids in enqueue order."""
    res = lifecycle.enqueue(store, [new_record(start + i, **kw) for i in range(n)])
    assert len(res.inserted) == n
    return res.inserted


def claim_all(store: Store, *, tenant: str = "acme", target: str = "shop", owner: str = "eng-1",
              **kw: Any) -> list[Claimed]:
    return lifecycle.claim(store, tenant=tenant, target=target, owner=owner, **kw)


def ok(c: Claimed, **kw: Any) -> Outcome:
    return Outcome(record=c, **kw)


def settle(store: Store, outcomes: Sequence[Outcome], *, owner: str = "eng-1", **kw: Any) -> dict[int, str]:
    return lifecycle.settle(store, owner, outcomes, endpoint="shop", **kw)


def state_of(store: Store, record_id: int) -> str:
    return get_record(store, record_id).state


def make_failed(store: Store, n: int = 1, *, category: Any = None, message: str = "rejected: bad tax code",
                owner: str = "eng-1", error_map: str | None = None, error_value: str | None = None,
                **kw: Any) -> list[int]:
    """Enqueue `n` records (distinct keys) and drive them to `failed` with a non-retryable error."""
    from syncops.store.categories import Category

    ids = enqueue_n(store, n, **kw)
    target = kw.get("target", "shop")
    tenant = kw.get("tenant", "acme")
    got = lifecycle.claim(store, tenant=tenant, target=target, owner=owner, limit=10_000)
    claimed = [c for c in got if c.id in ids]
    # Other records that were due come straight back, untouched apart from their version.
    lifecycle.defer(store, owner, [c.id for c in got if c.id not in ids], until=store.clock())
    states = lifecycle.settle(store, owner, [
        Outcome(record=c, category=category or Category.VALIDATION, message=message,
                error_map=error_map, error_value=error_value) for c in claimed
    ], endpoint=target)
    assert set(states) == set(ids) and set(states.values()) == {"failed"}
    return ids
