"""Customer data stays masked in every export unless revealed on purpose (and audited)."""

from __future__ import annotations

import json

from tests.cli.conftest import order_payload


def test_an_edited_email_is_masked_in_versions_diffs_and_the_audit_export(cli, seed, tmp_path):
    [rid] = seed.failed(1)
    row = seed.row(rid)
    real = json.loads(row.payload)["customer"]["email"]
    edited = order_payload(json.loads(row.payload)["order_number"])
    edited["customer"]["email"] = "jane.real@privatemail.example"
    new = tmp_path / "new.json"
    new.write_text(json.dumps(edited))
    assert cli("records", "edit", str(rid), "--file", str(new), "--reason", "customer typo").code == 0

    shown = cli("records", "show", str(rid), "--json").json()
    text = json.dumps(shown)
    assert "jane.real@privatemail.example" not in text and real not in text
    assert [v["rev"] for v in shown["versions"]] == [1, 2] and shown["versions"][1]["diff"]

    human = cli("records", "show", str(rid)).out
    assert "jane.real@privatemail.example" not in human and "payload versions" in human

    exported = cli("audit", "list", "--json").out
    assert "jane.real@privatemail.example" not in exported and '"edit"' in exported

    revealed = cli("records", "show", str(rid), "--reveal", "--json").json()
    assert "jane.real@privatemail.example" in json.dumps(revealed)
    actions = [e["action"] for e in cli("audit", "list", "--json").json()]
    assert "reveal_pii" in actions
