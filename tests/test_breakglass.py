"""Break-glass tenants: config and published flag, elevation with expiry in the store, CLI refusals."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from syncops.cli import main
from syncops.config import ConfigError, load_config
from syncops.services import breakglass
from syncops.services.actor import Actor
from syncops.services.settings import settings_in_force
from syncops.store import published
from syncops.store.tables import AuditEvent, Meta

E = AuditEvent.__table__
DANA = Actor(user="dana", client="10.0.0.7", via="cli")

CONFIG = """\
tenants:
  acme:
    break_glass: {flag}
    endpoints:
      pos: {{kind: square, base_url: simulator}}
      web: {{kind: shopify, base_url: simulator}}
    flows:
      - name: inv
        entity: inventory
        source: pos
        target: web
        schedule: {{every: 5s}}
        sla: 1m
"""


def write_config(tmp_path, flag="true"):
    path = tmp_path / "syncops.yaml"
    path.write_text(CONFIG.format(flag=flag), encoding="utf-8")
    return path


def events(store, action):
    with store.read() as conn:
        return conn.execute(select(E).where(E.c.action == action).order_by(E.c.id)).all()


def test_config_flag_loads_and_a_bad_value_names_file_and_line(tmp_path):
    assert load_config(write_config(tmp_path), env={}).tenants["acme"].break_glass is True
    assert load_config(write_config(tmp_path, "false"), env={}).tenants["acme"].break_glass is False
    with pytest.raises(ConfigError) as exc:
        load_config(write_config(tmp_path, "maybe"), env={})
    assert "syncops.yaml:3:" in str(exc.value) and "break_glass" in str(exc.value)


def test_published_flag_round_trips_and_wins_over_a_config_without_it(tmp_path, store):
    cfg = load_config(write_config(tmp_path), env={})
    published.publish(store, cfg, "eng-1")
    assert published.read(store).tenants["acme"].break_glass is True
    assert settings_in_force(store, None).config.tenants["acme"].break_glass is True
    plain = load_config(write_config(tmp_path, "false"), env={})
    merged = settings_in_force(store, plain)
    assert merged.config.tenants["acme"].break_glass is True
    assert any("break-glass" in n for n in merged.notes)
    # A document from before the flag existed (same format version) reads as not break-glass.
    doc = json.loads(published.raw(store))
    del doc["tenants"]["acme"]["break_glass"]
    assert published.parse(doc).tenants["acme"].break_glass is False


def test_elevation_lasts_its_minutes_and_its_expiry_is_audited_once(store, clock):
    with pytest.raises(breakglass.ReasonRequired):
        breakglass.elevate(store, "acme", actor=DANA, reason=" ")
    e = breakglass.elevate(store, "acme", actor=DANA, reason="INC-42 stuck orders")
    assert e.until == clock() + 15 * 60
    assert breakglass.current(store, "acme") == e
    [ev] = events(store, "elevate")
    assert (ev.actor, ev.tenant, ev.reason, json.loads(ev.after)["until"]) == ("dana", "acme", "INC-42 stuck orders",
                                                                               e.until)
    clock.advance(14 * 60)
    assert breakglass.expire(store) == [] and breakglass.current(store, "acme") is not None
    clock.advance(60)
    assert breakglass.current(store, "acme") is None
    assert [x.tenant for x in breakglass.expire(store)] == ["acme"]
    assert breakglass.expire(store) == []
    [gone] = events(store, "elevation_expired")
    assert (gone.actor, gone.tenant, json.loads(gone.before)["until"]) == ("dana", "acme", e.until)
    with store.read() as conn:
        assert conn.execute(select(Meta.__table__.c.key).where(Meta.__table__.c.key.like("elevation:%"))).all() == []


def test_cli_write_refuses_until_elevated(tmp_path, store, capsys):
    cfg = write_config(tmp_path)
    url = store.url  # str(engine.url) would hide the password
    args = ["--config", str(cfg), "--store", url]
    assert main(["flows", "pause", "acme", "inv", "--reason", "x", *args]) == 1
    assert "break-glass" in capsys.readouterr().err
    assert main(["elevate", "acme", "--reason", "INC-42", "--minutes", "5", *args]) == 0
    assert "writes allowed until" in capsys.readouterr().out
    assert main(["flows", "pause", "acme", "inv", "--reason", "x", *args]) == 0
    assert [e.reason for e in events(store, "elevate")] == ["INC-42"]
