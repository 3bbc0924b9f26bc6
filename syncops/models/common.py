"""Shared value objects (customer, address, location) and money helpers."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Iterable, Literal

from pydantic import AfterValidator

from .base import CanonicalModel, Identifier, Ref, Text, problem

# Totals from POS/storefronts are rounded per line; one cent of drift is normal.
TOTAL_TOLERANCE = Decimal("0.01")


def money_sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal("0"))


def within_tolerance(a: Decimal, b: Decimal, tolerance: Decimal = TOTAL_TOLERANCE) -> bool:
    return abs(a - b) <= tolerance


def _country(value: str) -> str:
    if len(value) != 2 or not value.isascii() or not value.isalpha() or not value.isupper():
        raise problem("must be a 2-letter uppercase country code (e.g. US)")
    return value


def _email(value: str) -> str:
    local, at, domain = value.partition("@")
    if not at or not local or not domain or "@" in domain or value != value.strip():
        raise problem("must be an email address like name@example.com")
    return value


class Address(CanonicalModel):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: Annotated[str, AfterValidator(_country)] | None = None


class Customer(CanonicalModel):
    """Customer details on an order or return; everything but ids is PII."""

    customer_id: Ref | None = None
    name: str | None = None
    email: Annotated[str, AfterValidator(_email)] | None = None
    phone: str | None = None
    address: Address | None = None


class Location(CanonicalModel):
    location_id: Identifier
    name: Text
    kind: Literal["store", "warehouse", "online"]

