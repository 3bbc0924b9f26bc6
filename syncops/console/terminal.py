"""The console's terminal driver: Textual's Linux driver, made to notice a terminal that is gone.

A dropped SSH session or a killed tmux session leaves the tty answering EIO (or EOF). Stock
Textual then either panics from the input thread or, worse, its output thread dies on EIO and
the event loop blocks on the full output queue, so the engine, the simulator and the store are
never shut down. Here a failed write or read tells the app `terminal_lost()` instead.
"""

from __future__ import annotations

from typing import Any

from textual.drivers.linux_driver import LinuxDriver

from syncops.lifeline import SafeTerminal


class GuardedLinuxDriver(LinuxDriver):
    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._file = SafeTerminal(self._file, on_lost=self._lost)

    def _lost(self) -> None:
        notify = getattr(self._app, "terminal_lost_threadsafe", None)
        if notify is not None:
            notify()

    def _run_input_thread(self) -> None:
        try:
            self.run_input_thread()
        except OSError:  # EIO from a tty whose other end is gone: not a bug to panic about
            self._lost()
        except BaseException:  # as Textual does: show the traceback
            import rich.traceback

            self._app.call_later(self._app.panic, rich.traceback.Traceback())
