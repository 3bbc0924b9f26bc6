"""`syncops bundle --since 24h -o FILE.tar.gz`: an incident bundle for escalation (syncops.ops.bundle)."""

from __future__ import annotations

import argparse
from pathlib import Path

from syncops.cli.context import open_context
from syncops.cli.errors import CliError


def run(args: argparse.Namespace) -> int:
    import platformdirs

    from syncops.config import DurationError, parse_duration
    from syncops.ops.bundle import write_bundle

    try:
        since = parse_duration(args.since)
    except DurationError as exc:
        raise CliError(str(exc)) from None
    ctx = open_context(args)
    try:
        logs = [Path(p) for p in args.log] or [Path(platformdirs.user_log_dir("syncops")) / "syncops-engine.log"]
        out = Path(args.output)
        names = write_bundle(ctx.store, ctx.config, out,
                             since_seconds=since, logs=logs)
    finally:
        ctx.store.close()
    print(f"wrote {out} ({', '.join(names)})")
    return 0
