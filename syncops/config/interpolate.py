"""``${VAR}`` / ``${VAR:-default}`` expansion of config string values.

Lets one config file serve several machines (URLs, shop names) without putting secrets in it;
secrets still go through ``credential: env:VAR`` so they are read at connect time, not load time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# "$$" escapes a literal dollar, as in docker compose, so "$${X}" stays "${X}".
_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class InterpolationError(ValueError):
    """A reference that cannot be expanded; message names the variable."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Expand references in ``text``. ``${VAR:-d}`` uses ``d`` when VAR is unset or empty (shell rules)."""
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        literal = text[pos : match.start()]
        _check_gap(literal)
        out.append(literal)
        out.append("$" if match.group(0) == "$$" else _expand(match.group(1), env))
        pos = match.end()
    _check_gap(text[pos:])
    out.append(text[pos:])
    return "".join(out)


def _check_gap(literal: str) -> None:
    if "${" in literal:
        raise InterpolationError(
            "expected ${NAME} or ${NAME:-default} with a closing '}', "
            f"got an unterminated reference {literal[literal.index('${'):]!r}"
        )


def _expand(inner: str, env: Mapping[str, str]) -> str:
    name, sep, default = inner.partition(":-")
    if not _NAME.match(name):
        raise InterpolationError(
            f"expected ${{NAME}} or ${{NAME:-default}} (NAME of letters, digits, _), got '${{{inner}}}'"
        )
    value = env.get(name)
    if sep:
        return value if value else default
    if value is None:
        raise InterpolationError(
            f"expected environment variable {name} to be set "
            f"(or write ${{{name}:-default}}), got it unset"
        )
    return value
