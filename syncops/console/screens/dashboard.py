"""Dashboard: one row per tenant x flow, refreshed every second from the store.

The numbers come from services.health.flow_health (the same as `syncops status`). That
query counts every open record, so it runs only when the store changed (the app's cheap
change marker says so); at each new minute only the sparklines and p95 are re-read, and in
between only the clocks move (ages, and the SLA grade that depends on age).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from syncops.console.columns import Col, dropped
from syncops.console.formatting import ago, duration, seconds, short_duration, sla_grade, sparkline, until
from syncops.console.screens.fitted import FittedTableScreen
from syncops.services.health import CRITICAL, OK, WARNING, FlowHealth, Health

# At 80 columns (the design width) priority-0 columns and Quar fit; the others come with width.
COLUMNS = [Col("tenant", "Tenant", 14), Col("flow", "Flow", 20), Col("health", "Hlth", 4),
           Col("failed", "Fail", 4), Col("quarantined", "Quar", 4, priority=1),
           Col("retry_wait", "Wait", 4, priority=2), Col("pending", "Pend", 4, priority=4),
           Col("in_flight", "Fly", 3, priority=5), Col("p95", "p95/SLA", 12), Col("oldest", "Oldest", 6),
           Col("spark", "Delivered/min 30m", 17, priority=3), Col("next", "Next run", 8, priority=6),
           Col("last", "Last run", 12, priority=7), Col("paused", "Paused", 30, priority=3, flex=True,
                                                           min_width=8)]
GRADE = {"ok": "ok", "warning": "warn", "breach": "BREACH"}


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


def alerts_text(docs: list[dict[str, Any]], now: float, palette: dict[str, str]) -> Text:
    """`2 alerts firing · newest sla_breach acme/orders 4m10s ago: <problem>` (silenced ones counted apart)."""
    loud = [d for d in docs if not d.get("silenced_until")]
    newest = (loud or docs)[0]
    where = newest.get("tenant", "") + ("/" + newest["flow"] if newest.get("flow") else "")
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f" {len(docs)} alert{'s' if len(docs) != 1 else ''} firing ",
             style=f"bold reverse {palette.get('error', '')}" if loud else "bold reverse")
    silenced = len(docs) - len(loud)
    if silenced:
        t.append(f" ({silenced} silenced)", style="dim")
    t.append(f" newest: {newest.get('rule', '?')} {where}")
    if newest.get("since"):
        t.append(f" {ago(newest['since'], now)} ago", style="dim")
    if newest.get("problem"):
        t.append(f": {newest['problem']}")
    return t


class DashboardScreen(FittedTableScreen):
    TABLE_ID = "flows"
    COLUMNS = COLUMNS
    DEFAULT_CSS = "DashboardScreen #alerts { height: 1; padding: 0 1; display: none; }"
    AUTO_FOCUS = "#flows"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("enter", "open", "Exceptions"),
        Binding("p", "pause", "Pause refresh"),
        Binding("f", "flows", "Flows"),
        Binding("T", "triage", "Triage", show=False),
        Binding("D", "digest", "Digest", show=False),
        Binding("ctrl+r", "reload", "Reload"),
        Binding("escape", "all_tenants", "All tenants", show=False),
    ]
    HELP = ("One row per tenant and flow. Hlth is ok / warn / CRIT; counts are open records by state (Fail "
            "failed, Quar quarantined, Wait retry wait, Pend pending, Fly in flight); p95/SLA is end-to-end "
            "latency over the last 30 minutes against the flow's SLA, then ok / warn / BREACH; Oldest is the "
            "oldest undelivered record. At 80 columns the less important columns give way (the line at the "
            "bottom names them). The screen refreshes every second; p pauses the refresh (REFRESH PAUSED). "
            "T opens triage (the worst tenant's biggest error group and its likely fix); D the shift handover "
            "digest. While alerts fire, the header names the newest (ALERT rule tenant/flow) and a line under the "
            "summary counts them; `syncops alerts list` shows them all.")

    def __init__(self) -> None:
        super().__init__()
        self.health: Health | None = None
        self.loaded_at = 0.0
        self.minute = 0
        self._shown: dict[tuple[str, str], Any] = {}
        self.last_render_at = 0.0  # perf_counter() of the last table update (for the benchmark)
        self.columns: list[tuple[Col, int]] = []
        self.tenant: str | None = None  # drilled in from the fleet view: only this tenant's flows

    def configure(self, tenant: str | None = None, **_: Any) -> None:
        self.tenant = tenant
        self.health = None  # re-read and re-filter at once
        self.app.refresh_now()

    def action_all_tenants(self) -> None:
        if self.tenant is None:
            self.app.action_back()
        else:
            self.configure(tenant=None)

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static("loading…", id="summary")
        yield Static("", id="alerts")
        table: DataTable = DataTable(id="flows", cursor_type="row", zebra_stripes=True)
        table.fixed_columns = 2
        yield table
        yield Static("", id="reasons")
        yield Footer()

    def forget_shown(self) -> None:
        self._shown = {}

    def redraw(self) -> None:
        if self.health is not None:
            self._render_health(self.health, self.app.clock())

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
            h = data.health
            self.health = replace(h, flows=[f for f in h.flows if f.tenant == self.tenant]) if self.tenant else h
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
        self._show_alerts(data.now)

    def _show_alerts(self, now: float) -> None:
        """One line under the summary while alerts fire (read by the app's tick: `app.alerts`)."""
        docs = getattr(self.app, "alerts", (None, []))[1]
        box = self.query_one("#alerts", Static)
        if not docs:
            box.display = False
            return
        text = alerts_text(docs, now, self.app.palette)
        if getattr(self, "_alerts_shown", None) != text.plain:
            self._alerts_shown = text.plain
            box.update(text)
        box.display = True

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
        p95_text = f"{seconds(h.p95) if (h.p95 or 0) < 60 else short_duration(h.p95)}/" \
                   f"{short_duration(h.sla) if h.sla else '-'}"
        p95 = Text(f"{p95_text} {GRADE.get(grade, '')}".strip(),
                   style={"breach": f"bold {v.get('error', '')}", "warning": v.get("warning", "")}.get(grade, ""))
        last = ago(h.last_run_at, now) + (" " + h.last_run_status if h.last_run_status else "")
        paused = Text("yes: " + (h.paused_reason or ""), style=f"bold {v.get('warning', '')}") \
            if h.paused else Text("")
        values = {"tenant": tenant, "flow": h.flow, "health": health, "failed": count("failed"),
                  "quarantined": count("quarantined"), "retry_wait": count("retry_wait"),
                  "pending": count("pending"), "in_flight": count("in_flight"), "p95": p95,
                  "oldest": duration(oldest) if oldest is not None else "-",
                  "spark": Text(sparkline(h.delivered_series, 15), style=app.status_colour("delivered")),
                  "next": "paused" if h.paused else until(h.next_run_at, now), "last": last, "paused": paused}
        return self.fitted(values)

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
                    self._shown.update({(key, col.key): _fingerprint(v) for (col, _w), v in zip(self.columns, cells)})
                if health.flows:
                    table.move_cursor(row=min(cursor, len(health.flows) - 1))
            else:
                # Only cells whose text changed: most ticks move a few clocks, nothing else.
                for key, h in zip(keys, health.flows):
                    for (col, _width), value in zip(self.columns, self._cells(h, now)):
                        mark = _fingerprint(value)
                        if self._shown.get((key, col.key)) != mark:
                            self._shown[(key, col.key)] = mark
                            table.update_cell(key, col.key, value)
        states = [display_state(h, None if h.oldest_age is None else h.oldest_age + (now - self.loaded_at))
                  for h in health.flows]
        crit, warn = states.count(CRITICAL), states.count(WARNING)
        summary = Text(f"Dashboard  {len(health.flows)} flows  " +
                       (f"of tenant {self.tenant} (esc: all)  " if self.tenant else ""))
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
        text = Text(no_wrap=True, overflow="ellipsis")
        if h is not None:
            text.append(f"{h.tenant}/{h.flow}: ", style="bold")
            if h.paused:
                text.append(f"paused ({h.paused_reason or 'no reason'}); ", style=f"bold {self.app.palette.get('warning', '')}")
            text.append("; ".join(h.reasons) or "healthy")
        hidden = dropped(COLUMNS, self.columns)
        text.append("\n")
        if hidden:
            names = ", ".join("sparkline" if h.startswith("Delivered") else h for h in hidden)
            text.append(f"wider terminal: +{names}", style="dim")
        table = self.query_one("#flows", DataTable)
        if table.max_scroll_x > 0:
            text.append("  ◂ ▸ the table scrolls sideways", style="dim")
        self.query_one("#reasons", Static).update(text)

    # --- actions -------------------------------------------------------------------------------

    def action_open(self) -> None:
        h = self._current()
        if h is not None:
            self.app.go("exceptions", tenant=h.tenant, flow=h.flow)

    def action_flows(self) -> None:
        self.app.go("flows")

    def action_triage(self) -> None:
        from syncops.console.screens.triage import TriageScreen

        self.app.push_screen(TriageScreen())

    def action_digest(self) -> None:
        from syncops.console.screens.digest import DigestScreen

        self.app.push_screen(DigestScreen())

    def action_pause(self) -> None:
        self.app.toggle_live()

    def action_reload(self) -> None:
        self.app.refresh_now()
