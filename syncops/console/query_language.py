"""The `/` filter language of the exceptions screen, parsed into the store's RecordFilter.

    cat:mapping tenant:acme flow:orders key:TSHIRT* state:failed age>1h age<10m err:"text" free words

Terms are AND-ed; a key given twice with list semantics (cat, state) is OR-ed, as is a
comma list (`cat:mapping,auth`). Everything that is not a `key:value` term is free text
matched against the entity key and the last error. Pure Python: no Textual, testable alone.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from syncops.config import DurationError, parse_duration
from syncops.store.categories import Category
from syncops.store.filters import FilterError, RecordFilter
from syncops.store.tables import EXCEPTION_STATES, STATES

# Aliases a technician is likely to type; values are the store's names.
STATE_ALIASES = {"retry": "retry_wait", "retrying": "retry_wait", "wait": "retry_wait", "quarantine": "quarantined",
                 "fail": "failed", "inflight": "in_flight", "in-flight": "in_flight"}
CATEGORY_ALIASES = {"map": "mapping", "ratelimit": "rate_limit", "rate": "rate_limit", "429": "rate_limit",
                    "down": "unavailable", "5xx": "unavailable", "dup": "duplicate"}
KEYS = ("cat", "tenant", "flow", "key", "state", "err", "sig", "map", "value", "id", "age")
_KEY_ALIASES = {"category": "cat", "t": "tenant", "f": "flow", "k": "key", "s": "state", "error": "err",
                "ids": "id", "signature": "sig"}
_TERM = re.compile(r"^(?P<key>[a-z_]+)(?P<op>:|>=|<=|>|<)(?P<value>.*)$", re.S)

HELP = ('cat:mapping  tenant:NAME  flow:NAME  key:TSHIRT*  state:failed  age>1h  age<10m  '
        'err:"text"  sig:"signature"  map:NAME  value:V  id:12,13  free text')


class QueryError(ValueError):
    """A filter the technician typed that cannot be understood; the message says what to fix."""


@dataclass(frozen=True)
class ParsedQuery:
    filter: RecordFilter
    text: str

    @property
    def explicit_states(self) -> bool:
        return bool(self.filter.states)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:  # an unclosed quote
        raise QueryError(f"cannot read the filter: {exc}") from None


def _values(raw: str) -> list[str]:
    return [v.strip() for v in raw.split(",") if v.strip()]


def _state(value: str) -> str:
    v = STATE_ALIASES.get(value.lower(), value.lower())
    if v not in STATES:
        raise QueryError(f"unknown state {value!r}; states are {', '.join(STATES)}")
    return v


def _category(value: str) -> str:
    v = CATEGORY_ALIASES.get(value.lower(), value.lower())
    if v not in {c.value for c in Category}:
        raise QueryError(f"unknown category {value!r}; categories are {', '.join(c.value for c in Category)}")
    return v


def _duration(value: str) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise QueryError(f"age: {exc}") from None


def parse(text: str, *, default_states: tuple[str, ...] = EXCEPTION_STATES) -> ParsedQuery:
    """Parse `text`; states default to `default_states` when the query names none."""
    fields: dict[str, object] = {}
    states: list[str] = []
    cats: list[str] = []
    ids: list[int] = []
    free: list[str] = []
    for token in _split(text or ""):
        m = _TERM.match(token)
        key = m and _KEY_ALIASES.get(m.group("key"), m.group("key"))
        if not m or key not in KEYS:
            if m and m.group("op") == ":" and not token.startswith("http"):
                raise QueryError(f"unknown filter {m.group('key')!r}; use one of: {', '.join(KEYS)}")
            free.append(token)
            continue
        op, value = m.group("op"), m.group("value").strip()
        if key == "age":
            if op in (">", ">="):
                fields["older_than"] = _duration(value)
            elif op in ("<", "<="):
                fields["newer_than"] = _duration(value)
            else:
                raise QueryError("age needs > or <, e.g. age>1h (older than an hour) or age<10m")
            continue
        if op != ":":
            raise QueryError(f"{key} takes ':', e.g. {key}:value (only age compares with > or <)")
        if not value:
            raise QueryError(f"{key}: needs a value")
        if key == "cat":
            cats += [_category(v) for v in _values(value)]
        elif key == "state":
            states += [_state(v) for v in _values(value)]
        elif key == "id":
            try:
                ids += [int(v.lstrip("#")) for v in _values(value)]
            except ValueError:
                raise QueryError(f"id: expected record numbers like id:12,13, got {value!r}") from None
        else:
            target = {"tenant": "tenant", "flow": "flow", "key": "key_pattern", "err": "error_text",
                      "sig": "signature", "map": "error_map", "value": "error_value"}[key]
            fields[target] = value
    if free:
        fields["text"] = " ".join(free)
    try:
        f = RecordFilter(states=tuple(dict.fromkeys(states)) or tuple(default_states),
                         categories=tuple(dict.fromkeys(cats)), ids=tuple(ids), **fields)  # type: ignore[arg-type]
    except FilterError as exc:
        raise QueryError(str(exc)) from None
    return ParsedQuery(f, text.strip())


def _quote(value: str) -> str:
    return f'"{value}"' if (" " in value or not value) else value


def unparse(f: RecordFilter, *, default_states: tuple[str, ...] = EXCEPTION_STATES) -> str:
    """The query text for a filter (used when the palette or a drill-down sets one)."""
    parts = []
    if f.tenant:
        parts.append(f"tenant:{_quote(f.tenant)}")
    if f.flow:
        parts.append(f"flow:{_quote(f.flow)}")
    if f.states and tuple(f.states) != tuple(default_states):
        parts.append("state:" + ",".join(f.states))
    if f.categories:
        parts.append("cat:" + ",".join(f.categories))
    if f.key_pattern:
        parts.append(f"key:{_quote(f.key_pattern)}")
    if f.error_map:
        parts.append(f"map:{_quote(f.error_map)}")
    if f.error_value:
        parts.append(f"value:{_quote(f.error_value)}")
    if f.error_text:
        parts.append(f'err:"{f.error_text}"')
    if f.signature:
        parts.append(f'sig:"{f.signature}"')
    if f.older_than is not None:
        parts.append(f"age>{int(f.older_than)}s")
    if f.newer_than is not None:
        parts.append(f"age<{int(f.newer_than)}s")
    if f.ids:
        parts.append("id:" + ",".join(str(i) for i in f.ids))
    if f.text:
        parts.append(f.text)
    return " ".join(parts)


AUDIT_HELP = "tenant:NAME  action:retry  actor:USER  record:123  since:24h"


def parse_audit(text: str) -> dict[str, object]:
    """The audit screen's filter -> keyword arguments of queries.audit_events (minus `since`'s base)."""
    out: dict[str, object] = {}
    for token in _split(text or ""):
        key, sep, value = token.partition(":")
        if not sep or not value:
            raise QueryError(f"expected key:value, got {token!r}; keys: {AUDIT_HELP}")
        if key in ("tenant", "action", "actor"):
            out[key] = value
        elif key in ("record", "target", "id"):
            out["target"] = value.lstrip("#")
        elif key == "since":
            out["since_seconds"] = _duration(value)
        else:
            raise QueryError(f"unknown audit filter {key!r}; use {AUDIT_HELP}")
    return out
