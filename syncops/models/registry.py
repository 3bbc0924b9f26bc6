"""Entity name -> model lookup and payload validation with readable errors."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .base import Entity
from .catalog import ProductVariant
from .errors import PayloadInvalid, describe
from .inventory import InventoryPosition
from .journal import JournalEntry
from .orders import SalesOrder
from .pricing import Price
from .returns import ReturnRefund
from .settlement import Settlement

ENTITIES: dict[str, type[Entity]] = {
    model.ENTITY: model
    for model in (
        InventoryPosition,
        SalesOrder,
        ReturnRefund,
        Price,
        ProductVariant,
        Settlement,
        JournalEntry,
    )
}

# Journal entries are produced from other entities, never synced by a flow directly.
FLOW_ENTITIES: tuple[str, ...] = tuple(name for name in ENTITIES if name != "journal")


def model_for(entity: str) -> type[Entity]:
    try:
        return ENTITIES[entity]
    except (KeyError, TypeError):
        known = ", ".join(ENTITIES)
        raise ValueError(f"unknown entity {entity!r}; known entities: {known}") from None


def validate_payload(entity: str, data: Any) -> Entity:
    """Validate ``data`` as ``entity``; raises ``PayloadInvalid`` listing every problem."""
    model = model_for(entity)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # "from None": the pydantic chain would repeat the inputs (PII) in tracebacks.
        raise PayloadInvalid(entity, describe(exc)) from None


def entity_key(entity: str, data: Any) -> str:
    return validate_payload(entity, data).entity_key()
