"""read_levels over real HTTP against each simulator: what reconciliation compares."""

from __future__ import annotations

import asyncio

import pytest

from syncops.config import load_config
from syncops.config.errors import ConfigError
from syncops.connectors.bigcommerce import BigCommerceConnector
from syncops.connectors.odoo import OdooConnector
from syncops.connectors.square import SquareConnector
from syncops.simulator.bigcommerce import BigCommerceApp
from syncops.simulator.faults import Faults
from syncops.simulator.http import SimServer
from syncops.simulator.odoo import OdooApp
from syncops.simulator.square import SquareApp


def served(app):
    server = SimServer(app).start()
    return server


def test_square_levels_are_counts_per_location_with_negative_as_zero_and_unknown_skus_absent():
    app = SquareApp(Faults(), skus=["A", "B", "C"], locations=["store-1", "store-2"])
    app.set_count("A", "store-1", 7)
    app.set_count("C", "store-2", -3)  # an oversell: a storefront must never see negative stock
    server = served(app)
    try:
        async def go():
            conn = SquareConnector(server.url, "token")
            try:
                return await conn.read_levels({("A", "store-1"), ("B", "store-2"), ("C", "store-2"),
                                               ("NOPE", "store-1")})
            finally:
                await conn.aclose()
        assert asyncio.run(go()) == {("A", "store-1"): 7, ("B", "store-2"): 25, ("C", "store-2"): 0}
    finally:
        server.stop()


def test_odoo_levels_are_free_quantity_of_internal_quants():
    app = OdooApp(Faults(), skus={"A": "1.00", "B": "2.00"}, locations=("WH/Stock",))
    app.set_stock("A", 9, "WH/Stock", reserved=2)
    server = served(app)
    try:
        async def go():
            conn = OdooConnector(server.url, "token")
            try:
                return await conn.read_levels({("A", "WH/Stock"), ("B", "WH/Stock"), ("NOPE", "WH/Stock")})
            finally:
                await conn.aclose()
        assert asyncio.run(go()) == {("A", "WH/Stock"): 7, ("B", "WH/Stock"): 0}
    finally:
        server.stop()


def test_bigcommerce_levels_are_available_to_sell_per_location_code():
    app = BigCommerceApp(Faults())
    sku = next(iter(app.variants.values()))["sku"]
    server = served(app)
    try:
        async def go():
            conn = BigCommerceConnector(server.url, "token", options={"store_hash": app.store_hash})
            try:
                from syncops.connectors.base import Delivery

                payload = {"sku": sku, "location_id": "store-1", "available": 12,
                           "changed_at": "2026-01-01T00:00:00+00:00"}
                [res] = await conn.push("inventory", [Delivery(1, "k1", f"{sku}@store-1", payload)])
                assert res.error is None
                return await conn.read_levels({(sku, "store-1"), ("NOPE", "store-1"), (sku, "no-such-place")})
            finally:
                await conn.aclose()
        assert asyncio.run(go()) == {(sku, "store-1"): 12}
    finally:
        server.stop()


BASE = """
tenants:
  acme:
{line}
    endpoints:
      pos: {{kind: square, base_url: simulator}}
"""


@pytest.mark.parametrize("line, want", [("", 900.0), ("    reconcile: {every: 5m}", 300.0), ("    reconcile: off", None)])
def test_reconcile_schedule_in_config(tmp_path, line, want):
    path = tmp_path / "c.yaml"
    path.write_text(BASE.format(line=line))
    schedule = load_config(path).tenants["acme"].reconcile
    assert (schedule.every if schedule else None) == want


def test_a_bad_reconcile_schedule_is_reported_with_file_and_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(BASE.format(line="    reconcile: {every: soon}"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{path}:4: tenants.acme.reconcile.every: expected a duration" in str(err.value)
