"""Add a value-map entry (prefilled from a failed record), then offer to release what it blocked.

The offer names the exact number of failed records blocked by that value; accepting it
saves the entry and releases those records in one audited transaction
(services.mappings.set_entry(release=True)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from syncops.console.widgets.modals import dialog_box


@dataclass
class MappingChoice:
    tenant: str
    map_name: str
    source: str
    target: str
    release: bool


class MappingModal(ModalScreen[MappingChoice | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, tenant: str, map_name: str = "", source: str = "", *, production: bool = False) -> None:
        super().__init__()
        self.tenant = tenant
        self.map_name = map_name
        self.source = source
        self.production = production
        self.blocked: int | None = None

    def compose(self) -> ComposeResult:
        with dialog_box(f"add mapping for {self.tenant}", self.tenant if self.production else None):
            yield Label("map")
            yield Input(self.map_name, placeholder="map name (e.g. pos_to_web_sku)", id="map", compact=True,
                        classes="-field")
            yield Label("source value (as the source system sends it)")
            yield Input(self.source, placeholder="source value", id="source", compact=True, classes="-field")
            yield Label("target value (as the target system expects it)")
            yield Input(placeholder="target value", id="target", compact=True, classes="-field")
            yield Static("", id="blocked", markup=False)
            yield Label("", id="problem", markup=False)
            yield Static("enter: next   esc: cancel", classes="hint", id="hint")

    def on_mount(self) -> None:
        first_empty = next((i for i in self.query(Input) if not i.value), None)
        (first_empty or self.query_one("#target", Input)).focus()
        self._count()

    def _count(self) -> None:
        map_name, source = self.query_one("#map", Input).value.strip(), self.query_one("#source", Input).value.strip()
        if not map_name or not source:
            return

        def shown(n: int) -> None:
            self.blocked = n
            self.query_one("#blocked", Static).update(
                f"{source!r} in {map_name} blocks {n:,} failed record(s)" if n else
                f"no failed record is blocked by {source!r} in {map_name}")

        self.app.background(self, lambda: self.app.backend.blocked(self.tenant, map_name, source), shown,
                            group="blocked")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("map", "source"):
            self._count()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        values = {i.id: i.value.strip() for i in self.query(Input)}
        missing = next((k for k in ("map", "source", "target") if not values.get(k)), None)
        if missing is not None:
            self.query_one(f"#{missing}", Input).focus()
            self.query_one("#problem", Label).update(f"{missing} is required")
            return
        choice = MappingChoice(self.tenant, values["map"], values["source"], values["target"], False)
        self.app.push_screen(ReleaseOffer(choice, self.blocked or 0, production=self.production), self._offered)

    def _offered(self, choice: MappingChoice | None) -> None:
        if choice is not None:
            self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReleaseOffer(ModalScreen[MappingChoice | None]):
    """Second step: save, and release the records the value blocked?"""

    BINDINGS = [Binding("r", "save(True)", "Save + release"), Binding("s", "save(False)", "Save only"),
                Binding("escape", "cancel", "Cancel")]

    def __init__(self, choice: MappingChoice, blocked: int, *, production: bool) -> None:
        super().__init__()
        self.choice = choice
        self.blocked_count = blocked
        self.production = production

    def compose(self) -> ComposeResult:
        c = self.choice
        with dialog_box("save mapping", c.tenant if self.production else None):
            yield Static(f"{c.map_name}: {c.source} -> {c.target}   (tenant {c.tenant})", markup=False)
            if self.blocked_count:
                yield Static(f"It blocked {self.blocked_count:,} failed record(s). Release exactly those "
                             f"records back to the queue now?")
                yield Static("r: save and release them   s: save only   esc: back", classes="hint")
            else:
                yield Static("No failed record is waiting on this value.")
                yield Static("s: save   esc: back", classes="hint")

    def action_save(self, release: bool) -> None:
        c = self.choice
        self.dismiss(MappingChoice(c.tenant, c.map_name, c.source, c.target, release and self.blocked_count > 0))

    def action_cancel(self) -> None:
        self.dismiss(None)


def open_mapping_form(node: Any, tenant: str, map_name: str, source: str, *,
                      on_saved: Callable[[int], None] | None = None) -> None:
    app = node.app

    def chosen(choice: MappingChoice | None) -> None:
        if choice is None or not app.allow_write():
            return

        def saved(released: int) -> None:
            extra = f"; released {released:,} record(s)" if choice.release else ""
            app.notify(f"mapping saved: {choice.map_name} {choice.source} -> {choice.target}{extra}")
            if on_saved is not None:
                on_saved(released)

        app.background(node, lambda: app.backend.set_mapping(choice.tenant, choice.map_name, choice.source,
                                                             choice.target, release=choice.release),
                       saved, group="action")

    app.push_screen(MappingModal(tenant, map_name, source, production=app.backend.is_production(tenant)), chosen)
