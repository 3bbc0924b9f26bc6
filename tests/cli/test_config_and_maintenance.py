"""`config validate`, `locate`, `creds check --offline` and `purge`."""

from __future__ import annotations

from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "sample_config" / "demo.yaml"

BROKEN = """\
tenants:
  acme:
    endpoints:
      pos: {kind: square, base_url: simulator, credential: simulator}
      web: {kind: shopify, base_url: simulator, credential: simulator}
    flows:
      - name: inv
        entity: inventory
        source: pos
        target: web
        schedule: {every: soon}
        sla: 1m
"""


def test_config_validate_accepts_the_demo_config(cli) -> None:
    r = cli("config", "validate", str(DEMO))
    assert r.code == 0, r.err
    assert "OK" in r.out and "demo.yaml" in r.out
    assert "2 tenants" in r.out


def test_config_validate_without_a_file_checks_the_resolved_config(cli, config_path: Path) -> None:
    r = cli("config", "validate")
    assert r.code == 0, r.err
    assert str(config_path) in r.out and "3 flows" in r.out


def test_config_validate_names_file_line_and_field(cli, tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    r = cli("config", "validate", str(bad))
    assert r.code == 1
    assert f"{bad}:11: tenants.acme.flows[0].schedule.every:" in r.err
    assert "soon" in r.err and "expected" in r.err
    assert "Traceback" not in r.err and r.out == ""


def test_config_validate_reports_yaml_syntax_and_missing_files(cli, tmp_path: Path) -> None:
    bad = tmp_path / "syntax.yaml"
    bad.write_text("tenants: [\n", encoding="utf-8")
    r = cli("config", "validate", str(bad))
    assert r.code == 1 and f"{bad}:" in r.err and "YAML" in r.err and "Traceback" not in r.err
    r = cli("config", "validate", str(tmp_path / "nope.yaml"))
    assert r.code == 1 and "not found" in r.err and "Traceback" not in r.err


def test_a_broken_config_stops_other_commands_cleanly(cli, tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    r = cli("records", "list", "--config", str(bad))
    assert r.code == 1 and "schedule.every" in r.err and "Traceback" not in r.err


# --- locate ---------------------------------------------------------------------------------------

def test_locate_json_names_every_place(cli, config_path: Path, store_url: str, cli_env) -> None:
    r = cli("locate", "--json")
    assert r.code == 0, r.err
    info = r.json()
    assert set(info) >= {"config", "store", "themes", "logs", "data"}
    assert info["config"] == str(config_path)
    assert info["store"] == store_url
    assert isinstance(info["themes"], list)
    # The user dirs resolve inside this test's private HOME, never the real one.
    assert info["data"].startswith(str(cli_env["home"]))
    assert info["logs"].startswith(str(cli_env["home"]))


def test_locate_flags_beat_the_environment(cli, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    r = cli("locate", "--json", "--store", "sqlite:///x.db", "--config", str(other))
    info = r.json()
    assert info["store"] == "sqlite:///x.db" and info["config"] == str(other)


def test_locate_without_any_config(cli, monkeypatch, cli_env) -> None:
    monkeypatch.delenv("SYNCOPS_CONFIG")
    monkeypatch.delenv("SYNCOPS_STORE")
    r = cli("locate")
    assert r.code == 0
    assert "none; default location" in r.out
    assert str(cli_env["home"]) in r.out  # default store in the (private) user data dir


# --- creds check ----------------------------------------------------------------------------------

def _env_cred_config(tmp_path: Path) -> Path:
    path = tmp_path / "env.yaml"
    path.write_text(
        "tenants:\n  shop:\n    endpoints:\n"
        "      pos: {kind: square, base_url: 'https://connect.squareupsandbox.com', credential: 'env:SHOP_POS_TOKEN'}\n"
        "      web: {kind: shopify, base_url: simulator, credential: simulator}\n"
        "    flows:\n      - {name: inv, entity: inventory, source: pos, target: web, schedule: {every: 5s}, sla: 1m}\n",
        encoding="utf-8")
    return path


def test_creds_check_offline_reports_a_missing_env_secret(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SHOP_POS_TOKEN", raising=False)
    r = cli("creds", "check", "--offline", "--config", str(_env_cred_config(tmp_path)))
    assert r.code == 1
    line = next(l for l in r.out.splitlines() if " pos " in l)
    assert "missing" in line
    assert "simulator" in next(l for l in r.out.splitlines() if " web " in l)


def test_creds_check_offline_passes_when_the_env_secret_is_set(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHOP_POS_TOKEN", "s3cret-value")
    r = cli("creds", "check", "--offline", "--config", str(_env_cred_config(tmp_path)))
    assert r.code == 0, r.out + r.err
    assert "environment SHOP_POS_TOKEN" in r.out and "missing" not in r.out
    assert "s3cret-value" not in r.out + r.err  # never print the secret


def test_creds_check_without_config_is_a_clear_error(cli, monkeypatch) -> None:
    monkeypatch.delenv("SYNCOPS_CONFIG")
    r = cli("creds", "check", "--offline")
    assert r.code == 1 and "no config file" in r.err


# --- purge ----------------------------------------------------------------------------------------

def test_purge_removes_old_finished_records_only(cli, seed) -> None:
    old_failed = seed.failed(1)[0]
    old_resolved = seed.failed(1)[0]
    assert cli("records", "resolve", str(old_resolved), "--reason", "dup").code == 0
    fresh = seed.orders(1)[0]
    fresh_resolved = seed.failed(1)[0]
    assert cli("records", "resolve", str(fresh_resolved), "--reason", "dup").code == 0
    # Age everything by 10 days (purge looks at updated_at / created_at).
    from sqlalchemy import update

    from syncops.store.tables import Record

    ten_days = 10 * 86400
    with seed.store.write() as conn:
        conn.execute(update(Record.__table__).where(Record.__table__.c.id.in_([old_failed, old_resolved]))
                     .values(created_at=Record.__table__.c.created_at - ten_days,
                             updated_at=Record.__table__.c.updated_at - ten_days))
    r = cli("purge", "--days", "7", "--yes")
    assert r.code == 0, r.err
    assert "purged 1 record(s)" in r.out
    ids = {row["id"] for row in cli("records", "list", "--json").json()}
    assert ids == {old_failed, fresh, fresh_resolved}  # failed records are never purged


def test_purge_without_yes_and_without_a_terminal_refuses(cli, seed) -> None:
    rid = seed.failed(1)[0]
    assert cli("records", "resolve", str(rid), "--reason", "dup").code == 0
    r = cli("purge", "--days", "0")
    assert r.code != 0 and "--yes" in r.err
    assert [row["id"] for row in cli("records", "list", "--json").json()] == [rid]
