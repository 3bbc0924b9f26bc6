"""The SFTP drop folder against a real asyncssh server on 127.0.0.1 (syncops/simulator/sftp.py)."""

from __future__ import annotations

import asyncio

import asyncssh
import pytest

from syncops.connectors.base import SOURCE_PROBLEM, Delivery
from syncops.connectors.errors import DeliveryError
from syncops.connectors.sftp import SftpConnector
from syncops.simulator.sftp import SftpSim

LAYOUTS = {
    "inventory": {"format": "csv", "pattern": "stock-*.csv",
                  "columns": {"sku": "sku", "location_id": "location", "available": {"column": "qty", "type": "integer"}}},
    "order": {"format": "jsonl", "write_pattern": "order-{key}.jsonl"},
}
ORDER = {"order_number": "W-1", "channel": "web", "status": "paid", "placed_at": "2026-12-01T10:00:00+00:00",
         "currency": "EUR", "total": "9.00", "lines": [{"sku": "MUG", "quantity": "2", "unit_price": "4.50"}]}


class Clock:
    now = 5000.0

    def __call__(self) -> float:
        return self.now


def connector(sim: SftpSim, secret: str, clock=None, **opts) -> SftpConnector:
    options = {"username": "wh", "settle_seconds": 0, "layouts": LAYOUTS,
               "host_key_fingerprint": sim.fingerprint, **opts}
    return SftpConnector(sim.url.rstrip("/") + "/acme", secret, clock=clock or Clock(), options=options)


async def serve(tmp_path, **kw) -> SftpSim:
    (tmp_path / "srv" / "acme").mkdir(parents=True, exist_ok=True)
    return await SftpSim(tmp_path / "srv", username="wh", **kw).start()


def test_reads_incrementally_moves_to_done_and_writes_atomically(tmp_path):
    async def main():
        sim = await serve(tmp_path, password="pw-1")
        conn = connector(sim, "pw-1")
        try:
            inbox = tmp_path / "srv" / "acme" / "inbox"
            assert "writable" in await conn.check_auth()
            (inbox / "stock-1.csv").write_text("sku,location,qty\nA,s1,3\nB,s1,nope\nC,s1,1\n")
            (inbox / "stock-2.csv.part").write_text("sku,location,qty\nZ,s1,1\n")
            cursor, got = None, []
            for _ in range(5):
                page = await conn.pull("inventory", cursor, 2)
                got += page.changes
                cursor = page.cursor
                if not page.has_more:
                    break
            assert [c.payload.get("sku") for c in got if SOURCE_PROBLEM not in c.payload] == ["A", "C"]
            assert [c.payload[SOURCE_PROBLEM] for c in got if SOURCE_PROBLEM in c.payload] == [
                "stock-1.csv:3: column qty (available): must be a whole number"]
            assert (tmp_path / "srv" / "acme" / "done" / "stock-1.csv").exists()
            assert sorted(p.name for p in inbox.iterdir()) == ["stock-2.csv.part"]

            results = await conn.push("order", [Delivery(7, "dk-7", "W-1", ORDER)] * 2)  # and a replay
            assert [r.error for r in results] == [None, None]
            outbox = tmp_path / "srv" / "acme" / "outbox"
            assert [p.name for p in outbox.iterdir()] == ["order-W-1.jsonl"]  # no temp file left behind
            assert (outbox / "order-W-1.jsonl").read_text().count("\n") == 1
        finally:
            await conn.aclose()
            await sim.stop()

    asyncio.run(main())


def test_private_key_login_and_known_hosts_file(tmp_path):
    async def main():
        user_key = asyncssh.generate_private_key("ssh-ed25519")
        sim = await serve(tmp_path, client_key=user_key)
        known = tmp_path / "known_hosts"
        known.write_text(sim.known_hosts_line())
        conn = connector(sim, user_key.export_private_key().decode(), host_key_fingerprint=None,
                         known_hosts=str(known))
        try:
            assert "0 file(s) in inbox" in await conn.check_auth()
        finally:
            await conn.aclose()
            await sim.stop()

    asyncio.run(main())


def test_wrong_password_is_auth(tmp_path):
    async def main():
        sim = await serve(tmp_path, password="right")
        conn = connector(sim, "wrong")
        try:
            with pytest.raises(DeliveryError) as exc:
                await conn.pull("inventory", None, 10)
            assert exc.value.category == "auth" and "refused the login of 'wh'" in exc.value.message
            assert "wrong" not in exc.value.message.replace("wrong password", "")  # the secret is not echoed
        finally:
            await conn.aclose()
            await sim.stop()

    asyncio.run(main())


def test_unknown_host_key_is_auth_with_a_clear_message(tmp_path):
    async def main():
        sim = await serve(tmp_path, password="pw")
        other = asyncssh.generate_private_key("ssh-ed25519").get_fingerprint("sha256")
        conn = connector(sim, "pw", host_key_fingerprint=other)
        try:
            with pytest.raises(DeliveryError) as exc:
                await conn.check_auth()
            assert exc.value.category == "auth"
            assert "host key of 127.0.0.1" in exc.value.message and "host_key_fingerprint" in exc.value.message
            assert sim.logins == 0  # nothing was sent to an unverified server
        finally:
            await conn.aclose()
            await sim.stop()

    asyncio.run(main())


def test_server_down_is_unavailable_and_it_recovers(tmp_path):
    async def main():
        sim = await serve(tmp_path, password="pw")
        conn = connector(sim, "pw")
        try:
            await conn.check_auth()
            port = sim.port
            await sim.stop()
            with pytest.raises(DeliveryError) as exc:
                await conn.pull("inventory", None, 10)
            assert exc.value.category == "unavailable"
            with pytest.raises(DeliveryError) as exc:  # reconnecting fails the same way
                await conn.push("order", [Delivery(1, "dk", "W-1", ORDER)])
            assert exc.value.category == "unavailable"
            sim.port = port
            await sim.start()
            assert (await conn.pull("inventory", None, 10)).changes == []
        finally:
            await conn.aclose()
            await sim.stop()

    asyncio.run(main())
