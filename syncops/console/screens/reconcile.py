"""Reconciliation: the last run per tenant of every check (inventory levels, orders, returns,
settlements): when, how many checked, how many drifted, and the worst drift.

Inventory runs come from syncops.store.drift.last_runs (as `syncops status` shows them), the
documents runs from services.reconcile_documents.last_runs; both are read in the app's tick
worker, only when the store changed. enter opens the tenant's drift records in exceptions.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from syncops.console.backend import ReconRow
from syncops.console.columns import Col, dropped
from syncops.console.formatting import ago
from syncops.console.screens.fitted import FittedTableScreen

COLUMNS = [Col("tenant", "Tenant", 14), Col("check", "Check", 11), Col("when", "Last run", 8),
           Col("checked", "Checked", 7), Col("drifted", "Drift", 5),
           Col("worst", "Worst drift", 30, flex=True, min_width=12)]


def worst_text(r: ReconRow) -> str:
    """The biggest inventory drift: `MUG-WHITE@store-1 Δ7 (pos 10, web 3)`; documents: their errors."""
    w = r.worst
    if w:
        held = "nothing" if w.get("target_value") is None else w.get("target_value")
        return (f"{w.get('key', '?')} Δ{w.get('difference', '?')} "
                f"({w.get('source', 'source')} {w.get('source_value')}, {w.get('target', 'target')} {held})")
    if r.errors:
        return f"{len(r.errors)} error{'s' if len(r.errors) > 1 else ''}: {r.errors[0]}"
    if r.at is None:
        return ""
    return "-" if not r.drifted else f"see `syncops reconcile {r.check}`"


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class ReconcileScreen(FittedTableScreen):
    TABLE_ID = "runs"
    COLUMNS = COLUMNS
    DEFAULT_CSS = "ReconcileScreen #summary { height: 1; }"
    AUTO_FOCUS = "#runs"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("enter", "open", "Drift records"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]
    HELP = ("The last reconciliation per tenant and check: inventory compares the source's stock levels "
            "with the target's (each drift is a failed record of category drift); orders, returns and "
            "settlements check that the ERP holds what syncops delivered (differences are reported, not "
            "turned into records). Last run is how long ago it ran (never: not yet), Checked how many keys "
            "or documents it compared, Drift how many differed, Worst drift the biggest inventory "
            "difference (source and target levels). enter opens the tenant's drift records in exceptions "
            "(cat:drift tenant:T). 6 comes back here; `syncops status` prints the inventory runs too.")

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[ReconRow] | None = None
        self.columns: list[tuple[Col, int]] = []
        self._shown: Any = None

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static("loading…", id="summary")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="reasons")
        yield Footer()

    def forget_shown(self) -> None:
        self._shown = None

    def redraw(self) -> None:
        if self.rows is not None:
            self._render_runs(self.app.clock())

    # --- polled from the app's tick (worker thread) -------------------------------------------

    def poll(self, changed: bool) -> tuple[list[ReconRow] | None, float]:
        now = self.app.clock()
        if changed or self.rows is None:
            return self.app.backend.reconciliations(), now
        return None, now  # nothing changed: only the ages move

    def show_poll(self, data: tuple[list[ReconRow] | None, float]) -> None:
        rows, now = data
        if rows is not None:
            self.rows = rows
        if self.rows is not None:
            self._render_runs(now)

    # --- rendering ----------------------------------------------------------------------------

    def _cells(self, r: ReconRow, now: float) -> list[Any]:
        v = self.app.palette
        drifted = Text("-" if r.drifted is None else f"{r.drifted:,}", justify="right",
                       style=f"bold {v.get('error', '')}" if r.drifted else "dim")
        values = {"tenant": r.tenant, "check": r.check,
                  "when": Text("never", style=f"{v.get('warning', '')}") if r.at is None else ago(r.at, now),
                  "checked": Text("-" if r.checked is None else f"{r.checked:,}", justify="right"),
                  "drifted": drifted,
                  "worst": Text(worst_text(r), style=v.get("warning", "") if r.errors and not r.worst else "")}
        return self.fitted(values)

    def _render_runs(self, now: float) -> None:
        rows = self.rows or []
        table = self.query_one("#runs", DataTable)
        cells = [self._cells(r, now) for r in rows]
        mark = [[str(c) for c in row] for row in cells]
        if mark != self._shown:  # an idle console re-renders nothing
            self._shown = mark
            with self.app.batch_update():
                cursor = table.cursor_row
                table.clear()
                for i, row in enumerate(cells):
                    table.add_row(*row, key=str(i))
                if rows:
                    table.move_cursor(row=min(cursor, len(rows) - 1))
        v = self.app.palette
        tenants = sorted({r.tenant for r in rows})
        drifting = sorted({r.tenant for r in rows if r.drifted})
        never = sorted({r.tenant for r in rows if r.check == "inventory" and r.at is None})
        summary = Text(f"Reconciliation  {len(tenants)} tenants  ")
        summary.append(f"{sum(r.drifted or 0 for r in rows):,} drifted", style=f"bold {v.get('error', '')}"
                       if drifting else "dim")
        summary.append(f"  {sum(r.checked or 0 for r in rows):,} checked")
        if never:
            summary.append(f"  never run: {', '.join(never)}", style=v.get("warning", ""))
        self.query_one("#summary", Static).update(summary)
        self._show_reasons()

    def current(self) -> ReconRow | None:
        table = self.query_one("#runs", DataTable)
        if not self.rows or table.row_count == 0:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def _show_reasons(self) -> None:
        r = self.current()
        text = Text()
        second = Text(style="dim")
        if r is not None:
            text.append(f"{r.tenant} {r.check}: ", style="bold")
            if r.at is None:
                text.append("never reconciled")
            else:
                text.append(f"{_when(r.at)}, {r.checked or 0:,} checked, {r.drifted or 0:,} drifted")
                if r.errors:
                    text.append(f"; {'; '.join(r.errors)}", style=self.app.palette.get("warning", ""))
            if r.worst:
                second = Text(f"worst: {worst_text(r)}  ")
        hidden = dropped(COLUMNS, self.columns)
        if hidden:
            second.append(f"wider terminal: +{', '.join(hidden)}  ", style="dim")
        second.append("enter: drift records of the tenant", style="dim")
        room = max(10, self.app.size.width - 2)
        text.truncate(room, overflow="ellipsis")
        second.truncate(room, overflow="ellipsis")
        text.append("\n")
        text.append_text(second)
        self.query_one("#reasons", Static).update(text)

    # --- actions ------------------------------------------------------------------------------

    def action_open(self) -> None:
        r = self.current()
        if r is not None:
            self.app.go("exceptions", query=f"cat:drift tenant:{r.tenant}")

    def action_reload(self) -> None:
        self.app.refresh_now()


__all__ = ["ReconcileScreen", "worst_text"]
