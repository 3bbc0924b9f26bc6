"""`syncops demo`: the console on a fresh store, with the engine and the simulator embedded."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from syncops.lifeline import say


class DemoRuntime:
    """What the console embeds for the demo: the simulated vendors, their activity and the engine."""

    def __init__(self, world: Any, engine: Any) -> None:
        self.world = world
        self.engine = engine
        self.host, self.pid = engine.host, engine.pid
        self._activity: asyncio.Task | None = None

    async def start(self) -> None:
        self.world.activity.backlog()
        self.world.start()
        self.engine.url_overrides = self.world.url_overrides  # ports exist only once started
        await self.engine.start()
        self._activity = asyncio.create_task(self.world.run())

    async def stop(self) -> None:
        # The simulator's servers go down even if the engine's stop fails: they hold the ports.
        try:
            if self._activity is not None:
                self._activity.cancel()
                await asyncio.gather(self._activity, return_exceptions=True)
            await self.engine.stop(deadline=5.0)
        finally:
            self.world.stop()


def engine_log(store_url: str) -> Any:
    """Engine events go to a file next to the store: stderr belongs to the console's screen."""
    from syncops.engine.events import EventLog
    from syncops.engine.logfile import open_private_log
    from syncops.store.dialect import sqlite_path

    path = sqlite_path(store_url)
    log_path = (path.parent if path else Path.cwd()) / "engine.log"
    return EventLog(open_private_log(log_path)), log_path


def main_demo_console(args: argparse.Namespace) -> int:
    from syncops.cli import console
    from syncops.config import sample_path
    from syncops.demo.headless import fresh_store_url
    from syncops.engine.runtime import Engine
    from syncops.simulator.world import World

    from syncops.cli.errors import CliError
    from syncops.demo import demo_config_arg

    try:
        args.config = demo_config_arg(args) or str(sample_path("demo.yaml"))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    args.store = getattr(args, "store", None) or fresh_store_url()
    args.attach = False
    log, log_path = engine_log(args.store)

    def factory(ctx: Any) -> DemoRuntime:
        world = World(ctx.config, profile=getattr(args, "profile", None) or "demo")
        engine = Engine(ctx.config, ctx.store, log=log, mode="embedded", **world.profile.engine)
        return DemoRuntime(world, engine)

    where = (f"demo store: {args.store}\nengine log: {log_path}\n"
             f"look again with: syncops status --store {args.store} --config {args.config}")
    # Before the console takes the screen (it returns to this text when it exits), and again
    # at exit: after a dropped link the second print has no terminal to go to.
    say(where)
    try:
        code = console.run(args, engine_factory=factory)
    finally:
        say(where)
    return code
