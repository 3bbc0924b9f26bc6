"""Schema versions, SQLite file safety and behaviour, and a clear error when the store is locked."""

from __future__ import annotations

import sqlite3
import stat
from contextlib import contextmanager

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from conftest import claim_all, enqueue_n, make_failed, new_record
from syncops.services import actions
from syncops.services.actor import Actor
from syncops.store import dialect, lifecycle
from syncops.store.db import StoreError, open_store
from syncops.store.filters import RecordFilter
from syncops.store.queries import count_records, flow_activity
from syncops.store.schema import SCHEMA_VERSION, read_version
from syncops.store.tables import Attempt, Meta, SQLModel


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path}/s.db"


def _version(store) -> int | None:
    with store.read() as conn:
        return read_version(conn)


def _set_version(store, value: str) -> None:
    with store.write() as conn:
        conn.execute(Meta.__table__.update().where(Meta.__table__.c.key == "schema_version").values(value=value))


@contextmanager
def _upgraded_from(s, version: str, clock):
    """Mark the store as `version`, close it, and yield it reopened by a creating open (which
    upgrades it), checked to be at the current version."""
    _set_version(s, version)
    s.close()
    s = open_store(s.url, clock=clock)
    try:
        assert _version(s) == SCHEMA_VERSION
        yield s
    finally:
        s.close()


def test_a_new_store_has_every_table_and_the_current_version(store):
    assert _version(store) == SCHEMA_VERSION == 5
    with store.read() as conn:
        assert set(SQLModel.metadata.tables) <= set(inspect(conn).get_table_names())


def test_reopening_keeps_the_data(url, clock):
    s = open_store(url, clock=clock)
    ids = enqueue_n(s, 3)
    s.close()
    s = open_store(url, clock=clock, create=False)
    assert count_records(s, RecordFilter()) == 3 and _version(s) == SCHEMA_VERSION
    assert [c.id for c in claim_all(s)] == ids
    s.close()


def test_a_store_from_a_newer_syncops_is_refused_and_left_alone(url, clock):
    s = open_store(url, clock=clock)
    enqueue_n(s, 1)
    _set_version(s, "7")
    s.close()
    with pytest.raises(StoreError) as err:
        open_store(url, clock=clock)
    msg = str(err.value)
    assert "schema version 7" in msg and f"up to {SCHEMA_VERSION}" in msg and "upgrade syncops" in msg
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        assert con.execute("select value from syncops_meta where key='schema_version'").fetchone() == ("7",)
        assert con.execute("select count(*) from records").fetchone() == (1,)
    finally:
        con.close()


def test_a_v1_store_is_upgraded_in_place(url, clock):
    s = open_store(url, clock=clock)
    ids = enqueue_n(s, 2)
    with s.write() as conn:
        conn.execute(text("DROP TABLE flow_minutes"))
    with _upgraded_from(s, "1", clock) as s:
        with s.read() as conn:
            assert inspect(conn).has_table("flow_minutes")
        assert count_records(s, RecordFilter()) == 2
        # The upgraded store works end to end, including the table the upgrade added.
        lifecycle.enqueue(s, [new_record(0)])  # a duplicate, counted in flow_minutes
        assert flow_activity(s)[("acme", "orders")].duplicates == 1
        assert [c.id for c in claim_all(s)] == ids


def test_a_v2_store_gains_the_outcome_unknown_mark_and_keeps_its_records(url, clock):
    s = open_store(url, clock=clock)
    ids = enqueue_n(s, 2)
    with s.write() as conn:
        conn.execute(text("ALTER TABLE records DROP COLUMN outcome_unknown"))
    with _upgraded_from(s, "2", clock) as s:
        claimed = claim_all(s)
        assert [c.id for c in claimed] == ids and not any(c.outcome_unknown for c in claimed)


def test_sqlite_file_is_private_wal_and_enforces_foreign_keys(tmp_path, clock):
    path = tmp_path / "sub" / "dir" / "s.db"  # parent directories are created as needed
    s = open_store(f"sqlite:///{path}", clock=clock)
    try:
        enqueue_n(s, 1)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        wal = path.with_name("s.db-wal")
        assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) & 0o077 == 0
        with s.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(IntegrityError):
            with s.write() as conn:
                conn.execute(Attempt.__table__.insert().values(record_id=999, at=0.0, endpoint="shop",
                                                               outcome="delivered"))
    finally:
        s.close()


def test_opening_a_missing_store_without_create_says_so(tmp_path, clock):
    path = tmp_path / "nope.db"
    with pytest.raises(StoreError, match="does not exist"):
        open_store(f"sqlite:///{path}", clock=clock, create=False)
    assert not path.exists()


@pytest.fixture
def fast_busy(monkeypatch):
    # Must be in place before open_store: the pragma is set when connections are made.
    monkeypatch.setattr(dialect, "BUSY_TIMEOUT_MS", 50)


def test_a_locked_store_gives_a_clear_error_and_loses_nothing(url, clock, fast_busy):
    s = open_store(url, clock=clock)
    [failed] = make_failed(s, 1, start=0)
    enqueue_n(s, 2, start=10)
    lifecycle.enqueue(s, [], cursor=("acme", "orders", "c1"))
    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError, match="locked") as err:
            lifecycle.enqueue(s, [new_record(20)], cursor=("acme", "orders", "c2"))
        assert "nothing was changed" in str(err.value)
        with pytest.raises(StoreError, match="locked"):
            claim_all(s)
        with pytest.raises(StoreError, match="locked"):
            actions.act(s, "retry", failed, actor=Actor("tech"))
        # WAL: readers (consoles, `records list`) still open and see the store while a writer holds it.
        reader = open_store(url, clock=clock, create=False)
        assert count_records(reader, RecordFilter()) == 3
        reader.close()
        assert count_records(s, RecordFilter()) == 3
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert count_records(s, RecordFilter()) == 3
    assert lifecycle.load_cursor(s, "acme", "orders") == "c1"
    assert count_records(s, RecordFilter(states=("failed",))) == 1
    # Once the lock is gone the same calls succeed.
    assert len(lifecycle.enqueue(s, [new_record(20)], cursor=("acme", "orders", "c2")).inserted) == 1
    assert lifecycle.load_cursor(s, "acme", "orders") == "c2"
    assert actions.act(s, "retry", failed, actor=Actor("tech")).state == "pending"
    s.close()


def test_a_create_that_fails_leaves_no_file_behind(tmp_path, clock, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def disk_full(conn, *a, **kw):
        raise OperationalError("CREATE TABLE records ...", {}, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(SQLModel.metadata, "create_all", disk_full)
    path = tmp_path / "s.db"
    with pytest.raises(StoreError, match="disk is full"):
        open_store(f"sqlite:///{path}", clock=clock)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no 0-byte store, no -wal or -shm
    monkeypatch.undo()
    s = open_store(f"sqlite:///{path}", clock=clock)  # the next try starts clean and works
    assert _version(s) == SCHEMA_VERSION
    s.close()


def test_a_read_never_upgrades_an_older_store(url, clock):
    s = open_store(url, clock=clock)
    with s.write() as conn:
        conn.execute(text("DROP TABLE flow_minutes"))
    _set_version(s, "1")
    s.close()
    with pytest.raises(StoreError, match=r"schema version 1 .*\(`syncops engine`\) once to upgrade"):
        open_store(url, clock=clock, create=False)
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        assert con.execute("select value from syncops_meta where key='schema_version'").fetchone() == ("1",)
        assert not con.execute("select name from sqlite_master where name='flow_minutes'").fetchall()
    finally:
        con.close()
    s = open_store(url, clock=clock)  # a command that creates stores upgrades it
    assert _version(s) == SCHEMA_VERSION
    s.close()


def test_the_schema_check_refuses_foreign_tables_on_any_backend(url, clock):
    # The SQLite file probe refuses these first; this is the dialect-neutral check (PostgreSQL).
    from syncops.store import schema

    s = open_store(url, clock=clock)
    with s.write() as conn:
        for t in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(text(f"DROP TABLE {t.name}"))
        conn.execute(text("CREATE TABLE wp_posts (id INTEGER PRIMARY KEY)"))
    with pytest.raises(StoreError, match="not a syncops store: it holds tables wp_posts"):
        schema.ensure_schema(s, create=True)
    with s.read() as conn:
        assert inspect(conn).get_table_names() == ["wp_posts"]
    s.close()


def test_a_v3_store_gets_the_key_prefix_index_and_uses_it(url, clock):
    s = open_store(url, clock=clock)
    enqueue_n(s, 3)
    with s.write() as conn:
        conn.execute(text(f"DROP INDEX {dialect.KEY_PREFIX_INDEX}"))
    with _upgraded_from(s, "3", clock) as s:
        with s.read() as conn:
            assert dialect.KEY_PREFIX_INDEX in {i["name"] for i in inspect(conn).get_indexes("records")}
            # The console's key-prefix filter is answered from it, not by reading every exception.
            from sqlalchemy import select

            from syncops.store.filters import where_clauses
            from syncops.store.tables import EXCEPTION_STATES, Record

            f = RecordFilter(states=EXCEPTION_STATES, key_pattern="SKU-0001*")
            stmt = select(Record.__table__.c.id).where(*where_clauses(f, clock()))
            compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
            assert dialect.KEY_PREFIX_INDEX in plan
        lifecycle.enqueue(s, [new_record(10, key="SKU-00012@store-1"), new_record(11, key="SKU-00019@store-2")])
        # Same answers as before the index: a glob, case-insensitive on SQLite as LIKE is.
        assert count_records(s, RecordFilter(key_pattern="SKU-0001*")) == 2
        assert count_records(s, RecordFilter(key_pattern="sku-0001*")) == 2
        assert count_records(s, RecordFilter(key_pattern="SKU-0001?@store-2")) == 1


def _v4_flow_minutes(s) -> None:
    """Put back the v4 table: keyed (tenant, flow, minute), a rowid table on SQLite."""
    from syncops.store.tables import FlowMinute

    cols = ", ".join(c.name for c in FlowMinute.__table__.columns)
    defs = ", ".join(f"{c.name} {'VARCHAR' if c.name in ('tenant', 'flow') else 'INTEGER'} NOT NULL"
                     for c in FlowMinute.__table__.columns)
    with s.write() as conn:
        conn.execute(text(f"CREATE TABLE fm_v4 ({defs}, PRIMARY KEY (tenant, flow, minute))"))
        conn.execute(text(f"INSERT INTO fm_v4 ({cols}) SELECT {cols} FROM flow_minutes"))
        conn.execute(text("DROP TABLE flow_minutes"))
        conn.execute(text("ALTER TABLE fm_v4 RENAME TO flow_minutes"))


def test_a_v4_store_gets_minute_keyed_statistics_and_windowed_reads_seek_them(store, clock):
    from syncops.store import queries
    from syncops.store.tables import FlowMinute

    s = store
    enqueue_n(s, 3)
    lifecycle.settle(s, "eng-1", [lifecycle.Outcome(c) for c in claim_all(s)], endpoint="shop")
    _v4_flow_minutes(s)
    with _upgraded_from(s, "4", clock) as s:
        with s.read() as conn:
            assert inspect(conn).get_pk_constraint("flow_minutes")["constrained_columns"] == ["minute", "tenant", "flow"]
            assert "flow_minutes_v4" not in inspect(conn).get_table_names()
            M = FlowMinute.__table__
            from sqlalchemy import select

            stmt = select(M.c.tenant, M.c.flow, M.c.failed).where(M.c.minute >= 100, M.c.minute <= 160)
            if s.is_sqlite:
                compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
                assert "SEARCH flow_minutes USING PRIMARY KEY (minute>? AND minute<?)" in plan, plan
        [activity] = queries.flow_activity(s, minutes=5).values()  # the statistics survived the upgrade
        assert activity.delivered_per_minute[-1] == 3
        enqueue_n(s, 2, start=50)
        lifecycle.settle(s, "eng-1", [lifecycle.Outcome(c) for c in claim_all(s)], endpoint="shop")
        [activity] = queries.flow_activity(s, minutes=5).values()  # and the upsert adds to the same minute
        assert activity.delivered_per_minute[-1] == 5
