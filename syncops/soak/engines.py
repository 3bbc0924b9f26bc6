"""The engine child under the soak's control: start (retrying a refused start, bounded), kill -9,
notice a child that died by itself, stop gracefully. Every refusal and crash is counted, never
hidden: they are findings (a restart refused after a crash blocks a real service too)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import syncops
from syncops.soak.child import REFUSED

ROOT = Path(syncops.__file__).resolve().parents[1]  # so the child imports this very checkout


class SoakError(RuntimeError):
    """The soak itself could not go on (an engine that never starts): not a figure, an error."""


class Engines:
    def __init__(self, config_path: Path, store_url: str, urls: dict[str, str], options: dict[str, Any],
                 log_path: Path, *, start_timeout: float = 60.0, retry_every: float = 0.25) -> None:
        self.argv = [sys.executable, "-m", "syncops.soak.child", str(config_path), store_url,
                     json.dumps(urls), json.dumps(options)]
        self.log_path = log_path
        self.start_timeout = start_timeout  # per start, refusals included
        self.retry_every = retry_every
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.kills = 0
        self.start_refusals = 0  # "another engine is running": the dead one's heartbeat looked live
        self.refused_seconds = 0.0  # time lost to those refusals
        self.start_failures = 0  # exited before "started" for another reason
        self.crashes = 0  # died by itself after it had started
        self.exit_codes: list[int] = []  # of children that ended without our SIGKILL

    def _spawn(self) -> subprocess.Popen:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                    env=env, cwd=str(ROOT))

    def start(self) -> None:
        """Start an engine and return once it says "started"; retry refused starts until the timeout."""
        deadline = time.monotonic() + self.start_timeout
        refused_since: float | None = None
        while True:
            proc = self._spawn()
            if self._await_started(proc, deadline):
                if refused_since is not None:
                    self.refused_seconds += time.monotonic() - refused_since
                self.proc = proc
                self.starts += 1
                return
            code = proc.poll()
            if code is None:  # neither started nor exited in time
                proc.kill()
                proc.wait(5)
                raise SoakError(f"the engine did not start within {self.start_timeout:g} s (log: {self.log_path})")
            if code == REFUSED:
                self.start_refusals += 1
                refused_since = refused_since if refused_since is not None else time.monotonic()
            else:
                self.start_failures += 1
                self.exit_codes.append(code)
            if time.monotonic() + self.retry_every > deadline:
                raise SoakError(f"no engine could start within {self.start_timeout:g} s: {self.start_refusals} "
                                f"refusals, {self.start_failures} failures (log: {self.log_path})")
            time.sleep(self.retry_every)  # back off before the next attempt, as a supervisor would

    @staticmethod
    def _await_started(proc: subprocess.Popen, deadline: float) -> bool:
        assert proc.stdout is not None
        line = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], min(0.1, max(0.0, deadline - time.monotonic())))
            if ready:
                chunk = os.read(proc.stdout.fileno(), 256)
                if not chunk:  # EOF: the child exited
                    proc.wait(5)
                    return False
                line += chunk
                if b"started\n" in line:
                    return True
            elif proc.poll() is not None:
                return False
        return False

    def alive(self) -> bool:
        """Whether the engine runs; one that died by itself is counted as a crash."""
        if self.proc is None:
            return False
        code = self.proc.poll()
        if code is None:
            return True
        self.crashes += 1
        self.exit_codes.append(code)
        self._forget()
        return False

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful stop, leases and heartbeat left behind."""
        if self.proc is None or not self.alive():
            return
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.kills += 1
        self._forget()

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait: the graceful stop a service manager does; returns the exit code."""
        if self.proc is None or not self.alive():
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            code = None
        if code is not None:
            self.exit_codes.append(code)
        self._forget()
        return code

    def _forget(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
