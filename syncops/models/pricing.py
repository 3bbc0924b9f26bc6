"""Selling price of one SKU in one price list."""

from __future__ import annotations

from pydantic import AwareDatetime

from .base import Currency, Entity, Identifier, NonNegativeMoney


class Price(Entity):
    ENTITY = "price"

    sku: Identifier
    price_list: Identifier
    currency: Currency
    amount: NonNegativeMoney
    # "Was" price shown struck through by storefronts.
    compare_at: NonNegativeMoney | None = None
    effective_at: AwareDatetime | None = None

    def entity_key(self) -> str:
        return f"{self.sku}@{self.price_list}"
