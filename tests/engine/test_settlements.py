"""The engine moving Square payouts into Odoo journal entries over real HTTP."""

from __future__ import annotations

import asyncio

import pytest

from syncops.services.actor import Actor
from syncops.services.mappings import set_entry
from syncops.store import lifecycle, queries
from syncops.store.filters import RecordFilter

from tests.engine.harness import Harness, states, until

ME = Actor("tech", "10.0.0.9", "cli")
CONFIG = """
tenants:
  acme:
    endpoints:
      pos: {kind: square, base_url: simulator}
      erp: {kind: odoo, base_url: simulator}
    maps:
      gl: {sales: "400000", refunds: "450000", clearing: "101402", bank: "101401"}
    flows:
      - name: payouts
        entity: settlement
        source: pos
        target: erp
        schedule: {every: 0.3s}
        sla: 1m
        retry: {max_attempts: 5, base_delay: 0.05s, max_delay: 0.2s}
        mappings: {gl_account: gl}
"""


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path, CONFIG)
    yield harness
    harness.close()


def _payout(h: Harness, *, skew_cents: int = 0) -> str:
    h.square.record_sale("store-1", [("TSHIRT-RED-M", 1)], tender="CARD")
    [pid] = h.square.payouts.settle(skew_cents=skew_cents)
    return pid


def test_unmapped_fee_account_fails_as_mapping_then_the_fix_posts_one_entry_across_restarts(h):
    async def scenario():
        first = _payout(h)
        await h.start()
        await until(lambda: states(h.store, "payouts").get("failed", 0) == 1, what="mapping failure")
        [rec] = queries.list_records(h.store, RecordFilter(categories=("mapping",))).rows
        assert "'fees' not in map gl" in rec.error_message and "accounts.fees" in rec.error_message
        assert h.odoo.journal_entries() == []
        assert set_entry(h.store, "acme", "gl", "fees", "626000", actor=ME, release=True) == 1
        await until(lambda: states(h.store, "payouts").get("delivered", 0) == 1, what="released payout posted")
        await h.stop()

        # Restart with a lost cursor (the poll reads the same payout again) and a lost create
        # answer for a new payout: still one posted entry per payout.
        with h.store.write() as conn:
            lifecycle.save_cursor(h.store, conn, "acme", "payouts", None, now=h.store.clock())
        second = _payout(h)
        h.odoo.lose_next_response("account.move", "create")
        await h.start()
        await until(lambda: h.odoo.count_entries_with_ref(second) == 1
                    and states(h.store, "payouts").get("delivered", 0) == 2, what="second payout posted")
        await h.stop()
        return first, second

    first, second = asyncio.run(scenario())
    entries = h.odoo.journal_entries()
    assert sorted(e["ref"] for e in entries) == sorted([first, second])
    assert all(e["state"] == "posted" for e in entries)
    for e in entries:
        assert sum(line["debit"] for line in e["lines"]) == pytest.approx(sum(line["credit"] for line in e["lines"]))
        assert "626000" in {line["account_code"] for line in e["lines"]}


def test_a_payout_whose_entries_do_not_add_up_fails_as_validation_and_posts_nothing(h):
    h.config.tenants["acme"].mappings["gl"]["fees"] = "626000"

    async def scenario():
        pid = _payout(h, skew_cents=1)
        await h.start()
        await until(lambda: states(h.store, "payouts").get("failed", 0) == 1, what="validation failure")
        await h.stop()
        return pid

    pid = asyncio.run(scenario())
    [rec] = queries.list_records(h.store, RecordFilter(categories=("validation",))).rows
    assert rec.entity_key == pid and "net" in rec.error_message
    assert h.odoo.count_entries_with_ref(pid) == 0
