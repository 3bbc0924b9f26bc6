"""Strict reading of the JSON people hand to syncops: `records enqueue` files and stdin,
`records edit --file`, the $EDITOR's output and the console's payload editor.

Plain ``json.loads`` crashes or lets through what a store must not hold: invalid UTF-8
(UnicodeDecodeError), deep nesting (RecursionError), a 5,000-digit integer (Python's
int-string limit), NaN/Infinity (not JSON), unpaired surrogates (PostgreSQL refuses them).
Here every such problem is a ``JsonInputError`` with a 1-based line and column, never a
traceback. JSON Lines are split on "\\n" only: ``str.splitlines`` also splits on U+2028,
U+2029 and U+0085, which are legal inside JSON strings.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any, BinaryIO, Iterator

# 1 MiB per payload: the largest real order we have seen is ~40 KB; more is a broken feed.
MAX_PAYLOAD_BYTES = 1024 * 1024
# Canonical payloads nest 4 levels (order > customer > address); 32 leaves room and keeps
# the parser far from Python's recursion limit.
MAX_DEPTH = 32
# No price, quantity or id is 100 digits long; Python refuses ints over 4,300 digits anyway.
MAX_NUMBER_DIGITS = 100

_SURROGATE = re.compile("[\ud800-\udfff]")
_LONG_DIGITS = re.compile(r"[0-9]{%d}" % (MAX_NUMBER_DIGITS + 1))
# Tokens that matter for the checks below. The string alternative also swallows an
# unterminated string (optional closing quote), so the scan stays linear on any input.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[{]|[\]}]|-?Infinity|NaN|-?[0-9][0-9.eE+-]*', re.DOTALL)
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class JsonInputError(ValueError):
    """``kind`` ("not valid JSON", "not valid UTF-8", ...), ``detail``, 1-based ``line``/``column``."""

    def __init__(self, kind: str, detail: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(kind, detail, line, column)
        self.kind, self.detail, self.line, self.column = kind, detail, line, column

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.kind}: {self.detail}"
        return f"{self.kind}: line {self.line} column {self.column}: {self.detail}"

    def in_file(self, name: str) -> str:
        """``name: problem`` for a one-document file (edit --file)."""
        return f"{name}: {self}"

    def on_line(self, name: str, line: int) -> str:
        """``name:line: problem (column c)`` for one line of a JSON Lines file."""
        where = f" (column {self.column})" if self.column is not None else ""
        return f"{name}:{line}: {self.kind}: {self.detail}{where}"


def _at(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - text.rfind("\n", 0, index)


def _size(n: int) -> str:
    # Exact bytes near the limit, where "1.0 MiB" would not say why it was refused.
    return f"{n / (1024 * 1024):.1f} MiB" if n >= 2 * 1024 * 1024 else f"{n:,} bytes"


def check_payload_size(size: int) -> None:
    """The one payload-size limit, for every place a payload enters (enqueue, edit)."""
    if size > MAX_PAYLOAD_BYTES:
        raise JsonInputError("payload", f"at most 1 MiB (got {_size(size)})")


def decode(data: bytes) -> str:
    """Bytes as text; invalid bytes survive as surrogate escapes so ``parse`` can point at them.

    An editor given this text back (errors="surrogateescape") shows the file as it was.
    """
    return data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")


def _scan(text: str) -> None:
    """Find nesting, number-size and NaN/Infinity problems with their position."""
    depth = 0
    for m in _TOKEN.finditer(text):
        tok = m.group()
        first = tok[0]
        if first == '"':
            continue
        if first in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise JsonInputError("too deeply nested", f"more than {MAX_DEPTH} levels of [ and {{",
                                     *_at(text, m.start()))
        elif first in "]}":
            depth -= 1
        elif tok.lstrip("-") in ("Infinity", "NaN"):
            raise JsonInputError("not valid JSON", f"{tok} is not a JSON number", *_at(text, m.start()))
        else:
            digits = max((len(run) for run in re.findall(r"[0-9]+", tok)), default=0)
            if digits > MAX_NUMBER_DIGITS:
                raise JsonInputError("number too long", f"{digits:,} digits (at most {MAX_NUMBER_DIGITS})",
                                     *_at(text, m.start()))


class _Constant(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _Constant(name)


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def parse(text: str) -> Any:
    """Parse one JSON document strictly; raises ``JsonInputError`` naming line and column."""
    if len(text) * 4 > MAX_PAYLOAD_BYTES:  # only then can it be over: UTF-8 is at most 4 bytes a char
        check_payload_size(len(text.encode("utf-8", "surrogateescape")))
    bad = _SURROGATE.search(text)
    if bad:
        char = bad.group()
        if "\udc80" <= char <= "\udcff":  # an invalid byte kept by decode()
            detail = f"byte 0x{ord(char) - 0xDC00:02x} is not UTF-8"
            raise JsonInputError("not valid UTF-8", detail, *_at(text, bad.start()))
        raise JsonInputError("not valid text", f"unpaired surrogate U+{ord(char):04X}", *_at(text, bad.start()))
    # Cheap tests first: the token scan only runs when a limit could be exceeded.
    if text.count("[") + text.count("{") > MAX_DEPTH or _LONG_DIGITS.search(text):
        _scan(text)
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise JsonInputError("not valid JSON", exc.msg, exc.lineno, exc.colno) from None
    except _Constant:
        _scan(text)
        raise JsonInputError("not valid JSON", "NaN and Infinity are not JSON numbers") from None
    except (RecursionError, ValueError):  # _scan above should have caught both; never a traceback
        raise JsonInputError("not valid JSON", "too deeply nested or a number too long") from None
    if _ESCAPED_SURROGATE.search(text) and _has_surrogate(value):
        m = _ESCAPED_SURROGATE.search(text)
        raise JsonInputError("not valid text", "unpaired surrogate escape in a string", *_at(text, m.start()))
    return value


class FileInputError(ValueError):
    """A ``JsonInputError`` already rendered with its file name."""


def read_file(path: str | Path) -> str:
    """A one-document file's text (edit --file), checked by ``parse``; errors name the file."""
    try:
        check_payload_size(Path(path).stat().st_size)  # before reading: the file may be huge
        text = decode(Path(path).read_bytes())
        parse(text)
    except JsonInputError as exc:
        raise FileInputError(exc.in_file(str(path))) from None
    return text


def source_name(source: str) -> str:
    return "<stdin>" if source == "-" else source


def _stdin_bytes() -> BinaryIO:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text-only stdin (tests, embedding): its text is already decoded
        return io.BytesIO(sys.stdin.read().encode("utf-8", "surrogateescape"))
    return stream


def json_lines(source: str) -> Iterator[tuple[int, Any]]:
    """(line number, value or JsonInputError) for each non-blank line of a path or "-" (stdin).

    Binary lines end at b"\\n" only, so U+2028 and friends inside strings stay in their line.
    """
    if source == "-":
        yield from _lines(_stdin_bytes())
        return
    with open(source, "rb") as fh:
        yield from _lines(fh)


def _lines(stream: BinaryIO) -> Iterator[tuple[int, Any]]:
    cap = MAX_PAYLOAD_BYTES + 2  # the payload and its "\r\n"
    n = 0
    while raw := stream.readline(cap + 1):
        n += 1
        if len(raw) > cap:  # skip the rest of the line in bounded reads: a 5 GB line must not fill memory
            size = len(raw)
            while not raw.endswith(b"\n") and (more := stream.readline(cap)):
                raw = more
                size += len(raw)
            size -= len(raw) - len(raw.rstrip(b"\r\n"))
            yield n, JsonInputError("payload", f"at most 1 MiB (got {_size(size)})")
            continue
        text = decode(raw) if n == 1 else raw.decode("utf-8", "surrogateescape")
        text = text.removesuffix("\n").removesuffix("\r")
        if not text.strip(" \t\r"):  # JSON's whitespace only: str.strip() would also eat U+2028
            continue
        try:
            yield n, parse(text)
        except JsonInputError as exc:
            yield n, exc
