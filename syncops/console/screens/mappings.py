"""Mappings: values missing from maps, ranked by how many records each blocks; and the maps themselves."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from syncops.console.formatting import ago, clip
from syncops.console.screens.base import ConsoleScreen
from syncops.console.widgets.mapping_form import open_mapping_form


class MappingsScreen(ConsoleScreen):
    AUTO_FOCUS = "#unmapped"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("a", "add_mapping", "Map value"),
        Binding("n", "new_mapping", "New entry"),
        Binding("t", "next_tenant", "Tenant"),
        Binding("tab", "switch_table", "Switch table", show=False),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]
    MUTATING = frozenset({"add_mapping", "new_mapping"})
    HELP = ("Top: values that failed to map, most-blocking first. a (or enter) adds the missing entry with the "
            "value prefilled and then offers to release exactly the records it blocked. Bottom: the entries of "
            "one tenant's maps (config file entries and operator entries; operator entries win). "
            "t switches tenant, n adds an entry by hand.")

    def __init__(self) -> None:
        super().__init__()
        self.unmapped: list[Any] = []
        self.entries: list[Any] = []
        self.tenant: str | None = None

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static("Unmapped values (failed records blocked by each)", id="unmapped-title", classes="section")
        yield DataTable(id="unmapped", cursor_type="row", zebra_stripes=True)
        yield Static("", id="entries-title", classes="section")
        yield DataTable(id="entries", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        unmapped = self.query_one("#unmapped", DataTable)
        for key, label in (("count", "Blocks"), ("tenant", "Tenant"), ("map", "Map"), ("value", "Value"),
                           ("flows", "Flows")):
            unmapped.add_column(label, key=key)
        entries = self.query_one("#entries", DataTable)
        for key, label in (("map", "Map"), ("source", "Source"), ("target", "Target"), ("origin", "From"),
                           ("by", "Changed by")):
            entries.add_column(label, key=key)
        tenants = self.app.backend.tenants()
        self.tenant = tenants[0] if tenants else None
        self.reload()

    def configure(self, **kwargs: Any) -> None:
        if kwargs.get("tenant"):
            self.tenant = kwargs["tenant"]
            self.reload()

    def store_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        tenant = self.tenant
        backend = self.app.backend

        def load() -> tuple[list[Any], list[Any]]:
            return backend.unmapped(), (backend.entries(tenant) if tenant else [])

        self.app.background(self, load, self._show, group="load")

    def _show(self, data: tuple[list[Any], list[Any]]) -> None:
        self.unmapped, self.entries = data
        app = self.app
        table = self.query_one("#unmapped", DataTable)
        table.clear()
        for i, u in enumerate(self.unmapped):
            tenant = Text(u.tenant, style=f"bold {app.palette.get('status-production', '')}") \
                if app.backend.is_production(u.tenant) else u.tenant
            table.add_row(Text(f"{u.count:,}", justify="right", style=app.status_colour("failed")), tenant,
                          u.map_name, u.value, clip(", ".join(sorted(set(u.flows))), 40), key=str(i))
        if not self.unmapped:
            table.add_row("", "", "", "nothing is blocked on a missing mapping", "")
        entries = self.query_one("#entries", DataTable)
        entries.clear()
        now = app.clock()
        for e in self.entries:
            by = f"{e.updated_by} {ago(e.updated_at, now)} ago" if e.updated_by else ""
            entries.add_row(e.map_name, e.source, e.target, e.origin, by)
        prod = "  PRODUCTION" if app.backend.is_production(self.tenant) else ""
        self.query_one("#entries-title", Static).update(
            f"Maps of {self.tenant or '(no tenant configured)'}{prod}: {len(self.entries)} entries (t: next tenant)")

    def write_tenants(self) -> list[str]:
        u = self._selected()
        return [t for t in (u.tenant if u is not None else None, self.tenant) if t]

    def _selected(self) -> Any | None:
        table = self.query_one("#unmapped", DataTable)
        if not self.unmapped or table.row_count == 0:
            return None
        return self.unmapped[min(table.cursor_row, len(self.unmapped) - 1)]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "unmapped":
            self.action_add_mapping()

    def action_add_mapping(self) -> None:
        if not self.writable():
            return
        u = self._selected()
        if u is None:
            self.app.notify("no unmapped value selected", severity="warning")
            return
        open_mapping_form(self, u.tenant, u.map_name, u.value, on_saved=lambda _n: self.reload())

    def action_new_mapping(self) -> None:
        if not self.writable():
            return
        if self.tenant is None:
            self.app.notify("no tenant in the config", severity="warning")
            return
        open_mapping_form(self, self.tenant, "", "", on_saved=lambda _n: self.reload())

    def action_next_tenant(self) -> None:
        tenants = self.app.backend.tenants()
        if not tenants:
            return
        i = tenants.index(self.tenant) if self.tenant in tenants else -1
        self.tenant = tenants[(i + 1) % len(tenants)]
        self.reload()

    def action_switch_table(self) -> None:
        target = "#entries" if self.query_one("#unmapped", DataTable).has_focus else "#unmapped"
        self.query_one(target, DataTable).focus()

    def action_reload(self) -> None:
        self.reload()
