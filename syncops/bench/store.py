"""`syncops bench store`: the full enqueue -> claim -> ack cycle against huey's SqliteStorage.

Both run in this process, on fresh SQLite files in one temp dir, with the same ~500-byte
JSON payload and the same `synchronous` setting, so the ratio is an honest comparison.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

BATCH = 100


def payload(i: int) -> dict[str, Any]:
    # ~500 bytes, shaped like a real inventory change with its vendor source attached.
    return {
        "sku": f"SKU-{i % 5000:05d}-BLK-M", "location_id": f"store-{i % 7}", "available": i % 97,
        "on_hand": i % 101, "changed_at": "2026-11-23T03:14:15.926535+00:00",
        "source_ref": f"sq:inv:W62UWFY35CWMYGVWK6TWJDNI{i:08d}",
        "note": "x" * 300,
    }


def bench_syncops(path: Path, n: int, synchronous: str) -> float:
    from syncops.store.db import open_store
    from syncops.store.lifecycle import NewRecord, Outcome, claim, enqueue, settle

    store = open_store(f"sqlite:///{path}", synchronous=synchronous)
    now = time.time()
    records = [NewRecord(tenant="bench", flow="inventory", entity="inventory", entity_key=f"k{i}",
                         idempotency_key=f"e{i}", target="web", payload=json.dumps(payload(i)), source_ts=now)
               for i in range(n)]
    start = time.perf_counter()
    done = 0
    for i in range(0, n, BATCH):
        enqueue(store, records[i:i + BATCH])
    while done < n:
        batch = claim(store, tenant="bench", target="web", owner="bench", limit=BATCH)
        if not batch:
            break
        settle(store, "bench", [Outcome(c) for c in batch], endpoint="web")
        done += len(batch)
    elapsed = time.perf_counter() - start
    store.close()
    if done != n:
        raise RuntimeError(f"syncops delivered {done} of {n}")
    return n / elapsed


def bench_huey(path: Path, n: int, synchronous: str) -> float:
    from huey.storage import SqliteStorage

    class Storage(SqliteStorage):
        def _create_connection(self) -> sqlite3.Connection:
            conn = super()._create_connection()
            conn.execute(f"PRAGMA synchronous={synchronous}")
            return conn

    storage = Storage(name="bench", filename=str(path))
    blobs = [json.dumps(payload(i)).encode() for i in range(n)]
    start = time.perf_counter()
    for b in blobs:
        storage.enqueue(b)
    got = 0
    while storage.dequeue() is not None:
        got += 1
    elapsed = time.perf_counter() - start
    if got != n:
        raise RuntimeError(f"huey dequeued {got} of {n}")
    return n / elapsed


def run(n: int, synchronous: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="syncops-bench-") as tmp:
        ours = bench_syncops(Path(tmp) / "syncops.db", n, synchronous)
        try:
            theirs = bench_huey(Path(tmp) / "huey.db", n, synchronous)
        except ImportError:
            theirs = None
    return {"records": n, "synchronous": synchronous, "batch": BATCH,
            "syncops_per_s": round(ours), "huey_per_s": None if theirs is None else round(theirs),
            "ratio": None if not theirs else round(ours / theirs, 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="syncops bench store")
    p.add_argument("--records", type=int, default=50_000)
    p.add_argument("--json", action="store_true")
    p.add_argument("--synchronous", choices=["FULL", "NORMAL", "both"], default="both",
                   help="SQLite durability for both contenders (default: run both settings)")
    args = p.parse_args(argv)
    settings = ["NORMAL", "FULL"] if args.synchronous == "both" else [args.synchronous]
    results = [run(args.records, s) for s in settings]
    if args.json:
        print(json.dumps({"store": results}, indent=2))
    else:
        print(f"enqueue -> claim -> ack, {args.records} records of ~500 bytes, syncops batches of {BATCH}")
        for r in results:
            huey = "huey not installed (pip install 'syncops[bench]')" if r["huey_per_s"] is None else \
                f"huey SqliteStorage {r['huey_per_s']:>8,}/s   ratio {r['ratio']}x (target >= 2x: " \
                f"{'PASS' if r['ratio'] >= 2 else 'MISS'})"
            print(f"synchronous={r['synchronous']:<6} syncops {r['syncops_per_s']:>8,}/s   {huey}")
    return 0 if all(r["ratio"] is None or r["ratio"] >= 2 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
