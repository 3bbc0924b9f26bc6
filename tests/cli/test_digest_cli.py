"""`syncops digest`: the handover in text, Markdown and JSON."""

from __future__ import annotations

from syncops.store.categories import Category


def test_digest_markdown_and_json(cli, seed) -> None:
    ids = seed.failed(2, message="rejected: bad tax code")
    seed.settle(seed.orders(1), Category.MAPPING, "sku 'X' not in map to_erp_sku", error_map="to_erp_sku",
                error_value="X")
    assert cli("records", "retry", str(ids[0])).code == 0
    assert cli("flows", "pause", "acme", "orders", "--reason", "ERP upgrade").code == 0
    r = cli("digest", "--since", "8h", "--markdown")
    assert r.code == 0, r.err
    assert r.out.startswith("# Shift handover: ")
    assert "| tech1 | retry | 1 |" in r.out
    assert "| acme | orders | ERP upgrade | tech1 |" in r.out
    j = cli("digest", "--json").json()
    assert {row["Category"] for row in j["broke"]["rows"]} == {"validation", "mapping"}
    t = cli("digest")
    assert "WHAT BROKE" in t.out and "PAUSED FLOWS" in t.out


def test_digest_rejects_a_bad_duration(cli) -> None:
    r = cli("digest", "--since", "yesterday")
    assert r.code == 2 and "--since" in r.err
