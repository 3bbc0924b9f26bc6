"""A screen built around one row table whose columns fit the terminal (console/columns.py).

The columns are laid out on mount and again when a resize changes what fits; the highlighted
row explains itself in the screen's reasons line, and enter opens it. Dashboard, fleet and
reconciliation share this; each names its table and says how to redraw and what to forget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from syncops.console.columns import Col, fit, lay_out
from syncops.console.formatting import clip
from syncops.console.screens.base import ConsoleScreen


class FittedTableScreen(ConsoleScreen):
    TABLE_ID: ClassVar[str] = ""
    COLUMNS: ClassVar[Sequence[Col]] = ()

    def on_mount(self) -> None:
        self._set_columns(self.app.size.width)

    def _set_columns(self, width: int) -> None:
        self.columns = lay_out(self.query_one(f"#{self.TABLE_ID}", DataTable), self.COLUMNS, width)
        self.forget_shown()

    def on_resize(self, event: events.Resize) -> None:
        if fit(self.COLUMNS, event.size.width) != self.columns:
            self._set_columns(event.size.width)
            self.redraw()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.app.refresh_now()

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_reasons()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def fitted(self, values: dict[str, Any]) -> list[Any]:
        """One row's cells for the columns shown: each value (text or Rich Text) cut to its width."""
        cells: list[Any] = []
        for col, width in self.columns:
            value = values[col.key]
            if isinstance(value, Text):
                value = value.copy()
                value.truncate(width, overflow="ellipsis")
            else:
                value = clip(value, width)
            cells.append(value)
        return cells

    # --- what each screen fills in ------------------------------------------------------------

    def forget_shown(self) -> None:
        """New columns: drop what the cell-level diffing remembers of the last render."""

    def redraw(self) -> None:
        """Render what was last read again (into the new columns), if anything was read."""

    def _show_reasons(self) -> None:
        raise NotImplementedError

    def action_open(self) -> None:
        raise NotImplementedError
