"""`syncops` / `syncops console`: embed the engine on a shop PC, attach when one already runs."""

from __future__ import annotations

import time

import pytest

from syncops.cli import main
from syncops.store.db import open_store
from syncops.store.tables import EngineHeartbeat


@pytest.fixture
def opened(monkeypatch):
    """Capture what the console would be started with, instead of taking over the terminal."""
    seen: dict = {}

    def fake_run(self, *args, **kwargs):
        seen["engine"] = self.engine
        seen["read_only"] = self.read_only

    from syncops.console.app import SyncopsConsole

    monkeypatch.setattr(SyncopsConsole, "run", fake_run)
    return seen


def test_plain_syncops_with_a_config_embeds_the_engine(opened, store_url):
    assert main([]) == 0
    assert opened["engine"] is not None and opened["engine"].mode == "embedded"


def test_attach_never_embeds_and_read_only_is_passed_on(opened, store_url):
    assert main(["console", "--attach", "--read-only"]) == 0
    assert opened["engine"] is None and opened["read_only"] is True


def test_a_live_engine_on_the_store_means_attach(opened, store_url):
    store = open_store(store_url)
    now = time.time()
    with store.write() as conn:
        conn.execute(EngineHeartbeat.__table__.insert().values(
            engine_id="ops-1:4242:x", host="ops-1", pid=4242, version="0.1.0", started_at=now - 60,
            beat_at=now, mode="service"))
    store.close()
    assert main(["console"]) == 0
    assert opened["engine"] is None
