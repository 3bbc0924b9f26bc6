"""Small modal dialogs: ask for a reason, ask yes/no. Keyboard only; esc cancels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


def dialog_box(title: str, production: str | None) -> Vertical:
    """The dialog frame; on a production tenant it turns red and names the tenant on its border."""
    box = Vertical(id="dialog", classes="production" if production else "")
    box.border_title = title
    if production:
        box.border_subtitle = f"PRODUCTION: {production}"
    return box


class ReasonModal(ModalScreen[str | None]):
    """Ask why; the answer goes into the audit trail. Returns None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, *, required: bool = True, production: str | None = None,
                 placeholder: str = "reason (kept in the audit trail)") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.required = required
        self.production = production
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with dialog_box(self.title_text, self.production):
            yield Static(self.prompt, id="prompt", markup=False)
            yield Input(placeholder=self.placeholder, id="reason", compact=True)
            yield Label("", id="problem", markup=False)
            yield Static("enter: confirm   esc: cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if self.required and not value:
            self.query_one("#problem", Label).update("a reason is required")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """y/enter confirms, n/esc cancels."""

    BINDINGS = [Binding("y,enter", "yes", "Yes"), Binding("n,escape", "no", "No")]

    def __init__(self, title: str, message: str, *, production: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.production = production

    def compose(self) -> ComposeResult:
        with dialog_box(self.title_text, self.production):
            yield Static(self.message, id="prompt", markup=False)
            yield Static("y / enter: yes   n / esc: no", classes="hint")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)
