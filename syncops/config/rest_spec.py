"""`kind: rest` endpoint options: the connector's own spec parser, with each problem placed at
its FILE:LINE by walking the composed YAML nodes along the problem's dotted path."""

from __future__ import annotations

from typing import Any

from yaml.nodes import MappingNode, Node

from .reader import Reader, join


def check_rest_options(r: Reader, node: Node | None, path: str, options: Any, fallback: Node) -> None:
    from syncops.connectors.rest_spec import SpecProblems, parse

    try:
        parse(options if node is not None else None)
    except SpecProblems as exc:
        for sub, message in exc.problems:
            r.error(_locate(node, sub) if node is not None else fallback, join(path, sub) if sub else path, message)


def _locate(node: Node, dotted: str) -> Node:
    """The deepest node along `dotted` (keys may themselves contain dots: longest match first)."""
    parts = dotted.split(".") if dotted else []
    current = node
    i = 0
    while i < len(parts) and isinstance(current, MappingNode):
        entries = {k.value: (k, v) for k, v in current.value if hasattr(k, "value") and isinstance(k.value, str)}
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if key in entries:
                key_node, value_node = entries[key]
                if j == len(parts):
                    return key_node
                current, i = value_node, j
                break
        else:
            return current
    return current
