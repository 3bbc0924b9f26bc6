"""Shift handover digest: the sections a technician hands over, Markdown that pastes into a ticket, no PII."""

from __future__ import annotations

import json
import re

from conftest import make_failed
from syncops.services import actions, digest, flows
from syncops.services.actor import Actor
from syncops.store.categories import Category

TECH = Actor("dana", "10.0.0.7", "console")
HOUR = 3600.0


def seeded(store, clock):
    clock.advance(-10 * HOUR)
    old = make_failed(store, 1, message="rejected: bad tax code", start=0)  # before the shift: still open
    clock.advance(9 * HOUR)
    new = make_failed(store, 3, category=Category.VALIDATION, start=10,
                      message="customer jane.doe@example.com has phone +1 555 010 4477: rejected")
    actions.act(store, "retry", new[0], actor=TECH)
    actions.act(store, "resolve", new[1], actor=TECH, reason="Jane Doe asked to cancel")
    flows.pause(store, "acme", "orders", actor=TECH, reason="ERP upgrade tonight")
    clock.advance(HOUR)
    return old, new


def test_digest_sections_say_what_broke_what_was_fixed_and_what_is_open(store, clock) -> None:
    old, new = seeded(store, clock)
    d = digest.build(store, None, since_seconds=8 * HOUR)
    broke = d.section("broke")
    assert [r[2] for r in broke.rows] == [1]  # new[2] still failed; new[0] is pending, new[1] resolved
    assert ["dana", "retry", 1] in d.section("fixed").rows and ["dana", "resolve", 1] in d.section("fixed").rows
    open_ = d.section("open")
    assert open_.rows and open_.rows[0][:3] == ["acme", "orders", 2]
    assert f"record #{old[0]}" in open_.notes[0] and "10h00m old" in open_.notes[0]
    (paused,) = d.section("paused").rows
    assert paused[:4] == ["acme", "orders", "ERP upgrade tonight", "dana@10.0.0.7"]


def test_markdown_pastes_into_a_ticket_and_has_no_customer_data(store, clock) -> None:
    seeded(store, clock)
    md = digest.to_markdown(digest.build(store, None, since_seconds=8 * HOUR))
    lines = md.splitlines()
    assert lines[0].startswith("# Shift handover: ") and "(8h00m)" in lines[0]
    assert [l for l in lines if l.startswith("## ")] == [
        "## What broke (1 new failure(s))", "## Fixed, and by whom", "## Still open", "## SLA breaches",
        "## Paused flows"]
    # Every table: a header, a separator with as many columns, rows with as many cells; blank line around.
    i = 0
    while i < len(lines):
        if lines[i].startswith("| "):
            assert lines[i - 1] == ""
            n = lines[i].count(" | ") + 1
            assert re.fullmatch(r"\|(-{3}:?\|)+", lines[i + 1]) and lines[i + 1].count("|") == n + 1
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                assert len(re.split(r"(?<!\\)\|", lines[i])) == n + 2
                i += 1
            assert i == len(lines) or lines[i] == ""
        i += 1
    assert "_No SLA breached._" in md
    for pii in ("jane", "Jane", "example.com", "555 010", "cancel"):
        assert pii not in md


def test_json_has_every_section(store, clock) -> None:
    seeded(store, clock)
    d = json.loads(json.dumps(digest.build(store, None, since_seconds=8 * HOUR).as_dict()))
    assert {"broke", "fixed", "open", "sla", "paused"} <= set(d)
    assert d["paused"]["rows"][0]["Reason"] == "ERP upgrade tonight"
