"""Amazon settlements (Finances API v0) over real HTTP: closed event groups -> balanced settlements."""

from __future__ import annotations

from decimal import Decimal

import pytest

from syncops.connectors.amazon_finances import to_settlement
from syncops.connectors.errors import DeliveryError
from syncops.models import validate_payload
from syncops.models.registry import PayloadInvalid
from syncops.simulator.http import SimServer
from syncops.store.categories import Category

from tests.amazon_helpers import make_app, pull_all, run


@pytest.fixture
def app(clock):
    return make_app(clock)


@pytest.fixture
def server(app):
    with SimServer(app) as srv:
        yield srv


def _sell(app, clock, n: int, channel: str = "MFN") -> list[str]:
    out = []
    for i in range(n):
        clock.advance(1)
        out.append(app.place_order([("MUG-WHITE", 2), ("CAP-BLK", 1)], channel=channel,
                                   shipping="4.99" if i == 0 else "0", promo="1.00" if i == 0 else "0"))
    return out


def test_a_closed_group_becomes_one_balanced_settlement_and_an_open_one_waits(app, server, clock):
    _sell(app, clock, 3)
    app.payouts.service_fee()
    clock.advance(60)
    gid = app.payouts.settle()
    _sell(app, clock, 2, channel="AFN")  # the next group, still open
    changes, cursor = run(lambda c: pull_all(c, "settlement", None), server, clock)
    assert [c.entity_key for c in changes] == [gid]
    s = validate_payload("settlement", changes[0].payload)  # balanced: net = the group's OriginalTotal
    group = app.payouts.groups[gid]
    assert s.net == Decimal(str(group["OriginalTotal"]["CurrencyAmount"])) and s.processor == "amazon"
    # Sales: 3 x (2 x 12.50 + 15.00) + the shipping and tax charged, less the promotion.
    principal = 3 * (Decimal("25.00") + Decimal("15.00"))
    assert s.gross > principal
    assert s.fees == sum((-Decimal(line.amount) for line in s.lines if line.kind == "fee"), Decimal(0))
    assert any("Subscription" in line.reference for line in s.lines if line.kind == "fee")
    # The tax Amazon withholds as marketplace facilitator is not the seller's money: clearing.
    assert s.adjustments < 0 and all("MarketplaceFacilitatorTax" in line.reference
                                     for line in s.lines if line.kind == "adjustment")
    # Nothing again until the open group closes; then only that one.
    again, cursor = run(lambda c: pull_all(c, "settlement", cursor), server, clock)
    assert again == []
    clock.advance(60)
    second = app.payouts.settle()
    again, _ = run(lambda c: pull_all(c, "settlement", cursor), server, clock)
    assert [c.entity_key for c in again] == [second]
    fba = validate_payload("settlement", again[0].payload)
    assert any("FBAPerUnitFulfillmentFee" in line.reference for line in fba.lines)


def test_events_and_groups_are_paged_and_a_restart_takes_each_group_once(app, server, clock):
    gids = []
    for _ in range(3):
        _sell(app, clock, 4)
        clock.advance(30)
        gids.append(app.payouts.settle())
    _sell(app, clock, 101)  # more events than one page (100) in the last group
    clock.advance(30)
    gids.append(app.payouts.settle())
    first, cursor = run(lambda c: pull_all(c, "settlement", None, limit=2), server, clock)
    assert [c.entity_key for c in first] == gids
    big = validate_payload("settlement", first[-1].payload)
    assert sum(1 for line in big.lines if line.kind == "charge" and "Principal" in line.reference) == 202
    # A restart from a cursor stored mid-way re-reads nothing twice (keys are per group).
    page = run(lambda c: c.pull("settlement", None, 2), server, clock)
    resumed, _ = run(lambda c: pull_all(c, "settlement", page.cursor, limit=2), server, clock)
    assert [c.entity_key for c in page.changes + resumed] == gids
    assert len({c.idempotency_key for c in first}) == 4


def test_a_group_that_does_not_add_up_waits_for_a_human(app, server, clock):
    _sell(app, clock, 2)
    gid = app.payouts.settle(skew=Decimal("0.07"))
    changes, _ = run(lambda c: pull_all(c, "settlement", None), server, clock)
    with pytest.raises(PayloadInvalid, match="net"):
        validate_payload("settlement", changes[0].payload)
    assert changes[0].entity_key == gid


def test_event_lists_syncops_does_not_know_go_to_clearing_by_name():
    group = {"FinancialEventGroupId": "G1", "ProcessingStatus": "Closed", "FundTransferStatus": "Succeeded",
             "FundTransferDate": "2026-11-30T10:00:00Z",
             "OriginalTotal": {"CurrencyCode": "USD", "CurrencyAmount": 80.0}}
    events = {"ServiceFeeEventList": [{"FeeReason": "Subscription", "FeeList": [
                  {"FeeType": "Subscription", "FeeAmount": {"CurrencyCode": "USD", "CurrencyAmount": -39.99}}]}],
              "CouponPaymentEventList": [{"CouponId": "C1", "TotalAmount": {"CurrencyAmount": 119.99}}]}
    s = validate_payload("settlement", to_settlement(group, events))
    unclassified = [line for line in s.lines if line.reference.startswith("unclassified")]
    assert [(line.reference, line.amount) for line in unclassified] == [
        ("unclassified: CouponPaymentEventList", Decimal("119.99"))]
    assert s.net == Decimal("80.00")


@pytest.mark.parametrize("amount", [float("nan"), "1e400", True, "12,50", None])
def test_garbage_amounts_are_malformed_not_money(amount):
    group = {"FinancialEventGroupId": "G1", "OriginalTotal": {"CurrencyCode": "USD", "CurrencyAmount": amount}}
    with pytest.raises(DeliveryError) as err:
        to_settlement(group, {})
    assert err.value.category == Category.MALFORMED and "OriginalTotal" in err.value.message


def test_the_finances_quota_is_honoured(app, server, clock):
    """listFinancialEventsByGroupId refills 0.5 a second (burst 30): the connector waits its turn
    on the clock instead of drawing 429s (a 429 would fail the pull as rate_limit)."""
    for _ in range(3):
        _sell(app, clock, 1)
        app.payouts.settle()
    start = clock.now

    async def many(conn):
        for _ in range(34):  # from scratch each time: 1 groups call + 3 events calls
            await conn.pull("settlement", None, 100)
    run(many, server, clock)
    assert clock.now - start >= (34 * 3 - 30) / 0.5


ENGINE_CONFIG = """
tenants:
  acme:
    endpoints:
      amazon: {kind: amazon, base_url: simulator, credential: simulator,
               options: {client_id: amzn1.application-oa2-client.sim, orders_since: "2020-01-01T00:00:00Z"}}
      erp: {kind: odoo, base_url: simulator, credential: simulator}
    maps:
      accounts: {sales: "400000", refunds: "450000", fees: "626000", clearing: "101402", bank: "101401"}
    flows:
      - {name: amazon-settlements, entity: settlement, source: amazon, target: erp, schedule: {every: 1s},
         sla: 1h, mappings: {gl_account: accounts}}
"""


def test_a_settlement_is_posted_once_to_the_erp_as_a_balanced_journal_entry(tmp_path):
    """Through the engine: Amazon's closed group -> one posted Odoo journal entry whose bank line
    is the transfer, and a poll after a restart does not post it again."""
    import asyncio

    from syncops.config import load_config
    from syncops.engine.events import EventLog
    from syncops.engine.runtime import Engine
    from syncops.simulator.world import World
    from syncops.store.db import open_store

    from tests.engine.harness import until

    path = tmp_path / "syncops.yaml"
    path.write_text(ENGINE_CONFIG)
    config = load_config(path, env={})
    world = World(config, profile="calm").start()
    amazon = world.apps_of("acme", "amazon")[0]
    odoo = world.apps_of("acme", "odoo")[0]
    skus = world.catalog("acme", amazon)
    for _ in range(3):
        amazon.place_order([(skus[0], 2), (skus[-1], 1)])
    amazon.payouts.service_fee()
    gid = amazon.payouts.settle()
    total = Decimal(str(amazon.payouts.groups[gid]["OriginalTotal"]["CurrencyAmount"]))
    store = open_store(f"sqlite:///{tmp_path}/store.db")

    def entries() -> list[dict]:
        return [j for j in odoo.state()["journal_entries"] if j["ref"] == gid]

    async def once() -> None:
        engine = Engine(config, store, url_overrides=world.url_overrides, log=EventLog(quiet=True),
                        idle_poll=0.05, control_every=0.1, heartbeat_every=0.5)
        await engine.start()
        try:
            await until(lambda: any(j["state"] == "posted" for j in entries()), 20, "settlement posted")
            await engine.run_poll("acme", "amazon-settlements")
        finally:
            await engine.stop(deadline=5)

    try:
        asyncio.run(asyncio.wait_for(once(), 40))
        asyncio.run(asyncio.wait_for(once(), 40))  # a restart: the group is read again, not posted again
        [entry] = entries()
        bank = [ln for ln in entry["lines"] if ln["account"] == "101401"]
        assert sum(Decimal(str(ln["debit"] or 0)) for ln in bank) == total
        debit = sum(Decimal(str(ln["debit"] or 0)) for ln in entry["lines"])
        credit = sum(Decimal(str(ln["credit"] or 0)) for ln in entry["lines"])
        assert debit == credit
        assert {ln["account"] for ln in entry["lines"]} >= {"400000", "626000", "101402", "101401"}
    finally:
        world.stop()
        store.close()
