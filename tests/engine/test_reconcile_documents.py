"""Does the ERP hold what syncops delivered? `syncops reconcile orders` over real HTTP: an order
cancelled behind our back, or booked twice, is reported with the record that delivered it."""

from __future__ import annotations

import asyncio
import json

import pytest

from syncops.cli import main

from tests.engine.harness import Harness, until
from tests.engine.test_reconcile import cli_config


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.close()


def test_orders_in_the_wrong_state_or_booked_twice_are_reported(h, tmp_path, monkeypatch, capsys):
    async def deliver():
        await h.start()
        gid = h.shopify.place_web_order([("MUG-WHITE", 1)])
        name = h.shopify.orders[gid].name
        other = h.shopify.orders[h.shopify.place_web_order([("TSHIRT-RED-M", 2)])].name
        await until(lambda: h.odoo.order_state(name) == "sale" and h.odoo.order_state(other) == "sale",
                    what="both web orders confirmed in Odoo")
        await until(lambda: all(r.state == "delivered" for r in _records(h)) and len(_records(h)) == 2,
                    what="both records delivered")
        await h.stop()
        return name, other

    name, other = asyncio.run(deliver())
    monkeypatch.setenv("SIM_TOKEN", "any-token")
    argv = ["--config", str(cli_config(h, tmp_path)), "--store", h.store_url]
    capsys.readouterr()
    assert main(["reconcile", "orders", "--json", *argv]) == 0
    out = json.loads(capsys.readouterr().out)
    [flow] = out["flows"]
    assert (flow["flow"], flow["checked"], flow["differences"]) == ("web-orders", 2, [])

    # Behind syncops's back: someone cancels one order in Odoo and books the other a second time.
    with h.odoo._lock:
        next(o for o in h.odoo._tables["sale.order"].values() if o["client_order_ref"] == name)["state"] = "cancel"
    h.odoo.add_sale_order(other, [("TSHIRT-RED-M", 2, 10.0)])
    assert main(["reconcile", "orders", *argv]) == 1
    text = capsys.readouterr().out
    assert f"STATE acme/web-orders {name}:" in text and "is cancel, the source means sale" in text
    assert f"DUPLICATED acme/web-orders {other}: the ERP holds 2 orders" in text
    assert "syncops records show" in text


def _records(h):
    from syncops.store import queries
    from syncops.store.filters import RecordFilter

    return queries.list_records(h.store, RecordFilter(flow="web-orders")).rows
