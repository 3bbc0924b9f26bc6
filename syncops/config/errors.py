"""The single exception the config package raises."""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(Exception):
    """One or more problems in a config file.

    Each entry of ``errors`` is a complete "FILE:LINE: dotted.path: message" line. We collect every
    problem in the file before raising so a technician fixes them in one pass instead of one per run.
    """

    def __init__(self, errors: str | Iterable[str]) -> None:
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(self.errors)
