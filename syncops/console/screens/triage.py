"""Triage (T on the dashboard): the worst tenant's biggest error group, its record, the likely fix.

Ranking and fix come from services.triage. When the group is done (its records fixed,
retried or resolved, so it no longer ranks) the screen moves to the next one by itself;
n skips to the next without acting.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from syncops.console.formatting import ago, clip
from syncops.console.screens.base import ConsoleScreen
from syncops.store.filters import RecordFilter


class TriageScreen(ConsoleScreen):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("n", "next_group", "Next group"),
        Binding("m", "add_mapping", "Map value"),
        Binding("r", "retry_group", "Retry group"),
        Binding("enter", "open", "Open record"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]
    MUTATING = frozenset({"add_mapping", "retry_group"})
    HELP = ("Triage works through the error groups in order: the worst tenant first (most records waiting for a "
            "human), then its biggest group. It shows the group's oldest record and the likely fix: for a mapping "
            "failure the map and value to add (m adds it and releases the group), for a validation failure the "
            "field that fails, for unavailable / rate limit / auth the endpoint with its breaker and last error. "
            "r retries the group (count shown first), enter opens the record, n skips to the next group; a group "
            "that is done gives way to the next by itself.")

    def __init__(self) -> None:
        super().__init__()
        self.skipped: set[tuple[str, str]] = set()
        self.current: Any = None
        self.record: Any = None
        self.fix: Any = None

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static("Triage", id="triage-title", classes="section")
        yield Static("ranking error groups…", id="triage", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def store_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        skipped = set(self.skipped)
        self.app.background(self, lambda: self.app.backend.triage(skipped), self._show, group="triage")

    def _show(self, result: Any) -> None:
        groups, g, record, fix = result
        before = self.current
        self.current, self.record, self.fix = g, record, fix
        body = self.query_one("#triage", Static)
        if before is not None and (g is None or g.key != before.key) and before.key not in self.skipped:
            self.app.notify(f"group done: {before.tenant} [{before.category}] — on to the next")
        if g is None:
            body.update("Nothing left to triage." if not groups else
                        f"All {len(groups)} group(s) skipped; n starts over from the top.")
            return
        index = [x.key for x in groups].index(g.key) + 1
        now = self.app.clock()
        lines = [f"group {index} of {len(groups)} · {g.tenant} (open weight {g.tenant_weight})"
                 + (" PRODUCTION" if self.app.backend.is_production(g.tenant) else ""),
                 # The oldest record's own message reads better than the signature (<n>, <v> placeholders).
                 f"[{g.category or 'unknown'}] {g.count:,} record(s) failing like the oldest one:", "",
                 f"record #{record.id} {record.flow} {clip(record.entity_key, 24)} · {record.state} · "
                 f"tries {record.attempts} · {ago(record.created_at, now)} old",
                 f"  {clip(record.error_message, 150)}", "",
                 f"likely fix: {fix.summary}"]
        lines += [f"  {d}" for d in fix.details]
        body.update("\n".join(lines))

    def action_reload(self) -> None:
        self.reload()

    def action_next_group(self) -> None:
        if self.current is None:
            self.skipped.clear()
        else:
            self.skipped.add(self.current.key)
            self.current = None  # skipped on purpose: no "group done" message
        self.reload()

    def action_open(self) -> None:
        if self.record is not None:
            self.app.open_record(self.record.id)

    def action_add_mapping(self) -> None:
        if not self.writable():
            return
        if self.fix is None or self.fix.kind != "mapping" or not self.fix.map_name:
            self.app.notify("this group did not fail on a value map", severity="warning")
            return
        from syncops.console.widgets.mapping_form import open_mapping_form

        open_mapping_form(self, self.current.tenant, self.fix.map_name, self.fix.value or "",
                          on_saved=lambda _n: self.reload())

    def action_retry_group(self) -> None:
        if not self.writable() or self.current is None:
            return
        from syncops.console.widgets.bulk import BulkDecision, BulkModal

        g = self.current
        f = RecordFilter(tenant=g.tenant, signature=g.signature, states=("failed", "retry_wait", "quarantined"))

        def decided(d: BulkDecision | None) -> None:
            if d is not None:
                self.app.background(self, lambda: self.app.backend.bulk_apply(d.action, d.filter, confirmed=d.confirmed,
                                                                              reason=d.reason),
                                    lambda res: (self.app.notify(f"retry: {res.touched:,} record(s) done"),
                                                 self.reload()), group="action")

        self.app.push_screen(BulkModal("retry", f, f"group [{g.category}] of {g.tenant}"), decided)
