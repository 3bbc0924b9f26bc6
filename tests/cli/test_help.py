"""`syncops --help` lists every command, every subcommand answers --help, and --help stays light."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from syncops.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ["config", "records", "mappings", "flows", "status", "audit", "purge", "locate", "engine",
            "console", "demo", "simulate", "creds", "bench"]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _all_command_paths() -> list[tuple[str, ...]]:
    paths = []
    for name, p in _subparsers(build_parser()).items():
        paths.append((name,))
        paths.extend((name, sub) for sub in _subparsers(p))
    return paths


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}(\s|$)", out, re.M), f"{command} missing from --help"
    assert set(COMMANDS) <= set(_subparsers(build_parser()))


def test_the_expected_subcommands_exist() -> None:
    paths = set(_all_command_paths())
    expected = {("config", "validate"), ("audit", "list"), ("creds", "set"), ("creds", "delete"),
                ("creds", "check")}
    expected |= {("records", s) for s in ("list", "show", "enqueue", "retry", "edit", "quarantine",
                                          "release", "resolve")}
    expected |= {("mappings", s) for s in ("list", "set", "delete", "unmapped")}
    expected |= {("flows", s) for s in ("list", "pause", "resume", "run")}
    assert expected <= paths


@pytest.mark.parametrize("path", _all_command_paths(), ids=" ".join)
def test_every_command_and_subcommand_has_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*path, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: syncops " + " ".join(path))


def test_help_path_imports_nothing_heavy() -> None:
    code = ("import sys; from syncops.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in ('sqlalchemy','httpx','textual','sqlmodel','pydantic','apscheduler') "
            "if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
