"""Look at an SQLite file before syncops opens it, without changing a byte of it.

Opening it the normal way would switch it to WAL and create tables: harmless for our own
store, damage to another application's database. So the file is read here with a plain
read-only connection, and anything that is not a syncops store is refused by name.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from syncops.store.db import StoreError

MISSING, EMPTY, BLANK, SYNCOPS = "missing", "empty", "blank", "syncops"
SQLITE_HEADER = b"SQLite format 3\x00"
META_TABLE = "syncops_meta"


def probe_sqlite_file(path: Path, where: str) -> str:
    """MISSING, EMPTY (0 bytes), BLANK (SQLite without tables) or SYNCOPS; StoreError otherwise."""
    if not path.exists():
        return MISSING
    if not path.is_file():
        raise StoreError(f"store {where} is not a file; nothing was changed")
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise StoreError(f"store {where} cannot be read: {exc.strerror or exc}") from exc
    if not head:
        return EMPTY
    if not head.startswith(SQLITE_HEADER):
        raise StoreError(f"store {where} is not an SQLite database, so not a syncops store; "
                         "nothing was changed (check --store / SYNCOPS_STORE)")
    tables = _table_names(path, where)
    if not tables:
        return BLANK
    if META_TABLE not in tables:
        raise StoreError(not_a_store(where, tables))
    return SYNCOPS


def not_a_store(where: str, tables: list[str]) -> str:
    shown = ", ".join(sorted(tables)[:8]) + (f" and {len(tables) - 8} more" if len(tables) > 8 else "")
    return (f"store {where} is not a syncops store: it holds tables {shown}; nothing was changed "
            "(check --store / SYNCOPS_STORE)")


def _table_names(path: Path, where: str) -> list[str]:
    try:
        con = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"store {where} cannot be opened: {exc}") from exc
    try:
        rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                           "AND name NOT LIKE 'sqlite_%'").fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise StoreError(f"store {where} cannot be read ({exc}); nothing was changed") from exc
        raise StoreError(f"store {where} is locked by another process; nothing was changed, try again") from exc
    except sqlite3.DatabaseError as exc:
        # A truncated or overwritten file: say so instead of guessing at its contents.
        raise StoreError(f"store {where} is damaged or not an SQLite database ({exc}); "
                         "nothing was changed") from exc
    finally:
        con.close()
    return [name for (name,) in rows]
