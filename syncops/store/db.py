"""Opening a store: one SQLAlchemy engine, read and write transactions, an injectable clock."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

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
    except OperationalError as exc:
        text = str(exc.orig) if exc.orig is not None else str(exc)
        lowered = text.lower()
        where = _safe_url(url)
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
    """Open (and create or upgrade) the store at `url`."""
    from syncops.store import schema

    if dialect.is_sqlite(url):
        if create:
            dialect.prepare_sqlite_file(url)
        elif (path := dialect.sqlite_path(url)) is not None and not path.exists():
            raise StoreError(f"store {_safe_url(url)} does not exist (check --store / SYNCOPS_STORE, "
                             "or run `syncops locate`)")
        engine = create_engine(url, connect_args={"check_same_thread": False})
        dialect.install_sqlite_behaviour(engine, synchronous=synchronous)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    store = Store(engine, url, clock)
    schema.ensure_schema(store)
    return store
