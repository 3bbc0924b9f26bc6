"""Exceptions: failed, retry-wait and quarantined records, keyset-paged, filtered, marked, acted on.

Only a window of a few hundred rows is ever held (console.window.RecordWindow); the next
page is fetched as the cursor nears the end. Sorting by age is sorting by id: records get
their id and created_at in the same insert, so the two orders agree and the id order is
the one the store pages cheaply.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Label, Static

from syncops.console import query_language as ql
from syncops.console.columns import Col, fit, lay_out
from syncops.console.formatting import ago, clip
from syncops.console.live_table import anchor, restore, same_rows, tick_ages
from syncops.console.screens.base import ConsoleScreen
from syncops.console.widgets.bulk import BulkDecision, BulkModal
from syncops.console.window import RecordWindow
from syncops.store.filters import RecordFilter
from syncops.store.queries import SORTS

SORT_ORDER = ["age", "tenant", "flow", "key", "category", "attempts", "updated"]
COLUMN_SORT = {"age": "age", "tenant": "tenant", "flow": "flow", "key": "key", "category": "category",
               "attempts": "attempts"}
STATE_LABEL = {"failed": "fail", "retry_wait": "wait", "quarantined": "quar", "pending": "pend",
               "in_flight": "fly", "delivered": "done", "resolved": "rslv", "superseded": "supd"}
# Short category labels: at 80 columns the category must still be readable.
CATEGORY_LABEL = {"validation": "invalid", "mapping": "mapping", "auth": "auth", "rate_limit": "ratelim",
                  "unavailable": "unavail", "conflict": "conflict", "duplicate": "dup", "unknown": "unknown"}
COLUMNS = [Col("mark", "✓", 1), Col("state", "St", 4), Col("age", "Age", 6), Col("tenant", "Tenant", 14),
           Col("flow", "Flow", 20, priority=2), Col("key", "Entity key", 15), Col("category", "Category", 8),
           Col("attempts", "Try", 3, priority=3), Col("error", "Last error", 70, flex=True, min_width=16)]
NEAR_END = 25  # rows before the end of the window at which the next page is fetched


@dataclass
class ExceptionsPoll:
    page: Any | None  # the rows shown, read again; None: only the clocks moved
    now: float
    gen: int = 0
    merge: bool = False  # True: replace the rows; False: only tell whether they changed
    total: int | None = None


def _fingerprint(r: Any) -> tuple[Any, ...]:
    """What a row shows (ages aside): a re-read with the same fingerprints changed nothing visible."""
    return (r.id, r.state, r.version, r.attempts, r.error_category, r.error_message, r.tenant, r.flow,
            r.entity_key)


class ExceptionsScreen(ConsoleScreen):
    AUTO_FOCUS = "#records"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("enter", "open", "Open", show=False),
        Binding("space", "mark", "Mark"),
        Binding("g", "group", "Group"),
        Binding("s", "sort", "Sort"),
        Binding("o", "reverse", "Order", show=False),
        Binding("r", "bulk('retry')", "Retry"),
        Binding("q", "bulk('quarantine')", "Quarantine", show=False),
        Binding("u", "bulk('release')", "Release", show=False),
        Binding("x", "bulk('resolve')", "Resolve", show=False),
        Binding("R", "bulk_all('retry')", "Retry all N", show=False),
        Binding("C", "canary_all", "Canary retry all N", show=False),
        Binding("Q", "bulk_all('quarantine')", "Quarantine all N", show=False),
        Binding("U", "bulk_all('release')", "Release all N", show=False),
        Binding("X", "bulk_all('resolve')", "Resolve all N", show=False),
        Binding("m", "add_mapping", "Map value", show=False),
        Binding("c", "clear_marks", "Clear marks", show=False),
        Binding("ctrl+r", "reload", "Reload", show=False),
        Binding("escape", "escape", "Back", show=False),
    ]
    MUTATING = frozenset({"bulk", "bulk_all", "canary_all", "add_mapping"})
    HELP = ("r q u x act on the marked rows (space marks), or on the row under the cursor when nothing is "
            "marked; R Q U X act on all records matching the filter; C retries the 5 oldest of them first "
            "(a canary), shows their outcome live, then releases the rest or stops. The count is always shown first, and "
            "larger actions and every action on a production tenant need the count or tenant name typed.\n"
            "Category labels are short at 80 columns (invalid = validation, unavail = unavailable, ratelim = "
            "rate limit); the line under the table shows the record's flow, category and last error in full.\n"
            "R Q U X act on the records counted; any that arrive meanwhile are reported, not touched. "
            "The list is live: rows update in place, your cursor and marks stay put; scrolled deep, "
            "'store changed: ctrl+r' appears only when a row you can see changed.\n"
            "Filter (/): " + ql.HELP)

    def __init__(self) -> None:
        super().__init__()
        self.query_text = ""
        self.filter: RecordFilter = ql.parse("").filter
        self.sort = "age"
        self.descending = True
        self.window = RecordWindow()
        self.marked: dict[int, str] = {}  # id -> tenant
        self.total: int | None = None
        self.grouped = False
        self.groups: list[Any] = []
        self.busy = False
        self.stale = False
        self.render_count = 0  # bumped after each table render (the benchmark waits on it)
        self.last_render_at = 0.0  # perf_counter() of that render
        self.columns: list[tuple[Col, int]] = []
        self._ages: dict[str, str] = {}  # row key -> age text shown (the tick redraws only changes)
        self._gen = 0  # bumped by each reload: a live re-read for an older filter or sort is dropped
        self._missed = False  # a store change the tick could not look at yet

    def compose(self) -> ComposeResult:
        yield self.header()
        yield Static("", id="filterbar")
        yield Input(placeholder="filter: " + ql.HELP, id="filter", classes="hidden")
        yield Label("", id="filter-error", classes="hidden", markup=False)
        yield DataTable(id="records", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="groups", cursor_type="row", zebra_stripes=True, classes="hidden")
        yield Static("", id="preview")
        yield Footer()

    def on_mount(self) -> None:
        self.window = RecordWindow(page_size=self.app.page_size, max_rows=self.app.page_size * 4)
        self._set_columns(self.app.size.width)
        groups = self.query_one("#groups", DataTable)
        for key, label in (("count", "Count"), ("category", "Category"), ("signature", "Error signature"),
                           ("first", "First"), ("last", "Last")):
            groups.add_column(label, key=key)
        self.reload()

    def _set_columns(self, width: int) -> None:
        self.columns = lay_out(self.query_one("#records", DataTable), COLUMNS, width)

    def on_resize(self, event: events.Resize) -> None:
        if fit(COLUMNS, event.size.width) != self.columns:
            self._set_columns(event.size.width)
            self._render_rows(keep_cursor=True)

    def store_changed(self) -> None:
        # Only when the tick could not look (a load was running): look again at the next one.
        self._missed = True

    # --- live: update in place, keep the technician's place (see syncops.console.live_table) -----

    def poll(self, changed: bool) -> ExceptionsPoll:
        """From the app's tick (a worker thread): the rows shown, read again, when the store changed.

        A window still holding the top of the list is merged (the same first rows, read again);
        one scrolled deep (pages dropped above) is only checked, by id: it cannot be re-read
        without moving the technician, so it says "store changed" when what it shows did.
        """
        now = self.app.clock()
        changed = changed or self._missed
        if not changed or self.busy or self.grouped or not self.is_mounted:
            self._missed = changed and (self.busy or self.grouped)
            return ExceptionsPoll(None, now)
        self._missed = False
        gen, backend, rows = self._gen, self.app.backend, list(self.window.rows)
        if not self.window.dropped_before:
            limit = max(self.window.page_size, len(rows))
            page = self._fetcher(limit)(None, True)
            return ExceptionsPoll(page, now, gen=gen, merge=True, total=backend.count(self.filter))
        ids = [r.id for r in rows]
        if self.filter.ids:
            ids = [i for i in ids if i in set(self.filter.ids)]
        f = dataclasses.replace(self.filter, ids=tuple(ids))
        page = backend.exceptions_page(f, sort=self.store_sort, descending=self.descending, after=None,
                                       limit=max(1, len(ids)))
        return ExceptionsPoll(page, now, gen=gen, merge=False)

    def show_poll(self, data: ExceptionsPoll) -> None:
        if data.page is not None and data.gen == self._gen and not self.busy:
            if not same_rows(self.window.rows, list(data.page.rows), _fingerprint):
                if data.merge:
                    self.window.rows = list(data.page.rows)
                    self.window.next_after = data.page.next_after
                    self._render_rows(keep_cursor=True)
                else:
                    self.stale = True
            if data.total is not None and data.total != self.total:
                self.total = data.total
            self._show_bar()
        self._tick_ages(data.now)

    def _tick_ages(self, now: float) -> None:
        width = dict((c.key, w) for c, w in self.columns).get("age")
        if width:
            tick_ages(self.query_one("#records", DataTable), "age", width,
                      ((str(r.id), r.created_at) for r in self.window.rows), now, self._ages)

    def configure(self, **kwargs: Any) -> None:
        f = RecordFilter(states=self.filter.states or ql.parse("").filter.states)
        parts = []
        for key in ("tenant", "flow"):
            if kwargs.get(key):
                parts.append(f"{key}:{kwargs[key]}")
        if kwargs.get("query") is not None:
            parts.append(kwargs["query"])
        self.apply_query(" ".join(parts) if parts else ql.unparse(f))

    # --- loading --------------------------------------------------------------------------------

    @property
    def store_sort(self) -> str:
        return "id" if self.sort == "age" else self.sort

    def key_of(self, row: Any) -> tuple[Any, int]:
        sort = self.store_sort
        return (row.id, row.id) if sort == "id" else (getattr(row, SORTS[sort].key), row.id)

    def _fetcher(self, limit: int | None = None) -> Any:
        backend, f, sort, desc = self.app.backend, self.filter, self.store_sort, self.descending
        size = limit or self.app.page_size

        def fetch(after: Any, forward: bool) -> Any:
            return backend.exceptions_page(f, sort=sort, descending=desc if forward else not desc, after=after,
                                           limit=size)
        return fetch

    def reload(self) -> None:
        self.busy = True
        self._gen += 1
        self.stale = False
        self.total = None
        fetch = self._fetcher()
        window = RecordWindow(page_size=self.window.page_size, max_rows=self.window.max_rows)

        def load() -> RecordWindow:
            window.load_first(fetch)
            return window

        self.app.background(self, load, self._loaded, group="page", failed=self._load_failed)
        if self.grouped:
            self._load_groups()
        self._show_bar()

    def _load_failed(self, exc: BaseException) -> None:
        self.busy = False
        self.app.report_error(exc)
        self._show_bar()

    def _loaded(self, window: RecordWindow) -> None:
        self.window = window
        self.busy = False
        self._render_rows(keep_cursor=False)
        f = self.filter
        self.app.background(self, lambda: self.app.backend.count(f), self._counted, group="count")

    def _counted(self, n: int) -> None:
        self.total = n
        self._show_bar()

    def _load_more(self) -> None:
        if self.busy or not self.window.has_more:
            return
        self.busy = True
        fetch, window = self._fetcher(), self.window

        def more() -> RecordWindow:
            window.load_next(fetch)
            return window

        self.app.background(self, more, self._more_loaded, group="page", failed=self._load_failed)

    def _load_previous(self) -> None:
        if self.busy or not self.window.dropped_before:
            return
        self.busy = True
        fetch, window = self._fetcher(), self.window

        def previous() -> RecordWindow:
            window.load_previous(fetch, self.key_of)
            return window

        self.app.background(self, previous, self._more_loaded, group="page", failed=self._load_failed)

    def _more_loaded(self, window: RecordWindow) -> None:
        self.window = window
        self.busy = False
        self._render_rows(keep_cursor=True)

    def _load_groups(self) -> None:
        f = self.filter
        self.app.background(self, lambda: self.app.backend.groups(f), self._groups_loaded, group="groups")

    def _groups_loaded(self, groups: list[Any]) -> None:
        self.groups = groups
        table = self.query_one("#groups", DataTable)
        now = self.app.clock()
        table.clear()
        for i, g in enumerate(groups):
            table.add_row(Text(f"{g.count:,}", justify="right"), g.category or "-", clip(g.signature, 90),
                          ago(g.first_seen, now), ago(g.last_seen, now), key=str(i))
        self.render_count += 1

    # --- rendering ------------------------------------------------------------------------------

    def _cells(self, r: Any, now: float) -> list[Any]:
        app = self.app
        widths = {c.key: w for c, w in self.columns}
        tenant = Text(clip(r.tenant, widths.get("tenant", 16)))
        if app.backend.is_production(r.tenant):
            tenant = Text("◆" + clip(r.tenant, widths.get("tenant", 16) - 1),
                          style=f"bold {app.palette.get('status-production', '')}")
        mark = Text("●", style=f"bold {app.palette.get('accent', '')}") if r.id in self.marked else ""
        values = {"mark": mark, "state": Text(STATE_LABEL.get(r.state, r.state), style=app.status_colour(r.state)),
                  "age": ago(r.created_at, now), "tenant": tenant, "flow": r.flow, "key": r.entity_key,
                  "category": CATEGORY_LABEL.get(r.error_category or "", r.error_category or "-"),
                  "attempts": Text(str(r.attempts), justify="right"), "error": r.error_message or ""}
        return [v if isinstance(v, Text) else clip(v, w) for (c, w), v in
                ((cw, values[cw[0].key]) for cw in self.columns)]

    def _render_rows(self, *, keep_cursor: bool) -> None:
        table = self.query_one("#records", DataTable)
        key, line = anchor(table) if keep_cursor else (None, 0)
        now = self.app.clock()
        age = next((i for i, (c, _w) in enumerate(self.columns) if c.key == "age"), None)
        with self.app.batch_update():
            table.clear()
            self._ages = {}
            for r in self.window.rows:
                cells = self._cells(r, now)
                table.add_row(*cells, key=str(r.id))
                if age is not None:
                    self._ages[str(r.id)] = cells[age]
            restore(table, key, line)
        self.render_count += 1
        self.last_render_at = time.perf_counter()
        self._show_bar()
        self._show_preview()

    def _show_bar(self) -> None:
        """Facts first (count, marks, staleness), the filter text last: a long filter is clipped, never the count."""
        v = self.app.palette
        facts = Text()
        if self.busy and not self.window.rows:
            facts.append("loading…", style="dim")
        else:
            facts.append("counting…" if self.total is None else f"{self.total:,} matching",
                         style="dim" if self.total is None else "bold")
        if self.marked:
            facts.append(f" │ {len(self.marked)} marked", style=f"bold {v.get('accent', '')}")
        if self.grouped:
            facts.append(" │ grouped", style=f"bold {v.get('secondary', '')}")
        if self.stale:
            facts.append(" │ store changed: ctrl+r", style=f"bold {v.get('warning', '')}")
        if self.sort == "age":
            label = "newest first" if self.descending else "oldest first"
        else:
            label = f"{self.sort} {'↓' if self.descending else '↑'}"
        facts.append(f" │ sort {label}", style="dim")
        table = self.query_one("#records", DataTable)
        if table.max_scroll_x > 0:
            facts.append(" │ ◂▸", style="dim")
        width = max(20, (self.query_one("#filterbar", Static).size.width or self.app.size.width) - 2)
        bar = Text(no_wrap=True, overflow="ellipsis")
        bar.append("/ ", style=f"bold {v.get('accent', '')}")
        room = max(8, width - len(facts.plain) - 5)
        bar.append(clip(self.query_text or "(all exceptions)", room), style="bold" if self.query_text else "dim")
        bar.append(" │ ")
        bar.append_text(facts)
        self.query_one("#filterbar", Static).update(bar)

    def write_tenants(self) -> list[str]:
        """Marked rows' tenants, else the cursor row's; plus the filter's tenant (R Q U X act on it)."""
        if self.marked:
            tenants = list(self.marked.values())
        else:
            row = self.current_row() if self.is_mounted else None
            tenants = [row.tenant] if row is not None else []
        return tenants + ([self.filter.tenant] if self.filter.tenant else [])

    def current_row(self) -> Any | None:
        table = self.query_one("#records", DataTable)
        if table.row_count == 0 or not self.window.rows:
            return None
        idx = table.cursor_row
        return self.window.rows[idx] if 0 <= idx < len(self.window.rows) else None

    def _show_preview(self) -> None:
        # The last error in full: at 80 columns the table cannot show it.
        row = self.current_row()
        preview = self.query_one("#preview", Static)
        if row is None or self.grouped:
            preview.update("")
            return
        text = Text()
        text.append(f"#{row.id} ", style="bold")
        text.append(f"{row.flow} ", style="dim")
        text.append(f"[{row.error_category or '-'}] ", style=self.app.status_colour(row.state))
        text.append(clip(row.error_message, 300) or "(no error message)")
        if row.error_map:
            text.append("  m: map this value", style="dim")
        preview.update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "records":
            return
        self._show_preview()
        near = max(1, min(NEAR_END, self.window.page_size // 4))
        # The table's cursor now, not the event's: a re-render passes through row 0 on the way.
        row = event.data_table.cursor_row
        if row >= len(self.window.rows) - near:
            self._load_more()
        elif row < near:
            self._load_previous()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "groups":
            self._drill_into_group(event.cursor_row)
        else:
            self.action_open()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        sort = COLUMN_SORT.get(str(event.column_key.value))
        if sort:
            self.descending = not self.descending if sort == self.sort else True
            self.sort = sort
            self.reload()

    # --- the filter -----------------------------------------------------------------------------

    def apply_query(self, text: str) -> bool:
        try:
            parsed = ql.parse(text)
        except ql.QueryError as exc:
            error = self.query_one("#filter-error", Label)
            error.update(f"filter: {exc}")
            error.remove_class("hidden")
            return False
        self.query_one("#filter-error", Label).add_class("hidden")
        self.query_text = parsed.text
        self.filter = parsed.filter
        self.reload()
        return True

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = self.query_text
        box.remove_class("hidden")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "filter":
            return
        event.stop()
        if self.apply_query(event.value):
            event.input.add_class("hidden")
            self._focus_table()

    def _focus_table(self) -> None:
        self.query_one("#groups" if self.grouped else "#records", DataTable).focus()

    def close_filter(self) -> bool:
        box = self.query_one("#filter", Input)
        if box.has_class("hidden"):
            return False
        box.add_class("hidden")
        self.query_one("#filter-error", Label).add_class("hidden")
        self._focus_table()
        return True

    # --- keys -----------------------------------------------------------------------------------

    def action_escape(self) -> None:
        if not self.close_filter():
            self.app.action_back()

    def action_open(self) -> None:
        row = self.current_row()
        if row is not None:
            self.app.open_record(row.id)

    def action_mark(self) -> None:
        row = self.current_row()
        if row is None:
            return
        if row.id in self.marked:
            del self.marked[row.id]
        else:
            self.marked[row.id] = row.tenant
        table = self.query_one("#records", DataTable)
        table.update_cell(str(row.id), "mark", self._cells(row, self.app.clock())[0])  # mark is column 0
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)
        self._show_bar()

    def action_clear_marks(self) -> None:
        self.marked.clear()
        self._render_rows(keep_cursor=True)

    def action_group(self) -> None:
        self.grouped = not self.grouped
        self.query_one("#groups", DataTable).set_class(not self.grouped, "hidden")
        self.query_one("#records", DataTable).set_class(self.grouped, "hidden")
        if self.grouped:
            self._load_groups()
        self._focus_table()
        self._show_bar()

    def _drill_into_group(self, index: int) -> None:
        if not 0 <= index < len(self.groups):
            return
        g = self.groups[index]
        self.grouped = False
        self.query_one("#groups", DataTable).add_class("hidden")
        self.query_one("#records", DataTable).remove_class("hidden")
        base = ql.parse(self.query_text).filter
        base.signature = g.signature
        base.categories = (g.category,) if g.category else ()
        self.apply_query(ql.unparse(base))
        self._focus_table()

    def action_sort(self) -> None:
        self.sort = SORT_ORDER[(SORT_ORDER.index(self.sort) + 1) % len(SORT_ORDER)]
        self.descending = self.sort in ("age", "attempts", "updated")
        self.reload()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_bulk(self, action: str) -> None:
        if not self.writable():
            return
        if self.marked:
            ids = tuple(sorted(self.marked))
            scope = f"{len(ids)} marked record(s)"
        else:
            row = self.current_row()
            if row is None:
                return
            ids, scope = (row.id,), f"record #{row.id}"
        self._confirm(action, RecordFilter(ids=ids), scope)

    def action_bulk_all(self, action: str) -> None:
        if not self.writable():
            return
        scope = "all matching " + (f"`{self.query_text}`" if self.query_text else "exceptions")
        self._confirm(action, self.filter, scope)

    def action_canary_all(self) -> None:
        if self.writable():
            from syncops.console.screens.canary import open_canary

            open_canary(self, self.filter, "all matching " + (f"`{self.query_text}`" if self.query_text
                                                              else "exceptions"), on_done=self.reload)

    def _confirm(self, action: str, f: RecordFilter, scope: str) -> None:
        def decided(decision: BulkDecision | None) -> None:
            if decision is None:
                return
            self.app.background(
                self, lambda: self.app.backend.bulk_apply(decision.action, decision.filter,
                                                          confirmed=decision.confirmed, reason=decision.reason,
                                                          ids=decision.ids),
                self._bulk_done, group="action")

        self.app.push_screen(BulkModal(action, f, scope), decided)

    def _bulk_done(self, result: Any) -> None:
        extra = []
        if getattr(result, "arrived_later", 0):
            extra.append(f"{result.arrived_later:,} arrived after the count: not touched, look again")
        if getattr(result, "gone", 0):
            extra.append(f"{result.gone:,} changed meanwhile: skipped")
        done = f"{result.action}: {result.touched:,} record(s) done"
        self.app.notify("; ".join([done, *extra]), timeout=8 if extra else self.app.NOTIFICATION_TIMEOUT)
        self.marked.clear()
        self.reload()

    def action_add_mapping(self) -> None:
        if not self.writable():
            return
        row = self.current_row()
        if row is None or not row.error_map:
            self.app.notify("this record did not fail on a value map", severity="warning")
            return
        from syncops.console.widgets.mapping_form import open_mapping_form

        open_mapping_form(self, row.tenant, row.error_map, row.error_value or "", on_saved=lambda _n: self.reload())
