"""Rows of a drop file <-> canonical payloads, per the endpoint's layout (config/file_layout.py).

Reading never stops at a bad row: each becomes a `Unit` with a problem naming file, line and
column, and the next row is read. Only a file that cannot be read at all (header without a
mapped column, too big) raises FileUnreadable. Messages never include cell values (customer data).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from syncops.config.file_layout import Column, Layout
from syncops.models.registry import PayloadInvalid, validate_payload


class FileUnreadable(ValueError):
    """The whole file is unusable (it goes to error/ with this reason)."""


@dataclass
class Unit:
    """One record's worth of rows: an inventory row, or the consecutive rows of one order."""

    first_line: int
    last_line: int
    payload: dict[str, Any]
    source: dict[str, Any]
    problems: list[str] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    last_line: int
    cells: dict[str, Any]  # column (name or position as text) -> raw value
    values: dict[str, Any] = field(default_factory=dict)  # canonical field -> converted value
    problems: list[str] = field(default_factory=list)


def parse(name: str, data: bytes, layout: Layout, *, mtime: float) -> list[Unit]:
    rows = _csv_rows(name, data, layout) if layout.format == "csv" else _jsonl_rows(name, data, layout)
    if not layout.columns:  # jsonl carrying canonical payloads
        return [_canonical_unit(name, layout, row, mtime) for row in rows]
    for row in rows:
        if not row.problems:
            _convert(name, layout, row)
    if layout.entity == "order":
        return _orders(name, layout, rows)
    return [_inventory_unit(name, layout, row, mtime) for row in rows]


# -- reading --------------------------------------------------------------------------------------


def _label(col: Column) -> str:
    return f"column {col.column}" if col.column is not None else "value"


def _csv_rows(name: str, data: bytes, layout: Layout) -> list[_Row]:
    # surrogateescape keeps undecodable bytes visible per cell instead of failing the file.
    text = data.decode(layout.encoding, errors="surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]  # Excel's byte-order mark
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=layout.delimiter, strict=True)
    header: list[str] | None = None
    rows: list[_Row] = []
    prev = 0
    while True:
        start = prev + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            prev = reader.line_num
            rows.append(_Row(start, prev, {}, problems=[f"{name}:{start}: not a valid CSV row ({exc})"]))
            continue
        prev = reader.line_num
        if not cells or cells == [""]:
            continue
        if layout.header and header is None:
            header = [c.strip() for c in cells]
            for col in layout.columns:
                if col.column is not None and col.required and col.column not in header:
                    raise FileUnreadable(f"{name}:{start}: the header has no column {col.column!r} (for {col.field}); "
                                         f"it has {', '.join(header)[:300]}")
            continue
        keys = header if header is not None else [str(i + 1) for i in range(len(cells))]
        rows.append(_Row(start, prev, {k: v for k, v in zip(keys, cells)}))
    if layout.header and header is None and rows == []:
        return []  # empty file: nothing to read
    return rows


def _jsonl_rows(name: str, data: bytes, layout: Layout) -> list[_Row]:
    rows = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            col = len(raw[:exc.start].decode("utf-8", errors="replace")) + 1
            rows.append(_Row(number, number, {}, problems=[f"{name}:{number}:{col}: not valid UTF-8"]))
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            rows.append(_Row(number, number, {}, problems=[
                f"{name}:{number}:{getattr(exc, 'colno', 1)}: not valid JSON ({getattr(exc, 'msg', 'bad line')})"]))
            continue
        if not isinstance(obj, dict):
            rows.append(_Row(number, number, {}, problems=[f"{name}:{number}:1: expected a JSON object per line"]))
            continue
        rows.append(_Row(number, number, obj))
    return rows


# -- converting cells -----------------------------------------------------------------------------

_SURROGATE = re.compile("[\udc80-\udcff]")


def _convert(name: str, layout: Layout, row: _Row) -> None:
    for col in layout.columns:
        where = f"{name}:{row.line}: {_label(col)} ({col.field})"
        raw = col.value if col.column is None else row.cells.get(str(col.column))
        if isinstance(raw, str):
            bad = _SURROGATE.search(raw)
            if bad:
                row.problems.append(f"{where}: not valid {layout.encoding} (character {bad.start() + 1})")
                continue
            raw = raw.strip()  # legacy exports pad cells; canonical ids must not carry blanks
        if raw is None or raw == "":
            if col.required:
                row.problems.append(f"{where}: required, " + ("missing" if raw is None else "empty"))
            continue
        try:
            row.values[col.field] = _typed(raw, col.type, layout.timezone)
        except ValueError as exc:
            row.problems.append(f"{where}: {exc}")


def _typed(raw: Any, ctype: str, tz: str) -> Any:
    if ctype == "string":
        if isinstance(raw, (dict, list)):
            raise ValueError("must be text, got a nested value")
        return str(raw)
    if ctype == "integer":
        if isinstance(raw, bool):
            raise ValueError("must be a whole number")
        if isinstance(raw, int):
            return raw
        text = str(raw)
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError("must be a whole number")
        return int(text)
    if ctype == "decimal":
        if isinstance(raw, bool) or isinstance(raw, (dict, list)):
            raise ValueError("must be a decimal number")
        text = str(raw)
        if "," in text and "." not in text:
            text = text.replace(",", ".")  # 12,50 from a European POS
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError("must be a decimal number") from None
        if not value.is_finite():
            raise ValueError("must be a finite number")
        return str(value)
    # timestamp
    try:
        stamp = datetime.fromisoformat(str(raw))
    except ValueError:
        raise ValueError("must be a timestamp like 2026-12-02T10:00:00+01:00") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=ZoneInfo(tz))
    return stamp.isoformat()


def _nest(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if not key.startswith(prefix):
            continue
        key = key[len(prefix):]
        if "." in key:
            head, tail = key.split(".", 1)
            if head != "lines":
                out.setdefault(head, {})[tail] = value
        else:
            out[key] = value
    return out


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()


def _checked(name: str, layout: Layout, payload: dict, line: int, problems: list[str]) -> None:
    """Canonical model checks, each pointed at the column its field came from."""
    try:
        validate_payload(layout.entity, payload)
    except PayloadInvalid as exc:
        where = {c.field: _label(c) for c in layout.columns}
        for err in exc.errors:
            path, _, msg = err.partition(": ")
            key = re.sub(r"\[\d+\]", "", path)
            col = where.get(key)
            problems.append(f"{name}:{line}: {col} ({key}): {msg}" if col else f"{name}:{line}: {err}")


def _inventory_unit(name: str, layout: Layout, row: _Row, mtime: float) -> Unit:
    payload = _nest(row.values)
    if not row.problems:
        payload.setdefault("changed_at", _iso(mtime))  # a count without a time is as of the export
        _checked(name, layout, payload, row.line, row.problems)
    return Unit(row.line, row.last_line, payload, {"file": name, "line": row.line, "row": row.cells}, row.problems)


def _canonical_unit(name: str, layout: Layout, row: _Row, mtime: float) -> Unit:
    payload = dict(row.cells)
    problems = list(row.problems)
    if not problems:
        if layout.entity == "inventory":
            payload.setdefault("changed_at", _iso(mtime))
        try:
            validate_payload(layout.entity, payload)
        except PayloadInvalid as exc:
            problems += [f"{name}:{row.line}: field {e}" for e in exc.errors]
    return Unit(row.line, row.last_line, payload, {"file": name, "line": row.line, "row": row.cells}, problems)


def _orders(name: str, layout: Layout, rows: list[_Row]) -> list[Unit]:
    """Consecutive rows with the same order number are one order, one line per row."""
    units: list[Unit] = []
    group: list[_Row] = []

    def flush() -> None:
        if group:
            units.append(_order_unit(name, layout, group))
            group.clear()

    for row in rows:
        number = row.values.get("order_number")
        if group and (number is None or number != group[0].values.get("order_number")):
            flush()
        group.append(row)
        if number is None:
            flush()  # a row without an order number cannot join an order
    flush()
    return units


def _order_unit(name: str, layout: Layout, rows: list[_Row]) -> Unit:
    first = rows[0]
    problems = [p for r in rows for p in r.problems]
    payload = _nest(first.values)
    payload["lines"] = [_nest(r.values, "lines.") for r in rows]
    payload.setdefault("channel", "file")
    payload.setdefault("status", "completed")
    source = {"file": name, "lines": [r.line for r in rows], "rows": [r.cells for r in rows]}
    if not problems:
        if "total" not in payload:
            try:
                total = sum((Decimal(ln["quantity"]) * Decimal(ln["unit_price"]) - Decimal(ln.get("discount", "0"))
                             for ln in payload["lines"]), Decimal(0)) + Decimal(payload.get("shipping", "0"))
                payload["total"] = str(total)
            except (KeyError, InvalidOperation):
                pass
        _checked(name, layout, payload, first.line, problems)
    return Unit(first.line, rows[-1].last_line, payload, source, problems)


# -- writing --------------------------------------------------------------------------------------


def render(layout: Layout, payload: dict[str, Any]) -> bytes:
    """One delivered payload as a file of the layout (header included when the layout has one)."""
    if not layout.columns:
        return (json.dumps(payload, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    lines = payload.get("lines") if layout.entity == "order" else None
    rows = [_flat(layout, payload, line) for line in (lines or [None])]
    if layout.format == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(layout.encoding)
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=layout.delimiter, lineterminator="\n")
    cols = [c for c in layout.columns if c.column is not None]
    if layout.header:
        writer.writerow([c.column for c in cols])
        writer.writerows([[r.get(str(c.column), "") for c in cols] for r in rows])
    else:
        width = max((int(c.column) for c in cols), default=0)
        for r in rows:
            cells = [""] * width
            for c in cols:
                cells[int(c.column) - 1] = r.get(str(c.column), "")
            writer.writerow(cells)
    return out.getvalue().encode(layout.encoding, errors="replace")


def _flat(layout: Layout, payload: dict[str, Any], line: dict[str, Any] | None) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for col in layout.columns:
        if col.column is None:
            continue
        if col.field.startswith("lines."):
            value = (line or {}).get(col.field[6:])
        elif "." in col.field:
            head, tail = col.field.split(".", 1)
            value = (payload.get(head) or {}).get(tail)
        else:
            value = payload.get(col.field)
        row[str(col.column)] = "" if value is None else value
    return row
