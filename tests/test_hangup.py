"""A dropped link stops everything: `syncops demo` (console and headless) and `syncops simulate`.

Each test runs the real command as a child in its own session, hangs it up (SIGHUP, SIGTERM, or
the pty master closed as when tmux or SSH goes away) and checks, within a deadline, what a user
would: the process is gone, the simulator ports no longer answer, the store was closed cleanly
(SQLite removes its -wal file on the last clean close) and its path was printed at start.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ptys and /proc: Linux")

STORE_RE = re.compile(r"demo store: sqlite:///(\S+)")


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


class Child:
    """`python -m syncops ARGS` in a new session: on a pty (optionally its controlling
    terminal, as in tmux or SSH) or with stdout/stderr captured through a pipe."""

    def __init__(self, args: list[str], tmp_path: Path, *, pty: bool, controlling: bool = True) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT), TERM="xterm-256color", TMPDIR=str(tmp_path),
                   HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"),
                   XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"), SYNCOPS_TEST_SECRET="not-a-secret")
        self.buf = bytearray()
        self.master: int | None = None
        cmd = [sys.executable, "-m", "syncops", *args]
        if pty:
            master, slave = os.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            preexec = (lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0)) if controlling else None
            self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, cwd=tmp_path, env=env,
                                         start_new_session=True, preexec_fn=preexec)
            os.close(slave)
            self.master = master
            self._reader = threading.Thread(target=self._drain_pty, daemon=True)
        else:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, cwd=tmp_path, env=env, start_new_session=True)
            self._reader = threading.Thread(target=self._drain_pipe, daemon=True)
        self._reader.start()

    def _drain_pty(self) -> None:  # a full pty would block the console's writes
        while self.master is not None:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.buf += data

    def _drain_pipe(self) -> None:
        assert self.proc.stdout is not None
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
            self.buf += chunk

    @property
    def text(self) -> str:
        return bytes(self.buf).decode(errors="replace")

    @property
    def screen_text(self) -> str:
        """What was printed, without the terminal's control sequences."""
        return re.sub(r"\x1b\[[0-9;?<>=$]*[a-zA-Z~]|\x1b\][^\x07]*\x07", "", self.text)

    def drop_link(self) -> None:
        master, self.master = self.master, None
        assert master is not None
        os.close(master)

    def exited(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {timeout} s after the hang-up:\n{self.text[-2000:]}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        if self.master is not None:
            os.close(self.master)
            self.master = None


@pytest.fixture
def spawn(tmp_path: Path):
    children: list[Child] = []

    def start(args: list[str], **kw: bool) -> Child:
        child = Child(args, tmp_path, **kw)
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()


def listening_ports(pid: int) -> set[int]:
    """TCP ports the process listens on (its socket inodes matched in /proc/net/tcp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def assert_all_stopped(ports: set[int], store: Path) -> None:
    assert ports
    wait_for(lambda: all(refused(p) for p in ports), 2.0, f"simulator ports {sorted(ports)} refuse connections")
    assert store.exists()
    assert not Path(f"{store}-wal").exists(), "the store was not closed cleanly (its -wal file is left)"


def started_demo_console(spawn, **kw: bool) -> tuple[Child, Path, set[int]]:
    child = spawn(["demo", "--profile", "calm"], pty=True, **kw)
    match = wait_for(lambda: STORE_RE.search(child.text), 8.0, "the store path printed at start")
    store = Path(match.group(1))  # type: ignore[union-attr]
    # The console is up and the embedded simulator listens (five vendors in demo.yaml).
    ports = wait_for(lambda: (lambda p: p if len(p) >= 5 else None)(listening_ports(child.proc.pid)), 8.0,
                     "the simulator listening")
    wait_for(lambda: "\x1b[?1049h" in child.text, 5.0, "the console on the screen")
    return child, store, ports  # type: ignore[return-value]


def test_demo_console_stops_everything_on_sighup(spawn) -> None:
    child, store, ports = started_demo_console(spawn)
    before_console = child.text.split("\x1b[?1049h", 1)[0]
    assert f"demo store: sqlite:///{store}" in before_console  # printed before the console took the screen
    os.kill(child.proc.pid, signal.SIGHUP)
    assert child.exited(6.0) == 129
    assert_all_stopped(ports, store)
    assert child.text.count(f"demo store: sqlite:///{store}") == 2  # and again at exit


def test_demo_console_stops_everything_when_the_link_drops(spawn) -> None:
    """tmux killed / SSH gone: the pty master closes; the kernel hangs up the controlling tty."""
    child, store, ports = started_demo_console(spawn)
    child.drop_link()
    assert child.exited(6.0) != 0
    assert_all_stopped(ports, store)


def test_demo_console_notices_a_dead_tty_even_without_sighup(spawn) -> None:
    """The pty is not its controlling terminal (so no SIGHUP comes): EIO/hang-up on the tty alone."""
    child, store, ports = started_demo_console(spawn, controlling=False)
    child.drop_link()
    assert child.exited(6.0) == 129
    assert_all_stopped(ports, store)


def test_demo_console_stops_on_sigterm(spawn) -> None:
    child, store, ports = started_demo_console(spawn)
    os.kill(child.proc.pid, signal.SIGTERM)
    assert child.exited(6.0) == 143
    assert_all_stopped(ports, store)


@pytest.mark.parametrize("drop", ["sighup", "link"])
def test_plain_console_with_its_embedded_engine_leaves_on_a_hang_up(spawn, tmp_path: Path, drop: str) -> None:
    """`syncops` on a shop PC: the console with the engine embedded, over SSH."""
    store = tmp_path / "shop.db"
    # The demo's flows against real URLs that refuse connections: the engine starts and retries.
    config = tmp_path / "shop.yaml"
    config.write_text((ROOT / "sample_config" / "demo.yaml").read_text()
                      .replace("base_url: simulator", "base_url: http://127.0.0.1:9")
                      .replace("credential: simulator", "credential: env:SYNCOPS_TEST_SECRET"))
    child = spawn(["--store", f"sqlite:///{store}", "--config", str(config)], pty=True)
    wait_for(lambda: "engine: embedded" in child.screen_text, 8.0, "the console with its engine")
    if drop == "sighup":
        os.kill(child.proc.pid, signal.SIGHUP)
    else:
        child.drop_link()
    assert child.exited(6.0) == 129
    assert "engine failed" not in child.screen_text
    assert store.exists() and not Path(f"{store}-wal").exists()


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_headless_demo_stops_on_a_signal_and_says_where_the_store_is(spawn, signum: int) -> None:
    child = spawn(["demo", "--headless", "--seconds", "600", "--profile", "calm"], pty=False)
    match = wait_for(lambda: re.search(r"demo store: sqlite:///(\S+)\nsimulator: (.*)\n", child.text), 8.0,
                     "store and simulator printed at start")
    store = Path(match.group(1))  # type: ignore[union-attr]
    ports = {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", match.group(2))}  # type: ignore[union-attr]
    assert len(ports) == 5 and not any(refused(p) for p in ports)
    os.kill(child.proc.pid, signum)
    assert child.exited(6.0) == 128 + signum
    assert_all_stopped(ports, store)
    assert f"stopped early by {signal.Signals(signum).name}" in child.text
    assert f"store: sqlite:///{store}" in child.text.split("stopped early", 1)[1]


def test_simulate_stops_on_sighup(spawn) -> None:
    child = spawn(["simulate", "--profile", "calm"], pty=False)
    wait_for(lambda: "Ctrl-C to stop." in child.text, 8.0, "the simulator serving")
    ports = {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", child.text)}
    assert len(ports) == 5 and not any(refused(p) for p in ports)
    os.kill(child.proc.pid, signal.SIGHUP)
    assert child.exited(6.0) == 129
    wait_for(lambda: all(refused(p) for p in ports), 2.0, "simulator ports refuse connections")
    assert "simulated events:" in child.text


def test_a_dead_terminal_write_is_dropped_once_reported_and_never_blocks_the_console() -> None:
    """Textual's output thread would die on EIO and leave the event loop blocked on its queue."""
    import errno

    from textual.drivers._writer_thread import WriterThread

    from syncops.lifeline import SafeTerminal

    class DeadTty:
        writes = 0

        def write(self, text: str) -> int:
            DeadTty.writes += 1
            raise OSError(errno.EIO, "Input/output error")

        def flush(self) -> None:
            raise OSError(errno.EIO, "Input/output error")

    lost: list[bool] = []
    writer = WriterThread(SafeTerminal(DeadTty(), on_lost=lambda: lost.append(True)))  # type: ignore[arg-type]
    writer.start()
    done = threading.Event()

    def flood() -> None:  # far more than the writer's bounded queue holds
        for _ in range(500):
            writer.write("x")
        writer.stop()
        done.set()

    threading.Thread(target=flood, daemon=True).start()
    assert done.wait(5.0), "writes to a dead terminal blocked"
    assert lost == [True] and DeadTty.writes == 1


def test_a_closed_pty_master_polls_as_hung_up() -> None:
    from syncops.lifeline import tty_gone

    master, slave = os.openpty()
    try:
        assert not tty_gone(slave)
        os.close(master)
        assert tty_gone(slave)
    finally:
        os.close(slave)
