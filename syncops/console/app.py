"""The syncops operations console (Textual).

Screens are modes (dashboard, exceptions, mappings, flows, audit) with record detail and
dialogs pushed on top. All store access goes through `Backend` in thread workers; a
single self-re-arming tick (never overlapping itself) keeps the header and the dashboard
live from the injected clock.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, ClassVar, Iterable, TypeVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, get_current_worker

from syncops.console import themes as theme_files
from syncops.console.backend import EXPECTED_ERRORS, Backend
from syncops.console.commands import ConsoleCommands
from syncops.console.formatting import rich_colour
from syncops.console.screens.audit import AuditScreen
from syncops.console.screens.dashboard import DashboardScreen
from syncops.console.screens.exceptions import ExceptionsScreen
from syncops.console.screens.fleet import FleetScreen
from syncops.console.screens.flows import FlowsScreen
from syncops.console.screens.mappings import MappingsScreen
from syncops.console.screens.reconcile import ReconcileScreen
from syncops.console.widgets.header import HeaderState
from syncops.lifeline import HANGUP, arm_deadline, exit_code_for, stop_signals, tty_gone
from syncops.services.actor import Actor
from syncops.store.db import Store

T = TypeVar("T")
TTY_CHECK_EVERY = 0.5  # seconds; a poll() on stdin, cheap

class SyncopsConsole(App[int]):
    CSS_PATH = "console.tcss"
    TITLE = "syncops"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    MODES: ClassVar[dict[str, Any]] = {"dashboard": DashboardScreen, "exceptions": ExceptionsScreen,
                                       "mappings": MappingsScreen, "flows": FlowsScreen, "audit": AuditScreen,
                                       "fleet": FleetScreen, "reconcile": ReconcileScreen}

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("colon", "command_palette", "Cmds", key_display=":"),
        Binding("escape", "back", "Back", show=False),
        Binding("1", "go('dashboard')", "Dashboard", show=False),
        Binding("2", "go('exceptions')", "Exceptions", show=False),
        Binding("3", "go('mappings')", "Mappings", show=False),
        Binding("4", "go('flows')", "Flows", show=False),
        Binding("5", "go('audit')", "Audit", show=False),
        Binding("6", "go('reconcile')", "Reconciliation", show=False),
        Binding("0,f", "go('fleet')", "Fleet", show=False),
        Binding("i", "about", "About", show=False),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, store: Store, config: Any | None = None, *, clock: Callable[[], float] | None = None,
                 read_only: bool = False, theme: str | None = None, engine: Any | None = None,
                 actor: Actor | None = None, refresh_interval: float | None = 1.0,
                 theme_dirs: Iterable[Any] | None = None, env: dict[str, str] | None = None,
                 page_size: int = 100, watch_tty: bool = True, first_screen: str | None = None) -> None:
        self.backend = Backend(store, config, actor=actor, clock=clock)
        self.clock = self.backend.clock
        self.read_only = read_only
        self.engine = engine
        self.refresh_interval = refresh_interval
        self.page_size = page_size
        self.watch_tty = watch_tty
        # None: the fleet when the store holds more than one tenant (settings in force), else the dashboard.
        self.home_mode = first_screen or ("fleet" if len(self.backend.tenants()) > 1 else "dashboard")
        self.live = True  # False while the technician paused the refresh
        self.elevations: dict[str, Any] = {}  # break-glass elevations in force, read each tick
        self.alerts: tuple[str | None, list[dict[str, Any]]] = (None, [])  # Backend.alerts(), read each tick
        self._engine_failed: str | None = None
        self._marker: Any = None
        self._tick_timer: Any = None
        self._tick_gen = 0
        self._requested_theme = theme
        self._env = dict(os.environ if env is None else env)
        from syncops.themes_path import theme_dirs as default_dirs

        self._theme_load = theme_files.load_themes(list(theme_dirs) if theme_dirs is not None else default_dirs())
        self.theme_specs = dict(self._theme_load.themes)
        if theme_files.DEFAULT_THEME not in self.theme_specs:
            fallback = theme_files.builtin_fallback()
            self.theme_specs[fallback.theme.name] = fallback
        super().__init__()
        self._apply_no_color()
        for spec in self.theme_specs.values():
            self.register_theme(spec.theme)
        self.theme = self._choose_theme()
        self.title = self.branding.product_title

    # --- themes and branding --------------------------------------------------------------

    def _apply_no_color(self) -> None:
        """NO_COLOR means no colour, not no contrast: the terminal's own foreground and background.

        Textual reads NO_COLOR from the process environment and, because its default theme is
        not an ANSI one at that moment, installs a Monochrome filter: every colour becomes a
        grey, and the ANSI "default" colours become black on black. Decide from our own
        environment instead, and strip colours to the terminal defaults (NoColor); state is
        then carried by bold, reverse and underline (console.tcss, `:nocolor`).
        """
        from textual.filter import Monochrome, NoColor

        self.no_color = theme_files.no_color_requested(self._env)
        self._filters = [f for f in self._filters if not isinstance(f, (Monochrome, NoColor))]
        if self.no_color:
            self._filters.append(NoColor())

    def _choose_theme(self) -> str:
        if theme_files.no_color_requested(self._env) and theme_files.NO_COLOR_THEME in self.theme_specs:
            return theme_files.NO_COLOR_THEME
        wanted = self._requested_theme or self._env.get("SYNCOPS_THEME") or theme_files.DEFAULT_THEME
        if wanted.endswith((".yaml", ".yml")) or os.sep in wanted:
            from pathlib import Path

            try:
                spec = theme_files.load_file(Path(wanted).expanduser())
            except theme_files.ThemeFileError as exc:
                self._theme_load.errors.append(f"{wanted}: {exc}")
                return theme_files.DEFAULT_THEME
            self.theme_specs[spec.theme.name] = spec
            self.register_theme(spec.theme)
            return spec.theme.name
        if wanted not in self.theme_specs and wanted not in self.available_themes:
            self._theme_load.errors.append(f"theme {wanted!r} not found; using {theme_files.DEFAULT_THEME}")
            return theme_files.DEFAULT_THEME
        return wanted

    @property
    def branding(self) -> theme_files.Branding:
        spec = self.theme_specs.get(self.theme) or self.theme_specs.get(theme_files.DEFAULT_THEME)
        return spec.branding if spec else theme_files.Branding()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {f"status-{k}": v for k, v in theme_files.STATUS_DEFAULTS.items()}

    @property
    def palette(self) -> dict[str, str]:
        """Theme variables as Rich colours (for Text styles in tables), cached per theme."""
        variables = self.theme_variables
        if getattr(self, "_palette_of", None) is not variables:
            self._palette = {k: rich_colour(v) for k, v in variables.items() if isinstance(v, str)}
            self._palette_of = variables
        return self._palette

    def status_colour(self, state: str) -> str:
        name = {"retry_wait": "retrying", "in_flight": "pending", "resolved": "delivered",
                "superseded": "delivered"}.get(state, state)
        return self.palette.get(f"status-{name}", "")

    def _watch_theme(self, theme_name: str) -> None:
        super()._watch_theme(theme_name)
        if self.is_running:
            # Table cells carry colours baked in from the old theme: draw them again.
            self.title = self.branding.product_title
            self.call_after_refresh(self._redraw_for_theme)

    def _redraw_for_theme(self) -> None:
        self.update_header()
        reload = getattr(self.screen, "reload", None)
        if reload is not None:
            reload()
        self.refresh_now()

    # --- lifecycle ------------------------------------------------------------------------

    async def on_mount(self) -> None:
        # Over SSH every animation is a round of repaints nobody asked for.
        self.animation_level = "none"
        for problem in self._theme_load.errors:
            self.notify(problem, title="theme problem: using a fallback", severity="warning", timeout=10)
        self._install_hangup_handler()
        if self.engine is not None:
            self.run_worker(self._start_engine(), group="engine", exit_on_error=False)
        await self.switch_mode(self.home_mode)
        if self.watch_tty and not self.is_headless:
            self.set_interval(TTY_CHECK_EVERY, self._check_tty, name="tty-watchdog")

    async def _start_engine(self) -> None:
        try:
            await self.engine.start()
        except Exception as exc:  # the console stays useful without an engine
            self._engine_failed = str(exc) or type(exc).__name__
            self.notify(f"the embedded engine did not start: {self._engine_failed}", severity="error", timeout=15)
        self.update_header()

    async def on_unmount(self) -> None:
        if self.engine is not None and self._engine_failed is None:
            try:
                await self.engine.stop()
            except Exception:  # shutting down: nothing useful left to tell anyone
                pass

    def _install_hangup_handler(self) -> None:
        """A dropped SSH session sends SIGHUP, a service manager SIGTERM: leave cleanly
        (engine stopped, store closed), and never linger if the shutdown itself gets stuck."""
        import asyncio

        self._hangup_loop = asyncio.get_running_loop()
        if self.is_headless:
            return
        for signum in stop_signals():
            try:
                self._hangup_loop.add_signal_handler(signum, self.hangup, exit_code_for(signum))
            except (RuntimeError, NotImplementedError, ValueError):
                pass

    def get_driver_class(self) -> Any:
        driver = super().get_driver_class()
        try:
            from textual.drivers.linux_driver import LinuxDriver

            from syncops.console.terminal import GuardedLinuxDriver
        except ImportError:  # Windows
            return driver
        return GuardedLinuxDriver if driver is LinuxDriver else driver

    def hangup(self, code: int = HANGUP) -> None:
        if not self.is_headless:  # a real terminal session: this process ends, stuck or not
            arm_deadline(code)
        self.exit(return_code=code)

    def terminal_lost(self) -> None:
        self.hangup(HANGUP)

    def terminal_lost_threadsafe(self) -> None:
        """From the driver's threads: the tty answered EIO."""
        if not self.is_headless:
            arm_deadline(HANGUP)
        loop = getattr(self, "_hangup_loop", None)
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.terminal_lost)
            except RuntimeError:  # the loop is closing anyway
                pass

    def _check_tty(self) -> None:
        # Some SSH drops close the pty without SIGHUP reaching us (nohup, tmux detach races):
        # stdin then polls as hung up (or stops being a tty).
        try:
            fds = [sys.__stdin__.fileno(), sys.__stderr__.fileno()]
            alive = os.isatty(fds[0]) and not tty_gone(*fds)
        except (OSError, ValueError, AttributeError):
            alive = False
        if not alive:
            self.terminal_lost()

    # --- background work ------------------------------------------------------------------

    def background(self, node: DOMNode, fn: Callable[[], T], done: Callable[[T], None] | None = None, *,
                   group: str, exclusive: bool = True,
                   failed: Callable[[BaseException], None] | None = None) -> Worker:
        """Run `fn` in a thread; hand its result (or its error) to `node` on the event loop.

        Errors the technician can act on are shown as notifications; the console keeps running.
        """
        app = self

        def deliver(callback: Callable[[Any], None], value: Any) -> None:
            def call() -> None:
                if node is app or node.is_attached:
                    callback(value)
            try:
                app.call_from_thread(call)
            except RuntimeError:  # the app is closing
                pass

        def job() -> None:
            try:
                result = fn()
            except EXPECTED_ERRORS as exc:
                deliver(failed or app.report_error, exc)
                return
            except Exception as exc:  # a bug or a driver error: report it, keep the console up
                deliver(failed or app.report_error, exc)
                return
            if done is not None and not get_current_worker().is_cancelled:
                deliver(done, result)

        # Actions are never exclusive: a second one must not hide the first one's outcome.
        exclusive = exclusive and group != "action"
        return node.run_worker(job, thread=True, group=group, exclusive=exclusive, exit_on_error=False)

    def report_error(self, exc: BaseException) -> None:
        expected = isinstance(exc, EXPECTED_ERRORS)
        message = str(exc) or type(exc).__name__
        self.notify(message if expected else f"{type(exc).__name__}: {message}",
                    title="not done" if expected else "unexpected error", severity="error", timeout=10)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Jumping away under an open dialog would drop it (and its callback) half done.
        if action in ("go", "about", "help") and isinstance(self.screen, ModalScreen):
            return False
        return True

    def engine_running(self) -> bool:
        """An embedded engine that started, or an attached one with a heartbeat in the store."""
        if self.engine is not None:
            return self._engine_failed is None
        return getattr(self, "_engine", None) is not None

    def allow_write(self, tenants: Iterable[str] = ()) -> bool:
        if self.read_only:
            self.notify("the console is read-only (--read-only); nothing was changed", severity="warning")
            return False
        glass = self.locked_tenant(tenants)
        if glass:
            self.notify(f"break-glass tenant {glass} is read-only; `:elevate {glass}` to write. Nothing was changed",
                        severity="warning")
            return False
        return True

    def locked_tenant(self, tenants: Iterable[str]) -> str | None:
        from syncops.console.glass import locked_tenant

        return locked_tenant(self, tenants)

    # --- the live tick ----------------------------------------------------------------------

    def _start_tick(self, force: bool = False) -> None:
        """Start one tick now (on the event loop: it captures the screen the tick is for)."""
        self._tick_gen += 1
        self._tick(self.screen, force, self._tick_gen)

    @work(thread=True, exclusive=True, group="tick", exit_on_error=False)
    def _tick(self, screen: Screen, force: bool, gen: int) -> None:
        """Header facts every tick; the screen's poll (its own judgement of what to re-read).

        The next tick is armed only after this one finished, so a slow store delays the next
        tick instead of stacking queries on top of each other.
        """
        try:
            marker = self.backend.marker()
            engine = self.backend.engine()
            breakers = self.backend.breakers()
            self.alerts = self.backend.alerts()  # (header line, firing alerts): the header and the dashboard
            self.elevations = self.backend.elevations(expire=not self.read_only)
            changed = force or marker != self._marker
            self._marker = marker
            poll = getattr(screen, "poll", None)
            data = poll(changed) if poll is not None else None
            self.call_from_thread(self._after_tick, gen, engine, breakers, screen, data, changed and not force)
        except RuntimeError:  # the app is closing
            pass
        except Exception as exc:  # EXPECTED_ERRORS and bugs alike: say so, keep ticking
            try:
                self.call_from_thread(self.report_error, exc)
                self.call_from_thread(self._schedule_tick, gen)
            except RuntimeError:
                pass

    def _after_tick(self, gen: int, engine: Any, breakers: Any, screen: Screen, data: Any, changed: bool) -> None:
        self._engine = engine
        self._breakers = breakers
        self.update_header()
        if data is not None and screen.is_attached and hasattr(screen, "show_poll"):
            screen.show_poll(data)
        elif changed and screen.is_attached and hasattr(screen, "store_changed"):
            screen.store_changed()
        self._schedule_tick(gen)

    def _schedule_tick(self, gen: int) -> None:
        # Only the newest tick re-arms: a superseded one (refresh_now while it ran) just ends.
        if gen != self._tick_gen or not self.live or self.refresh_interval is None:
            return
        if self._tick_timer is not None:
            self._tick_timer.stop()
        self._tick_timer = self.set_timer(self.refresh_interval, self._start_tick, name="tick")

    def refresh_now(self) -> None:
        """After an action or a screen change: reload the active screen and the header at once."""
        if self._tick_timer is not None:
            self._tick_timer.stop()
        self._start_tick(force=True)

    def toggle_live(self) -> None:
        self.live = not self.live
        if self.live:
            self.refresh_now()
        elif self._tick_timer is not None:
            self._tick_timer.stop()
        self.update_header()
        self.notify("live refresh resumed" if self.live else "live refresh paused")

    def update_header(self) -> None:
        from syncops.console.widgets.header import StatusHeader

        state = HeaderState(
            title=self.branding.product_title, partner=self.branding.partner_name,
            engine_embedded=self.engine is not None and self._engine_failed is None,
            engine_failed=self._engine_failed, engine=getattr(self, "_engine", None),
            breakers=getattr(self, "_breakers", {}) or {}, read_only=self.read_only, live=self.live,
            now=self.clock(), glass=self.glass_state(), alert=self.alerts[0])
        for header in self.screen.query(StatusHeader):
            header.show(state)

    # --- navigation -------------------------------------------------------------------------

    def action_go(self, mode: str) -> None:
        self.go(mode)

    def go(self, mode: str, **kwargs: Any) -> None:
        """Switch to a screen; kwargs (e.g. a filter) are handed to its `configure`."""
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.switch_mode(mode)
        if kwargs:
            self.call_after_refresh(lambda: self.screen.configure(**kwargs))

    def action_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self.current_mode != self.home_mode:
            self.go(self.home_mode)

    def action_help(self) -> None:
        from syncops.console.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_about(self) -> None:
        from syncops.console.screens.about import AboutScreen

        self.push_screen(AboutScreen())

    def open_record(self, record_id: int) -> None:
        from syncops.console.screens.record import RecordScreen

        self.push_screen(RecordScreen(record_id))

    def glass_state(self) -> dict[str, float | None]:
        from syncops.console.glass import glass_state

        return glass_state(self)

    def request_elevation(self, tenant: str) -> None:
        from syncops.console.glass import request_elevation

        request_elevation(self, tenant)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("About", "Product, partner and support contact", self.action_about)
