"""Value maps: entries added by operators overlay the maps in the config file.

Fixing an unmapped value and releasing exactly the records it blocked is one call,
so the technician who adds "TSHIRT-RED-M -> 4412" sees those 27 orders move at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from sqlalchemy import select

from syncops.services import audit
from syncops.services.actions import ACTIONS, transition_values
from syncops.services.actor import Actor
from syncops.services.errors import ActionError
from syncops.store.db import Store
from syncops.store.dialect import upsert
from syncops.store.tables import FAILED, MappingEntry, Record

M = MappingEntry.__table__
R = Record.__table__


@dataclass
class MapEntry:
    map_name: str
    source: str
    target: str
    origin: str  # "config" or "store"
    updated_by: str | None = None
    updated_at: float | None = None


def store_entries(store: Store, tenant: str, map_name: str | None = None) -> list[MapEntry]:
    stmt = select(M).where(M.c.tenant == tenant)
    if map_name:
        stmt = stmt.where(M.c.map_name == map_name)
    with store.read() as conn:
        return [MapEntry(r.map_name, r.source_value, r.target_value, "store", r.updated_by, r.updated_at)
                for r in conn.execute(stmt.order_by(M.c.map_name, M.c.source_value))]


def effective_maps(store: Store, tenant: str,
                   config_maps: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Config maps with the store's entries on top (the operator's fix wins)."""
    maps = {name: dict(entries) for name, entries in config_maps.items()}
    for e in store_entries(store, tenant):
        maps.setdefault(e.map_name, {})[e.source] = e.target
    return maps


def list_entries(store: Store, tenant: str, config_maps: Mapping[str, Mapping[str, str]],
                 map_name: str | None = None) -> list[MapEntry]:
    overlay = {(e.map_name, e.source): e for e in store_entries(store, tenant, map_name)}
    out = [e for e in overlay.values()]
    for name, entries in config_maps.items():
        if map_name and name != map_name:
            continue
        out.extend(MapEntry(name, str(s), str(t), "config") for s, t in entries.items()
                   if (name, str(s)) not in overlay)
    return sorted(out, key=lambda e: (e.map_name, e.source))


def set_entry(store: Store, tenant: str, map_name: str, source: str, target: str, *, actor: Actor,
              release: bool = False, reason: str | None = None) -> int:
    """Add or change one entry; with `release`, put the records it blocked back in the queue.

    Returns how many records were released.
    """
    source, target = source.strip(), target.strip()
    if not source or not target:
        raise ActionError("a mapping needs a non-empty source and target value")
    now = store.clock()
    with store.write() as conn:
        before = conn.execute(select(M.c.target_value).where(
            M.c.tenant == tenant, M.c.map_name == map_name, M.c.source_value == source)).scalar()
        conn.execute(upsert(store.engine, M, ["tenant", "map_name", "source_value"],
                            dict(tenant=tenant, map_name=map_name, source_value=source, target_value=target,
                                 updated_at=now, updated_by=str(actor)),
                            dict(target_value=target, updated_at=now, updated_by=str(actor))))
        rows = []
        entry_id = f"{map_name}:{source}"
        audit_rows = [audit.audit_row(actor, now, "mapping_set", "mapping", entry_id, tenant=tenant,
                                      before=None if before is None else {"target": before},
                                      after={"target": target}, reason=reason)]
        if release:
            rows = conn.execute(select(R.c.id, R.c.version, R.c.state, R.c.attempts, R.c.error_category).where(
                R.c.tenant == tenant, R.c.error_map == map_name, R.c.error_value == source,
                R.c.state == FAILED)).all()
            values = transition_values(ACTIONS["release"], now, None)
            ids = [r.id for r in rows]
            for i in range(0, len(ids), 500):
                conn.execute(R.update().where(R.c.id.in_(ids[i:i + 500]), R.c.state == FAILED)
                             .values(version=R.c.version + 1, **values))
            audit_rows += [audit.audit_row(actor, now, "release", "record", str(r.id), tenant=tenant,
                                           before={"state": r.state, "version": r.version},
                                           after={"state": "pending", "version": r.version + 1},
                                           reason=f"mapping {map_name}: {source} -> {target}") for r in rows]
        audit.write(conn, audit_rows)
    return len(rows)


def blocked_count(store: Store, tenant: str, map_name: str, value: str) -> int:
    from sqlalchemy import func

    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(R).where(
            R.c.tenant == tenant, R.c.error_map == map_name, R.c.error_value == value,
            R.c.state == FAILED)).scalar_one()


def delete_entry(store: Store, tenant: str, map_name: str, source: str, *, actor: Actor,
                 config_maps: Mapping[str, Mapping[str, str]] | None = None) -> None:
    now = store.clock()
    with store.write() as conn:
        before = conn.execute(select(M.c.target_value).where(
            M.c.tenant == tenant, M.c.map_name == map_name, M.c.source_value == source)).scalar()
        if before is None:
            if config_maps and source in (config_maps.get(map_name) or {}):
                raise ActionError(f"{map_name}: {source} comes from the config file; edit the file to remove it")
            raise ActionError(f"no stored mapping {map_name}: {source} for tenant {tenant}")
        conn.execute(M.delete().where(M.c.tenant == tenant, M.c.map_name == map_name, M.c.source_value == source))
        audit.write(conn, [audit.audit_row(actor, now, "mapping_delete", "mapping", f"{map_name}:{source}",
                                           tenant=tenant, before={"target": before})])
