"""`bench store`'s SQL floor is only honest if the replay does exactly the work syncops did."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from syncops.bench.sql_replay import replay, schema_of
from syncops.bench.store import bench_syncops

TABLES = ("records", "attempts", "flow_minutes")


def _dump(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}
    finally:
        conn.close()


def test_the_replayed_statements_leave_the_store_exactly_as_syncops_left_it(tmp_path: Path) -> None:
    steps: list = []
    bench_syncops(tmp_path / "syncops.db", 250, "NORMAL", steps=steps)
    assert sum(1 for sql, _p, _m in steps if sql == "COMMIT") >= 3 * 3  # enqueue, claim, settle per batch

    seconds = replay(steps, schema_of(tmp_path / "syncops.db"), tmp_path / "replay.db", "NORMAL")

    assert seconds > 0
    ours, replayed = _dump(tmp_path / "syncops.db"), _dump(tmp_path / "replay.db")
    assert len(ours["records"]) == 250 and {r[7] for r in ours["records"]} == {"delivered"}
    assert len(ours["attempts"]) == 250
    assert replayed == ours


def test_the_replay_starts_from_an_empty_store_with_the_same_indexes(tmp_path: Path) -> None:
    bench_syncops(tmp_path / "syncops.db", 10, "NORMAL", steps=[])
    schema = schema_of(tmp_path / "syncops.db")
    assert schema.index(next(s for s in schema if s.startswith("CREATE TABLE records"))) < \
        schema.index(next(s for s in schema if "ix_records_due" in s))
    replay([], schema, tmp_path / "replay.db", "NORMAL")
    conn = sqlite3.connect(tmp_path / "replay.db")
    names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    assert {"ix_records_due", "ix_records_key", "ix_records_key_prefix", "ix_attempts_record"} <= names
    assert conn.execute("SELECT count(*) FROM records").fetchone() == (0,)
