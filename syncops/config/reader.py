"""YAML node tree with line numbers, and typed accessors that record problems instead of raising.

We compose (not construct) the YAML so every key and value keeps its position; each accessor reports
"FILE:LINE: dotted.path: expected ..., got ..." and returns None so validation can carry on and
collect every problem in one run.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .durations import DurationError, parse_duration
from .interpolate import InterpolationError, interpolate

_T = "tag:yaml.org,2002:"
NULL, BOOL, INT, FLOAT, STR, MERGE = (_T + t for t in ("null", "bool", "int", "float", "str", "merge"))
_TEXTUAL_TAGS = {STR, _T + "timestamp"}  # dates stay text: we never want datetime objects in config

# Stateless helpers borrowed from PyYAML so ints/floats/implicit types follow YAML rules exactly.
_constructor = yaml.constructor.SafeConstructor()
_resolver = yaml.resolver.Resolver()

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
NAME_RULE = "a name of letters, digits, '-' and '_' starting with a letter or digit"

_SECRET_WORDS = {
    "token", "password", "passwd", "pwd", "api_key", "apikey", "secret", "access_token",
    "client_secret", "api_secret", "api_token", "private_key", "auth_token", "refresh_token",
}
_MAX_DEPTH = 40  # guards plain() against recursive YAML aliases (&a [*a])


def looks_secret(key: str) -> bool:
    k = key.strip().lower().replace("-", "_")
    return k in _SECRET_WORDS or "password" in k or "secret" in k or k.endswith(("_token", "_api_key", "_apikey"))


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


def describe(node: Node, value: Any = None) -> str:
    """Short "got ..." text for a node; strings are quoted and truncated."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == NULL:
        return "nothing (null)"
    text = node.value if value is None else str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return repr(text) if node.tag in _TEXTUAL_TAGS else text


def suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Reader:
    """Walks composed nodes for one config file, collecting error lines."""

    def __init__(self, file: str, env: Mapping[str, str]) -> None:
        self.file = file
        self.env = env
        self._found: list[tuple[int, int, str]] = []  # (sort line, discovery order, message)

    @property
    def errors(self) -> list[str]:
        """Problems in file order: validation order (maps before flows...) is not how people read."""
        return [message for _, _, message in sorted(self._found)]

    # -- reporting -------------------------------------------------------------------------------

    def error(self, node: Node, path: str, message: str) -> None:
        self.error_at(self.file, line_of(node), path, message)

    def error_at(self, file: str, line: int, path: str, message: str, sort_line: int | None = None) -> None:
        """``sort_line`` places problems in other files (CSV maps) next to the line that references them."""
        entry = f"{file}:{line}: {path or '(top level)'}: {message}"
        if all(entry != found for _, _, found in self._found):  # aliased nodes would report twice
            self._found.append((line if sort_line is None else sort_line, len(self._found), entry))

    # -- containers ------------------------------------------------------------------------------

    def mapping(
        self,
        node: Node,
        path: str,
        known: Iterable[str] | None = None,
        *,
        what: str = "a mapping of key: value",
        data: bool = False,
        extensions: bool = False,
    ) -> dict[str, tuple[Node, Node]] | None:
        """Key -> (key node, value node). Reports duplicates, unknown keys and secret-looking keys.

        ``known=None`` accepts any key. ``data=True`` means keys are user data (value maps): no secret check.
        ``extensions=True`` ignores "x-..." keys so people have somewhere to park YAML anchors.
        """
        if not isinstance(node, MappingNode):
            self.error(node, path, f"expected {what}, got {describe(node)}")
            return None
        items = self._entries(node, path, check=True, depth=0)
        known_keys = None if known is None else tuple(known)
        result: dict[str, tuple[Node, Node]] = {}
        for key, (key_node, value_node) in items.items():
            sub = join(path, key)
            if extensions and key.startswith("x-"):
                continue
            if not data and looks_secret(key):
                self.error(
                    key_node, sub,
                    "expected no secrets in the config file (store them with `syncops creds set`, or reference "
                    "an environment variable with `credential: env:VARNAME`), got a literal secret (value not shown)",
                )
                continue
            if known_keys is not None and key not in known_keys:
                self.error(
                    key_node, sub,
                    f"unknown key {key!r}{suggest(key, known_keys)}; expected one of: {', '.join(known_keys)}",
                )
                continue
            result[key] = (key_node, value_node)
        return result

    def _entries(self, node: MappingNode, path: str, *, check: bool, depth: int) -> dict[str, tuple[Node, Node]]:
        """Flatten "<<" merge keys without mutating the shared node tree (aliases reuse nodes)."""
        merged: dict[str, tuple[Node, Node]] = {}
        explicit: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE and depth < _MAX_DEPTH:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                # YAML merge rule: earlier sources win over later ones, explicit keys win over all.
                for source in reversed(sources):
                    if isinstance(source, MappingNode):
                        merged.update(self._entries(source, path, check=False, depth=depth + 1))
                    else:
                        self.error(source, join(path, "<<"), f"expected a mapping to merge, got {describe(source)}")
                continue
            if not isinstance(key_node, ScalarNode):
                self.error(key_node, path, f"expected a plain key, got {describe(key_node)} as a key")
                continue
            key = key_node.value
            if check and key in explicit:
                first = line_of(explicit[key][0])
                self.error(key_node, join(path, key), f"expected each key once, got a duplicate (first on line {first})")
            explicit[key] = (key_node, value_node)
        merged.update(explicit)
        return merged

    def sequence(self, node: Node, path: str, what: str = "a list ('- ' items)") -> list[Node] | None:
        if not isinstance(node, SequenceNode):
            self.error(node, path, f"expected {what}, got {describe(node)}")
            return None
        return list(node.value)

    # -- scalars ---------------------------------------------------------------------------------

    _BAD = object()

    def scalar(self, node: Node, path: str, what: str = "a single value") -> Any:
        """Interpolated, YAML-typed scalar (str/int/float/bool/None); ``Reader._BAD`` after an error."""
        if not isinstance(node, ScalarNode):
            self.error(node, path, f"expected {what}, got {describe(node)}")
            return self._BAD
        tag, text = node.tag, node.value
        if tag == STR and "$" in text:
            try:
                expanded = interpolate(text, self.env)
            except InterpolationError as exc:
                self.error(node, path, str(exc))
                return self._BAD
            # An unquoted "${N:-100}" should act like an unquoted 100, so re-type it as YAML would.
            if expanded != text and node.style is None:
                tag = _resolver.resolve(ScalarNode, expanded, (True, False))
            text = expanded
        if tag == NULL:
            return None
        if tag == BOOL:
            return text.lower() in ("true", "yes", "on", "y")
        if tag in (INT, FLOAT):
            typed = ScalarNode(tag, text, node.start_mark, node.end_mark)
            try:
                return (_constructor.construct_yaml_int if tag == INT else _constructor.construct_yaml_float)(typed)
            except ValueError:
                return text
        if tag in _TEXTUAL_TAGS:
            return text
        self.error(node, path, f"expected {what}, got an unsupported YAML tag {tag}")
        return self._BAD

    def text(self, node: Node, path: str, what: str = "text", *, any_scalar: bool = False) -> str | None:
        """A string field. Numbers keep their source spelling ("007" stays "007", not 7).

        ``any_scalar`` also accepts booleans as written (for value-map data such as a status "on").
        """
        value = self.scalar(node, path, what)
        if value is self._BAD:
            return None
        if value is None or (isinstance(value, bool) and not any_scalar):
            hint = " (quote it)" if isinstance(value, bool) else ""
            self.error(node, path, f"expected {what}{hint}, got {describe(node)}")
            return None
        if isinstance(value, str):
            return value
        # Re-read the spelling, not the number: SKUs and codes like 0042 must survive.
        raw = node.value
        return interpolate(raw, self.env) if "$" in raw else raw

    def name(self, node: Node, path: str, what: str) -> str | None:
        value = self.text(node, path, what)
        if value is not None and not _NAME.match(value):
            self.error(node, path, f"expected {what} ({NAME_RULE}), got {value!r}")
            return None
        return value

    def boolean(self, node: Node, path: str) -> bool | None:
        value = self.scalar(node, path, "true or false")
        if value is self._BAD:
            return None
        if not isinstance(value, bool):
            self.error(node, path, f"expected true or false, got {describe(node, value)}")
            return None
        return value

    def integer(self, node: Node, path: str, low: int, high: int | None = None) -> int | None:
        value = self.scalar(node, path, "a whole number")
        if value is self._BAD:
            return None
        rng = f"{low}..{high}" if high is not None else f">= {low}"
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(node, path, f"expected a whole number {rng}, got {describe(node, value)}")
            return None
        if value < low or (high is not None and value > high):
            self.error(node, path, f"expected a whole number {rng}, got {value}")
            return None
        return value

    def duration(self, node: Node, path: str, *, positive: bool = True) -> float | None:
        value = self.scalar(node, path, "a duration")
        if value is self._BAD:
            return None
        try:
            seconds = parse_duration(value if value is not None else "")
        except DurationError as exc:
            self.error(node, path, str(exc) if value is not None else f"expected a duration, got {describe(node)}")
            return None
        if positive and seconds <= 0:
            self.error(node, path, f"expected a duration greater than 0, got {describe(node, value)}")
            return None
        return seconds

    def plain(self, node: Node, path: str, depth: int = 0) -> Any:
        """Deep conversion for free-form data (endpoint options), still interpolated and secret-checked."""
        if depth > _MAX_DEPTH:
            self.error(node, path, "expected reasonably nested data, got nesting too deep (recursive alias?)")
            return None
        if isinstance(node, MappingNode):
            items = self.mapping(node, path) or {}
            return {key: self.plain(value, join(path, key), depth + 1) for key, (_, value) in items.items()}
        if isinstance(node, SequenceNode):
            return [self.plain(item, join(path, i), depth + 1) for i, item in enumerate(node.value)]
        value = self.scalar(node, path)
        return None if value is self._BAD else value
