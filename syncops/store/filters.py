"""Record filters shared by lists, counts and bulk actions (CLI flags and the console's query language)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_

from syncops.store.dialect import rare
from syncops.store.tables import STATES, Record

R = Record.__table__
# A key glob whose literal prefix is at least this long is taken to be selective, and the planner
# is told so (the key-prefix index then answers it); a shorter one (`SKU-*`) may match most of
# the table, where the state index is the better path.
SELECTIVE_KEY_PREFIX = 6


class FilterError(ValueError):
    pass


@dataclass
class RecordFilter:
    tenant: str | None = None
    flow: str | None = None
    states: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    key_pattern: str | None = None  # glob: TSHIRT-* matches TSHIRT-RED-M@store-1
    error_text: str | None = None  # case-insensitive substring of the last error
    older_than: float | None = None  # seconds since created
    newer_than: float | None = None
    ids: tuple[int, ...] = ()
    error_map: str | None = None
    error_value: str | None = None
    signature: str | None = None  # exact error signature (a group in the grouped view)
    text: str | None = None  # free text: entity key or error message
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [s for s in self.states if s not in STATES]
        if bad:
            raise FilterError(f"unknown state {bad[0]!r}; states are {', '.join(STATES)}")

    def is_empty(self) -> bool:
        return not any([self.tenant, self.flow, self.states, self.categories, self.key_pattern,
                        self.error_text, self.older_than, self.newer_than, self.ids,
                        self.error_map, self.error_value, self.signature, self.text])

    def describe(self) -> str:
        parts = []
        for name in ("tenant", "flow", "key_pattern", "error_text", "error_map", "error_value", "signature", "text"):
            if (v := getattr(self, name)) is not None:
                parts.append(f"{name}={v}")
        if self.states:
            parts.append("state=" + ",".join(self.states))
        if self.categories:
            parts.append("category=" + ",".join(self.categories))
        if self.older_than is not None:
            parts.append(f"older_than={self.older_than:g}s")
        if self.newer_than is not None:
            parts.append(f"newer_than={self.newer_than:g}s")
        if self.ids:
            parts.append(f"ids={len(self.ids)}")
        return " ".join(parts) or "all records"


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def glob_to_like(pattern: str) -> str:
    escaped = _like_escape(pattern).replace("*", "%").replace("?", "_")
    return escaped if any(c in pattern for c in "*?") else escaped


def where_clauses(f: RecordFilter, now: float) -> list[Any]:
    c = R.c
    out: list[Any] = []
    if f.tenant:
        out.append(c.tenant == f.tenant)
    if f.flow:
        out.append(c.flow == f.flow)
    if f.states:
        out.append(c.state.in_(list(f.states)))
    if f.categories:
        out.append(c.error_category.in_(list(f.categories)))
    if f.key_pattern:
        if any(ch in f.key_pattern for ch in "*?"):
            like = c.entity_key.like(glob_to_like(f.key_pattern), escape="\\")
            prefix = re.split(r"[*?]", f.key_pattern, maxsplit=1)[0]
            out.append(rare(like) if len(prefix) >= SELECTIVE_KEY_PREFIX else like)
        else:
            out.append(c.entity_key == f.key_pattern)
    if f.error_text:
        out.append(c.error_message.ilike(f"%{_like_escape(f.error_text)}%", escape="\\"))
    if f.text:
        pat = f"%{_like_escape(f.text)}%"
        out.append(or_(c.entity_key.ilike(pat, escape="\\"), c.error_message.ilike(pat, escape="\\")))
    if f.older_than is not None:
        out.append(c.created_at <= now - f.older_than)
    if f.newer_than is not None:
        out.append(c.created_at >= now - f.newer_than)
    if f.ids:
        out.append(c.id.in_(list(f.ids)))
    if f.error_map:
        out.append(c.error_map == f.error_map)
    if f.error_value:
        out.append(c.error_value == f.error_value)
    if f.signature:
        out.append(c.error_signature == f.signature)
    return out
