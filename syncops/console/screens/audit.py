"""Audit: the action log, newest first, filterable, paged by id."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Label, Static

from syncops.console import query_language as ql
from syncops.console.formatting import ago, clip
from syncops.console.screens.base import ConsoleScreen

PAGE = 200


class AuditScreen(ConsoleScreen):
    AUTO_FOCUS = "#audit-log"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("enter", "open", "Open record", show=False),
        Binding("ctrl+r", "reload", "Reload", show=False),
        Binding("escape", "escape", "Back", show=False),
    ]
    HELP = "Every operator action, with who, where from, when and why. Filter (/): " + ql.AUDIT_HELP

    def __init__(self) -> None:
        super().__init__()
        self.query_text = ""
        self.filters: dict[str, Any] = {}
        self.events: list[Any] = []
        self.exhausted = False
        self.busy = False

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static("", id="audit-bar")
        yield Input(placeholder="filter: " + ql.AUDIT_HELP, id="audit-filter", classes="hidden")
        yield Label("", id="filter-error", classes="hidden")
        yield DataTable(id="audit-log", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#audit-log", DataTable)
        for key, label in (("when", "When"), ("who", "Who"), ("via", "Via"), ("action", "Action"),
                           ("target", "Target"), ("tenant", "Tenant"), ("reason", "Reason")):
            table.add_column(label, key=key)
        self.reload()

    def configure(self, **kwargs: Any) -> None:
        parts = [f"{k}:{kwargs[k]}" for k in ("tenant", "action", "actor") if kwargs.get(k)]
        if kwargs.get("record"):
            parts.append(f"record:{kwargs['record']}")
        self.apply_query(" ".join(parts))

    def store_changed(self) -> None:
        self.reload()

    def _kwargs(self) -> dict[str, Any]:
        kw = dict(self.filters)
        since = kw.pop("since_seconds", None)
        if since is not None:
            kw["since"] = self.app.clock() - since
        return kw

    def reload(self) -> None:
        self.busy = True
        kw = self._kwargs()
        self.app.background(self, lambda: self.app.backend.audit(limit=PAGE, **kw), self._loaded, group="page")

    def _loaded(self, events: list[Any]) -> None:
        self.busy = False
        self.events = list(events)
        self.exhausted = len(events) < PAGE
        table = self.query_one("#audit-log", DataTable)
        table.clear()
        self._append(events)
        self._bar()

    def _append(self, events: list[Any]) -> None:
        table = self.query_one("#audit-log", DataTable)
        now = self.app.clock()
        for e in events:
            who = e.actor + (f"@{e.client}" if e.client else "")
            target = f"#{e.target_id}" if e.target_type == "record" else f"{e.target_type} {e.target_id}"
            table.add_row(ago(e.at, now) + " ago", who, e.via, e.action, clip(target, 36), e.tenant or "",
                          clip(e.reason, 60), key=str(e.id))

    def _bar(self) -> None:
        more = "" if self.exhausted else " (more below)"
        self.query_one("#audit-bar", Static).update(
            f"/ {self.query_text or '(all events)'}  │ {len(self.events)} shown{more}")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= len(self.events) - 20 and not self.exhausted and not self.busy and self.events:
            self.busy = True
            kw, before = self._kwargs(), self.events[-1].id
            self.app.background(self, lambda: self.app.backend.audit(limit=PAGE, before_id=before, **kw),
                                self._more, group="page")

    def _more(self, events: list[Any]) -> None:
        self.busy = False
        self.exhausted = len(events) < PAGE
        self.events += events
        self._append(events)
        self._bar()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one("#audit-log", DataTable)
        if not self.events or table.row_count == 0:
            return
        e = self.events[min(table.cursor_row, len(self.events) - 1)]
        if e.target_type == "record" and str(e.target_id).isdigit():
            self.app.open_record(int(e.target_id))

    def apply_query(self, text: str) -> bool:
        try:
            self.filters = ql.parse_audit(text)
        except ql.QueryError as exc:
            label = self.query_one("#filter-error", Label)
            label.update(f"filter: {exc}")
            label.remove_class("hidden")
            return False
        self.query_one("#filter-error", Label).add_class("hidden")
        self.query_text = text.strip()
        self.reload()
        return True

    def action_filter(self) -> None:
        box = self.query_one("#audit-filter", Input)
        box.value = self.query_text
        box.remove_class("hidden")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.apply_query(event.value):
            event.input.add_class("hidden")
            self.query_one("#audit-log", DataTable).focus()

    def action_escape(self) -> None:
        box = self.query_one("#audit-filter", Input)
        if not box.has_class("hidden"):
            box.add_class("hidden")
            self.query_one("#filter-error", Label).add_class("hidden")
            self.query_one("#audit-log", DataTable).focus()
            return
        self.app.action_back()

    def action_reload(self) -> None:
        self.reload()
