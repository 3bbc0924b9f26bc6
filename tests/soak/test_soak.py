"""A short real soak: the engine in a child process, SIGKILLed 3 times under a fault mode.

The engine's guard timing is shortened (--stale-after 1) so a restart is refused for about a
second rather than the service's 15 s; the refusals are still counted in the JSON.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^soak seed=(\d+) kills=(\d+) events=(\d+) faults=(\S+): lost (\d+), duplicated (\d+), "
                  r"drift (\d+), stuck (\d+) \(restarts (\d+), refused starts (\d+)(?:, \d+ crashes)?, "
                  r"(\d+) records, [\d.]+ s\)$")


def soak(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "syncops", "soak", "--stale-after", "1", "--drain", "20",
                           "--workdir", str(tmp_path / "soak"), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def test_three_kills_under_resets_after_apply_lose_and_double_nothing(tmp_path):
    done = soak(tmp_path, "--kills", "3", "--events", "40", "--seed", "11", "--faults", "resets", "--json")
    assert done.returncode in (0, 1), done.stderr
    r = json.loads(done.stdout)
    assert (r["kills"], r["restarts"], r["events"]) == (3, 3, 40)
    assert r["faults_injected"].get("reset_after_apply", 0) > 0  # the fault mode really was on
    assert r["source_documents"] > 0 and r["records"] > 0
    assert isinstance(r["start_refusals"], int) and r["start_refusals"] >= 0
    assert r["final_exit_code"] == 0  # the last engine stopped gracefully on SIGTERM
    # The store's promise, true on the current engine:
    assert r["lost"] == 0, r["examples"]["lost"]
    assert r["duplicated"] == 0, r["examples"]["duplicated"]
    # Unknown outcomes are resolved at the target, so no SKU drifts and nothing is left waiting.
    assert r["drift"] == 0, r["examples"]["drift"]
    assert r["stuck"] == 0, r["stuck_by_state"]
    assert r["due_beyond_a_day"] == 0
    assert done.returncode == 0 and r["drained"]
    assert LINE.match(r["line"]), r["line"]


def test_a_planted_duplicate_and_drift_fail_the_soak(tmp_path):
    done = soak(tmp_path, "--kills", "1", "--events", "15", "--seed", "4", "--plant", "duplicate",
                "--plant", "drift")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout  # one figure line; progress goes to stderr
    m = LINE.match(lines[0])
    assert m, lines[0]
    seed, kills, events, faults, lost, duplicated, drift = m.groups()[:7]
    assert (seed, kills, events, faults) == ("4", "1", "15", "none")
    assert int(duplicated) >= 1 and int(drift) >= 1
    assert "kill 1/1" in done.stderr


def test_bad_options_are_one_line_errors(tmp_path):
    for args, msg in ((["--faults", "validation=0.1"], "not for a soak"),
                      (["--faults", "nonsense"], "unknown fault preset 'nonsense'"),
                      (["--kill-after", "2:1"], "MIN <= MAX")):
        done = soak(tmp_path, *args)
        assert done.returncode == 1 and msg in done.stderr and "Traceback" not in done.stderr, done.stderr
