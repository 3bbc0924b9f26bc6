"""Record detail: payloads, mappings, attempts, versions, audit; and the actions on one record.

Every action carries the version the technician is looking at, so it fails with a clear
conflict (and changes nothing) if the engine or a colleague changed the record meanwhile.
Customer data is masked until revealed with `v`; the reveal is audited.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from syncops.console.formatting import ago, clip
from syncops.console.pii import mask_canonical, mask_source
from syncops.console.screens.base import ConsoleScreen
from syncops.console.widgets.json_view import pretty, syntax
from syncops.models.pii import mask_diff
from syncops.console.widgets.modals import ConfirmModal, ReasonModal
from syncops.models import PII_FIELDS
from syncops.store.queries import RecordDetail

TABS = ["payload", "source", "mappings", "attempts", "versions", "audit"]


class RecordScreen(ConsoleScreen):
    AUTO_FOCUS = "Tabs"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("r", "retry", "Retry"),
        Binding("e", "edit", "Edit"),
        Binding("E", "edit_external", "$EDITOR", show=False),
        Binding("q", "quarantine", "Quarantine"),
        Binding("u", "release", "Release"),
        Binding("x", "resolve", "Resolve"),
        Binding("m", "add_mapping", "Map value", show=False),
        Binding("v", "reveal", "Reveal PII", show=False),
        Binding("t", "timeline", "Timeline", show=False),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", show=False, key_display="["),
        Binding("right_square_bracket", "tab(1)", "Next tab", show=False, key_display="]"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]
    MUTATING = frozenset({"retry", "edit", "edit_external", "quarantine", "release", "resolve", "add_mapping"})
    HELP = ("Actions use the version shown: if the engine or someone else changed the record since, "
            "nothing is changed and you are told to reload (ctrl+r). Customer data stays masked until "
            "v reveals it; every reveal is recorded in the audit log (also on a read-only console, where "
            "reveal is allowed because it changes nothing). [ and ] switch tabs. t opens the timeline of the record's "
            "SKU (at every location) or order.")

    def __init__(self, record_id: int) -> None:
        super().__init__()
        self.record_id = record_id
        self.detail: RecordDetail | None = None
        self.revealed = False
        self.mapped_to: str | None = None  # the blocking value has a mapping now (added since it failed)

    def write_tenants(self) -> list[str]:
        return [self.record.tenant] if self.record is not None else []

    @property
    def record(self) -> Any | None:
        return self.detail.record if self.detail else None

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static(f"record #{self.record_id}: loading…", id="summary")
        with TabbedContent(id="tabs"):
            with TabPane("Payload", id="payload"):
                yield Static("", id="payload-note")
                yield VerticalScroll(Static("", id="payload-body"))
            with TabPane("Source", id="source"):
                yield VerticalScroll(Static("", id="source-body"))
            with TabPane("Mappings", id="mappings"):
                yield VerticalScroll(Static("", id="mappings-body"))
            with TabPane("Attempts", id="attempts"):  # the label gets the count once loaded
                yield DataTable(id="attempts-table", cursor_type="row")
            with TabPane("Versions", id="versions"):
                yield VerticalScroll(Static("", id="versions-body"))
            with TabPane("Audit", id="audit"):
                yield DataTable(id="audit-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        attempts = self.query_one("#attempts-table", DataTable)
        for label in ("When", "Outcome", "HTTP", "ms", "Category", "Message / response"):
            attempts.add_column(label)
        audit = self.query_one("#audit-table", DataTable)
        for label in ("When", "Who", "Via", "Action", "Reason"):
            audit.add_column(label)
        self.reload()

    def store_changed(self) -> None:
        if self.record is not None:
            self.query_one("#summary", Static).border_subtitle = "store changed: ctrl+r reloads"

    # --- loading ----------------------------------------------------------------------------------

    def reload(self) -> None:
        rid = self.record_id
        backend = self.app.backend

        def load() -> tuple[RecordDetail, str | None]:
            d = backend.detail(rid)
            r = d.record
            mapped = backend.mapped_target(r.tenant, r.error_map, r.error_value or "") if r.error_map else None
            return d, mapped

        self.app.background(self, load, self._loaded, group="detail")

    def _loaded(self, loaded: tuple[RecordDetail, str | None]) -> None:
        self.mapped_to = loaded[1]
        self._show(loaded[0])

    def _show(self, d: RecordDetail) -> None:
        self.detail = d
        r = d.record
        app = self.app
        production = app.backend.is_production(r.tenant)
        self.set_class(production, "production")
        v = app.palette
        summary = self.query_one("#summary", Static)
        text = Text()
        text.append(f"#{r.id}  ", style="bold")
        text.append(f"{r.tenant}", style=f"bold {v.get('status-production', '')}" if production else "bold")
        text.append(f" / {r.flow}   {r.entity} ")
        text.append(r.entity_key, style="bold")
        text.append("\n")
        text.append(r.state, style=f"bold {app.status_colour(r.state)}")
        now = app.clock()
        # One count of attempts: the ones listed in the Attempts tab. The record's own counter
        # restarts after an edit or a manual retry; say so when the two differ.
        tries = len(d.attempts)
        since = f" ({r.attempts} since the last retry/edit)" if r.attempts != tries else ""
        text.append(f"  v{r.version}  {tries} attempt{'s' if tries != 1 else ''}{since}  rev {r.payload_rev}  "
                    f"-> {r.target}  created {ago(r.created_at, now)} ago")
        if r.error_category or r.error_message:
            text.append("\n")
            text.append(f"[{r.error_category or '?'}] ", style=f"bold {v.get('error', '')}")
            text.append(clip(r.error_message, 300))
            if r.error_map and self.mapped_to is not None:
                text.append(f"  (mapped now: {r.error_value} -> {self.mapped_to}; r retries it)",
                            style=f"bold {v.get('success', '')}")
            elif r.error_map:
                text.append("  (m: add the mapping)", style="dim")
        if r.state == "delivered" and d.attempts:
            # What the target holds: the last delivery's note names the document, its id and state.
            last = d.attempts[-1]
            held = last.error_message or (f"ref {r.target_ref}" if r.target_ref else "")
            if held:
                text.append(f"\nat {r.target}: {clip(held, 200)}")
        if r.resolution:
            text.append(f"\nresolution: {r.resolution}")
        summary.update(text)
        summary.border_title = "PRODUCTION " + r.tenant if production else f"record #{r.id}"
        summary.border_subtitle = ""
        self._render_bodies()

    def _render_bodies(self) -> None:
        d = self.detail
        if d is None:
            return
        r = d.record
        has_pii = bool(PII_FIELDS.get(r.entity)) or d.source_payload is not None
        note = self.query_one("#payload-note", Static)
        note.update("customer data revealed (audited): v masks it again" if self.revealed else
                    "customer data masked: v reveals it (audited)" if has_pii else "")
        note.set_class(not has_pii, "hidden")
        payload = d.payload if self.revealed else mask_canonical(r.entity, d.payload)
        self.query_one("#payload-body", Static).update(self._syntax(pretty(payload), "json"))
        src = self.query_one("#source-body", Static)
        if d.source_payload is None:
            src.update("(no source payload stored for this record)")
        else:
            shown = d.source_payload if self.revealed else mask_source(d.source_payload)
            src.update(self._syntax(pretty(shown), "json"))
        self.query_one("#mappings-body", Static).update(self._mappings_text(d))
        self._render_attempts(d)
        self._render_versions(d)
        self._render_audit(d)

    def _syntax(self, text: str, lexer: str) -> Any:
        app = self.app
        return syntax(text, lexer, ansi=app.current_theme.ansi, background=app.theme_variables.get("background"))

    def _mappings_text(self, d: RecordDetail) -> Text:
        r = d.record
        out = Text()
        flow = self.app.backend.flow_config(r.tenant, r.flow)
        roles = getattr(flow, "mappings", {}) or {}
        out.append("configured maps: ", style="bold")
        out.append(", ".join(f"{role} -> {name}" for role, name in roles.items()) or "none")
        out.append("\n")
        if r.error_map:
            out.append("\nblocked: ", style=f"bold {self.app.palette.get('error', '')}")
            out.append(f"{r.error_value!r} is not in map {r.error_map} (m adds it, prefilled)\n")
        applied = self._applied_from_attempts(d)
        out.append("\napplied on the last attempt:\n", style="bold")
        if not applied:
            out.append("  (no attempt recorded which mappings it applied)\n", style="dim")
        for line in applied:
            out.append(f"  {line}\n")
        return out

    @staticmethod
    def _applied_from_attempts(d: RecordDetail) -> list[str]:
        for a in d.attempts:  # newest first
            if not a.request_summary:
                continue
            try:
                data = json.loads(a.request_summary)
            except ValueError:
                return [a.request_summary]
            items = data.get("mappings") or data.get("applied") if isinstance(data, dict) else None
            if isinstance(items, list):
                return [f"{m.get('map')}: {m.get('field')} {m.get('source')!r} -> {m.get('target')!r}"
                        if isinstance(m, dict) else str(m) for m in items]
            return [clip(a.request_summary, 200)]
        return []

    def _render_attempts(self, d: RecordDetail) -> None:
        try:
            self.query_one("#tabs", TabbedContent).get_tab("attempts").label = f"Attempts ({len(d.attempts)})"
        except Exception:  # the tab is not there (yet): the count is in the summary as well
            pass
        table = self.query_one("#attempts-table", DataTable)
        table.clear()
        now = self.app.clock()
        for a in d.attempts:
            table.add_row(ago(a.at, now) + " ago", Text(a.outcome, style=self.app.status_colour(a.outcome)),
                          str(a.status or ""), f"{a.duration_ms:.0f}" if a.duration_ms else "",
                          a.error_category or "", clip(a.error_message or a.response_excerpt, 100))

    def _render_versions(self, d: RecordDetail) -> None:
        body = self.query_one("#versions-body", Static)
        if not d.versions:
            body.update("(no edits: the payload is as the source sent it)")
            return
        now = self.app.clock()
        parts = []
        for v in d.versions:
            parts.append(f"rev {v.rev} by {v.author} {ago(v.at, now)} ago: {v.reason or ''}")
            if v.diff:
                parts.append(v.diff if self.revealed else mask_diff(v.diff))
            parts.append("")
        body.update(self._syntax("\n".join(parts), "diff"))

    def _render_audit(self, d: RecordDetail) -> None:
        table = self.query_one("#audit-table", DataTable)
        table.clear()
        now = self.app.clock()
        for e in d.audit:
            table.add_row(ago(e.at, now) + " ago", e.actor + (f"@{e.client}" if e.client else ""), e.via, e.action,
                          clip(e.reason, 60))

    # --- actions ----------------------------------------------------------------------------------

    def _production(self) -> str | None:
        r = self.record
        return r.tenant if r is not None and self.app.backend.is_production(r.tenant) else None

    def _act(self, action: str, reason: str | None = None) -> None:
        r = self.record
        if r is None:
            return
        version = r.version

        def done(row: Any) -> None:
            self.app.notify(f"record #{row.id}: {action} done, now {row.state}")
            self.reload()

        self.app.background(self, lambda: self.app.backend.act(action, r.id, version=version, reason=reason),
                            done, group="action")

    def _if_unchanged(self, action: str, then: Any) -> None:
        """Read the record again before asking anything: one superseded (or changed) while it was
        open says so first, instead of a reason prompt that ends in a version conflict."""
        r = self.record
        backend = self.app.backend

        def fresh(now: Any) -> None:
            if now.version == r.version:
                then()
                return
            if now.state == "superseded":
                by = f" by #{now.superseded_by}" if getattr(now, "superseded_by", None) else ""
                message = (f"record #{r.id} was superseded{by} while you had it open (a newer change for "
                           f"{r.entity_key} replaced it): nothing to {action}.")
            else:
                message = (f"record #{r.id} changed while you had it open (was {r.state}, now {now.state}): "
                           f"look again before you {action} it.")
            self.app.notify(message, title="not done", severity="warning", timeout=10)
            self.query_one("#summary", Static).border_subtitle = message[:70]
            self.reload()

        self.app.background(self, lambda: backend.current_record(r.id), fresh, group="action")

    def _confirm_then(self, action: str) -> None:
        if not self.writable() or self.record is None:
            return
        r = self.record

        def answered(yes: bool | None) -> None:
            if yes:
                self._act(action)

        self._if_unchanged(action, lambda: self.app.push_screen(ConfirmModal(
            f"{action} record #{r.id}", f"{action} {r.tenant}/{r.flow} {r.entity_key} (now {r.state})?",
            production=self._production()), answered))

    def _reason_then(self, action: str) -> None:
        if not self.writable() or self.record is None:
            return
        r = self.record

        def answered(reason: str | None) -> None:
            if reason:
                self._act(action, reason)

        self._if_unchanged(action, lambda: self.app.push_screen(ReasonModal(
            f"{action} record #{r.id}", f"why {action} {r.tenant}/{r.flow} {r.entity_key}?",
            production=self._production()), answered))

    def action_retry(self) -> None:
        self._confirm_then("retry")

    def action_release(self) -> None:
        self._confirm_then("release")

    def action_quarantine(self) -> None:
        self._reason_then("quarantine")

    def action_resolve(self) -> None:
        self._reason_then("resolve")

    def action_edit(self, text: str | None = None) -> None:
        if not self.writable() or self.detail is None:
            return
        from syncops.console.screens.editor import EditScreen

        def closed(saved: bool | None) -> None:
            self.reload()

        self.app.push_screen(EditScreen(self.detail, text=text), closed)

    def action_edit_external(self) -> None:
        if not self.writable() or self.detail is None:
            return
        from syncops.console.screens.editor import run_external_editor

        text = run_external_editor(self.app, pretty(self.detail.payload))
        if text is not None:
            self.action_edit(text)

    def action_add_mapping(self) -> None:
        r = self.record
        if not self.writable() or r is None:
            return
        if not r.error_map:
            self.app.notify("this record did not fail on a value map", severity="warning")
            return
        from syncops.console.widgets.mapping_form import open_mapping_form

        open_mapping_form(self, r.tenant, r.error_map, r.error_value or "", on_saved=lambda _n: self.reload())

    def action_reveal(self) -> None:
        r = self.record
        if r is None:
            return
        if self.revealed:
            self.revealed = False
            self._render_bodies()
            return

        def answered(reason: str | None) -> None:
            if reason is None:
                return

            def shown(_none: Any) -> None:
                self.revealed = True
                self._render_bodies()
                self.reload()  # the audit tab shows the reveal

            self.app.background(self, lambda: self.app.backend.reveal(r.id, reason or "console reveal"), shown,
                                group="action")

        self.app.push_screen(ReasonModal(f"reveal customer data of #{r.id}", "why do you need to see it? "
                                         "(recorded in the audit log)", required=False,
                                         production=self._production()), answered)

    def action_tab(self, step: int) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        i = TABS.index(tabs.active) if tabs.active in TABS else 0
        tabs.active = TABS[(i + step) % len(TABS)]

    def action_timeline(self) -> None:
        from syncops.console.screens.timeline import open_timeline, timeline_key

        if self.record is not None:
            open_timeline(self.app, timeline_key(self.record.entity, self.record.entity_key))

    def action_reload(self) -> None:
        self.reload()
