"""One line per engine event on stderr, human or JSON. Never payloads, never secrets."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Callable, TextIO


class EventLog:
    def __init__(self, stream: TextIO | None = None, *, as_json: bool = False, quiet: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.stream = stream or sys.stderr
        self.as_json = as_json
        self.quiet = quiet
        self.clock = clock
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []

    def __call__(self, event: str, **fields: Any) -> None:
        for listener in self.listeners:
            listener(event, fields)
        if self.quiet:
            return
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
        if self.as_json:
            line = json.dumps({"ts": ts, "event": event, **fields}, default=str)
        else:
            line = f"{ts} {event} " + " ".join(f"{k}={_fmt(v)}" for k, v in fields.items())
        try:
            print(line, file=self.stream, flush=True)
        except (BrokenPipeError, ValueError):  # stderr went away: keep syncing regardless
            self.quiet = True


def _fmt(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (" " in text or not text) else text
