"""systemd's notify protocol (sd_notify(3)), spoken by `syncops engine` under `Type=notify`.

READY=1 once the engine holds its store lease and its flows are scheduled, so `systemctl start`
returns when the engine works (and fails when it cannot start); STOPPING=1 on shutdown; and,
when the unit sets WatchdogSec=, WATCHDOG=1 while the engine is healthy, so systemd restarts an
engine whose event loop or store connection has hung. No dependency: it is one datagram on a
UNIX socket, and with no NOTIFY_SOCKET (not under systemd) every call does nothing.
"""

from __future__ import annotations

import os
import socket
from typing import Mapping


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send `state` (e.g. "READY=1") to systemd; False when not run by systemd."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return False
    if address[0] == "@":  # the abstract namespace
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(state.encode("utf-8"))
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half the unit's WatchdogSec), or None without a watchdog.

    WATCHDOG_USEC is read strictly: anything but a positive integer (or a WATCHDOG_PID that is
    another process's) means no watchdog rather than a ping rate nobody asked for.
    """
    env = os.environ if environ is None else environ
    usec, owner = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0:
        return None
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    return int(usec) / 1e6 / 2


def healthy(now: float, last_beat: float | None, interval: float) -> bool:
    """Ping the watchdog only while the engine's store heartbeat is recent: a loop that runs but
    cannot reach its store for a whole watchdog period is restarted as well."""
    return last_beat is not None and now - last_beat <= 2 * interval
