"""Retry delays: exponential backoff with full jitter, never shorter than a vendor's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol


class RetryPolicyLike(Protocol):
    max_attempts: int
    base_delay: float
    max_delay: float


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
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(policy.max_delay, retry_after)))
    return delay
