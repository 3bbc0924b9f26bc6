"""Canary retry, live: the few retried first, their outcome as the engine delivers, then a decision.

Opened from the exceptions screen (C): the usual bulk dialog counts and confirms, then the
canaries go (services.canary.start) and this dialog polls their state every second. Enter
releases the rest (refused unless every canary was delivered), s or esc stops; either way
the outcome is one audited operation.
"""

from __future__ import annotations

from typing import Any, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from syncops.console.formatting import clip
from syncops.console.widgets.bulk import BulkDecision, BulkModal
from syncops.services.canary import DEFAULT_SIZE, CanaryRun, CanaryStatus
from syncops.store.filters import RecordFilter

POLL = 1.0  # seconds between status reads while canaries are in the engine's hands


def open_canary(screen: Any, f: RecordFilter, scope: str, *, on_done: Callable[[], None]) -> None:
    """The bulk dialog (count, typed confirmation), then the live canary view."""
    def decided(decision: BulkDecision | None) -> None:
        if decision is not None:
            screen.app.push_screen(CanaryScreen(decision), lambda _r: on_done())

    screen.app.push_screen(BulkModal("retry", f, scope, canary=DEFAULT_SIZE), decided)


class CanaryScreen(ModalScreen[Any]):
    BINDINGS = [Binding("enter", "release", "Release the rest"), Binding("s", "stop", "Stop"),
                Binding("escape", "stop", "Stop", show=False), Binding("ctrl+r", "poll", "Refresh", show=False)]

    def __init__(self, decision: BulkDecision) -> None:
        super().__init__()
        self.decision = decision
        self.run: CanaryRun | None = None
        self.status: CanaryStatus | None = None
        self.finishing = False

    def compose(self) -> ComposeResult:
        box = Vertical(id="dialog")
        box.border_title = "canary retry"
        with box:
            yield Static("retrying the canaries…", id="canary-summary", markup=False)
            table = DataTable(id="canaries", cursor_type="row", show_cursor=False)
            table.can_focus = False  # enter belongs to the dialog (release), not to a row
            yield table
            yield Static("", id="canary-verdict", markup=False)
            yield Static("enter: release the rest (when all delivered)   s/esc: stop", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one("#canaries", DataTable)
        table.styles.height = DEFAULT_SIZE + 1
        table.add_columns("ID", "Key", "State", "Last error")
        d = self.decision
        self.app.background(self, lambda: self.app.backend.canary_start(d.filter, confirmed=d.confirmed,
                                                                         size=d.canary, reason=d.reason),
                            self._started, group="action", failed=self._start_failed)

    def _start_failed(self, exc: BaseException) -> None:
        self.app.report_error(exc)
        self.dismiss(None)

    def _started(self, run: CanaryRun) -> None:
        self.run = run
        self.query_one("#canary-summary", Static).update(
            f"retried {len(run.canary_ids)} canaries of {run.total:,} ({run.filter.describe()}); "
            f"the other {run.rest:,} wait for your decision")
        if self.app.refresh_interval:  # tests run without the live refresh and poll with ctrl+r
            self.set_interval(POLL, self.action_poll)
        self.action_poll()

    def action_poll(self) -> None:
        if self.run is None or self.finishing:
            return
        run = self.run
        self.app.background(self, lambda: self.app.backend.canary_status(run), self._show, group="canary-poll")

    def _show(self, st: CanaryStatus) -> None:
        self.status = st
        table = self.query_one("#canaries", DataTable)
        table.clear()
        for r in st.records:
            table.add_row(str(r.id), clip(r.entity_key, 18), r.state, clip(r.error_message or "", 40))
        verdict = self.query_one("#canary-verdict", Static)
        if st.all_delivered:
            verdict.update(f"{st.line()}\nall canaries delivered: enter releases the other {self.run.rest:,}")
        elif st.failed:
            verdict.update(f"{st.line()}\na canary failed again: the fix did not hold; s stops "
                           f"(the other {self.run.rest:,} stay as they are)")
        else:
            verdict.update(f"{st.line()}\nwaiting for the engine to deliver them…")

    def action_release(self) -> None:
        st = self.status
        if self.run is None or st is None or self.finishing:
            return
        if not st.all_delivered:
            self.app.notify(f"not releasing: {st.line()}", severity="warning")
            return
        self._finish(release=True)

    def action_stop(self) -> None:
        if self.run is None:  # still starting: nothing was retried yet that could be stopped
            return
        if not self.finishing:
            self._finish(release=False)

    def _finish(self, *, release: bool) -> None:
        self.finishing = True
        run = self.run
        self.app.background(self, lambda: self.app.backend.canary_finish(run, release=release), self._finished,
                            group="action", failed=self._finish_failed)

    def _finish_failed(self, exc: BaseException) -> None:
        self.finishing = False
        self.app.report_error(exc)

    def _finished(self, out: Any) -> None:
        if out.outcome == "released":
            self.app.notify(f"canary retry: {len(self.run.canary_ids)} delivered; {out.released:,} more retried")
        else:
            self.app.notify(f"canary retry stopped ({out.status.line()}); the other {self.run.rest:,} were not "
                            "retried", severity="warning")
        self.dismiss(out)
