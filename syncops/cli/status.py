"""`syncops status`: health for humans and for monitoring (exit 0 ok, 1 warning, 2 critical)."""

from __future__ import annotations

import argparse

from syncops.cli.context import open_context
from syncops.cli.output import duration, emit_json, table


def run(args: argparse.Namespace) -> int:
    from syncops.services.health import LEVEL, flow_health

    from syncops.store.db import StoreError

    try:
        ctx = open_context(args)
    except StoreError as exc:
        # Monitoring convention: 3 is UNKNOWN, "could not check", which must never read as OK.
        print(f"SYNCOPS UNKNOWN: {exc}")
        return 3
    h = flow_health(ctx.store, ctx.config)
    code = LEVEL[h.state]
    if args.json:
        emit_json({"state": h.state, "exit_code": code, "reasons": h.reasons, "store": ctx.store.safe_url,
                   "engine": None if h.engine is None else {"host": h.engine.host, "pid": h.engine.pid,
                                                            "heartbeat_age_s": ctx.store.clock() - h.engine.beat_at},
                   "flows": [dict(f.as_dict(), delivered_series=None) for f in h.flows]})
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
    for f in h.flows:
        for r in f.reasons:
            print(f"{f.state.upper()}: {f.tenant}/{f.flow}: {r}")
    for r in h.reasons:
        print(f"WARNING: {r}")
    print(f"SYNCOPS {h.state.upper()}")
    return code
