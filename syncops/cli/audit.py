"""`syncops audit list`."""

from __future__ import annotations

import argparse

from syncops.cli.context import open_context
from syncops.cli.errors import CliError
from syncops.cli.output import ago, clip, emit_json, table


def list_(args: argparse.Namespace) -> int:
    from syncops.config import DurationError, parse_duration
    from syncops.store.queries import audit_events

    ctx = open_context(args)
    since = None
    if args.since:
        try:
            since = ctx.store.clock() - parse_duration(args.since)
        except DurationError as exc:
            raise CliError(f"--since: {exc}") from None
    events = audit_events(ctx.store, tenant=args.tenant, action=args.action, actor=args.actor,
                          target=str(args.record) if args.record else None, since=since, limit=args.limit)
    if args.json:
        emit_json([dict(e._mapping) for e in events])
        return 0
    now = ctx.store.clock()
    table(["ID", "WHEN", "WHO", "VIA", "ACTION", "TARGET", "TENANT", "REASON"],
          [(e.id, ago(e.at, now) + " ago", e.actor + (f"@{e.client}" if e.client else ""), e.via, e.action,
            f"{e.target_type}:{clip(e.target_id, 30)}", e.tenant or "", clip(e.reason, 40)) for e in events])
    return 0
