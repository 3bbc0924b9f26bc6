"""`records enqueue FILE --tenant --flow`: all or nothing, idempotent, errors with file:line."""

from __future__ import annotations

import io
import json
from pathlib import Path

from .conftest import inventory_payload, order_payload


def _jsonl(path: Path, items: list) -> Path:
    path.write_text("".join((json.dumps(i) if not isinstance(i, str) else i) + "\n" for i in items),
                    encoding="utf-8")
    return path


def _count(cli) -> int:
    return len(cli("records", "list", "--json", "--limit", "1000").json())


def test_enqueue_valid_file_and_replay_reports_duplicates(cli, tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "orders.jsonl", [order_payload("A-1"), order_payload("A-2"), order_payload("A-3")])
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "orders")
    assert r.code == 0, r.err
    assert "enqueued 3 record(s) for acme/orders; 0 duplicate(s)" in r.out
    rows = cli("records", "list", "--json").json()
    assert {row["entity_key"] for row in rows} == {"A-1", "A-2", "A-3"}
    assert {(row["state"], row["tenant"], row["flow"], row["entity"], row["target"]) for row in rows} == {
        ("pending", "acme", "orders", "order", "erp")}
    # Replaying the same file is harmless.
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "orders", "--json")
    assert r.code == 0, r.err
    assert r.json() == {"enqueued": 0, "duplicates": 3, "superseded": 0}
    assert _count(cli) == 3


def test_enqueue_stores_the_validated_payload(cli, tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "inv.jsonl", [inventory_payload("TSHIRT-RED-M", available=7)])
    assert cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "inventory").code == 0
    rid = cli("records", "list", "--json").json()[0]["id"]
    shown = cli("records", "show", str(rid), "--json").json()
    assert shown["record"]["entity_key"] == "TSHIRT-RED-M@store-1"
    assert shown["payload"]["available"] == 7


def test_enqueue_on_a_coalescing_flow_supersedes_older_values(cli, tmp_path: Path) -> None:
    first = _jsonl(tmp_path / "a.jsonl", [inventory_payload("TSHIRT-RED-M", available=1)])
    second = _jsonl(tmp_path / "b.jsonl", [inventory_payload("TSHIRT-RED-M", available=2)])
    assert cli("records", "enqueue", str(first), "--tenant", "acme", "--flow", "inventory").code == 0
    r = cli("records", "enqueue", str(second), "--tenant", "acme", "--flow", "inventory", "--json")
    assert r.json() == {"enqueued": 1, "duplicates": 0, "superseded": 1}
    states = sorted(row["state"] for row in cli("records", "list", "--json").json())
    assert states == ["pending", "superseded"]


def test_malformed_line_names_file_and_line_and_enqueues_nothing(cli, tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "bad.jsonl", [order_payload("A-1"), "", '{"order_number": "A-2", ', order_payload("A-3")])
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "orders")
    assert r.code == 1
    assert f"{f}:3: not valid JSON" in r.err
    assert "nothing was enqueued" in r.err and "Traceback" not in r.err
    assert _count(cli) == 0


def test_non_object_line_is_refused(cli, tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "list.jsonl", [order_payload("A-1"), [1, 2]])
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "orders")
    assert r.code == 1 and f"{f}:2: expected a JSON object, got list" in r.err
    assert _count(cli) == 0


def test_model_validation_failure_names_the_field(cli, tmp_path: Path) -> None:
    bad = order_payload("A-2")
    bad["lines"][0]["quantity"] = "0"
    f = _jsonl(tmp_path / "orders.jsonl", [order_payload("A-1"), bad])
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "orders")
    assert r.code == 1
    assert f"{f}:2:" in r.err and "lines[0].quantity" in r.err and "must be >= 1" in r.err
    assert "1 bad line(s)" in r.err
    assert _count(cli) == 0


def test_wrong_entity_for_the_flow_is_refused(cli, tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "inv.jsonl", [inventory_payload("TSHIRT-RED-M")])
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "orders")
    assert r.code == 1 and f"{f}:1:" in r.err and "order_number" in r.err
    assert _count(cli) == 0


def test_key_field_gives_stable_idempotency_keys(cli, tmp_path: Path) -> None:
    a = dict(order_payload("A-1"), legacy_id="L-100")
    f = _jsonl(tmp_path / "legacy.jsonl", [a])
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "orders", "--key-field", "legacy_id")
    assert r.code == 0, r.err
    row = cli("records", "list", "--json").json()[0]
    shown = cli("records", "show", str(row["id"]), "--json").json()
    assert shown["record"]["idempotency_key"] == "import:L-100"
    # Same legacy id with a changed payload: still the same source event, so a duplicate.
    changed = dict(order_payload("A-1"), legacy_id="L-100", channel="web")
    _jsonl(f, [changed])
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "orders", "--key-field", "legacy_id",
            "--json")
    assert r.json()["duplicates"] == 1 and r.json()["enqueued"] == 0
    # The key field is not part of the canonical payload (the model forbids extra fields).
    assert "legacy_id" not in shown["payload"]


def test_key_field_missing_on_a_line(cli, tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "legacy.jsonl", [dict(order_payload("A-1"), legacy_id="L-1"), order_payload("A-2")])
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "orders", "--key-field", "legacy_id")
    assert r.code == 1 and f"{f}:2: missing idempotency key field 'legacy_id'" in r.err
    assert _count(cli) == 0


def test_enqueue_from_stdin(cli, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(order_payload("S-1")) + "\n"))
    r = cli("records", "enqueue", "-", "--tenant", "acme", "--flow", "orders")
    assert r.code == 0 and "enqueued 1 record(s)" in r.out


def test_enqueue_unknown_tenant_flow_or_file(cli, tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "o.jsonl", [order_payload("A-1")])
    r = cli("records", "enqueue", str(f), "--tenant", "nobody", "--flow", "orders")
    assert r.code == 1 and "tenant 'nobody' is not in the config" in r.err
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "nope")
    assert r.code == 1 and "no flow 'nope'" in r.err and "orders" in r.err
    r = cli("records", "enqueue", str(tmp_path / "missing.jsonl"), "--tenant", "acme", "--flow", "orders")
    assert r.code == 1 and "no such file" in r.err
    assert _count(cli) == 0


def test_key_field_can_be_a_field_of_the_payload_itself(cli, tmp_path: Path) -> None:
    f = _jsonl(tmp_path / "orders.jsonl", [order_payload("A-7"), order_payload("A-8")])
    r = cli("records", "enqueue", str(f), "--tenant", "acme", "--flow", "orders", "--key-field", "order_number")
    assert r.code == 0, r.err
    rows = cli("records", "list", "--json").json()
    keys = {cli("records", "show", str(x["id"]), "--json").json()["record"]["idempotency_key"] for x in rows}
    assert keys == {"import:A-7", "import:A-8"}
