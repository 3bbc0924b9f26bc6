"""Human durations ("5s", "250ms", "1h30m") to float seconds."""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
# "ms" must come before "m" in the alternation or "250ms" would parse as 250m + garbage.
_PART = re.compile(rf"\s*({_NUMBER})\s*(ms|s|m|h|d)\s*")
_PLAIN = re.compile(rf"\s*{_NUMBER}\s*")

EXPECTED = "a duration like 5s, 250ms, 2m, 1h, 1d or a number of seconds"


class DurationError(ValueError):
    """Raised with a message of the form "expected ..., got ..."."""


def parse_duration(value: str | int | float) -> float:
    """Return ``value`` in seconds; plain numbers already are seconds. Never negative."""
    # bool is an int subclass; "retry: yes" must not silently become 1 second.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DurationError(f"expected {EXPECTED}, got {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise DurationError(f"expected {EXPECTED} (not negative), got {value!r}")
        return float(value)
    text = value.strip().lower()
    if _PLAIN.fullmatch(text):
        return float(text)
    total, pos = 0.0, 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None:
            raise DurationError(f"expected {EXPECTED}, got {value!r}")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0:  # empty or whitespace-only string
        raise DurationError(f"expected {EXPECTED}, got {value!r}")
    return total


def format_duration(seconds: float) -> str:
    """Compact inverse of :func:`parse_duration` for display ("90" -> "1m30s")."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    parts = []
    rest = seconds
    for unit in ("d", "h", "m"):
        size = _UNITS[unit]
        if rest >= size:
            count = int(rest // size)
            parts.append(f"{count}{unit}")
            rest -= count * size
    if rest or not parts:
        parts.append(f"{rest:g}s")
    return "".join(parts)
