"""Live tables that keep the technician's place: shared by the audit and exceptions screens.

A live update redraws the rows, but the cursor stays on the row (by key) it was on, at the same
line of the screen, so nothing jumps under a technician who is reading or about to act. Age
cells tick by updating only the cells whose text changed (an idle console repaints nothing).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from textual.widgets import DataTable

from syncops.console.formatting import ago, clip


def anchor(table: DataTable) -> tuple[str | None, int]:
    """(row key under the cursor, its line on the screen), to restore after a redraw."""
    if not table.row_count:
        return None, 0
    try:
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:  # no row under the cursor
        key = None
    return key, table.cursor_row - round(table.scroll_y)


def restore(table: DataTable, key: str | None, line: int) -> bool:
    """Put the cursor back on `key` at screen line `line`; False when that row is gone."""
    if key is None:
        return False
    try:
        row = table.get_row_index(key)
    except Exception:  # the row left the table
        return False
    table.move_cursor(row=row, scroll=False)
    y = max(0, row - line)
    table.scroll_to(y=y, animate=False, immediate=True, force=True)
    # Once the new rows are laid out (the first scroll may be clamped to the old size).
    table.call_after_refresh(table.scroll_to, y=y, animate=False, immediate=True, force=True)
    return True


def tick_ages(table: DataTable, column: str, width: int, rows: Iterable[tuple[str, float]], now: float,
              shown: dict[str, str]) -> int:
    """Redraw the age cells of (row key, since) whose text changed; `shown` caches what is drawn."""
    changed = 0
    for key, since in rows:
        text = clip(ago(since, now), width)
        if key in shown and shown[key] != text:
            shown[key] = text
            table.update_cell(key, column, text)
            changed += 1
    return changed


def same_rows(old: list[Any], new: list[Any], fingerprint: Callable[[Any], Any]) -> bool:
    """Whether a re-read shows exactly what is on screen (ages aside)."""
    return len(old) == len(new) and all(fingerprint(a) == fingerprint(b) for a, b in zip(old, new))
