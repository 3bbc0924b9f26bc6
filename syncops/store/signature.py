"""Error signatures: the same failure with different ids groups into one row."""

from __future__ import annotations

import re

_PATTERNS = [
    (re.compile(r"gid://[\w/]+/\w+"), "<gid>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<uuid>"),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "<v>"),
    (re.compile(r"\b[0-9a-f]{12,}\b", re.I), "<hex>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"(?<![A-Za-z])[-+]?\d+(\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def error_signature(message: str | None, key: str | None = None) -> str | None:
    """The message with the record's own entity key, ids, numbers and quoted values normalised."""
    if not message:
        return None
    text = message.replace(key, "<key>") if key else message
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text.strip()[:200]
