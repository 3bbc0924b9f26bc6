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


def _mode(path) -> int:
    import stat

    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_engine_log_is_private(opened, store_url):
    import os
    from pathlib import Path

    import platformdirs

    folder = Path(platformdirs.user_log_dir("syncops"))
    previous = os.umask(0o022)  # the usual umask, under which a plain open() makes a 0644 file
    try:
        assert main([]) == 0
    finally:
        os.umask(previous)
    log = folder / "syncops-engine.log"
    assert _mode(log) == 0o600 and _mode(folder) == 0o700


def test_an_older_world_readable_engine_log_is_tightened(opened, store_url):
    from pathlib import Path

    import platformdirs

    folder = Path(platformdirs.user_log_dir("syncops"))
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)
    log = folder / "syncops-engine.log"
    log.write_text("2024-01-01T00:00:00Z engine_started\n")
    log.chmod(0o644)
    assert main([]) == 0
    assert _mode(log) == 0o600 and _mode(folder) == 0o700
    assert log.read_text().startswith("2024-01-01T00:00:00Z engine_started\n")  # appended, not truncated


def test_the_demo_engine_log_is_private(tmp_path):
    from syncops.demo.interactive import engine_log

    log, path = engine_log(f"sqlite:///{tmp_path}/new-dir/syncops.db")
    log.stream.close()
    assert path == tmp_path / "new-dir" / "engine.log"
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
