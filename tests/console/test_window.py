"""The exceptions window never holds more than max_rows and pages both ways by keyset."""

from __future__ import annotations

from syncops.console.window import RecordWindow
from syncops.store.queries import Page


class Row:
    def __init__(self, id: int) -> None:
        self.id = id


def fetcher(total: int, size: int):
    ids = list(range(total, 0, -1))  # newest first

    def fetch(after, forward):
        if forward:
            rest = ids if after is None else [i for i in ids if i < after[1]]
        else:
            rest = sorted(i for i in ids if i > after[1])
        page = rest[:size]
        return Page([Row(i) for i in page], (page[-1], page[-1]) if len(rest) > size else None)
    return fetch


def test_pages_forward_and_back_within_the_bound():
    w = RecordWindow(page_size=10, max_rows=30)
    fetch = fetcher(100, 10)
    w.load_first(fetch)
    assert [r.id for r in w.rows][:2] == [100, 99] and w.has_more
    for _ in range(5):
        w.load_next(fetch)
    # six pages read (100..41), only the last 30 kept
    assert len(w.rows) == 30 and w.rows[0].id == 70 and w.rows[-1].id == 41 and w.dropped_before
    added = w.load_previous(fetch, lambda r: (r.id, r.id))
    assert added == 10 and len(w.rows) == 30 and w.rows[0].id == 80 and w.rows[-1].id == 51
    assert w.next_after == (51, 51)
    w.load_next(fetch)
    assert w.rows[0].id == 70 and w.rows[-1].id == 41
