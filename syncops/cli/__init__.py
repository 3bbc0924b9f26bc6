"""The `syncops` command line.

Only argparse is imported here: `syncops --help` must answer instantly on a slow jump
box, so each command imports the database layer, httpx or Textual only when it runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from syncops import __version__
from syncops.demo import DEMOS

EPILOG = """\
With no command, syncops opens the console for the configured store.
Config: --config FILE, else $SYNCOPS_CONFIG, else the user config file (see `syncops locate`).
Store:  --store URL,   else $SYNCOPS_STORE,  else `store:` in the config, else a SQLite file in the user data directory.
Every command has --help.
"""


def _common(p: argparse.ArgumentParser, top: bool = False) -> None:
    # Subcommands repeat the options without defaults, so `syncops --store X records list`
    # and `syncops records list --store X` both work.
    extra = {} if top else {"default": argparse.SUPPRESS}
    g = p.add_argument_group("where")
    g.add_argument("--config", metavar="FILE", help="config file (default: $SYNCOPS_CONFIG or the user config)",
                   **extra)
    g.add_argument("--store", metavar="URL", help="database URL, e.g. sqlite:///path/syncops.db or "
                   "postgresql+psycopg://...", **extra)


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")


def _filters(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters")
    g.add_argument("--tenant")
    g.add_argument("--flow")
    g.add_argument("--state", action="append", default=[], help="repeatable: pending, in_flight, retry_wait, "
                   "delivered, failed, quarantined, resolved, superseded")
    g.add_argument("--category", action="append", default=[], help="repeatable: validation, mapping, auth, "
                   "rate_limit, unavailable, conflict, duplicate, malformed, drift, unknown")
    g.add_argument("--key", metavar="PATTERN", help="entity key, * and ? as wildcards (e.g. 'TSHIRT-*')")
    g.add_argument("--error", metavar="TEXT", help="text in the last error message")
    g.add_argument("--older-than", metavar="DURATION", help="created longer ago than this (e.g. 1h, 2d)")
    g.add_argument("--map", dest="error_map", metavar="MAP", help="failed on this value map")
    g.add_argument("--value", dest="error_value", metavar="VALUE", help="failed on this unmapped value")


Handler = Callable[[argparse.Namespace], int]


def _cmd(sub: argparse._SubParsersAction, name: str, help_: str, target: str,
         description: str | None = None) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_, description=description or help_,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(handler=target)
    _common(p)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncops", description="syncops: operations console and sync engine for retail integrations.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"syncops {__version__}")
    _common(parser, top=True)
    parser.add_argument("--read-only", action="store_true", help="console: hide every action")
    parser.add_argument("--theme", help="console: theme name or file")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    # config
    cfg = sub.add_parser("config", help="check config files", description="Check config files.")
    cfg_sub = cfg.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    p = _cmd(cfg_sub, "validate", "validate a config file: every error with file, line and field", "config:validate")
    p.add_argument("file", nargs="?", help="config file (default: the resolved config)")

    # records
    rec = sub.add_parser("records", help="list, inspect and act on sync records",
                         description="List, inspect and act on sync records.")
    rs = rec.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    p = _cmd(rs, "list", "list records (newest first) with filters", "records:list_")
    _filters(p)
    _json(p)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--sort", default="id", choices=["id", "age", "updated", "attempts", "key", "category"])
    p.add_argument("--oldest-first", action="store_true")
    p = _cmd(rs, "show", "show one record: payload, attempts, versions, audit", "records:show")
    p.add_argument("id", type=int)
    p.add_argument("--reveal", action="store_true", help="show customer data unmasked (audited)")
    _json(p)
    p = _cmd(rs, "enqueue", "enqueue canonical payloads from a JSON Lines file (replays, backfills, legacy feeds)",
             "records:enqueue")
    p.add_argument("file", help="JSON Lines file, one canonical payload per line ('-' for stdin)")
    p.add_argument("--tenant", required=True)
    p.add_argument("--flow", required=True)
    p.add_argument("--key-field", help="payload field holding a stable idempotency key "
                   "(default: a hash of the payload, so replaying the same file is harmless)")
    _json(p)
    for name, verb, needs_reason in (("retry", "retry now", False), ("quarantine", "park (never retried automatically)", True),
                                     ("release", "release quarantined or failed records back to the queue", False),
                                     ("resolve", "close records without delivering them", True)):
        p = _cmd(rs, name, f"{verb}: by id, or every record matching filters (bulk)", f"records:{name}")
        p.add_argument("ids", nargs="*", type=int, metavar="ID")
        _filters(p)
        p.add_argument("--reason", required=False, help="why (required)" if needs_reason else "why (optional)")
        p.add_argument("--yes", action="store_true", help="do not ask before a bulk action")
        if name == "retry":
            p.add_argument("--canary", type=int, metavar="N", help="bulk: retry the N oldest first, wait for "
                           "their outcome, then retry the rest only if all N were delivered")
            p.add_argument("--canary-timeout", metavar="DURATION", default="5m",
                           help="how long to wait for the canaries (default 5m)")
        _json(p)
    p = _cmd(rs, "edit", "edit a record's payload in $EDITOR, validate it, and retry", "records:edit")
    p.add_argument("id", type=int)
    p.add_argument("--reason", help="why (required; asked for when missing)")
    p.add_argument("--file", help="take the new payload from this JSON file instead of opening $EDITOR")
    p.add_argument("--reveal", action="store_true",
                   help="with --file: show the diff with customer data unmasked (audited)")

    # mappings
    mp = sub.add_parser("mappings", help="value maps: list, set, delete, and unmapped values",
                        description="Value maps (sku, location, tax_code, ...): config entries plus operator entries.")
    ms = mp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    p = _cmd(ms, "list", "list map entries", "mappings:list_")
    p.add_argument("--tenant", required=True)
    p.add_argument("--map")
    _json(p)
    p = _cmd(ms, "set", "add or change an entry (optionally release the records it blocked)", "mappings:set_")
    p.add_argument("--tenant", required=True)
    p.add_argument("map")
    p.add_argument("source")
    p.add_argument("target")
    p.add_argument("--release", action="store_true", help="release the failed records blocked by this value")
    p.add_argument("--reason")
    p = _cmd(ms, "delete", "delete an operator-added entry", "mappings:delete")
    p.add_argument("--tenant", required=True)
    p.add_argument("map")
    p.add_argument("source")
    p = _cmd(ms, "unmapped", "values missing from maps, ranked by records blocked", "mappings:unmapped")
    p.add_argument("--tenant")
    _json(p)

    # flows
    fl = sub.add_parser("flows", help="flow schedules and control: list, pause, resume, run now",
                        description="Flow control through the store: works against a running engine.")
    fs = fl.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    p = _cmd(fs, "list", "flows with schedule, cursor, last run and paused state", "flows:list_")
    _json(p)
    for name, help_ in (("pause", "pause a flow (no polling, no delivery)"), ("resume", "resume a paused flow"),
                        ("run", "ask the engine to poll a flow now")):
        p = _cmd(fs, name, help_, f"flows:{name}")
        p.add_argument("tenant")
        p.add_argument("flow")
        if name != "run":
            p.add_argument("--reason", help="why (required to pause)")

    # elevate
    p = _cmd(sub, "elevate", "allow writes on a break-glass tenant for a limited time (audited)", "elevate:run",
             description="A break-glass tenant (`break_glass: true`) is read-only for consoles and CLI\n"
             "write commands until someone elevates it, with a reason, for N minutes. The\n"
             "elevation and its expiry are recorded in the audit log.")
    p.add_argument("tenant")
    p.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    p.add_argument("--minutes", type=float, default=15.0, help="how long writes stay allowed (default 15)")
    _json(p)

    # status
    p = _cmd(sub, "status", "health per tenant and flow; exit 0 ok, 1 warning, 2 critical, 3 unknown",
             "status:run",
             description="Counts per tenant, flow and state, oldest pending age and SLA state.\n"
             "Exit code follows the monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL,\n"
             "3 UNKNOWN (the store cannot be read).\n"
             "CRITICAL: a flow's oldest undelivered record or its p95 latency exceeds the flow's SLA.\n"
             "WARNING: failed records, oldest undelivered past half the SLA, an open circuit breaker,\n"
             "or no live engine heartbeat.")
    _json(p)
    p.add_argument("--by-tenant", action="store_true", help="one row per tenant, worst first (the console's fleet view)")

    p = _cmd(sub, "timeline", "every record of one SKU (at every location) or order across flows, in time order",
             "timeline:run")
    p.add_argument("key", help="entity key: a SKU (matches SKU and SKU@every location) or an order number")
    p.add_argument("--tenant", help="only this tenant")
    p.add_argument("--limit", type=int, default=200, help="newest records to include (default 200)")
    _json(p)

    # reconcile
    rc = sub.add_parser("reconcile", help="check that the systems agree: inventory, orders, returns, settlements",
                        description="Check that the systems a flow feeds hold what its source holds.")
    rcs = rc.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    p = _cmd(rcs, "inventory", "compare on-hand per SKU@location between each inventory flow's source and "
             "target; record each difference as a 'drift' record", "reconcile:inventory",
             description="Read available stock per SKU@location from each inventory flow's source (the system\n"
             "of record) and its target, after the flow's sku/location maps. A key with a record still\n"
             "on its way is not judged. Each difference becomes a failed record of category 'drift'\n"
             "(retry it to push the source's value); a drift found equal again resolves itself.\n"
             "Exit: 0 no drift, 1 drift found, 2 some flow could not be read, 3 config/store unusable.")
    p.add_argument("--tenant", help="only this tenant (default: every tenant with an inventory flow)")
    _json(p)
    for what, means in (("orders", "each delivered order is in the ERP once, in the state its mapped status "
                                   "means"),
                        ("returns", "each delivered refund is one posted credit note in the ERP"),
                        ("settlements", "each delivered payout is one posted journal entry whose postings, "
                                        "account by account, are the payout's")):
        p = _cmd(rcs, what, f"check that {means}", f"reconcile:{what}",
                 description=f"Check that {means}. Only keys whose newest record is delivered are judged.\n"
                 "Differences are reported, not changed.\n"
                 "Exit: 0 all agree, 1 differences found, 2 some flow could not be read, 3 config/store unusable.")
        p.add_argument("--tenant", help="only this tenant")
        _json(p)

    # audit
    au = sub.add_parser("audit", help="the operator action log", description="The operator action log.")
    aus = au.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    p = _cmd(aus, "list", "list audit events, newest first", "audit:list_")
    p.add_argument("--tenant")
    p.add_argument("--action")
    p.add_argument("--actor")
    p.add_argument("--record", type=int)
    p.add_argument("--since", metavar="DURATION", help="only events newer than this (e.g. 24h)")
    p.add_argument("--limit", type=int, default=50)
    _json(p)

    # retention
    p = _cmd(sub, "purge", "delete delivered, superseded and resolved records older than N days (never failed "
             "or quarantined), and per-minute flow statistics older than N days or 7, whichever is sooner",
             "maintenance:purge")
    p.add_argument("--days", type=float, required=True)
    p.add_argument("--yes", action="store_true")

    p = _cmd(sub, "locate", "print where config, themes, logs and the store live", "maintenance:locate")
    _json(p)

    # runtime
    p = _cmd(sub, "engine", "run the sync engine as a service (logs one line per event to stderr)", "engine:run",
             description="Run the sync engine headless. SIGTERM/SIGINT stop it gracefully: it stops claiming,\n"
             "finishes or gives back in-flight work, and exits 0. Consoles attach to the same store.")
    p.add_argument("--log-json", action="store_true", help="log JSON lines instead of text")
    p.add_argument("--retention-days", type=float, default=30.0,
                   help="purge delivered/superseded/resolved records older than this, per-minute statistics "
                   "older than this or 7 days (default 30; 0 = never)")
    p.add_argument("--systemd-unit", action="store_true",
                   help="print a systemd unit that runs this engine (see the README) and exit")
    p.add_argument("--user", dest="unit_user", default="syncops", help="--systemd-unit: the service user")
    p = _cmd(sub, "console", "open the operations console", "console:run")
    p.add_argument("--attach", action="store_true", help="never embed an engine; attach to the store only")
    p.add_argument("--read-only", action="store_true", help="hide every action")
    p.add_argument("--theme", help="theme name or file")
    p = _cmd(sub, "demo", "the console on a fresh store with the embedded engine and the retail simulator",
             "engine:demo", description="Run the demo: simulated vendors on 127.0.0.1, the engine syncing between\n"
             "them, and the console on top. The store is a fresh SQLite file whose path is printed, so\n"
             "`syncops status --store URL` works on it afterwards. Two retailers:\n"
             "  retail       Square POS, Shopify storefront and Odoo ERP, two tenants (the default)\n"
             "  marketplace  Amazon, a WooCommerce shop and Business Central ERP")
    p.add_argument("which", nargs="?", choices=DEMOS, default=None, metavar="{" + ",".join(DEMOS) + "}",
                   help="which demo retailer (default retail; --config runs your own simulated config)")
    p.add_argument("--headless", action="store_true", help="no console: run for --seconds and print a summary")
    p.add_argument("--seconds", type=float, default=20.0, help="headless run length (default 20)")
    p.add_argument("--profile", default="demo", help="simulator activity profile: demo (faults) or calm")
    p.add_argument("--read-only", action="store_true", help="console: hide every action")
    p.add_argument("--theme", help="console: theme name or file")
    _json(p)
    p = _cmd(sub, "simulate", "serve the retail simulator (the demo's vendors) on 127.0.0.1 until Ctrl-C",
             "engine:simulate")
    p.add_argument("which", nargs="?", choices=DEMOS, default=None, metavar="{" + ",".join(DEMOS) + "}",
                   help="which demo retailer's vendors (default retail; --config for your own)")
    p.add_argument("--profile", default="demo", help="activity profile: demo (faults) or calm")
    p.add_argument("--seconds", type=float, default=None, help="stop after this long (default: until Ctrl-C)")
    p.add_argument("--events", type=int, default=None, help="stop after this many activity events")
    p.add_argument("--seed", type=int, default=7, help="seed of the activity and faults (default 7)")
    p.add_argument("--faults", metavar="NAME=RATE,...", help="fault switches, e.g. reset_after_apply=0.05,"
                   "garbage_retry_after=0.02 (KIND.NAME for one vendor, e.g. odoo.html_body=0.1); "
                   "also settable over POST /_sim/faults")

    cr = sub.add_parser("creds", help="endpoint secrets in the keyring: set, delete, check",
                        description="Secrets live in the OS keyring (service 'syncops', user TENANT/ENDPOINT)\n"
                        "or, on headless boxes, in SYNCOPS_SECRET_<TENANT>_<ENDPOINT>; never in config files.",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    crs = cr.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    p = _cmd(crs, "set", "store an endpoint's secret in the keyring (prompted, never echoed)", "creds:set_")
    p.add_argument("tenant")
    p.add_argument("endpoint")
    p.add_argument("--stdin", action="store_true", help="read the secret from standard input")
    p.add_argument("--webhook", action="store_true",
                   help="the endpoint's webhook signing secret (user TENANT/ENDPOINT/webhook), not its API secret")
    p = _cmd(crs, "delete", "remove an endpoint's secret from the keyring", "creds:delete")
    p.add_argument("tenant")
    p.add_argument("endpoint")
    p.add_argument("--webhook", action="store_true", help="the endpoint's webhook signing secret")
    p = _cmd(crs, "check", "for each endpoint: where its secret comes from, and whether it authenticates",
             "creds:check")
    p.add_argument("--tenant")
    p.add_argument("--offline", action="store_true", help="only say where each secret comes from")

    p = _cmd(sub, "bench", "benchmarks: store (vs huey), e2e (simulator -> engine -> simulator), console",
             "bench:run")
    p.add_argument("which", choices=["store", "e2e", "console"])
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options for that benchmark (see syncops bench X --help)")

    from syncops.cli.alerts import add_parser as add_alerts  # argparse only: --help stays instant

    add_alerts(sub, _cmd)
    p = _cmd(sub, "bundle", "write an incident bundle (status, flows, log, exceptions, alerts, redacted config)",
             "bundle:run", description="An incident bundle for escalation: status, per-flow figures, the recent\n"
             "engine log, exception groups with sample records (PII masked), alert history, and the config\n"
             "with every secret removed. Safe to attach to a ticket.")
    p.add_argument("--since", metavar="DURATION", default="24h", help="how far back (default 24h)")
    p.add_argument("-o", "--output", metavar="FILE.tar.gz", required=True)
    p.add_argument("--log", metavar="FILE", action="append", default=[],
                   help="engine log file(s) to include (default: syncops-engine.log in the log directory)")

    from syncops.cli.digest import add_parser as add_digest  # argparse only: --help stays instant
    from syncops.cli.soak import add_parser as add_soak

    add_digest(sub, _cmd)

    add_soak(sub, _cmd)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    target = getattr(args, "handler", None)
    if target is None:
        target = "console:run"
    module_name, func_name = target.split(":")
    from importlib import import_module

    from syncops.cli.errors import run_guarded

    def call() -> int:
        module = import_module(f"syncops.cli.{module_name}")
        return getattr(module, func_name)(args)

    return run_guarded(call)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
