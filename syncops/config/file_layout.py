"""Options of `files` and `sftp` endpoints: folders, readiness rules and per-entity column layouts.

One parser serves the config loader (problems become file:line errors, see sections.py) and the
connector (which parses the same options again and trusts them). Layouts describe how a legacy
system's CSV or JSON Lines rows map onto canonical fields; nothing here touches a file.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Any

FORMATS = ("csv", "jsonl")
TYPES = ("string", "integer", "decimal", "timestamp")
FILE_ENTITIES = ("inventory", "order")
FOLDER_KEYS = ("inbox", "outbox", "done", "error")
FILES_KEYS = (*FOLDER_KEYS, "settle_seconds", "ready_marker", "max_file_bytes", "layouts")
SFTP_KEYS = (*FILES_KEYS, "username", "known_hosts", "host_key_fingerprint", "timeout")
LAYOUT_KEYS = ("format", "pattern", "write_pattern", "delimiter", "encoding", "header", "timezone", "columns")
COLUMN_KEYS = ("column", "type", "required", "value")
DEFAULT_SETTLE = 5.0
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # a file is read whole; larger is a mistake, not a stock count

# Canonical fields a flat row may fill, per entity. `lines.*` fields belong to one order line:
# consecutive rows with the same order_number are one order, one line per row.
FIELDS: dict[str, dict[str, str]] = {
    "inventory": {"sku": "string", "location_id": "string", "available": "integer", "on_hand": "integer",
                  "changed_at": "timestamp", "source_ref": "string"},
    "order": {"order_number": "string", "channel": "string", "status": "string", "placed_at": "timestamp",
              "currency": "string", "location_id": "string", "total": "decimal", "shipping": "decimal",
              "customer.email": "string", "customer.name": "string",
              "lines.sku": "string", "lines.quantity": "decimal", "lines.unit_price": "decimal",
              "lines.discount": "decimal", "lines.tax_code": "string"},
}
# Fields a layout must map (by column or constant value); the rest are optional. changed_at
# falls back to the file's modification time, total to the sum of the lines.
REQUIRED: dict[str, tuple[str, ...]] = {
    "inventory": ("sku", "location_id", "available"),
    "order": ("order_number", "placed_at", "currency", "lines.sku", "lines.quantity", "lines.unit_price"),
}


class LayoutProblem(ValueError):
    """A bad option; `keys` is the option path under `options` (for the config's file:line)."""

    def __init__(self, keys: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.keys = keys
        self.message = message


@dataclass(frozen=True)
class Column:
    field: str  # canonical field, e.g. "available" or "lines.sku"
    column: str | int | None  # header name, or 1-based position without a header; None with `value`
    type: str = "string"
    required: bool = True
    value: Any = None  # a constant instead of a column (e.g. the store a POS folder belongs to)


@dataclass(frozen=True)
class Layout:
    entity: str
    format: str = "csv"
    # Glob of files to read from the inbox; required to read (a catch-all would take another
    # entity's files and move them to done/ before their own flow read them).
    pattern: str | None = None
    write_pattern: str = "{entity}-{key}.{ext}"  # name of a written file (outbox)
    delimiter: str = ","
    encoding: str = "utf-8"
    header: bool = True
    timezone: str = "UTC"  # for timestamps without an offset
    columns: tuple[Column, ...] = ()  # empty with jsonl: each line is a canonical payload as is

    @property
    def ext(self) -> str:
        return self.format


@dataclass(frozen=True)
class FolderOptions:
    inbox: str = "inbox"
    outbox: str = "outbox"
    done: str = "done"
    error: str = "error"
    settle_seconds: float = DEFAULT_SETTLE
    ready_marker: bool = False  # read <name> only once <name>.ok exists
    max_file_bytes: int = DEFAULT_MAX_BYTES
    layouts: dict[str, Layout] = field(default_factory=dict)
    # sftp only
    username: str | None = None
    known_hosts: str | None = None
    host_key_fingerprint: str | None = None
    timeout: float = 15.0


def parse_options(options: dict[str, Any], kind: str) -> FolderOptions:
    """Validated folder options; raises LayoutProblem naming the first bad key."""
    if not isinstance(options, dict):
        raise LayoutProblem((), "expected a mapping of options")
    allowed = SFTP_KEYS if kind == "sftp" else FILES_KEYS
    for key in options:
        if key not in allowed:
            raise LayoutProblem((key,), f"unknown option {key!r}; expected one of: {', '.join(allowed)}")
    kw: dict[str, Any] = {}
    for key in FOLDER_KEYS:
        if key in options:
            kw[key] = _folder(options[key], key)
    folders = [kw.get(k, k) for k in FOLDER_KEYS]
    if len(set(folders)) != len(folders):
        raise LayoutProblem(("inbox",), f"expected four different folders for inbox, outbox, done and error, got {folders}")
    if "settle_seconds" in options:
        kw["settle_seconds"] = _number(options["settle_seconds"], ("settle_seconds",), 0, 3600)
    if "ready_marker" in options:
        if not isinstance(options["ready_marker"], bool):
            raise LayoutProblem(("ready_marker",), "expected true or false")
        kw["ready_marker"] = options["ready_marker"]
    if "max_file_bytes" in options:
        kw["max_file_bytes"] = int(_number(options["max_file_bytes"], ("max_file_bytes",), 1, 2**34, integer=True))
    layouts = options.get("layouts")
    if not isinstance(layouts, dict) or not layouts:
        raise LayoutProblem(("layouts",), "expected `layouts:` with a layout per entity (inventory, order)")
    kw["layouts"] = {entity: _layout(entity, spec) for entity, spec in layouts.items()}
    if kind == "sftp":
        if not isinstance(options.get("username"), str) or not options["username"]:
            raise LayoutProblem(("username",), "expected `username:` (the SFTP login; its password or private key "
                                "is the endpoint's credential)")
        kw["username"] = options["username"]
        kh, fp = options.get("known_hosts"), options.get("host_key_fingerprint")
        if not kh and not fp:
            # Host key checking is never optional: without it anyone on the path reads the files.
            raise LayoutProblem(("known_hosts",), "expected `known_hosts:` (a file) or `host_key_fingerprint:` "
                                "(SHA256:... as printed by ssh-keygen -lf); the server's host key is always checked")
        if fp is not None and (not isinstance(fp, str) or not fp.startswith("SHA256:")):
            raise LayoutProblem(("host_key_fingerprint",), "expected SHA256:<base64> as printed by `ssh-keygen -lf`")
        if kh is not None and not isinstance(kh, str):
            raise LayoutProblem(("known_hosts",), "expected the path of a known_hosts file")
        kw["known_hosts"], kw["host_key_fingerprint"] = kh, fp
        if "timeout" in options:
            kw["timeout"] = _number(options["timeout"], ("timeout",), 1, 300)
    return FolderOptions(**kw)


def _folder(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise LayoutProblem((key,), "expected a folder name or path")
    return value.rstrip("/") or "/"


def _number(value: Any, keys: tuple, low: float, high: float, *, integer: bool = False) -> float:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not low <= value <= high:
        raise LayoutProblem(keys, f"expected {'a whole number' if integer else 'a number'} between {low:g} and {high:g}")
    return value


def _layout(entity: Any, spec: Any) -> Layout:
    at = ("layouts", entity)
    if entity not in FILE_ENTITIES:
        raise LayoutProblem(at, f"expected a layout for one of {', '.join(FILE_ENTITIES)}, got {entity!r}")
    if not isinstance(spec, dict):
        raise LayoutProblem(at, "expected a layout mapping (format, pattern, columns)")
    for key in spec:
        if key not in LAYOUT_KEYS:
            raise LayoutProblem((*at, key), f"unknown layout key {key!r}; expected one of: {', '.join(LAYOUT_KEYS)}")
    fmt = spec.get("format", "csv")
    if fmt not in FORMATS:
        raise LayoutProblem((*at, "format"), f"expected format csv or jsonl, got {fmt!r}")
    kw: dict[str, Any] = {"entity": entity, "format": fmt}
    for key in ("pattern", "write_pattern", "timezone"):
        if key in spec:
            if not isinstance(spec[key], str) or not spec[key] or "/" in spec[key] and key != "timezone":
                raise LayoutProblem((*at, key), "expected a file name pattern without folders")
            kw[key] = spec[key]
    if "write_pattern" in kw:
        try:
            kw["write_pattern"].format(entity=entity, key="k", ext="csv", delivery="d")
        except (KeyError, IndexError, ValueError):
            raise LayoutProblem((*at, "write_pattern"), "expected a name using only {entity}, {key}, {delivery} "
                                "and {ext}") from None
    if "timezone" in kw:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(kw["timezone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise LayoutProblem((*at, "timezone"), f"expected an IANA timezone, got {kw['timezone']!r}") from None
    if "delimiter" in spec:
        d = spec["delimiter"]
        if not isinstance(d, str) or len(d) != 1 or d in "\"\r\n":
            raise LayoutProblem((*at, "delimiter"), "expected one character, e.g. ';' or '\\t'")
        kw["delimiter"] = d
    if "encoding" in spec:
        try:
            codecs.lookup(str(spec["encoding"]))
        except LookupError:
            raise LayoutProblem((*at, "encoding"), f"expected a known encoding (utf-8, cp1252, latin-1), "
                                f"got {spec['encoding']!r}") from None
        kw["encoding"] = str(spec["encoding"])
    if "header" in spec:
        if not isinstance(spec["header"], bool):
            raise LayoutProblem((*at, "header"), "expected true or false")
        kw["header"] = spec["header"]
    columns = spec.get("columns")
    if columns is None:
        if fmt == "csv":
            raise LayoutProblem((*at, "columns"), "expected `columns:` mapping canonical fields to CSV columns")
        return Layout(**kw)  # jsonl without columns: every line is a canonical payload
    if not isinstance(columns, dict) or not columns:
        raise LayoutProblem((*at, "columns"), "expected a mapping of canonical field: {column, type, required}")
    header = kw.get("header", True)
    kw["columns"] = tuple(_column(entity, name, c, (*at, "columns", name), header, fmt)
                          for name, c in columns.items())
    mapped = {c.field for c in kw["columns"]}
    for need in REQUIRED[entity]:
        if need not in mapped:
            raise LayoutProblem((*at, "columns"), f"expected a column (or value) for {need}, which every {entity} needs")
    return Layout(**kw)


def _column(entity: str, name: Any, spec: Any, at: tuple, header: bool, fmt: str) -> Column:
    fields = FIELDS[entity]
    if name not in fields:
        raise LayoutProblem(at, f"expected a canonical {entity} field ({', '.join(fields)}), got {name!r}")
    if isinstance(spec, (str, int)) and not isinstance(spec, bool):
        spec = {"column": spec}
    if not isinstance(spec, dict):
        raise LayoutProblem(at, "expected {column: NAME, type: ..., required: ...} or just the column name")
    for key in spec:
        if key not in COLUMN_KEYS:
            raise LayoutProblem((*at, key), f"unknown key {key!r}; expected one of: {', '.join(COLUMN_KEYS)}")
    if ("column" in spec) == ("value" in spec):
        raise LayoutProblem(at, "expected exactly one of `column:` (where the value is) or `value:` (a constant)")
    column = spec.get("column")
    if column is not None:
        if fmt == "csv" and not header:
            if isinstance(column, bool) or not isinstance(column, int) or column < 1:
                raise LayoutProblem((*at, "column"), "expected a column position (1 = first) in a CSV without header")
        elif not isinstance(column, str) or not column:
            raise LayoutProblem((*at, "column"), "expected the column's name as in the header (or the JSON key)")
    ctype = spec.get("type", fields[name])
    if ctype not in TYPES:
        raise LayoutProblem((*at, "type"), f"expected a type: one of {', '.join(TYPES)}, got {ctype!r}")
    required = spec.get("required", name in REQUIRED[entity])
    if not isinstance(required, bool):
        raise LayoutProblem((*at, "required"), "expected true or false")
    return Column(field=name, column=column, type=ctype, required=required, value=spec.get("value"))
