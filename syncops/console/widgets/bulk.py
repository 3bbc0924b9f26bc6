"""Bulk action dialog: count first, then a typed confirmation when it matters.

The technician always sees N (and the states and tenants involved) before anything
happens. Above the threshold they type N; when a production tenant is involved they
type its name, always. The counted records (their ids) are passed to bulk.apply, which acts
on those and reports the ones that arrived since, rather than refusing because the count grew.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from syncops.services.actions import ACTIONS
from syncops.services.bulk import BulkPreview
from syncops.store.filters import RecordFilter

THRESHOLD = 20


@dataclass
class BulkDecision:
    action: str
    filter: RecordFilter
    confirmed: int
    reason: str | None
    ids: tuple[int, ...] | None = None  # the set that was counted and confirmed
    canary: int = 0  # retry this many first and watch them (screens.canary) before the rest


def required_phrase(preview: BulkPreview, production: list[str], threshold: int) -> str | None:
    """What must be typed to confirm, or None when enter is enough."""
    if production:
        return production[0] if len(production) == 1 else str(preview.count)
    if preview.count > threshold:
        return str(preview.count)
    return None


class BulkModal(ModalScreen[BulkDecision | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, action: str, f: RecordFilter, scope: str, *, threshold: int = THRESHOLD,
                 canary: int = 0) -> None:
        super().__init__()
        self.canary = canary
        self.action = action
        self.filter = f
        self.scope = scope
        self.threshold = threshold
        self.spec = ACTIONS[action]
        self.preview: BulkPreview | None = None
        self.phrase: str | None = None

    def compose(self) -> ComposeResult:
        box = Vertical(id="dialog")
        box.border_title = f"canary {self.action}" if self.canary else f"bulk {self.action}"
        with box:
            yield Static(f"{self.action} {self.scope}: counting…", id="summary", markup=False)
            yield Input(placeholder="reason (required, kept in the audit trail)" if self.spec.reason_required
                        else "reason (optional)", id="reason", compact=True)
            yield Input(placeholder="", id="typed", classes="hidden", compact=True)
            yield Label("", id="problem", markup=False)
            yield Static("enter: confirm   esc: cancel", classes="hint")

    def on_mount(self) -> None:
        # The reason box has the focus from the first keystroke: what is typed before the count
        # arrives lands there, never in the confirmation box that appears later.
        self.query_one("#reason", Input).focus()
        self.app.background(self, lambda: self.app.backend.bulk_preview(self.action, self.filter), self._show,
                            group="bulk-preview")

    def _show(self, preview: BulkPreview) -> None:
        self.preview = preview
        backend = self.app.backend
        production = [t for t in preview.tenants if backend.is_production(t)]
        states = ", ".join(f"{n:,} {s}" for s, n in sorted(preview.by_state.items())) or "none"
        tenants = ", ".join(f"{t} (PRODUCTION)" if t in production else t for t in preview.tenants) or "-"
        summary = self.query_one("#summary", Static)
        if preview.count == 0:
            summary.update(f"{self.action} {self.scope}: no record can be {self.spec.verb} "
                           f"(only {', '.join(self.spec.from_states)} records can be). Nothing to do.")
            return
        # #summary shows three lines: with a canary its plan replaces the scope line.
        first = (f"{self.action} {preview.count:,} record(s) ({self.scope})" if not self.canary else
                 f"canary: retry the {min(self.canary, preview.count)} oldest of {preview.count:,} first, watch "
                 f"them, then release the other {max(preview.count - self.canary, 0):,} or stop")
        summary.update(f"{first}\nstates: {states}\ntenants: {tenants}")
        box = self.query_one("#dialog")
        if production:
            box.add_class("production")
            box.border_subtitle = "PRODUCTION: " + ", ".join(production)
        self.phrase = required_phrase(preview, production, self.threshold)
        typed = self.query_one("#typed", Input)
        if self.phrase is not None:
            what = "the tenant name" if not self.phrase.isdigit() else "the number of records"
            typed.placeholder = f"type {what} to confirm: {self.phrase}"
            typed.remove_class("hidden")
        # No focus change here: the count arrives while the technician may already be typing
        # (or have tabbed on); only their keys move the focus.

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.preview is None:
            return
        if self.preview.count == 0:
            self.dismiss(None)
            return
        reason = self.query_one("#reason", Input).value.strip() or None
        problem = self.query_one("#problem", Label)
        if self.spec.reason_required and not reason:
            problem.update(f"{self.action} needs a reason")
            self.query_one("#reason", Input).focus()
            return
        typed = self.query_one("#typed", Input)
        if self.phrase is not None and event.input.id == "reason" and typed.value.strip() != self.phrase:
            typed.focus()
            return
        if self.phrase is not None and typed.value.strip() != self.phrase:
            problem.update(f"type {self.phrase} exactly to confirm")
            return
        self.dismiss(BulkDecision(self.action, self.filter, self.preview.count, reason, self.preview.ids,
                                  self.canary))

    def action_cancel(self) -> None:
        self.dismiss(None)
