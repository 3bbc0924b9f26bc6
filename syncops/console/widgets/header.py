"""Two header lines: who we are (branding), engine state, READ-ONLY, and the circuit breakers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.widgets import Static

from syncops.console.formatting import duration


@dataclass
class HeaderState:
    title: str = "syncops"
    partner: str = ""
    engine_embedded: bool = False
    engine_failed: str | None = None
    engine: Any | None = None  # live heartbeat row when attached
    breakers: dict[tuple[str, str], Any] = field(default_factory=dict)
    read_only: bool = False
    live: bool = True
    now: float = 0.0
    alert: str | None = None  # syncops.ops.alerts.summary_line(store): the newest firing alert, or None
    glass: dict[str, float | None] = field(default_factory=dict)  # break-glass tenant -> elevated until


def glass_text(s: HeaderState) -> list[tuple[str, bool]]:
    """(label, elevated) per break-glass tenant: `acme ELEVATED 14:59` counting down, else `acme LOCKED`."""
    out = []
    for tenant, until in sorted(s.glass.items()):
        if until is not None and until > s.now:
            left = int(until - s.now)
            out.append((f"{tenant} ELEVATED {left // 60}:{left % 60:02d}", True))
        else:
            out.append((f"{tenant} LOCKED", False))
    return out


def engine_text(s: HeaderState) -> str:
    if s.engine_failed:
        return f"engine failed: {s.engine_failed}"
    if s.engine_embedded:
        return "engine: embedded"
    if s.engine is not None:
        return f"attached to {s.engine.host}:{s.engine.pid} (heartbeat {duration(s.now - s.engine.beat_at)} ago)"
    return "no engine"


class StatusHeader(Static):
    DEFAULT_CSS = """
    StatusHeader { height: 2; background: $panel; color: $foreground; padding: 0 1;
                   text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self) -> None:
        super().__init__("", id="status-header")
        self.state = HeaderState()

    def show(self, state: HeaderState) -> None:
        self.state = state
        text = self.render_state(state)
        # Unchanged text: no repaint (this runs every second on an idle console).
        if getattr(self, "_last", None) != (text.plain, tuple(map(str, text.spans))):
            self._last = (text.plain, tuple(map(str, text.spans)))
            self.update(text)

    def render_state(self, s: HeaderState) -> Text:
        v = self.app.palette
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(s.title, style=f"bold {v.get('accent', '')}")
        if s.partner:
            t.append(f" · {s.partner}", style="dim")
        if s.alert:  # before the engine: at 80 columns the end of this line is cut
            t.append("  ")
            t.append(f" {s.alert} ", style=f"bold reverse {v.get('error', '')}")
        t.append("  ")
        engine = engine_text(s)
        bad = s.engine_failed or engine == "no engine"
        t.append(engine, style=v.get("warning", "") if bad else v.get("success", ""))
        if s.read_only:
            t.append("  ")
            t.append(" READ-ONLY ", style=f"bold reverse {v.get('warning', '')}")
        if not s.live:
            t.append("  ")
            t.append(" REFRESH PAUSED ", style="bold reverse")
        t.append("  " + time.strftime("%H:%MZ", time.gmtime(s.now)), style="dim")
        t.append("\n")
        # Break-glass first on the second line: at 80 columns the first one has no room left.
        glass = 0
        for label, elevated in glass_text(s):
            t.append(f" {label} ", style=f"bold reverse {v.get('error' if elevated else 'accent', '')}")
            t.append(" ")
            glass += len(label) + 3
        t.append("breakers: ", style="dim")
        if not s.breakers:
            t.append("none reported", style="dim")
        # Open and half-open ones by name (they are why anyone looks); closed ones as a count,
        # and never more than the line holds: "+N more" instead of a cut.
        bad = sorted((k, b) for k, b in s.breakers.items() if b.breaker != "closed")
        closed = len(s.breakers) - len(bad)
        room = max(20, (self.size.width or 80) - 2 - glass) - len("breakers: ")
        colours = {"open": v.get("error", ""), "half_open": v.get("warning", "")}
        used = 0
        for i, ((tenant, endpoint), b) in enumerate(bad):
            label = b.breaker.replace("_", "-").upper()
            piece = f"{tenant}/{endpoint} {label}"
            rest = len(bad) - i
            tail = f" · +{rest} more" if rest > 1 else ""
            if used + len(piece) + 3 + len(tail) + (len(f" · {closed} closed") if closed else 0) > room and i:
                t.append(f" · +{rest} more not closed", style=f"bold {v.get('error', '')}")
                break
            if i:
                t.append(" · ", style="dim")
            t.append(f"{tenant}/{endpoint} ")
            t.append(label, style=f"bold {colours.get(b.breaker, '')}")
            used += len(piece) + 3
        if closed:
            if bad:
                t.append(" · ", style="dim")
            t.append(f"{closed} closed", style=v.get("success", ""))
        return t
