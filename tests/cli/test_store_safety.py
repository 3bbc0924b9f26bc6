"""The store respects what it does not own: reads never lock or change it, foreign files are refused."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from syncops.store import dialect

from .conftest import order_payload


@pytest.fixture
def fast_busy(monkeypatch):
    # Before the fix a read waited for the write lock: fail in 50 ms instead of 5 s.
    monkeypatch.setattr(dialect, "BUSY_TIMEOUT_MS", 50)


def test_reads_work_while_another_process_holds_a_write_transaction(cli, seed, store_url, fast_busy) -> None:
    [rid] = seed.failed(1)
    assert cli("records", "retry", str(rid), "--reason", "try again").code == 0  # one audit event
    writer = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        r = cli("records", "list", "--json")
        assert r.code == 0, r.err
        assert [row["id"] for row in r.json()] == [rid]
        r = cli("records", "show", str(rid), "--json")
        assert r.code == 0, r.err
        assert r.json()["record"]["state"] == "pending"
        r = cli("audit", "list", "--json")
        assert r.code == 0, r.err
        assert [e["action"] for e in r.json()] == ["retry"]
        r = cli("status", "--json")
        assert r.json()["exit_code"] in (0, 1, 2), r.out
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def _snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir())


def _foreign(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    con.execute("INSERT INTO customers (name) VALUES ('Jane')")
    con.commit()
    con.close()
    return path


def _jsonl(tmp_path: Path) -> Path:
    f = tmp_path / "orders.jsonl"
    f.write_text(json.dumps(order_payload("IMP-1")) + "\n", encoding="utf-8")
    return f


def test_another_applications_sqlite_file_is_refused_and_left_byte_identical(cli, tmp_path) -> None:
    folder = tmp_path / "other-app"
    folder.mkdir()
    db = _foreign(folder / "app.db")
    before = _snapshot(db)
    url = f"sqlite:///{db}"
    for argv in (("records", "list"), ("audit", "list"), ("records", "show", "1"),
                 ("records", "enqueue", str(_jsonl(tmp_path)), "--tenant", "acme", "--flow", "orders")):
        r = cli(*argv, "--store", url)
        assert r.code == 1, (argv, r.out, r.err)
        assert "is not a syncops store: it holds tables customers, invoices" in r.err, argv
    r = cli("status", "--store", url)
    assert r.code == 3 and "not a syncops store" in r.out
    assert _snapshot(db) == before  # same bytes, same mtime, no -wal/-shm/-journal left beside it


def test_an_empty_file_is_refused_by_reads_and_made_a_store_by_a_command_that_creates(cli, tmp_path) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    url = f"sqlite:///{db}"
    r = cli("records", "list", "--store", url)
    assert r.code == 1 and "is an empty file, not a syncops store" in r.err
    assert db.stat().st_size == 0
    r = cli("records", "enqueue", str(_jsonl(tmp_path)), "--tenant", "acme", "--flow", "orders", "--store", url)
    assert r.code == 0, r.err
    assert len(cli("records", "list", "--json", "--store", url).json()) == 1


@pytest.fixture
def damaged(seed, store_url, tmp_path) -> dict[str, str]:
    """A random-bytes file and a syncops store cut in half (as a full disk or a bad copy leaves it)."""
    seed.orders(200)
    seed.close()
    good = Path(store_url.removeprefix("sqlite:///"))
    data = good.read_bytes()
    assert len(data) > 8192 and not good.with_name(good.name + "-wal").exists()
    truncated, noise = tmp_path / "truncated.db", tmp_path / "noise.db"
    truncated.write_bytes(data[: len(data) // 2])
    noise.write_bytes(os.urandom(8192))
    return {"truncated": f"sqlite:///{truncated}", "noise": f"sqlite:///{noise}"}


@pytest.mark.parametrize("which", ["truncated", "noise"])
def test_a_damaged_store_is_unknown_not_warning(cli, damaged, which) -> None:
    url = damaged[which]
    r = cli("status", "--store", url)
    assert r.code == 3, r.out + r.err
    assert r.out.startswith("SYNCOPS UNKNOWN: ") and "SQLite database" in r.out
    r = cli("status", "--json", "--store", url)
    assert r.code == 3
    data = r.json()
    assert (data["state"], data["exit_code"]) == ("unknown", 3)
    assert "SQLite database" in data["reasons"][0] and data["store"] == url
    r = cli("records", "list", "--store", url)
    assert r.code == 1 and "SQLite database" in r.err and "Traceback" not in r.err


def test_status_json_on_a_missing_store_is_json(cli, tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/nowhere/s.db"
    r = cli("status", "--json", "--store", url)
    assert r.code == 3
    data = r.json()
    assert (data["state"], data["exit_code"], data["store"]) == ("unknown", 3, url)
    assert "does not exist" in data["reasons"][0]
    assert not (tmp_path / "nowhere").exists()


def test_a_read_only_store_url_serves_reads(cli, seed, store_url) -> None:
    # SQLite's own read-only mode (a URI filename), for a store the reader may not write to.
    [rid] = seed.orders(1)
    path = store_url.removeprefix("sqlite:///")
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    r = cli("records", "list", "--json", "--store", url)
    assert r.code == 0, r.err
    assert [row["id"] for row in r.json()] == [rid]
    assert cli("records", "show", str(rid), "--store", url).code == 0
    assert cli("audit", "list", "--store", url).code == 0
