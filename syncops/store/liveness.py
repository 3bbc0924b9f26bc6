"""Is the engine behind a heartbeat row alive? One rule for the engine's start and for consoles.

Elsewhere (another host) only the heartbeat's age can tell. On this host the process table
knows better: a pid that is gone is a dead engine now, not in `stale_after` seconds, so a
restart right after a crash (SIGKILL, OOM) is not refused.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

# /proc start times are whole clock ticks from a boot time rounded to the second: allow for it.
START_TIME_SLACK = 2.0


def heartbeat_is_live(hb: Any, *, now: float, stale_after: float, host: str | None = None) -> bool:
    """`hb` has engine_id, host, pid, started_at, beat_at, stopped_at (an engine_heartbeats row)."""
    if hb.stopped_at is not None:
        return False
    if _same_process_table(hb, host if host is not None else socket.gethostname()):
        if not pid_is_engine(hb.pid, hb.started_at):
            return False
    # A live pid can still be a hung engine: the age decides, as it does for other hosts.
    return now - hb.beat_at <= stale_after


def engine_id(host: str, pid: int) -> str:
    """A unique engine id that also says which process table its pid belongs to."""
    tag = process_table_id()
    return f"{host}:{pid}:{uuid.uuid4().hex[:8]}" + (f"@{tag}" if tag else "")


def process_table_id() -> str | None:
    """This boot and pid namespace: a container sharing the host's name (host networking) has
    its own pids, which mean nothing here. None where /proc cannot say."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            boot = fh.read().strip()[:8]
        return f"{boot}-{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return None


def _same_process_table(hb: Any, host: str) -> bool:
    if hb.host != host:
        return False
    theirs = hb.engine_id.rpartition("@")[2] if "@" in hb.engine_id else None
    # An id without the tag (an older syncops) may come from a container: only its age can tell.
    return theirs == process_table_id()


def pid_is_engine(pid: int, started_at: float) -> bool:
    """False when `pid` (on this host) cannot be the engine that registered at `started_at`."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, but another user's: look at /proc as well
    except OSError:
        return True  # cannot tell: leave it to the heartbeat's age
    info = _proc_stat(pid)
    if info is None:
        return True  # no /proc (macOS, BSD): the pid exists, trust it
    state, start = info
    if state in ("Z", "X"):
        return False  # killed, not yet reaped by its parent: it will never beat again
    # The pid was reused: this process started after the engine registered, so it is not it.
    return start is None or start <= started_at + START_TIME_SLACK


def _proc_stat(pid: int) -> tuple[str, float | None] | None:
    """(state letter, start time in epoch seconds or None) from /proc, or None without /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return None if not os.path.isdir("/proc/self") else ("X", None)
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = raw[raw.rfind(")") + 2:].split()
    state = fields[0] if fields else "?"
    try:
        ticks = int(fields[19])  # field 22, starttime, in clock ticks since boot
        boot = _boot_time()
        start = None if boot is None else boot + ticks / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError, OSError):
        start = None
    return state, start


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None
