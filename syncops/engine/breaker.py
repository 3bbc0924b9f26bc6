"""Circuit breaker per endpoint: stop hammering a vendor that is down, probe, resume."""

from __future__ import annotations

import time
from typing import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class Breaker:
    """Opens after `threshold` consecutive `unavailable` failures; after `cooldown`
    one probe call is let through (half-open); a success closes it, a failure
    re-opens it with a doubled cooldown (capped), so a long outage costs few calls.
    """

    def __init__(self, *, threshold: int = 3, cooldown: float = 5.0, max_cooldown: float = 120.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.cooldown = cooldown
        self.max_cooldown = max_cooldown
        self.clock = clock
        self.state = CLOSED
        self.failures = 0
        self.opened_at: float | None = None
        self.last_error: str | None = None

    def allows(self) -> bool:
        if self.state == OPEN and self.clock() - (self.opened_at or 0) >= self.cooldown:
            self.state = HALF_OPEN
        return self.state != OPEN

    @property
    def probing(self) -> bool:
        return self.state == HALF_OPEN

    def retry_in(self) -> float:
        if self.state != OPEN:
            return 0.0
        return max(0.0, (self.opened_at or 0) + self.cooldown - self.clock())

    def success(self) -> bool:
        """Returns True when the state changed."""
        changed = self.state != CLOSED or self.failures > 0
        self.state, self.failures, self.opened_at = CLOSED, 0, None
        self.cooldown = self.base_cooldown
        return changed

    def failure(self, message: str) -> bool:
        self.last_error = message
        before = self.state
        self.failures += 1
        if self.state == HALF_OPEN:
            self.cooldown = min(self.max_cooldown, self.cooldown * 2)
            self.state, self.opened_at = OPEN, self.clock()
        elif self.state == CLOSED and self.failures >= self.threshold:
            self.state, self.opened_at = OPEN, self.clock()
        return self.state != before
