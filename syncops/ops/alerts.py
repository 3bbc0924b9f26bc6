"""Alert state machine: one alert per condition until it clears, re-notify after an interval, a
recovery notice, and silences for planned maintenance. State lives in ``syncops_meta``:

- ``alert:<key>``          one JSON document per condition key (firing or resolved)
- ``alert-silence:<id>``   a silence: a pattern over alert keys / tenant / tenant/flow, and an end time
- ``alert-history:<ms>:<key>``  what was sent (or held back), for `syncops bundle` and `alerts list --history`
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from typing import Any, Callable

from syncops.config.alerts import effective_alerts
from syncops.ops import meta, notify
from syncops.ops.rules import FLEET, Condition, evaluate
from syncops.store.db import Store

STATE, SILENCE, HISTORY = "alert:", "alert-silence:", "alert-history:"
HISTORY_KEEP = 500
FIRING, RESOLVED = "firing", "resolved"


def _when(ts: float | None, now: float) -> str:
    if ts is None:
        return "-"
    ago = max(0, int(now - ts))
    span = f"{ago // 3600}h{ago % 3600 // 60:02d}m" if ago >= 3600 else f"{ago // 60}m{ago % 60:02d}s"
    return f"{datetime.fromtimestamp(ts, timezone.utc):%Y-%m-%d %H:%M:%S} UTC ({span} ago)"


def render(doc: dict[str, Any], event: str, now: float) -> tuple[str, str]:
    """Title and text of a notification: tenant, flow, what is wrong, since when, how many, how to open it."""
    where = doc["tenant"] + ("/" + (doc.get("flow") or doc.get("endpoint")) if doc.get("flow") or doc.get("endpoint") else "")
    label = {"firing": "FIRING", "reminder": "STILL FIRING", "resolved": "RESOLVED", "test": "TEST"}[event]
    title = f"[syncops] {label} {doc['rule']} {where}"
    lines = [("cleared: " if event == "resolved" else "") + doc["problem"],
             f"tenant: {doc['tenant']}" + (f"  flow: {doc['flow']}" if doc.get("flow") else "")
             + (f"  endpoint: {doc['endpoint']}" if doc.get("endpoint") else ""),
             f"since: {_when(doc['since'], now)}",
             f"records: {doc['records']}",
             f"open: {doc['command']}",
             f"console: {doc['console']}"]
    if event == "resolved":
        lines.insert(3, f"resolved: {_when(doc.get('resolved_at'), now)}")
    return title, "\n".join(lines)


def silences(store: Store) -> list[dict[str, Any]]:
    now = store.clock()
    return [s for s in meta.scan(store, SILENCE).values() if isinstance(s, dict) and s.get("until", 0) > now]


def add_silence(store: Store, pattern: str, seconds: float, reason: str = "") -> dict[str, Any]:
    now = store.clock()
    doc = {"id": uuid.uuid4().hex[:8], "pattern": pattern, "from": now, "until": now + seconds, "reason": reason}
    meta.put(store, SILENCE + doc["id"], doc)
    return doc


def remove_silence(store: Store, ident: str) -> bool:
    key = SILENCE + ident
    if meta.get(store, key) is None:
        return False
    meta.drop(store, [key])
    return True


def silenced_by(doc: dict[str, Any], active: list[dict[str, Any]]) -> dict[str, Any] | None:
    names = [doc["key"], doc["tenant"], f"{doc['tenant']}/{doc.get('flow') or doc.get('endpoint') or ''}", doc["rule"]]
    for s in active:
        if any(fnmatchcase(n, s["pattern"]) for n in names):
            return s
    return None


def states(store: Store) -> dict[str, dict[str, Any]]:
    return {k[len(STATE):]: v for k, v in meta.scan(store, STATE).items() if isinstance(v, dict)}


def firing(store: Store) -> list[dict[str, Any]]:
    """Alerts firing now, most recent first: what `status` and the console show."""
    active = silences(store)
    out = []
    for doc in states(store).values():
        if doc.get("state") == FIRING:
            s = silenced_by(doc, active)
            out.append(dict(doc, silenced_until=s["until"] if s else None))
    return sorted(out, key=lambda d: -(d.get("since") or 0))


def summary_line(store: Store) -> str | None:
    """One line for the console header / dashboard, None when nothing fires."""
    docs = firing(store)
    if not docs:
        return None
    loud = [d for d in docs if not d.get("silenced_until")]
    first = (loud or docs)[0]
    where = first["tenant"] + ("/" + first["flow"] if first.get("flow") else "")
    more = f" (+{len(docs) - 1} more)" if len(docs) > 1 else ""
    return f"ALERT {first['rule']} {where}{more}" + (" [silenced]" if not loud else "")


def history(store: Store, since: float | None = None) -> list[dict[str, Any]]:
    docs = [v for v in meta.scan(store, HISTORY).values() if isinstance(v, dict)]
    return sorted((d for d in docs if since is None or d.get("at", 0) >= since), key=lambda d: d.get("at", 0))


def _log(store: Store, doc: dict[str, Any], event: str, sent: list[notify.Sent], now: float) -> None:
    entry = {"at": now, "event": event, "key": doc["key"], "rule": doc["rule"], "tenant": doc["tenant"],
             "flow": doc.get("flow"), "problem": doc["problem"], "records": doc["records"],
             "sent": [{"channel": s.channel, "ok": s.ok, "error": s.error} for s in sent]}
    meta.put(store, f"{HISTORY}{int(now * 1000):015d}:{doc['key']}", entry)
    keys = sorted(meta.scan(store, HISTORY))
    meta.drop(store, keys[:-HISTORY_KEEP])


Sender = Callable[..., list[notify.Sent]]


def run_alerts(store: Store, config: Any, *, only: tuple[str, ...] | None = None,
               sender: Sender = notify.send) -> list[dict[str, Any]]:
    """Evaluate, notify what is new, due again or cleared; return what was done (for logs and tests)."""
    now = store.clock()
    conditions = {c.key: c for c in evaluate(store, config, only=only)}
    known = states(store)
    active = silences(store)
    done: list[dict[str, Any]] = []

    def deliver(doc: dict[str, Any], event: str) -> bool:
        alerts = effective_alerts(config, None if doc["tenant"] == FLEET else doc["tenant"])
        title, body = render(doc, event, now)
        sent = sender(alerts.channels, title, body, {"event": event, "alert": doc}) if alerts.channels else []
        _log(store, doc, event, sent, now)
        done.append({"event": event, "key": doc["key"], "sent": [s.ok for s in sent]})
        return any(s.ok for s in sent)

    for key, c in conditions.items():
        doc = known.get(key)
        if doc is None or doc.get("state") != FIRING:
            doc = {"key": key, "state": FIRING, "first_seen": now, "last_notified": None, "notifications": 0}
        doc.update(rule=c.rule, tenant=c.tenant, flow=c.flow, endpoint=c.endpoint, problem=c.problem,
                   since=min(c.since, doc.get("since") or c.since), records=c.records, command=c.command,
                   console=c.console, severity=c.severity, checked_at=now)
        renotify = effective_alerts(config, None if c.tenant == FLEET else c.tenant).renotify
        s = silenced_by(doc, active)
        if s is not None:
            if not doc.get("held"):
                _log(store, doc, "silenced", [], now)
            doc["held"] = s["id"]
        else:
            doc.pop("held", None)
            due = doc["last_notified"] is None or now - doc["last_notified"] >= renotify
            if due and deliver(doc, "firing" if doc["last_notified"] is None else "reminder"):
                doc["last_notified"] = now
                doc["notifications"] = doc.get("notifications", 0) + 1
        meta.put(store, STATE + key, doc)

    for key, doc in known.items():
        if doc.get("state") != FIRING or key in conditions or (only and doc.get("rule") not in only):
            continue
        doc.update(state=RESOLVED, resolved_at=now)
        if doc.get("last_notified") is not None and silenced_by(doc, active) is None:
            deliver(doc, "resolved")
        meta.put(store, STATE + key, doc)
    return done


def test_alert(config: Any, tenant: str | None = None, sender: Sender = notify.send) -> list[notify.Sent]:
    """Send a test notification to every channel in force for `tenant` (fleet-wide without one)."""
    now = time.time()
    doc = {"key": "test", "rule": "test", "tenant": tenant or FLEET, "flow": None, "endpoint": None,
           "problem": "test notification from `syncops alerts test`: this channel works", "since": now,
           "records": 0, "command": "syncops alerts list", "console": ":dashboard"}
    title, body = render(doc, "test", now)
    return sender(effective_alerts(config, tenant).channels, title, body, {"event": "test", "alert": doc})


__all__ = ["Condition", "run_alerts", "firing", "summary_line", "history", "add_silence", "remove_silence",
           "silences", "states", "test_alert", "render"]
