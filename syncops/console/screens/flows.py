"""Flows: schedule, next and last run, cursor, paused state; pause (with reason), resume, run now."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from syncops.console.backend import FlowRow
from syncops.console.columns import Col, dropped, fit, lay_out
from syncops.console.formatting import ago, clip, until
from syncops.console.screens.base import ConsoleScreen
from syncops.console.widgets.modals import ConfirmModal, ReasonModal


COLUMNS = [Col("tenant", "Tenant", 14), Col("flow", "Flow", 20), Col("paused", "State", 8),
           Col("next", "Next run", 8), Col("last", "Last run", 13), Col("schedule", "Schedule", 10, priority=2),
           Col("cursor", "Cursor", 40, priority=3, flex=True, min_width=12), Col("entity", "Entity", 9, priority=4)]


def run_now_message(r: FlowRow, engine_running: bool) -> str | None:
    """What run now will really do for this flow; None when it would do nothing (the key is refused)."""
    c = r.control
    if c is not None and c.paused:
        return None
    if not r.enabled:
        return None
    if not engine_running:
        return (f"{r.tenant}/{r.flow}: run now recorded, but no engine is running: "
                f"it polls when an engine starts")
    return f"{r.tenant}/{r.flow}: run now requested; the engine polls it at its next control check (seconds)"


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
            "engine) and needs a reason other technicians will see. Run now asks the engine to poll at its next "
            "control check (a few seconds); a paused flow never polls, so run now is refused there: resume it "
            "(u) first. Next run reads 'paused' for a paused flow.")

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[FlowRow] = []
        self.focus_key: str | None = None
        self.columns: list[tuple[Col, int]] = []

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static("Flows", id="flows-title", classes="section")
        yield DataTable(id="flow-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="flow-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._set_columns(self.app.size.width)
        self.reload()

    def _set_columns(self, width: int) -> None:
        self.columns = lay_out(self.query_one("#flow-table", DataTable), COLUMNS, width)
        hidden = dropped(COLUMNS, self.columns)
        self.query_one("#flows-title", Static).update(
            "Flows" + (f"   ({', '.join(hidden)}: in the line below)" if hidden else ""))

    def on_resize(self, event: events.Resize) -> None:
        if fit(COLUMNS, event.size.width) != self.columns:
            self._set_columns(event.size.width)
            if self.rows:
                self._show(self.rows)

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
            tenant = Text("◆ " + r.tenant, style=f"bold {v.get('status-production', '')}") if r.production else \
                Text(r.tenant)
            paused = bool(c and c.paused)
            state = Text("paused" if paused else ("disabled" if not r.enabled else "running"),
                         style=f"bold reverse {v.get('warning', '')}" if paused else ("dim" if not r.enabled else ""))
            last = Text("-")
            if c is not None and c.last_run_at:
                status = c.last_run_status or ""
                last = Text(f"{status} {ago(c.last_run_at, now)}".strip(),
                            style=f"bold {v.get('error', '')}" if status not in ("", "ok") else "")
            nxt = "paused" if paused else ("-" if not r.enabled else (until(c.next_run_at, now) if c else "-"))
            values = {"tenant": tenant, "flow": r.flow, "paused": state, "schedule": r.schedule, "next": nxt,
                      "last": last, "entity": r.entity or "-",
                      "cursor": r.cursor.cursor if r.cursor is not None and r.cursor.cursor else "-"}
            cells = []
            for col, w in self.columns:
                value = values[col.key]
                if isinstance(value, Text):
                    value.truncate(w, overflow="ellipsis")
                else:
                    value = clip(value, w)
                cells.append(value)
            table.add_row(*cells, key=f"{r.tenant}/{r.flow}")
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

    def write_tenants(self) -> list[str]:
        r = self._current()
        return [r.tenant] if r is not None else []

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
            parts = [f"{r.tenant}/{r.flow} {r.schedule}"]
            if c is not None and c.last_run_at:
                parts.append(f"last run {c.last_run_status or '?'} {ago(c.last_run_at, self.app.clock())} ago")
            if c is not None and c.paused:
                parts.append(f"paused by {c.paused_by or '?'}: {c.paused_reason or ''}")
            if c is not None and c.last_run_error:
                parts.append(f"last error: {clip(c.last_run_error, 120)}")
            if c is not None and c.run_now_at:
                parts.append("run-now requested")
            if r.cursor is not None and r.cursor.cursor:
                parts.append(f"cursor: {clip(r.cursor.cursor, 200)}")
            text = "\n".join(["  │  ".join(parts[:2]), *parts[2:]])
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
        message = run_now_message(r, self.app.engine_running())
        if message is None:
            why = "is paused: resume it first (u)" if r.control is not None and r.control.paused else \
                "is disabled in the config"
            self.app.notify(f"{r.tenant}/{r.flow} {why}; run now does nothing while it is "
                            f"{'paused' if 'paused' in why else 'disabled'}, so nothing was requested",
                            severity="warning")
            return
        self.app.background(self, lambda: self.app.backend.run_now(r.tenant, r.flow), self._after(message),
                            group="action")

    def action_open(self) -> None:
        r = self._current()
        if r is not None:
            self.app.go("exceptions", tenant=r.tenant, flow=r.flow)

    def action_reload(self) -> None:
        self.reload()
