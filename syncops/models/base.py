"""Base classes and reusable field types for the canonical models.

Field-level problems are raised as ``PydanticCustomError`` so the registry can
render them as short operator-facing messages instead of pydantic's defaults.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

# Error type used for every syncops-specific validation problem.
PROBLEM = "syncops"


def problem(message: str, field: str | None = None) -> PydanticCustomError:
    """A validation error; ``field`` points model-level checks at the offending field."""
    ctx = {"field": field} if field else None
    return PydanticCustomError(PROBLEM, message, ctx)


# Limits on what a payload may hold. An identifier becomes a record key, an index entry
# and a vendor API argument; 255 characters is the most any supported vendor takes for a
# SKU. Control characters (NUL above all: PostgreSQL refuses it in text) are always a feed
# bug. 1e12 is more than any stock level or retail amount, so a bigger quantity or amount
# is a unit or parsing mistake; 28 significant digits is Decimal's own precision, beyond
# which line arithmetic would round silently. The whole payload is capped at 1 MiB where
# it enters (json_input.MAX_PAYLOAD_BYTES).
MAX_IDENTIFIER_CHARS = 255
MAX_MAGNITUDE = 10**12
MAX_DIGITS = 28

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc


def _short(value: str) -> None:
    if len(value) > MAX_IDENTIFIER_CHARS:
        raise problem(f"at most {MAX_IDENTIFIER_CHARS} characters (got {len(value):,})")


def _bounded(value: str) -> str:
    _short(value)  # first, so nothing below scans 20 MB
    return _no_controls(value)


def _no_controls(value: str) -> str:
    bad = _CONTROL.search(value)
    if bad:
        char = bad.group()
        name = "NUL" if char == "\x00" else f"U+{ord(char):04X}"
        raise problem(f"must not contain control characters ({name} at position {bad.start() + 1})")
    return value


def _magnitude(value: int | Decimal) -> int | Decimal:
    if abs(value) > MAX_MAGNITUDE:
        raise problem("at most 1e12 in absolute value")
    if isinstance(value, Decimal) and len(value.as_tuple().digits) > MAX_DIGITS:
        raise problem(f"at most {MAX_DIGITS} significant digits")
    return value


def _identifier(value: str) -> str:
    _short(value)
    # Vendors silently treat "SKU-1 " and "SKU-1" as different records; catch it here.
    if not value.strip():
        raise problem("must not be empty")
    if value != value.strip():
        raise problem("must not have leading or trailing whitespace")
    return _no_controls(value)


def _currency(value: str) -> str:
    if len(value) != 3 or not value.isascii() or not value.isalpha() or not value.isupper():
        raise problem("must be a 3-letter uppercase currency code (e.g. USD)")
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise problem("must not be empty")
    return value


def _reject_bool(value: Any) -> Any:
    # pydantic's lax mode turns True into 1; a boolean stock level is always a bug upstream.
    if isinstance(value, bool):
        raise problem("must be a whole number")
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]
# A vendor's reference (payment, barcode, source event): may be empty, otherwise as bounded as an id.
Ref = Annotated[str, AfterValidator(_bounded)]
Currency = Annotated[str, AfterValidator(_currency)]
Text = Annotated[str, AfterValidator(_text)]
WholeNumber = Annotated[int, BeforeValidator(_reject_bool), AfterValidator(_magnitude)]
# Decimal rejects NaN/Infinity by default and serialises as a string in JSON mode.
Amount = Annotated[Decimal, AfterValidator(_magnitude)]  # quantities and money
Money = Amount
NonNegativeMoney = Annotated[Decimal, Field(ge=0), AfterValidator(_magnitude)]


class CanonicalModel(BaseModel):
    """Every canonical model rejects unknown fields so vendor typos surface early."""

    model_config = ConfigDict(extra="forbid")


class Entity(CanonicalModel):
    """A model that syncs as a unit and is addressed by its entity key."""

    ENTITY: ClassVar[str]

    def entity_key(self) -> str:
        raise NotImplementedError
