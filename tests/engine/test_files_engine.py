"""The engine with drop folders: stock counts from a POS folder to the simulated Shopify, web orders
into an ERP's outbox, a bad row as a validation exception, and an SFTP outage opening the breaker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from syncops.cli import main as cli_main
from syncops.simulator.sftp import SftpSim
from tests.engine.harness import Harness, states, until

CONFIG = """
tenants:
  acme:
    endpoints:
      pos: {kind: square, base_url: simulator}
      web: {kind: shopify, base_url: simulator}
      erp: {kind: odoo, base_url: simulator}
      drop:
        kind: files
        base_url: file://DROP
        options:
          settle_seconds: 0
          layouts:
            inventory:
              format: csv
              pattern: "stock-*.csv"
              columns:
                sku: Item
                location_id: {value: store-1}
                available: {column: Qty, type: integer}
            order:
              format: jsonl
              write_pattern: "order-{key}.jsonl"
      tpl:
        kind: sftp
        base_url: sftp://127.0.0.1:PORT/acme
        credential: env:TPL_PASSWORD
        options:
          username: wh
          host_key_fingerprint: "FINGERPRINT"
          settle_seconds: 0
          layouts:
            inventory: {format: jsonl, pattern: "*.jsonl"}
    flows:
      - name: stock
        entity: inventory
        source: drop
        target: web
        schedule: {every: 0.2s}
        sla: 1m
        retry: {max_attempts: 2, base_delay: 0.05s, max_delay: 0.2s}
      - name: orders-out
        entity: order
        source: web
        target: drop
        schedule: {every: 0.2s}
        sla: 1m
      - name: tpl-stock
        entity: inventory
        source: tpl
        target: web
        schedule: {every: 0.1s}
        sla: 1m
"""


def test_drop_folder_to_shopify_and_web_orders_to_the_outbox(tmp_path: Path, monkeypatch, capsys) -> None:
    drop = tmp_path / "drop"
    (drop / "inbox").mkdir(parents=True)
    (tmp_path / "srv" / "acme").mkdir(parents=True)
    monkeypatch.setenv("TPL_PASSWORD", "pw")

    async def main() -> None:
        sim = await SftpSim(tmp_path / "srv", username="wh", password="pw").start()
        text = (CONFIG.replace("DROP", str(drop)).replace("PORT", str(sim.port))
                .replace("FINGERPRINT", sim.fingerprint))
        h = Harness(tmp_path, text)
        engine = await h.start()
        try:
            # A file being written (its temp name), then renamed into place as the POS does.
            part = drop / "inbox" / "stock-1.csv.part"
            part.write_text("Item,Qty\nTSHIRT-RED-M,41\nMUG-WHITE,many\nCAP-BLK,7\n")
            part.rename(drop / "inbox" / "stock-1.csv")
            await until(lambda: h.shopify.level("TSHIRT-RED-M", "store-1") == 41
                        and h.shopify.level("CAP-BLK", "store-1") == 7, 20, "stock counts at Shopify")
            await until(lambda: (drop / "done" / "stock-1.csv").exists(), 10, "file moved to done/")
            await until(lambda: states(h.store, "stock").get("failed") == 1, 10, "bad row failed")

            h.shopify.place_web_order([("MUG-WHITE", 2)])
            await until(lambda: any((drop / "outbox").glob("order-*.jsonl")), 20, "order written to the outbox")
            written = [json.loads(p.read_text()) for p in (drop / "outbox").glob("order-*.jsonl")]
            assert [o["lines"][0]["sku"] for o in written] == ["MUG-WHITE"]
            # Named from the order number ("#1001"), characters unsafe in file names as "_".
            assert written[0]["order_number"] == "#1001"
            assert [p.name for p in (drop / "outbox").iterdir()] == ["order-_1001.jsonl"]
            assert not [p for p in (drop / "outbox").iterdir() if p.name.startswith(".")]

            # The 3PL's server goes away: its flow fails `unavailable` and the breaker opens.
            await sim.stop()
            await until(lambda: engine.breaker_for("acme", "tpl").state != "closed", 10, "breaker open")
        finally:
            await h.stop()
            await sim.stop()
            h.close()
        assert states(h.store, "stock") == {"delivered": 2, "failed": 1}

    asyncio.run(asyncio.wait_for(main(), 60))
    capsys.readouterr()
    assert cli_main(["records", "list", "--store", f"sqlite:///{tmp_path}/store.db", "--flow", "stock",
                     "--category", "validation", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["entity_key"] == "stock-1.csv:3"
    assert "stock-1.csv:3: column Qty (available): must be a whole number" in json.dumps(rows[0])
