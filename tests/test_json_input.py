"""The strict JSON reader behind enqueue, edit and the console editor."""

from __future__ import annotations

import io

import pytest

from syncops.models.json_input import JsonInputError, decode, json_lines, parse


def error(text: str) -> JsonInputError:
    with pytest.raises(JsonInputError) as info:
        parse(text)
    return info.value


def test_nesting_at_the_limit_parses_and_one_more_is_refused_at_its_bracket() -> None:
    value, depth = parse("[" * 32 + "]" * 32), 0
    while isinstance(value, list):
        value, depth = (value[0] if value else None), depth + 1
    assert depth == 32
    e = error('{"a":\n  ' + "[" * 32 + "]" * 32 + "}")
    assert (e.kind, e.line, e.column) == ("too deeply nested", 2, 34)


def test_brackets_inside_strings_do_not_count() -> None:
    assert parse('{"note": "' + "[" * 500 + '"}') == {"note": "[" * 500}


def test_long_digit_strings_are_data_but_long_numbers_are_refused() -> None:
    assert parse('{"barcode": "' + "1" * 500 + '"}')["barcode"] == "1" * 500
    e = error('[1,\n 2, ' + "3" * 101 + "]")
    assert str(e) == "number too long: line 2 column 5: 101 digits (at most 100)"


def test_nan_and_infinity_are_not_json() -> None:
    assert str(error('{"a": [1, Infinity]}')) == "not valid JSON: line 1 column 11: Infinity is not a JSON number"


def test_unpaired_surrogate_escape_is_refused_but_a_pair_is_fine() -> None:
    assert parse('"\\ud83d\\ude00"') == "\U0001f600"
    assert error('{"name": "\\ud83d"}').kind == "not valid text"


def test_invalid_utf8_is_located_by_line_and_column() -> None:
    e = error(decode(b'{\n  "a": "ok",\n  "b": "\xc3\x28"\n}'))
    assert str(e) == "not valid UTF-8: line 3 column 9: byte 0xc3 is not UTF-8"


def test_json_lines_split_on_newline_only_and_strip_crlf(monkeypatch) -> None:
    data = b'{"a": "x\xe2\x80\xa8y"}\r\n\n  \n{"b": "\xc2\x85"}\n{"c": 1'
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    got = list(json_lines("-"))
    assert [n for n, _ in got] == [1, 4, 5]
    assert got[0][1] == {"a": "x\u2028y"} and got[1][1] == {"b": "\x85"}
    assert isinstance(got[2][1], JsonInputError) and got[2][1].on_line("f", 5).startswith("f:5: not valid JSON")



def test_payload_size_limit_is_exact_and_says_the_size(monkeypatch) -> None:
    limit = 1024 * 1024
    at_limit = b'"' + b"x" * (limit - 2) + b'"'
    over = b'"' + b"x" * (limit - 1) + b'"'
    data = at_limit + b"\r\n" + over + b"\n" + b"[" + b"1," * (3 * limit) + b"1]\n" + b"{}"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    got = list(json_lines("-"))
    assert got[0] == (1, "x" * (limit - 2))
    assert [(n, str(e)) for n, e in got[1:3]] == [
        (2, "payload: at most 1 MiB (got 1,048,577 bytes)"), (3, "payload: at most 1 MiB (got 6.0 MiB)")]
    assert got[3] == (4, {})


def test_an_already_parsed_edit_gets_the_same_size_limit() -> None:
    from syncops.models import sample_payload
    from syncops.services.actions import ActionError, validate_edit

    payload = sample_payload("product") | {"title": "t" * (1024 * 1024)}
    with pytest.raises(ActionError, match=r"the edited payload: payload: at most 1 MiB \(got 1,048,"):
        validate_edit("product", payload)
    assert validate_edit("product", sample_payload("product"))[1] == sample_payload("product")["sku"]
