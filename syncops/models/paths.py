"""Dotted field paths with list wildcards, e.g. "lines[*].sku" or "customer.address".

Shared by PII masking and value mapping; walking tolerates payloads of the wrong
shape (they are often raw, not-yet-validated vendor data) by skipping them.
"""

from __future__ import annotations

from typing import Any, Iterator

WILDCARD = "[*]"


def parse(path: str) -> list[str]:
    """"lines[*].sku" -> ["lines", "[*]", "sku"]."""
    parts: list[str] = []
    for segment in path.split("."):
        name, star, rest = segment.partition(WILDCARD)
        if not name or rest:
            raise ValueError(f"bad field path {path!r}")
        parts.append(name)
        if star:
            parts.append(WILDCARD)
    if parts[-1] == WILDCARD:
        raise ValueError(f"field path {path!r} must end in a field name")
    return parts


def locate(data: Any, path: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Yield (concrete path, parent dict, key) for every existing field matching ``path``."""
    yield from _walk(data, parse(path), "")


def _walk(node: Any, parts: list[str], prefix: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    head, rest = parts[0], parts[1:]
    if head == WILDCARD:
        if isinstance(node, list):
            for i, item in enumerate(node):
                if rest:
                    yield from _walk(item, rest, f"{prefix}[{i}]")
        return
    if not isinstance(node, dict) or head not in node:
        return
    here = f"{prefix}.{head}" if prefix else head
    if rest:
        yield from _walk(node[head], rest, here)
    else:
        yield here, node, head
