"""Product catalogue: one sellable variant per SKU."""

from __future__ import annotations

from .base import Entity, Identifier, NonNegativeMoney, Ref, Text


class ProductVariant(Entity):
    ENTITY = "product"

    sku: Identifier
    product_id: Ref | None = None
    title: Text
    options: dict[str, str] = {}
    barcode: Ref | None = None
    price: NonNegativeMoney | None = None
    active: bool = True

    def entity_key(self) -> str:
        return self.sku
