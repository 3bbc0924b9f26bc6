"""Fault injection shared by the simulated vendors: seeded, clock-driven, reproducible."""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any, Callable


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
    # Vendor garbage, applied by the HTTP layer to any vendor (syncops/simulator/wire_faults.py says
    # which of them reach the app first, i.e. leave the client with an unknown outcome).
    garbage_retry_after: float = 0.0  # 429 with a nonsense Retry-After (1e309, nan, -5, a bad date)
    html_body: float = 0.0  # 502 HTML page from a proxy in front of the vendor
    truncated_body: float = 0.0  # the vendor's JSON answer cut short (the call was applied)
    wrong_types: float = 0.0  # one field of the vendor's JSON answer has the wrong type (applied)
    reset_after_apply: float = 0.0  # the vendor applies the call, then the connection drops


class Faults:
    def __init__(self, plan: FaultPlan | None = None, seed: int = 7,
                 clock: Callable[[], float] = time.time) -> None:
        self.plan = plan or FaultPlan()
        self.rng = random.Random(seed)
        # Wire faults draw from their own stream, so switching them on leaves the generated
        # retail events (which draw from `rng`) the same for a seed.
        self.wire_rng = random.Random(seed * 7919 + 1)
        self.clock = clock
        self._throttled_until = 0.0
        self.forced_throttle = False  # tests switch a storm on and off explicitly
        self.forced_outage = False
        self.injected: Counter = Counter()  # wire faults served, by name (the soak reports them)

    def roll(self, name: str) -> bool:
        rate = getattr(self.plan, name)
        return rate > 0 and self.rng.random() < rate

    def roll_wire(self, name: str) -> bool:
        rate = getattr(self.plan, name)
        return rate > 0 and self.wire_rng.random() < rate

    def clear(self) -> None:
        """Every fault off (the soak's drain): rates to zero, outages and forced switches gone."""
        self.plan = FaultPlan()
        self.forced_throttle = self.forced_outage = False
        self._throttled_until = 0.0

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


# Fault names a switch may set: probabilities, plus the two durations (seconds).
RATE_FIELDS = tuple(f.name for f in fields(FaultPlan) if f.type in ("float", float)
                    and f.name not in ("burst_seconds", "slow_seconds"))
SETTABLE = (*RATE_FIELDS, "burst_seconds", "slow_seconds")
WIRE_FAULTS = ("garbage_retry_after", "html_body", "truncated_body", "wrong_types", "reset_after_apply")


def check_switch(name: str, value: Any) -> float:
    """A fault switch's value, validated: rates are probabilities, durations non-negative seconds."""
    if name not in SETTABLE:
        raise ValueError(f"unknown fault {name!r}; faults: {', '.join(SETTABLE)}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"fault {name}: {value!r} is not a number") from None
    if isinstance(value, bool) or not math.isfinite(number) or number < 0 or (name in RATE_FIELDS and number > 1):
        what = "a probability between 0 and 1" if name in RATE_FIELDS else "a non-negative number of seconds"
        raise ValueError(f"fault {name}: {value!r} must be {what}")
    return number


def parse_switches(text: str) -> dict[str | None, dict[str, float]]:
    """`reset_after_apply=0.05,odoo.html_body=0.1` -> {None: {...}, "odoo": {...}}.

    A bare name sets the fault for every vendor; `KIND.name` (square, shopify, odoo, bigcommerce)
    for that vendor only.
    """
    out: dict[str | None, dict[str, float]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"fault {part!r}: expected NAME=RATE (e.g. reset_after_apply=0.05)")
        kind, dot, field_name = name.strip().rpartition(".")
        out.setdefault(kind if dot else None, {})[field_name] = check_switch(field_name, value.strip())
    return out


def apply_switches(faults: Faults, switches: dict[str, Any]) -> None:
    """Set validated fault switches on one vendor's Faults (all checked before any is set)."""
    checked = {name: check_switch(name, value) for name, value in switches.items()}
    for name, value in checked.items():
        setattr(faults.plan, name, value)


def plan_json(faults: Faults) -> dict[str, Any]:
    return {name: getattr(faults.plan, name) for name in SETTABLE} | {
        "forced_throttle": faults.forced_throttle, "forced_outage": faults.forced_outage,
        "outages": [list(w) for w in faults.plan.outages]}
