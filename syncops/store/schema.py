"""Schema versions: an older store upgrades in place, a newer one is refused."""

from __future__ import annotations

from typing import Callable

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection

from syncops.store.db import Store, StoreError
from syncops.store.dialect import create_key_prefix_index
from syncops.store.tables import FlowMinute, Meta, SQLModel

SCHEMA_VERSION = 5


def _v1_to_v2(conn: Connection) -> None:
    # v2 added per-minute throughput/latency stats for the dashboard.
    FlowMinute.__table__.create(conn, checkfirst=True)


def _v2_to_v3(conn: Connection) -> None:
    # v3 marks records whose delivery may have been applied unseen (see Record.outcome_unknown).
    if "outcome_unknown" not in {c["name"] for c in inspect(conn).get_columns("records")}:
        conn.execute(text("ALTER TABLE records ADD COLUMN outcome_unknown BOOLEAN NOT NULL DEFAULT FALSE"))


def _v3_to_v4(conn: Connection) -> None:
    # v4 added the key-prefix index for the console's `key:PREFIX*` filter (see
    # dialect.create_key_prefix_index). CREATE INDEX reads the table once; on a store of a
    # million records that is a few seconds, once.
    create_key_prefix_index(conn)


_MINUTE_FIRST = ["minute", "tenant", "flow"]


def _v4_to_v5(conn: Connection) -> None:
    # v5 keys flow_minutes by (minute, tenant, flow), stored in key order on SQLite: the windowed
    # reads and the retention purge read a range of minutes, which under the old (tenant, flow,
    # minute) key was a scan of every minute ever recorded. The rows are copied once.
    if inspect(conn).get_pk_constraint("flow_minutes")["constrained_columns"] == _MINUTE_FIRST:
        return  # made by _v1_to_v2 from the current table definition
    if conn.dialect.name == "postgresql":
        old = inspect(conn).get_pk_constraint("flow_minutes")["name"]
        conn.execute(text(f'ALTER TABLE flow_minutes DROP CONSTRAINT "{old}", '
                          "ADD CONSTRAINT pk_flow_minutes PRIMARY KEY (minute, tenant, flow)"))
        return
    columns = ", ".join(c.name for c in FlowMinute.__table__.columns)
    conn.execute(text("ALTER TABLE flow_minutes RENAME TO flow_minutes_v4"))
    FlowMinute.__table__.create(conn)
    conn.execute(text(f"INSERT INTO flow_minutes ({columns}) SELECT {columns} FROM flow_minutes_v4"))
    conn.execute(text("DROP TABLE flow_minutes_v4"))


# MIGRATIONS[n] upgrades a store from version n to n + 1.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5}


def read_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table(Meta.__tablename__):
        return None
    value = conn.execute(select(Meta.value).where(Meta.key == "schema_version")).scalar()
    return int(value) if value is not None else None


def ensure_schema(store: Store, *, create: bool = True) -> None:
    """Check the schema in a read transaction; take the write lock only to create or upgrade it.

    A check under the write lock would make every read wait for (or fail behind) any writer,
    and fail on a store it may not write. Without `create` (reads) the schema is never changed.
    """
    with store.read() as conn:
        version = read_version(conn)
        foreign = _foreign_tables(conn) if version is None else []
    if version == SCHEMA_VERSION:
        return
    _refuse_unusable(store, version, foreign, create)
    with store.write() as conn:
        version = read_version(conn)  # again: another process may have created or upgraded it meanwhile
        if version is None:
            _refuse_unusable(store, version, _foreign_tables(conn), create)
            SQLModel.metadata.create_all(conn)
            _set_version(conn, SCHEMA_VERSION)
            return
        _refuse_unusable(store, version, [], create)
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](conn)
            version += 1
            _set_version(conn, version)


def _foreign_tables(conn: Connection) -> list[str]:
    return [t for t in inspect(conn).get_table_names() if t not in SQLModel.metadata.tables]


def _refuse_unusable(store: Store, version: int | None, foreign: list[str], create: bool) -> None:
    """Raise if the store cannot be used as it is (and, without `create`, must not be changed)."""
    from syncops.store.probe import not_a_store

    if version is None and foreign:
        raise StoreError(not_a_store(store.safe_url, foreign))
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(
            f"store {store.safe_url} has schema version {version}, but this syncops understands "
            f"up to {SCHEMA_VERSION}: upgrade syncops (pip install -U syncops) before opening it"
        )
    if create or version == SCHEMA_VERSION:
        return
    if version is None:
        raise StoreError(f"store {store.safe_url} holds no syncops store yet: run `syncops engine` to create one")
    raise StoreError(f"store {store.safe_url} has schema version {version} and this syncops uses "
                     f"{SCHEMA_VERSION}: start the engine (`syncops engine`) once to upgrade it; "
                     "reading commands never change a store")


def _set_version(conn: Connection, version: int) -> None:
    table = Meta.__table__
    if conn.execute(select(table.c.key).where(table.c.key == "schema_version")).first():
        conn.execute(table.update().where(table.c.key == "schema_version").values(value=str(version)))
    else:
        conn.execute(table.insert().values(key="schema_version", value=str(version)))
