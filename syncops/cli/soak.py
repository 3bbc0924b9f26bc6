"""`syncops soak`: the chaos harness (see syncops/soak). One figure line; exit 1 on any finding."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub: argparse._SubParsersAction, cmd) -> None:
    p = cmd(sub, "soak", "chaos harness: kill -9 the engine at random under vendor garbage, then check "
            "nothing was lost, doubled, drifting or stuck", "soak:run",
            description="Run the simulator with a bounded, seeded activity and the engine in a child process;\n"
            "SIGKILL the engine at random (seeded) moments after it started and restart it; then drain\n"
            "with every fault off and compare the simulator's final state with the source of truth:\n"
            "  lost        a source order/sale/return with no ERP document (and no record still open)\n"
            "  duplicated  an external reference with more than one ERP document\n"
            "  drift       a synced SKU@location whose storefront level is not the POS level\n"
            "  stuck       a record still pending/in flight/retrying after the drain deadline\n"
            "Prints one figure line (or --json); exit 0 if all four are 0, 1 otherwise, 2 if the soak\n"
            "itself could not run (an engine that never starts).\n\n"
            "Fault presets for --faults: none, garbage (bad Retry-After, HTML 502, truncated and\n"
            "wrong-typed bodies, resets after the vendor applied the call), resets, retry_after,\n"
            "bodies, throttle, slow; or NAME=RATE pairs (KIND.NAME for one vendor), comma-separated.")
    p.add_argument("--kills", type=int, default=20, help="SIGKILLs of the engine (default 20)")
    p.add_argument("--events", type=int, default=300, help="retail events the simulator generates (default 300)")
    p.add_argument("--seed", type=int, default=1, help="seed of events, kill points and faults (default 1)")
    p.add_argument("--faults", default="none", help="fault preset(s) or NAME=RATE,... (default none)")
    p.add_argument("--rate", type=float, default=None, help="events per second (default 10)")
    p.add_argument("--kill-after", default="0.3:2.0", metavar="MIN:MAX",
                   help="seconds after the engine started before it is killed, drawn uniformly (default 0.3:2.0)")
    p.add_argument("--drain", type=float, default=60.0, help="drain deadline in seconds (default 60)")
    p.add_argument("--stale-after", type=float, default=None,
                   help="engine heartbeat staleness for the single-engine guard (default: the service's 15 s)")
    p.add_argument("--workdir", help="keep the store, config and engine log here (default: a new temp dir)")
    p.add_argument("--plant", action="append", default=[], choices=["duplicate", "drift"],
                   help="self-check: post a duplicate ERP order / shift a storefront level behind the "
                   "engine's back after the drain, so the verdict must fail (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from syncops.cli.errors import CliError
    from syncops.soak.engines import SoakError
    from syncops.soak.run import SoakOptions, failed, run as soak

    try:
        lo, _, hi = args.kill_after.partition(":")
        kill_after = (float(lo), float(hi or lo))
    except ValueError:
        raise CliError(f"--kill-after {args.kill_after!r}: expected MIN:MAX seconds, e.g. 0.3:2.0") from None
    if not 0 <= kill_after[0] <= kill_after[1] or args.kills < 0 or args.events < 0 or args.drain < 0:
        raise CliError("--kills, --events, --drain and --kill-after must not be negative (and MIN <= MAX)")
    if getattr(args, "store", None):
        raise CliError("the soak runs on a fresh store of its own (kept in --workdir); --store does not apply")
    engine = {}
    if args.stale_after is not None:
        if args.stale_after <= 0:
            raise CliError("--stale-after must be positive")
        # The heartbeat must beat well inside the staleness window, or a live engine looks dead.
        engine = {"stale_after": args.stale_after, "heartbeat_every": min(2.0, args.stale_after / 4)}
    opts = SoakOptions(kills=args.kills, events=args.events, seed=args.seed, faults=args.faults, rate=args.rate,
                       kill_after=kill_after, drain_seconds=args.drain, config=getattr(args, "config", None),
                       workdir=Path(args.workdir) if args.workdir else None, plant=tuple(args.plant),
                       engine=engine)

    def progress(msg: str) -> None:
        print(f"  {msg}", file=sys.stderr, flush=True)

    try:
        result = soak(opts, None if args.quiet else progress)  # stderr: stdout stays the figure (or JSON)
    except SoakError as exc:
        raise CliError(str(exc), code=2) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(json.dumps(result, indent=2) if args.json else result["line"])
    return 1 if failed(result) else 0
