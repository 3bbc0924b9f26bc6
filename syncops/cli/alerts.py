"""`syncops alerts list|test|silence|unsilence`: alert state for scripts, and checking a channel works."""

from __future__ import annotations

import argparse

from syncops.cli.context import open_context
from syncops.cli.errors import CliError
from syncops.cli.output import duration, emit_json, table


def add_parser(sub: argparse._SubParsersAction, cmd) -> None:
    al = sub.add_parser("alerts", help="alerts: list, test a channel, silence for maintenance",
                        description="Alerts the engine raises from the `alerts:` rules in the config.")
    als = al.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    p = cmd(als, "list", "alerts firing now (and --history: what was sent)", "alerts:list_")
    p.add_argument("--history", action="store_true", help="what was sent, held back or cleared")
    p.add_argument("--since", metavar="DURATION", default="24h", help="history window (default 24h)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    p = cmd(als, "test", "send a test notification to every configured channel", "alerts:test")
    p.add_argument("--tenant", help="the channels in force for this tenant (default: the fleet-wide ones)")
    p = cmd(als, "silence", "hold back notifications matching PATTERN for a while (planned maintenance)",
            "alerts:silence")
    p.add_argument("pattern", nargs="?", help="tenant, tenant/flow, rule or alert key; * and ? as wildcards")
    p.add_argument("--for", dest="for_", metavar="DURATION", default="2h", help="how long (default 2h)")
    p.add_argument("--reason", default="")
    p.add_argument("--list", action="store_true", help="only list the silences in force")
    p = cmd(als, "unsilence", "end a silence now", "alerts:unsilence")
    p.add_argument("id")


def _seconds(text: str) -> float:
    from syncops.config import DurationError, parse_duration

    try:
        return parse_duration(text)
    except DurationError as exc:
        raise CliError(str(exc)) from None


def list_(args: argparse.Namespace) -> int:
    from syncops.ops.alerts import firing, history, silences

    ctx = open_context(args)
    try:
        now = ctx.store.clock()
        docs = firing(ctx.store)
        hist = history(ctx.store, now - _seconds(args.since)) if args.history else None
        if args.json:
            emit_json({"firing": docs, "silences": silences(ctx.store), **({"history": hist} if args.history else {})})
            return 1 if docs else 0
        if args.history:
            table(["AT", "EVENT", "ALERT", "RECORDS", "SENT"],
                  [(duration(now - h["at"]) + " ago", h["event"], h["key"], h["records"],
                    ", ".join(("ok " if s["ok"] else "FAILED ") + s["channel"] for s in h["sent"]) or "-")
                   for h in hist])
            return 0
        table(["RULE", "TENANT", "FLOW", "SINCE", "RECORDS", "SILENCED", "PROBLEM"],
              [(d["rule"], d["tenant"], d.get("flow") or d.get("endpoint") or "-", duration(now - d["since"]),
                d["records"], "until " + duration(d["silenced_until"] - now) if d.get("silenced_until") else "-",
                d["problem"][:70]) for d in docs])
        for d in docs:
            print(f"{d['key']}: {d['command']}  (console {d['console']})")
        return 1 if docs else 0
    finally:
        ctx.store.close()


def test(args: argparse.Namespace) -> int:
    from syncops.config.alerts import effective_alerts
    from syncops.ops.alerts import test_alert

    from syncops.cli.context import load_config

    config = load_config(args, required=True)
    if args.tenant and args.tenant not in config.tenants:
        raise CliError(f"tenant {args.tenant!r} is not in the config; tenants: {', '.join(config.tenants)}")
    if not effective_alerts(config, args.tenant).channels:
        raise CliError("no alert channels configured (alerts: notify: in the config)")
    results = test_alert(config, args.tenant)
    for r in results:
        print(f"{'ok    ' if r.ok else 'FAILED'} {r.channel}" + (f": {r.error}" if r.error else ""))
    return 0 if all(r.ok for r in results) else 1


def silence(args: argparse.Namespace) -> int:
    from syncops.ops.alerts import add_silence, silences

    ctx = open_context(args)
    try:
        now = ctx.store.clock()
        if not args.list:
            if not args.pattern:
                raise CliError("expected a PATTERN to silence (tenant, tenant/flow, rule or alert key)")
            s = add_silence(ctx.store, args.pattern, _seconds(args.for_), args.reason)
            print(f"silence {s['id']}: {s['pattern']} for {duration(s['until'] - now)}"
                  + (f" ({s['reason']})" if s["reason"] else ""))
        for s in silences(ctx.store):
            print(f"{s['id']}  {s['pattern']}  until {duration(s['until'] - now)} from now  {s.get('reason', '')}")
        return 0
    finally:
        ctx.store.close()


def unsilence(args: argparse.Namespace) -> int:
    from syncops.ops.alerts import remove_silence

    ctx = open_context(args)
    try:
        if not remove_silence(ctx.store, args.id):
            raise CliError(f"no silence {args.id!r} (see `syncops alerts silence --list`)")
        print(f"silence {args.id} ended")
        return 0
    finally:
        ctx.store.close()
