"""`syncops status`: health for humans and for monitoring (exit 0 ok, 1 warning, 2 critical, 3 unknown)."""

from __future__ import annotations

import argparse

from syncops.cli.context import open_context
from syncops.cli.output import duration, emit_json, table


def run(args: argparse.Namespace) -> int:
    from syncops.services.health import LEVEL, flow_health

    from syncops.config.errors import ConfigError
    from syncops.store.db import StoreError

    ctx = None
    try:
        ctx = open_context(args)
        h = flow_health(ctx.store, ctx.in_force)
        firing = _alerts(ctx)
    except (StoreError, ConfigError) as exc:
        # Monitoring convention: 3 is UNKNOWN, "could not check", which must never read as OK
        # (nor as WARNING: a damaged store is not a slow flow). --json answers in JSON regardless,
        # with the state spelled like the others ("ok", "warning", "critical").
        if args.json:
            emit_json({"state": "unknown", "exit_code": 3, "reasons": [str(exc)], "store": _store_shown(args, ctx)})
        else:
            print(f"SYNCOPS UNKNOWN: {' '.join(str(exc).split())}")  # one line, for monitoring
        return 3
    finally:
        if ctx is not None:
            ctx.store.close()
    code = LEVEL[h.state]
    if getattr(args, "by_tenant", False):
        return _by_tenant(args, ctx, h)
    if args.json:
        emit_json({"state": h.state, "exit_code": code, "reasons": h.reasons, "store": ctx.store.safe_url,
                   "engine": None if h.engine is None else {"host": h.engine.host, "pid": h.engine.pid,
                                                            "heartbeat_age_s": ctx.store.clock() - h.engine.beat_at},
                   "settings": _settings_json(ctx.settings),
                   "flows": [dict(f.as_dict(), delivered_series=None) for f in h.flows],
                   "reconciliation": h.reconciliation,
                   "alerts": firing})
        return code
    rows = []
    for f in h.flows:
        c = f.counts
        rows.append((f.tenant + (" [PROD]" if f.production else ""), f.flow, c["pending"], c["in_flight"],
                     c["retry_wait"], c["failed"], c["quarantined"], duration(f.oldest_age),
                     "-" if f.p95 is None else f"{f.p95:.1f}s", duration(f.sla) if f.sla else "-",
                     ("PAUSED " if f.paused else "") + f.state.upper()))
    table(["TENANT", "FLOW", "PEND", "FLIGHT", "RETRY", "FAILED", "QUAR", "OLDEST", "P95", "SLA", "STATE"], rows)
    eng = h.engine
    print()
    print(f"engine: {'none live' if eng is None else f'{eng.host}:{eng.pid} (heartbeat {duration(ctx.store.clock() - eng.beat_at)} ago)'}")
    print(f"settings: {ctx.settings.describe()}")
    for note in ctx.settings.notes:
        print(f"NOTE: {note}")
    for line in _reconciliation_lines(h.reconciliation, ctx.store.clock()):
        print(line)
    for f in h.flows:
        for r in f.reasons:
            print(f"{f.state.upper()}: {f.tenant}/{f.flow}: {r}")
    for r in h.reasons:
        print(f"WARNING: {r}")
    for a in firing:
        held = " (silenced)" if a.get("silenced_until") else ""
        print(f"ALERT{held}: {a['tenant']}{'/' + a['flow'] if a.get('flow') else ''}: {a['problem']} "
              f"(since {duration(ctx.store.clock() - a['since'])}; {a['command']})")
    print(f"SYNCOPS {h.state.upper()}")
    return code


def _alerts(ctx) -> list[dict]:
    """Alerts firing (syncops.ops.alerts). With a config file that has channels, status also checks the
    engine heartbeat and notifies: a dead engine cannot report its own death."""
    from syncops.ops.alerts import firing, run_alerts

    if ctx.config is not None:
        from syncops.config.alerts import effective_alerts

        if effective_alerts(ctx.config).channels:
            try:
                run_alerts(ctx.store, ctx.config, only=("heartbeat_missing",))
            except Exception:  # status must answer whatever a channel does
                pass
    try:
        return firing(ctx.store)
    except Exception:
        return []


def _by_tenant(args: argparse.Namespace, ctx, h) -> int:
    """The fleet rollup (services.fleet), from the Health already read: one store pass either way."""
    from syncops.services.fleet import rollup
    from syncops.services.health import LEVEL

    tenants = rollup(h)
    state = max([h.state] + [t.health for t in tenants], key=LEVEL.__getitem__)
    code = LEVEL[state]
    if args.json:
        emit_json({"state": state, "exit_code": code, "reasons": h.reasons, "store": ctx.store.safe_url,
                   "tenants": [t.as_dict() for t in tenants]})
        return code
    table(["TENANT", "HEALTH", "FAILED", "QUAR", "SLA", "OLDEST", "PAUSED", "BREAKERS", "FLOWS", "WORST FLOW"],
          [(t.tenant + (" [PROD]" if t.production else ""), t.health.upper(), t.failed, t.quarantined, t.sla,
            duration(t.oldest_age), t.paused, t.breakers_open, t.flows, t.worst_flow or "-") for t in tenants])
    print()
    for t in tenants:
        for r in t.reasons:
            print(f"{t.health.upper()}: {t.tenant}: {r}")
    for r in h.reasons:
        print(f"WARNING: {r}")
    print(f"SYNCOPS {state.upper()}: {len(tenants)} tenants, "
          f"{sum(t.health == 'critical' for t in tenants)} critical, {sum(t.health == 'warning' for t in tenants)} warning")
    return code


def _settings_json(settings) -> dict:
    p = settings.published
    return {"source": settings.source, "engine_id": p.engine_id if p else None,
            "published_at": p.published_at if p else None, "notes": list(settings.notes)}


def _store_shown(args: argparse.Namespace, ctx) -> str | None:
    """The store URL (password hidden) even when it could not be opened; None if unresolvable."""
    if ctx is not None:
        return ctx.store.safe_url
    try:
        from syncops.cli.context import load_config
        from syncops.config import resolve_store_url
        from syncops.store.db import _safe_url

        return _safe_url(resolve_store_url(getattr(args, "store", None), load_config(args)))
    except Exception:  # a broken config is reported elsewhere; status must still answer
        return None


def _reconciliation_lines(runs: list[dict], now: float) -> list[str]:
    """One line per tenant: when inventory was last reconciled and what it found."""
    lines = []
    for run in runs:
        worst = run.get("worst") or None
        text = f"reconcile {run.get('tenant')}: {run.get('checked', 0)} checked, {run.get('drifted', 0)} drifted"
        if worst:
            held = "nothing" if worst.get("target_value") is None else worst.get("target_value")
            text += (f", worst {worst.get('key')} ({worst.get('target')} {held} vs "
                     f"{worst.get('source')} {worst.get('source_value')})")
        if run.get("errors"):
            text += f", {len(run['errors'])} flow(s) not checked"
        at = run.get("at")
        text += f" ({duration(now - at)} ago)" if isinstance(at, (int, float)) else ""
        lines.append(text)
    return lines
