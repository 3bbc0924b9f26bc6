"""Opening a store: one SQLAlchemy engine, read and write transactions, an injectable clock."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError, OperationalError

from syncops.store import dialect


class StoreError(Exception):
    """A store problem a human can act on (locked, full disk, wrong version)."""


class Store:
    def __init__(self, engine: Engine, url: str, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.url = url
        self.clock = clock

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden: for messages, logs and exports."""
        return _safe_url(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A short write transaction (BEGIN IMMEDIATE on SQLite)."""
        with translate_errors(self.url):
            with self.engine.connect().execution_options(syncops_write=True) as conn:
                with conn.begin():
                    yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with translate_errors(self.url):
            with self.engine.connect() as conn:
                with conn.begin():
                    yield conn

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """Turn driver errors a technician can fix into a clear message naming the store."""
    try:
        yield
    except DatabaseError as exc:  # OperationalError is one
        text = str(exc.orig) if exc.orig is not None else str(exc)
        lowered = text.lower()
        where = _safe_url(url)
        if "malformed" in lowered or "not a database" in lowered:
            raise StoreError(f"store {where} is damaged or not an SQLite database ({text})") from exc
        if not isinstance(exc, OperationalError):
            raise
        if "locked" in lowered or "busy" in lowered:
            raise StoreError(
                f"store {where} is locked by another process for longer than "
                f"{dialect.BUSY_TIMEOUT_MS / 1000:.0f}s; nothing was changed, try again"
            ) from exc
        if "disk is full" in lowered or "database or disk is full" in lowered:
            raise StoreError(f"store {where}: the disk is full; nothing was changed") from exc
        if "unable to open" in lowered or "readonly" in lowered:
            raise StoreError(f"store {where}: cannot open or write the database ({text})") from exc
        raise


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def open_store(url: str, *, clock: Callable[[], float] = time.time, synchronous: str = "FULL",
               create: bool = True) -> Store:
    """Open the store at `url`. Only with `create` is a new store made or an older one upgraded;
    without it (reads) nothing is written, and a file that is not a syncops store is refused."""
    from syncops.store import schema

    created = False
    path = dialect.sqlite_path(url) if dialect.is_sqlite(url) else None
    if path is not None:
        created = _prepare_file(url, path, create)
    if dialect.is_sqlite(url):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        dialect.install_sqlite_behaviour(engine, synchronous=synchronous)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    store = Store(engine, url, clock)
    try:
        schema.ensure_schema(store, create=create)
    except BaseException:
        store.close()
        if created and path is not None:
            # A create that failed (disk full, interrupted) must not leave a file that looks like a store.
            dialect.remove_sqlite_files(path)
        raise
    return store


def _prepare_file(url: str, path: Path, create: bool) -> bool:
    """Check the file is ours (or nothing yet) before SQLite touches it; True if we created it."""
    from syncops.store import probe

    where = _safe_url(url)
    state = probe.probe_sqlite_file(path, where)
    if state == probe.MISSING:
        if not create:
            raise StoreError(f"store {where} does not exist (check --store / SYNCOPS_STORE, "
                             "or run `syncops locate`)")
        return dialect.prepare_sqlite_file(url)
    if state in (probe.EMPTY, probe.BLANK) and not create:
        what = "an empty file" if state == probe.EMPTY else "an SQLite database without tables"
        raise StoreError(f"store {where} is {what}, not a syncops store: delete it, or run "
                         "`syncops engine` to make a new store there")
    return False
