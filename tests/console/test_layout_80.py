"""80x24 is the design width: the figures a technician decides on are on screen as text, not clipped."""

from __future__ import annotations

from syncops.store.tables import EndpointState

from .conftest import run, screen_lines, screen_text, settle
from .fixture_store import ACME, BELLA

FLOWS = [(ACME, "inventory-pos-to-web"), (ACME, "web-orders-to-erp"), (BELLA, "inventory-pos-to-web"),
         (BELLA, "products-pos-to-web")]


def row(lines: list[str], tenant: str, flow: str) -> str:
    return next(line for line in lines if tenant in line and flow in line)


def test_dashboard_at_80x24_shows_health_failed_oldest_and_p95_against_sla(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            lines = screen_lines(app)
            assert all(len(line) <= 80 for line in lines)
            header = next(line for line in lines if "Tenant" in line)
            for label in ("Hlth", "Fail", "Quar", "p95/SLA", "Oldest"):
                assert label in header.split(), (label, header)
            dash = app.screen
            for tenant, flow in FLOWS:
                h = next(x for x in dash.health.flows if (x.tenant, x.flow) == (tenant, flow))
                line = row(lines, tenant, flow)
                assert f" {h.counts.get('failed', 0)} " in line, line
                assert any(w in line.split() for w in ("ok", "warn", "CRIT")), line
                # p95 against the SLA, with its grade: never cut to "21s/".
                assert "/" in line and ("/1m" in line or "/10m" in line or "/30m" in line), line
            assert "4.8s/1m ok" in row(lines, ACME, "inventory-pos-to-web")
            assert "1h00m" in row(lines, ACME, "web-orders-to-erp")  # oldest waiting
            assert "CRIT" in row(lines, ACME, "web-orders-to-erp")
            # What gave way is named, not silently lost.
            assert "wider terminal: +Wait" in screen_text(app)

    run(scenario())


def test_breakers_line_never_cut_at_80(store, make_app):
    now = store.clock()
    with store.write() as conn:
        conn.execute(EndpointState.__table__.insert(), [
            dict(tenant=f"tenant-with-a-long-name-{i}", endpoint="erp", breaker="open" if i % 2 else "half_open",
                 consecutive_failures=6, opened_at=now - 40, wait_until=None, last_error="503",
                 updated_at=now) for i in range(8)])

    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            line = next(ln for ln in screen_lines(app) if ln.lstrip().startswith("breakers:"))
            assert line.rstrip().endswith("closed") and "more not closed" in line, line
            assert "acme-outdoor/erp OPEN" in line

    run(scenario())


def test_exceptions_at_80x24_show_category_and_the_start_of_the_error(make_app):
    async def scenario():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            lines = screen_lines(app)
            header = next(line for line in lines if "Tenant" in line)
            assert "Category" in header and "Last error" in header
            auth = next(line for line in lines if "SKU-023@store-1" in line)
            assert " auth " in auth and "401 Unauthoriz" in auth
            conflict = next(line for line in lines if "TSHIRT-RED-M" in line and "bella" in line)
            assert "conflict" in conflict and "409 Conflict" in conflict
            # A long filter is clipped; the match count stays.
            query = f"tenant:{BELLA} cat:auth key:SKU-0* state:failed age>1m age<2h"
            await pilot.press("slash", *[{" ": "space"}.get(c, c) for c in query], "enter")
            await settle(pilot)
            bar = next(line for line in screen_lines(app) if line.lstrip().startswith("/ "))
            assert "24 matching" in bar, bar

    run(scenario())
