"""`syncops simulate --faults ... --events ... --seed ...` from the command line."""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from syncops.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _simulate(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "syncops", "simulate", "--profile", "calm", *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _urls(proc: subprocess.Popen, deadline: float = 30.0) -> dict[str, str]:
    urls: dict[str, str] = {}
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            break
        if m := re.match(r"\s+(\S+) \((\w+)\): (http://127\.0\.0\.1:\d+)", line):
            urls[m.group(2) + ":" + m.group(1)] = m.group(3)
        if line.startswith("Each also serves"):
            return urls
    raise AssertionError(f"no simulator URLs: {proc.stderr.read() if proc.poll() is not None else urls}")


def test_fault_switches_from_the_command_line_reach_every_vendor_or_one_kind():
    proc = _simulate("--faults", "reset_after_apply=0.05,odoo.html_body=0.1", "--seconds", "60")
    try:
        urls = _urls(proc)
        erp = httpx.get(urls["odoo:acme-outdoor/erp"] + "/_sim/faults", timeout=5).json()
        pos = httpx.get(urls["square:acme-outdoor/pos"] + "/_sim/faults", timeout=5).json()
        assert erp["reset_after_apply"] == 0.05 and erp["html_body"] == 0.1
        assert pos["reset_after_apply"] == 0.05 and pos["html_body"] == 0.0
        # ...and changeable over HTTP while it runs.
        changed = httpx.post(urls["odoo:acme-outdoor/erp"] + "/_sim/faults", json={"clear": True}, timeout=5).json()
        assert changed["html_body"] == 0.0
        state = httpx.get(urls["shopify:acme-outdoor/web"] + "/_sim/state", timeout=5).json()
        assert state["vendor"] == "shopify" and state["levels"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


def test_a_bounded_run_stops_after_its_events():
    proc = _simulate("--events", "5", "--seed", "3")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Stopping after 5 events." in out
    counts = ast.literal_eval(out.rsplit("simulated events: ", 1)[1].strip())
    assert sum(counts.values()) == 5


def test_bad_fault_switches_are_refused_by_name(capsys):
    assert main(["simulate", "--faults", "reset_after_apply=often"]) == 1
    assert "reset_after_apply: 'often' is not a number" in capsys.readouterr().err
    assert main(["simulate", "--faults", "bigcommerce.html_body=0.1"]) == 1
    assert "no simulated bigcommerce vendor" in capsys.readouterr().err
