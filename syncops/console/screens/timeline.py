"""Entity timeline: every record of one SKU (at every location) or one order, in time order.

The events come from services.timeline (as `syncops timeline KEY` prints them), with payload
snapshots already masked; enter opens the record an event belongs to.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from syncops.console.formatting import clip
from syncops.console.screens.base import ConsoleScreen
from syncops.console.widgets.json_view import pretty
from syncops.services.timeline import ATTEMPT, DELIVERY, EDIT, FAILURE, SOURCE, SUPERSEDE, Timeline

KIND_LABEL = {SOURCE: "source", ATTEMPT: "attempt", DELIVERY: "delivered", FAILURE: "FAILED", EDIT: "edit",
              "action": "action", SUPERSEDE: "superseded"}


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%m-%d %H:%M")


class TimelineScreen(ConsoleScreen):
    DEFAULT_CSS = """
    TimelineScreen #summary { height: 1; }
    TimelineScreen #event-detail { height: 4; padding: 0 1; border-top: solid $panel; }
    """
    AUTO_FOCUS = "#events"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("enter", "open", "Open record"),
        Binding("escape", "close", "Back"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]
    HELP = ("Every record of one SKU (at every location: SKU@location keys) or one order, across all tenants, "
            "flows and systems, oldest first: the source change, each delivery attempt, failures, payload "
            "edits, operator actions and superseding. Customer data in snapshots stays masked. enter opens the "
            "highlighted event's record; t on a record opens its timeline; `:timeline KEY` in the command "
            "palette, or `syncops timeline KEY` on the command line, for any key.")

    def __init__(self, key: str, tenant: str | None = None) -> None:
        super().__init__()
        self.key = key
        self.tenant = tenant
        self.timeline: Timeline | None = None

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static(f"timeline {self.key}: loading…", id="summary")
        yield DataTable(id="events", cursor_type="row", zebra_stripes=True)
        yield Static("", id="event-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def _columns(self, table: DataTable) -> tuple[bool, int, int]:
        """(wide, where width, what width): the What column takes the room left, no sideways scroll."""
        wide = self.app.size.width >= 100
        where = 40 if wide else 10
        what = max(20, self.app.size.width - (11 + 9 + 5 + where) - 2 * 5 - 2)
        table.clear(columns=True)
        for label, key, width in (("When UTC", "when", 11), ("Event", "kind", 9), ("#", "record", 5),
                                  ("Where", "where", where), ("What", "what", what)):
            table.add_column(label, key=key, width=width)
        return wide, where, what

    def reload(self) -> None:
        key, tenant, backend = self.key, self.tenant, self.app.backend
        self.app.background(self, lambda: backend.timeline(key, tenant), self._show, group="timeline")

    def store_changed(self) -> None:
        self.reload()  # a timeline is short and indexed: re-read it as it grows

    def _show(self, tl: Timeline) -> None:
        self.timeline = tl
        v = self.app.palette
        style = {FAILURE: f"bold {v.get('error', '')}", ATTEMPT: v.get("warning", ""),
                 DELIVERY: v.get("success", ""), SUPERSEDE: "dim", EDIT: v.get("accent", ""),
                 "action": v.get("accent", "")}
        table = self.query_one("#events", DataTable)
        cursor = table.cursor_row
        wide, where_w, what_w = self._columns(table)
        for i, e in enumerate(tl.events):
            kind_style = style.get(e.kind, "")
            label = KIND_LABEL[e.kind]
            if e.kind == ATTEMPT:  # the attempt's outcome is the event: failed / retry / deferred
                label = e.outcome or label
                if e.outcome == "failed":
                    kind_style = f"bold {v.get('error', '')}"
            # Narrow: where is the location of a SKU@location key (the detail line says the rest).
            where = f"{e.tenant}/{e.flow} {e.entity_key}" if wide else (e.entity_key.partition("@")[2] or e.flow)
            # Text, not str: a str cell is markup, and "[mapping]" would vanish.
            table.add_row(_when(e.at), Text(label, style=kind_style), str(e.record_id),
                          Text(clip(where, where_w)), Text(clip(e.summary, what_w)), key=str(i))
        if tl.events:
            table.move_cursor(row=min(cursor, len(tl.events) - 1))
        summary = Text(f"Timeline {tl.key}", style="bold")
        if tl.events:
            summary.append(f"  {len(tl.events)} events  {tl.records} record{'s' if tl.records != 1 else ''}  ")
            summary.append(clip(", ".join(tl.keys), 60), style="dim")
            if tl.truncated:
                summary.append("  (newest records only)", style="dim")
        else:
            summary.append(f"  no records with key {tl.key} (nor {tl.key}@location)")
        self.query_one("#summary", Static).update(summary)
        self._show_detail()

    def _show_detail(self) -> None:
        tl = self.timeline
        table = self.query_one("#events", DataTable)
        text = Text(no_wrap=True, overflow="ellipsis")
        if tl is not None and tl.events and table.row_count:
            e = tl.events[min(table.cursor_row, len(tl.events) - 1)]
            text.append(f"#{e.record_id} {e.tenant}/{e.flow} {e.entity_key} [{e.system}]", style="bold")
            if e.actor:
                text.append(f"  by {e.actor}", style="dim")
            text.append(f"\n{e.summary}")
            if e.snapshot is not None:
                snap = e.snapshot if isinstance(e.snapshot, str) else pretty(e.snapshot)
                text.append("\n" + " ".join(snap.split())[:300], style="dim")
        self.query_one("#event-detail", Static).update(text)

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        tl = self.timeline
        table = self.query_one("#events", DataTable)
        if tl is not None and tl.events and table.row_count:
            self.app.open_record(tl.events[min(table.cursor_row, len(tl.events) - 1)].record_id)

    def action_close(self) -> None:
        self.app.action_back()

    def action_reload(self) -> None:
        self.reload()


def timeline_key(entity: str, entity_key: str) -> str:
    """A record's timeline key: an inventory key's SKU (its timeline covers every location)."""
    return entity_key.partition("@")[0] if entity == "inventory" and "@" in entity_key else entity_key


def open_timeline(app: Any, key: str, tenant: str | None = None) -> None:
    app.push_screen(TimelineScreen(key.strip(), tenant))
