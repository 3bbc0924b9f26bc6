"""`records edit`: from a file or through $EDITOR; validated, versioned, audited, and all-or-nothing."""

from __future__ import annotations

import io
import json
import shlex
import sys
from pathlib import Path

import pytest

from syncops.store.categories import Category

from .conftest import order_payload

EDITOR = """\
import json, os, sqlite3, sys
path = sys.argv[1]
mode = os.environ["FAKE_EDITOR_MODE"]
with open(os.environ["FAKE_EDITOR_LOG"], "a") as log:
    log.write(oct(os.stat(path).st_mode & 0o777) + "\\n")
if mode == "fail":
    sys.exit(3)
data = json.load(open(path))
if mode == "fix-tax":
    data["lines"][0]["tax_code"] = "reduced"
elif mode == "bad-quantity":
    data["lines"][0]["quantity"] = "0"
elif mode == "race":  # the engine changes the record while the technician is in the editor
    data["lines"][0]["tax_code"] = "reduced"
    db = sqlite3.connect(os.environ["FAKE_EDITOR_DB"])
    db.execute("UPDATE records SET version = version + 1")
    db.commit()
if mode == "garbage":
    open(path, "w").write("{not json")
else:
    json.dump(data, open(path, "w"), indent=2)
"""


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str):
    """Sets $EDITOR to a small python script; returns a function choosing what it does."""
    script = tmp_path / "fake_editor.py"
    script.write_text(EDITOR, encoding="utf-8")
    log = tmp_path / "editor.log"
    monkeypatch.setenv("EDITOR", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}")
    monkeypatch.setenv("FAKE_EDITOR_LOG", str(log))
    monkeypatch.setenv("FAKE_EDITOR_DB", store_url.removeprefix("sqlite:///"))

    def use(mode: str) -> Path:
        monkeypatch.setenv("FAKE_EDITOR_MODE", mode)
        return log

    return use


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _unchanged(seed, rid: int, before) -> None:
    after = seed.row(rid)
    assert (after.state, after.version, after.payload_rev, after.payload) == (
        before.state, before.version, before.payload_rev, before.payload)


def test_edit_from_file_saves_rev_2_and_retries(cli, seed, tmp_path: Path) -> None:
    rid = seed.failed(1, message="rejected: bad tax code")[0]
    new = json.loads(seed.row(rid).payload)
    new["lines"][0]["tax_code"] = "reduced"
    f = _write(tmp_path / "new.json", json.dumps(new))
    r = cli("records", "edit", str(rid), "--file", str(f), "--reason", "tax code typo")
    assert r.code == 0, r.err
    assert f"record {rid}: payload rev 2 saved; pending" in r.out
    assert '+      "tax_code": "reduced"' in r.out  # the diff is shown
    row = seed.row(rid)
    assert row.payload_rev == 2 and row.state == "pending"
    assert json.loads(row.payload)["lines"][0]["tax_code"] == "reduced"
    shown = cli("records", "show", str(rid), "--json").json()
    assert [(v["rev"], v["reason"]) for v in shown["versions"]] == [(1, "original"), (2, "tax code typo")]
    assert shown["versions"][1]["author"] == "tech1"
    (ev,) = cli("audit", "list", "--json", "--action", "edit").json()
    assert ev["target_id"] == str(rid) and ev["reason"] == "tax code typo"
    assert json.loads(ev["after"])["payload_rev"] == 2


def test_edit_with_invalid_json_changes_nothing(cli, seed, tmp_path: Path) -> None:
    rid = seed.failed(1)[0]
    before = seed.row(rid)
    f = _write(tmp_path / "new.json", '{"order_number": "X",\n  oops}')
    r = cli("records", "edit", str(rid), "--file", str(f), "--reason", "r")
    assert r.code == 1
    assert "not valid JSON" in r.err and "line 2" in r.err and "Traceback" not in r.err
    _unchanged(seed, rid, before)
    assert cli("audit", "list", "--json").json() == []


def test_edit_failing_the_model_names_the_field_and_changes_nothing(cli, seed, tmp_path: Path) -> None:
    rid = seed.failed(1)[0]
    before = seed.row(rid)
    bad = json.loads(before.payload)
    bad["lines"][0]["quantity"] = "0"
    f = _write(tmp_path / "new.json", json.dumps(bad))
    r = cli("records", "edit", str(rid), "--file", str(f), "--reason", "r")
    assert r.code == 1
    assert "not a valid order" in r.err and "lines[0].quantity" in r.err
    _unchanged(seed, rid, before)


def test_edit_needs_a_reason_without_a_terminal(cli, seed, tmp_path: Path) -> None:
    rid = seed.failed(1)[0]
    before = seed.row(rid)
    new = json.loads(before.payload)
    new["channel"] = "web"
    f = _write(tmp_path / "new.json", json.dumps(new))
    r = cli("records", "edit", str(rid), "--file", str(f))
    assert r.code == 1 and "--reason is required" in r.err
    _unchanged(seed, rid, before)


def test_edit_asks_for_the_reason_on_a_terminal(cli, seed, tmp_path: Path, monkeypatch) -> None:
    rid = seed.failed(1)[0]
    new = json.loads(seed.row(rid).payload)
    new["channel"] = "web"
    f = _write(tmp_path / "new.json", json.dumps(new))
    monkeypatch.setattr("sys.stdin", FakeTty("customer asked\n"))
    r = cli("records", "edit", str(rid), "--file", str(f))
    assert r.code == 0, r.err
    assert seed.row(rid).payload_rev == 2
    assert cli("audit", "list", "--json").json()[0]["reason"] == "customer asked"


def test_edit_of_a_delivered_or_unknown_record_is_refused(cli, seed, tmp_path: Path) -> None:
    f = _write(tmp_path / "new.json", json.dumps(order_payload("Z-1")))
    r = cli("records", "edit", "999999", "--file", str(f), "--reason", "r")
    assert r.code == 1 and "no record with id 999999" in r.err
    rid = seed.failed(1)[0]
    assert cli("records", "resolve", str(rid), "--reason", "done").code == 0
    r = cli("records", "edit", str(rid), "--file", str(f), "--reason", "r")
    assert r.code == 1 and f"cannot edit record {rid}: it is resolved" in r.err
    assert seed.row(rid).payload_rev == 1


def test_edit_with_the_same_payload_is_a_no_op(cli, seed, tmp_path: Path) -> None:
    rid = seed.failed(1)[0]
    before = seed.row(rid)
    f = _write(tmp_path / "same.json", before.payload)
    r = cli("records", "edit", str(rid), "--file", str(f), "--reason", "r")
    assert r.code == 0 and "unchanged" in r.out
    _unchanged(seed, rid, before)


# --- through $EDITOR ------------------------------------------------------------------------------

def test_edit_in_the_editor(cli, seed, editor) -> None:
    log = editor("fix-tax")
    rid = seed.failed(1)[0]
    r = cli("records", "edit", str(rid), "--reason", "fixed tax code")
    assert r.code == 0, r.err
    row = seed.row(rid)
    assert (row.payload_rev, row.state) == (2, "pending")
    assert json.loads(row.payload)["lines"][0]["tax_code"] == "reduced"
    assert log.read_text().split() == ["0o600"]  # the temp file holding customer data is private


def test_editor_producing_an_invalid_payload_without_a_terminal(cli, seed, editor) -> None:
    editor("bad-quantity")
    rid = seed.failed(1)[0]
    before = seed.row(rid)
    r = cli("records", "edit", str(rid), "--reason", "r")
    assert r.code == 1
    assert "lines[0].quantity" in r.err and "nothing was changed" in r.err
    _unchanged(seed, rid, before)


def test_editor_producing_garbage(cli, seed, editor) -> None:
    editor("garbage")
    rid = seed.failed(1)[0]
    before = seed.row(rid)
    r = cli("records", "edit", str(rid), "--reason", "r")
    assert r.code == 1 and "not valid JSON" in r.err
    _unchanged(seed, rid, before)


def test_editor_failing(cli, seed, editor) -> None:
    editor("fail")
    rid = seed.failed(1)[0]
    before = seed.row(rid)
    r = cli("records", "edit", str(rid), "--reason", "r")
    assert r.code == 1 and "exited with 3" in r.err and "nothing was changed" in r.err
    _unchanged(seed, rid, before)


def test_editor_leaving_the_payload_alone(cli, seed, editor) -> None:
    editor("noop")
    rid = seed.failed(1)[0]
    before = seed.row(rid)
    r = cli("records", "edit", str(rid), "--reason", "r")
    assert r.code == 0 and "unchanged" in r.out
    _unchanged(seed, rid, before)


def test_editor_leaving_a_hand_built_payload_alone_is_still_a_no_op(cli, seed, editor) -> None:
    # Stored without the model's defaults (as the Shopify connector builds it): leaving the editor
    # untouched must not save a "new" revision that only adds defaults, nor retry the record.
    editor("noop")
    rid = seed.enqueue([order_payload("RAW-1")], normalise=False)[0]
    seed.settle([rid], Category.VALIDATION, "rejected")
    before = seed.row(rid)
    assert "taxes_included" not in json.loads(before.payload)
    r = cli("records", "edit", str(rid), "--reason", "r")
    assert r.code == 0 and "unchanged" in r.out
    _unchanged(seed, rid, before)


def test_a_change_made_while_editing_is_not_overwritten(cli, seed, editor) -> None:
    editor("race")
    rid = seed.failed(1)[0]
    r = cli("records", "edit", str(rid), "--reason", "r")
    assert r.code == 1 and "changed since you loaded it" in r.err
    assert seed.row(rid).payload_rev == 1


def _customer_edit(seed, tmp_path: Path) -> tuple[int, Path]:
    rid = seed.failed(1)[0]
    new = json.loads(seed.row(rid).payload)
    new["customer"]["email"] = "jane.doe@example.net"
    new["customer"]["name"] = "Jane Q. Doe"
    return rid, _write(tmp_path / "new.json", json.dumps(new))


def test_edit_from_file_masks_customer_data_in_the_diff(cli, seed, tmp_path: Path) -> None:
    rid, f = _customer_edit(seed, tmp_path)
    r = cli("records", "edit", str(rid), "--file", str(f), "--reason", "customer asked")
    assert r.code == 0, r.err
    for secret in ("jane@example.com", "jane.doe@example.net", "Jane Doe", "Jane Q. Doe"):
        assert secret not in r.out
    assert '-    "email": "***",' in r.out and '+    "email": "***",' in r.out  # still says what changed
    assert json.loads(seed.row(rid).payload)["customer"]["email"] == "jane.doe@example.net"
    assert cli("audit", "list", "--json", "--action", "reveal_pii").json() == []


def test_edit_from_file_with_reveal_shows_customer_data_and_audits_it(cli, seed, tmp_path: Path) -> None:
    rid, f = _customer_edit(seed, tmp_path)
    r = cli("records", "edit", str(rid), "--file", str(f), "--reason", "customer asked", "--reveal")
    assert r.code == 0, r.err
    assert '-    "email": "jane@example.com",' in r.out and '+    "email": "jane.doe@example.net",' in r.out
    (ev,) = cli("audit", "list", "--json", "--action", "reveal_pii").json()
    assert ev["target_id"] == str(rid) and ev["actor"] == "tech1" and "--reveal" in ev["reason"]
