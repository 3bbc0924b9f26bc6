"""`syncops alerts`, `engine --systemd-unit`, `status` with alerts, and the alerts config errors."""

from __future__ import annotations

import json

import pytest

from syncops.cli import main
from syncops.config import load_config
from syncops.config.errors import ConfigError
from syncops.ops import alerts
from tests.conftest import enqueue_n
from tests.ops.conftest import write_config


@pytest.fixture
def env(monkeypatch, tmp_path, receiver):
    path, out, e = write_config(tmp_path, receiver.port)
    for k, v in e.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("SYNCOPS_STORE", raising=False)
    url = f"sqlite:///{tmp_path}/cli.db"
    return path, out, url


def test_alerts_test_reaches_every_channel_and_masks_the_url(env, receiver, capsys):
    path, out, url = env
    assert main(["alerts", "test", "--config", str(path), "--store", url]) == 0
    text = capsys.readouterr().out
    assert "ok     apprise json://***" in text and "ok     command" in text
    assert "tok-SECRET-4711" not in text
    assert receiver.posts[0]["title"].startswith("[syncops] TEST") and out.read_text().count("\n") == 1


def test_silence_list_and_status_json_show_firing_alerts(env, tmp_path, capsys):
    path, _, url = env
    from syncops.store.db import open_store

    store = open_store(url, create=True, clock=lambda: 1_700_000_000.0)
    enqueue_n(store, 2, tenant="acme", flow="orders", target="shop")
    store.close()
    import time

    store = open_store(url)  # real clock: the records are years past the 60s SLA
    alerts.run_alerts(store, load_config(path))
    store.close()
    assert main(["alerts", "silence", "acme/orders", "--for", "2h", "--reason", "upgrade", "--store", url]) == 0
    assert "acme/orders for 2h" in capsys.readouterr().out
    assert main(["alerts", "list", "--json", "--store", url]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["firing"][0]["rule"] == "sla_breach" and doc["firing"][0]["silenced_until"] > time.time()
    main(["status", "--json", "--store", url])
    status = json.loads(capsys.readouterr().out)
    assert status["alerts"][0]["key"] == "sla_breach:acme/orders"
    main(["status", "--store", url])
    assert "ALERT (silenced): acme/orders: SLA breach" in capsys.readouterr().out


def test_status_json_stays_json_on_a_broken_store(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SYNCOPS_CONFIG", raising=False)
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all" * 100)
    code = main(["status", "--json", "--store", f"sqlite:///{bad}"])
    assert code == 3 and json.loads(capsys.readouterr().out)["state"] == "unknown"


def test_systemd_unit(env, capsys):
    path, _, url = env
    assert main(["engine", "--systemd-unit", "--config", str(path), "--store", url]) == 0
    unit = capsys.readouterr().out
    for line in ("Type=notify", "WatchdogSec=60s", "Restart=on-failure", "User=syncops", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 f"--config {path}", f"--store {url}", "[Install]"):
        assert line in unit
    assert main(["engine", "--systemd-unit", "--config", str(path),
                 "--store", "postgresql+psycopg://ops:hunter2-pw@db/syncops"]) == 0
    unit = capsys.readouterr().out
    assert "hunter2-pw" not in unit and "SYNCOPS_STORE=" in unit


def test_alerts_config_errors_name_file_and_line(tmp_path, receiver):
    path, _, e = write_config(tmp_path, receiver.port, extra="""\
        x-pad: 1
    """)
    text = path.read_text().replace("  renotify: 1h", "  renotify: soon\n  rules:\n    breaker_open: on")
    text = text.replace("  rules:\n    heartbeat_missing: off", "  rulez:\n    heartbeat_missing: off")
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_config(path, env=e)
    msg = str(exc.value)
    assert f"{path}:9: alerts.renotify: expected a duration" in msg
    assert "alerts.rules.breaker_open: expected a threshold or off" in msg
    assert "alerts.rulez: unknown key" in msg
