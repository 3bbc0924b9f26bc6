"""`syncops timeline KEY`: every record of one SKU (at every location) or one order, in time order."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from syncops.cli.context import open_context
from syncops.cli.output import clip, emit_json


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def run(args: argparse.Namespace) -> int:
    from syncops.services.timeline import entity_timeline

    ctx = open_context(args)
    try:
        tl = entity_timeline(ctx.store, args.key, ctx.in_force, tenant=args.tenant, limit=args.limit)
    finally:
        ctx.store.close()
    if args.json:
        emit_json(tl.as_dict())
        return 0 if tl.events else 1
    if not tl.events:
        print(f"no records with entity key {args.key!r} (nor {args.key}@location)")
        return 1
    print(f"timeline {tl.key}: {len(tl.events)} events over {tl.records} record(s), keys {', '.join(tl.keys)}"
          + (f" (only the newest {args.limit} records)" if tl.truncated else ""))
    for e in tl.events:
        print(f"{_when(e.at)} UTC  {e.kind:<10} #{e.record_id:<6} {e.tenant}/{e.flow} {e.entity_key}  "
              f"[{e.system}] {clip(e.summary, 120)}" + (f"  ({e.actor})" if e.actor not in (None, "engine") else ""))
    return 0
