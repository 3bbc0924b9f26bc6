"""Audit: the action log, newest first, filterable, paged by id, live.

The log only grows, so a live update is a merge: events newer than the newest one shown
are put on top, the rows already shown stay (keyed by event id), and the cursor stays on
the event it was on, at the same line of the screen. Ages tick every second. The pane
under the table shows the highlighted event in full: who, from where, and what it
changed (before -> after, customer data masked as everywhere else).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Label, Static

from syncops.console import query_language as ql
from syncops.console.columns import Col, dropped, fit, lay_out
from syncops.console.formatting import ago, clip
from syncops.console.live_table import anchor, restore, tick_ages
from syncops.console.pii import mask_source
from syncops.console.screens.base import ConsoleScreen
from syncops.models.pii import mask_diff

PAGE = 200

COLUMNS = [Col("when", "Age", 6), Col("who", "Who", 8, priority=1), Col("via", "Via", 7, priority=4),
           Col("action", "Action", 11), Col("target", "Target", 12, priority=1),
           Col("tenant", "Tenant", 14, priority=2), Col("reason", "Reason", 60, flex=True, min_width=10)]


@dataclass
class AuditPoll:
    events: list[Any] | None  # the first page again (the store changed); None: only the clocks moved
    now: float


def _loads(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _value(key: str, value: Any) -> str:
    shown = mask_source({key: value}).get(key) if not isinstance(value, (dict, list)) else mask_source(value)
    if isinstance(shown, (dict, list)):
        return clip(json.dumps(shown, sort_keys=True), 60)
    return "-" if shown is None else clip(shown, 60)


def change_lines(before_raw: str | None, after_raw: str | None) -> list[str]:
    """What an audited action changed, one short line per field (customer data masked)."""
    before, after = _loads(before_raw), _loads(after_raw)
    if before is None and after is None:
        return []
    if not isinstance(before, (dict, type(None))) or not isinstance(after, (dict, type(None))):
        return [f"before: {_value('before', before)}", f"after: {_value('after', after)}"]
    before, after = before or {}, after or {}
    parts: list[str] = []
    diff = after.get("diff") if isinstance(after.get("diff"), str) else None
    for key in [*before, *[k for k in after if k not in before]]:
        if key == "diff":
            continue
        b, a = before.get(key), after.get(key)
        if key not in before:
            parts.append(f"{key} = {_value(key, a)}")
        elif key not in after:
            parts.append(f"{key} was {_value(key, b)}")
        elif a != b:
            parts.append(f"{key}: {_value(key, b)} → {_value(key, a)}")
    lines = ["  ".join(parts)] if parts else []
    if diff:
        changed = [ln for ln in mask_diff(diff).splitlines()
                   if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
        lines.append("payload: " + "  ".join(" ".join(ln.split()) for ln in changed[:6])
                     + (f"  (+{len(changed) - 6} more)" if len(changed) > 6 else ""))
    return lines


class AuditScreen(ConsoleScreen):
    AUTO_FOCUS = "#audit-log"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("enter", "open", "Open record", show=False),
        Binding("ctrl+r", "reload", "Reload", show=False),
        Binding("escape", "escape", "Back", show=False),
    ]
    HELP = ("Every operator action, with who, where from, when and why; the pane below shows the highlighted "
            "event in full, with what it changed (before → after; customer data masked). New events appear "
            "on top without moving your cursor. enter opens the record an event is about. Filter (/): "
            + ql.AUDIT_HELP)

    def __init__(self) -> None:
        super().__init__()
        self.query_text = ""
        self.filters: dict[str, Any] = {}
        self.events: list[Any] = []
        self.exhausted = False
        self.busy = False
        self.new_above = 0  # events that arrived on top since the cursor was last at the top
        self.columns: list[tuple[Col, int]] = []
        self._when: dict[str, str] = {}  # row key -> the age text shown (only changed cells are redrawn)
        self._gen = 0  # bumped by a filter change: a page fetched for an older filter is dropped

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static("", id="audit-bar")
        yield Input(placeholder="filter: " + ql.AUDIT_HELP, id="audit-filter", classes="hidden")
        yield Label("", id="filter-error", classes="hidden", markup=False)
        yield DataTable(id="audit-log", cursor_type="row", zebra_stripes=True)
        yield Static("", id="audit-detail")
        yield Footer()

    def on_mount(self) -> None:
        self._set_columns(self.app.size.width)
        self.reload()

    def on_resize(self, event: events.Resize) -> None:
        if fit(COLUMNS, event.size.width) != self.columns:
            self._set_columns(event.size.width)
            self._rebuild(keep=True)

    def _set_columns(self, width: int) -> None:
        self.columns = lay_out(self.query_one("#audit-log", DataTable), COLUMNS, width)
        self._when = {}

    def configure(self, **kwargs: Any) -> None:
        parts = [f"{k}:{kwargs[k]}" for k in ("tenant", "action", "actor") if kwargs.get(k)]
        if kwargs.get("record"):
            parts.append(f"record:{kwargs['record']}")
        self.apply_query(" ".join(parts))

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.app.refresh_now()

    def _kwargs(self) -> dict[str, Any]:
        kw = dict(self.filters)
        since = kw.pop("since_seconds", None)
        if since is not None:
            kw["since"] = self.app.clock() - since
        return kw

    # --- loading ---------------------------------------------------------------------------------

    def reload(self) -> None:
        """A fresh start (a new filter, ctrl+r): the first page, cursor on top."""
        self.busy = True
        self._gen += 1
        gen, kw = self._gen, self._kwargs()
        self.app.background(self, lambda: self.app.backend.audit(limit=PAGE, **kw),
                            lambda events: self._loaded(gen, events), group="page")

    def _loaded(self, gen: int, events: list[Any]) -> None:
        if gen != self._gen:
            return
        self.busy = False
        self.events = list(events)
        self.exhausted = len(events) < PAGE
        self.new_above = 0
        self._rebuild(keep=False)

    def poll(self, changed: bool) -> AuditPoll:
        """From the app's tick (a worker thread): the first page when the store changed."""
        now = self.app.clock()
        if not changed or self.busy:
            return AuditPoll(None, now)
        return AuditPoll(self.app.backend.audit(limit=PAGE, **self._kwargs()), now)

    def show_poll(self, data: AuditPoll) -> None:
        if data.events is not None and not self.busy:
            self._merge(list(data.events))
        self._tick_ages(data.now)

    def store_changed(self) -> None:
        self.app.refresh_now()

    def _merge(self, first: list[Any]) -> None:
        shown = {e.id for e in self.events}
        new = [e for e in first if e.id not in shown]
        if not new:
            return  # the page is the same: nothing moves, nothing is announced
        if not self.events or len(new) >= PAGE:
            self.events, self.exhausted = first, len(first) < PAGE
        else:  # the first page overlaps what is shown: the union has no gap
            merged = {e.id: e for e in self.events} | {e.id: e for e in first}
            self.events = sorted(merged.values(), key=lambda e: -e.id)
        table = self.query_one("#audit-log", DataTable)
        if table.row_count and table.cursor_row > 0:
            self.new_above += len(new)
        self._rebuild(keep=True)

    def _cells(self, e: Any, now: float) -> list[Any]:
        widths = dict((c.key, w) for c, w in self.columns)
        target = f"#{e.target_id}" if e.target_type == "record" else \
            f"{e.target_type} {str(e.target_id).rpartition('/')[2]}"
        who = e.actor + (f"@{e.client}" if e.client and widths.get("who", 0) > 12 else "")
        values = {"when": ago(e.at, now), "who": who, "via": e.via, "action": e.action, "target": target,
                  "tenant": e.tenant or "", "reason": e.reason or ""}
        return [clip(values[c.key], w) for c, w in self.columns]

    def _rebuild(self, *, keep: bool) -> None:
        """Draw self.events; with keep, the cursor stays on its event at the same screen line."""
        table = self.query_one("#audit-log", DataTable)
        key, line = anchor(table) if keep else (None, 0)
        now = self.app.clock()
        with self.app.batch_update():
            table.clear()
            self._when = {}
            for e in self.events:
                cells = self._cells(e, now)
                table.add_row(*cells, key=str(e.id))
                self._when[str(e.id)] = cells[0]
            restore(table, key, line)
        self._bar()
        self._detail()

    def _tick_ages(self, now: float) -> None:
        table = self.query_one("#audit-log", DataTable)
        if not self.columns or self.columns[0][0].key != "when":
            return
        tick_ages(table, "when", self.columns[0][1], ((str(e.id), e.at) for e in self.events), now, self._when)

    def _bar(self) -> None:
        more = "" if self.exhausted else " (more below)"
        bar = Text()
        bar.append(f"/ {self.query_text or '(all events)'}  │ {len(self.events)} shown{more}")
        if self.new_above:
            bar.append(f"  │ {self.new_above} new above", style=f"bold {self.app.palette.get('accent', '')}")
        hidden = dropped(COLUMNS, self.columns)
        if hidden:
            bar.append(f"  │ {', '.join(hidden)}: in the pane below", style="dim")
        self.query_one("#audit-bar", Static).update(bar)

    def current_event(self) -> Any | None:
        table = self.query_one("#audit-log", DataTable)
        if not self.events or table.row_count == 0:
            return None
        return self.events[min(table.cursor_row, len(self.events) - 1)]

    def _detail(self) -> None:
        e = self.current_event()
        pane = self.query_one("#audit-detail", Static)
        if e is None:
            pane.update("")
            return
        text = Text(no_wrap=False)
        when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(e.at))
        text.append(f"#{e.id} {e.action}", style="bold")
        text.append(f"  {e.target_type} {e.target_id}  {e.tenant or ''}\n")
        text.append(f"{when} ({ago(e.at, self.app.clock())} ago) by {e.actor}"
                    f"{'@' + e.client if e.client else ''} via {e.via}")
        text.append("\n")
        text.append("why: ", style="dim")
        text.append(e.reason or "(no reason given)")
        for line in change_lines(e.before, e.after) or ["(nothing recorded before/after)"]:
            text.append("\n")
            text.append(line, style="" if line[:1] != "(" else "dim")
        pane.update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # The table's cursor now, not the event's: a rebuild passes through row 0 on the way.
        row = event.data_table.cursor_row
        if row == 0 and self.new_above:
            self.new_above = 0
            self._bar()
        self._detail()
        if row >= len(self.events) - 20 and not self.exhausted and not self.busy and self.events:
            self.busy = True
            kw, before, gen = self._kwargs(), self.events[-1].id, self._gen
            self.app.background(self, lambda: self.app.backend.audit(limit=PAGE, before_id=before, **kw),
                                lambda events: self._more(gen, events), group="page")

    def _more(self, gen: int, events: list[Any]) -> None:
        if gen != self._gen:
            return
        self.busy = False
        self.exhausted = len(events) < PAGE
        known = {e.id for e in self.events}
        events = [e for e in events if e.id not in known]
        self.events += events
        table = self.query_one("#audit-log", DataTable)
        now = self.app.clock()
        for e in events:
            cells = self._cells(e, now)
            table.add_row(*cells, key=str(e.id))
            self._when[str(e.id)] = cells[0]
        self._bar()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        e = self.current_event()
        if e is not None and e.target_type == "record" and str(e.target_id).isdigit():
            self.app.open_record(int(e.target_id))

    # --- the filter ------------------------------------------------------------------------------

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
