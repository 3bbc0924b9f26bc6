"""Named value maps: inline ``source: target`` mappings or ``file: skus.csv`` next to the config."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from yaml.nodes import MappingNode, Node

from .reader import Reader, join, line_of

_WHAT = "a mapping of source: target values, or {file: something.csv}"


def build_maps(r: Reader, node: Node, path: str, base_dir: Path) -> dict[str, dict[str, str]]:
    maps: dict[str, dict[str, str]] = {}
    items = r.mapping(node, path, what="a mapping of map name: values") or {}
    for key, (key_node, value_node) in items.items():
        map_path = join(path, key)
        name = r.name(key_node, map_path, "a map name")
        entries = _build_one(r, value_node, map_path, base_dir)
        if name is not None and entries is not None:
            maps[name] = entries
    return maps


def _build_one(r: Reader, node: Node, path: str, base_dir: Path) -> dict[str, str] | None:
    # A mapping whose only key is "file" is a file reference; anything else is inline data.
    if isinstance(node, MappingNode) and [k.value for k, _ in node.value] == ["file"]:
        file_node = node.value[0][1]
        rel = r.text(file_node, join(path, "file"), "a CSV file path")
        return None if rel is None else _read_csv(r, file_node, join(path, "file"), base_dir, rel)
    items = r.mapping(node, path, what=_WHAT, data=True)
    if items is None:
        return None
    entries: dict[str, str] = {}
    for key, (_, value_node) in items.items():
        target = r.text(value_node, join(path, key), "a target value", any_scalar=True)
        if target is not None:
            entries[key] = target
    return entries


def _read_csv(r: Reader, node: Node, path: str, base_dir: Path, rel: str) -> dict[str, str] | None:
    """Two columns source,target; optional "source,target" header; blank and '#' lines skipped."""
    csv_path = base_dir / Path(rel).expanduser()  # absolute rel wins over base_dir
    try:
        # utf-8-sig: spreadsheets love to prepend a BOM, which would otherwise end up in the first SKU.
        text = csv_path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        r.error(node, path, f"expected an existing CSV file (relative to the config file), got {rel!r} (no file {csv_path})")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        r.error(node, path, f"expected a readable UTF-8 CSV file, got {rel!r} ({exc})")
        return None
    entries: dict[str, str] = {}
    first_line: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    seen_data = False
    file = str(csv_path)
    try:
        for row in reader:
            line = reader.line_num
            cells = [cell.strip() for cell in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if not seen_data and [c.lower() for c in cells] == ["source", "target"]:
                seen_data = True
                continue
            seen_data = True
            if len(cells) != 2 or not all(cells):
                got = f"{len(cells)} column(s)" if len(cells) != 2 else "an empty cell"
                r.error_at(file, line, path, f"expected 2 non-empty columns source,target, got {got}: {','.join(row)!r}", sort_line=line_of(node))
                continue
            source, target = cells
            if source in entries:
                r.error_at(file, line, path, f"expected each source value once, got {source!r} again (first on line {first_line[source]})", sort_line=line_of(node))
                continue
            entries[source] = target
            first_line[source] = line
    except csv.Error as exc:
        r.error_at(file, reader.line_num, path, f"expected valid CSV, got {exc}", sort_line=line_of(node))
        return None
    return entries
