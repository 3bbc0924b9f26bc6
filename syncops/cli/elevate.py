"""`syncops elevate TENANT --reason ... [--minutes N]`: grant writes on a break-glass tenant for a while."""

from __future__ import annotations

import argparse
import time

from syncops.cli.context import open_context
from syncops.cli.errors import CliError
from syncops.cli.output import emit_json


def run(args: argparse.Namespace) -> int:
    from syncops.services import breakglass
    from syncops.services.actor import Actor

    ctx = open_context(args, settings_required=True, create=True)
    if ctx.tenant(args.tenant) is None:
        raise CliError(f"tenant {args.tenant!r} is not in the settings in force ({ctx.settings.describe()})")
    if not breakglass.is_break_glass(ctx.in_force, args.tenant):
        raise CliError(f"tenant {args.tenant} is not break-glass: writes need no elevation", code=2)
    e = breakglass.elevate(ctx.store, args.tenant, actor=Actor.current(), reason=args.reason, minutes=args.minutes)
    if args.json:
        emit_json({"tenant": e.tenant, "actor": e.actor, "reason": e.reason, "at": e.at, "until": e.until})
    else:
        until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(e.until))
        print(f"{e.tenant}: writes allowed until {until} ({args.minutes:g} min), elevated by {e.actor}")
    return 0
