"""Everything SQLite-specific lives here, so the lifecycle runs unchanged on PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

BUSY_TIMEOUT_MS = 5000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def prepare_sqlite_file(url: str) -> None:
    """Create the database file 0600 before SQLite does: it holds customer data."""
    path = sqlite_path(url)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def install_sqlite_behaviour(engine: Engine, synchronous: str = "FULL") -> None:
    """WAL, busy timeout, foreign keys, and BEGIN IMMEDIATE for writes.

    A deferred transaction that reads and then writes fails at once with
    "database is locked" when another process writes (the busy timeout never
    applies to it), so every write transaction takes the write lock up front.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN, not the sqlite3 module's implicit one.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("syncops_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def insert_ignoring_duplicates(engine: Engine, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the engine's dialect."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


def upsert(engine: Engine, table: Any, keys: list[str], values: dict[str, Any], update: dict[str, Any]) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(**values)
    return stmt.on_conflict_do_update(index_elements=keys, set_=update)


def upsert_add(engine: Engine, table: Any, keys: list[str], values: dict[str, Any], add: list[str]) -> Any:
    """INSERT the row, or add `values[c]` to each counter column `c` of the existing one.

    One statement, so concurrent writers (two engines on PostgreSQL) never collide or lose counts.
    """
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(**values)
    return stmt.on_conflict_do_update(index_elements=keys,
                                      set_={c: table.c[c] + stmt.excluded[c] for c in add})


def upsert_add_statement(dialect_name: str, table: Any, keys: list[str], add: list[str]) -> Any:
    """upsert_add as one reusable statement: every column a bind parameter named after it.

    Built once per (dialect, table, columns) and cached, so a caller pays neither for building
    the expression nor for compiling it again (SQLAlchemy's cache key of a statement with literal
    values differs whenever the set of columns does). Same SQL as upsert_add, same atomicity.
    """
    cache_key = (dialect_name, table.name, tuple(keys), tuple(add))
    stmt = _UPSERT_ADD_CACHE.get(cache_key)
    if stmt is None:
        if dialect_name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        from sqlalchemy import bindparam

        base = insert(table).values({c: bindparam(c) for c in [*keys, *add]})
        stmt = base.on_conflict_do_update(index_elements=keys,
                                          set_={c: table.c[c] + base.excluded[c] for c in add})
        _UPSERT_ADD_CACHE[cache_key] = stmt
    return stmt


_UPSERT_ADD_CACHE: dict[tuple, Any] = {}


def fast_executemany(conn: Any, table: Any, columns: list[str], rows: list[tuple]) -> None:
    """Plain INSERT of many rows straight through the driver.

    SQLAlchemy's per-row parameter processing costs more than SQLite itself on the
    delivery hot path; the SQL here is standard, only the placeholder style differs.
    """
    if not rows:
        return
    style = conn.dialect.paramstyle
    marks = ", ".join("?" if style == "qmark" else "%s" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows)
