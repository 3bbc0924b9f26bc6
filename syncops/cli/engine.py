"""`syncops engine`, `syncops demo` and `syncops simulate`."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from syncops.cli.context import open_context
from syncops.cli.errors import CliError


def run(args: argparse.Namespace) -> int:
    from syncops.engine.events import EventLog
    from syncops.engine.runtime import Engine, EngineError
    from syncops.connectors.credentials import MissingSecret
    from syncops.connectors.errors import DeliveryError
    from syncops.intake.server import IntakeError
    from syncops.store.control import EngineAlreadyRunning

    if getattr(args, "systemd_unit", False):
        return _systemd_unit(args)
    ctx = open_context(args, config_required=True, create=True)
    log = EventLog(as_json=args.log_json)
    engine = Engine(ctx.config, ctx.store, log=log, mode="service",
                    retention_days=args.retention_days or None)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await engine.start()
        except (EngineError, EngineAlreadyRunning, MissingSecret, DeliveryError, ValueError, IntakeError) as exc:
            raise CliError(str(exc)) from None
        log("store", url=_safe(ctx.store_url))
        _notify(log, f"READY=1\nSTATUS=syncing {len(engine.pollers)} flows into {len(engine.dispatchers)} endpoints")
        watchdog = _start_watchdog(engine, log)
        await stop.wait()
        log("stopping", reason="signal")
        _notify(log, "STOPPING=1")
        if watchdog is not None:
            watchdog.cancel()
        await engine.stop(deadline=10.0)
        return 0

    return asyncio.run(main())


def _notify(log: Any, state: str) -> None:
    from syncops.ops.sd_notify import notify

    try:
        notify(state)
    except OSError as exc:  # systemd went away or the socket is wrong: say so, keep syncing
        log("housekeeping_error", job="sd_notify", error=repr(exc))


def _start_watchdog(engine: Any, log: Any) -> "asyncio.Task[None] | None":
    """Ping systemd's watchdog (WatchdogSec=) while the engine's store heartbeat is fresh."""
    import time

    from syncops.ops.sd_notify import healthy, watchdog_interval

    interval = watchdog_interval()
    if interval is None:
        return None
    async def ping() -> None:
        while True:
            if healthy(time.monotonic(), engine.last_beat, interval):
                _notify(log, "WATCHDOG=1")
            await asyncio.sleep(interval)

    return asyncio.create_task(ping(), name="watchdog")


def _systemd_unit(args: argparse.Namespace) -> int:
    from syncops.cli.context import load_config
    from syncops.config import resolve_config_path, resolve_store_url
    from syncops.ops.systemd import unit_text

    path = resolve_config_path(getattr(args, "config", None))
    if path is None:
        raise CliError("no config file: pass --config FILE (the unit runs the engine on it)")
    config = load_config(args, required=True)
    print(unit_text(config_path=path.resolve(), store_url=resolve_store_url(getattr(args, "store", None), config),
                    user=args.unit_user, retention_days=args.retention_days, log_json=args.log_json), end="")
    return 0


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def demo(args: argparse.Namespace) -> int:
    if args.headless:
        from syncops.demo.headless import main_demo_headless

        return main_demo_headless(args)
    from syncops.demo.interactive import main_demo_console

    return main_demo_console(args)


def simulate(args: argparse.Namespace) -> int:
    from syncops.demo.headless import main_simulate

    return main_simulate(args)
