"""Settlements into Business Central as posted general journal lines, over real HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from syncops.connectors.base import Delivery
from syncops.connectors.businesscentral_journal import document_number
from syncops.connectors.errors import DeliveryError
from syncops.models import validate_payload
from syncops.simulator.businesscentral import BusinessCentralApp
from syncops.simulator.faults import Faults
from syncops.simulator.http import SimServer
from syncops.store.categories import Category

from tests.test_businesscentral import ITEMS, run

ACCOUNTS = {"sales": "40000", "refunds": "40500", "fees": "60500", "clearing": "18100", "bank": "10100"}


@pytest.fixture
def app(clock):
    return BusinessCentralApp(Faults(clock=clock), clock, items=ITEMS, accounts=["40100", *ACCOUNTS.values()])


@pytest.fixture
def server(app):
    with SimServer(app) as srv:
        yield srv


def payout(pid: str = "AMZ-G-1", gross: str = "120.00", fees: str = "18.00", refunds: str = "10.00",
           adjustments: str = "-9.90") -> dict[str, Any]:
    net = Decimal(gross) - Decimal(fees) - Decimal(refunds) + Decimal(adjustments)
    p = {"payout_id": pid, "processor": "amazon", "currency": "USD", "paid_at": "2026-11-30T10:00:00Z",
         "gross": gross, "fees": fees, "refunds": refunds, "adjustments": adjustments, "reserves": "0",
         "net": str(net), "accounts": ACCOUNTS}
    validate_payload("settlement", p)
    return p


def deliveries(*payloads: dict[str, Any]) -> list[Delivery]:
    return [Delivery(record_id=n, delivery_key=f"k{n}", entity_key=p["payout_id"], payload=p)
            for n, p in enumerate(payloads, start=1)]


def ledger(app, doc: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for e in app.journals.ledger:
        if e["documentNumber"] == doc:
            out[e["accountNumber"]] = out.get(e["accountNumber"], Decimal(0)) + \
                Decimal(str(e["debitAmount"])) - Decimal(str(e["creditAmount"]))
    return out


def test_a_payout_is_posted_as_one_balanced_document(app, server, clock):
    [result] = run(lambda c: c.push("settlement", deliveries(payout())), server, clock)
    doc = document_number("STL-", "AMZ-G-1")
    assert result.error is None and result.target_ref == doc and len(doc) <= 20
    assert ledger(app, doc) == {"40000": Decimal("-120.00"), "40500": Decimal("10.00"), "60500": Decimal("18.00"),
                                "18100": Decimal("9.90"), "10100": Decimal("82.10")}
    assert not [ln for j in app.journals.journals.values() for ln in j["lines"].values()]  # all posted


def test_a_retry_after_a_lost_answer_links_instead_of_posting_twice(app, server, clock):
    run(lambda c: c.push("settlement", deliveries(payout())), server, clock)
    [again] = run(lambda c: c.push("settlement", deliveries(payout())), server, clock)
    assert again.error is None and "earlier delivery applied" in (again.note or "")
    assert len([e for e in app.journals.ledger]) == 5


def test_posted_entries_that_differ_are_a_conflict_naming_both(app, server, clock):
    run(lambda c: c.push("settlement", deliveries(payout())), server, clock)
    [again] = run(lambda c: c.push("settlement", deliveries(payout(fees="19.00", adjustments="-8.90"))),
                  server, clock)
    assert again.error.category == Category.CONFLICT
    assert "60500 +18.00" in again.error.message and "60500 +19.00" in again.error.message


def test_a_half_written_attempt_is_cleared_before_posting(app, server, clock):
    """An attempt died after two of five lines: the retry deletes them, writes all five, posts."""
    doc = document_number("STL-", "AMZ-G-1")
    jid = next(k for k, j in app.journals.journals.items() if j["code"] == "SYNCOPS")
    for account, amount in (("40000", -120.0), ("40500", 10.0)):
        app.journals._create(jid, app.journals.journals[jid], {"accountNumber": account, "amount": amount,
                                                                 "documentNumber": doc})
    [result] = run(lambda c: c.push("settlement", deliveries(payout())), server, clock)
    assert result.error is None
    assert sum(ledger(app, doc).values()) == 0 and len(ledger(app, doc)) == 5


def test_an_account_not_in_the_chart_fails_that_payout_alone(app, server, clock):
    bad = payout("AMZ-G-2")
    bad["accounts"] = {**ACCOUNTS, "fees": "99999"}
    results = run(lambda c: c.push("settlement", deliveries(bad, payout("AMZ-G-3"))), server, clock)
    assert results[0].error.category == Category.VALIDATION and "99999" in results[0].error.message
    assert results[1].error is None
    # Its lines went in one $batch with Isolation: snapshot: the refused line rolled them all back.
    assert ledger(app, document_number("STL-", "AMZ-G-2")) == {}
    assert not [ln for j in app.journals.journals.values() for ln in j["lines"].values()]


def test_the_lines_of_a_payout_go_in_one_batch_call(app, server, clock):
    run(lambda c: c.push("settlement", deliveries(payout())), server, clock)
    writes = [(m, p) for m, p, _ in app.requests if m == "POST"]
    assert sum(1 for _, p in writes if p.endswith("/$batch")) == 1
    assert not [p for _, p in writes if p.endswith("/journalLines")]  # no line posted one by one


def test_a_missing_journal_batch_is_a_mapping_problem_with_the_fix(app, server, clock):
    [result] = run(lambda c: c.push("settlement", deliveries(payout())), server, clock,
                   settlement_journal="NOSUCH")
    assert result.error.category == Category.MAPPING and "'NOSUCH'" in result.error.message


def test_an_outage_is_unavailable_for_the_whole_batch(app, server, clock):
    app.faults.forced_outage = True
    with pytest.raises(DeliveryError) as err:
        run(lambda c: c.push("settlement", deliveries(payout())), server, clock)
    assert err.value.category == Category.UNAVAILABLE


def test_reconciliation_reads_posted_settlements_and_counts_duplicated_orders(app, server, clock):
    """read_documents: a settlement's G/L entries as postings (credit positive), a missing one
    absent, an order number held twice counted twice (the reconciliation calls that duplicated)."""
    from syncops.models import Settlement
    from syncops.services.reconcile_documents import _judge

    run(lambda c: c.push("settlement", deliveries(payout())), server, clock)
    import copy

    from tests.test_businesscentral import deliveries as order_deliveries, order

    run(lambda c: c.push("order", order_deliveries([order("WEB-7")])), server, clock)
    [first] = app.docs["salesOrders"].values()
    twin = {**copy.deepcopy(first), "id": "f0000000-0000-4000-8000-000000000002", "number": "101999"}
    app.docs["salesOrders"][twin["id"]] = twin  # someone keyed the order in by hand as well
    held = run(lambda c: c.read_documents("settlement", {"AMZ-G-1", "AMZ-NONE"}), server, clock)
    want = {a: v for a, v in Settlement.model_validate(payout()).postings()}
    assert set(held) == {"AMZ-G-1"} and held["AMZ-G-1"]["postings"] == want
    assert _judge("settlement", "AMZ-G-1", 1, want, held["AMZ-G-1"]) is None
    orders = run(lambda c: c.read_documents("order", {"WEB-7"}), server, clock)
    diff = _judge("order", "WEB-7", 2, None, orders["WEB-7"])
    assert diff is not None and diff.problem == "duplicated"
