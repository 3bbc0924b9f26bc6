"""`?`: every key of the current screen (and the global ones), what it does, and whether it is available."""

from __future__ import annotations

from typing import Any, Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

KEY_NAMES = {"question_mark": "?", "colon": ":", "slash": "/", "space": "space", "escape": "esc",
             "left_square_bracket": "[", "right_square_bracket": "]", "enter": "enter"}


def key_label(b: Binding) -> str:
    if b.key_display:
        return b.key_display
    return ", ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in b.key.split(","))


def _bindings(node: Any) -> Iterable[Binding]:
    for b in getattr(type(node), "BINDINGS", []):
        if isinstance(b, Binding):
            yield b
        else:
            yield Binding(*b)


def binding_rows(screen: Screen, app: Any) -> list[tuple[str, str, str, str]]:
    """(scope, key, description, availability) for the screen's and the app's bindings."""
    rows = []
    for scope, node in (("screen", screen), ("global", app)):
        for b in _bindings(node):
            action = b.action.split("(")[0]
            allowed = node.check_action(action, ()) if hasattr(node, "check_action") else True
            status = "" if allowed else ("disabled: read-only" if getattr(app, "read_only", False) else
                                         "disabled: break-glass" if action in getattr(node, "MUTATING", ())
                                         else "unavailable")
            rows.append((scope, key_label(b), b.description or action.replace("_", " "), status))
    rows.append(("global", "ctrl+p", "command palette (also :)", ""))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.target = screen
        # Judge availability now, while the target screen is on top: once this dialog is,
        # the app refuses jumps and every global key would read "unavailable".
        self.rows = binding_rows(screen, self.app)

    def compose(self) -> ComposeResult:
        app = self.app
        brand = app.branding
        box = Vertical(id="help-dialog")
        box.border_title = f"keys: {type(self.target).__name__.replace('Screen', '').lower()}"
        with box:
            text = getattr(self.target, "HELP", "")
            if getattr(app, "read_only", False):
                from syncops.console.screens.base import READ_ONLY_HELP

                text = f"{READ_ONLY_HELP}\n{text}" if text else READ_ONLY_HELP
            from syncops.services.breakglass import break_glass_tenants

            glass = break_glass_tenants(getattr(getattr(app, "backend", None), "config", None))
            if glass:
                from syncops.console.screens.base import BREAK_GLASS_HELP

                note = BREAK_GLASS_HELP.format(tenants=", ".join(glass))
                text = f"{note}\n{text}" if text else note
            if text:
                # Help text is prose, not markup: "[ and ] switch tabs" must keep its brackets.
                # Scrollable on its own (tab to it, arrows/pgdn): at 80x24 the exceptions help's
                # filter syntax is longer than the room left above the keys table.
                with VerticalScroll(id="help-text-box"):
                    yield Static(Text(text), id="help-text")
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            support = f"  support: {brand.support_contact}" if brand.support_contact else ""
            yield Static(Text(f"{brand.product_title}{' · ' + brand.partner_name if brand.partner_name else ''}"
                              f"{support}   tab: text/keys   esc closes", style="dim"))

    def on_mount(self) -> None:
        table = self.query_one("#help-keys", DataTable)
        table.add_columns("Where", "Key", "Does", "")
        for scope, key, desc, status in self.rows:
            table.add_row(scope, Text(key, style="bold"), desc, Text(status, style="dim"))
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
