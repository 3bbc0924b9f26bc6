"""The floor under `bench store`: the very statements syncops sent, replayed through bare sqlite3.

A log attached to the store's engine keeps every statement, its parameters and each COMMIT
while the benchmark runs. Replayed in order on a fresh file with the same schema and pragmas,
they do the same work (same rows, same index changes, same commits: the replay's end state is
the run's) with no Python around them. The replay's time is what SQLite itself needs for this
schema; the rest of syncops's time is its own code. It is captured, not written out by hand,
so it cannot drift from what the store really does.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

COMMIT = "COMMIT"


class StatementLog:
    def __init__(self, engine: Engine) -> None:
        self.steps: list[tuple[str, Any, bool]] = []
        self._engine = engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, _conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, many: bool) -> None:
        self.steps.append((sql, params, many))

    def _commit(self, _conn: Any) -> None:
        self.steps.append((COMMIT, None, False))

    def stop(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._statement)
        event.remove(self._engine, "commit", self._commit)


def schema_of(path: Path) -> list[str]:
    """The DDL of an SQLite file, tables before the indexes on them."""
    conn = sqlite3.connect(path)
    try:
        return [sql for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type = 'index', rowid")]
    finally:
        conn.close()


def replay(steps: list[tuple[str, Any, bool]], schema: list[str], path: Path, synchronous: str) -> float:
    """Seconds the statements take on a fresh file at `path`, through the driver alone."""
    from syncops.store.dialect import BUSY_TIMEOUT_MS

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # The pragmas syncops's own connections get (dialect.install_sqlite_behaviour).
        for pragma in (f"busy_timeout={BUSY_TIMEOUT_MS}", "journal_mode=WAL", f"synchronous={synchronous}",
                       "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        for ddl in schema:
            conn.execute(ddl)
        cur = conn.cursor()
        start = time.perf_counter()
        for sql, params, many in steps:
            if sql == COMMIT:
                conn.execute(COMMIT)
            elif many:
                cur.executemany(sql, params)
            else:
                cur.execute(sql, params).fetchall()  # RETURNING statements run to their end
        return time.perf_counter() - start
    finally:
        conn.close()
