"""The drop-folder connector: readiness, incremental reads, bad rows, restarts, moves, atomic writes."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from syncops.connectors.base import SOURCE_PROBLEM, Delivery
from syncops.connectors.errors import DeliveryError
from syncops.connectors.files import FilesConnector

STOCK_HEADER = "ItemCode;Store;Qty;CountedAt\n"
OPTIONS = {
    "settle_seconds": 10,
    "layouts": {
        "inventory": {
            "format": "csv", "pattern": "stock-*.csv", "delimiter": ";",
            "columns": {"sku": "ItemCode", "location_id": "Store",
                        "available": {"column": "Qty", "type": "integer"},
                        "changed_at": {"column": "CountedAt", "type": "timestamp", "required": False}},
        },
        "order": {
            "format": "csv", "pattern": "sales-*.csv", "write_pattern": "order-{key}.csv",
            "columns": {"order_number": "Receipt", "placed_at": "Time", "currency": {"value": "EUR"},
                        "lines.sku": "Item", "lines.quantity": "Qty", "lines.unit_price": "Price"},
        },
    },
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def run(coro):
    return asyncio.run(coro)


def make(tmp_path: Path, clock: Clock, **extra) -> FilesConnector:
    return FilesConnector(f"file://{tmp_path}", "", clock=clock, options={**OPTIONS, **extra})


def drop(tmp_path: Path, name: str, text: str | bytes, folder: str = "inbox") -> Path:
    path = tmp_path / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def stock_rows(*rows: tuple[str, str, object]) -> str:
    return STOCK_HEADER + "".join(f"{s};{loc};{q};2026-12-01T09:00:00Z\n" for s, loc, q in rows)


class Reader:
    """Plays the poller: pull pages until has_more is False, 'committing' each cursor."""

    def __init__(self, conn: FilesConnector) -> None:
        self.conn = conn
        self.cursor: str | None = None
        self.stored: dict[str, dict] = {}  # idempotency key -> change (the store ignores duplicates)
        self.order: list[str] = []

    def poll(self, limit: int = 500, pages: int = 50) -> list:
        new = []
        for _ in range(pages):
            page = run(self.conn.pull("inventory" if "inventory" in self.entity else "order", self.cursor, limit))
            for c in page.changes:
                if c.idempotency_key not in self.stored:
                    self.stored[c.idempotency_key] = c
                    new.append(c)
            self.cursor = page.cursor
            if not page.has_more:
                break
        return new

    entity = "inventory"


def settle(clock: Clock, reader: Reader) -> list:
    """First sight starts the settle clock; after settle_seconds the file is read."""
    first = reader.poll()
    clock.now += 11
    return first + reader.poll()


def test_incremental_reads_each_file_once_then_moves_it_to_done(tmp_path):
    clock = Clock()
    reader = Reader(make(tmp_path, clock))
    drop(tmp_path, "stock-1.csv", stock_rows(("TSHIRT-RED-M", "store-1", 5), ("MUG-WHITE", "store-1", 0)))
    assert reader.poll() == []  # just appeared: not settled yet
    clock.now += 11
    got = reader.poll()
    assert [(c.entity_key, c.payload["available"]) for c in got] == [("TSHIRT-RED-M@store-1", 5),
                                                                     ("MUG-WHITE@store-1", 0)]
    assert got[0].payload["changed_at"] == "2026-12-01T09:00:00+00:00"
    assert not (tmp_path / "inbox" / "stock-1.csv").exists()
    assert (tmp_path / "done" / "stock-1.csv").read_text().startswith(STOCK_HEADER)

    os.utime(drop(tmp_path, "stock-2.csv", stock_rows(("CAP-BLK", "store-1", 7))), (2e9, 2e9))
    assert [c.entity_key for c in settle(clock, reader)] == ["CAP-BLK@store-1"]
    assert reader.poll() == []
    assert len(reader.stored) == 3


def test_files_are_read_oldest_first(tmp_path):
    clock = Clock()
    reader = Reader(make(tmp_path, clock))
    os.utime(drop(tmp_path, "stock-b.csv", stock_rows(("B", "s", 1))), (100, 100))
    os.utime(drop(tmp_path, "stock-a.csv", stock_rows(("A", "s", 1))), (200, 200))
    os.utime(drop(tmp_path, "stock-c.csv", stock_rows(("C", "s", 1))), (100, 100))
    assert [c.payload["sku"] for c in settle(clock, reader)] == ["B", "C", "A"]


def test_a_file_still_being_written_is_not_read_until_it_settles(tmp_path):
    clock = Clock()
    reader = Reader(make(tmp_path, clock))
    drop(tmp_path, ".stock-3.csv.swp", "junk")
    drop(tmp_path, "stock-3.csv.part", stock_rows(("A", "s", 1)))  # the writer's temp name
    path = drop(tmp_path, "stock-3.csv", STOCK_HEADER + "A;s;1;2026-12-01T09:00:00Z\nB;s;")  # mid-line
    assert settle(clock, reader) == []  # no final newline: still being written
    with open(path, "a") as f:
        f.write("2;2026-12-01T09:00:00Z\n")
    assert reader.poll() == []  # it grew: the settle clock starts over
    clock.now += 5
    with open(path, "a") as f:
        f.write("C;s;3;2026-12-01T09:00:00Z\n")
    os.utime(path, (os.path.getmtime(path) + 1,) * 2)
    assert reader.poll() == []
    clock.now += 11
    assert [c.payload["sku"] for c in reader.poll()] == ["A", "B", "C"]
    assert reader.poll() == []
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == [".stock-3.csv.swp", "stock-3.csv.part"]


def test_ready_marker_mode_waits_for_the_ok_file(tmp_path):
    clock = Clock()
    reader = Reader(make(tmp_path, clock, ready_marker=True, settle_seconds=0))
    drop(tmp_path, "stock-4.csv", stock_rows(("A", "s", 1)))
    assert reader.poll() == []
    drop(tmp_path, "stock-4.csv.ok", "")
    assert [c.payload["sku"] for c in reader.poll()] == ["A"]
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["stock-4.csv", "stock-4.csv.ok"]


def test_a_bad_row_names_file_line_and_column_and_the_rest_goes_on(tmp_path):
    clock = Clock()
    reader = Reader(make(tmp_path, clock))
    drop(tmp_path, "stock-5.csv",
         (STOCK_HEADER + "A;s;1;\nB;s;lots;\n;s;2;\nC;s;-1;\n").encode() + b"D\xe9;s;4;\n" + b"E;s;5;\n")
    got = settle(clock, reader)
    good = [c.payload["sku"] for c in got if SOURCE_PROBLEM not in c.payload]
    bad = [c.payload[SOURCE_PROBLEM] for c in got if SOURCE_PROBLEM in c.payload]
    assert good == ["A", "E"]
    assert bad == [
        "stock-5.csv:3: column Qty (available): must be a whole number",
        "stock-5.csv:4: column ItemCode (sku): required, empty",
        "stock-5.csv:5: column Qty (available): must be >= 0",
        "stock-5.csv:6: column ItemCode (sku): not valid utf-8 (character 2)",
    ]
    assert (tmp_path / "done" / "stock-5.csv").exists()  # bad rows are records, not a broken file


def test_jsonl_bad_lines_name_line_and_column(tmp_path):
    clock = Clock()
    opts = {"settle_seconds": 0, "layouts": {"inventory": {"format": "jsonl", "pattern": "*.jsonl"}}}
    reader = Reader(FilesConnector(f"file://{tmp_path}", "", clock=clock, options=opts))
    good = {"sku": "A", "location_id": "s", "available": 1, "changed_at": "2026-12-01T09:00:00Z"}
    drop(tmp_path, "c.jsonl", json.dumps(good).encode() + b'\n{"sku": "B",, }\n' + b'{"sku": "\xff"}\n'
         + json.dumps({**good, "available": "x"}).encode() + b"\n")
    got = reader.poll()
    assert [c.payload.get(SOURCE_PROBLEM) for c in got] == [
        None, "c.jsonl:2:13: not valid JSON (Expecting property name enclosed in double quotes)",
        "c.jsonl:3:10: not valid UTF-8", "c.jsonl:4: field available: must be a whole number"]


def test_a_file_that_cannot_be_read_goes_to_error_with_a_reason(tmp_path):
    clock = Clock()
    reader = Reader(make(tmp_path, clock))
    drop(tmp_path, "stock-6.csv", "Sku;Where;Count\nA;s;1\n")
    got = settle(clock, reader)
    assert len(got) == 1 and "the header has no column 'ItemCode'" in got[0].payload[SOURCE_PROBLEM]
    assert not (tmp_path / "inbox" / "stock-6.csv").exists()
    assert (tmp_path / "error" / "stock-6.csv").exists()
    assert "the header has no column 'ItemCode'" in (tmp_path / "error" / "stock-6.csv.error.txt").read_text()


def test_restart_mid_file_neither_loses_nor_duplicates(tmp_path):
    clock = Clock()
    drop(tmp_path, "stock-7.csv", stock_rows(*[(f"SKU-{i}", "s", i) for i in range(10)]))
    first = Reader(make(tmp_path, clock))
    first.poll()
    clock.now += 11
    # Three pages committed, then the engine dies (the cursor of page 3 is what the store holds).
    for _ in range(3):
        page = run(first.conn.pull("inventory", first.cursor, 3))
        first.stored.update({c.idempotency_key: c for c in page.changes})
        first.cursor = page.cursor
    # A fourth page was read but never committed: its rows come again after the restart.
    run(first.conn.pull("inventory", first.cursor, 3))
    committed = first.cursor
    assert len(first.stored) == 9

    again = Reader(make(tmp_path, clock))  # new process: fresh settle memory, same store
    again.cursor, again.stored = committed, dict(first.stored)
    assert settle(clock, again)[0].payload["sku"] == "SKU-9"
    assert sorted(c.payload["sku"] for c in again.stored.values()) == sorted(f"SKU-{i}" for i in range(10))
    assert (tmp_path / "done" / "stock-7.csv").exists()


def test_crash_after_reading_before_the_move_stores_nothing_twice(tmp_path):
    clock = Clock()
    drop(tmp_path, "stock-8.csv", stock_rows(("A", "s", 1), ("B", "s", 2)))
    reader = Reader(make(tmp_path, clock))
    reader.poll()
    clock.now += 11
    page = run(reader.conn.pull("inventory", None, 500))
    keys = [c.idempotency_key for c in page.changes]
    assert len(keys) == 2
    # Crash before the commit: the store still has no cursor, so the file is read again, with the
    # same idempotency keys (the store drops them as duplicates of nothing lost).
    again = Reader(make(tmp_path, clock))
    assert [c.idempotency_key for c in settle(clock, again)] == keys
    # Crash after the commit, before the move: the committed cursor moves the file, reads nothing.
    third = Reader(make(tmp_path, clock))
    third.cursor = page.cursor
    assert third.poll() == []
    assert (tmp_path / "done" / "stock-8.csv").exists() and not (tmp_path / "inbox" / "stock-8.csv").exists()


def test_the_same_name_dropped_again_with_new_content_is_read_and_kept_apart_in_done(tmp_path):
    clock = Clock()
    reader = Reader(make(tmp_path, clock))
    drop(tmp_path, "stock-daily.csv", stock_rows(("A", "s", 1)))
    settle(clock, reader)
    drop(tmp_path, "stock-daily.csv", stock_rows(("A", "s", 2)))
    assert [c.payload["available"] for c in settle(clock, reader)] == [2]
    assert len(list((tmp_path / "done").iterdir())) == 2


def test_orders_group_consecutive_rows_of_one_receipt(tmp_path):
    clock = Clock()
    reader = Reader(make(tmp_path, clock))
    reader.entity = "order"
    drop(tmp_path, "sales-1.csv", "Receipt,Time,Item,Qty,Price\n"
         "R1,2026-12-01 10:00:00,MUG,2,4.50\nR1,2026-12-01 10:00:00,CAP,1,10\n"
         "R2,2026-12-01 10:05:00,MUG,x,4.50\nR3,2026-12-01 10:06:00,CAP,1,10\n")
    got = settle(clock, reader)
    assert [c.entity_key for c in got] == ["R1", "sales-1.csv:4", "R3"]
    r1 = got[0].payload
    assert [ln["sku"] for ln in r1["lines"]] == ["MUG", "CAP"] and r1["total"] == "19.00"
    assert r1["placed_at"] == "2026-12-01T10:00:00+00:00" and r1["currency"] == "EUR"
    assert got[1].payload[SOURCE_PROBLEM] == "sales-1.csv:4: column Qty (lines.quantity): must be a decimal number"


def delivery(i: int, key: str, payload: dict) -> Delivery:
    return Delivery(record_id=i, delivery_key=f"dk-{i}-{key}", entity_key=key, payload=payload)


ORDER = {"order_number": "W-1001", "channel": "web", "status": "paid", "placed_at": "2026-12-01T10:00:00+00:00",
         "currency": "EUR", "total": "9.00", "lines": [{"sku": "MUG", "quantity": "2", "unit_price": "4.50"}]}


def test_push_writes_each_order_atomically_and_a_replay_writes_the_same_name(tmp_path, monkeypatch):
    clock = Clock()
    conn = make(tmp_path, clock)
    (tmp_path / "outbox").mkdir()
    seen_during_write: list[list[str]] = []
    real_replace = os.replace

    def watching_replace(src, dst):
        # Just before the rename the outbox holds only the dotted temp file, fully written.
        seen_during_write.append(sorted(os.listdir(tmp_path / "outbox")))
        assert Path(src).name.startswith(".") and Path(src).read_bytes().endswith(b"\n")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", watching_replace)
    results = run(conn.push("order", [delivery(1, "W-1001", ORDER)]))
    assert results[0].error is None and results[0].target_ref == "order-W-1001.csv"
    assert seen_during_write == [[".order-W-1001.csv.tmp"]]
    text = (tmp_path / "outbox" / "order-W-1001.csv").read_text()
    assert text == "Receipt,Time,Item,Qty,Price\nW-1001,2026-12-01T10:00:00+00:00,MUG,2,4.50\n"
    run(conn.push("order", [delivery(1, "W-1001", ORDER)]))  # a replay after a lost answer
    assert os.listdir(tmp_path / "outbox") == ["order-W-1001.csv"]


def test_missing_root_is_unavailable_and_a_read_only_outbox_is_auth(tmp_path, monkeypatch):
    clock = Clock()
    gone = FilesConnector(f"file://{tmp_path}/not-mounted", "", clock=clock, options=OPTIONS)
    with pytest.raises(DeliveryError) as exc:
        run(gone.pull("inventory", None, 10))
    assert exc.value.category == "unavailable" and "not-mounted" in exc.value.message
    conn = make(tmp_path, clock)
    assert "writable" in run(conn.check_auth())

    def refused(*_a, **_k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "fsync", refused)  # as a read-only share answers the write
    with pytest.raises(DeliveryError) as exc:
        run(conn.check_auth())
    assert exc.value.category == "auth" and "permission denied" in exc.value.message


def test_restart_against_the_real_store_keeps_every_row_exactly_once(tmp_path):
    from sqlalchemy import text

    from syncops.store import lifecycle
    from syncops.store.db import open_store
    from syncops.store.lifecycle import NewRecord

    store = open_store(f"sqlite:///{tmp_path}/store.db")
    clock = Clock()
    drop(tmp_path, "stock-9.csv", stock_rows(*[(f"SKU-{i}", "s", i) for i in range(7)]))

    def poll_pages(conn: FilesConnector, pages: int, commit_last: bool = True) -> None:
        cursor = lifecycle.load_cursor(store, "acme", "stock")
        for n in range(pages):
            page = run(conn.pull("inventory", cursor, 3))
            if n == pages - 1 and not commit_last:
                return  # the process dies before this page reaches the store
            records = [NewRecord(tenant="acme", flow="stock", entity="inventory", entity_key=c.entity_key,
                                 idempotency_key=c.idempotency_key, target="web", payload=c.payload,
                                 source_ts=c.changed_at, coalesce=False) for c in page.changes]
            lifecycle.enqueue(store, records, cursor=("acme", "stock", page.cursor))
            cursor = page.cursor

    try:
        first = make(tmp_path, clock)
        run(first.pull("inventory", None, 3))  # first sight
        clock.now += 11
        poll_pages(first, 2, commit_last=False)  # page 1 stored, page 2 read and lost in the crash
        second = make(tmp_path, clock)  # restart: new process, continuing from the store's cursor
        poll_pages(second, 5)
        with store.read() as db:
            keys = [r[0] for r in db.execute(text("select entity_key from records order by id"))]
        assert keys == [f"SKU-{i}@s" for i in range(7)]
        assert (tmp_path / "done" / "stock-9.csv").exists()
    finally:
        store.close()


def test_reading_needs_a_pattern_so_one_flow_never_takes_another_entitys_files(tmp_path):
    conn = make(tmp_path, Clock(), layouts={"order": {"format": "jsonl"}})
    drop(tmp_path, "stock-1.csv", stock_rows(("A", "s", 1)))
    with pytest.raises(DeliveryError) as exc:
        run(conn.pull("order", None, 10))
    assert exc.value.category == "validation" and "options.layouts.order has no `pattern:`" in exc.value.message
    assert (tmp_path / "inbox" / "stock-1.csv").exists()
