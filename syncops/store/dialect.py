"""Everything SQLite-specific lives here, so the lifecycle runs unchanged on PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

BUSY_TIMEOUT_MS = 5000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:":
        return None
    if parsed.query.get("uri") == "true" and database.startswith("file:"):
        # sqlite:///file:/path/s.db?mode=ro&uri=true: a read-only open (SQLite URI filename).
        from urllib.parse import unquote

        database = unquote(database.removeprefix("file:").split("?", 1)[0])
        if not database or database == ":memory:" or parsed.query.get("mode") == "memory":
            return None
    return Path(database)


def prepare_sqlite_file(url: str) -> bool:
    """Create the database file 0600 before SQLite does: it holds customer data.

    True when this call created it, so a create that then fails can take it away again.
    """
    path = sqlite_path(url)
    if path is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def remove_sqlite_files(path: Path) -> None:
    """Remove a database file we just created, with the WAL and shared-memory files SQLite added."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
              path.with_name(path.name + "-journal")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


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


class rare(FunctionElement):
    """A planner hint: this condition matches few rows (SQLite `likelihood(cond, 0.001)`).

    Without statistics for a LIKE prefix range, SQLite prefers the state index (200k exception
    rows to read) over the key index (a few hundred). Elsewhere it is the bare condition.
    """

    # A boolean type would make SQLite (no native booleans) render `likelihood(...) = 1`, which
    # hides the LIKE from the planner's prefix-range optimization; no type renders it bare.
    name = "rare"
    inherit_cache = True


@compiles(rare)
def _rare_default(element: rare, compiler: Any, **kw: Any) -> str:
    (condition,) = list(element.clauses)
    return compiler.process(condition, **kw)


@compiles(rare, "sqlite")
def _rare_sqlite(element: rare, compiler: Any, **kw: Any) -> str:
    (condition,) = list(element.clauses)
    # likelihood() wants a constant, so the probability is part of the SQL, not a parameter.
    return f"likelihood({compiler.process(condition, **kw)}, 0.001)"


def create_key_prefix_index(conn: Any) -> None:
    """An index LIKE 'prefix%' can use, for the console's `key:SKU-0001*` filter.

    SQLite's LIKE is case-insensitive, so only a NOCASE index serves it; PostgreSQL's LIKE is
    case-sensitive and needs text_pattern_ops (outside the C locale). Either way one entry per
    record, written once at enqueue: the entity key never changes, so claims and acks never
    touch it.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {KEY_PREFIX_INDEX} ON records (entity_key text_pattern_ops)")
    else:
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {KEY_PREFIX_INDEX} ON records (entity_key COLLATE NOCASE)")


KEY_PREFIX_INDEX = "ix_records_key_prefix"


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
    """Plain INSERT of many rows straight through the driver, as multi-row VALUES.

    SQLAlchemy's per-row parameter processing costs more than SQLite itself on the
    delivery hot path, and one multi-row statement is cheaper than the driver's
    executemany (one statement step per row); the SQL is standard on both dialects.
    """
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    row_marks = "(" + ", ".join(mark for _ in columns) + ")"
    head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start:start + INSERT_CHUNK]
        conn.exec_driver_sql(head + ", ".join(row_marks for _ in chunk), tuple(v for r in chunk for v in r))


# Rows per multi-row INSERT: 100 rows of ~20 columns stay far below SQLite's 32,766 variables
# (and PostgreSQL's 65,535 parameters) whatever columns are added later.
INSERT_CHUNK = 500


def insert_ignoring_duplicates_returning(conn: Any, table: Any, columns: Sequence[str], rows: list[tuple],
                                         returning: list[str]) -> list[tuple]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING, many rows per statement, straight to the driver.

    The same SQL SQLAlchemy's insertmanyvalues sends (multi-row VALUES), without its per-row
    parameter processing, which cost more than SQLite itself at enqueue. `rows` are tuples in
    the order of `columns`; columns left out get their scalar Python-side defaults, as
    SQLAlchemy's insert would; the values are plain str / int / float / bool / None, which both
    drivers take as they are. Returns the inserted rows (duplicates return nothing).
    """
    if not rows:
        return []
    given = set(columns)
    defaults = {c.name: c.default.arg for c in table.columns
                if c.name not in given and c.default is not None and getattr(c.default, "is_scalar", False)}
    names = [*columns, *defaults]
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    row_marks = "(" + ", ".join(mark for _ in names) + ")"
    head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
    tail = f" ON CONFLICT DO NOTHING RETURNING {', '.join(returning)}"
    fill = tuple(defaults.values())
    out: list[tuple] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start:start + INSERT_CHUNK]
        params = [v for r in chunk for v in (r + fill if fill else r)]
        sql = head + ", ".join(row_marks for _ in chunk) + tail
        out += conn.exec_driver_sql(sql, tuple(params)).fetchall()
    return out


def execute_for_ids(conn: Any, sql: str, ids: Sequence[int], before: Sequence[Any] = (),
                    after: Sequence[Any] = ()) -> Any:
    """Run hand-written SQL whose `{ids}` stands for an IN list, straight through the driver.

    `?` marks a parameter (rewritten for drivers that use `%s`); `before` and `after` are the
    parameters around the id list. SQLAlchemy expands an IN list anew on every execution,
    which on the delivery hot path cost more than the statement itself.
    """
    marks = ", ".join("?" for _ in ids)
    text = sql.replace("{ids}", marks)
    if conn.dialect.paramstyle != "qmark":
        text = text.replace("?", "%s")
    return conn.exec_driver_sql(text, (*before, *ids, *after))
