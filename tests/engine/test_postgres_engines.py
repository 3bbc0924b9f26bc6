"""The MSP path: several engines share one PostgreSQL store and still deliver every order once.

Generated only when a PostgreSQL server is configured (SYNCOPS_TEST_POSTGRES, which .ci/run
sets); the pytest header says which store backends ran.
"""

from __future__ import annotations

import asyncio

from syncops.store.db import open_store

from tests.conftest import POSTGRES
from tests.engine.harness import CONFIG, Harness, states, until

if POSTGRES:

    def test_two_engines_on_one_postgres_store_deliver_every_order_exactly_once(tmp_path, postgres_url):
        from sqlmodel import SQLModel

        fresh = open_store(postgres_url)
        with fresh.engine.begin() as conn:
            SQLModel.metadata.drop_all(conn)
        fresh.close()
        # Small batches, so both engines get a share to claim.
        h = Harness(tmp_path, CONFIG.replace("      - name: web-orders\n", "      - name: web-orders\n        batch_size: 2\n"),
                    store_url=postgres_url)
        second_store = open_store(postgres_url)
        try:
            async def scenario():
                a = h.make_engine()
                b = h.make_engine(store=second_store)
                await a.start()
                await b.start()  # PostgreSQL: no single-engine rule, claims use SKIP LOCKED
                for _ in range(30):
                    h.shopify.place_web_order([("TSHIRT-RED-M", 1)])
                await until(lambda: states(h.store, "web-orders").get("delivered", 0) == 30, timeout=30,
                            what="all orders delivered")
                await a.stop()
                await b.stop()
                return a, b

            a, b = asyncio.run(scenario())
            refs = [o["client_order_ref"] for o in h.odoo.sale_orders()]
            assert len(refs) == 30 and len(set(refs)) == 30
            # Both engines took part (otherwise this proves nothing about sharing).
            assert a.delivered and b.delivered
        finally:
            second_store.close()
            h.close()
