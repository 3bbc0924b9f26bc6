"""Base classes and reusable field types for the canonical models.

Field-level problems are raised as ``PydanticCustomError`` so the registry can
render them as short operator-facing messages instead of pydantic's defaults.
"""

from __future__ import annotations

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


def _identifier(value: str) -> str:
    # Vendors silently treat "SKU-1 " and "SKU-1" as different records; catch it here.
    if not value.strip():
        raise problem("must not be empty")
    if value != value.strip():
        raise problem("must not have leading or trailing whitespace")
    return value


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
Currency = Annotated[str, AfterValidator(_currency)]
Text = Annotated[str, AfterValidator(_text)]
WholeNumber = Annotated[int, BeforeValidator(_reject_bool)]
# Decimal rejects NaN/Infinity by default and serialises as a string in JSON mode.
Money = Decimal
NonNegativeMoney = Annotated[Decimal, Field(ge=0)]


class CanonicalModel(BaseModel):
    """Every canonical model rejects unknown fields so vendor typos surface early."""

    model_config = ConfigDict(extra="forbid")


class Entity(CanonicalModel):
    """A model that syncs as a unit and is addressed by its entity key."""

    ENTITY: ClassVar[str]

    def entity_key(self) -> str:
        raise NotImplementedError
