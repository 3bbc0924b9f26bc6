"""Delivery ids already taken in: a second delivery with the same id is a replay.

Bounded in memory (oldest forgotten first). An id is only remembered once its delivery is
stored, so a vendor's retry after a failed attempt is not refused; an id being processed right
now is held, so two concurrent copies cannot both pass. After a restart the store's idempotency
keys still make a replayed change a duplicate, never a second record.
"""

from __future__ import annotations

from collections import OrderedDict


class SeenIds:
    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._busy: set[tuple[str, str, str]] = set()

    def claim(self, key: tuple[str, str, str]) -> bool:
        """True when this id is new (and now held); False for a replay."""
        if key in self._seen or key in self._busy:
            return False
        self._busy.add(key)
        return True

    def done(self, key: tuple[str, str, str], stored: bool) -> None:
        self._busy.discard(key)
        if stored:
            self._seen[key] = None
            while len(self._seen) > self.capacity:
                self._seen.popitem(last=False)
