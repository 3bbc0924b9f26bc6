"""Flows: schedule, next and last run, cursor, paused state; pause (with reason), resume, run now."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from syncops.console.backend import FlowRow
from syncops.console.formatting import ago, clip, until
from syncops.console.screens.base import ConsoleScreen
from syncops.console.widgets.modals import ConfirmModal, ReasonModal


class FlowsScreen(ConsoleScreen):
    AUTO_FOCUS = "#flow-table"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("p", "pause_flow", "Pause"),
        Binding("u", "resume_flow", "Resume"),
        Binding("n", "run_now", "Run now"),
        Binding("enter", "open", "Exceptions", show=False),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]
    MUTATING = frozenset({"pause_flow", "resume_flow", "run_now"})
    HELP = ("Pausing stops polling and delivery for the flow (through the store, so it works against a running "
            "engine) and needs a reason other technicians will see. Run now asks the engine to poll at once.")

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[FlowRow] = []
        self.focus_key: str | None = None

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static("Flows", id="flows-title", classes="section")
        yield DataTable(id="flow-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="flow-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#flow-table", DataTable)
        table.fixed_columns = 2
        for key, label in (("tenant", "Tenant"), ("flow", "Flow"), ("paused", "State"), ("schedule", "Schedule"),
                           ("next", "Next run"), ("last", "Last run"), ("cursor", "Cursor"), ("entity", "Entity")):
            table.add_column(label, key=key)
        self.reload()

    def configure(self, **kwargs: Any) -> None:
        if kwargs.get("tenant") or kwargs.get("flow"):
            self.focus_key = f"{kwargs.get('tenant') or ''}/{kwargs.get('flow') or ''}"
            self._move_to_focus()

    def store_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.app.background(self, self.app.backend.flows, self._show, group="load")

    def _show(self, rows: list[FlowRow]) -> None:
        self.rows = rows
        app = self.app
        v = app.palette
        now = app.clock()
        table = self.query_one("#flow-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        for r in rows:
            c = r.control
            tenant = Text("◆ " + r.tenant, style=f"bold {v.get('status-production', '')}") if r.production else r.tenant
            paused = bool(c and c.paused)
            state = Text("PAUSED" if paused else ("disabled" if not r.enabled else "running"),
                         style=f"bold {v.get('warning', '')}" if paused else ("dim" if not r.enabled else ""))
            last = "-"
            if c is not None and c.last_run_at:
                last = f"{ago(c.last_run_at, now)} ago {c.last_run_status or ''}".strip()
            cursor_text = clip(r.cursor.cursor, 40) if r.cursor is not None and r.cursor.cursor else "-"
            table.add_row(tenant, r.flow, state, r.schedule, until(c.next_run_at, now) if c else "-", last,
                          cursor_text, r.entity or "-", key=f"{r.tenant}/{r.flow}")
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))
        self._move_to_focus()
        self._detail()

    def _move_to_focus(self) -> None:
        if not self.focus_key:
            return
        table = self.query_one("#flow-table", DataTable)
        for i, r in enumerate(self.rows):
            tenant, _, flow = self.focus_key.partition("/")
            if (not tenant or r.tenant == tenant) and (not flow or r.flow == flow):
                table.move_cursor(row=i)
                self.focus_key = None
                return

    def _current(self) -> FlowRow | None:
        table = self.query_one("#flow-table", DataTable)
        if not self.rows or table.row_count == 0:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def _detail(self) -> None:
        r = self._current()
        text = ""
        if r is not None:
            c = r.control
            parts = [f"{r.tenant}/{r.flow}"]
            if c is not None and c.paused:
                parts.append(f"paused by {c.paused_by or '?'}: {c.paused_reason or ''}")
            if c is not None and c.last_run_error:
                parts.append(f"last error: {clip(c.last_run_error, 120)}")
            if c is not None and c.run_now_at:
                parts.append("run-now requested")
            if r.cursor is not None and r.cursor.cursor:
                parts.append(f"cursor: {clip(r.cursor.cursor, 200)}")
            text = "  │  ".join(parts)
        self.query_one("#flow-detail", Static).update(text)

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._detail()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def _production(self, r: FlowRow) -> str | None:
        return r.tenant if r.production else None

    def _after(self, message: str) -> Any:
        def done(_result: Any) -> None:
            self.app.notify(message)
            self.reload()
        return done

    def action_pause_flow(self) -> None:
        r = self._current()
        if r is None or not self.writable():
            return

        def answered(reason: str | None) -> None:
            if reason:
                self.app.background(self, lambda: self.app.backend.pause(r.tenant, r.flow, reason),
                                    self._after(f"{r.tenant}/{r.flow} paused"), group="action")

        self.app.push_screen(ReasonModal(f"pause {r.tenant}/{r.flow}", "why pause it? (other technicians see this)",
                                         production=self._production(r)), answered)

    def action_resume_flow(self) -> None:
        r = self._current()
        if r is None or not self.writable():
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.background(self, lambda: self.app.backend.resume(r.tenant, r.flow),
                                    self._after(f"{r.tenant}/{r.flow} resumed"), group="action")

        self.app.push_screen(ConfirmModal(f"resume {r.tenant}/{r.flow}", "resume polling and delivery?",
                                          production=self._production(r)), answered)

    def action_run_now(self) -> None:
        r = self._current()
        if r is None or not self.writable():
            return
        self.app.background(self, lambda: self.app.backend.run_now(r.tenant, r.flow),
                            self._after(f"{r.tenant}/{r.flow}: the engine will poll now"), group="action")

    def action_open(self) -> None:
        r = self._current()
        if r is not None:
            self.app.go("exceptions", tenant=r.tenant, flow=r.flow)

    def action_reload(self) -> None:
        self.reload()
