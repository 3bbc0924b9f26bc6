"""Edit a record's payload: JSON editor, validation in place, diff and reason before saving.

Saving passes the version the editor was opened on. If the engine (or a colleague) changed
the record meanwhile, the store refuses (ConcurrencyConflict) and keeps their result; the
editor says so and keeps the technician's text. ctrl+r reloads the record underneath that
text, shows the diff against what is stored now, and the next save succeeds.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Input, Static, TextArea

from syncops.console.screens.base import ConsoleScreen
from syncops.console.widgets.json_view import pretty, syntax
from syncops.models import PII_FIELDS
from syncops.models.json_input import JsonInputError
from syncops.models.json_input import parse as parse_payload
from syncops.services.errors import ConcurrencyConflict
from syncops.store.queries import RecordDetail


class EditScreen(ConsoleScreen):
    AUTO_FOCUS = "#editor"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+s", "check", "Check + diff", priority=True),
        Binding("ctrl+r", "reload", "Reload", priority=True),
        Binding("escape", "cancel", "Cancel", priority=True),
    ]
    MUTATING = frozenset({"check"})
    HELP = ("Edit the canonical payload as JSON. ctrl+s validates it against the model (problems are shown "
            "under the editor) and shows the diff; type a reason and press enter to save. The record is then "
            "retried with the new payload, and the old one is kept as a version. esc with unsaved changes asks "
            "before discarding them.")

    def __init__(self, detail: RecordDetail, *, text: str | None = None) -> None:
        super().__init__()
        self.detail = detail
        self.version = detail.record.version
        self.base = detail.payload
        self.initial_text = text if text is not None else pretty(detail.payload)
        self.pending: dict[str, Any] | None = None  # validated payload awaiting a reason

    def write_tenants(self) -> list[str]:
        return [self.record.tenant]

    @property
    def record(self) -> Any:
        return self.detail.record

    def compose(self) -> ComposeResult:
        yield self.header()
        title = Static(self._title_text(), id="edit-title", markup=False)
        yield title
        editor = TextArea(self.initial_text, id="editor", soft_wrap=False, tab_behavior="indent",
                          show_line_numbers=True)
        yield editor
        yield Static("ctrl+s: validate and show the diff   esc: cancel", id="edit-status")
        with Vertical(id="review", classes="hidden"):
            yield VerticalScroll(Static("", id="diff"), id="diff-scroll")
            yield Input(placeholder="reason for this edit (required; enter saves)", id="edit-reason")
        yield Footer()

    def _title_text(self) -> str:
        r = self.record
        prod = "PRODUCTION  " if self.app.backend.is_production(r.tenant) else ""
        return f"{prod}edit #{r.id} {r.tenant}/{r.flow} {r.entity} {r.entity_key}  (version {self.version}, {r.state})"

    def on_mount(self) -> None:
        r = self.record
        self.set_class(self.app.backend.is_production(r.tenant), "production")
        self.query_one("#editor", TextArea).focus()
        if PII_FIELDS.get(r.entity):
            # The editor shows the real payload; seeing customer data is audited like a reveal.
            self.app.background(self, lambda: self.app.backend.reveal(r.id, "opened the payload editor"),
                                group="reveal")
        if self.initial_text != pretty(self.base):
            self.action_check()

    # --- validation and review ------------------------------------------------------------------

    def _status(self, message: str, *, error: bool = False) -> None:
        v = self.app.palette
        status = self.query_one("#edit-status", Static)
        status.update(Text(message, style=f"bold {v.get('error', '')}" if error else ""))
        status.set_class(error, "error")

    def action_check(self) -> None:
        if not self.writable():
            return
        text = self.query_one("#editor", TextArea).text
        try:
            parse_payload(text)  # the CLI's strict reader: deep nesting or huge numbers are a message
        except JsonInputError as exc:
            editor = self.query_one("#editor", TextArea)
            if exc.line is not None:
                editor.move_cursor((exc.line - 1, max(0, exc.column - 1)))
            self._status(str(exc), error=True)
            self._hide_review()
            return
        try:
            payload, _key = self.app.backend.validate(self.record.entity, text)
        except Exception as exc:  # ActionError naming each field path and problem
            self._status(str(exc), error=True)
            self._hide_review()
            return
        if payload == self.base:
            self._status("no change from the stored payload; nothing to save")
            self._hide_review()
            return
        self.pending = payload
        diff = self.app.backend.diff(self.base, payload)
        self.query_one("#diff", Static).update(syntax(diff, "diff", ansi=self.app.current_theme.ansi,
                               background=self.app.theme_variables.get("background")))
        self.query_one("#review").remove_class("hidden")
        self._status("valid. Review the diff, type a reason and press enter to save (the record is retried)")
        self.query_one("#edit-reason", Input).focus()

    def _hide_review(self) -> None:
        self.pending = None
        self.query_one("#review").add_class("hidden")

    def on_text_area_changed(self, _event: TextArea.Changed) -> None:
        if self.pending is not None:
            self._hide_review()
            self._status("changed: ctrl+s to validate again")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        reason = event.value.strip()
        if not reason:
            self._status("an edit needs a reason (it is kept with the payload version)", error=True)
            return
        if self.pending is None or not self.writable():
            return
        payload, rid, version = self.pending, self.record.id, self.version
        self.app.background(self, lambda: self.app.backend.edit(rid, payload, version=version, reason=reason),
                            self._saved, group="save", failed=self._save_failed)

    def _saved(self, row: Any) -> None:
        self.app.notify(f"record #{row.id}: payload rev {row.payload_rev} saved; {row.state}, will be retried")
        self.dismiss(True)

    def _save_failed(self, exc: BaseException) -> None:
        if isinstance(exc, ConcurrencyConflict):
            self._status(f"CONFLICT: {exc}. Your text is kept: ctrl+r reloads the record under it.", error=True)
        else:
            self._status(str(exc), error=True)
        self.app.report_error(exc)

    # --- reload and cancel ---------------------------------------------------------------------

    def action_reload(self) -> None:
        rid = self.record.id
        self.app.background(self, lambda: self.app.backend.detail(rid), self._reloaded, group="detail")

    def _reloaded(self, d: RecordDetail) -> None:
        editor = self.query_one("#editor", TextArea)
        edited = editor.text != pretty(self.base)
        self.detail, self.version, self.base = d, d.record.version, d.payload
        self.query_one("#edit-title", Static).update(self._title_text())
        self._hide_review()
        if edited:
            self._status(f"reloaded version {self.version} ({d.record.state}); your edits are kept: "
                         f"ctrl+s shows the diff against the stored payload")
        else:
            editor.load_text(pretty(d.payload))
            self._status(f"reloaded version {self.version} ({d.record.state})")

    def action_cancel(self) -> None:
        if self.pending is not None:
            self._hide_review()
            self._status("review closed; ctrl+s to validate again")
            self.query_one("#editor", TextArea).focus()
            return
        if self.query_one("#editor", TextArea).text == self.initial_text:
            self.dismiss(False)
            return
        from syncops.console.widgets.modals import ConfirmModal

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(False)
            else:
                self.query_one("#editor", TextArea).focus()

        self.app.push_screen(ConfirmModal("discard changes?", "You changed the payload and did not save it. "
                                          "Discard your changes?"), answered)


def run_external_editor(app: App, text: str) -> str | None:
    """Edit `text` in $VISUAL / $EDITOR with the console suspended; None if that is not possible."""
    from textual.app import SuspendNotSupported

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    fd, name = tempfile.mkstemp(prefix="syncops-edit-", suffix=".json")
    path = Path(name)
    try:
        os.fchmod(fd, 0o600)  # the payload may hold customer data
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            with app.suspend():
                rc = subprocess.call([*shlex.split(editor), str(path)])
        except SuspendNotSupported:
            app.notify("this terminal cannot hand over to an external editor; use e (in-app editor)",
                       severity="warning")
            return None
        if rc != 0:
            app.notify(f"{editor} exited with {rc}; nothing was changed", severity="warning")
            return None
        # Bytes, not text: invalid UTF-8 from the editor becomes a message in the editor screen
        # (the strict JSON reader points at the byte), never a crash of the console.
        from syncops.models.json_input import decode

        return decode(path.read_bytes())
    except OSError as exc:
        app.notify(f"external editor failed: {exc}", severity="error")
        return None
    finally:
        path.unlink(missing_ok=True)
