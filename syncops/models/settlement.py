"""Payment-processor payouts, reconciled against orders and the ledger.

A settlement is one payout: what the processor collected (gross sales), gave back (refunds),
kept (fees), moved for other reasons (adjustments) or held back / released (reserves), and
what reached the bank (net). ``net = gross - refunds - fees + adjustments + reserves``.

``accounts`` names the ledger account each part posts to, in syncops' own vocabulary
(``sales``, ``refunds``, ``fees``, ``clearing``, ``bank``); the flow's ``gl_account`` map
rewrites them into the ERP's account codes, so an account nobody mapped fails as ``mapping``
with its name, like an unmapped SKU does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, model_validator

from .base import CanonicalModel, Currency, Entity, Identifier, Money, NonNegativeMoney, Ref, Text, problem
from .common import money_sum

LineKind = Literal["charge", "refund", "fee", "adjustment", "reserve"]
# The total each line kind adds up to, and the sign a line carries relative to that total
# (refund and fee lines are negative, their totals positive amounts taken off the payout).
KIND_TOTALS: dict[str, tuple[str, int]] = {
    "charge": ("gross", 1), "refund": ("refunds", -1), "fee": ("fees", -1),
    "adjustment": ("adjustments", 1), "reserve": ("reserves", 1),
}


class SettlementLine(CanonicalModel):
    kind: LineKind
    reference: Ref  # the processor's payment / refund / entry id
    # Signed as it moved the payout: charges positive; refunds and fees negative; adjustments
    # and reserves either way (a reserve hold is negative, its release positive).
    amount: Money


class SettlementAccounts(CanonicalModel):
    """Ledger accounts for each part of a payout, before and after the gl_account map."""

    sales: Identifier = "sales"
    refunds: Identifier = "refunds"
    fees: Identifier = "fees"
    # Money still with the processor or moved outside sales (reserves, adjustments, disputes).
    clearing: Identifier = "clearing"
    bank: Identifier = "bank"


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
    refunds: NonNegativeMoney = Decimal("0")
    adjustments: Money = Decimal("0")
    reserves: Money = Decimal("0")
    lines: list[SettlementLine] = []
    accounts: SettlementAccounts = SettlementAccounts()

    @model_validator(mode="after")
    def _net_matches(self) -> Settlement:
        # Processors report exact cents, so no tolerance: any gap is money unaccounted for.
        expected = self.gross - self.refunds - self.fees + self.adjustments + self.reserves
        if expected != self.net:
            raise problem(f"expected {expected} (gross - refunds - fees + adjustments + reserves), "
                          f"got {self.net}", field="net")
        if self.lines:
            # The journal posts the totals; lines must explain them, kind by kind.
            for kind, (total, sign) in KIND_TOTALS.items():
                summed = sign * money_sum(line.amount for line in self.lines if line.kind == kind)
                if summed != getattr(self, total):
                    raise problem(f"{kind} lines add up to {summed}, but {total} is {getattr(self, total)}",
                                  field=total)
        return self

    def entity_key(self) -> str:
        return self.payout_id

    def postings(self) -> list[tuple[str, Decimal]]:
        """(account, signed amount; positive = credit) per account, balanced by construction.

        Sales are credited, refunds and fees debited, adjustments and reserves go to clearing,
        and the bank receives the net. Accounts the map sent to the same code are merged.
        """
        parts = [(self.accounts.sales, self.gross), (self.accounts.refunds, -self.refunds),
                 (self.accounts.fees, -self.fees),
                 (self.accounts.clearing, self.adjustments + self.reserves), (self.accounts.bank, -self.net)]
        merged: dict[str, Decimal] = {}
        for account, amount in parts:
            merged[account] = merged.get(account, Decimal("0")) + amount
        return [(account, amount) for account, amount in merged.items() if amount != 0]
