"""Plain-text tables and times for humans; JSON for scripts."""

from __future__ import annotations

import json
import sys
from typing import Any, Sequence

from syncops.textfmt import ago, clip, duration

__all__ = ["ago", "clip", "confirm", "duration", "emit_json", "table"]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], out=None) -> None:
    out = out or sys.stdout
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    fmt = "  ".join("{:<%d}" % w for w in widths)
    print(fmt.format(*headers).rstrip(), file=out)
    for row in cells:
        print(fmt.format(*row).rstrip(), file=out)


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str, sort_keys=False)
    sys.stdout.write("\n")


def confirm(question: str, *, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        from syncops.cli.errors import CliError

        raise CliError(f"{question} -- refusing without a terminal to ask on; pass --yes to confirm")
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")
