"""Small text helpers for tables: ages, durations, sparklines, clipped cells."""

from __future__ import annotations

from typing import Sequence

from syncops.textfmt import ago, clip, duration

__all__ = ["ago", "clip", "duration", "rich_colour", "seconds", "short_duration", "sla_grade", "sparkline",
           "until"]

BLOCKS = " ▁▂▃▄▅▆▇█"


def until(ts: float | None, now: float) -> str:
    """'in 4s' for the future, '3s late' for an overdue time."""
    if ts is None:
        return "-"
    delta = ts - now
    return f"in {duration(delta)}" if delta >= 0 else f"{duration(-delta)} late"


def short_duration(value: float | None) -> str:
    """At most four characters, for narrow cells: 45s, 10m, 5h, 2d (rounded down)."""
    if value is None:
        return "-"
    s = max(0, int(value))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.1f}s"
    return duration(value)


def sparkline(values: Sequence[int], width: int | None = None) -> str:
    """Unicode block sparkline; with `width`, adjacent values are summed into that many cells."""
    vals = list(values)
    if width and len(vals) > width:
        step = len(vals) / width
        vals = [sum(vals[int(i * step):int((i + 1) * step)]) for i in range(width)]
    top = max(vals, default=0)
    if top <= 0:
        return "▁" * len(vals)
    return "".join(BLOCKS[max(1, round(v / top * (len(BLOCKS) - 1)))] if v else "▁" for v in vals)


def sla_grade(p95: float | None, sla: float | None) -> str:
    """ok / warning / breach for a flow's p95 latency against its SLA."""
    if p95 is None or not sla:
        return "-"
    if p95 > sla:
        return "breach"
    if p95 > sla / 2:
        return "warning"
    return "ok"


def rich_colour(value: str | None) -> str:
    """A theme colour as Rich understands it: Textual's "ansi_bright_red" is Rich's "bright_red"."""
    if not value:
        return ""
    if value.startswith("ansi_"):
        name = value[len("ansi_"):]
        return "default" if name == "default" else name
    # Textual values may carry an alpha suffix ("#ff0000 50%"); Rich wants the colour alone.
    return value.split()[0]
