"""Run an engine in its own process (for kill -9 and signal tests): python -m tests.engine.engine_proc ARGS."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from syncops.config import load_config
from syncops.engine.events import EventLog
from syncops.engine.runtime import Engine, EngineError
from syncops.store.control import EngineAlreadyRunning
from syncops.store.db import open_store


async def main(config_path: str, store_url: str, urls_json: str) -> int:
    urls = {tuple(k.split("/")): v for k, v in json.loads(urls_json).items()}
    engine = Engine(load_config(config_path), open_store(store_url), url_overrides=urls, log=EventLog(),
                    idle_poll=0.05, control_every=0.1, heartbeat_every=0.2, maintenance_every=0.2,
                    lease_seconds=1.0, stale_after=1.0, breaker_cooldown=0.3)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await engine.start()
    except (EngineError, EngineAlreadyRunning) as exc:
        print(f"refused: {exc}", file=sys.stderr, flush=True)
        return 3
    print("started", flush=True)
    await stop.wait()
    await engine.stop(deadline=5)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:4])))
