"""The `alerts:` section, fleet-wide (top level) and per tenant: rules, channels, re-notify interval.

```yaml
alerts:
  notify:
    - apprise: "slack://${SLACK_TOKEN}/#ops"     # any apprise URL; ${ENV} keeps the secret out of the file
    - command: ["/usr/local/bin/page-oncall"]    # gets the alert as JSON on stdin
  renotify: 4h                                   # repeat a still-firing alert this often
  every: 1m                                      # how often the engine evaluates
  rules:                                         # each rule: a threshold, or off
    sla_breach: on
    failures: {count: 10, rate: 0.5, window: 15m}
    new_error_signature: on
    breaker_open: 10m
    oldest_waiting: 1h
    heartbeat_missing: 2m
    webhook_refused: {count: 5, window: 15m}
```
A tenant's `alerts:` overrides rules key by key and adds its channels to the fleet-wide ones.
The config holds what was written (`AlertSpec`); `effective_alerts` merges it for one tenant.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from yaml.nodes import Node, ScalarNode

from .reader import Reader, join

ALERT_KEYS = ("notify", "renotify", "every", "rules")
CHANNEL_KEYS = ("apprise", "command")
RULE_KEYS = ("sla_breach", "failures", "new_error_signature", "breaker_open", "oldest_waiting",
             "heartbeat_missing", "webhook_refused")
FAILURE_KEYS = ("count", "rate", "min_attempts", "window")
WEBHOOK_KEYS = ("count", "window")


@dataclass(frozen=True)
class Channel:
    kind: str  # "apprise" | "command"
    target: Any  # apprise: the URL (secrets interpolated: never print it, use `shown`); command: argv tuple

    @property
    def shown(self) -> str:
        return f"apprise {mask_url(self.target)}" if self.kind == "apprise" else f"command {self.target[0]}"


@dataclass(frozen=True)
class AlertRules:
    sla_breach: bool = True
    failed_count: int | None = 10  # failed deliveries within failure_window
    failure_rate: float | None = 0.5  # failed / (failed + delivered) within the window ...
    failure_min: int = 10  # ... once at least this many outcomes were seen
    failure_window: float = 900.0
    new_error_signature: bool = True
    breaker_open: float | None = 600.0  # seconds open
    oldest_waiting: float | None = 3600.0  # seconds
    heartbeat_missing: float | None = 120.0  # seconds since the last engine heartbeat
    webhook_refused: int | None = 5  # refused webhook deliveries within webhook_window
    webhook_window: float = 900.0


@dataclass(frozen=True)
class AlertSpec:
    """What one `alerts:` section says; None/empty means "not said here"."""
    rules: dict[str, Any] = field(default_factory=dict)  # AlertRules field -> value
    channels: tuple[Channel, ...] = ()
    renotify: float | None = None
    every: float | None = None


@dataclass(frozen=True)
class Alerts:
    rules: AlertRules = field(default_factory=AlertRules)
    channels: tuple[Channel, ...] = ()
    renotify: float = 4 * 3600.0
    every: float = 60.0


def effective_alerts(config: Any, tenant: str | None = None) -> Alerts:
    """The rules and channels in force for `tenant` (None: fleet-wide)."""
    fleet = getattr(config, "alerts", None) or AlertSpec()
    base = Alerts(rules=replace(AlertRules(), **fleet.rules), channels=fleet.channels,
                  renotify=fleet.renotify or Alerts.renotify, every=fleet.every or Alerts.every)
    t = getattr(config, "tenants", {}).get(tenant) if tenant else None
    own = getattr(t, "alerts", None)
    if own is None:
        return base
    return Alerts(rules=replace(base.rules, **own.rules), channels=base.channels + own.channels,
                  renotify=own.renotify or base.renotify, every=base.every)


def mask_url(url: str) -> str:
    """`scheme://*** (#fingerprint)`: an apprise URL carries its token in the host, the path, the
    userinfo or the query (apprise's own privacy mode leaves some of those), so none of it is shown;
    the fingerprint tells two channels of one scheme apart."""
    import hashlib

    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://*** (#{hashlib.sha256(url.encode()).hexdigest()[:6]})"


# -- building ------------------------------------------------------------------------------------


def build_alerts(r: Reader, node: Node, path: str) -> AlertSpec | None:
    items = r.mapping(node, path, ALERT_KEYS, what="an alerts mapping (notify, renotify, every, rules)")
    if items is None:
        return None
    channels: list[Channel] = []
    if "notify" in items:
        npath = join(path, "notify")
        for i, item in enumerate(r.sequence(items["notify"][1], npath, "a list of channels "
                                            "('- apprise: URL' or '- command: [...]')") or []):
            ch = _channel(r, item, join(npath, i))
            if ch is not None:
                channels.append(ch)
    renotify = r.duration(items["renotify"][1], join(path, "renotify")) if "renotify" in items else None
    every = r.duration(items["every"][1], join(path, "every")) if "every" in items else None
    rules = _rules(r, items["rules"][1], join(path, "rules")) if "rules" in items else {}
    return AlertSpec(rules=rules, channels=tuple(channels), renotify=renotify, every=every)


def _channel(r: Reader, node: Node, path: str) -> Channel | None:
    items = r.mapping(node, path, CHANNEL_KEYS, what="a channel ('apprise: URL' or 'command: [program, args]')")
    if items is None:
        return None
    if len(items) != 1:
        r.error(node, path, f"expected exactly one of apprise or command, got {len(items) or 'none'}")
        return None
    kind, (_, value) = next(iter(items.items()))
    sub = join(path, kind)
    if kind == "apprise":
        url = r.text(value, sub, "an apprise URL")
        if url is None:
            return None
        if "://" not in url or not urlsplit(url).scheme:
            # Never echo: the URL may hold a token.
            r.error(value, sub, "expected an apprise URL like slack://TOKEN or mailto://host, got something "
                                "else (value not shown)")
            return None
        return Channel("apprise", url)
    if isinstance(value, ScalarNode):
        text = r.text(value, sub, "a command")
        argv = tuple(shlex.split(text)) if text else ()
    else:
        argv = tuple(a for a in (r.text(n, join(sub, i), "an argument", any_scalar=True)
                                 for i, n in enumerate(r.sequence(value, sub) or [])) if a is not None)
    if not argv:
        r.error(value, sub, "expected a program and its arguments, got nothing")
        return None
    return Channel("command", argv)


def _off(r: Reader, node: Node, path: str) -> bool:
    """True when the rule says `off` (false); records an error for `on` where a threshold is needed."""
    if isinstance(node, ScalarNode) and node.tag.endswith(":bool"):
        value = r.boolean(node, path)
        if value is True:
            r.error(node, path, "expected a threshold or off, got on (write the threshold, e.g. 10m)")
        return True
    return False


def _rules(r: Reader, node: Node, path: str) -> dict[str, Any]:
    items = r.mapping(node, path, RULE_KEYS, what="a mapping of rule: threshold or off") or {}
    out: dict[str, Any] = {}
    for key, (_, value) in items.items():
        sub = join(path, key)
        if key in ("sla_breach", "new_error_signature"):
            flag = r.boolean(value, sub)
            if flag is not None:
                out[key] = flag
        elif key in ("breaker_open", "oldest_waiting", "heartbeat_missing"):
            if _off(r, value, sub):
                out[key] = None
            else:
                seconds = r.duration(value, sub)
                if seconds is not None:
                    out[key] = seconds
        elif key == "failures":
            out.update(_failures(r, value, sub))
        else:
            out.update(_webhooks(r, value, sub))
    return out


def _failures(r: Reader, node: Node, path: str) -> dict[str, Any]:
    if _off(r, node, path):
        return {"failed_count": None, "failure_rate": None}
    items = r.mapping(node, path, FAILURE_KEYS, what="a mapping (count, rate, min_attempts, window) or off")
    if items is None:
        return {}
    out: dict[str, Any] = {}
    if "count" in items:
        sub = join(path, "count")
        out["failed_count"] = None if _off(r, items["count"][1], sub) else r.integer(items["count"][1], sub, 1)
    if "rate" in items:
        sub, rn = join(path, "rate"), items["rate"][1]
        rate = None if _off(r, rn, sub) else r.scalar(rn, sub, "a fraction between 0 and 1")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1):
            r.error(rn, sub, f"expected a fraction like 0.5 (above 0, at most 1), got {rn.value!r}")
        else:
            out["failure_rate"] = rate
    if "min_attempts" in items:
        out["failure_min"] = r.integer(items["min_attempts"][1], join(path, "min_attempts"), 1)
    if "window" in items:
        out["failure_window"] = r.duration(items["window"][1], join(path, "window"))
    return {k: v for k, v in out.items() if v is not None or k in ("failed_count", "failure_rate")}


def _webhooks(r: Reader, node: Node, path: str) -> dict[str, Any]:
    if _off(r, node, path):
        return {"webhook_refused": None}
    if isinstance(node, ScalarNode):
        n = r.integer(node, path, 1)
        return {} if n is None else {"webhook_refused": n}
    items = r.mapping(node, path, WEBHOOK_KEYS, what="a count, a mapping (count, window) or off") or {}
    out: dict[str, Any] = {}
    if "count" in items:
        out["webhook_refused"] = r.integer(items["count"][1], join(path, "count"), 1)
    if "window" in items:
        out["webhook_window"] = r.duration(items["window"][1], join(path, "window"))
    return {k: v for k, v in out.items() if v is not None}
