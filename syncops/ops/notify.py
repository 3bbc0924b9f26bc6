"""Send an alert to channels: apprise URLs and command hooks (the alert as JSON on stdin).

A channel's URL holds its token: only `Channel.shown` (masked) ever reaches a log, the store or output.
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from typing import Any, Iterable

COMMAND_TIMEOUT = 30.0
TYPES = {"firing": "failure", "reminder": "warning", "resolved": "success", "test": "info"}


@dataclass
class Sent:
    channel: str  # masked
    ok: bool
    error: str | None = None


def send(channels: Iterable[Any], title: str, body: str, payload: dict[str, Any]) -> list[Sent]:
    results = []
    for ch in channels:
        try:
            ok, error = (_apprise if ch.kind == "apprise" else _command)(ch, title, body, payload)
        except Exception as exc:  # a broken channel must not stop the others
            ok, error = False, type(exc).__name__
        results.append(Sent(ch.shown, ok, error))
    return results


def _apprise(ch: Any, title: str, body: str, payload: dict[str, Any]) -> tuple[bool, str | None]:
    import apprise

    log = logging.getLogger("apprise")
    level = log.level
    log.setLevel(logging.CRITICAL)  # its messages can quote hosts and paths of the URL
    try:
        ap = apprise.Apprise()
        if not ap.add(ch.target):
            return False, "not a usable apprise URL"
        kind = TYPES.get(str(payload.get("event")), "info")
        ok = ap.notify(body=body, title=title, notify_type=kind)
    finally:
        log.setLevel(level)
    return bool(ok), None if ok else "apprise reported a failed delivery"


def _command(ch: Any, title: str, body: str, payload: dict[str, Any]) -> tuple[bool, str | None]:
    doc = dict(payload, title=title, text=body)
    try:
        done = subprocess.run(list(ch.target), input=json.dumps(doc, default=str), text=True,
                              capture_output=True, timeout=COMMAND_TIMEOUT)
    except FileNotFoundError:
        return False, f"{ch.target[0]}: not found"
    except subprocess.TimeoutExpired:
        return False, f"{ch.target[0]}: no exit within {COMMAND_TIMEOUT:.0f}s"
    if done.returncode != 0:
        return False, f"{ch.target[0]}: exit {done.returncode}"
    return True, None
