"""Drop-folder endpoints in configs: the sample's blocks validate, bad layouts are file:line errors."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from syncops.config import load_config
from syncops.config.errors import ConfigError
from syncops.config.samples import sample_path
from syncops.connectors import credentials

_BLOCK = re.compile(r"^( *)# -- files \w+\n(.*?)^ *# -- end files \w+\n", re.M | re.S)


def _uncomment(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        return "".join(re.sub(r"^( *)# ?", r"\1", line, count=1) + "\n" for line in match.group(2).splitlines())
    return _BLOCK.sub(one, text)


def test_sample_drop_folder_and_sftp_blocks_validate_when_uncommented(tmp_path: Path) -> None:
    text = _uncomment(sample_path("retailer.yaml").read_text())
    assert "kind: files" in text and "kind: sftp" in text and "# -- files" not in text
    path = tmp_path / "retailer.yaml"
    path.write_text(text)
    (tmp_path / "skus.csv").write_text(sample_path("skus.csv").read_text())
    tenant = load_config(path, env={}, runnable=True).tenants["my-retailer"]
    pos, tpl = tenant.endpoints["outlet-pos"], tenant.endpoints["3pl"]
    assert (pos.kind, pos.credential, pos.base_url) == ("files", "none", "file:///srv/syncops/my-retailer/outlet-pos")
    assert (tpl.kind, tpl.credential) == ("sftp", "keyring")
    assert {"stock-outlet-to-web", "outlet-sales-to-erp", "web-orders-to-3pl", "stock-3pl-to-web"} <= set(tenant.flows)
    assert credentials.describe_source("my-retailer", "outlet-pos", "none", environ={}) == "none needed (local folder)"


BASE = """\
tenants:
  acme:
    endpoints:
      drop:
        kind: files
        base_url: file:///srv/drop
        options:
          layouts:
            inventory:
              format: csv
              columns:
                sku: Item
                location_id: {value: s1}
                available: {column: Qty, type: integer}
      web: {kind: shopify, base_url: simulator}
    flows:
      - {name: stock, entity: inventory, source: drop, target: web, schedule: {every: 1m}, sla: 1h}
"""


def errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_config(path, env={})
    return exc.value.errors if hasattr(exc.value, "errors") else [str(exc.value)]


def test_the_base_layout_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BASE)
    ep = load_config(path, env={}).tenants["acme"].endpoints["drop"]
    assert ep.credential == "none" and ep.options["layouts"]["inventory"]["format"] == "csv"


@pytest.mark.parametrize("old,new,line,message", [
    ("type: integer", "type: int", 14, "options.layouts.inventory.columns.available.type: expected a type: one of "
     "string, integer, decimal, timestamp, got 'int'"),
    ("format: csv", "format: xlsx", 10, "options.layouts.inventory.format: expected format csv or jsonl"),
    ("                sku: Item\n", "", 12, "options.layouts.inventory.columns: expected a column (or value) for sku"),
    ("sku: Item", "skew: Item", 12, "expected a canonical inventory field"),
    ("location_id: {value: s1}", "location_id: {value: s1, column: Store}", 13, "expected exactly one of `column:`"),
    ("base_url: file:///srv/drop", "base_url: https://drop.example.com", 6, "expected a file: URL like"),
    ("base_url: file:///srv/drop", "base_url: simulator", 6, "a files endpoint has no built-in simulator"),
    ("          layouts:", "          inbox: done\n          layouts:", 8, "expected four different folders"),
])
def test_a_bad_layout_is_an_error_at_its_line(tmp_path: Path, old: str, new: str, line: int, message: str) -> None:
    text = BASE.replace(old, new, 1)
    assert text != BASE
    found = errors(tmp_path, text)
    assert any(f"c.yaml:{line}:" in e and message in e for e in found), found


def test_sftp_needs_a_username_and_a_host_key_check(tmp_path: Path) -> None:
    text = BASE.replace("kind: files\n        base_url: file:///srv/drop",
                        "kind: sftp\n        base_url: sftp://sftp.example.com:2222/acme\n        credential: keyring")
    found = errors(tmp_path, text)
    assert any("options.username: expected `username:`" in e for e in found), found
    text = text.replace("        options:\n", "        options:\n          username: acme\n", 1)
    found = errors(tmp_path, text)
    assert any("host key is always checked" in e for e in found), found


def test_credential_none_is_only_for_a_local_folder(tmp_path: Path) -> None:
    text = BASE.replace("web: {kind: shopify, base_url: simulator}",
                        "web: {kind: shopify, base_url: 'https://x.myshopify.com', credential: none}")
    found = errors(tmp_path, text)
    assert any("only a local `files` endpoint needs no secret" in e for e in found), found
