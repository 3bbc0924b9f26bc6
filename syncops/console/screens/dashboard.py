"""Dashboard: one row per tenant x flow, refreshed every second from the store.

The numbers come from services.health.flow_health (the same as `syncops status`). That
query counts every open record, so it runs only when the store changed (the app's cheap
change marker says so); at each new minute only the sparklines and p95 are re-read, and in
between only the clocks move (ages, and the SLA grade that depends on age).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from syncops.console.formatting import ago, clip, duration, seconds, sla_grade, sparkline, until
from syncops.console.screens.base import ConsoleScreen
from syncops.services.health import CRITICAL, OK, WARNING, FlowHealth, Health

COLUMNS = [("tenant", "Tenant"), ("flow", "Flow"), ("health", "Health"), ("failed", "Fail"),
           ("quarantined", "Quar"), ("retry_wait", "Wait"), ("pending", "Pend"), ("in_flight", "Fly"),
           ("p95", "p95 vs SLA"), ("oldest", "Oldest"), ("spark", "Delivered/min 30m"), ("next", "Next run"),
           ("last", "Last run"), ("paused", "Paused")]


@dataclass
class DashData:
    health: Health | None  # None: nothing changed, only move the clocks
    activity: dict[tuple[str, str], Any] | None  # a new minute: fresh sparklines and p95
    now: float


def display_state(h: FlowHealth, oldest_age: float | None) -> str:
    """The health grade now: an idle store still ages, so re-apply the age rule of services.health."""
    if h.sla and oldest_age is not None:
        if oldest_age > h.sla:
            return CRITICAL
        if oldest_age > h.sla / 2 and h.state == OK:
            return WARNING
    return h.state


def _fingerprint(value: Any) -> Any:
    return (value.plain, str(value.style), tuple(map(str, value.spans))) if isinstance(value, Text) else value


class DashboardScreen(ConsoleScreen):
    AUTO_FOCUS = "#flows"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("enter", "open", "Exceptions"),
        Binding("p", "pause", "Pause refresh"),
        Binding("f", "flows", "Flows"),
        Binding("ctrl+r", "reload", "Reload"),
    ]
    HELP = ("One row per tenant and flow. Counts are open records by state; p95 is end-to-end latency "
            "over the last 30 minutes against the flow's SLA; Oldest is the oldest undelivered record. "
            "The screen refreshes every second; p pauses it.")

    def __init__(self) -> None:
        super().__init__()
        self.health: Health | None = None
        self.loaded_at = 0.0
        self.minute = 0
        self._shown: dict[tuple[str, str], Any] = {}
        self.last_render_at = 0.0  # perf_counter() of the last table update (for the benchmark)

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static("loading…", id="summary")
        table: DataTable = DataTable(id="flows", cursor_type="row", zebra_stripes=True)
        table.fixed_columns = 2
        yield table
        yield Static("", id="reasons")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#flows", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.app.refresh_now()

    # --- polled from the app's tick (worker thread) -----------------------------------------

    def poll(self, changed: bool) -> DashData:
        now = self.app.clock()
        if changed or self.health is None:
            return DashData(self.app.backend.health(), None, now)
        if int(now // 60) != self.minute:
            return DashData(None, self.app.backend.activity(now), now)
        return DashData(None, None, now)

    def show_poll(self, data: DashData) -> None:
        if data.health is not None:
            self.health = data.health
            self.loaded_at = data.now
            self.minute = int(data.now // 60)
        elif data.activity is not None and self.health is not None:
            self.minute = int(data.now // 60)
            for h in self.health.flows:
                act = data.activity.get((h.tenant, h.flow))
                h.delivered_series = act.delivered_per_minute if act else [0] * len(h.delivered_series)
                h.p50, h.p95 = (act.p50, act.p95) if act else (None, None)
        if self.health is not None:
            self._render_health(self.health, data.now)
            self.last_render_at = time.perf_counter()

    # --- rendering -----------------------------------------------------------------------------

    def _cells(self, h: FlowHealth, now: float) -> list[Any]:
        app = self.app
        v = app.palette
        tenant = Text(h.tenant)
        if h.production:
            tenant = Text("◆ " + h.tenant, style=f"bold {v.get('status-production', '')}")
        oldest = None if h.oldest_age is None else h.oldest_age + (now - self.loaded_at)
        state = display_state(h, oldest)
        state_style = {CRITICAL: v.get("error", ""), WARNING: v.get("warning", "")}.get(state, v.get("success", ""))
        health = Text({CRITICAL: "CRIT", WARNING: "warn"}.get(state, "ok"), style=f"bold {state_style}")

        def count(state: str) -> Text:
            n = h.counts.get(state, 0)
            return Text(f"{n:,}" if n else "·", style=app.status_colour(state) if n else "dim", justify="right")

        grade = sla_grade(h.p95, h.sla)
        p95 = Text(f"{seconds(h.p95)}/{duration(h.sla) if h.sla else '-'} {grade if grade != '-' else ''}".strip(),
                   style={"breach": v.get("error", ""), "warning": v.get("warning", "")}.get(grade, ""))
        last = ago(h.last_run_at, now) + (" " + h.last_run_status if h.last_run_status else "")
        paused = Text(clip("yes: " + (h.paused_reason or ""), 30), style=f"bold {v.get('warning', '')}") \
            if h.paused else Text("")
        return [tenant, h.flow, health, count("failed"), count("quarantined"), count("retry_wait"),
                count("pending"), count("in_flight"), p95, duration(oldest) if oldest is not None else "-",
                Text(sparkline(h.delivered_series, 30), style=app.status_colour("delivered")),
                until(h.next_run_at, now), last, paused]

    def _render_health(self, health: Health, now: float) -> None:
        table = self.query_one("#flows", DataTable)
        keys = [f"{h.tenant}/{h.flow}" for h in health.flows]
        existing = [str(k.value) for k in table.rows]
        with self.app.batch_update():
            if keys != existing:
                cursor = table.cursor_row
                table.clear()
                self._shown = {}
                for key, h in zip(keys, health.flows):
                    cells = self._cells(h, now)
                    table.add_row(*cells, key=key)
                    self._shown.update({(key, col): _fingerprint(v) for (col, _l), v in zip(COLUMNS, cells)})
                if health.flows:
                    table.move_cursor(row=min(cursor, len(health.flows) - 1))
            else:
                # Only cells whose text changed: most ticks move a few clocks, nothing else.
                for key, h in zip(keys, health.flows):
                    for (col, _label), value in zip(COLUMNS, self._cells(h, now)):
                        mark = _fingerprint(value)
                        if self._shown.get((key, col)) != mark:
                            self._shown[(key, col)] = mark
                            table.update_cell(key, col, value)
        states = [display_state(h, None if h.oldest_age is None else h.oldest_age + (now - self.loaded_at))
                  for h in health.flows]
        crit, warn = states.count(CRITICAL), states.count(WARNING)
        summary = Text(f"Dashboard  {len(health.flows)} flows  ")
        summary.append(f"{crit} critical", style=f"bold {self.app.palette.get('error', '')}" if crit else "dim")
        summary.append("  ")
        summary.append(f"{warn} warning", style=f"bold {self.app.palette.get('warning', '')}" if warn else "dim")
        if health.reasons:
            summary.append("  │ " + "; ".join(health.reasons), style="dim")
        self.query_one("#summary", Static).update(summary)
        self._show_reasons()

    def _current(self) -> FlowHealth | None:
        table = self.query_one("#flows", DataTable)
        if self.health is None or not self.health.flows or table.row_count == 0:
            return None
        row = min(table.cursor_row, len(self.health.flows) - 1)
        return self.health.flows[row]

    def _show_reasons(self) -> None:
        h = self._current()
        text = "" if h is None else (f"{h.tenant}/{h.flow}: " + ("; ".join(h.reasons) or "healthy"))
        self.query_one("#reasons", Static).update(text)

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_reasons()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    # --- actions -------------------------------------------------------------------------------

    def action_open(self) -> None:
        h = self._current()
        if h is not None:
            self.app.go("exceptions", tenant=h.tenant, flow=h.flow)

    def action_flows(self) -> None:
        self.app.go("flows")

    def action_pause(self) -> None:
        self.app.toggle_live()

    def action_reload(self) -> None:
        self.app.refresh_now()
