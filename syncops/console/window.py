"""A bounded window over a keyset-paged list (no Textual; the exceptions table renders it).

The store is never read whole: the window holds at most `max_rows`, fetches the next page
when the technician nears the end, and drops pages from the other end as it grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from syncops.store.queries import Page

# fetch(after, forward) -> Page; forward=False reads towards the start of the list
Fetch = Callable[[Any, bool], Page]


@dataclass
class RecordWindow:
    page_size: int = 200
    max_rows: int = 600
    rows: list[Any] = field(default_factory=list)
    next_after: Any = None  # keyset position after the last row (None: nothing more)
    dropped_before: bool = False  # rows before the first one were dropped (can page back)

    def load_first(self, fetch: Fetch) -> None:
        page = fetch(None, True)
        self.rows = list(page.rows)
        self.next_after = page.next_after
        self.dropped_before = False

    @property
    def has_more(self) -> bool:
        return self.next_after is not None

    def load_next(self, fetch: Fetch) -> int:
        """Append the next page; returns how many rows were dropped from the top."""
        if self.next_after is None:
            return 0
        page = fetch(self.next_after, True)
        self.rows.extend(page.rows)
        self.next_after = page.next_after
        drop = max(0, len(self.rows) - self.max_rows)
        if drop:
            del self.rows[:drop]
            self.dropped_before = True
        return drop

    def load_previous(self, fetch: Fetch, key_of: Callable[[Any], Any]) -> int:
        """Prepend the page before the first row (fetched in the opposite order); returns rows added."""
        if not self.dropped_before or not self.rows:
            return 0
        page = fetch(key_of(self.rows[0]), False)
        before = list(reversed(page.rows))
        self.rows[:0] = before
        self.dropped_before = page.next_after is not None
        drop = max(0, len(self.rows) - self.max_rows)
        if drop:
            del self.rows[-drop:]
            last = self.rows[-1]
            self.next_after = key_of(last)
        return len(before)
