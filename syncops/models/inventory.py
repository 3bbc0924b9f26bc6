"""Stock level of one SKU at one location."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field

from .base import Entity, Identifier, Ref, WholeNumber


class InventoryPosition(Entity):
    ENTITY = "inventory"

    sku: Identifier
    location_id: Identifier
    # Negative availability would let storefronts oversell; sources must clamp or fix it.
    available: Annotated[WholeNumber, Field(ge=0)]
    # On-hand may legitimately go negative in POS systems after oversells.
    on_hand: WholeNumber | None = None
    changed_at: AwareDatetime
    source_ref: Ref | None = None

    def entity_key(self) -> str:
        return f"{self.sku}@{self.location_id}"
