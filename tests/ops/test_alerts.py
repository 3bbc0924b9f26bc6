"""An SLA breach notifies once through apprise and the command hook, repeats only after the re-notify
interval, sends a recovery when it clears; a silenced condition sends nothing."""

from __future__ import annotations

import json

from syncops.ops import alerts
from syncops.store import lifecycle
from syncops.store.lifecycle import Outcome
from tests.conftest import enqueue_n


def hook_lines(out) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def deliver_all(store):
    got = lifecycle.claim(store, tenant="acme", target="shop", owner="e1", limit=100)
    lifecycle.settle(store, "e1", [Outcome(record=c) for c in got], endpoint="shop")


def test_sla_breach_notifies_once_renotifies_after_interval_and_recovers(store, clock, alert_config, receiver):
    config, out = alert_config
    enqueue_n(store, 3, tenant="acme", flow="orders", target="shop")
    assert alerts.run_alerts(store, config) == []  # within the SLA: nothing
    clock.advance(120)  # past the 60s SLA

    alerts.run_alerts(store, config)
    assert len(receiver.posts) == 1 and len(hook_lines(out)) == 1
    post, hook = receiver.posts[0], hook_lines(out)[0]
    assert "FIRING sla_breach acme/orders" in post["title"]
    for text in (post["message"], hook["text"]):
        assert "tenant: acme  flow: orders" in text and "records: 3" in text
        assert "syncops records list --tenant acme --flow orders" in text and ":flow orders" in text
        assert "since: " in text
    assert hook["event"] == "firing" and hook["alert"]["rule"] == "sla_breach"

    clock.advance(600)  # still breached, well inside the 1h re-notify interval
    alerts.run_alerts(store, config)
    assert len(receiver.posts) == 1 and len(hook_lines(out)) == 1
    [doc] = alerts.firing(store)
    assert doc["rule"] == "sla_breach" and doc["notifications"] == 1

    clock.advance(3600)
    alerts.run_alerts(store, config)
    assert len(receiver.posts) == 2 and "STILL FIRING" in receiver.posts[1]["title"]

    deliver_all(store)
    alerts.run_alerts(store, config)  # delivered late: p95 over the last 30 min still breaches the SLA
    assert len(receiver.posts) == 2
    clock.advance(31 * 60)
    alerts.run_alerts(store, config)
    assert len(receiver.posts) == 3 and "RESOLVED sla_breach acme/orders" in receiver.posts[2]["title"]
    assert hook_lines(out)[-1]["event"] == "resolved"
    assert alerts.firing(store) == []
    alerts.run_alerts(store, config)  # cleared stays quiet
    assert len(receiver.posts) == 3
    assert [h["event"] for h in alerts.history(store)] == ["firing", "reminder", "resolved"]


def test_silenced_condition_sends_nothing(store, clock, alert_config, receiver):
    config, out = alert_config
    alerts.add_silence(store, "acme/*", 7200, reason="planned maintenance")
    enqueue_n(store, 2, tenant="acme", flow="orders", target="shop")
    clock.advance(120)
    alerts.run_alerts(store, config)
    clock.advance(600)
    alerts.run_alerts(store, config)
    assert receiver.posts == [] and hook_lines(out) == []
    [doc] = alerts.firing(store)
    assert doc["silenced_until"] is not None  # shown, but held back
    deliver_all(store)
    alerts.run_alerts(store, config)  # cleared while silenced and never sent: no recovery either
    assert receiver.posts == [] and hook_lines(out) == []


def test_secret_in_apprise_url_never_stored_or_shown(store, clock, alert_config, receiver):
    config, _ = alert_config
    enqueue_n(store, 1, tenant="acme", flow="orders", target="shop")
    clock.advance(120)
    alerts.run_alerts(store, config)
    assert receiver.posts  # the token reached apprise ...
    from syncops.ops import meta

    dumped = json.dumps(meta.scan(store, ""))
    assert "tok-SECRET-4711" not in dumped  # ... but not the store
    assert all("tok-SECRET-4711" not in ch.shown for ch in config.alerts.channels)
