"""Mask customer PII in payloads before they are shown or exported.

Masking works on raw dicts (possibly invalid ones that failed validation), so it
never assumes the payload has the canonical shape.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable

from . import paths
from .registry import model_for

MASK = "***"

_CUSTOMER = ("customer.name", "customer.email", "customer.phone", "customer.address")

# Dotted paths per entity; "customer.address" covers every address line but country.
PII_FIELDS: dict[str, tuple[str, ...]] = {
    "inventory": (),
    "order": _CUSTOMER,
    "return": _CUSTOMER,
    "price": (),
    "product": (),
    "settlement": (),
    "journal": (),
}


def mask_name(value: str) -> str:
    """"Jane Doe" -> "J*** D**": initials stay so operators can tell customers apart."""
    words = [word for word in value.split(" ") if word]
    return " ".join(word[0] + "*" * (len(word) - 1) if len(word) > 1 else "*" for word in words)


def mask_email(value: str) -> str:
    """"jane@example.com" -> "j***@example.com"; the domain helps diagnose bounces."""
    local, at, domain = value.rpartition("@")
    if not at:
        return (value[:1] + MASK) if value else value
    return (local[:1] + MASK if local else MASK) + "@" + domain


def mask_phone(value: str) -> str:
    """Every digit but the last two becomes "*"; separators stay for readability."""
    digits = sum(ch.isdigit() for ch in value)
    keep = 2 if digits > 2 else 0
    out, seen = [], 0
    for ch in value:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits - keep else "*")
        else:
            out.append(ch)
    masked = "".join(out)
    return masked if masked != value or not value else MASK


def _mask_address(value: Any) -> Any:
    if isinstance(value, dict):
        # Country is kept: it drives tax and shipping questions and identifies no one.
        return {k: (v if k == "country" or v is None else MASK) for k, v in value.items()}
    return MASK


_MASKERS: dict[str, Callable[[str], str]] = {"name": mask_name, "email": mask_email, "phone": mask_phone}


def _mask_value(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key == "address":
        return _mask_address(value)
    if isinstance(value, (dict, list)):
        return MASK
    masked = _MASKERS.get(key, lambda _: MASK)(str(value))
    return masked if masked != str(value) or not masked else MASK


def mask_pii(entity: str, data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``data`` with the entity's PII fields masked; ``data`` is untouched."""
    model_for(entity)  # unknown entities fail loudly rather than leak unmasked data
    masked = copy.deepcopy(data)
    for path in PII_FIELDS[entity]:
        for _, parent, key in list(paths.locate(masked, path)):
            parent[key] = _mask_value(key, parent[key])
    return masked


# Diff lines are plain text: hide the values of the fields that hold customer data.
_PII_LINE = re.compile(r'^([+\- ]\s*"(?:name|email|phone|line1|line2|city|postal_code|region|first_name|'
                       r'last_name)"\s*:\s*)(".*?")(,?)\s*$')


def mask_diff(diff: str) -> str:
    """A unified diff of pretty JSON with customer values replaced by "***"."""
    return "\n".join(_PII_LINE.sub(lambda m: f'{m.group(1)}"***"{m.group(3)}', line) for line in diff.splitlines())
