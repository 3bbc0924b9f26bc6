"""Result and error types of mapping application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AppliedMapping:
    """One field rewritten: ``field`` is concrete, e.g. "lines[1].sku"."""

    map: str
    field: str
    source: str
    target: str


class UnmappedValue(LookupError):
    """A value has no entry in the map its role uses.

    ``role`` defaults to the field's last name, which is right for most roles and
    keeps the contract's three-argument form working.
    """

    def __init__(self, map_name: str, value: Any, field: str, role: str | None = None) -> None:
        super().__init__(map_name, value, field, role)
        self.map_name = map_name
        self.value = value
        self.field = field
        self.role = role or field.rsplit(".", 1)[-1].split("[", 1)[0]

    def __str__(self) -> str:
        return f"{self.role} {self.value!r} not in map {self.map_name} (field {self.field})"
