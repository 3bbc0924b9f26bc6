"""Payment-processor payouts, reconciled against orders and the ledger."""

from __future__ import annotations

from pydantic import AwareDatetime, model_validator

from .base import CanonicalModel, Currency, Entity, Identifier, Money, Ref, Text, problem


class SettlementLine(CanonicalModel):
    kind: Text  # e.g. charge, refund, fee, chargeback, adjustment
    reference: Ref
    # Signed: refunds, fees and chargebacks are negative.
    amount: Money


class Settlement(Entity):
    ENTITY = "settlement"

    payout_id: Identifier
    processor: Text
    currency: Currency
    paid_at: AwareDatetime
    # Signed: a payout can be negative when chargebacks exceed sales.
    gross: Money
    fees: Money
    net: Money
    lines: list[SettlementLine] = []

    @model_validator(mode="after")
    def _net_matches(self) -> Settlement:
        # Processors report exact cents, so no tolerance: any gap is money unaccounted for.
        if self.gross - self.fees != self.net:
            raise problem(f"expected {self.gross - self.fees} (gross - fees), got {self.net}", field="net")
        return self

    def entity_key(self) -> str:
        return self.payout_id
