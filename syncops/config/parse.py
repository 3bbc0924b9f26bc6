"""YAML text to a node tree (positions kept); syntax errors become ConfigError with their line."""

from __future__ import annotations

import yaml
from yaml.nodes import Node

from .errors import ConfigError


def compose(text: str, file: str) -> Node | None:
    """Parse YAML to a node tree; syntax errors become ConfigError with the offending line."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        where = f", column {mark.column + 1}" if mark else ""
        context = f" ({exc.context}, line {exc.context_mark.line + 1})" if exc.context and exc.context_mark else ""
        # Common trap: "${VAR}" unquoted inside a {...} flow mapping, where "{" is YAML syntax.
        source_line = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
        hint = "; quote values that contain ${...} inside {...}" if "${" in source_line else ""
        raise ConfigError(f"{file}:{line}: YAML syntax: expected valid YAML, got {exc.problem}{where}{context}{hint}") from None
    except yaml.reader.ReaderError as exc:  # e.g. control characters; has a position but no mark
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(f"{file}:{line}: YAML syntax: expected printable text, got {exc.reason}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}:1: YAML syntax: expected valid YAML, got {exc}") from None
    except RecursionError:
        raise ConfigError(f"{file}:1: YAML syntax: expected a reasonably nested document, got nesting too deep") from None
