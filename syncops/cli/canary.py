"""`syncops records retry ... --canary N`: retry N first, wait for them, then the rest or nothing."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from syncops.cli.errors import CliError
from syncops.cli.output import clip, confirm, emit_json

# Module-level so tests can replace the wait with one that plays the engine.
sleep = time.sleep
POLL = 1.0


def run_canary(ctx: Any, args: argparse.Namespace, f: Any, count: int, actor: Any) -> int:
    from syncops.config import parse_duration
    from syncops.services import canary

    if args.canary < 1:
        raise CliError("--canary needs at least 1 record", code=2)
    try:
        timeout = parse_duration(args.canary_timeout)
    except ValueError as exc:
        raise CliError(f"--canary-timeout: {exc}", code=2) from None
    run = canary.start(ctx.store, f, actor=actor, confirmed_count=count, size=args.canary, reason=args.reason)
    print(f"canary: retried {len(run.canary_ids)} of {run.total} (ids {', '.join(map(str, run.canary_ids))}); "
          f"waiting up to {args.canary_timeout} for the engine to deliver them", file=sys.stderr)
    last: list[str] = []

    def progress(st: canary.CanaryStatus) -> None:
        text = f"{st.delivered} delivered, {st.failed} failed, {st.waiting} waiting"
        if not last or last[-1] != text:  # one line per change, not one per poll
            print(f"  {st.line()}", file=sys.stderr)
            last.append(text)

    st = canary.wait(ctx.store, run, timeout=timeout, poll=POLL, sleep=sleep, on_progress=progress)
    for r in st.records:
        if r.state != "delivered":
            print(f"  record {r.id} {r.entity_key}: {r.state}"
                  + (f" [{r.error_category}] {clip(r.error_message, 60)}" if r.error_category else ""),
                  file=sys.stderr)
    if st.all_delivered and run.rest == 0:
        out = canary.release(ctx.store, run, actor=actor)
    elif st.all_delivered and confirm(f"all {st.delivered} canaries delivered; retry the other {run.rest}?",
                                      assume_yes=args.yes):
        out = canary.release(ctx.store, run, actor=actor)
    else:
        out = canary.stop(ctx.store, run, actor=actor, timed_out=st.timed_out)
    if args.json:
        emit_json({"action": "retry", "canary": len(run.canary_ids), "outcome": out.outcome,
                   "released": out.released, **st.counts, "touched": len(run.canary_ids) + out.released})
    elif out.outcome == "released":
        print(f"retry: {len(run.canary_ids)} canaries delivered; {out.released} more record(s) retried")
    else:
        why = {"timed_out": f"timed out after {args.canary_timeout}", "stopped": "stopped"}[out.outcome]
        print(f"retry: canary {why} ({st.line()}); the other {run.rest} record(s) were not retried")
    return 0 if out.outcome == "released" else 1
