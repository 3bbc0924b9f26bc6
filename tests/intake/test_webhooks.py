"""Webhook intake over real HTTP: vendors' signatures, refusals, one record per change."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json

import httpx
import pytest

from syncops.intake.counters import read_all

from tests.engine.harness import until
from tests.intake.harness import SECRETS, Hooked, records


@pytest.fixture
def h(tmp_path, monkeypatch):
    harness = Hooked(tmp_path, monkeypatch)
    yield harness
    harness.close()


def run(coro):
    return asyncio.run(coro)


async def drained(sender) -> bool:
    """Wait off the loop: the engine answering the webhooks runs on this loop."""
    return await asyncio.to_thread(sender.drain)


def test_signed_webhooks_from_square_shopify_and_bigcommerce_deliver_without_a_poll(h):
    async def scenario():
        engine = await h.start()
        h.square.set_count("MUG-WHITE", "store-1", 7)
        await until(lambda: h.shopify.level("MUG-WHITE", "store-1") == 7, timeout=3, what="Square count at Shopify")

        gid = h.shopify.place_web_order([("TSHIRT-RED-M", 2)])
        await until(lambda: any(r["state"] == "delivered" for r in records(h.store, "web-orders")), timeout=3,
                    what="Shopify order delivered to the ERP")
        assert records(h.store, "web-orders")[0]["entity_key"] == "#1001"

        oid = h.bc.place_order([("MUG-WHITE", 1)])
        await until(lambda: any(r["state"] == "delivered" for r in records(h.store, "bc-orders")), timeout=3,
                    what="BigCommerce order delivered to the ERP")
        assert records(h.store, "bc-orders")[0]["entity_key"] == str(oid)
        # Nothing was polled after start: the schedule is an hour, so the webhooks did all of it.
        assert all(j.next_run_time.timestamp() > __import__("time").time() + 600
                   for j in engine.scheduler.get_jobs() if j.id.startswith("poll:"))
        for name in ("pos", "web", "bc"):
            assert all(s.status == 200 for s in h.senders[name].sent), (name, h.senders[name].sent)
        await engine.intake.receiver.flush()
        counts = read_all(h.store)
        assert counts[("acme", "pos")]["accepted"] >= 1 and counts[("acme", "web")]["accepted"] >= 1
        assert counts[("acme", "bc")]["accepted"] >= 1
        assert gid
        await h.stop()
    run(scenario())


@pytest.mark.parametrize("switch", ["forge", "unsigned", "stale"])
def test_forged_unsigned_and_stale_deliveries_are_refused_counted_and_store_nothing(h, switch):
    async def scenario():
        engine = await h.start()
        before = len(records(h.store, "inventory"))
        for sender in h.senders.values():
            sender.set(**{switch: 1.0})
        h.square.set_count("MUG-WHITE", "store-1", 3)
        h.shopify.place_web_order([("TSHIRT-RED-M", 1)])
        h.bc.place_order([("MUG-WHITE", 1)])
        for sender in h.senders.values():
            assert await drained(sender)
            assert [s.status for s in sender.sent] == [401]
        assert len(records(h.store, "inventory")) == before
        assert records(h.store, "web-orders") == [] and records(h.store, "bc-orders") == []
        await engine.intake.receiver.flush()
        reason = "forged" if switch == "forge" else switch
        stored = read_all(h.store)
        for name in ("pos", "web", "bc"):
            assert engine.intake.receiver.counters.get("acme", name) == {reason: 1}
            assert stored[("acme", name)] == {reason: 1}
        assert any(e == "webhook_refused" and f["reason"] == reason for e, f in h.events)
        assert not any(SECRETS["pos"] in json.dumps(f) for _, f in h.events)
        await h.stop()
    run(scenario())


def test_a_replayed_delivery_is_refused_and_makes_no_second_record(h):
    async def scenario():
        engine = await h.start()
        h.senders["web"].set(replay=1.0)
        h.shopify.place_web_order([("TSHIRT-RED-M", 1)])
        assert await drained(h.senders["web"])
        assert [s.status for s in h.senders["web"].sent] == [200, 401]
        assert len(records(h.store, "web-orders")) == 1
        assert engine.intake.receiver.counters.get("acme", "web") == {"accepted": 1, "replayed": 1}
        await h.stop()
    run(scenario())


def test_an_oversized_body_is_refused_before_it_is_read_whole(h):
    async def scenario():
        engine = await h.start()
        url = engine.intake.hook_url("acme", "web")
        big = b'{"id": 1, "pad": "' + b"x" * 10_000 + b'"}'
        sig = base64.b64encode(hmac.new(SECRETS["web"].encode(), big, hashlib.sha256).digest()).decode()
        headers = {"X-Shopify-Hmac-Sha256": sig, "X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "w-1"}
        async with httpx.AsyncClient() as client:
            declared = await client.post(url, content=big, headers=headers)

            async def chunks():  # no Content-Length: the cap applies while streaming
                for i in range(0, len(big), 1000):
                    yield big[i:i + 1000]
            streamed = await client.post(url, content=chunks(), headers=headers)
        assert declared.status_code == 413 and streamed.status_code == 413
        assert records(h.store, "web-orders") == []
        assert engine.intake.receiver.counters.get("acme", "web") == {"oversized": 2}
        await h.stop()
    run(scenario())


def test_the_same_change_from_webhook_and_from_poll_is_one_record(h):
    async def scenario():
        engine = await h.start()
        h.square.set_count("TSHIRT-RED-M", "store-1", 11)
        gid = h.shopify.place_web_order([("MUG-WHITE", 1)])
        oid = h.bc.place_order([("TSHIRT-RED-M", 1)])
        for sender in h.senders.values():
            assert await drained(sender)
        def inventory():  # (id, idempotency key): states move on as the dispatcher works
            return [(r["id"], r["idempotency_key"]) for r in records(h.store, "inventory")
                    if r["entity_key"] == "TSHIRT-RED-M@store-1"]
        inv = inventory()
        assert len(inv) == 2  # the start-up snapshot, then the webhook's change
        web, bc = records(h.store, "web-orders"), records(h.store, "bc-orders")
        for flow in ("inventory", "web-orders", "bc-orders"):
            await engine.run_poll("acme", flow)
        assert inventory() == inv
        assert len(records(h.store, "web-orders")) == len(web) == 1
        assert len(records(h.store, "bc-orders")) == len(bc) == 1
        assert gid and oid
        await h.stop()
    run(scenario())


def test_an_out_of_order_count_does_not_replace_a_newer_level(h):
    async def scenario():
        await h.start()
        h.senders["pos"].set(reorder=1.0)
        h.square.set_count("MUG-WHITE", "store-1", 5, now=__import__("time").time() - 2)
        h.square.set_count("MUG-WHITE", "store-1", 9)
        assert await drained(h.senders["pos"])
        await until(lambda: h.shopify.level("MUG-WHITE", "store-1") == 9, timeout=3, what="newest level")
        await asyncio.sleep(0.3)
        assert h.shopify.level("MUG-WHITE", "store-1") == 9
        await h.stop()
    run(scenario())


def test_metrics_and_unknown_hooks(h):
    async def scenario():
        engine = await h.start()
        async with httpx.AsyncClient() as client:
            m = await client.get(engine.intake.url + "/metrics")
            missing = await client.post(engine.intake.url + "/hooks/acme/erp", content=b"{}")
        assert m.status_code == 200 and "# TYPE syncops_records gauge" in m.text  # the real metrics
        assert m.headers["content-type"].startswith("text/plain")
        assert missing.status_code == 404
        await h.stop()
    run(scenario())


def test_a_square_order_event_is_taken_as_ignored_not_refused(h):
    """Square sends order.* only for API and Dashboard orders, never for POS sales: polled."""
    async def scenario():
        engine = await h.start()
        h.senders["pos"].emit("order.updated", {"type": "order_updated", "id": "ORD-1", "object": {
            "order_updated": {"order_id": "ORD-1", "version": 2, "location_id": "store-1", "state": "COMPLETED"}}})
        assert await drained(h.senders["pos"])
        assert [s.status for s in h.senders["pos"].sent] == [200]  # Square must not retry it for days
        await engine.intake.receiver.flush()
        assert read_all(h.store)[("acme", "pos")] == {"ignored": 1}
        await h.stop()
    run(scenario())
