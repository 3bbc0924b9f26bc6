"""Returns and refunds against an earlier sales order."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field, model_validator

from .base import CanonicalModel, Currency, Entity, Identifier, NonNegativeMoney, Text, problem
from .common import Customer, money_sum, within_tolerance
from .orders import Quantity


class ReturnLine(CanonicalModel):
    sku: Identifier
    quantity: Quantity
    refund_amount: NonNegativeMoney
    # Damaged goods are refunded but must not come back into sellable stock.
    restock: bool


class ReturnRefund(Entity):
    ENTITY = "return"

    return_number: Identifier
    order_number: Identifier
    location_id: Identifier | None = None
    created_at: AwareDatetime
    currency: Currency
    # Extension: returns often carry the customer; it is PII like on orders.
    customer: Customer | None = None
    lines: Annotated[list[ReturnLine], Field(min_length=1)]
    refund_method: Text
    total: NonNegativeMoney

    @model_validator(mode="after")
    def _total_matches(self) -> ReturnRefund:
        expected = money_sum(line.refund_amount for line in self.lines)
        if not within_tolerance(self.total, expected):
            message = f"expected {expected} (sum of lines[*].refund_amount), got {self.total}"
            raise problem(message, field="total")
        return self

    def entity_key(self) -> str:
        return self.return_number
