"""A console attached with only the store (no config) keeps the production safeguards and the flows,
because the engine published its settings into the store."""

from __future__ import annotations

import pytest

from syncops.console.widgets.bulk import BulkModal
from syncops.store import published
from syncops.store.queries import get_record

from .conftest import REPO, TECH, run, settle, text_of
from .fixture_store import ACME, BELLA
from .test_actions import ids_where, type_text


@pytest.fixture
def attached(store, config, clock):
    """An app on the store with config=None, after the engine published `config`."""
    from syncops.console.app import SyncopsConsole

    published.publish(store, config, "engine-host:77")

    def factory():
        return SyncopsConsole(store, None, clock=clock, actor=TECH, refresh_interval=None,
                              theme_dirs=[REPO / "themes"], env={}, watch_tty=False)
    return factory


def test_bulk_on_a_production_tenant_still_needs_the_typed_tenant_name_without_config(store, attached):
    acme_failed = ids_where(store, tenant=ACME, flow="inventory-pos-to-web", state="failed")
    assert len(acme_failed) == 2

    async def scenario():
        app = attached()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.go("exceptions", tenant=ACME, flow="inventory-pos-to-web")
            await settle(pilot)
            screen = app.screen
            await pilot.press("space", "space")
            assert set(screen.marked) == set(acme_failed)
            await pilot.press("r")
            await settle(pilot)
            modal = app.screen
            assert isinstance(modal, BulkModal) and modal.preview.count == 2
            assert modal.phrase == ACME and modal.query_one("#dialog").has_class("production")
            await pilot.press("enter")  # reason (optional for retry) -> the typed confirmation
            await type_text(pilot, "2")  # the count is not enough on a production tenant
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, BulkModal)
            assert {get_record(store, rid).state for rid in acme_failed} == {"failed"}
            await pilot.press("backspace")
            await type_text(pilot, ACME)
            await pilot.press("enter")
            await settle(pilot)
            assert not isinstance(app.screen, BulkModal)

    run(scenario())
    assert {get_record(store, rid).state for rid in acme_failed} == {"pending"}


def test_flows_and_mappings_screens_show_published_settings_without_config(store, attached):
    async def scenario():
        app = attached()
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await pilot.press("4")
            await settle(pilot)
            rows = {(r.tenant, r.flow): r for r in app.screen.rows}
            assert set(rows) == {(ACME, "web-orders-to-erp"), (ACME, "inventory-pos-to-web"),
                                 (BELLA, "inventory-pos-to-web"), (BELLA, "products-pos-to-web")}
            assert all(r.schedule != "(not in config)" for r in rows.values())
            assert rows[(ACME, "web-orders-to-erp")].schedule == "every 5s"
            assert rows[(ACME, "web-orders-to-erp")].production and not rows[(BELLA, "products-pos-to-web")].production
            await pilot.press("3")
            await settle(pilot)
            title = " ".join(text_of(w) for w in app.screen.query("Static"))
            assert "(no tenant configured)" not in title and ACME in title
            assert {(e.map_name, e.source) for e in app.screen.entries} >= {("to_erp_sku", "MUG-WHITE")}

    run(scenario())
