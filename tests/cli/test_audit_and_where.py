"""`audit list` filters, who is recorded, and --store / --config precedence."""

from __future__ import annotations

from pathlib import Path

from syncops.store.db import open_store


def test_audit_list_filters_and_table(cli, seed, monkeypatch) -> None:
    a, b = seed.failed(2)
    assert cli("records", "retry", str(a)).code == 0
    monkeypatch.setenv("SSH_CLIENT", "203.0.113.7 52000 22")
    assert cli("records", "quarantine", str(b), "--reason", "looks wrong").code == 0
    assert cli("flows", "pause", "bella", "inventory", "--reason", "stocktake").code == 0

    every = cli("audit", "list", "--json").json()
    assert [e["action"] for e in every] == ["pause", "quarantine", "retry"]  # newest first
    quarantine = every[1]
    assert (quarantine["actor"], quarantine["client"], quarantine["via"]) == ("tech1", "203.0.113.7", "cli")
    assert every[2]["client"] is None

    def actions(*args: str) -> list[str]:
        r = cli("audit", "list", "--json", *args)
        assert r.code == 0, r.err
        return [e["action"] for e in r.json()]

    assert actions("--tenant", "bella") == ["pause"]
    assert actions("--record", str(a)) == ["retry"]
    assert actions("--action", "quarantine") == ["quarantine"]
    assert actions("--actor", "someone-else") == []
    assert actions("--since", "1h") == ["pause", "quarantine", "retry"]
    assert actions("--limit", "1") == ["pause"]

    r = cli("audit", "list")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].split() == ["ID", "WHEN", "WHO", "VIA", "ACTION", "TARGET", "TENANT", "REASON"]
    assert any("tech1@203.0.113.7" in l and "record:" + str(b) in l and "looks wrong" in l for l in lines)

    r = cli("audit", "list", "--since", "lately")
    assert r.code == 1 and "--since" in r.err


def test_store_flag_beats_the_environment(cli, seed, tmp_path: Path) -> None:
    seed.orders(2)
    other = f"sqlite:///{tmp_path}/other.db"
    from syncops.store.db import open_store

    open_store(other).close()  # an existing, empty store
    assert cli("records", "list", "--json", "--store", other).json() == []
    # ... before or after the command name
    assert cli("--store", other, "records", "list", "--json").json() == []
    assert len(cli("records", "list", "--json").json()) == 2


def test_a_mistyped_store_is_an_error_not_a_new_empty_store(cli, seed, tmp_path: Path) -> None:
    seed.orders(1)
    typo = tmp_path / "nope" / "cli.db"
    r = cli("records", "list", "--store", f"sqlite:///{typo}")
    assert r.code == 1 and "does not exist" in r.err and not typo.parent.exists()
    r = cli("status", "--store", f"sqlite:///{typo}")
    assert r.code == 3 and "UNKNOWN" in r.out


def test_config_flag_beats_the_environment(cli, tmp_path: Path) -> None:
    alt = tmp_path / "alt.yaml"
    alt.write_text(
        "tenants:\n  solo:\n    endpoints:\n"
        "      a: {kind: square, base_url: simulator, credential: simulator}\n"
        "      b: {kind: shopify, base_url: simulator, credential: simulator}\n"
        "    flows:\n      - {name: inv, entity: inventory, source: a, target: b, schedule: {every: 5s}, sla: 1m}\n",
        encoding="utf-8")
    flows = cli("flows", "list", "--json", "--config", str(alt)).json()
    assert [(f["tenant"], f["flow"]) for f in flows] == [("solo", "inv")]


def test_a_newer_store_is_refused_cleanly(cli, store_url: str) -> None:
    from sqlalchemy import update

    from syncops.store.tables import Meta

    s = open_store(store_url)
    try:
        with s.write() as conn:
            conn.execute(update(Meta.__table__).where(Meta.__table__.c.key == "schema_version").values(value="999"))
    finally:
        s.close()
    r = cli("records", "list")
    assert r.code == 1 and "Traceback" not in r.err
    assert "schema version 999" in r.err and "upgrade syncops" in r.err
