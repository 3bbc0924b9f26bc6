"""Ages, durations and clipped cells, shared by the CLI's tables and the console's."""

from __future__ import annotations

import time
from typing import Any


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def ago(ts: float | None, now: float | None = None) -> str:
    return "-" if ts is None else duration((time.time() if now is None else now) - ts)


def clip(text: Any, width: int) -> str:
    """One line (whitespace collapsed), cut with an ellipsis to `width` characters."""
    s = "" if text is None else " ".join(str(text).split())
    return s if len(s) <= width else s[: max(0, width - 1)] + "…"
