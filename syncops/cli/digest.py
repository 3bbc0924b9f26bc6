"""`syncops digest --since 8h [--markdown|--json]`: the shift handover (services.digest)."""

from __future__ import annotations

import argparse
import sys



def add_parser(sub: argparse._SubParsersAction, cmd) -> None:
    p = cmd(sub, "digest", "shift handover: what broke, what was fixed and by whom, what is still open",
            "digest:run", description="Shift handover digest: new failures by signature, operator fixes by\n"
            "actor, what is still open (and the oldest), SLA breaches, paused flows and why.\n"
            "--markdown pastes cleanly into a ticket. Customer data is never included.")
    p.add_argument("--since", metavar="DURATION", default="8h", help="the shift's length (default 8h)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--markdown", action="store_true", help="Markdown, for a ticket")
    g.add_argument("--json", action="store_true", help="machine-readable JSON output")


def run(args: argparse.Namespace) -> int:
    from syncops.cli.context import open_context
    from syncops.cli.errors import CliError
    from syncops.cli.output import emit_json
    from syncops.config import parse_duration
    from syncops.services import digest

    try:
        since = parse_duration(args.since)
    except ValueError as exc:
        raise CliError(f"--since: {exc}", code=2) from None
    ctx = open_context(args)
    d = digest.build(ctx.store, ctx.in_force, since_seconds=since)
    if args.json:
        emit_json(d.as_dict())
    else:
        sys.stdout.write(digest.to_markdown(d) if args.markdown else digest.to_text(d))
    return 0
