"""Leaving when the link drops: SIGHUP, SIGTERM, or a terminal that is gone.

Everything `syncops`, `syncops demo` and `syncops simulate` start lives in this one
process (simulator servers, engine tasks and worker threads, the console's threads);
nothing is a child process. So stopping means: the normal shutdown path runs (engine
stopped, servers closed, store closed), and if that path cannot finish because the
terminal it wanted to write to is gone, `arm_deadline` ends the process anyway, so
nothing lingers with PPID 1 holding the simulator ports and the store.

Exit codes: 129 after SIGHUP or a lost terminal (a hang-up either way), 143 after SIGTERM.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from typing import Any, Callable, TextIO

HANGUP = 129  # SIGHUP, or the terminal went away (EIO on the tty, EOF/hang-up on stdin)
TERMINATED = 143  # SIGTERM
GRACE = 8.0  # seconds the clean shutdown may take before the process is ended regardless

_armed = threading.Lock()
_deadline: threading.Thread | None = None


def exit_code_for(signum: int) -> int:
    return 128 + int(signum)


def stop_signals() -> list[int]:
    return [s for s in (getattr(signal, "SIGHUP", None), getattr(signal, "SIGTERM", None)) if s is not None]


def arm_deadline(code: int = HANGUP, seconds: float = GRACE) -> None:
    """End the process with `code` after `seconds` unless it exited by itself first (idempotent).

    The last resort for a shutdown that blocks on a dead terminal: the kernel closes the
    simulator's sockets and SQLite's WAL keeps the store consistent even then.
    """
    global _deadline
    with _armed:
        if _deadline is not None:
            return

        def expire() -> None:
            try:
                os.write(2, f"syncops: shutdown took over {seconds:g} s; exiting\n".encode())
            except OSError:
                pass
            os._exit(code)

        timer = threading.Timer(seconds, expire)
        timer.daemon = True
        timer.name = "syncops-exit-deadline"
        timer.start()
        _deadline = timer


def tty_gone(*fds: int) -> bool:
    """True when any of these descriptors reports a hang-up or an error without reading from it.

    A pty whose master was closed (tmux killed, SSH dropped) polls POLLHUP on the slave side,
    and so does a hung-up controlling terminal; a pipe on stdin whose writer left polls POLLHUP.
    """
    if not hasattr(select, "poll"):
        return False
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN if fd == 0 else select.POLLOUT)
    try:
        events = poller.poll(0)
    except OSError:
        return True
    return any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _fd, mask in events)


def say(text: str, stream: TextIO | None = None) -> bool:
    """Print to stderr (or `stream`) if it is still there; False when the terminal is gone."""
    try:
        print(text, file=stream if stream is not None else sys.stderr, flush=True)
        return True
    except (OSError, ValueError):
        return False


class SafeTerminal:
    """The console's output file: a write that fails (EIO on a dead tty) is dropped, not raised.

    Textual writes from one thread through a bounded queue; if that thread died on EIO the
    next writes would block the event loop for good and the shutdown (engine, simulator,
    store) would never run. `on_lost` is called once, from the writing thread.
    """

    def __init__(self, file: Any, on_lost: Callable[[], None]) -> None:
        self._file = file
        self._on_lost = on_lost
        self.lost = False

    def _fail(self) -> None:
        if not self.lost:
            self.lost = True
            try:
                self._on_lost()
            except Exception:
                pass

    def write(self, text: str) -> int:
        if self.lost:
            return len(text)
        try:
            return self._file.write(text)
        except (OSError, ValueError):
            self._fail()
            return len(text)

    def flush(self) -> None:
        if self.lost:
            return
        try:
            self._file.flush()
        except (OSError, ValueError):
            self._fail()

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return not self.lost

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)
