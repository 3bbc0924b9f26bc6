"""Fleet: one row per tenant, worst first; enter drills into the tenant's dashboard.

The rows come from services.fleet (the same rollup as `syncops status --by-tenant`), built
from one flow_health read, re-read only when the store changed (the app's change marker);
in between only the ages move.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from syncops.console.columns import Col, dropped
from syncops.console.formatting import duration
from syncops.console.screens.fitted import FittedTableScreen
from syncops.services.fleet import Fleet, TenantRollup
from syncops.services.health import CRITICAL, WARNING

COLUMNS = [Col("tenant", "Tenant", 20), Col("health", "Hlth", 4), Col("failed", "Fail", 5),
           Col("quarantined", "Quar", 5), Col("sla", "SLA", 6), Col("oldest", "Oldest", 6),
           Col("paused", "Pausd", 5), Col("breakers", "Brk", 3), Col("flows", "Flows", 5, priority=1),
           Col("worst", "Worst flow", 24, priority=2, flex=True, min_width=10)]
SLA_TEXT = {"-": "-", "ok": "ok", "warning": "warn", "breach": "BREACH"}


class FleetScreen(FittedTableScreen):
    TABLE_ID = "tenants"
    COLUMNS = COLUMNS
    DEFAULT_CSS = "FleetScreen #summary { height: 1; }"
    AUTO_FOCUS = "#tenants"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("enter", "open", "Dashboard"),
        Binding("e", "exceptions", "Exceptions"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]
    HELP = ("One row per tenant, worst first: Hlth is the worst of its flows (ok / warn / CRIT), Fail and Quar "
            "its failed and quarantined records, SLA the worst SLA state of its flows (ok / warn / BREACH), "
            "Oldest its oldest undelivered record, Pausd its paused flows, Brk its endpoints with an open "
            "circuit breaker. enter opens the dashboard of that tenant (esc there shows every tenant again), "
            "e its exceptions. 0 (or f, except on the dashboard where f is Flows) comes back here; the console "
            "starts here when the store holds more than one tenant. `syncops status --by-tenant` prints the same.")

    def __init__(self) -> None:
        super().__init__()
        self.fleet: Fleet | None = None
        self.loaded_at = 0.0
        self.columns: list[tuple[Col, int]] = []
        self._shown: dict[tuple[str, str], str] = {}
        self.last_render_at = 0.0  # perf_counter() of the last table update (for the benchmark)

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static("loading…", id="summary")
        table: DataTable = DataTable(id="tenants", cursor_type="row", zebra_stripes=True)
        table.fixed_columns = 1
        yield table
        yield Static("", id="reasons")
        yield Footer()

    def forget_shown(self) -> None:
        self._shown = {}

    def redraw(self) -> None:
        if self.fleet is not None:
            self._render_fleet(self.app.clock())

    # --- polled from the app's tick (worker thread) -------------------------------------------

    def poll(self, changed: bool) -> tuple[Fleet | None, float]:
        now = self.app.clock()
        if changed or self.fleet is None:
            return self.app.backend.fleet(), now
        return None, now  # nothing changed: only the ages move

    def show_poll(self, data: tuple[Fleet | None, float]) -> None:
        fleet, now = data
        if fleet is not None:
            self.fleet, self.loaded_at = fleet, now
        if self.fleet is not None:
            self._render_fleet(now)
            self.last_render_at = time.perf_counter()

    # --- rendering ----------------------------------------------------------------------------

    def _cells(self, t: TenantRollup, now: float) -> list[Any]:
        v = self.app.palette
        style = {CRITICAL: v.get("error", ""), WARNING: v.get("warning", "")}.get(t.health, v.get("success", ""))
        tenant = Text(("◆ " if t.production else "") + t.tenant,
                      style=f"bold {v.get('status-production', '')}" if t.production else "")
        oldest = None if t.oldest_age is None else t.oldest_age + (now - self.loaded_at)

        def count(n: int, state: str) -> Text:
            return Text(f"{n:,}" if n else "·", style=self.app.status_colour(state) if n else "dim", justify="right")

        values = {"tenant": tenant,
                  "health": Text({CRITICAL: "CRIT", WARNING: "warn"}.get(t.health, "ok"), style=f"bold {style}"),
                  "failed": count(t.failed, "failed"), "quarantined": count(t.quarantined, "quarantined"),
                  "sla": Text(SLA_TEXT[t.sla], style={"breach": f"bold {v.get('error', '')}",
                                                      "warning": v.get("warning", "")}.get(t.sla, "")),
                  "oldest": duration(oldest) if oldest is not None else "-",
                  "paused": Text(str(t.paused) if t.paused else "·", justify="right",
                                 style=f"bold {v.get('warning', '')}" if t.paused else "dim"),
                  "breakers": Text(str(t.breakers_open) if t.breakers_open else "·", justify="right",
                                   style=f"bold {v.get('error', '')}" if t.breakers_open else "dim"),
                  "flows": Text(str(t.flows), justify="right"), "worst": t.worst_flow or ""}
        return self.fitted(values)

    def _render_fleet(self, now: float) -> None:
        assert self.fleet is not None
        tenants = self.fleet.tenants
        table = self.query_one("#tenants", DataTable)
        keys = [t.tenant for t in tenants]
        with self.app.batch_update():
            if keys != [str(k.value) for k in table.rows]:
                cursor = table.cursor_row
                table.clear()
                self._shown = {}
                for t in tenants:
                    cells = self._cells(t, now)
                    table.add_row(*cells, key=t.tenant)
                    self._shown.update({(t.tenant, c.key): str(v) for (c, _w), v in zip(self.columns, cells)})
                if tenants:
                    table.move_cursor(row=min(cursor, len(tenants) - 1))
            else:  # only cells whose text changed: most ticks move a few ages
                for t in tenants:
                    for (col, _w), value in zip(self.columns, self._cells(t, now)):
                        if self._shown.get((t.tenant, col.key)) != str(value):
                            self._shown[(t.tenant, col.key)] = str(value)
                            table.update_cell(t.tenant, col.key, value)
        crit = sum(t.health == CRITICAL for t in tenants)
        warn = sum(t.health == WARNING for t in tenants)
        v = self.app.palette
        summary = Text(f"Fleet  {len(tenants)} tenants  ")
        summary.append(f"{crit} critical", style=f"bold {v.get('error', '')}" if crit else "dim")
        summary.append("  ")
        summary.append(f"{warn} warning", style=f"bold {v.get('warning', '')}" if warn else "dim")
        summary.append(f"  {sum(t.failed for t in tenants):,} failed  "
                       f"{sum(t.quarantined for t in tenants):,} quarantined")
        if self.fleet.reasons:
            summary.append("  │ " + "; ".join(self.fleet.reasons), style="dim")
        self.query_one("#summary", Static).update(summary)
        self._show_reasons()

    def current(self) -> TenantRollup | None:
        table = self.query_one("#tenants", DataTable)
        if self.fleet is None or not self.fleet.tenants or table.row_count == 0:
            return None
        return self.fleet.tenants[min(table.cursor_row, len(self.fleet.tenants) - 1)]

    def _show_reasons(self) -> None:
        t = self.current()
        text = Text()
        if t is not None:
            text.append(f"{t.tenant}: ", style="bold")
            text.append("; ".join(t.reasons) or "healthy")
            text.truncate(max(10, self.app.size.width - 2), overflow="ellipsis")  # one line: the rest is `status`
        hidden = dropped(COLUMNS, self.columns)
        text.append("\n")
        if hidden:
            text.append(f"wider terminal: +{', '.join(hidden)}", style="dim")
        self.query_one("#reasons", Static).update(text)

    # --- actions ------------------------------------------------------------------------------

    def action_open(self) -> None:
        t = self.current()
        if t is not None:
            self.app.go("dashboard", tenant=t.tenant)

    def action_exceptions(self) -> None:
        t = self.current()
        if t is not None:
            self.app.go("exceptions", tenant=t.tenant)

    def action_reload(self) -> None:
        self.app.refresh_now()
