"""Turn pydantic validation errors into short "field.path: problem" lines.

Messages never include the offending input: payloads carry customer PII and these
strings end up in the store, logs and the console.
"""

from __future__ import annotations

from typing import Any, Iterable

from pydantic import ValidationError

from .base import PROBLEM


class PayloadInvalid(ValueError):
    """A payload failed validation for ``entity``; ``errors`` lists each problem."""

    def __init__(self, entity: str, errors: list[str]) -> None:
        super().__init__(entity, errors)
        self.entity = entity
        self.errors = list(errors)

    def __str__(self) -> str:
        noun = "problem" if len(self.errors) == 1 else "problems"
        return f"invalid {self.entity} payload ({len(self.errors)} {noun}): " + "; ".join(self.errors)


def format_loc(loc: Iterable[Any]) -> str:
    """("lines", 0, "quantity") -> "lines[0].quantity"; empty -> "payload"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "payload"


# Plain-language replacements for pydantic's wording, keyed by error type.
_MESSAGES: dict[str, str] = {
    "missing": "required",
    "extra_forbidden": "unknown field",
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "too_short": "must have at least {min_length} item(s)",
    "string_too_short": "must not be empty",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    # pydantic only says this for an integer string over 4,300 digits
    "int_parsing_size": "at most 1e12 in absolute value",
    "int_from_float": "must be a whole number",
    "decimal_type": "must be a decimal number",
    "decimal_parsing": "must be a decimal number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "datetime_type": "must be an ISO 8601 datetime with timezone",
    "datetime_parsing": "must be an ISO 8601 datetime with timezone",
    "datetime_from_date_parsing": "must be an ISO 8601 datetime with timezone",
    "timezone_aware": "must include a timezone (e.g. 2024-05-01T10:00:00Z)",
    "date_type": "must be a date (YYYY-MM-DD)",
    "date_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "must be a date (YYYY-MM-DD)",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
}


def _message(err: dict[str, Any]) -> str:
    template = _MESSAGES.get(err["type"])
    if template is not None:
        try:
            return template.format(**(err.get("ctx") or {}))
        except (KeyError, IndexError):
            pass
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if msg.startswith("Input should be "):
        msg = "must be " + msg.removeprefix("Input should be ")
    return msg


def describe(exc: ValidationError) -> list[str]:
    """One "path: message" line per problem, in pydantic's order, without duplicates."""
    lines: list[str] = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = list(err["loc"])
        if err["type"] == PROBLEM and (err.get("ctx") or {}).get("field"):
            loc.append(err["ctx"]["field"])
        line = f"{format_loc(loc)}: {_message(err)}"
        if line not in lines:
            lines.append(line)
    return lines
