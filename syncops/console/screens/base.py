"""What every console screen shares: the status header, the footer, and the read-only guard."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.screen import Screen

from syncops.console.widgets.header import StatusHeader


class ConsoleScreen(Screen):
    # Actions that change the store: hidden from footer and palette in --read-only mode
    # (check_action returning False), and refused if reached some other way.
    MUTATING: ClassVar[frozenset[str]] = frozenset()
    # Extra text for the `?` help screen.
    HELP: ClassVar[str] = ""

    def header(self) -> StatusHeader:
        return StatusHeader()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MUTATING and getattr(self.app, "read_only", False):
            return False
        return True

    def on_screen_resume(self) -> None:
        self.app.update_header()

    def configure(self, **kwargs: Any) -> None:
        """Jumps from the palette (`:tenant acme`) land here; screens accept what they understand."""

    def writable(self) -> bool:
        return self.app.allow_write()
