"""Selling Partner API usage plans: per-operation rate and burst, and a token bucket per operation.

Every SP-API operation has its own usage plan (a token bucket: ``burst`` tokens, refilled at
``rate`` per second). The defaults below are the "Usage Plan" tables in each operation's
description in the published API models (folder ``models/`` of amzn/selling-partner-api-models);
a seller with a bigger plan learns it from the ``x-amzn-RateLimit-Limit`` header (requests per
second), which replaces the table's rate for that operation as soon as it is seen.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable

from syncops.connectors import signals


@dataclass(frozen=True)
class Plan:
    rate: float  # requests per second
    burst: int
    source: str  # where the numbers come from


# operation -> documented default usage plan (model file, operation description "Usage Plan").
USAGE_PLANS: dict[str, Plan] = {
    "getOrders": Plan(0.0167, 20, "orders-api-model/ordersV0.json getOrders"),
    "getOrderItems": Plan(0.5, 30, "orders-api-model/ordersV0.json getOrderItems"),
    "patchListingsItem": Plan(5.0, 5, "listings-items-api-model/listingsItems_2021-08-01.json patchListingsItem"),
    "getListingsItem": Plan(5.0, 10, "listings-items-api-model/listingsItems_2021-08-01.json getListingsItem"),
    "getInventorySummaries": Plan(2.0, 2, "fba-inventory-api-model/fbaInventory.json getInventorySummaries"),
    "getMarketplaceParticipations": Plan(0.016, 15, "sellers-api-model/sellers.json getMarketplaceParticipations"),
    "listFinancialEventGroups": Plan(0.5, 30, "finances-api-model/financesV0.json listFinancialEventGroups"),
    "listFinancialEventsByGroupId": Plan(0.5, 30, "finances-api-model/financesV0.json listFinancialEventsByGroupId"),
}

HEADER = "x-amzn-RateLimit-Limit"
MAX_RATE = 10_000.0  # a header claiming more than this per second is not believed


def header_rate(value: str | None) -> float | None:
    """The header's requests-per-second, read strictly: a positive finite number, or None."""
    if value is None:
        return None
    rate = signals.number(value.strip(), minimum=0.0, maximum=MAX_RATE)
    return rate if rate and rate > 0 else None


class Buckets:
    """One token bucket per operation on the injected clock; `take` waits (injectable sleep) for a
    token so that a page of order-item reads never runs into a 429 storm."""

    def __init__(self, clock: Callable[[], float], sleep: Callable[[float], Awaitable[None]] | None = None,
                 ceiling: float = signals.MAX_WAIT) -> None:
        self.clock = clock
        self.sleep = sleep or asyncio.sleep
        self.ceiling = ceiling
        self.rates: dict[str, float] = {op: plan.rate for op, plan in USAGE_PLANS.items()}
        self._tokens: dict[str, float] = {}
        self._at: dict[str, float] = {}
        self.waited = 0.0  # total seconds spent waiting for tokens (tests, status lines)

    def _burst(self, op: str) -> float:
        return float(USAGE_PLANS[op].burst) if op in USAGE_PLANS else 1.0

    def _refill(self, op: str) -> float:
        now = self.clock()
        tokens = self._tokens.get(op, self._burst(op))
        at = self._at.get(op, now)
        tokens = min(self._burst(op), tokens + max(0.0, now - at) * self.rates.get(op, 1.0))
        self._tokens[op], self._at[op] = tokens, now
        return tokens

    def wait_for(self, op: str) -> float:
        """Seconds until `op` has a whole token again (0 when it has one now)."""
        tokens = self._refill(op)
        if tokens >= 1.0 - 1e-9:
            return 0.0
        return signals.clamp((1.0 - tokens) / self.rates.get(op, 1.0), self.ceiling).seconds or 0.0

    async def take(self, op: str) -> None:
        wait = self.wait_for(op)
        if wait > 0:
            self.waited += wait
            await self.sleep(wait)
            self._refill(op)
        self._tokens[op] = max(0.0, self._tokens.get(op, 1.0) - 1.0)

    def observe(self, op: str, header: str | None) -> float | None:
        """Adopt the seller's real rate from the response header; returns it (or None)."""
        rate = header_rate(header)
        if rate is not None:
            self._refill(op)
            self.rates[op] = rate
        return rate

    def exhausted(self, op: str) -> float:
        """A 429: the bucket is empty; the wait for the next token at the current rate."""
        self._refill(op)
        self._tokens[op] = 0.0
        return self.wait_for(op)
