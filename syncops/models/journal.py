"""Double-entry journal entries posted to the ERP ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import Field, model_validator

from .base import CanonicalModel, Currency, Entity, Identifier, NonNegativeMoney, problem
from .common import money_sum


class JournalLine(CanonicalModel):
    account: Identifier
    debit: NonNegativeMoney = Decimal("0")
    credit: NonNegativeMoney = Decimal("0")
    description: str | None = None

    @model_validator(mode="after")
    def _one_side(self) -> JournalLine:
        if (self.debit > 0) == (self.credit > 0):
            raise problem("exactly one of debit or credit must be > 0")
        return self


class JournalEntry(Entity):
    ENTITY = "journal"

    entry_number: Identifier
    date: dt.date
    currency: Currency
    memo: str = ""
    lines: Annotated[list[JournalLine], Field(min_length=2)]

    @model_validator(mode="after")
    def _balanced(self) -> JournalEntry:
        debit = money_sum(line.debit for line in self.lines)
        credit = money_sum(line.credit for line in self.lines)
        # Ledgers refuse unbalanced entries outright, so no tolerance here.
        if debit != credit:
            raise problem(f"not balanced: debits {debit} != credits {credit}", field="lines")
        return self

    def entity_key(self) -> str:
        return self.entry_number
