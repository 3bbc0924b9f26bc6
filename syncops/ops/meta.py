"""JSON documents in the key/value table ``syncops_meta`` (no schema change): get, put, scan, delete."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select

from syncops.store.db import Store
from syncops.store.dialect import upsert
from syncops.store.tables import Meta

M = Meta.__table__


def _loads(text: str | None) -> Any:
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return None


def get(store: Store, key: str) -> Any:
    with store.read() as conn:
        return _loads(conn.execute(select(M.c.value).where(M.c.key == key)).scalar())


def put(store: Store, key: str, value: Any, conn: Any = None) -> None:
    text = json.dumps(value, sort_keys=True, default=str)
    stmt = upsert(store.engine, M, ["key"], dict(key=key, value=text), dict(value=text))
    if conn is not None:
        conn.execute(stmt)
        return
    with store.write() as c:
        c.execute(stmt)


def scan(store: Store, prefix: str) -> dict[str, Any]:
    """Every document whose key starts with `prefix`, by key (values that are not JSON come back raw)."""
    with store.read() as conn:
        rows = conn.execute(select(M.c.key, M.c.value).where(M.c.key.startswith(prefix, autoescape=True))).all()
    out = {}
    for key, value in rows:
        parsed = _loads(value)
        out[key] = value if parsed is None and value not in ("null",) else parsed
    return out


def drop(store: Store, keys: list[str]) -> None:
    if keys:
        with store.write() as conn:
            conn.execute(delete(M).where(M.c.key.in_(keys)))


def counter(value: Any) -> int:
    """A counter another component stores: a number, a numeric string or {"count": n}; else 0."""
    if isinstance(value, dict):
        value = value.get("count", value.get("total", 0))
    try:
        return max(0, int(float(value)))
    except (TypeError, ValueError):
        return 0
