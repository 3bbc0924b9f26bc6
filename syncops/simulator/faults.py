"""Fault injection shared by the simulated vendors: seeded, clock-driven, reproducible."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class FaultPlan:
    """Rates are probabilities per request (or per generated event for data faults)."""

    rate_limit_burst: float = 0.0  # chance a request starts a burst of throttled answers
    burst_seconds: float = 2.0  # how long a burst lasts
    slow_rate: float = 0.0  # chance a request is answered slowly
    slow_seconds: float = 0.5
    stale_cas: float = 0.0  # chance a stock level changes behind syncops's back (Shopify CAS conflict)
    validation: float = 0.0  # chance a generated event is invalid (negative qty, missing tax code)
    unmapped_sku: float = 0.0  # chance a generated event uses a SKU the maps do not know
    duplicate_event: float = 0.0  # chance a source event is emitted twice
    outages: list[tuple[float, float]] = field(default_factory=list)  # (start, end) epoch seconds
    outage_mode: str = "503"  # "503" answers Service Unavailable; "reset" drops the connection


class Faults:
    def __init__(self, plan: FaultPlan | None = None, seed: int = 7,
                 clock: Callable[[], float] = time.time) -> None:
        self.plan = plan or FaultPlan()
        self.rng = random.Random(seed)
        self.clock = clock
        self._throttled_until = 0.0
        self.forced_throttle = False  # tests switch a storm on and off explicitly
        self.forced_outage = False

    def roll(self, name: str) -> bool:
        rate = getattr(self.plan, name)
        return rate > 0 and self.rng.random() < rate

    def throttled(self) -> bool:
        if self.forced_throttle:
            return True
        now = self.clock()
        if now < self._throttled_until:
            return True
        if self.roll("rate_limit_burst"):
            self._throttled_until = now + self.plan.burst_seconds
            return True
        return False

    def throttle_remaining(self) -> float:
        return max(0.0, self._throttled_until - self.clock())

    def in_outage(self) -> bool:
        if self.forced_outage:
            return True
        now = self.clock()
        return any(start <= now < end for start, end in self.plan.outages)

    def slow_delay(self) -> float:
        return self.plan.slow_seconds if self.roll("slow_rate") else 0.0
