"""Retry delays: exponential backoff with full jitter, never shorter than a vendor's Retry-After."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Protocol


class RetryPolicyLike(Protocol):
    max_attempts: int
    base_delay: float
    max_delay: float


# The longest any vendor wait may hold a record (the largest `max_wait` an endpoint may set).
LONGEST_WAIT = 86400.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 300.0


def retry_delay(attempt: int, policy: RetryPolicyLike, *, retry_after: float | None = None,
                rng: random.Random | None = None) -> float:
    """Delay before the next try after `attempt` failed tries (attempt >= 1).

    Full jitter (uniform between 0 and the exponential cap) spreads a thundering herd
    after an outage; a vendor's Retry-After is a floor because it knows its own limits.
    """
    cap = min(policy.max_delay, policy.base_delay * (2 ** max(0, attempt - 1)))
    delay = (rng or random).uniform(0, cap)
    if retry_after is not None and math.isfinite(retry_after):
        # A floor, but a bounded one: connectors clamp to the endpoint's ceiling already, and
        # this keeps any number that slips through from parking a record for good.
        delay = max(delay, min(max(retry_after, 0.0), LONGEST_WAIT))
    return delay
