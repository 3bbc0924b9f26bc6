"""`syncops engine` under systemd's Type=notify: READY once it works, WATCHDOG while healthy, STOPPING."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncops.ops.sd_notify import healthy, notify, watchdog_interval

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def listener(tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    yield path, sock
    sock.close()


def _messages(sock: socket.socket, want: str, timeout: float) -> list[str]:
    """Datagrams received until one contains `want` (or the deadline passes)."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            break
        if want in got[-1]:
            break
    return got


def test_notify_sends_one_datagram_and_is_silent_outside_systemd(listener):
    path, sock = listener
    assert notify("READY=1", {"NOTIFY_SOCKET": str(path)}) is True
    assert sock.recv(100) == b"READY=1"
    assert notify("READY=1", {}) is False
    assert notify("READY=1", {"NOTIFY_SOCKET": "relative/path"}) is False


def test_the_watchdog_interval_is_half_the_units_and_read_strictly():
    assert watchdog_interval({"WATCHDOG_USEC": "60000000"}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, pid=1) == 30.0
    for bad in ("", "0", "-5", "1e309", "nan", "60s"):
        assert watchdog_interval({"WATCHDOG_USEC": bad}) is None, bad
    assert watchdog_interval({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, pid=2) is None  # not ours


def test_the_watchdog_is_fed_only_while_the_store_heartbeat_is_recent():
    assert healthy(100.0, 95.0, 30.0)
    assert not healthy(100.0, 30.0, 30.0)  # the store has not taken a beat for 70 s
    assert not healthy(100.0, None, 30.0)


def test_syncops_engine_says_ready_feeds_the_watchdog_and_says_stopping(tmp_path, listener):
    path, sock = listener
    config = tmp_path / "shop.yaml"
    # The demo's flows against a URL that refuses connections: the engine starts and retries.
    config.write_text((ROOT / "sample_config" / "demo.yaml").read_text()
                      .replace("base_url: simulator", "base_url: http://127.0.0.1:9")
                      .replace("credential: simulator", "credential: env:SYNCOPS_TEST_SECRET"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"),
               SYNCOPS_TEST_SECRET="not-a-secret", NOTIFY_SOCKET=str(path), WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    child = subprocess.Popen([sys.executable, "-m", "syncops", "engine", "--config", str(config),
                              "--store", f"sqlite:///{tmp_path / 'shop.db'}"],
                             env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ready = _messages(sock, "READY=1", 30.0)
        assert ready and "READY=1" in ready[-1] and "STATUS=syncing" in ready[-1], ready
        assert "WATCHDOG=1" in _messages(sock, "WATCHDOG=1", 5.0)
        child.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in _messages(sock, "STOPPING=1", 10.0)
        assert child.wait(15) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
