"""Bad input to `records enqueue` and `records edit`: a message naming file, line and problem,
exit 1, and nothing stored; never a traceback. Valid files with U+2028 inside strings load."""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import inventory_payload, order_payload

ENQUEUE = ("--tenant", "acme", "--flow", "orders")
DEEP = "[" * 100_000 + "]" * 100_000
HUGE_INT = "9" * 5000


def _line(payload: dict) -> bytes:
    return json.dumps(payload).encode() + b"\n"


def _count(cli) -> int:
    return len(cli("records", "list", "--json", "--limit", "1000").json())


def _refused(r, *needles: str) -> None:
    assert r.code == 1, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    for needle in needles:
        assert needle in r.err, (needle, r.err)


# --- enqueue from a file ----------------------------------------------------------------------

@pytest.mark.parametrize(("bad_line", "problem"), [
    (b'{"order_number": "\xff\xfeA-2"}', "not valid UTF-8: byte 0xff is not UTF-8 (column 19)"),
    (DEEP.encode(), "too deeply nested: more than 32 levels of [ and { (column 33)"),
    (b'{"order_number": "A-2", "total": ' + HUGE_INT.encode() + b"}",
     "number too long: 5,000 digits (at most 100) (column 34)"),
    (b'{"order_number": "A-2", "total": NaN}', "not valid JSON: NaN is not a JSON number (column 34)"),
], ids=["utf8", "deep", "huge-int", "nan"])
def test_a_bad_line_names_file_line_column_and_nothing_is_enqueued(cli, tmp_path: Path, bad_line: bytes,
                                                                   problem: str) -> None:
    f = tmp_path / "orders.jsonl"
    f.write_bytes(_line(order_payload("A-1")) + bad_line + b"\n" + _line(order_payload("A-3")))
    r = cli("records", "enqueue", str(f), *ENQUEUE)
    _refused(r, f"{f}:2: {problem}", "1 bad line(s)", "nothing was enqueued")
    assert _count(cli) == 0


def test_invalid_utf8_on_stdin_names_stdin_and_line(cli, monkeypatch) -> None:
    data = _line(order_payload("S-1")) + _line(order_payload("S-2")) + b'{"order_number": "S-\xc3"}\n'
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    r = cli("records", "enqueue", "-", *ENQUEUE)
    _refused(r, "<stdin>:3: not valid UTF-8: byte 0xc3 is not UTF-8 (column 21)", "nothing was enqueued")
    assert _count(cli) == 0


def test_invalid_utf8_on_a_real_stdin_pipe(tmp_path: Path, store_url: str) -> None:
    # The process's own sys.stdin decodes strictly: only a real pipe shows that it is bypassed.
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    data = _line(order_payload("P-1")) + b'{"order_number": "P-\xff"}\n'
    got = subprocess.run([sys.executable, "-m", "syncops", "records", "enqueue", "-", *ENQUEUE], input=data,
                         capture_output=True, env=env, timeout=60)
    err = got.stderr.decode()
    assert got.returncode == 1 and "Traceback" not in err, err
    assert "<stdin>:2: not valid UTF-8" in err
    listed = subprocess.run([sys.executable, "-m", "syncops", "records", "list", "--json"], capture_output=True,
                            env=env, timeout=60)
    assert json.loads(listed.stdout) == []


def test_line_separators_inside_strings_are_data_not_line_breaks(cli, tmp_path: Path) -> None:
    # U+2028, U+2029 and U+0085 are legal inside JSON strings; str.splitlines() broke the line there.
    a = order_payload("U-1")
    a["customer"]["name"] = "Jane\u2028Doe\u2029\u0085"
    f = tmp_path / "orders.jsonl"
    f.write_bytes(json.dumps(a, ensure_ascii=False).encode() + b"\r\n" + _line(order_payload("U-2"))
                  + b'{"order_number": \n')
    r = cli("records", "enqueue", str(f), *ENQUEUE)
    _refused(r, f"{f}:3: not valid JSON")  # the third physical line, not the sixth
    f.write_bytes(json.dumps(a, ensure_ascii=False).encode() + b"\r\n" + _line(order_payload("U-2")))
    r = cli("records", "enqueue", str(f), *ENQUEUE)
    assert r.code == 0, r.err
    rows = cli("records", "list", "--json").json()
    assert sorted(row["entity_key"] for row in rows) == ["U-1", "U-2"]
    names = [cli("records", "show", str(row["id"]), "--reveal", "--json").json()["payload"]["customer"]["name"]
             for row in rows]
    assert "Jane\u2028Doe\u2029\u0085" in names


def test_a_byte_order_mark_at_the_start_is_accepted(cli, tmp_path: Path) -> None:
    f = tmp_path / "excel.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + _line(order_payload("B-1")))
    r = cli("records", "enqueue", str(f), *ENQUEUE)
    assert r.code == 0, r.err
    assert _count(cli) == 1


# --- limits in the models, through enqueue -----------------------------------------------------

def _inventory_file(tmp_path: Path, **change) -> Path:
    f = tmp_path / "inv.jsonl"
    f.write_bytes(_line(inventory_payload("MUG-WHITE")) + _line(inventory_payload("TSHIRT-RED-M") | change))
    return f


def test_a_20_mb_sku_is_refused_as_an_oversized_payload(cli, tmp_path: Path) -> None:
    f = _inventory_file(tmp_path, sku="S" * (20 * 1024 * 1024))
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "inventory")
    _refused(r, f"{f}:2: payload: at most 1 MiB (got 20.0 MiB)", "nothing was enqueued")
    assert _count(cli) == 0


def test_an_overlong_sku_names_the_limit(cli, tmp_path: Path) -> None:
    f = _inventory_file(tmp_path, sku="S" * 300)
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "inventory")
    _refused(r, f"{f}:2:", "sku: at most 255 characters (got 300)")
    assert _count(cli) == 0


def test_a_nul_in_a_sku_is_refused(cli, tmp_path: Path) -> None:
    f = _inventory_file(tmp_path, sku="SKU\u0000-1")
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "inventory")
    _refused(r, f"{f}:2:", "sku: must not contain control characters (NUL at position 4)")
    assert _count(cli) == 0


def test_a_40_digit_quantity_is_refused(cli, tmp_path: Path) -> None:
    bad = order_payload("Q-2")
    bad["lines"][0]["quantity"] = int("1" * 40)
    f = tmp_path / "orders.jsonl"
    f.write_bytes(_line(order_payload("Q-1")) + _line(bad))
    r = cli("records", "enqueue", str(f), *ENQUEUE)
    _refused(r, f"{f}:2:", "lines[0].quantity: at most 1e12 in absolute value")
    assert _count(cli) == 0


def test_a_40_digit_stock_level_is_refused(cli, tmp_path: Path) -> None:
    f = _inventory_file(tmp_path, available=10**40)
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "inventory")
    _refused(r, f"{f}:2:", "available: at most 1e12 in absolute value")
    assert _count(cli) == 0


# --- edit --file --------------------------------------------------------------------------------

def _unchanged(seed, rid: int, before) -> None:
    after = seed.row(rid)
    assert (after.state, after.version, after.payload_rev, after.payload) == (
        before.state, before.version, before.payload_rev, before.payload)


@pytest.mark.parametrize(("text", "problem"), [
    (b'{\n  "order_number": "\xe9X"\n}', "not valid UTF-8: line 2 column 20: byte 0xe9 is not UTF-8"),
    (b'{"lines":\n' + DEEP.encode() + b"}", "too deeply nested: line 2 column 32"),
    (b'{\n"total":\n' + HUGE_INT.encode() + b"}", "number too long: line 3 column 1: 5,000 digits"),
    (b'{"channel": "' + b"x" * (2 * 1024 * 1024) + b'"}', "payload: at most 1 MiB (got 2.0 MiB)"),
], ids=["utf8", "deep", "huge-int", "2-mib"])
def test_edit_file_with_bad_input_names_the_file_and_changes_nothing(cli, seed, tmp_path: Path, text: bytes,
                                                                     problem: str) -> None:
    rid = seed.failed(1)[0]
    before = seed.row(rid)
    f = tmp_path / "new.json"
    f.write_bytes(text)
    r = cli("records", "edit", str(rid), "--file", str(f), "--reason", "r")
    _refused(r, f"{f}: {problem}")
    _unchanged(seed, rid, before)
    assert cli("audit", "list", "--json", "--action", "edit").json() == []


def test_edit_file_with_a_nul_in_a_sku_is_refused(cli, seed, tmp_path: Path) -> None:
    rid = seed.failed(1)[0]
    before = seed.row(rid)
    bad = json.loads(before.payload)
    bad["lines"][0]["sku"] = "\u0000TSHIRT"
    f = tmp_path / "new.json"
    f.write_text(json.dumps(bad), encoding="utf-8")
    r = cli("records", "edit", str(rid), "--file", str(f), "--reason", "r")
    _refused(r, "lines[0].sku: must not contain control characters (NUL at position 1)")
    _unchanged(seed, rid, before)


# --- edit through $EDITOR ----------------------------------------------------------------------

EDITOR = """\
import os, sys
data = open(sys.argv[1], "rb").read()
new = open(os.environ["FAKE_EDITOR_CHANNEL"], "rb").read()
open(sys.argv[1], "wb").write(data.replace(b'"channel": "pos"', new))
"""


@pytest.mark.parametrize(("replacement", "problem"), [
    (b'"channel": "p\xffos"', "not valid UTF-8: line"),
    (b'"channel": ' + DEEP.encode(), "too deeply nested: line"),
    (b'"channel": ' + HUGE_INT.encode(), "number too long: line"),
], ids=["utf8", "deep", "huge-int"])  # short ids: pytest puts the id in an environment variable
def test_editor_output_with_bad_input_is_refused_and_changes_nothing(cli, seed, tmp_path: Path, monkeypatch,
                                                                     replacement: bytes, problem: str) -> None:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR, encoding="utf-8")
    monkeypatch.setenv("EDITOR", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}")
    (tmp_path / "channel").write_bytes(replacement)
    monkeypatch.setenv("FAKE_EDITOR_CHANNEL", str(tmp_path / "channel"))
    rid = seed.failed(1)[0]
    before = seed.row(rid)
    assert '"channel":"pos"' in before.payload.replace(" ", "")
    r = cli("records", "edit", str(rid), "--reason", "r")
    _refused(r, f"the edited payload: {problem}", "nothing was changed")
    # The line is the one the editor changed in the pretty-printed payload.
    line = next(n for n, text in enumerate(json.dumps(json.loads(before.payload), indent=2, sort_keys=True,
                                                      ensure_ascii=False).split("\n"), 1) if '"channel"' in text)
    assert f"line {line} column" in r.err
    _unchanged(seed, rid, before)
