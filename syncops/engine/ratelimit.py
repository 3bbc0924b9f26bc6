"""Per-endpoint pacing that obeys each vendor's own signals instead of guessing."""

from __future__ import annotations

import math
import time
from typing import Callable

from syncops.connectors.signals import MAX_WAIT


class Gate:
    """No calls before `wait_until`; optionally at most `max_rps` calls per second.

    Vendors tell us how long to wait (Retry-After, Shopify's throttleStatus, BigCommerce's
    reset header); when they don't (Square's bare 429), we back off exponentially.
    """

    def __init__(self, *, max_rps: float | None = None, clock: Callable[[], float] = time.time,
                 max_wait: float = MAX_WAIT) -> None:
        self.clock = clock
        self.max_rps = max_rps
        self.max_wait = max_wait  # no vendor signal, however large, holds the endpoint longer
        self.wait_until = 0.0
        self._next_slot = 0.0
        self._bare_429s = 0

    def delay(self) -> float:
        """Seconds to wait before the next call may go out."""
        now = self.clock()
        return max(0.0, self.wait_until - now, self._next_slot - now)

    def took_slot(self) -> None:
        if self.max_rps:
            self._next_slot = max(self._next_slot, self.clock()) + 1.0 / self.max_rps

    def vendor_says_wait(self, seconds: float | None) -> float:
        """Record a throttling answer; returns how long we will now hold off."""
        if seconds is None or not math.isfinite(seconds):
            self._bare_429s += 1
            seconds = min(30.0, 0.5 * (2 ** min(self._bare_429s - 1, 16)))
        seconds = min(max(0.0, seconds), self.max_wait)
        now = self.clock()
        # Also never keep an older, longer hold than the ceiling allows from now.
        self.wait_until = min(max(self.wait_until, now + seconds), now + self.max_wait)
        return seconds

    def call_succeeded(self) -> None:
        self._bare_429s = 0
