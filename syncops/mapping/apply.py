"""Apply a flow's value maps (SKU, location, tax code, ...) to a payload.

Pure: inputs are never mutated, so a failed mapping leaves the stored source
payload exactly as received.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator, Mapping

from syncops.models import paths

from .results import AppliedMapping, UnmappedValue
from .roles import ROLE_FIELDS, fields_for

Occurrence = tuple[str, str, str, dict[str, Any], str]  # role, map, field, parent, key


def _occurrences(
    entity: str, payload: Any, roles: Mapping[str, str], maps: Mapping[str, Mapping[str, str]]
) -> Iterator[Occurrence]:
    for role, map_name in roles.items():
        fields_for(entity, role)  # rejects unknown roles early
        if map_name not in maps:
            raise ValueError(f"map {map_name!r} used for role {role!r} is not defined")
    # Table order, not config order, so "the first unmapped value" is stable across configs.
    for role, field_paths in ROLE_FIELDS[entity].items():
        if role not in roles:
            continue
        for path in field_paths:
            for field, parent, key in paths.locate(payload, path):
                if parent[key] is not None:
                    yield role, roles[role], field, parent, key


def _lookup(mapping: Mapping[str, str], value: Any) -> str | None:
    # Integer codes (GL accounts, Square location numbers) match their string keys.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return mapping.get(value)


def apply_mappings(
    entity: str,
    payload: dict[str, Any],
    roles: Mapping[str, str],
    maps: Mapping[str, Mapping[str, str]],
) -> tuple[dict[str, Any], list[AppliedMapping]]:
    """Return (mapped copy, one AppliedMapping per rewritten field occurrence).

    Raises ``UnmappedValue`` for the first value missing from its map. Roles not in
    ``roles`` and None/absent fields are left as they are.
    """
    mapped = copy.deepcopy(payload)
    applied: list[AppliedMapping] = []
    for role, map_name, field, parent, key in list(_occurrences(entity, mapped, roles, maps)):
        source = parent[key]
        target = _lookup(maps[map_name], source)
        if target is None:
            raise UnmappedValue(map_name, source, field, role)
        parent[key] = target
        applied.append(AppliedMapping(map=map_name, field=field, source=str(source), target=target))
    return mapped, applied


def unmapped_values(
    entity: str,
    payload: dict[str, Any],
    roles: Mapping[str, str],
    maps: Mapping[str, Mapping[str, str]],
) -> list[UnmappedValue]:
    """Every value ``apply_mappings`` would fail on, one per field occurrence (for previews)."""
    return [
        UnmappedValue(map_name, parent[key], field, role)
        for role, map_name, field, parent, key in _occurrences(entity, payload, roles, maps)
        if _lookup(maps[map_name], parent[key]) is None
    ]
