"""Sales orders as they flow from channels (POS, storefront, marketplace) to the ERP."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, Field, model_validator

from .base import Amount, CanonicalModel, Currency, Entity, Identifier, NonNegativeMoney, Ref, Text, problem
from .common import Customer, money_sum, within_tolerance

Quantity = Annotated[Amount, Field(ge=1)]


class OrderLine(CanonicalModel):
    sku: Identifier
    # Decimal so weighed/measured goods survive, but a line always sells at least one unit.
    quantity: Quantity
    unit_price: NonNegativeMoney
    tax_code: Ref | None = None
    # Discount for the whole line (not per unit), as POS and storefront APIs report it.
    discount: NonNegativeMoney = Decimal("0")

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price - self.discount

    @model_validator(mode="after")
    def _discount_fits(self) -> OrderLine:
        if self.discount > self.quantity * self.unit_price:
            raise problem("must not exceed quantity * unit_price", field="discount")
        return self


class TaxLine(CanonicalModel):
    code: Text
    # A fraction (0.0825 for 8.25%); percentages here are a common connector mistake.
    rate: Annotated[Decimal, Field(ge=0, le=1)]
    amount: NonNegativeMoney


class Payment(CanonicalModel):
    method: Text
    amount: NonNegativeMoney
    reference: Ref | None = None


class SalesOrder(Entity):
    ENTITY = "order"

    order_number: Identifier
    channel: Text
    status: Text
    placed_at: AwareDatetime
    currency: Currency
    customer: Customer | None = None
    lines: Annotated[list[OrderLine], Field(min_length=1)]
    taxes: list[TaxLine] = []
    payments: list[Payment] = []
    location_id: Identifier | None = None
    # Extensions beyond the contract's minimum; defaults keep its total formula.
    shipping: NonNegativeMoney = Decimal("0")
    taxes_included: bool = False
    total: NonNegativeMoney

    def expected_total(self) -> Decimal:
        total = money_sum(line.amount for line in self.lines) + self.shipping
        if not self.taxes_included:
            total += money_sum(tax.amount for tax in self.taxes)
        return total

    @model_validator(mode="after")
    def _total_matches(self) -> SalesOrder:
        expected = self.expected_total()
        if not within_tolerance(self.total, expected):
            raise problem(
                f"expected {expected} (lines - discounts + shipping + taxes), got {self.total}",
                field="total",
            )
        return self

    def entity_key(self) -> str:
        return self.order_number
