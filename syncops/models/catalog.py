"""Product catalogue: one sellable variant per SKU."""

from __future__ import annotations

from .base import Entity, Identifier, NonNegativeMoney, Text


class ProductVariant(Entity):
    ENTITY = "product"

    sku: Identifier
    product_id: str | None = None
    title: Text
    options: dict[str, str] = {}
    barcode: str | None = None
    price: NonNegativeMoney | None = None
    active: bool = True

    def entity_key(self) -> str:
        return self.sku
