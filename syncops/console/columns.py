"""Columns that fit: at a narrow terminal the less important columns go, instead of everything clipping.

Each column has a width (its cells are clipped to it by the screen), a priority (0 is never
dropped) and optionally a short label for narrow screens. `fit` keeps, in priority order,
the columns that fit into the table's width and returns them in display order; the
screens rebuild their columns when a resize changes that set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

CELL_PADDING = 1  # DataTable's default: one space either side of a cell


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    width: int
    priority: int = 0
    flex: bool = False  # takes the width left over (one column per table: the free text)
    min_width: int = 0  # a flex column is dropped rather than shown narrower than this


def fit(columns: Sequence[Col], width: int, *, scrollbar: int = 2) -> list[tuple[Col, int]]:
    """(column, width) pairs that fit into `width` cells, in display order."""
    room = max(0, width - scrollbar)
    chosen: set[str] = set()
    used = 0
    for col in sorted(columns, key=lambda c: c.priority):
        need = (col.min_width if col.flex and col.min_width else col.width) + 2 * CELL_PADDING
        if col.priority == 0 or used + need <= room:
            chosen.add(col.key)
            used += need
    kept = [c for c in columns if c.key in chosen]
    out: list[tuple[Col, int]] = []
    spare = room - sum((c.width if not c.flex else 0) + 2 * CELL_PADDING for c in kept)
    for c in kept:
        out.append((c, max(c.min_width or 1, spare) if c.flex else c.width))
    return out


def dropped(columns: Sequence[Col], shown: Sequence[tuple[Col, int]]) -> list[str]:
    keys = {c.key for c, _w in shown}
    return [c.label for c in columns if c.key not in keys]


def lay_out(table: Any, columns: Sequence[Col], width: int) -> list[tuple[Col, int]]:
    """Replace `table`'s columns with those of `columns` that fit `width`; returns what was shown."""
    shown = fit(columns, width)
    table.clear(columns=True)
    for col, w in shown:
        table.add_column(col.label, key=col.key, width=w)
    return shown
