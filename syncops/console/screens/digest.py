"""Shift handover digest (D on the dashboard): the same digest as `syncops digest` (services.digest).

y copies the Markdown to the clipboard (OSC 52: works over SSH in most terminals) to paste
into the ticket; w changes the window (8h, 12h, 24h).
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from syncops.console.screens.base import ConsoleScreen

WINDOWS = [8 * 3600.0, 12 * 3600.0, 24 * 3600.0]


class DigestScreen(ConsoleScreen):
    AUTO_FOCUS = "#digest-scroll"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("y", "copy", "Copy Markdown"),
        Binding("w", "window", "Window"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]
    HELP = ("The shift handover: new failures by error signature, what was fixed and by whom (from the audit "
            "log), what is still open with the oldest record, SLA breaches, paused flows with their reason and "
            "who paused them. No customer data. y copies it as Markdown for the ticket (also `syncops digest "
            "--markdown`); w switches the window between 8h, 12h and 24h.")

    def __init__(self) -> None:
        super().__init__()
        self.window = WINDOWS[0]
        self.digest: Any = None

    def compose(self) -> ComposeResult:
        yield self.header()
        with VerticalScroll(id="digest-scroll"):
            yield Static("building the digest…", id="digest", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        window = self.window
        self.app.background(self, lambda: self.app.backend.digest(window), self._show, group="digest")

    def _show(self, d: Any) -> None:
        from syncops.services.digest import to_text

        self.digest = d
        self.query_one("#digest", Static).update(to_text(d))

    def action_reload(self) -> None:
        self.reload()

    def action_window(self) -> None:
        self.window = WINDOWS[(WINDOWS.index(self.window) + 1) % len(WINDOWS)]
        self.reload()

    def action_copy(self) -> None:
        if self.digest is None:
            return
        from syncops.services.digest import to_markdown

        self.app.copy_to_clipboard(to_markdown(self.digest))
        self.app.notify("digest copied as Markdown (paste it into the ticket)")
