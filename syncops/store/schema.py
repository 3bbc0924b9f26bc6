"""Schema versions: an older store upgrades in place, a newer one is refused."""

from __future__ import annotations

from typing import Callable

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection

from syncops.store.db import Store, StoreError
from syncops.store.dialect import create_key_prefix_index
from syncops.store.tables import FlowMinute, Meta, SQLModel

SCHEMA_VERSION = 4


def _v1_to_v2(conn: Connection) -> None:
    # v2 added per-minute throughput/latency stats for the dashboard.
    FlowMinute.__table__.create(conn, checkfirst=True)


def _v2_to_v3(conn: Connection) -> None:
    # v3: lead's outcome_unknown column (merged separately)
    pass


def _v3_to_v4(conn: Connection) -> None:
    # v4 added the key-prefix index for the console's `key:PREFIX*` filter (see
    # dialect.create_key_prefix_index). CREATE INDEX reads the table once; on a store of a
    # million records that is a few seconds, once.
    create_key_prefix_index(conn)


# MIGRATIONS[n] upgrades a store from version n to n + 1.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4}


def read_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table(Meta.__tablename__):
        return None
    value = conn.execute(select(Meta.value).where(Meta.key == "schema_version")).scalar()
    return int(value) if value is not None else None


def ensure_schema(store: Store) -> None:
    with store.write() as conn:
        version = read_version(conn)
        if version is None:
            SQLModel.metadata.create_all(conn)
            _set_version(conn, SCHEMA_VERSION)
            return
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"store {store.safe_url} has schema version {version}, but this syncops understands "
                f"up to {SCHEMA_VERSION}: upgrade syncops (pip install -U syncops) before opening it"
            )
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](conn)
            version += 1
            _set_version(conn, version)


def _set_version(conn: Connection, version: int) -> None:
    table = Meta.__table__
    if conn.execute(select(table.c.key).where(table.c.key == "schema_version")).first():
        conn.execute(table.update().where(table.c.key == "schema_version").values(value=str(version)))
    else:
        conn.execute(table.insert().values(key="schema_version", value=str(version)))
