"""syncops.config: samples load, every problem is reported as FILE:LINE: path: message, precedence rules."""

from __future__ import annotations

import dataclasses
import re
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncops.config import (
    Config,
    ConfigError,
    DurationError,
    format_duration,
    load_config,
    parse_duration,
    resolve_config_path,
    resolve_store_url,
    sample_path,
)
from syncops.config import locate
from syncops.config.interpolate import InterpolationError, interpolate

# A minimal valid tenant; tests append or replace pieces of it.
BASE = """\
tenants:
  acme:
    endpoints:
      pos: {kind: square, base_url: simulator}
      web: {kind: shopify, base_url: "https://acme.myshopify.com"}
    maps:
      skus: {A: B}
    flows:
      - name: inv
        entity: inventory
        source: pos
        target: web
        schedule: {every: 5s}
        sla: 1m
        mappings: {sku: skus}
"""


def write(tmp_path: Path, text: str, name: str = "syncops.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, text), env=env or {})


def errors(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    for line in info.value.errors:
        assert re.match(r"^.+?:\d+: [^:]+: .+", line), line
    assert str(info.value) == "\n".join(info.value.errors)
    return info.value.errors


def only_error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    found = errors(tmp_path, text, env)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never look at the real user's config/data dirs or environment."""
    home = tmp_path / "home"
    monkeypatch.setattr(locate, "user_config_dir", lambda app: str(home / "config" / app))
    monkeypatch.setattr(locate, "user_data_dir", lambda app: str(home / "data" / app))
    monkeypatch.delenv("SYNCOPS_CONFIG", raising=False)
    monkeypatch.delenv("SYNCOPS_STORE", raising=False)
    return home


# -- samples ---------------------------------------------------------------------------------------


def test_demo_sample_loads() -> None:
    config = load_config(sample_path("demo.yaml"), env={})
    assert list(config.tenants) == ["acme-outdoor", "bella-boutique"]
    acme, bella = config.tenants["acme-outdoor"], config.tenants["bella-boutique"]
    assert acme.production is True and bella.production is False
    assert {e.kind for e in acme.endpoints.values()} == {"square", "shopify", "odoo"}
    assert {e.kind for e in bella.endpoints.values()} == {"square", "shopify"}
    assert all(e.is_simulated and e.credential == "simulator" for t in config.tenants.values() for e in t.endpoints.values())
    assert len(list(config.iter_flows())) >= 6
    inv = acme.flows["inventory-pos-to-web"]
    assert (inv.entity, inv.source, inv.target, inv.schedule.every, inv.coalesce) == ("inventory", "pos", "web", 1.0, True)
    assert set(inv.mappings) == {"sku", "location"}
    orders = acme.flows["web-orders-to-erp"]
    assert (orders.source, orders.target) == ("web", "erp")
    assert set(orders.mappings) >= {"order_status", "payment_method", "tax_code", "sku"}
    assert acme.flows["store-sales-to-erp"].source == "pos"
    assert acme.flows["returns-pos-to-erp"].entity == "return"
    price = acme.flows["prices-erp-to-web"]
    assert (price.source, price.target, price.schedule.every, price.coalesce) == ("erp", "web", 30.0, True)
    # The demo must produce mapping failures: some simulator SKUs are deliberately unmapped.
    web_skus = acme.mappings[inv.mappings["sku"]]
    assert "TSHIRT-RED-M" in web_skus
    assert {"BOOT-BRN-42", "CAP-BLK"}.isdisjoint(web_skus)


def test_retailer_sample_loads_with_csv_and_defaults() -> None:
    config = load_config(sample_path("retailer.yaml"), env={})
    tenant = config.tenants["my-retailer"]
    assert {e.kind for e in tenant.endpoints.values()} == {"square", "shopify", "odoo"}
    assert tenant.endpoints["web"].base_url == "https://your-shop.myshopify.com"
    assert tenant.endpoints["web"].credential_env == "SHOPIFY_ACCESS_TOKEN"
    assert tenant.endpoints["pos"].credential == "keyring"
    assert tenant.endpoints["pos"].keyring_user == "my-retailer/pos"
    assert tenant.mappings["square_to_shopify_sku"]["JACKET-GRN-S"] == "JKT-GREEN-S"  # from skus.csv
    assert "source" not in tenant.mappings["square_to_shopify_sku"]  # header skipped
    # x- anchor shared through a YAML alias.
    assert tenant.flows["web-orders-to-erp"].retry.max_delay == 600.0
    # Every flow in the template can be run by its connectors (`config validate` checks that).
    assert load_config(sample_path("retailer.yaml"), env={}, runnable=True).tenants["my-retailer"].flows


def test_validate_refuses_a_flow_no_connector_can_run_even_when_disabled(tmp_path: Path) -> None:
    text = BASE.replace("entity: inventory", "entity: settlement\n        enabled: false", 1).replace(
        "        mappings: {sku: skus}\n", "")
    assert load(tmp_path, text).tenants["acme"].flows  # plain loading (console, status) still works
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={}, runnable=True)
    [line] = info.value.errors
    # Square payouts can be read now, but a web shop has no ledger to post them to.
    assert ":10: tenants.acme.flows[0].entity: expected an entity both endpoints support: a shopify endpoint " \
           "(web) cannot receive settlement; it supports inventory, price" in line


def test_retailer_sample_uses_environment() -> None:
    config = load_config(sample_path("retailer.yaml"), env={"SHOPIFY_SHOP": "acme", "ODOO_DB": "acme-prod"})
    tenant = config.tenants["my-retailer"]
    assert tenant.endpoints["web"].base_url == "https://acme.myshopify.com"
    assert tenant.endpoints["erp"].options == {"database": "acme-prod", "company_id": 1}


def test_sample_path_names() -> None:
    assert sample_path("demo") == sample_path("demo.yaml")
    assert sample_path("skus.csv").is_file()
    for bad in ("nope.yaml", "../pyproject.toml", ""):
        with pytest.raises(FileNotFoundError):
            sample_path(bad)


def test_sample_path_from_installed_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site" / "syncops_sample_config"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "demo.yaml").write_text("tenants: {}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    import syncops.shipped

    monkeypatch.setattr(syncops.shipped, "_REPO", tmp_path / "not-a-checkout")
    assert sample_path("demo.yaml") == package / "demo.yaml"


# -- defaults and values ---------------------------------------------------------------------------


def test_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, BASE)
    assert config.store is None
    assert config.source_path == (tmp_path / "syncops.yaml").resolve()
    tenant = config.tenants["acme"]
    assert tenant.production is False
    pos, web = tenant.endpoints["pos"], tenant.endpoints["web"]
    assert pos.credential == "simulator" and web.credential == "keyring"
    assert web.options == {} and web.tenant == "acme"
    flow = tenant.flows["inv"]
    assert flow.schedule.timezone == "UTC" and flow.schedule.cron is None
    assert (flow.retry.max_attempts, flow.retry.base_delay, flow.retry.max_delay) == (8, 1.0, 300.0)
    assert (flow.batch_size, flow.enabled, flow.sla, flow.tenant) == (100, True, 60.0, "acme")
    with pytest.raises(dataclasses.FrozenInstanceError):
        flow.sla = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("entity", "coalesce", "expected"),
    [("inventory", None, True), ("price", None, True), ("order", None, False), ("product", None, False),
     ("order", "true", True), ("inventory", "false", False)],
)
def test_coalesce_default_by_entity(tmp_path: Path, entity: str, coalesce: str | None, expected: bool) -> None:
    text = BASE.replace("entity: inventory", f"entity: {entity}").replace("        mappings: {sku: skus}\n", "")
    if coalesce:
        text += f"        coalesce: {coalesce}\n"
    assert load(tmp_path, text).tenants["acme"].flows["inv"].coalesce is expected


def test_cron_schedule_and_store(tmp_path: Path) -> None:
    text = "store: sqlite:////var/lib/syncops.db\n" + BASE.replace(
        "schedule: {every: 5s}", 'schedule: {cron: "0  2 * * 1-5", timezone: Europe/Berlin}'
    )
    config = load(tmp_path, text)
    schedule = config.tenants["acme"].flows["inv"].schedule
    assert (schedule.every, schedule.cron, schedule.timezone) == (None, "0 2 * * 1-5", "Europe/Berlin")
    assert config.store == "sqlite:////var/lib/syncops.db"


def test_map_values_keep_their_spelling(tmp_path: Path) -> None:
    text = BASE.replace("skus: {A: B}", "skus: {0042: 007, 1.50: on, TAX: '${T:-x}'}")
    assert load(tmp_path, text).tenants["acme"].mappings["skus"] == {"0042": "007", "1.50": "on", "TAX": "x"}


def test_yaml_merge_keys_and_extension_keys(tmp_path: Path) -> None:
    text = "x-flow: &flow {entity: inventory, source: pos, target: web, schedule: {every: 5s}, sla: 1m}\n" + BASE
    text += "      - <<: *flow\n        name: inv2\n        sla: 2m\n"
    flows = load(tmp_path, text).tenants["acme"].flows
    assert (flows["inv2"].entity, flows["inv2"].sla) == ("inventory", 120.0)


# -- every kind of error: FILE:LINE: path: expected ..., got ... -----------------------------------


def test_unknown_key_suggests(tmp_path: Path) -> None:
    err = only_error(tmp_path, BASE + "        scheduel: {every: 1s}\n")
    assert err.startswith(f"{tmp_path / 'syncops.yaml'}:16: tenants.acme.flows[0].scheduel: unknown key 'scheduel'")
    assert "did you mean 'schedule'?" in err


def test_unknown_top_level_and_tenant_keys(tmp_path: Path) -> None:
    found = errors(tmp_path, "stor: x\n" + BASE.replace("    endpoints:", "    prodution: true\n    endpoints:"))
    assert found[0].endswith(":1: stor: unknown key 'stor' (did you mean 'store'?); expected one of: store, tenants, alerts, webhooks")
    assert ":4: tenants.acme.prodution: unknown key" in found[1] and "did you mean 'production'?" in found[1]


def test_bad_duration(tmp_path: Path) -> None:
    err = only_error(tmp_path, BASE.replace("sla: 1m", "sla: 5 minutes"))
    assert ":14: tenants.acme.flows[0].sla: expected a duration like 5s" in err
    assert "got '5 minutes'" in err


@pytest.mark.parametrize(
    ("cron", "needle"),
    [("0 2 * *", "5 fields (minute hour day month weekday), got 4"), ("0 25 * * *", "expected a valid cron expression, got '0 25 * * *'"),
     ("x * * * *", "expected a valid cron expression")],
)
def test_bad_cron(tmp_path: Path, cron: str, needle: str) -> None:
    err = only_error(tmp_path, BASE.replace("schedule: {every: 5s}", f'schedule: {{cron: "{cron}"}}'))
    assert ":13: tenants.acme.flows[0].schedule.cron: " in err and needle in err


def test_schedule_needs_exactly_one_kind(tmp_path: Path) -> None:
    both = only_error(tmp_path, BASE.replace("{every: 5s}", '{every: 5s, cron: "* * * * *"}'))
    assert ":13: tenants.acme.flows[0].schedule: expected exactly one of" in both and both.endswith("got both")
    neither = only_error(tmp_path, BASE.replace("{every: 5s}", "{timezone: UTC}"))
    assert neither.endswith("got neither")


def test_bad_timezone(tmp_path: Path) -> None:
    err = only_error(tmp_path, BASE.replace("{every: 5s}", '{cron: "0 2 * * *", timezone: Europe/Berln}'))
    assert ":13: tenants.acme.flows[0].schedule.timezone: expected an IANA timezone" in err
    assert "got 'Europe/Berln' (did you mean 'Europe/Berlin'?)" in err


def test_unknown_endpoint_reference(tmp_path: Path) -> None:
    err = only_error(tmp_path, BASE.replace("source: pos", "source: poss"))
    assert ":11: tenants.acme.flows[0].source: expected an endpoint of tenant acme (pos, web), got 'poss'" in err
    assert "did you mean 'pos'?" in err


def test_same_source_and_target(tmp_path: Path) -> None:
    err = only_error(tmp_path, BASE.replace("target: web", "target: pos"))
    assert ":12: tenants.acme.flows[0].target: expected a target endpoint different from the source" in err


def test_unknown_map_and_roles(tmp_path: Path) -> None:
    found = "\n".join(errors(tmp_path, BASE.replace("{sku: skus}", "{sku: skuz, colour: skus, gl_account: skus}")))
    assert found.count("\n") == 2, found
    assert ":15: tenants.acme.flows[0].mappings.sku: expected a map defined under this tenant's maps (skus), got 'skuz'" in found
    assert ":15: tenants.acme.flows[0].mappings.colour: unknown key 'colour'" in found
    assert "mappings.gl_account: expected a role used by inventory records (sku, location), got 'gl_account'" in found


@pytest.mark.parametrize("key", ["token", "password", "api_key", "secret", "access_token", "client_secret"])
def test_secret_looking_key_rejected_without_echo(tmp_path: Path, key: str) -> None:
    text = BASE.replace("base_url: simulator}", f"base_url: simulator, {key}: hunter2}}")
    err = only_error(tmp_path, text)
    assert f":4: tenants.acme.endpoints.pos.{key}: expected no secrets in the config file" in err
    assert "syncops creds set" in err and "env:" in err
    assert "hunter2" not in err


def test_secret_in_options_rejected(tmp_path: Path) -> None:
    text = BASE.replace("base_url: simulator}", "base_url: simulator, options: {auth: {shop_password: hunter2}}}")
    err = only_error(tmp_path, text)
    assert "tenants.acme.endpoints.pos.options.auth.shop_password: expected no secrets" in err and "hunter2" not in err


def test_credential_must_be_a_reference(tmp_path: Path) -> None:
    literal = only_error(tmp_path, BASE.replace("base_url: simulator}", "base_url: simulator, credential: shpat_0123456789abcdef}"))
    assert ":4: tenants.acme.endpoints.pos.credential: expected a credential reference" in literal
    assert "shpat" not in literal
    typo = only_error(tmp_path, BASE.replace("base_url: simulator}", "base_url: simulator, credential: keyrng}"))
    assert "did you mean 'keyring'?" in typo
    sim = only_error(tmp_path, BASE.replace('"https://acme.myshopify.com"}', '"https://acme.myshopify.com", credential: simulator}'))
    assert ":5: tenants.acme.endpoints.web.credential:" in sim and "only valid with base_url: simulator" in sim
    env = load(tmp_path, BASE.replace("base_url: simulator}", "base_url: simulator, credential: env:POS_TOKEN}"))
    assert env.tenants["acme"].endpoints["pos"].credential_env == "POS_TOKEN"


def test_base_url_checks(tmp_path: Path) -> None:
    bad = only_error(tmp_path, BASE.replace("base_url: simulator", "base_url: ftp://x"))
    assert ":4: tenants.acme.endpoints.pos.base_url: expected an http(s) URL" in bad and "got 'ftp://x'" in bad
    pw = only_error(tmp_path, BASE.replace("base_url: simulator", "base_url: 'https://u:hunter2@x.com'"))
    assert "without a password" in pw and "hunter2" not in pw
    ok = load(tmp_path, BASE.replace("base_url: simulator", "base_url: https://x.com/api/"))
    assert ok.tenants["acme"].endpoints["pos"].base_url == "https://x.com/api"


def test_unknown_endpoint_kind(tmp_path: Path) -> None:
    err = only_error(tmp_path, BASE.replace("kind: square", "kind: squareup"))
    assert ":4: tenants.acme.endpoints.pos.kind: expected an endpoint kind: one of square, shopify, bigcommerce, odoo" in err


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    err = only_error(tmp_path, BASE.replace("        sla: 1m", "        sla: 1m\n      oops: [unclosed"))
    assert re.match(rf"^{re.escape(str(tmp_path / 'syncops.yaml'))}:\d+: YAML syntax: expected valid YAML, got ", err), err
    flow_style = only_error(tmp_path, BASE.replace("base_url: simulator", "base_url: ${POS_URL}"))
    assert ":4: YAML syntax:" in flow_style and "quote values that contain ${...} inside {...}" in flow_style
    tab = only_error(tmp_path, "tenants:\n\tacme: {}\n")
    assert ":2: YAML syntax:" in tab


def test_unset_env_var_is_named(tmp_path: Path) -> None:
    err = only_error(tmp_path, BASE.replace("base_url: simulator", "base_url: '${POS_URL}'"))
    assert ":4: tenants.acme.endpoints.pos.base_url: expected environment variable POS_URL to be set" in err


def test_duplicate_keys_and_flow_names(tmp_path: Path) -> None:
    found = errors(tmp_path, BASE.replace("sla: 1m", "sla: 1m\n        sla: 2m") + BASE[BASE.index("      - name"):])
    assert ":15: tenants.acme.flows[0].sla: expected each key once, got a duplicate (first on line 14)" in found[0]
    assert ":17: tenants.acme.flows[1].name: expected flow names unique within tenant acme, got 'inv' again (first on line 9)" in found[1]


def test_numeric_limits(tmp_path: Path) -> None:
    text = BASE.replace("sla: 1m", "sla: 0\n        batch_size: 1001\n        retry: {max_attempts: 0, base_delay: 10m, max_delay: 1m}")
    found = errors(tmp_path, text)
    assert "flows[0].sla: expected a duration greater than 0, got 0" in found[0]
    assert "flows[0].batch_size: expected a whole number 1..1000, got 1001" in found[1]
    assert "flows[0].retry.max_attempts: expected a whole number >= 1, got 0" in found[2]
    assert "flows[0].retry.base_delay: expected base_delay <= max_delay (60s), got 600s" in found[3]
    wrong_type = only_error(tmp_path, BASE.replace("sla: 1m", "sla: 1m\n        batch_size: lots"))
    assert "batch_size: expected a whole number 1..1000, got 'lots'" in wrong_type
    yes = only_error(tmp_path, BASE.replace("sla: 1m", "sla: 1m\n        enabled: maybe"))
    assert "enabled: expected true or false, got 'maybe'" in yes


def test_missing_required_keys(tmp_path: Path) -> None:
    found = errors(tmp_path, BASE.replace("        sla: 1m\n", "").replace("        entity: inventory\n", ""))
    assert any(":9: tenants.acme.flows[0].entity: expected required key 'entity'" in e for e in found)
    assert any(":9: tenants.acme.flows[0].sla: expected required key 'sla'" in e for e in found)
    no_tenants = only_error(tmp_path, "store: sqlite:///x.db\n")
    assert no_tenants.endswith(":1: tenants: expected required key 'tenants' (a mapping of tenant name: settings), got it missing")


def test_wrong_shapes(tmp_path: Path) -> None:
    flows_as_mapping = only_error(tmp_path, BASE.replace("      - name: inv\n", "      inv:\n        name: inv\n"))
    assert ":9: tenants.acme.flows: expected a list of flows" in flows_as_mapping and "got a mapping" in flows_as_mapping
    root_list = only_error(tmp_path, "- a\n- b\n")
    assert root_list.endswith(":1: (top level): expected a mapping with 'store:' and 'tenants:', got a list")
    bad_name = only_error(tmp_path, BASE.replace("  acme:", "  acme corp:"))
    assert ":2: tenants.acme corp: expected a tenant name (a name of letters" in bad_name


def test_collects_all_errors_in_file_order(tmp_path: Path) -> None:
    text = BASE.replace("kind: square", "kind: sqare").replace("source: pos", "source: nope").replace("sla: 1m", "sla: soon")
    found = errors(tmp_path, "bogus: 1\n" + text)
    lines = [int(e.split(":")[1]) for e in found]
    assert len(found) == 4 and lines == sorted(lines)


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yaml: config file not found"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="got a directory"):
        load_config(tmp_path)
    (tmp_path / "latin1.yaml").write_bytes(b"tenants:\n  caf\xe9: {}\n")
    with pytest.raises(ConfigError, match=r"latin1\.yaml:2: .*expected UTF-8"):
        load_config(tmp_path / "latin1.yaml")
    empty = only_error(tmp_path, "# nothing yet\n")
    assert empty.endswith(":1: (top level): expected a mapping with a 'tenants:' key, got an empty file")
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert "acme" in load_config(bom, env={}).tenants


# -- environment interpolation ---------------------------------------------------------------------


def test_env_interpolation(tmp_path: Path) -> None:
    text = BASE.replace("base_url: simulator", "base_url: 'https://${HOST}:${PORT:-8443}/$${literal}'").replace(
        "sla: 1m", "sla: ${SLA:-2m}\n        batch_size: ${BATCH}"
    )
    flow_env = {"HOST": "pos.example", "BATCH": "25", "SLA": ""}
    config = load(tmp_path, text, env=flow_env)
    assert config.tenants["acme"].endpoints["pos"].base_url == "https://pos.example:8443/${literal}"
    flow = config.tenants["acme"].flows["inv"]
    assert flow.sla == 120.0  # empty counts as unset for ":-", as in the shell
    assert flow.batch_size == 25  # unquoted ${BATCH} is re-typed like any unquoted YAML number


def test_env_defaults_to_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCOPS_TEST_SHOP", "bella")
    text = BASE.replace('"https://acme.myshopify.com"', '"https://${SYNCOPS_TEST_SHOP}.myshopify.com"')
    config = load_config(write(tmp_path, text))
    assert config.tenants["acme"].endpoints["web"].base_url == "https://bella.myshopify.com"


def test_quoted_interpolation_stays_text(tmp_path: Path) -> None:
    err = only_error(tmp_path, BASE.replace("sla: 1m", "sla: 1m\n        batch_size: '${BATCH}'"), env={"BATCH": "25"})
    assert "batch_size: expected a whole number 1..1000, got '25'" in err


def test_interpolate_unit() -> None:
    assert interpolate("a${X}b${Y:-d}c$$", {"X": "1"}) == "a1bdc$"
    assert interpolate("${X:-}", {}) == ""
    with pytest.raises(InterpolationError, match="Y to be set"):
        interpolate("${Y}", {})
    with pytest.raises(InterpolationError, match="unterminated"):
        interpolate("x ${Y", {})
    with pytest.raises(InterpolationError, match="got '\\$\\{1X\\}'"):
        interpolate("${1X}", {})


# -- CSV value maps --------------------------------------------------------------------------------


def csv_config(tmp_path: Path, csv_text: str, ref: str = "maps/skus.csv") -> Path:
    (tmp_path / "maps").mkdir(exist_ok=True)
    (tmp_path / "maps" / "skus.csv").write_text(csv_text, encoding="utf-8")
    return write(tmp_path, BASE.replace("skus: {A: B}", f"skus: {{file: {ref}}}"))


def test_csv_map_relative_to_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = csv_config(tmp_path, "source,target\nA, B\n\n# comment\nC,D\n")
    monkeypatch.chdir(tmp_path / "maps")  # relative to the config file, not the working directory
    assert load_config(path, env={}).tenants["acme"].mappings["skus"] == {"A": "B", "C": "D"}


def test_csv_map_without_header_and_absolute_path(tmp_path: Path) -> None:
    path = csv_config(tmp_path, "\ufeffSOURCE,TARGET\nA,B\n", ref=str(tmp_path / "maps" / "skus.csv"))
    assert load_config(path, env={}).tenants["acme"].mappings["skus"] == {"A": "B"}
    path = csv_config(tmp_path, 'X,Y\n"with,comma",Z\n')
    assert load_config(path, env={}).tenants["acme"].mappings["skus"] == {"X": "Y", "with,comma": "Z"}


def test_csv_bad_rows_have_csv_line_numbers(tmp_path: Path) -> None:
    path = csv_config(tmp_path, "source,target\nA,B\nC\nD,E,F\nA,Z\nG,\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    csv_file = tmp_path / "maps" / "skus.csv"
    assert info.value.errors == [
        f"{csv_file}:3: tenants.acme.maps.skus.file: expected 2 non-empty columns source,target, got 1 column(s): 'C'",
        f"{csv_file}:4: tenants.acme.maps.skus.file: expected 2 non-empty columns source,target, got 3 column(s): 'D,E,F'",
        f"{csv_file}:5: tenants.acme.maps.skus.file: expected each source value once, got 'A' again (first on line 2)",
        f"{csv_file}:6: tenants.acme.maps.skus.file: expected 2 non-empty columns source,target, got an empty cell: 'G,'",
    ]


def test_csv_missing_file(tmp_path: Path) -> None:
    err = only_error(tmp_path, BASE.replace("skus: {A: B}", "skus: {file: nope.csv}"))
    assert ":7: tenants.acme.maps.skus.file: expected an existing CSV file (relative to the config file), got 'nope.csv'" in err


# -- durations -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5s", 5), ("250ms", 0.25), ("2m", 120), ("1h", 3600), ("1d", 86400), ("1h30m", 5400), ("1.5s", 1.5),
     ("30", 30), (" 2 M ", 120), (10, 10), (0.5, 0.5), ("0", 0)],
)
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5 seconds", "s", "-5s", "1e3", "5x", "inf", True, -1, float("nan"), None])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(DurationError, match="expected a duration like 5s"):
        parse_duration(bad)  # type: ignore[arg-type]


@given(st.floats(min_value=0.001, max_value=10**7, allow_nan=False))
def test_format_duration_round_trips_roughly(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=1e-3, abs=1e-3)


# -- precedence ------------------------------------------------------------------------------------


def test_resolve_store_url_precedence(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(store="postgresql://db/cfg", tenants={})
    default = f"sqlite:///{(isolated_dirs / 'data' / 'syncops' / 'syncops.db').as_posix()}"
    assert resolve_store_url(None, None) == default
    assert resolve_store_url(None, Config(store=None, tenants={})) == default
    assert resolve_store_url(None, config) == "postgresql://db/cfg"
    monkeypatch.setenv("SYNCOPS_STORE", "sqlite:///env.db")
    assert resolve_store_url(None, config) == "sqlite:///env.db"
    assert resolve_store_url("sqlite:///cli.db", config) == "sqlite:///cli.db"
    assert resolve_store_url(None, config, env={}) == "postgresql://db/cfg"  # explicit env mapping wins


def test_resolve_config_path_precedence(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_file = isolated_dirs / "config" / "syncops" / "config.yaml"
    assert locate.default_config_path() == user_file
    assert resolve_config_path(None) is None  # user file does not exist yet
    user_file.parent.mkdir(parents=True)
    user_file.write_text("tenants: {}\n")
    assert resolve_config_path(None) == user_file
    monkeypatch.setenv("SYNCOPS_CONFIG", "/etc/syncops/env.yaml")
    assert resolve_config_path(None) == Path("/etc/syncops/env.yaml")
    # An explicit choice is returned even if missing, so the user gets "not found" rather than a fallback.
    assert resolve_config_path("cli.yaml") == Path("cli.yaml")
    monkeypatch.setenv("SYNCOPS_CONFIG", "")
    assert resolve_config_path(None) == user_file


# -- robustness ------------------------------------------------------------------------------------


DEMO_LINES = sample_path("demo.yaml").read_text(encoding="utf-8").splitlines()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(0, len(DEMO_LINES) - 1), max_size=3),
    st.integers(0, len(DEMO_LINES) - 1),
    st.sampled_from(["", "x", "- 1", "{a: b}", "[", "0", "true", "${NOPE}", "'", "\t", "token: t", "&a [*a]", "*zz"]),
)
def test_mangled_demo_never_tracebacks(drop: list[int], at: int, junk: str) -> None:
    lines = [line for i, line in enumerate(DEMO_LINES) if i not in drop]
    at = min(at, len(lines) - 1)
    indent = len(lines[at]) - len(lines[at].lstrip())
    key, sep, _ = lines[at].partition(":")
    lines[at] = f"{key}: {junk}" if sep else " " * indent + junk
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo.yaml"
        path.write_text("\n".join(lines), encoding="utf-8")
        try:
            load_config(path, env={})
        except ConfigError as exc:
            assert exc.errors and all(re.match(r"^.+demo\.yaml:\d+: ", e) for e in exc.errors), exc.errors


def test_an_endpoint_wait_ceiling_must_be_a_sane_duration(tmp_path: Path) -> None:
    ok = BASE.replace('web: {kind: shopify, base_url: "https://acme.myshopify.com"}',
                      'web: {kind: shopify, base_url: "https://acme.myshopify.com", options: {max_wait: 5m}}')
    assert load(tmp_path, ok).tenants["acme"].endpoints["web"].options["max_wait"] == "5m"
    forever = only_error(tmp_path, ok.replace("max_wait: 5m", "max_wait: 30d"))
    assert ":5: tenants.acme.endpoints.web.options.max_wait: expected max_wait between 1s and 1d, got '30d'" in forever
    garbage = only_error(tmp_path, ok.replace("max_wait: 5m", "max_wait: 1e309"))
    assert "options.max_wait: expected a duration" in garbage
